/**
 * The approval workflow on Step Functions. One execution per request, named after the request id,
 * so that starting twice is harmless; the approval wait is resumed with the task token the notify
 * function stored. A token the service no longer accepts means the approval window is closed
 * (timed out, or the execution ended): a typed error, never a silent success.
 */
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DependencyError, IllegalTransitionError } from '../../core/errors';
import type { Clock, WorkflowGateway, WorkflowOutcome } from '../../core/ports';
import type { WorkflowInput } from '../../contract/workflow';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry';

const DEPENDENCY = 'Step Functions';

/** The approval task no longer waits for a decision: it timed out, or its execution has ended. */
export class ApprovalClosedError extends IllegalTransitionError {
  constructor(
    readonly reason: 'TaskTimedOut' | 'TaskDoesNotExist',
    to: string,
  ) {
    super(
      'PENDING_APPROVAL',
      to,
      reason === 'TaskTimedOut'
        ? 'The approval window has closed (it timed out) before this decision arrived.'
        : 'The approval is no longer waiting for a decision: its workflow has already ended.',
    );
  }
}

export interface SfnWorkflowOptions {
  stateMachineArn: string;
  clock: Clock;
  random?: () => number;
  retry?: RetryPolicy;
}

/** `arn:…:stateMachine:NAME` → `arn:…:execution:NAME:EXECUTION`. */
export function executionArnOf(stateMachineArn: string, executionName: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length < 7 || parts[5] !== 'stateMachine') throw new DependencyError(DEPENDENCY, `Not a state machine ARN: ${stateMachineArn}`, false);
  return [...parts.slice(0, 5), 'execution', parts[6], executionName].join(':');
}

export class SfnWorkflowGateway implements WorkflowGateway {
  constructor(
    private readonly client: SFNClient,
    private readonly options: SfnWorkflowOptions,
  ) {}

  async start(requestId: string): Promise<{ executionArn: string }> {
    const input: WorkflowInput = { requestId };
    try {
      const out = await this.retry('StartExecution', () =>
        this.client.send(new StartExecutionCommand({ stateMachineArn: this.options.stateMachineArn, name: requestId, input: JSON.stringify(input) })),
      );
      return { executionArn: out.executionArn ?? executionArnOf(this.options.stateMachineArn, requestId) };
    } catch (e) {
      // The execution for this request already exists (a replayed submit): it is started.
      if (nameOf(e) === 'ExecutionAlreadyExists') return { executionArn: executionArnOf(this.options.stateMachineArn, requestId) };
      throw e;
    }
  }

  async resume(taskToken: string, outcome: WorkflowOutcome): Promise<void> {
    const to = outcome.approved ? 'APPROVED' : outcome.error === 'Denied' ? 'DENIED' : 'CANCELLED';
    try {
      if (outcome.approved) {
        await this.retry('SendTaskSuccess', () => this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ approved: true, approvedBy: outcome.approvedBy }) })));
      } else {
        await this.retry('SendTaskFailure', () =>
          this.client.send(new SendTaskFailureCommand({ taskToken, error: outcome.error, cause: outcome.cause.slice(0, 32_768) })),
        );
      }
    } catch (e) {
      const name = nameOf(e);
      if (name === 'TaskTimedOut' || name === 'TaskDoesNotExist') throw new ApprovalClosedError(name, to);
      if (name === 'InvalidToken') throw new DependencyError(DEPENDENCY, 'The stored approval task token is not valid; the request cannot be resumed and needs an operator.', false);
      throw e;
    }
  }

  private retry<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return withRetry({ clock: this.options.clock, random: this.options.random ?? Math.random, policy: this.options.retry ?? { ...DEFAULT_RETRY, maxAttempts: 4 }, dependency: DEPENDENCY, operation }, call);
  }
}

/** The SDK error's name, also when withRetry has wrapped it in a DependencyError. */
function nameOf(e: unknown): string | undefined {
  const cause = (e as { cause?: unknown } | undefined)?.cause;
  if (e instanceof DependencyError && cause instanceof Error) return cause.name;
  return e instanceof Error ? e.name : undefined;
}
