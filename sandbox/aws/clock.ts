/**
 * Time for the AWS stand-ins. The sandbox runs on the system clock (runtime/clock.ts) with real
 * timers; tests and benchmarks inject a ManualClock so that asynchronous assignment status, token buckets and
 * schedules can be driven without waiting on the wall clock.
 */
import { MAX_TIMEOUT_MS, systemClock, type Timer, type TimerClock } from '../../runtime/clock';

export { systemClock, type Timer };
/** A core Clock that can also arm cancellable timers (the AWS stand-ins' clock). */
export type SandboxClock = TimerClock;
/** Re-exported for the sandbox's own clocks (they chain long delays the same way). */
export { MAX_TIMEOUT_MS };

interface PendingTimer {
  id: number;
  due: number;
  callback: () => void;
}

/**
 * A clock that only moves when told to. `advance(ms)` runs every timer that falls due, in due
 * order, and lets the microtasks they schedule settle between timers (so a promise chain started
 * by one timer can arm the next one within the same advance).
 */
export class ManualClock implements SandboxClock {
  private current: number;
  private readonly timers: PendingTimer[] = [];
  private nextId = 1;

  constructor(start = Date.UTC(2030, 0, 1, 9, 0, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const timer: PendingTimer = { id: this.nextId++, due: this.current + Math.max(0, delayMs), callback };
    this.timers.push(timer);
    return {
      cancel: () => {
        const index = this.timers.indexOf(timer);
        if (index >= 0) this.timers.splice(index, 1);
      },
    };
  }

  /** Number of timers armed and not yet fired. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await settleMicrotasks();
      const next = this.timers.filter((t) => t.due <= target).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.current = Math.max(this.current, next.due);
      next.callback();
    }
    this.current = target;
    await settleMicrotasks();
  }

  /** Moves the clock without firing anything (a process that was asleep, or a restart later). */
  jump(ms: number): void {
    this.current += ms;
  }
}

async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
