/**
 * The KPI report as `npm run kpi` prints it. The numbers are core's (core/kpi.ts computeKpis, the
 * ONE implementation the weekly digest card and the bot's `kpi` command use too); this file only
 * lays them out for a terminal.
 */
import { formatSeconds, type KpiReport, sloVerdict } from '../core/kpi';

export { computeKpis, formatSeconds, percentile, REVOCATION_LAG_SLO_SECONDS } from '../core/kpi';
export type { Distribution, KpiOptions, KpiReport } from '../core/kpi';

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
  lines.push('Time to decision (approval route, submitted -> approved or denied)');
  lines.push(`  median ${formatSeconds(r.timeToDecision.medianSeconds)}   p90 ${formatSeconds(r.timeToDecision.p90Seconds)}   (${r.timeToDecision.count} decided)`);
  lines.push('Time to approve (approval route, submitted -> approved)');
  lines.push(`  median ${formatSeconds(r.timeToApprove.medianSeconds)}   p90 ${formatSeconds(r.timeToApprove.p90Seconds)}   (${r.timeToApprove.count} approved)`);
  lines.push('');
  lines.push('Outcomes');
  lines.push(`  auto-expired ${r.endedGrants.expired} (${pct(r.endedGrants.expiredShare)})   early-revoked ${r.endedGrants.revokedEarly} (${pct(r.endedGrants.revokedEarlyShare)})`);
  lines.push(`  denials ${r.denials}   timeouts ${r.timeouts}   cancellations ${r.cancellations}   failures ${r.failures}`);
  lines.push(`  break-glass ${r.breakGlass}${r.breakGlass > 0 ? ` (${r.breakGlassUnreviewed} open post-incident reviews)` : ''}`);
  lines.push('');
  const lag = r.revocationLag;
  const verdict = sloVerdict(lag);
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
