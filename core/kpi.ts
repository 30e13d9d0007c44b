/**
 * The KPIs of the access process, computed from the audit trail: ONE implementation, pure (no I/O,
 * no clock, no environment), used by `npm run kpi` (scripts/kpi.ts prints it), the weekly digest
 * card in the on-call channel (lambdas/digest) and the bot's `kpi` command (the bridge's GET /kpis).
 *
 * What is measured, from the audit events core emits (./model.ts AuditEvent):
 * - `request.submitted` (details: permissionSetName, accountId, route) opens a request;
 * - `request.transition` (fromState -> toState) moves it; the first transition to APPROVED
 *   closes the "time to approve", the first to APPROVED or DENIED the "time to decision"; a
 *   transition to EXPIRED / REVOKED / DENIED / TIMED_OUT / CANCELLED / FAILED ends it;
 * - the grant's end (for the revocation lag) is read from the newest `endsAt` (or
 *   `grantEndsAt` / `expiresAt`) found in any event's details, e.g. on the transition to ACTIVE
 *   or on `request.extended`. Without one, it is the ACTIVE transition plus the granted seconds
 *   (`durationSeconds` / `requestedDurationSeconds` / `totalSeconds` in details). A request
 *   whose grant end cannot be known is counted in `revocationLag.unknown`, never guessed.
 * - a break-glass request without a `request.reviewed` event is an open post-incident review.
 */
import type { AuditEvent, RequestState, Route } from './model';

/** Revocation lag SLO: p99 of (EXPIRED transition - grant end) under 60 s. */
export const REVOCATION_LAG_SLO_SECONDS = 60;

export interface KpiOptions {
  /** Only requests submitted at or after this instant (ISO 8601). */
  since?: string;
  /** Only requests submitted before this instant (ISO 8601). */
  until?: string;
  /** How many permission sets to list. Default 5. */
  top?: number;
}

export interface Distribution {
  count: number;
  medianSeconds?: number;
  p90Seconds?: number;
  p99Seconds?: number;
  maxSeconds?: number;
}

export interface KpiReport {
  window: { since?: string; until?: string; firstEventAt?: string; lastEventAt?: string };
  events: number;
  requests: number;
  /** Requests by their last known state. */
  byState: Partial<Record<RequestState, number>>;
  byRoute: Record<Route | 'unknown', number>;
  /** Approval route only: submitted -> APPROVED. Auto-approved and break-glass requests are not waited on. */
  timeToApprove: Distribution;
  /** Approval route only: submitted -> the decision (APPROVED or DENIED), whichever came first. */
  timeToDecision: Distribution;
  /** Grants that ended: EXPIRED at the scheduled end vs REVOKED early. */
  endedGrants: { expired: number; revokedEarly: number; expiredShare?: number; revokedEarlyShare?: number };
  denials: number;
  timeouts: number;
  cancellations: number;
  failures: number;
  breakGlass: number;
  /** Break-glass requests without an acknowledged post-incident review (request.reviewed). */
  breakGlassUnreviewed: number;
  revocationLag: Distribution & { unknown: number; sloSeconds: number; pass?: boolean };
  topPermissionSets: Array<{ name: string; count: number }>;
  /** Events that could not be attributed (no submission seen for their request, e.g. outside the window). */
  orphanEvents: number;
}

interface RequestFacts {
  id: string;
  submittedAt?: number;
  permissionSetName?: string;
  route?: Route;
  state?: RequestState;
  stateAt?: number;
  approvedAt?: number;
  /** First APPROVED or DENIED transition. */
  decidedAt?: number;
  activeAt?: number;
  grantSeconds?: number;
  /** Newest explicit grant end seen (ms) and the time of the event that carried it. */
  endsAt?: { value: number; seenAt: number };
  expiredAt?: number;
  reviewed: boolean;
}

const ROUTES: readonly Route[] = ['approval', 'auto_approve', 'break_glass'];
const END_KEYS = ['endsAt', 'grantEndsAt', 'expiresAt'] as const;
const SECONDS_KEYS = ['totalSeconds', 'durationSeconds', 'requestedDurationSeconds'] as const;

function ms(iso: string | undefined): number | undefined {
  if (typeof iso !== 'string') return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
}

/** Linear interpolation between closest ranks (numpy's default), over seconds. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (rank - lo);
}

function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return { count: 0 };
  return {
    count: sorted.length,
    medianSeconds: percentile(sorted, 50),
    p90Seconds: percentile(sorted, 90),
    p99Seconds: percentile(sorted, 99),
    maxSeconds: sorted[sorted.length - 1],
  };
}

/** Order of events within a request: by time, then by eventId (deterministic per sequence). */
function byTime(a: AuditEvent, b: AuditEvent): number {
  const d = (ms(a.at) ?? 0) - (ms(b.at) ?? 0);
  return d !== 0 ? d : a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}

