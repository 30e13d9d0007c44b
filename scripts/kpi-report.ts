/**
 * The KPI report over the audit trail: pure functions (no I/O, no clock) so that the numbers an
 * operator reads are unit-tested. `scripts/kpi.ts` reads the events and prints what these return.
 *
 * What is measured, from the audit events core emits (core/model.ts AuditEvent):
 * - `request.submitted` (details: permissionSetName, accountId, route) opens a request;
 * - `request.transition` (fromState -> toState) moves it; the first transition to APPROVED
 *   closes the "time to approve", a transition to EXPIRED / REVOKED / DENIED / TIMED_OUT /
 *   CANCELLED / FAILED ends it;
 * - the grant's end (for the revocation lag) is read from the newest `endsAt` (or
 *   `grantEndsAt` / `expiresAt`) found in any event's details, e.g. on the transition to ACTIVE
 *   or on `request.extended`. Without one, it is the ACTIVE transition plus the granted seconds
 *   (`durationSeconds` / `requestedDurationSeconds` / `totalSeconds` in details). A request
 *   whose grant end cannot be known is counted in `revocationLag.unknown`, never guessed.
 */
import type { AuditEvent, RequestState, Route } from '../core/model';

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

/** A horizontal bar chart in plain ASCII (works in any terminal and in CI logs). */
export function barChart(rows: ReadonlyArray<{ label: string; value: number }>, width = 40): string[] {
  const max = Math.max(0, ...rows.map((r) => r.value));
  const labelWidth = Math.max(0, ...rows.map((r) => r.label.length));
  return rows.map((r) => {
    const len = max > 0 ? Math.round((r.value / max) * width) : 0;
    // A non-zero value always shows at least one mark.
    const bar = '#'.repeat(r.value > 0 ? Math.max(1, len) : 0);
    return `${r.label.padEnd(labelWidth)} | ${bar}${bar ? ' ' : ''}${r.value}`;
  });
}

export function formatSeconds(s: number | undefined): string {
  if (s === undefined) return 'n/a';
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

const pct = (x: number | undefined) => (x === undefined ? 'n/a' : `${(x * 100).toFixed(0)}%`);

/** The report as the operator reads it. */
export function formatReport(r: KpiReport, title = 'Teams JIT Access: KPIs'): string {
  const lines: string[] = [];
  lines.push(title);
  lines.push('='.repeat(title.length));
  const from = r.window.since ?? r.window.firstEventAt ?? 'n/a';
  const to = r.window.until ?? r.window.lastEventAt ?? 'n/a';
  lines.push(`Window: ${from} .. ${to}   requests: ${r.requests}   audit events: ${r.events}`);
  lines.push('');
  lines.push('Time to approve (approval route, submitted -> approved)');
  lines.push(`  median ${formatSeconds(r.timeToApprove.medianSeconds)}   p90 ${formatSeconds(r.timeToApprove.p90Seconds)}   (${r.timeToApprove.count} approved)`);
  lines.push('');
  lines.push('Outcomes');
  lines.push(`  auto-expired ${r.endedGrants.expired} (${pct(r.endedGrants.expiredShare)})   early-revoked ${r.endedGrants.revokedEarly} (${pct(r.endedGrants.revokedEarlyShare)})`);
  lines.push(`  denials ${r.denials}   timeouts ${r.timeouts}   cancellations ${r.cancellations}   failures ${r.failures}`);
  lines.push(`  break-glass ${r.breakGlass}${r.breakGlass > 0 ? ` (${r.breakGlassUnreviewed} without an acknowledged review)` : ''}`);
  lines.push('');
  const lag = r.revocationLag;
  const verdict = lag.pass === undefined ? 'NO DATA' : lag.pass ? 'PASS' : 'FAIL';
  lines.push(`Revocation lag SLO (p99 < ${lag.sloSeconds} s): ${verdict}`);
  lines.push(`  p99 ${formatSeconds(lag.p99Seconds)}   median ${formatSeconds(lag.medianSeconds)}   max ${formatSeconds(lag.maxSeconds)}   (${lag.count} expiries${lag.unknown > 0 ? `, ${lag.unknown} without a known grant end` : ''})`);
  lines.push('');
  const states = Object.entries(r.byState).sort((a, b) => b[1] - a[1]);
  if (states.length > 0) {
    lines.push('Requests by final state');
    for (const l of barChart(states.map(([label, value]) => ({ label, value })))) lines.push(`  ${l}`);
    lines.push('');
  }
  if (r.topPermissionSets.length > 0) {
    lines.push('Top requested permission sets');
    for (const l of barChart(r.topPermissionSets.map((p) => ({ label: p.name, value: p.count })))) lines.push(`  ${l}`);
    lines.push('');
  }
  if (r.orphanEvents > 0) lines.push(`(${r.orphanEvents} audit events belong to requests whose submission is not in the data; they are not counted.)`);
  return lines.join('\n').trimEnd() + '\n';
}
