import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as AC from 'adaptivecards';
import { TEAMS_CARD_MAX_BYTES, TEAMS_CHART_TYPES, cardByteSize, chartProblems, kpiCard, type AdaptiveCard } from '../../cards';
import { toKpiReportView } from '../../contract/kpi';
import { notificationBodySchema } from '../../contract/notify';
import { computeKpis, formatSeconds, type KpiReport } from '../../core/kpi';
import { MemoryAuditSink } from '../../core/memory';
import { weeklyKpiDigest } from '../../core/services';
import { T0, Trail, iso, mixedWeek } from '../support/audit-trail';

type Node = Record<string, unknown>;
function nodes(card: unknown): Node[] {
  const out: Node[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      out.push(v as Node);
      Object.values(v).forEach(walk);
    }
  };
  walk(card);
  return out;
}
const charts = (card: unknown) => nodes(card).filter((n) => typeof n.type === 'string' && (n.type as string).startsWith('Chart.'));
const factValues = (card: unknown) => nodes(card).filter((n) => n.type === 'FactSet').flatMap((f) => (f.facts as Array<{ title: string; value: string }>).map((x) => `${x.title}: ${x.value}`));

/**
 * What a host WITHOUT the chart elements renders: the adaptivecards SDK 3.0 (Adaptive Cards 1.5,
 * no charts) parses the card, replacing each unknown element by its fallback. Returns that card
 * and the parse problems other than "unknown Chart.* element, fallback used".
 */
function renderWithoutCharts(card: AdaptiveCard): { rendered: unknown; problems: string[] } {
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  const parsed = new AC.AdaptiveCard();
  parsed.parse(card, context);
  const problems: string[] = [];
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    const chart = /Unknown element type "(Chart\.[A-Za-z.]+)"/.exec(e.message);
    if (chart && (TEAMS_CHART_TYPES as readonly string[]).includes(chart[1]!)) continue;
    problems.push(e.message);
  }
  for (const e of parsed.validateProperties().validationEvents) problems.push(e.message);
  return { rendered: parsed.toJSON(), problems };
}

const view = (r: KpiReport) => toKpiReportView(r);
const WINDOW = { since: iso(-3600), until: iso(7 * 24 * 3600) };