export function computeKpis(events: readonly AuditEvent[], options: KpiOptions = {}): KpiReport {
  // Replays reach the sink at least once; the eventId is deterministic, so keep one of each.
  const unique = new Map<string, AuditEvent>();
  for (const e of events) if (!unique.has(e.eventId)) unique.set(e.eventId, e);
  const sorted = [...unique.values()].sort(byTime);

  const facts = new Map<string, RequestFacts>();
  const fact = (id: string) => {
    let f = facts.get(id);
    if (!f) facts.set(id, (f = { id, reviewed: false }));
    return f;
  };

  for (const e of sorted) {
    const at = ms(e.at);
    if (at === undefined) continue;
    const f = fact(e.requestId);
    const d = e.details ?? {};
    if (e.action === 'request.submitted') {
      f.submittedAt ??= at;
      if (typeof d.permissionSetName === 'string') f.permissionSetName = d.permissionSetName;
      if (typeof d.route === 'string' && (ROUTES as readonly string[]).includes(d.route)) f.route = d.route as Route;
    }
    if (e.action === 'request.transition' && e.toState) {
      f.state = e.toState;
      f.stateAt = at;
      if (e.toState === 'APPROVED') f.approvedAt ??= at;
      if (e.toState === 'APPROVED' || e.toState === 'DENIED') f.decidedAt ??= at;
      if (e.toState === 'ACTIVE') f.activeAt ??= at;
      if (e.toState === 'EXPIRED') f.expiredAt ??= at;
    }
    if (e.action === 'request.reviewed') f.reviewed = true;
    for (const key of END_KEYS) {
      const end = ms(typeof d[key] === 'string' ? (d[key] as string) : undefined);
      if (end !== undefined && (!f.endsAt || at >= f.endsAt.seenAt)) f.endsAt = { value: end, seenAt: at };
    }
    for (const key of SECONDS_KEYS) {
      const s = d[key];
      if (typeof s === 'number' && Number.isFinite(s) && s > 0) {
        // totalSeconds (extensions included) wins over the requested duration.
        if (key === 'totalSeconds' || f.grantSeconds === undefined) f.grantSeconds = s;
        break;
      }
    }
  }

  const since = ms(options.since);
  const until = ms(options.until);
  const inWindow = (f: RequestFacts) =>
    f.submittedAt !== undefined && (since === undefined || f.submittedAt >= since) && (until === undefined || f.submittedAt < until);
  const requests = [...facts.values()].filter(inWindow);
  const counted = new Set(requests.map((r) => r.id));
  const orphanEvents = sorted.filter((e) => !facts.get(e.requestId)?.submittedAt).length;

  const byState: Partial<Record<RequestState, number>> = {};
  const byRoute: Record<Route | 'unknown', number> = { approval: 0, auto_approve: 0, break_glass: 0, unknown: 0 };
  const approveSeconds: number[] = [];
  const decisionSeconds: number[] = [];
  const lagSeconds: number[] = [];
  let lagUnknown = 0;
  const permissionSets = new Map<string, number>();

  for (const r of requests) {
    const state = r.state ?? 'PENDING_APPROVAL';
    byState[state] = (byState[state] ?? 0) + 1;
    byRoute[r.route ?? 'unknown'] += 1;
    if (r.approvedAt !== undefined && r.submittedAt !== undefined && (r.route ?? 'approval') === 'approval') {
      approveSeconds.push(Math.max(0, (r.approvedAt - r.submittedAt) / 1000));
    }
    if (r.decidedAt !== undefined && r.submittedAt !== undefined && (r.route ?? 'approval') === 'approval') {
      decisionSeconds.push(Math.max(0, (r.decidedAt - r.submittedAt) / 1000));
    }
    if (r.expiredAt !== undefined) {
      const end = r.endsAt?.value ?? (r.activeAt !== undefined && r.grantSeconds !== undefined ? r.activeAt + r.grantSeconds * 1000 : undefined);
      if (end === undefined) lagUnknown += 1;
      // Expiring before the scheduled end would be a bug elsewhere, not negative lag.
      else lagSeconds.push(Math.max(0, (r.expiredAt - end) / 1000));
    }
    const ps = r.permissionSetName ?? '(unknown)';
    permissionSets.set(ps, (permissionSets.get(ps) ?? 0) + 1);
  }

  const expired = byState.EXPIRED ?? 0;
  const revokedEarly = byState.REVOKED ?? 0;
  const ended = expired + revokedEarly;
  const lag = distribution(lagSeconds);
  const top = options.top ?? 5;
  const inWindowEvents = sorted.filter((e) => counted.has(e.requestId));
  const breakGlass = requests.filter((r) => r.route === 'break_glass');

  return {
    window: {
      since: options.since,
      until: options.until,
      firstEventAt: inWindowEvents[0]?.at,
      lastEventAt: inWindowEvents[inWindowEvents.length - 1]?.at,
    },
    events: inWindowEvents.length,
    requests: requests.length,
    byState,
    byRoute,
    timeToApprove: distribution(approveSeconds),
    timeToDecision: distribution(decisionSeconds),
    endedGrants: {
      expired,
      revokedEarly,
      expiredShare: ended > 0 ? expired / ended : undefined,
      revokedEarlyShare: ended > 0 ? revokedEarly / ended : undefined,
    },
    denials: byState.DENIED ?? 0,
    timeouts: byState.TIMED_OUT ?? 0,
    cancellations: byState.CANCELLED ?? 0,
    failures: byState.FAILED ?? 0,
    breakGlass: breakGlass.length,
    breakGlassUnreviewed: breakGlass.filter((r) => !r.reviewed).length,
    revocationLag: {
      ...lag,
      unknown: lagUnknown,
      sloSeconds: REVOCATION_LAG_SLO_SECONDS,
      pass: lag.p99Seconds === undefined ? undefined : lag.p99Seconds < REVOCATION_LAG_SLO_SECONDS,
    },
    topPermissionSets: [...permissionSets.entries()]
      .map(([name, count]) => ({ name, count }))
      .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name))
      .slice(0, Math.max(0, top)),
    orphanEvents,
  };
}

