/**
 * Runs the synthesized approval state machine with aws-local-stepfunctions, with every Task bound
 * to the REAL handler code (lambdas/{workflow,notify,revoke}) over whatever ports the caller
 * gives (in-memory ports in tests and benchmarks).
 *
 * `LocalWorkflow` is also a WorkflowGateway: `start(requestId)` runs an execution named after the
 * request, and `resume(token, outcome)` plays SendTaskSuccess / SendTaskFailure by settling the
 * promise the RequestApproval task is parked on.
 */
import { isDeepStrictEqual } from 'node:util';
import { type RunOptions, StateMachine } from 'aws-local-stepfunctions';
import { STATES, TASK_FUNCTIONS } from '../../infra/constructs/approval-workflow';
import { synthesizeWorkflowDefinition } from '../../infra/build';
import type { StateMachineDefinition } from '../../infra/workflow-definition';
import type { WorkflowGateway, WorkflowOutcome } from '../../core/ports';
import type { CoreDeps } from '../../core/services/types';
import { createNotifyHandler } from '../../lambdas/notify/handler';
import { createRevokeHandler } from '../../lambdas/revoke/handler';
import { createWorkflowHandler } from '../../lambdas/workflow/handler';
import type * as z from 'zod';
import {
  approvalRecordedResultSchema,
  approvalRequestedSchema,
  cardPostedResultSchema,
  grantStepResultSchema,
  postApprovalCardSchema,
  revokePayloadSchema,
  revokeResultSchema,
  stateResultSchema,
  validateResultSchema,
  workflowPayloadSchema,
} from '../../contract/workflow';
import type { Log } from '../../lambdas/http';
import type { MemoryWorld } from '../../core/memory';

interface AslValidation {
  isValid: boolean;
  errors: Array<{ 'Error code': string; Message: string; path?: string }>;
}
// asl-validator ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown, options?: { checkPaths?: boolean; checkArn?: boolean }) => AslValidation;

/** The ASL errors asl-validator finds in a definition (empty when it is valid). */
export function aslErrors(definition: StateMachineDefinition): string[] {
  const r = aslValidator(structuredClone(definition), { checkPaths: true, checkArn: true });
  return r.isValid ? [] : r.errors.map((e) => `${e['Error code']}: ${e.Message}${e.path ? ` at ${e.path}` : ''}`);
}

type EventLog = Awaited<ReturnType<AsyncGenerator<unknown>['next']>>['value'] & { type: string; state?: { name: string }; Error?: string; Cause?: unknown };
type TaskFn = (input: unknown) => Promise<unknown>;

let cachedDefinition: StateMachineDefinition | undefined;

/** The definition synthesized from infra/ (once per process: synth takes a few seconds). */
export function workflowDefinition(): StateMachineDefinition {
  cachedDefinition ??= synthesizeWorkflowDefinition();
  return structuredClone(cachedDefinition);
}

/** Step Functions Standard bills per state transition: every state entered, and every retry. */
export function countTransitions(events: readonly EventLog[]): number {
  return events.filter((e) => e.type === 'StateEntered' || e.type === 'StateRetried').length;
}

/** The names of the states entered, in order (what a test asserts a path against). */
export function statePath(events: readonly EventLog[]): string[] {
  return events.filter((e) => e.type === 'StateEntered').map((e) => e.state?.name ?? '?');
}

export class TaskTimedOut extends Error {
  override name = 'TaskTimedOut';
}

export interface LocalExecution {
  requestId: string;
  executionArn: string;
  events: EventLog[];
  /** Resolves with the output, or rejects like a failed execution (error name = the Fail state's Error). */
  result: Promise<unknown>;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  error?: { name: string; cause?: string };
}

export interface LocalWorkflowOptions {
  definition?: StateMachineDefinition;
  /** Milliseconds for every Wait state (default 0: status polling does not slow tests down). */
  waitMs?: number;
  /** Milliseconds before every Retry (default 0). */
  retryMs?: number;
  /**
   * Per state, instead of `retryMs`: ms per retrier (index), a negative entry keeping the
   * definition's own interval, backoff and MaxDelaySeconds (driven with fake timers in a test).
   */
  retryOverrides?: Record<string, number | number[]>;
  /** Wrap or replace a Task's handler (fault injection: "crash after the grant"). */
  interceptTask?: (state: string, input: unknown, next: TaskFn) => Promise<unknown>;
  log?: Log;
}