describe('cards: the KPI card (weekly digest and the kpi command)', () => {
  const cases: Array<[string, KpiReport]> = [
    ['a mixed week', computeKpis(mixedWeek(), WINDOW)],
    ['no data', computeKpis([], WINDOW)],
    ['all denied', computeKpis([0, 1, 2].flatMap((i) => new Trail(`req-denied00000000${i}`, { at: i }).to(i + 60, 'PENDING_APPROVAL', 'DENIED').events), WINDOW)],
    ['break-glass only, review open', computeKpis(Trail.breakGlass('req-breakglass00001', 0, false).events, WINDOW)],
  ];

  for (const [label, report] of cases) {
    it(`${label}: a 1.5 card, charts Teams renders, each with a FactSet fallback; valid without charts too`, () => {
      const card = kpiCard(view(report), { kind: 'weekly', weekId: '2030-W01' });
      assert.equal(card.version, '1.5');
      assert.deepEqual(chartProblems(card), []);
      const { rendered, problems } = renderWithoutCharts(card);
      assert.deepEqual(problems, []);
      assert.equal(charts(rendered).length, 0);
      // Without charts the card still says every number the charts show.
      const facts = factValues(rendered).join('\n');
      for (const c of charts(card)) for (const f of (c.fallback as { facts: Array<{ title: string; value: string }> }).facts) assert.ok(facts.includes(`${f.title}: ${f.value}`), `${label}: ${f.title} missing without charts`);
      assert.ok(cardByteSize(card) < TEAMS_CARD_MAX_BYTES);
      assert.ok(!JSON.stringify(card).includes('${'), 'no unbound template expression');
      // Pure: the same report gives the same card.
      assert.deepEqual(kpiCard(view(report), { kind: 'weekly', weekId: '2030-W01' }), card);
    });
  }

  it('a mixed week shows requests by outcome (donut), time to decision (bars), revocation lag vs SLO (gauge) and break-glass (bars)', () => {
    const r = computeKpis(mixedWeek(), WINDOW);
    const card = kpiCard(view(r), { kind: 'weekly', weekId: '2030-W01' });
    const byType = Object.fromEntries(charts(card).map((c) => [c.type, c]));
    assert.deepEqual(Object.keys(byType).sort(), ['Chart.Donut', 'Chart.Gauge', 'Chart.HorizontalBar', 'Chart.VerticalBar']);
    const donut = (byType['Chart.Donut']!.data as Array<{ legend: string; value: number }>).reduce((n, d) => n + d.value, 0);
    assert.equal(donut, r.requests);
    // p90 is over a minute and under an hour: the bars are in minutes, rounded as formatSeconds prints them.
    assert.ok(r.timeToDecision.p90Seconds! >= 60 && r.timeToDecision.p90Seconds! < 3600);
    assert.equal(byType['Chart.VerticalBar']!.title, 'Time to decision (minutes)');
    assert.deepEqual(
      (byType['Chart.VerticalBar']!.data as Array<{ y: number }>).map((d) => `${d.y.toFixed(1)} min`),
      [formatSeconds(r.timeToDecision.medianSeconds), formatSeconds(r.timeToDecision.p90Seconds)],
    );
    const gauge = byType['Chart.Gauge']!;
    assert.equal(gauge.max, 2 * r.revocationLag.sloSeconds);
    assert.match(gauge.subLabel as string, /FAIL/);
    assert.deepEqual((byType['Chart.HorizontalBar']!.data as Array<{ y: number }>).map((d) => d.y), [2, 1]);
    assert.match(JSON.stringify(card), /\{\{DATE\(2030-01-06T08:00:00Z, SHORT\)\}\}/);
  });

  it('time to decision in seconds when the p90 is under a minute', () => {
    const fast = computeKpis(new Trail('req-fast0000000001', { at: 0 }).to(12, 'PENDING_APPROVAL', 'DENIED').events, WINDOW);
    const bars = charts(kpiCard(view(fast), { kind: 'on-demand' })).find((c) => c.type === 'Chart.VerticalBar')!;
    assert.equal(bars.title, 'Time to decision (seconds)');
    assert.deepEqual((bars.data as Array<{ y: number }>).map((d) => d.y), [12, 12]);
  });

  it('no data: no charts, a plain sentence, the summary still there', () => {
    const card = kpiCard(view(computeKpis([], WINDOW)), { kind: 'on-demand' });
    assert.equal(charts(card).length, 0);
    assert.match(JSON.stringify(card), /No requests were submitted in this period/);
    assert.ok(factValues(card).includes('Requests: 0'));
    assert.ok(factValues(card).some((f) => f.startsWith('Revocation lag: p99 n/a') && f.endsWith('NO DATA')));
  });

  it('chartProblems refuses a card Teams would not show as meant: version above 1.5, an unknown chart, a chart without a FactSet fallback', () => {
    const good = kpiCard(view(computeKpis(mixedWeek(), WINDOW)), { kind: 'weekly' });
    assert.deepEqual(chartProblems(good), []);
    const noFallback = structuredClone(good);
    delete (charts(noFallback)[0] as Node).fallback;
    assert.match(chartProblems(noFallback).join('\n'), /has no FactSet fallback/);
    const dropFallback = structuredClone(good);
    (charts(dropFallback)[0] as Node).fallback = 'drop';
    assert.match(chartProblems(dropFallback).join('\n'), /has no FactSet fallback/);
    const unknown = { ...good, body: [...good.body, { type: 'Chart.Bubble', data: [], fallback: { type: 'FactSet', facts: [{ title: 'a', value: '1' }] } }] };
    assert.match(chartProblems(unknown).join('\n'), /Chart\.Bubble is not a chart Teams renders/);
    assert.match(chartProblems({ ...good, version: '1.6' as never }).join('\n'), /Teams renders Adaptive Cards up to 1\.5/);
  });

  it('worst case: every count at a million and every duration in hours stays far under the Teams limit', () => {
    const big: KpiReport = {
      ...computeKpis(mixedWeek(), WINDOW),
      requests: 8_000_000,
      byState: { PENDING_APPROVAL: 1e6, ACTIVE: 1e6, EXPIRED: 1e6, REVOKED: 1e6, DENIED: 1e6, TIMED_OUT: 1e6, CANCELLED: 1e6, FAILED: 1e6 },
      breakGlass: 1e6,
      breakGlassUnreviewed: 1e6,
    };
    const card = kpiCard(view(big), { kind: 'weekly', weekId: '2030-W01' });
    assert.deepEqual(chartProblems(card), []);
    assert.ok(cardByteSize(card) < 8 * 1024, `${cardByteSize(card)} bytes`);
  });
});

