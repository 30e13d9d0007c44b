/**
 * The one real clock of every process (Lambda functions, the bot, the sandbox, the benchmarks).
 * It is the core Clock port, plus the cancellable timers the AWS stand-ins arm. Tests use the
 * controllable clocks instead (core/memory FakeClock, sandbox/aws ManualClock, the sandbox's
 * OffsetClock for time travel); all of them implement the same core/ports Clock.
 */
import type { Clock } from '../core/ports';

export interface Timer {
  cancel(): void;
}

/** A core Clock that can also arm cancellable timers. */
export interface TimerClock extends Clock {
  /** Calls `callback` once, `delayMs` from now on this clock (negative delays fire as soon as possible). */
  setTimer(delayMs: number, callback: () => void): Timer;
}

/** Node's setTimeout holds at most 2^31-1 ms (about 24.8 days); longer delays are chained. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

export const systemClock: TimerClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
  setTimer(delayMs, callback) {
    const due = Date.now() + Math.max(0, delayMs);
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = () => {
      const remaining = due - Date.now();
      if (remaining > MAX_TIMEOUT_MS) {
        handle = setTimeout(arm, MAX_TIMEOUT_MS);
      } else {
        handle = setTimeout(() => {
          if (!cancelled) callback();
        }, Math.max(0, remaining));
      }
    };
    arm();
    return {
      cancel() {
        cancelled = true;
        if (handle) clearTimeout(handle);
      },
    };
  },
};