interface PendingApproval {
  requestId: string;
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * Holds what crosses the state machine / Lambda boundary to contract/workflow.ts: the value must
 * match the schema with nothing left over (a field the schema does not know is a field one side
 * sends and the other never reads). A payload that does not parse goes to the handler as it is, so
 * that the handler's own refusal is what the test sees.
 */
function held<S extends z.ZodType>(schema: S, value: unknown, what: string, o: { payload?: boolean } = {}): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    if (o.payload) return value as z.output<S>;
    throw new Error(`${what} does not match contract/workflow.ts: ${parsed.error.message}`);
  }
  if (!isDeepStrictEqual(parsed.data, value)) throw new Error(`${what} has fields contract/workflow.ts does not know: ${JSON.stringify(value)}`);
  return parsed.data;
}

export class LocalWorkflow implements WorkflowGateway {
  readonly executions = new Map<string, LocalExecution>();
  private readonly pending = new Map<string, PendingApproval>();
  private readonly definition: StateMachineDefinition;
  private deps: CoreDeps | undefined;
  private tokenCounter = 0;

  constructor(private readonly options: LocalWorkflowOptions = {}) {
    this.definition = options.definition ?? workflowDefinition();
  }

  /** The ports the handlers run over; set once the deps (which include this gateway) exist. */
  bind(deps: CoreDeps): this {
    this.deps = deps;
    return this;
  }

  async start(requestId: string): Promise<{ executionArn: string }> {
    const existing = this.executions.get(requestId);
    if (existing) return { executionArn: existing.executionArn };
    const execution = this.run(requestId);
    return { executionArn: execution.executionArn };
  }

  async resume(taskToken: string, outcome: WorkflowOutcome): Promise<void> {
    const pending = this.pending.get(taskToken);
    if (!pending) throw new TaskTimedOut('Task Timed Out: the task token is not (or no longer) waiting.');
    this.pending.delete(taskToken);
    if (outcome.approved) pending.resolve({ approved: true, approvedBy: outcome.approvedBy });
    else {
      const err = new Error(outcome.cause);
      err.name = outcome.error;
      pending.reject(err);
    }
  }

  /** Tokens the RequestApproval task is parked on right now. */
  waitingTokens(): string[] {
    return [...this.pending.keys()];
  }

  /** Resolves when the execution ends (never rejects). */
  async settled(requestId: string): Promise<LocalExecution> {
    const execution = this.executions.get(requestId);
    if (!execution) throw new Error(`No execution for ${requestId}`);
    await execution.result.catch(() => undefined);
    return execution;
  }

