/**
 * Lambda's asynchronous invoke (InvocationType Event), for the one function the backend invokes
 * that way: the notify function's notice flush (lambdas/adapters/lambda-notices.ts in AWS). It
 * keeps the rules the product relies on:
 * - the caller gets its answer when the event is queued, never after the function ran: the event
 *   runs on a later turn of the event loop, so the caller's answer cannot wait on the bot;
 * - the payload is JSON of at most 1 MB, and what the function gets is a copy (no shared objects);
 * - a function that throws is retried twice, one minute and then two minutes later; an event that
 *   still fails is dropped to the on-failure destination (here: a log line), and reconcile flushes
 *   what it left behind.
 * Sources: "Invoke" (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html), "How Lambda
 * handles errors and retries with asynchronous invocation"
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), "Lambda
 * quotas" (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
 */
import type { FlushNoticesPayload } from '../../contract/workflow';
import { DependencyError } from '../../core/errors';
import type { NoticeDispatch } from '../../core/ports';

/** Asynchronous invocation payload quota. */
export const ASYNC_PAYLOAD_MAX_BYTES = 1024 * 1024;
/** Lambda's two retries of a failed asynchronous event: about one minute, then two. */
export const ASYNC_RETRY_DELAYS_MS: readonly number[] = [60_000, 120_000];

type Target = (payload: FlushNoticesPayload) => Promise<unknown>;

export class LocalAsyncInvoke implements NoticeDispatch {
  private target: Target | undefined;
  private readonly running = new Set<Promise<void>>();
  private readonly timers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private stopped = false;
  /** Events that ran out of retries (Lambda's on-failure destination). */
  readonly failed: FlushNoticesPayload[] = [];

  constructor(
    private readonly log: (line: string) => void,
    private readonly retryDelaysMs: readonly number[] = ASYNC_RETRY_DELAYS_MS,
  ) {}

  /** The notify function, once it exists (the backend is composed before the functions). */
  bind(target: Target): void {
    this.target = target;
  }

  async dispatch(requestId: string): Promise<void> {
    const target = this.target;
    // ResourceNotFoundException in AWS: a function that does not exist takes no event.
    if (!target || this.stopped) throw new DependencyError('Lambda', 'The notify function is not registered: the event was not queued.', false);
    const raw = JSON.stringify({ action: 'flush_notices', requestId } satisfies FlushNoticesPayload);
    if (Buffer.byteLength(raw, 'utf8') > ASYNC_PAYLOAD_MAX_BYTES) throw new DependencyError('Lambda', `The event is larger than ${ASYNC_PAYLOAD_MAX_BYTES} bytes (RequestEntityTooLargeException).`, false);
    const run = this.run(target, raw);
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Resolves when every queued event has run, retries included (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /**
   * Pending retries are abandoned, as a deleted function's would be; a flush already running is
   * awaited, so that nothing writes to the sandbox's stores after the sandbox has stopped.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) {
      clearTimeout(t.timer);
      t.wake();
    }
    this.timers.clear();
    await this.idle();
  }

  private async run(target: Target, raw: string): Promise<void> {
    // Queued: the function runs after Invoke answered, never in the caller's turn.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (let attempt = 0; !this.stopped; attempt++) {
      const payload = JSON.parse(raw) as FlushNoticesPayload;
      try {
        await target(payload);
        return;
      } catch (e) {
        const delay = this.retryDelaysMs[attempt];
        if (delay === undefined) {
          this.failed.push(payload);
          this.log(`[sandbox] the notice flush of ${payload.requestId} failed after ${attempt + 1} attempts (on-failure destination; reconcile flushes it): ${(e as Error).message}`);
          return;
        }
        await this.sleep(delay);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.timers.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      entry.timer.unref();
      this.timers.add(entry);
    });
  }
}
