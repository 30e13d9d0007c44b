/**
 * The KPI card: the weekly digest in the on-call channel and the answer to the bot's `kpi`
 * command. A pure function of core's KPI report (core/kpi.ts, the numbers `npm run kpi` prints),
 * built in code rather than from a template because its chart data are arrays of computed points.
 *
 * Charts. Teams renders the chart elements of "Charts in Adaptive Cards" (Microsoft Teams platform
 * docs, https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/charts-in-adaptive-cards):
 * Chart.Donut, Chart.Pie, Chart.Gauge, Chart.VerticalBar, Chart.VerticalBar.Grouped,
 * Chart.HorizontalBar, Chart.HorizontalBar.Stacked and Chart.Line, inside an ordinary card of
 * `"version": "1.5"` (every sample on that page is a 1.5 card), so the card stays at the 1.5 that
 * Teams requires. The Agents Playground (0.2.28) registers the same eight element types with its
 * renderer at schema 1.0, so a 1.5 card shows them there too. A client whose renderer does not know
 * them (the adaptivecards SDK 3.0 used in the tests, older or third-party hosts) renders each
 * element's `fallback` instead: every chart here carries a FactSet with the same numbers, so the
 * card says the same with or without charts (`chartProblems` checks that).
 */
import { formatSeconds, type KpiReport, outcomeCounts, sloVerdict } from '../core/kpi';
import { plainLine } from './text';
import type { AdaptiveCard, CardElement } from './types';

/** The chart elements Teams renders (see the page cited above). */
export const TEAMS_CHART_TYPES = [
  'Chart.Donut',
  'Chart.Pie',
  'Chart.Gauge',
  'Chart.VerticalBar',
  'Chart.VerticalBar.Grouped',
  'Chart.HorizontalBar',
  'Chart.HorizontalBar.Stacked',
  'Chart.Line',
] as const;

/** What the card needs of a KPI report (the bridge and the notice carry exactly this). */
export type KpiCardReport = Pick<KpiReport, 'requests' | 'byState' | 'timeToDecision' | 'revocationLag' | 'breakGlass' | 'breakGlassUnreviewed'> & {
  window: { since?: string; until?: string };
};