  /**
   * Resolves once the approval wait is parked AND its token is stored on the request (what the
   * bridge needs to resume it): the moment an approver can act on the card.
   */
  async awaitingApproval(requestId: string, timeoutMs = 5_000): Promise<string> {
    await this.reached(requestId, STATES.requestApproval, timeoutMs);
    const started = performance.now();
    for (;;) {
      const token = [...this.pending].find(([, p]) => p.requestId === requestId)?.[0];
      const stored = token && this.deps ? await this.deps.requests.get(requestId) : undefined;
      if (token && stored?.taskToken === token) return token;
      const execution = this.executions.get(requestId);
      if (execution && execution.status !== 'RUNNING') throw new Error(`${requestId} ended (${execution.status}) while waiting for approval`);
      if (performance.now() - started > timeoutMs) throw new Error(`${requestId}: the approval token was never recorded`);
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Resolves once the execution has entered `state` (polls the event log on the microtask/timer queue). */
  async reached(requestId: string, state: string, timeoutMs = 5_000): Promise<void> {
    const started = performance.now();
    for (;;) {
      const execution = this.executions.get(requestId);
      if (execution?.events.some((e) => e.type === 'StateEntered' && e.state?.name === state)) return;
      if (execution && execution.status !== 'RUNNING') throw new Error(`${requestId} ended (${execution.status}) before reaching ${state}: ${statePath(execution.events).join(' > ')}`);
      if (performance.now() - started > timeoutMs) throw new Error(`${requestId} did not reach ${state}`);
      await new Promise((r) => setImmediate(r));
    }
  }

  private handlers(): Record<string, TaskFn> {
    const deps = () => {
      if (!this.deps) throw new Error('LocalWorkflow.bind(deps) was not called');
      return this.deps;
    };
    const log = this.options.log;
    const workflow = createWorkflowHandler(deps, { log });
    const notify = createNotifyHandler(deps, { log });
    const revoke = createRevokeHandler(deps, { log });
    const byFunction: Record<string, TaskFn> = {
      workflow: async (input) => {
        const payload = held(workflowPayloadSchema, input, 'workflow payload', { payload: true });
        const result = await workflow(payload);
        const schema = payload.action === 'validate' ? validateResultSchema : payload.action === 'start_grant' || payload.action === 'check_grant' ? grantStepResultSchema : stateResultSchema;
        return held(schema, result, `${payload.action} result`);
      },
      revoke: async (input) => held(revokeResultSchema, await revoke(held(revokePayloadSchema, input, 'revoke payload', { payload: true })), 'revoke result'),
      // RequestApproval uses the lambda:invoke.waitForTaskToken integration: the input is
      // {FunctionName, Payload}; the task's output is what SendTaskSuccess sends.
      notify: async (input) => {
        // PostApprovalCard is a plain invoke of the same function (payload only, no task token).
        if ((input as { action?: string }).action === 'post_approval_card') {
          return held(cardPostedResultSchema, await notify(held(postApprovalCardSchema, input, 'PostApprovalCard payload', { payload: true })), 'PostApprovalCard result');
        }
        const payload = held(approvalRequestedSchema, (input as { Payload: unknown }).Payload, 'RequestApproval payload', { payload: true });
        const parked = new Promise<unknown>((resolve, reject) => this.pending.set(payload.taskToken, { requestId: payload.requestId, resolve, reject }));
        try {
          held(approvalRecordedResultSchema, await notify(payload), 'RequestApproval result');
        } catch (e) {
          this.pending.delete(payload.taskToken);
          throw e;
        }
        return parked;
      },
    };
    const out: Record<string, TaskFn> = {};
    for (const [state, fn] of Object.entries(TASK_FUNCTIONS)) {
      const next = byFunction[fn]!;
      out[state] = this.options.interceptTask ? (input) => this.options.interceptTask!(state, input, next) : next;
    }
    return out;
  }

  private run(requestId: string): LocalExecution {
    const machine = new StateMachine(this.definition as never, { validationOptions: { checkArn: false } });
    const waits = Object.fromEntries(Object.entries(this.definition.States).filter(([, s]) => s.Type === 'Wait').map(([name]) => [name, this.options.waitMs ?? 0]));
    const retries = { ...Object.fromEntries(Object.entries(this.definition.States).filter(([, s]) => Array.isArray(s.Retry)).map(([name]) => [name, this.options.retryMs ?? 0])), ...this.options.retryOverrides };
    const token = `local-token-${requestId}-${++this.tokenCounter}`;
    const runOptions: RunOptions = {
      overrides: { taskResourceLocalHandlers: this.handlers() as never, waitTimeOverrides: waits, retryIntervalOverrides: retries },
      context: { Execution: { Name: requestId, Input: { requestId } }, Task: { Token: token } },
    };
    const { result, eventLogs } = machine.run({ requestId }, runOptions);
    const execution: LocalExecution = {
      requestId,
      executionArn: `arn:aws:states:us-east-1:111111111111:execution:jit-access-test-approval:${requestId}`,
      events: [],
      result: result.then(
        (output) => {
          execution.status = 'SUCCEEDED';
          return output;
        },
        (e: unknown) => {
          execution.status = 'FAILED';
          // ExecutionError wraps the runtime error: its name is the Fail state's Error.
          const inner = (e as Error).cause as Error | undefined;
          execution.error = { name: inner?.name ?? (e as Error).name, cause: inner?.message };
          throw e;
        },
      ),
      status: 'RUNNING',
    };
    // Keep unhandled-rejection noise out of test output; callers await `result` or `settled()`.
    execution.result.catch(() => undefined);
    void (async () => {
      for await (const event of eventLogs) {
        const e = event as EventLog;
        execution.events.push(e);
        // The approval wait ended (timeout, failure): its token no longer resumes anything.
        if ((e.type === 'StateFailed' || e.type === 'StateCaught' || e.type === 'StateExited') && e.state?.name === STATES.requestApproval) {
          for (const [t, p] of this.pending) if (p.requestId === requestId) this.pending.delete(t);
        }
      }
    })();
    this.executions.set(requestId, execution);
    return execution;
  }
}

/**
 * Puts a LocalWorkflow in place of the world's workflow gateway: submitting a request (through
 * the core or the bridge handler) starts an execution of the synthesized state machine, whose
 * Tasks run the real handlers over the same in-memory ports.
 */
export function withLocalWorkflow(world: MemoryWorld, options: LocalWorkflowOptions = {}): LocalWorkflow {
  const flow = new LocalWorkflow(options);
  world.deps.workflow = flow;
  return flow.bind(world.deps);
}

