/**
 * The notice dispatch in AWS: an asynchronous invoke of the notify function with just the request
 * id ({action: 'flush_notices', requestId}); the notify function flushes that request's notice
 * outbox (core/services/context.ts flushNotices).
 *
 * Why an asynchronous invoke: a Lambda function's execution environment is frozen once its handler
 * returns, so "after the response" does not exist inside the bridge: work left running there may
 * never finish. With InvocationType Event, Lambda queues the event and answers 202 at once; it then
 * runs the function, retries it twice when it throws, and sends an event that still failed (or got
 * too old) to the on-failure destination (infra: the stack's dead-letter queue). Reconcile is the
 * backstop for an ask that was never accepted. ("Invoke", Lambda API reference:
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html; "How Lambda handles errors and
 * retries with asynchronous invocation": https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html)
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { FlushNoticesPayload } from '../../contract/workflow';
import { DependencyError } from '../../core/errors';
import type { Clock, NoticeDispatch } from '../../core/ports';
import { type RetryPolicy, withRetry } from './retry';

const DEPENDENCY = 'Lambda';

export interface LambdaNoticeDispatchOptions {
  /** The notify function's ARN (config noticeFunctionArn). */
  functionArn: string;
  clock: Clock;
  random?: () => number;
  retry?: RetryPolicy;
}

/** A throttled ask is tried again briefly; the caller's answer is not held up for long (reconcile remains). */
const DISPATCH_RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200 };

export class LambdaNoticeDispatch implements NoticeDispatch {
  constructor(
    private readonly client: LambdaClient,
    private readonly options: LambdaNoticeDispatchOptions,
  ) {}

  async dispatch(requestId: string): Promise<void> {
    const payload: FlushNoticesPayload = { action: 'flush_notices', requestId };
    const out = await withRetry(
      { clock: this.options.clock, random: this.options.random ?? Math.random, policy: this.options.retry ?? DISPATCH_RETRY, dependency: DEPENDENCY, operation: 'Invoke' },
      () => this.client.send(new InvokeCommand({ FunctionName: this.options.functionArn, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(payload)) })),
    );
    // An accepted asynchronous invoke answers 202 (Accepted); anything else did not queue the event.
    if (out.StatusCode !== 202) throw new DependencyError(DEPENDENCY, `The notice flush for ${requestId} was not queued (status ${out.StatusCode ?? 'none'}).`, true);
  }
}
