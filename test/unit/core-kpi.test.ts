import { strict as assert } from 'node:assert';
import { DependencyError, NotApproverError } from '../../core/errors';
import { computeKpis, digestPeriod, formatSeconds, isoWeekId, outcomeCounts, REVOCATION_LAG_SLO_SECONDS } from '../../core/kpi';
import { FakeClock } from '../../core/memory';
import { kpiReport, weeklyKpiDigest } from '../../core/services';
import { actor, world } from '../support/core-world';
import { T0, Trail, iso, mixedWeek } from '../support/audit-trail';

describe('core/kpi: the one KPI computation', () => {
  it('no data: zero requests, no distributions, the SLO has no verdict (not a pass)', () => {
    const r = computeKpis([]);
    assert.equal(r.requests, 0);
    assert.deepEqual(r.timeToDecision, { count: 0 });
    assert.equal(r.revocationLag.pass, undefined);
    assert.equal(r.revocationLag.sloSeconds, REVOCATION_LAG_SLO_SECONDS);
    assert.equal(r.breakGlass, 0);
    assert.equal(r.breakGlassUnreviewed, 0);
    assert.ok(outcomeCounts(r).every((o) => o.count === 0));
  });

  it('all denied: every request decided, none approved, no revocation lag', () => {
    const events = [0, 1, 2, 3].flatMap((i) => new Trail(`req-denied00000000${i}`, { at: i * 100 }).to(i * 100 + 60 * (i + 1), 'PENDING_APPROVAL', 'DENIED').events);
    const r = computeKpis(events);
    assert.equal(r.requests, 4);
    assert.equal(r.denials, 4);
    assert.equal(r.timeToApprove.count, 0);
    // Decisions after 60, 120, 180, 240 s: the denial is a decision too.
    assert.equal(r.timeToDecision.count, 4);
    assert.equal(r.timeToDecision.medianSeconds, 150);
    assert.equal(r.timeToDecision.p90Seconds, 222);
    assert.equal(r.revocationLag.count, 0);
    assert.equal(r.revocationLag.pass, undefined);
    assert.deepEqual(outcomeCounts(r).find((o) => o.key === 'denied')?.count, 4);
  });

  it('time to decision counts approvals and denials on the approval route only; break-glass is not waited on', () => {
    const r = computeKpis(mixedWeek());
    // approval route decided: 120, 600, 1500 (approved), 300 (denied), 60 (revoked later)
    assert.equal(r.timeToDecision.count, 5);
    assert.equal(r.timeToDecision.medianSeconds, 300);
    assert.equal(r.timeToApprove.count, 4);
    assert.equal(r.byRoute.break_glass, 2);
  });

  it('break-glass with and without a post-incident review: uses and open reviews', () => {
    const reviewed = computeKpis(Trail.breakGlass('req-breakglass00001', 0, true).events);
    assert.equal(reviewed.breakGlass, 1);
    assert.equal(reviewed.breakGlassUnreviewed, 0);
    const open = computeKpis(Trail.breakGlass('req-breakglass00002', 0, false).events);
    assert.equal(open.breakGlass, 1);
    assert.equal(open.breakGlassUnreviewed, 1);
    const both = computeKpis(mixedWeek());
    assert.equal(both.breakGlass, 2);
    assert.equal(both.breakGlassUnreviewed, 1);
  });

  it('revocation lag against the SLO: a p99 over 60 s fails', () => {
    const r = computeKpis(mixedWeek());
    assert.equal(r.revocationLag.count, 5);
    assert.ok(r.revocationLag.p99Seconds! > REVOCATION_LAG_SLO_SECONDS);
    assert.equal(r.revocationLag.pass, false);
  });

  it('outcome buckets sum to the requests, every state in exactly one bucket', () => {
    const r = computeKpis(mixedWeek());
    const sum = outcomeCounts(r).reduce((n, o) => n + o.count, 0);
    assert.equal(sum, r.requests);
    assert.equal(r.requests, 9);
  });

  it('formats seconds the one way the CLI and the cards print them', () => {
    assert.equal(formatSeconds(undefined), 'n/a');
    assert.equal(formatSeconds(12.34), '12.3 s');
    assert.equal(formatSeconds(150), '2.5 min');
    assert.equal(formatSeconds(5400), '1.5 h');
  });

  it('ISO weeks and the digest period: the 7 days before the scheduled time, named by the week they start in', () => {
    assert.equal(isoWeekId(Date.parse('2026-11-30T09:00:00Z')), '2026-W49');
    assert.equal(isoWeekId(Date.parse('2021-01-03T12:00:00Z')), '2020-W53');
    assert.equal(isoWeekId(Date.parse('2024-12-30T00:00:00Z')), '2025-W01');
    const p = digestPeriod(Date.parse('2026-11-30T09:00:00.000Z'));
    assert.deepEqual(p, { since: '2026-11-23T09:00:00.000Z', until: '2026-11-30T09:00:00.000Z', weekId: '2026-W48' });
    // Two firings a week apart never share a week; a retry of one firing always does.
    assert.notEqual(digestPeriod(Date.parse('2026-12-07T09:00:00Z')).weekId, p.weekId);
    assert.throws(() => digestPeriod(Number.NaN), RangeError);
  });
});

describe('core/services/kpi: who may see the KPIs, and the weekly digest', () => {
  const clock = () => new FakeClock(T0 + 10 * 24 * 3600 * 1000);

  it('an approver gets the last 7 days; a requester who approves nothing is refused', async () => {
    const w = world({ clock: clock() });
    await w.audit.append(mixedWeek());
    // An event 20 days before now: outside the 7-day window.
    await w.audit.append(new Trail('req-old0000000000001', { at: -10 * 24 * 3600 }).to(-10 * 24 * 3600 + 5, 'PENDING_APPROVAL', 'DENIED').events);
    await assert.rejects(kpiReport(w.deps, { actor: actor('alice') }), NotApproverError);
    const r = await kpiReport(w.deps, { actor: actor('carol'), days: 14 });
    assert.equal(r.requests, 9);
    assert.equal(r.window.until, new Date(w.clock.now()).toISOString());
    const week = await kpiReport(w.deps, { actor: actor('carol') });
    assert.equal(week.requests, 0, 'mixedWeek is 10 days old: outside the default 7 days');
  });

  it('without an audit reader the service says so instead of showing zeros', async () => {
    const w = world({ clock: clock() });
    const { auditReader: _none, ...deps } = w.deps;
    await assert.rejects(kpiReport(deps, { actor: actor('carol') }), DependencyError);
    await assert.rejects(weeklyKpiDigest({}, { scheduledTime: iso(0) }), DependencyError);
  });

  it('the weekly digest covers the 7 days before the scheduled time, with computeKpis\'s numbers', async () => {
    const w = world({ clock: clock() });
    await w.audit.append(mixedWeek());
    const scheduled = iso(6 * 24 * 3600);
    const d = await weeklyKpiDigest(w.deps, { scheduledTime: scheduled });
    assert.equal(d.weekId, isoWeekId(T0 - 24 * 3600 * 1000));
    assert.deepEqual(d.report, computeKpis(mixedWeek(), { since: iso(-24 * 3600), until: scheduled, top: 0 }));
  });
});
