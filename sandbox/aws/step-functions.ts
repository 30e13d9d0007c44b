/**
 * Step Functions stand-in (`AWSStepFunctions`, awsJson1_0) that runs real ASL definitions with
 * aws-local-stepfunctions: StartExecution, DescribeExecution, StopExecution, SendTaskSuccess,
 * SendTaskFailure, SendTaskHeartbeat.
 *
 * Every Task state runs a local handler (state name -> function). For a Task whose Resource ends
 * with `.waitForTaskToken`, the stand-in plays AWS's callback protocol:
 *   - each run of the task gets a fresh, unguessable task token; it replaces `$$.Task.Token`
 *     wherever the state's Parameters put it (aws-local-stepfunctions has one static context per
 *     run, so the context carries a per-execution placeholder that is swapped for the token);
 *   - the handler is invoked with that payload (its return value is ignored, as for AWS);
 *   - the task then waits until SendTaskSuccess (the task's result is the parsed output) or
 *     SendTaskFailure (the task fails with the given error name and cause, so Retry/Catch match
 *     it), or until the state's TimeoutSeconds (States.Timeout); after that the token answers
 *     TaskTimedOut, as AWS does for closed tasks.
 * StartExecution is idempotent like a Standard workflow: same name and same input while RUNNING
 * returns the original execution; a different input, or a closed execution, is
 * ExecutionAlreadyExists.
 */
import { randomBytes } from 'node:crypto';
import { type RunOptions, StateMachine } from 'aws-local-stepfunctions';
import { z } from 'zod';
import { type SandboxClock, systemClock } from './clock';
import { type FaultKind, FaultQueue } from './faults';
import { JsonDocument } from './persistence';
import { AwsError, compact, epochSeconds, parseInput } from './protocol';
import type { JsonRpcService } from './service';

export interface AslDefinition {
  StartAt: string;
  States: Record<string, Record<string, unknown>>;
  TimeoutSeconds?: number;
  [key: string]: unknown;
}

export interface TaskInvocation {
  executionArn: string;
  executionName: string;
  stateName: string;
  resource: string;
  /** Set for `.waitForTaskToken` tasks: the token SendTaskSuccess/SendTaskFailure must present. */
  taskToken?: string;
}

/** Runs one Task state. Receives the state's effective input (after InputPath and Parameters). */
export type TaskHandler = (input: unknown, invocation: TaskInvocation) => Promise<unknown> | unknown;

export interface StateMachineRegistration {
  /** State machine name; its ARN is arn:aws:states:<region>:<account>:stateMachine:<name>. */
  name: string;
  definition: AslDefinition | string;
  /** One handler per Task state, by state name (nested Parallel/Map states included). */
  taskHandlers: Record<string, TaskHandler>;
  /** Milliseconds to wait in the named Wait states instead of what the definition says. */
  waitTimeOverrides?: Record<string, number>;
  /** Milliseconds before each retry of the named states instead of what the definition says. */
  retryIntervalOverrides?: Record<string, number | number[]>;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

type EventLog = { type: string; timestamp: number; state?: { name: string; type: string }; Error?: string; Cause?: unknown };

export interface ExecutionView {
  name: string;
  executionArn: string;
  stateMachineArn: string;
  status: ExecutionStatus;
  input: string;
  startDate: string;
  stopDate?: string;
  output?: string;
  error?: string;
  cause?: string;
  /** Names of the states entered, in order. */
  path: string[];
  /** State transitions (every state entered or retried): what Step Functions Standard bills. */
  transitions: number;
  /** Tasks parked on a task token right now. */
  waitingTasks: Array<{ stateName: string; since: string }>;
}

export interface StepFunctionsOptions {
  clock?: SandboxClock;
  region?: string;
  accountId?: string;
  stateMachines?: readonly StateMachineRegistration[];
  /** Keeps executions (not their in-flight state) across restarts. */
  dataFile?: string;
  /**
   * What happens to executions that were RUNNING when the process stopped, once their state
   * machine is registered again: `restart` runs them again from the start with the same name and
   * input (the handlers are idempotent); `fail` marks them FAILED (error `Sandbox.Restarted`).
   */
  onRestart?: 'restart' | 'fail';
  log?: (message: string) => void;
}

const TOKEN_PATTERN = /^sbx1\.[A-Za-z0-9_-]{43}$/;
const STATE_MACHINE_ARN = /^arn:aws:states:[a-z0-9-]+:\d{12}:stateMachine:([A-Za-z0-9_-]{1,80})$/;
const EXECUTION_ARN = /^arn:aws:states:[a-z0-9-]+:\d{12}:execution:([A-Za-z0-9_-]{1,80}):(.{1,80})$/;
/** Characters AWS refuses in execution names: whitespace, brackets, wildcards, specials, controls. */
const INVALID_NAME_CHARS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/;
const isInvalidName = (name: string) => INVALID_NAME_CHARS.test(name) || [...name].some((c) => c.charCodeAt(0) < 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f));
/**
 * "Maximum input or output size for a task, state, or execution: 256 KiB of data as a UTF-8
 * encoded string" (Step Functions service quotas). The API models also cap the strings at 262,144
 * characters; a string under that can still be over the quota in UTF-8 bytes.
 */
