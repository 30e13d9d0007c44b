/**
 * Expiry as an EventBridge Scheduler one-time schedule per request: `at(expiry)` in UTC, named
 * after the request id, invoking the revoke function with `{requestId, source: 'schedule'}`,
 * deleted by the Scheduler after it ran, with a target retry policy and a dead-letter queue.
 * Scheduling again (an extension) updates the existing schedule; cancelling a missing one is fine.
 */
import { createHash } from 'node:crypto';
import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { ValidationError } from '../../core/errors';
import type { Clock, ExpiryScheduler } from '../../core/ports';
import type { RevokePayload } from '../../contract/workflow';
import { DEFAULT_RETRY, isTransientAwsError as isTransient, type RetryPolicy, withRetry } from './retry';

const DEPENDENCY = 'EventBridge Scheduler';
const NAME_MAX = 64;

export interface ScheduleTargetRetry {
  maximumRetryAttempts: number;
  maximumEventAgeInSeconds: number;
}

export interface SchedulerExpiryOptions {
  groupName: string;
  /** The revoke function. */
  targetArn: string;
  /** The role the Scheduler assumes to invoke the target and write the dead-letter queue. */
  roleArn: string;
  deadLetterArn: string;
  clock: Clock;
  random?: () => number;
  retry?: RetryPolicy;
  /** Revocation must not be lost: the Scheduler's maximums (185 attempts within 24 h) by default. */
  targetRetry?: ScheduleTargetRetry;
}

/** Schedule names allow `[0-9a-zA-Z-_.]{1,64}`; other characters become `-`, and a shortened name keeps a hash of the original. */
export function scheduleName(requestId: string): string {
  const cleaned = requestId.replace(/[^0-9a-zA-Z\-_.]/g, '-');
  if (cleaned === requestId && cleaned.length > 0 && cleaned.length <= NAME_MAX) return cleaned;
  const hash = createHash('sha256').update(requestId).digest('hex').slice(0, 12);
  return `${cleaned.slice(0, NAME_MAX - hash.length - 1)}-${hash}`;
}

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC, rounded UP to the second so expiry never fires early. */
export function atExpression(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new ValidationError(`Invalid expiry time ${JSON.stringify(iso)}.`, [{ path: 'at', message: 'must be an ISO 8601 time' }]);
  const seconds = new Date(Math.ceil(ms / 1000) * 1000).toISOString().slice(0, 19);
  return `at(${seconds})`;
}

export class SchedulerExpiry implements ExpiryScheduler {
  private readonly random: () => number;

  constructor(
    private readonly client: SchedulerClient,
    private readonly options: SchedulerExpiryOptions,
  ) {
    this.random = options.random ?? Math.random;
  }

  async scheduleExpiry(requestId: string, at: string): Promise<void> {
    const input = this.scheduleInput(requestId, at);
    try {
      await this.retry('CreateSchedule', () => this.client.send(new CreateScheduleCommand(input)));
    } catch (e) {
      if (!(causeOf(e) instanceof ConflictException)) throw e;
      // It exists (an extension, or a retry after a lost response): move it to the new time.
      await this.retry('UpdateSchedule', () => this.client.send(new UpdateScheduleCommand(input)));
    }
  }

  async cancelExpiry(requestId: string): Promise<void> {
    try {
      await this.retry('DeleteSchedule', () => this.client.send(new DeleteScheduleCommand({ Name: scheduleName(requestId), GroupName: this.options.groupName })));
    } catch (e) {
      if (causeOf(e) instanceof ResourceNotFoundException) return;
      throw e;
    }
  }

  private scheduleInput(requestId: string, at: string): CreateScheduleCommandInput {
    const name = scheduleName(requestId);
    const expression = atExpression(at);
    const payload: RevokePayload = { requestId, source: 'schedule' };
    const targetRetry = this.options.targetRetry ?? { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86_400 };
    return {
      Name: name,
      GroupName: this.options.groupName,
      ScheduleExpression: expression,
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      Description: `Revokes the access granted by ${requestId} at its expiry`.slice(0, 512),
      // Deterministic per (schedule, time): a retried call is recognized, a new time is a new request.
      ClientToken: createHash('sha256').update(`${name}|${expression}`).digest('base64url'),
      Target: {
        Arn: this.options.targetArn,
        RoleArn: this.options.roleArn,
        Input: JSON.stringify(payload),
        RetryPolicy: { MaximumRetryAttempts: targetRetry.maximumRetryAttempts, MaximumEventAgeInSeconds: targetRetry.maximumEventAgeInSeconds },
        DeadLetterConfig: { Arn: this.options.deadLetterArn },
      },
    };
  }

  private retry<T>(operation: string, call: () => Promise<T>): Promise<T> {
    // ConflictException is an answer here (the schedule exists), not contention: never retried.
    return withRetry(
      { clock: this.options.clock, random: this.random, policy: this.options.retry ?? { ...DEFAULT_RETRY, maxAttempts: 4 }, dependency: DEPENDENCY, operation, isRetryable: (e) => !(e instanceof ConflictException) && !(e instanceof ResourceNotFoundException) && isTransient(e) },
      call,
    );
  }
}

function causeOf(e: unknown): unknown {
  return (e as { cause?: unknown } | undefined)?.cause ?? e;
}

