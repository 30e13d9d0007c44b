/**
 * The sandbox's one clock: wall-clock time plus an offset that only grows. Every part of the
 * sandbox (AWS stand-ins, core services, bot) reads it, so "time travel" is consistent: after
 * `advance(2 min)` a two-minute grant is past its end for the core, the Scheduler stand-in's timer
 * for its expiry falls due at once, and the bot's notify signature window agrees with the sender.
 * The demo and the e2e suite use it to see expiry without waiting.
 */
import { MAX_TIMEOUT_MS, type SandboxClock, type Timer } from '../aws/clock';

interface Armed {
  due: number;
  callback: () => void;
  handle?: NodeJS.Timeout;
  done: boolean;
}

export class OffsetClock implements SandboxClock {
  private offsetMs = 0;
  private readonly armed = new Set<Armed>();

  constructor(private readonly wall: () => number = () => Date.now()) {}

  now(): number {
    return this.wall() + this.offsetMs;
  }

  /** Real waiting: back-off and polling must not be skipped by time travel. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const timer: Armed = { due: this.now() + Math.max(0, delayMs), callback, done: false };
    this.armed.add(timer);
    this.arm(timer);
    return {
      cancel: () => {
        timer.done = true;
        if (timer.handle) clearTimeout(timer.handle);
        this.armed.delete(timer);
      },
    };
  }

  /** How far ahead of the wall clock this clock runs. */
  get offset(): number {
    return this.offsetMs;
  }

  /** Moves time forward by `ms` (never back); timers that fall due fire now, in due order. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('The sandbox clock only moves forward.');
    this.offsetMs += ms;
    const timers = [...this.armed].sort((a, b) => a.due - b.due);
    for (const t of timers) {
      if (t.handle) clearTimeout(t.handle);
      this.arm(t);
    }
  }

  /** Cancels every timer (stop). */
  cancelAll(): void {
    for (const t of this.armed) {
      t.done = true;
      if (t.handle) clearTimeout(t.handle);
    }
    this.armed.clear();
  }

  private arm(timer: Armed): void {
    const remaining = timer.due - this.now();
    timer.handle = setTimeout(
      () => {
        if (timer.done) return;
        if (timer.due - this.now() > 0) return this.arm(timer);
        timer.done = true;
        this.armed.delete(timer);
        timer.callback();
      },
      Math.min(MAX_TIMEOUT_MS, Math.max(0, remaining)),
    );
  }
}