const MAX_PAYLOAD = 262_144;
/** "Execution names ... must be unique for your account, Region, and state machine for 90 days" (StartExecution API reference). */
const EXECUTION_NAME_REUSE_MS = 90 * 24 * 3600 * 1000;
const overQuota = (what: string, value: string) => {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_PAYLOAD) throw new AwsError('ValidationException', `1 validation error detected: ${what} is ${bytes} bytes in UTF-8; the Step Functions quota is 256 KiB (${MAX_PAYLOAD} bytes).`, 400);
};
const MAX_EVENTS = 25_000;
const MAX_CLOSED_TOKENS = 50_000;

/** Task tokens: 1-2048 characters (the 2024+ API model; it was 1024 before). */
const TASK_TOKEN = z.string().min(1).max(2048);
const startSchema = z.object({ stateMachineArn: z.string().min(1).max(256), name: z.string().min(1).max(80).optional(), input: z.string().max(MAX_PAYLOAD).optional(), traceHeader: z.string().max(256).optional() });
const describeSchema = z.object({ executionArn: z.string().min(1).max(256), includedData: z.enum(['ALL_DATA', 'METADATA_ONLY']).optional() });
const stopSchema = z.object({ executionArn: z.string().min(1).max(256), error: z.string().max(256).optional(), cause: z.string().max(32_768).optional() });
const taskSuccessSchema = z.object({ taskToken: TASK_TOKEN, output: z.string().max(MAX_PAYLOAD) });
const taskFailureSchema = z.object({ taskToken: TASK_TOKEN, error: z.string().max(256).optional(), cause: z.string().max(32_768).optional() });
const heartbeatSchema = z.object({ taskToken: TASK_TOKEN });

const persistedSchema = z.object({
  version: z.literal(1),
  executions: z.array(
    z.object({
      name: z.string(),
      stateMachineName: z.string(),
      input: z.string(),
      status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']),
      startDate: z.number(),
      stopDate: z.number().optional(),
      output: z.string().optional(),
      error: z.string().optional(),
      cause: z.string().optional(),
    }),
  ),
});

interface RegisteredMachine {
  name: string;
  arn: string;
  definition: AslDefinition;
  machine: StateMachine;
  registration: StateMachineRegistration;
  callbackStates: Set<string>;
}

interface Execution {
  name: string;
  stateMachineName: string;
  input: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  events: EventLog[];
  abort?: () => void;
  /** Settles when the run ends (never rejects). */
  done?: Promise<void>;
  placeholder?: string;
}

interface PendingTask {
  token: string;
  executionName: string;
  stateName: string;
  since: number;
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
}

