/**
 * Grant windows and the reference counting of assignments. Pure functions over plain data; the
 * services apply them with compare-and-swap writes.
 */
import { LimitExceededError, IllegalTransitionError } from './errors';
import type { AccessRequest, GrantWindow, LedgerEntry } from './model';
import { humanDuration, iso, ms } from './time';

export function openWindow(startMs: number, durationSeconds: number): GrantWindow {
  return { startsAt: iso(startMs), endsAt: iso(startMs + durationSeconds * 1000), totalSeconds: durationSeconds, extensions: 0 };
}

/** The ceiling on the whole grant, extensions included: break-glass grants have their own, shorter one. */
export function totalLimitSeconds(request: Pick<AccessRequest, 'route' | 'terms'>): number {
  return request.route === 'break_glass'
    ? Math.min(request.terms.breakGlassMaxDurationSeconds, request.terms.maxTotalDurationSeconds)
    : request.terms.maxTotalDurationSeconds;
}

/** Extends a live window; the total including every extension stays within the policy's maximum. */
export function extendWindow(window: GrantWindow, additionalSeconds: number, limitSeconds: number, nowMs: number): GrantWindow {
  if (!Number.isInteger(additionalSeconds) || additionalSeconds <= 0) {
    throw new LimitExceededError('An extension must be a positive whole number of minutes.');
  }
  if (ms(window.endsAt) <= nowMs) throw new IllegalTransitionError('EXPIRED', 'ACTIVE', 'This grant has already ended and cannot be extended.');
  const total = window.totalSeconds + additionalSeconds;
  if (total > limitSeconds) {
    const left = Math.max(0, limitSeconds - window.totalSeconds);
    throw new LimitExceededError(
      left < 60
        ? `This grant already has its maximum total duration of ${humanDuration(limitSeconds)}. Submit a new request if you need more.`
        : `Policy allows at most ${humanDuration(limitSeconds)} in total; you can extend by up to ${humanDuration(left)}.`,
    );
  }
  return { startsAt: window.startsAt, endsAt: iso(ms(window.endsAt) + additionalSeconds * 1000), totalSeconds: total, extensions: window.extensions + 1 };
}

export function remainingSeconds(window: GrantWindow, nowMs: number): number {
  return Math.max(0, Math.floor((ms(window.endsAt) - nowMs) / 1000));
}

/** Adds a grant to an entry. Ownership is decided by the caller from whether the assignment was live. */
export function acquire(entry: LedgerEntry, requestId: string): LedgerEntry {
  if (entry.activeGrantIds.includes(requestId)) return entry;
  return { ...entry, activeGrantIds: [...entry.activeGrantIds, requestId] };
}

export interface Release {
  entry: LedgerEntry;
  /** True only when this was the last active grant of an assignment we created: delete it. */
  mustDelete: boolean;
}

export function release(entry: LedgerEntry, requestId: string): Release {
  const activeGrantIds = entry.activeGrantIds.filter((id) => id !== requestId);
  const mustDelete = activeGrantIds.length === 0 && entry.ownership === 'OURS';
  return { entry: { ...entry, activeGrantIds, deleting: mustDelete || undefined }, mustDelete };
}

/** When the expiring-soon notice is due: 10 minutes before the end, or a quarter of a short grant. */
export function expiringSoonLeadSeconds(window: GrantWindow): number {
  return Math.min(600, Math.max(30, Math.floor(window.totalSeconds / 4)));
}