export interface KpiCardOptions {
  /** `weekly` for the digest, `on-demand` for the `kpi` command. */
  kind: 'weekly' | 'on-demand';
  /** The ISO week the digest covers (`2026-W48`), shown on the weekly card. */
  weekId?: string;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;

/** A date the client renders in the viewer's locale, with the UTC date beside it (unambiguous in screenshots). */
function cardDate(iso: string | undefined): string | undefined {
  if (!iso || !ISO.test(iso) || !Number.isFinite(Date.parse(iso))) return undefined;
  const t = `${iso.slice(0, 19)}Z`;
  return `{{DATE(${t}, SHORT)}}`;
}

const count = (n: number) => String(n);

/** Facts shown when the chart is not rendered; also the chart's accessible summary. */
function facts(rows: Array<[string, string]>): CardElement {
  return { type: 'FactSet', facts: rows.map(([title, value]) => ({ title, value })) };
}

function chart(element: CardElement, fallback: Array<[string, string]>): CardElement {
  return { ...element, fallback: facts(fallback) };
}

/** The y axis unit for a set of durations: the one formatSeconds would use for the largest. */
function axisUnit(maxSeconds: number): { label: string; divisor: number } {
  if (maxSeconds < 60) return { label: 'seconds', divisor: 1 };
  if (maxSeconds < 3600) return { label: 'minutes', divisor: 60 };
  return { label: 'hours', divisor: 3600 };
}
/** A chart value in `unit`, rounded to one decimal as formatSeconds prints it. */
const inUnit = (s: number | undefined, unit: { divisor: number }) => (s === undefined ? 0 : Math.round((s / unit.divisor) * 10) / 10);

export function kpiCard(report: KpiCardReport, opts: KpiCardOptions): AdaptiveCard {
  const decision = report.timeToDecision;
  const lag = report.revocationLag;
  const verdict = sloVerdict(lag);
  const outcomes = outcomeCounts(report);
  const since = cardDate(report.window.since);
  const until = cardDate(report.window.until);
  const title = opts.kind === 'weekly' ? `Weekly access KPIs${opts.weekId ? ` (${plainLine(opts.weekId, 16)})` : ''}` : 'Access KPIs';
  const period = since && until ? `${since} to ${until} (submitted in this period)` : 'All recorded requests';

  const summary: Array<[string, string]> = [
    ['Requests', count(report.requests)],
    ['Time to decision', `median ${formatSeconds(decision.medianSeconds)}, p90 ${formatSeconds(decision.p90Seconds)} (${decision.count} decided)`],
    ['Revocation lag', `p99 ${formatSeconds(lag.p99Seconds)} against an SLO of ${lag.sloSeconds} s: ${verdict}`],
    ['Break-glass uses', count(report.breakGlass)],
    ['Open post-incident reviews', count(report.breakGlassUnreviewed)],
  ];

  const body: CardElement[] = [
    {
      type: 'Container',
      style: verdict === 'FAIL' || report.breakGlassUnreviewed > 0 ? 'warning' : 'emphasis',
      bleed: true,
      items: [
        { type: 'TextBlock', text: title, size: 'Medium', weight: 'Bolder', wrap: true },
        { type: 'TextBlock', text: period, isSubtle: true, spacing: 'None', wrap: true },
      ],
    },
    facts(summary),
  ];

  if (report.requests === 0) {
    body.push({ type: 'TextBlock', text: 'No requests were submitted in this period.', isSubtle: true, wrap: true });
  } else {
    const nonZero = outcomes.filter((o) => o.count > 0);
    body.push(
      chart(
        { type: 'Chart.Donut', title: 'Requests by outcome', colorSet: 'categorical', data: nonZero.map((o) => ({ legend: o.label, value: o.count })) },
        outcomes.map((o) => [o.label, count(o.count)]),
      ),
    );
    if (decision.count > 0) {
      const unit = axisUnit(decision.p90Seconds ?? 0);
      body.push(
        chart(
          {
            type: 'Chart.VerticalBar',
            title: `Time to decision (${unit.label})`,
            xAxisTitle: 'Approval route',
            yAxisTitle: unit.label,
            showBarValues: true,
            data: [
              { x: 'Median', y: inUnit(decision.medianSeconds, unit), color: 'categoricalBlue' },
              { x: 'p90', y: inUnit(decision.p90Seconds, unit), color: 'categoricalPurple' },
            ],
          },
          [
            ['Median time to decision', formatSeconds(decision.medianSeconds)],
            ['p90 time to decision', formatSeconds(decision.p90Seconds)],
          ],
        ),
      );
    }
  }
  if (lag.p99Seconds !== undefined) {
    const slo = lag.sloSeconds;
    // Twice the SLO is the end of the dial; a worse p99 pins it at the end (the facts say the value).
    const max = slo * 2;
    body.push(
      chart(
        {
          type: 'Chart.Gauge',
          title: 'Revocation lag p99 (seconds)',
          min: 0,
          max,
          value: Math.min(max, Math.round(lag.p99Seconds * 10) / 10),
          valueFormat: 'Fraction',
          subLabel: `SLO < ${slo} s: ${verdict}`,
          segments: [
            { legend: 'Within SLO', size: slo, color: 'good' },
            { legend: 'Over SLO', size: max - slo, color: 'attention' },
          ],
        },
        [
          ['Revocation lag p99', formatSeconds(lag.p99Seconds)],
          ['SLO', `< ${slo} s: ${verdict}`],
          ['Expiries measured', `${lag.count}${lag.unknown > 0 ? ` (${lag.unknown} without a known grant end)` : ''}`],
        ],
      ),
    );
  }
  if (report.breakGlass > 0) {
    body.push(
      chart(
        {
          type: 'Chart.HorizontalBar',
          title: 'Break-glass',
          displayMode: 'AbsoluteWithAxis',
          data: [
            { x: 'Uses', y: report.breakGlass, color: 'warning' },
            { x: 'Open reviews', y: report.breakGlassUnreviewed, color: report.breakGlassUnreviewed > 0 ? 'attention' : 'good' },
          ],
        },
        [
          ['Break-glass uses', count(report.breakGlass)],
          ['Open post-incident reviews', count(report.breakGlassUnreviewed)],
        ],
      ),
    );
  }
  body.push({ type: 'TextBlock', text: 'Same numbers as npm run kpi for this period. Say "kpi" to the bot for the last 7 days.', isSubtle: true, size: 'Small', wrap: true });

  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    msteams: { width: 'Full' },
    body,
  };
}

/**
 * What a card must respect to carry charts in Teams: the card stays at version 1.5, every chart
 * element is one Teams renders, and every chart has a FactSet fallback so that a client without
 * charts still shows its numbers. Returns the problems (empty: fine). Used by the card tests.
 */
export function chartProblems(card: AdaptiveCard): string[] {
  const problems: string[] = [];
  if (card.version !== '1.5') problems.push(`card version ${String(card.version)}: Teams renders Adaptive Cards up to 1.5`);
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${path}[${i}]`));
    if (!v || typeof v !== 'object') return;
    const node = v as Record<string, unknown>;
    if (typeof node.type === 'string' && node.type.startsWith('Chart.')) {
      if (!(TEAMS_CHART_TYPES as readonly string[]).includes(node.type)) problems.push(`${path}: ${node.type} is not a chart Teams renders`);
      const fb = node.fallback as Record<string, unknown> | undefined;
      if (!fb || typeof fb !== 'object' || fb.type !== 'FactSet' || !Array.isArray(fb.facts) || fb.facts.length === 0) problems.push(`${path}: ${node.type} has no FactSet fallback`);
    }
    for (const [k, child] of Object.entries(node)) walk(child, `${path}.${k}`);
  };
  walk(card.body, 'body');
  return problems;
}