describe('the KPI card and `npm run kpi` show the same numbers for the same data', () => {
  it('the digest path (audit reader -> core -> notice -> card) and the CLI agree figure by figure', async function () {
    this.timeout(60_000);
    const events = mixedWeek();
    const scheduledTime = iso(6 * 24 * 3600);
    // The digest path, as the notify function runs it, through the notice schema the bot parses.
    const reader = new MemoryAuditSink();
    await reader.append(events);
    const digest = await weeklyKpiDigest({ auditReader: reader }, { scheduledTime });
    const notice = notificationBodySchema.parse({ kind: 'kpi', weekId: digest.weekId, report: toKpiReportView(digest.report), notificationId: `kpi-digest-${digest.weekId}` });
    assert.equal(notice.kind, 'kpi');
    const card = kpiCard(notice.kind === 'kpi' ? notice.report : assert.fail(), { kind: 'weekly', weekId: digest.weekId });

    // The CLI, as an operator runs it, over the same events as JSON lines and the same period.
    const dir = mkdtempSync(join(tmpdir(), 'kpi-card-'));
    const file = join(dir, 'audit.jsonl');
    writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
    const period = ['--since', new Date(Date.parse(scheduledTime) - 7 * 24 * 3600 * 1000).toISOString(), '--until', scheduledTime];
    const cliJson = JSON.parse(execFileSync(tsx, ['scripts/kpi.ts', '--file', file, '--json', ...period], { encoding: 'utf8' })) as KpiReport;
    const cliText = execFileSync(tsx, ['scripts/kpi.ts', '--file', file, ...period], { encoding: 'utf8' });

    // Same figures...
    assert.deepEqual(notice.kind === 'kpi' && notice.report, toKpiReportView(cliJson));
    // ...and the same printed values.
    const facts = factValues(card);
    const d = cliJson.timeToDecision;
    assert.ok(cliText.includes(`median ${formatSeconds(d.medianSeconds)}   p90 ${formatSeconds(d.p90Seconds)}   (${d.count} decided)`));
    assert.ok(facts.includes(`Time to decision: median ${formatSeconds(d.medianSeconds)}, p90 ${formatSeconds(d.p90Seconds)} (${d.count} decided)`), facts.join('\n'));
    assert.match(cliText, new RegExp(`Revocation lag SLO \\(p99 < 60 s\\): FAIL\\n  p99 ${formatSeconds(cliJson.revocationLag.p99Seconds).replace('.', '\\.')}`));
    assert.ok(facts.includes(`Revocation lag: p99 ${formatSeconds(cliJson.revocationLag.p99Seconds)} against an SLO of 60 s: FAIL`));
    assert.match(cliText, new RegExp(`break-glass ${cliJson.breakGlass} \\(${cliJson.breakGlassUnreviewed} open post-incident reviews\\)`));
    assert.ok(facts.includes(`Break-glass uses: ${cliJson.breakGlass}`));
    assert.ok(facts.includes(`Open post-incident reviews: ${cliJson.breakGlassUnreviewed}`));
    assert.match(cliText, new RegExp(`requests: ${cliJson.requests} `));
    assert.ok(facts.includes(`Requests: ${cliJson.requests}`));
    for (const [state, n] of Object.entries(cliJson.byState)) assert.match(cliText, new RegExp(`${state} +\\| #+ ${n}`));
    assert.equal(T0, Date.parse('2030-01-06T09:00:00.000Z'));
  });
});
