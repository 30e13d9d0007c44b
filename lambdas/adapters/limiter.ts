/**
 * Client-side pacing for IAM Identity Center, which allows about 20 TPS per account and 10
 * outstanding assignment writes. One limiter is shared by every gateway of a process (built
 * once per cold start), so concurrent work in one function stays under both limits instead of
 * discovering them as ThrottlingException.
 */
import type { Clock } from '../../core/ports';

/** A token bucket on the injected clock. Waiters are served in arrival order. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly clock: Clock,
    readonly ratePerSecond: number,
    readonly burst: number,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Resolves once a token has been taken. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.takeNow());
    // A failed wait must not poison the queue for later callers.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000);
  }

  private async takeNow(): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.clock.sleep(Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
    }
  }
}

/** A counting semaphore; `run` holds one permit for the duration of `task`. */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  /** The most permits ever held at once (for tests and metrics). */
  maxObserved = 0;

  constructor(readonly permits: number) {}

  get inUse(): number {
    return this.active;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.permits) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    this.maxObserved = Math.max(this.maxObserved, this.active);
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // Hand the permit straight to the next waiter so a newcomer cannot overtake it.
      if (next) next();
      else this.active--;
    }
  }
}

export interface IdentityCenterLimits {
  ratePerSecond: number;
  burst: number;
  maxOutstandingWrites: number;
}

export const IDENTITY_CENTER_LIMITS: IdentityCenterLimits = { ratePerSecond: 20, burst: 20, maxOutstandingWrites: 10 };

export class IdentityCenterLimiter {
  readonly bucket: TokenBucket;
  readonly writes: Semaphore;

  constructor(clock: Clock, limits: IdentityCenterLimits = IDENTITY_CENTER_LIMITS) {
    this.bucket = new TokenBucket(clock, limits.ratePerSecond, limits.burst);
    this.writes = new Semaphore(limits.maxOutstandingWrites);
  }

  /** One API call (any operation): takes a token first. */
  async call<T>(task: () => Promise<T>): Promise<T> {
    await this.bucket.take();
    return task();
  }

  /** One assignment write: holds a write slot, then takes a token. */
  write<T>(task: () => Promise<T>): Promise<T> {
    return this.writes.run(async () => {
      await this.bucket.take();
      return task();
    });
  }
}