/** A task's failure as SendTaskFailure reports it: the error name is what Retry/Catch match. */
export class TaskFailure extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

export class StepFunctionsStandIn implements JsonRpcService {
  readonly targetPrefix = 'AWSStepFunctions';
  readonly jsonVersion = '1.0';
  readonly faults = new FaultQueue();
  private readonly clock: SandboxClock;
  private readonly region: string;
  private readonly accountId: string;
  private readonly log: (message: string) => void;
  private readonly machines = new Map<string, RegisteredMachine>();
  private readonly executions = new Map<string, Execution>();
  private readonly pending = new Map<string, PendingTask>();
  /** Tokens whose task is closed (succeeded, failed, timed out): they answer TaskTimedOut. */
  private readonly closedTokens = new Set<string>();
  private readonly doc: JsonDocument<z.infer<typeof persistedSchema>>;
  private restored: Array<z.infer<typeof persistedSchema>['executions'][number]> = [];
  private stopped = false;

  constructor(private readonly options: StepFunctionsOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '111111111111';
    this.log = options.log ?? ((m) => console.error(m));
    const { doc, loaded } = JsonDocument.open(options.dataFile, persistedSchema, () => this.snapshot());
    this.doc = doc;
    for (const e of loaded?.executions ?? []) {
      if (e.status === 'RUNNING') this.restored.push(e);
      else this.executions.set(executionKey(e.stateMachineName, e.name), { ...e, events: [] });
    }
    for (const registration of options.stateMachines ?? []) this.registerStateMachine(registration);
  }

  stateMachineArn(name: string): string {
    return `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${name}`;
  }

  executionArn(stateMachineName: string, executionName: string): string {
    return `arn:aws:states:${this.region}:${this.accountId}:execution:${stateMachineName}:${executionName}`;
  }