/** Seconds as an operator reads them: the CLI and the cards print every duration through this. */
export function formatSeconds(s: number | undefined): string {
  if (s === undefined) return 'n/a';
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** The revocation lag verdict against its SLO, as the CLI and the cards print it. */
export function sloVerdict(lag: KpiReport['revocationLag']): 'PASS' | 'FAIL' | 'NO DATA' {
  return lag.pass === undefined ? 'NO DATA' : lag.pass ? 'PASS' : 'FAIL';
}

/** Outcome buckets of the requests in a report, in a fixed order (zero rows included). */
export const OUTCOMES = [
  { key: 'pending', label: 'Pending', states: ['PENDING_APPROVAL'] },
  { key: 'active', label: 'Approved / active', states: ['APPROVED', 'GRANTING', 'ACTIVE', 'REVOKING'] },
  { key: 'expired', label: 'Expired', states: ['EXPIRED'] },
  { key: 'revoked', label: 'Revoked early', states: ['REVOKED'] },
  { key: 'denied', label: 'Denied', states: ['DENIED'] },
  { key: 'timedOut', label: 'Timed out', states: ['TIMED_OUT'] },
  { key: 'cancelled', label: 'Cancelled', states: ['CANCELLED'] },
  { key: 'failed', label: 'Failed', states: ['FAILED'] },
] as const satisfies ReadonlyArray<{ key: string; label: string; states: readonly RequestState[] }>;

/** Requests by outcome (every state falls in exactly one bucket; the buckets sum to `requests`). */
export function outcomeCounts(report: Pick<KpiReport, 'byState'>): Array<{ key: (typeof OUTCOMES)[number]['key']; label: string; count: number }> {
  return OUTCOMES.map((o) => ({ key: o.key, label: o.label, count: o.states.reduce((n, s) => n + (report.byState[s] ?? 0), 0) }));
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The ISO 8601 week (UTC) of an instant, as `2026-W48`. */
export function isoWeekId(epochMs: number): string {
  const d = new Date(epochMs);
  const day = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  // Thursday of the same week decides the year (ISO 8601).
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / DAY_MS + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export const DIGEST_DAYS = 7;

/**
 * The period a weekly digest covers: the DIGEST_DAYS days before `untilMs` (the schedule's
 * scheduled time, identical on every retry of one firing). `weekId`, the ISO week the period
 * starts in, names the digest: one digest per week, whatever replays.
 */
export function digestPeriod(untilMs: number, days: number = DIGEST_DAYS): { since: string; until: string; weekId: string } {
  if (!Number.isFinite(untilMs)) throw new RangeError('digestPeriod: the end of the period is not a time');
  const sinceMs = untilMs - days * DAY_MS;
  return { since: new Date(sinceMs).toISOString(), until: new Date(untilMs).toISOString(), weekId: isoWeekId(sinceMs) };
}
