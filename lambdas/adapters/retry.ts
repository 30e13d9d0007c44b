/**
 * Retries for AWS calls: exponential backoff with full jitter on the injected Clock (so tests
 * never wait on the wall clock), a bounded number of attempts, then a DependencyError that says
 * whether the caller may try again later. Errors that retrying cannot fix are not retried.
 */
import { DependencyError, isDomainError } from '../../core/errors';
import type { Clock } from '../../core/ports';

export interface RetryPolicy {
  /** Total attempts, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 5_000 };

/** Error names AWS services use for "slow down" or "try again": worth another attempt. */
const RETRYABLE_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'ProvisionedThroughputExceededException',
  'ConflictException',
  'TransactionConflictException',
  'InternalServerException',
  'InternalServerError',
  'InternalFailure',
  'InternalException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

export function errorName(e: unknown): string {
  return e instanceof Error ? e.name : typeof e;
}

export function httpStatusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** Throttling, conflicts, 5xx and network failures are transient; validation and access errors are not. */
export function isTransientAwsError(e: unknown): boolean {
  if (!(e instanceof Error) || isDomainError(e)) return false;
  if (RETRYABLE_NAMES.has(e.name)) return true;
  const status = httpStatusOf(e);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

/** The full-jitter backoff before retry number `retry` (0-based): uniform in [0, min(max, base * 2^retry)). */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

export function dependencyError(dependency: string, operation: string, e: unknown, retryable: boolean): DependencyError {
  const detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const err = new DependencyError(dependency, `${dependency} ${operation} failed: ${detail}`, retryable);
  (err as { cause?: unknown }).cause = e;
  return err;
}

export interface RetryContext {
  clock: Clock;
  random: () => number;
  policy?: RetryPolicy;
  dependency: string;
  operation: string;
  /** Decides what is retried; defaults to isTransientAwsError. */
  isRetryable?: (e: unknown) => boolean;
  /** Called before each retry (metrics, logs, tests). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

/**
 * Runs `call` until it succeeds, fails with a non-retryable error (rethrown as it is when it is a
 * domain error, else wrapped in a non-retryable DependencyError), or runs out of attempts
 * (a retryable DependencyError).
 */
export async function withRetry<T>(ctx: RetryContext, call: (attempt: number) => Promise<T>): Promise<T> {
  const policy = ctx.policy ?? DEFAULT_RETRY;
  const retryable = ctx.isRetryable ?? isTransientAwsError;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt);
    } catch (e) {
      if (isDomainError(e)) throw e;
      if (!retryable(e)) throw dependencyError(ctx.dependency, ctx.operation, e, false);
      if (attempt >= policy.maxAttempts) {
        const err = dependencyError(ctx.dependency, ctx.operation, e, true);
        err.message = `${err.message} (gave up after ${attempt} attempts)`;
        throw err;
      }
      const delayMs = backoffDelay(policy, attempt - 1, ctx.random);
      ctx.onRetry?.({ attempt, delayMs, error: e });
      await ctx.clock.sleep(delayMs);
    }
  }
}