  /**
   * Registers (or replaces) a state machine. Executions of it that were RUNNING when the
   * sandbox last stopped are handled now, per `onRestart`.
   */
  registerStateMachine(registration: StateMachineRegistration): string {
    const definition: AslDefinition = typeof registration.definition === 'string' ? (JSON.parse(registration.definition) as AslDefinition) : structuredClone(registration.definition);
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(registration.name)) throw new Error(`Invalid state machine name ${registration.name}`);
    const tasks = taskStates(definition.States);
    const missing = tasks.filter((t) => !registration.taskHandlers[t.name]).map((t) => t.name);
    if (missing.length > 0) throw new Error(`State machine ${registration.name}: no local handler for Task state(s) ${missing.join(', ')}`);
    const unknown = Object.keys(registration.taskHandlers).filter((name) => !tasks.some((t) => t.name === name));
    if (unknown.length > 0) throw new Error(`State machine ${registration.name}: handlers given for states that are not Task states: ${unknown.join(', ')}`);
    const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
    const arn = this.stateMachineArn(registration.name);
    this.machines.set(registration.name, {
      name: registration.name,
      arn,
      definition,
      machine,
      registration,
      callbackStates: new Set(tasks.filter((t) => t.resource.endsWith('.waitForTaskToken')).map((t) => t.name)),
    });
    const resumable = this.restored.filter((e) => e.stateMachineName === registration.name);
    this.restored = this.restored.filter((e) => e.stateMachineName !== registration.name);
    for (const e of resumable) {
      if ((this.options.onRestart ?? 'restart') === 'restart') {
        this.log(`[sandbox] restarting execution ${e.name} (it was running when the sandbox stopped)`);
        this.run(this.machines.get(registration.name)!, e.name, e.input, e.startDate);
      } else {
        this.executions.set(executionKey(e.stateMachineName, e.name), { ...e, status: 'FAILED', stopDate: this.clock.now(), error: 'Sandbox.Restarted', cause: 'The sandbox stopped while this execution was running.', events: [] });
      }
    }
    this.doc.save();
    return arn;
  }

  faultError(kind: Exclude<FaultKind, 'fail'>, operation: string, message?: string): AwsError {
    if (kind === 'throttle') return new AwsError('ThrottlingException', message ?? 'Rate exceeded', 400);
    if (kind === 'conflict') return new AwsError('ConflictException', message ?? `${operation} conflicts with a concurrent update.`, 400);
    return new AwsError('InternalFailure', message ?? 'The request processing has failed because of an unknown error.', 500);
  }

  async handle(operation: string, input: unknown): Promise<unknown> {
    switch (operation) {
      case 'StartExecution':
        return this.startExecution(input);
      case 'DescribeExecution':
        return this.describeExecution(input);
      case 'StopExecution':
        return this.stopExecution(input);
      case 'SendTaskSuccess':
        return this.sendTaskSuccess(input);
      case 'SendTaskFailure':
        return this.sendTaskFailure(input);
      case 'SendTaskHeartbeat':
        return this.sendTaskHeartbeat(input);
      default:
        throw new AwsError('UnknownOperationException', `The sandbox Step Functions does not implement ${operation}.`, 400);
    }
  }

  // ── operations ───────────────────────────────────────────────────────────────────

  startExecution(body: unknown) {
    const req = parseInput(startSchema, body);
    const match = STATE_MACHINE_ARN.exec(req.stateMachineArn);
    if (!match) throw new AwsError('InvalidArn', `Invalid Arn: '${req.stateMachineArn}'`, 400);
    const machine = this.machines.get(match[1]!);
    if (!machine || machine.arn !== req.stateMachineArn) throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${req.stateMachineArn}'`, 400);
    const name = req.name ?? randomName();
    if (isInvalidName(name)) throw new AwsError('InvalidName', `Invalid Name: '${name}'`, 400);
    const input = req.input ?? '{}';
    overQuota('input', input);
    try {
      JSON.parse(input);
    } catch {
      throw new AwsError('InvalidExecutionInput', 'Invalid State Machine Execution Input: the input is not valid JSON.', 400);
    }
    const existing = this.executions.get(executionKey(machine.name, name));
    // A closed execution's name can be used again after 90 days; until then it is taken.
    const reusable = existing && existing.status !== 'RUNNING' && existing.stopDate !== undefined && this.clock.now() - existing.stopDate >= EXECUTION_NAME_REUSE_MS;
    if (existing && !reusable) {
      if (existing.status === 'RUNNING' && existing.input === input) return { executionArn: this.executionArn(machine.name, name), startDate: epochSeconds(existing.startDate) };
      throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${this.executionArn(machine.name, name)}'`, 400);
    }
    const execution = this.run(machine, name, input, this.clock.now());
    return { executionArn: this.executionArn(machine.name, name), startDate: epochSeconds(execution.startDate) };
  }

  describeExecution(body: unknown) {
    const req = parseInput(describeSchema, body);
    const execution = this.findExecution(req.executionArn);
    const machine = this.stateMachineArn(execution.stateMachineName);
    return compact({
      executionArn: req.executionArn,
      stateMachineArn: machine,
      name: execution.name,
      status: execution.status,
      startDate: epochSeconds(execution.startDate),
      stopDate: execution.stopDate === undefined ? undefined : epochSeconds(execution.stopDate),
      // METADATA_ONLY leaves the data out (StartExecution/DescribeExecution API reference, includedData).
      input: req.includedData === 'METADATA_ONLY' ? undefined : execution.input,
      inputDetails: { included: req.includedData !== 'METADATA_ONLY' },
      output: req.includedData === 'METADATA_ONLY' ? undefined : execution.output,
      outputDetails: execution.output === undefined ? undefined : { included: req.includedData !== 'METADATA_ONLY' },
      error: execution.error,
      cause: execution.cause,
    });
  }

  stopExecution(body: unknown) {
    const req = parseInput(stopSchema, body);
    const execution = this.findExecution(req.executionArn);
    if (execution.status === 'RUNNING') {
      execution.error = req.error;
      execution.cause = req.cause;
      execution.abort?.();
      this.close(execution, 'ABORTED', { error: req.error, cause: req.cause });
    }
    return { stopDate: epochSeconds(execution.stopDate ?? this.clock.now()) };
  }

  sendTaskSuccess(body: unknown): Record<string, never> {
    const req = parseInput(taskSuccessSchema, body);
    overQuota('output', req.output);
    let output: unknown;
    try {
      output = JSON.parse(req.output);
    } catch {
      throw new AwsError('InvalidOutput', 'Invalid Output: the output is not valid JSON.', 400);
    }
    const task = this.takeTask(req.taskToken);
    task.resolve(output);
    return {};
  }

  sendTaskFailure(body: unknown): Record<string, never> {
    const req = parseInput(taskFailureSchema, body);
    const task = this.takeTask(req.taskToken);
    task.reject(new TaskFailure(req.error ?? '', req.cause ?? ''));
    return {};
  }

  sendTaskHeartbeat(body: unknown): Record<string, never> {
    const req = parseInput(heartbeatSchema, body);
    this.checkToken(req.taskToken);
    // aws-local-stepfunctions has no HeartbeatSeconds; a heartbeat only proves the task is open.
    return {};
  }

  // ── inspection (tests, benchmarks, the e2e suite) ─────────────────────────────────────

  listExecutions(): ExecutionView[] {
    return [...this.executions.values()].map((e) => this.view(e));
  }

  execution(name: string, stateMachineName?: string): ExecutionView | undefined {
    const e = [...this.executions.values()].find((x) => x.name === name && (!stateMachineName || x.stateMachineName === stateMachineName));
    return e && this.view(e);
  }

  /** Tokens of the tasks waiting for a callback right now. */
  waitingTasks(): Array<{ token: string; executionName: string; stateName: string }> {
    return [...this.pending.values()].map((p) => ({ token: p.token, executionName: p.executionName, stateName: p.stateName }));
  }

  /** Resolves when the named execution has ended. */
  async settled(name: string, stateMachineName?: string): Promise<ExecutionView> {
    const e = [...this.executions.values()].find((x) => x.name === name && (!stateMachineName || x.stateMachineName === stateMachineName));
    if (!e) throw new Error(`No execution named ${name}`);
    await e.done;
    return this.view(e);
  }

  /** Resolves once a task of the named execution waits on a token (tests drive approvals with it). */
  async waitingTask(executionName: string, stateName?: string, timeoutMs = 10_000): Promise<string> {
    const started = performance.now();
    for (;;) {
      const task = [...this.pending.values()].find((p) => p.executionName === executionName && (!stateName || p.stateName === stateName));
      if (task) return task.token;
      const e = [...this.executions.values()].find((x) => x.name === executionName);
      if (e && e.status !== 'RUNNING') throw new Error(`Execution ${executionName} ended (${e.status}) without waiting on a task token`);
      if (performance.now() - started > timeoutMs) throw new Error(`Execution ${executionName} did not wait on a task token within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Aborts running executions (they stay RUNNING in the data file, to be handled on the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    const running = [...this.executions.values()].filter((e) => e.status === 'RUNNING');
    this.doc.save();
    await this.doc.flush();
    for (const e of running) e.abort?.();
    await Promise.all(running.map((e) => e.done));
  }

  // ── internals ─────────────────────────────────────────────────────────────────────

  private run(machine: RegisteredMachine, name: string, input: string, startDate: number): Execution {
    const placeholder = `sandbox-task-token-placeholder-${randomBytes(12).toString('hex')}`;
    const execution: Execution = { name, stateMachineName: machine.name, input, status: 'RUNNING', startDate, events: [], placeholder };
    this.executions.set(executionKey(machine.name, name), execution);
    const executionArn = this.executionArn(machine.name, name);
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const task of taskStates(machine.definition.States)) {
      const handler = machine.registration.taskHandlers[task.name]!;
      handlers[task.name] = machine.callbackStates.has(task.name)
        ? (payload) => this.runCallbackTask(execution, executionArn, task.name, task.resource, handler, payload)
        : async (payload) => handler(payload, { executionArn, executionName: name, stateName: task.name, resource: task.resource });
    }
    const runOptions: RunOptions = {
      overrides: {
        taskResourceLocalHandlers: handlers as never,
        ...(machine.registration.waitTimeOverrides ? { waitTimeOverrides: machine.registration.waitTimeOverrides } : {}),
        ...(machine.registration.retryIntervalOverrides ? { retryIntervalOverrides: machine.registration.retryIntervalOverrides } : {}),
      },
      context: {
        Execution: { Id: executionArn, Name: name, Input: JSON.parse(input), StartTime: new Date(startDate).toISOString(), RoleArn: `arn:aws:iam::${this.accountId}:role/sandbox-states` },
        StateMachine: { Id: machine.arn, Name: machine.name },
        Task: { Token: placeholder },
      },
    };
    const { result, eventLogs, abort } = machine.machine.run(JSON.parse(input), runOptions);
    execution.abort = abort;
    const consumeEvents = (async () => {
      for await (const event of eventLogs) {
        const e = event as unknown as EventLog;
        if (execution.events.length < MAX_EVENTS) execution.events.push(e);
        // A callback task that ended without a callback (timeout, abort): its tokens close.
        if ((e.type === 'StateFailed' || e.type === 'StateExited') && e.state && machine.callbackStates.has(e.state.name)) this.closeTokens(name, e.state.name);
      }
    })().catch(() => undefined);
    execution.done = result.then(
      (output) => {
        this.close(execution, 'SUCCEEDED', { output: JSON.stringify(output ?? null) });
      },
      (e: unknown) => {
        const err = e as Error & { cause?: Error };
        if (err.name === 'ExecutionAbortedError') this.close(execution, 'ABORTED', { error: execution.error, cause: execution.cause });
        else if (err.name === 'ExecutionTimeoutError') this.close(execution, 'TIMED_OUT', { error: 'States.Timeout', cause: 'The execution timed out (TimeoutSeconds).' });
        else {
          const inner = err.cause instanceof Error ? err.cause : err;
          this.close(execution, 'FAILED', { error: inner.name, cause: inner.message });
        }
      },
    ).then(() => consumeEvents);
    this.doc.save();
    return execution;
  }

  private async runCallbackTask(execution: Execution, executionArn: string, stateName: string, resource: string, handler: TaskHandler, payload: unknown): Promise<unknown> {
    const token = `sbx1.${randomBytes(32).toString('base64url')}`;
    const withToken = replaceDeep(payload, execution.placeholder!, token);
    const parked = new Promise<unknown>((resolve, reject) => {
      this.pending.set(token, { token, executionName: execution.name, stateName, since: this.clock.now(), resolve, reject });
    });
    // A late settlement (after a timeout already ended the task) must not surface as unhandled.
    parked.catch(() => undefined);
    try {
      await handler(withToken, { executionArn, executionName: execution.name, stateName, resource, taskToken: token });
    } catch (e) {
      this.closeToken(token);
      throw e;
    }
    return parked;
  }

  private takeTask(token: string): PendingTask {
    this.checkToken(token);
    const task = this.pending.get(token)!;
    this.closeToken(token);
    return task;
  }

  private checkToken(token: string): void {
    if (!TOKEN_PATTERN.test(token)) throw new AwsError('InvalidToken', 'Invalid Token: the task token is malformed.', 400);
    if (this.pending.has(token)) return;
    if (this.closedTokens.has(token)) throw new AwsError('TaskTimedOut', 'Task Timed Out: the task was already closed (completed, failed or timed out).', 400);
    throw new AwsError('TaskDoesNotExist', 'Task Does Not Exist: no task is waiting on this token.', 400);
  }

  private closeToken(token: string): void {
    this.pending.delete(token);
    this.closedTokens.add(token);
    if (this.closedTokens.size > MAX_CLOSED_TOKENS) this.closedTokens.delete(this.closedTokens.values().next().value!);
  }

  private closeTokens(executionName: string, stateName?: string): void {
    for (const [token, task] of this.pending) if (task.executionName === executionName && (!stateName || task.stateName === stateName)) this.closeToken(token);
  }

  private close(execution: Execution, status: ExecutionStatus, details: { output?: string; error?: string; cause?: string }): void {
    if (execution.status !== 'RUNNING') return;
    // A process that is shutting down leaves its executions RUNNING on disk for the next start.
    if (this.stopped) return;
    execution.status = status;
    execution.stopDate = this.clock.now();
    if (details.output !== undefined) execution.output = details.output;
    if (details.error !== undefined) execution.error = details.error;
    if (details.cause !== undefined) execution.cause = details.cause;
    this.closeTokens(execution.name);
    this.doc.save();
  }

  private findExecution(arn: string): Execution {
    const match = EXECUTION_ARN.exec(arn);
    if (!match) throw new AwsError('InvalidArn', `Invalid Arn: '${arn}'`, 400);
    const execution = this.executions.get(executionKey(match[1]!, match[2]!));
    if (!execution || arn !== this.executionArn(match[1]!, match[2]!)) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`, 400);
    return execution;
  }

  private view(e: Execution): ExecutionView {
    return compact({
      name: e.name,
      executionArn: this.executionArn(e.stateMachineName, e.name),
      stateMachineArn: this.stateMachineArn(e.stateMachineName),
      status: e.status,
      input: e.input,
      startDate: new Date(e.startDate).toISOString(),
      stopDate: e.stopDate === undefined ? undefined : new Date(e.stopDate).toISOString(),
      output: e.output,
      error: e.error,
      cause: e.cause,
      path: e.events.filter((x) => x.type === 'StateEntered').map((x) => x.state?.name ?? '?'),
      transitions: e.events.filter((x) => x.type === 'StateEntered' || x.type === 'StateRetried').length,
      waitingTasks: [...this.pending.values()].filter((p) => p.executionName === e.name).map((p) => ({ stateName: p.stateName, since: new Date(p.since).toISOString() })),
    });
  }

  private snapshot(): z.infer<typeof persistedSchema> {
    const executions = [...this.executions.values()].map((e) => compact({ name: e.name, stateMachineName: e.stateMachineName, input: e.input, status: e.status, startDate: e.startDate, stopDate: e.stopDate, output: e.output, error: e.error, cause: e.cause }));
    // Executions restored from disk whose state machine is not registered yet stay as they were.
    return { version: 1, executions: [...executions, ...this.restored] };
  }
}

function executionKey(stateMachineName: string, name: string): string {
  return `${stateMachineName}:${name}`;
}

function randomName(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Every Task state, including those inside Parallel branches and Map iterators. */
function taskStates(states: Record<string, Record<string, unknown>>): Array<{ name: string; resource: string }> {
  const out: Array<{ name: string; resource: string }> = [];
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') out.push({ name, resource: String(state.Resource ?? '') });
    for (const branch of (state.Branches as Array<{ States: Record<string, Record<string, unknown>> }> | undefined) ?? []) out.push(...taskStates(branch.States));
    const inner = (state.ItemProcessor ?? state.Iterator) as { States: Record<string, Record<string, unknown>> } | undefined;
    if (inner) out.push(...taskStates(inner.States));
  }
  return out;
}

/** Replaces `needle` inside every string of a JSON value. */
function replaceDeep(value: unknown, needle: string, replacement: string): unknown {
  if (typeof value === 'string') return value.includes(needle) ? value.split(needle).join(replacement) : value;
  if (Array.isArray(value)) return value.map((v) => replaceDeep(v, needle, replacement));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceDeep(v, needle, replacement)]));
  return value;
}
