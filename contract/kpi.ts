/**
 * The KPI figures as they travel: in the bridge's `GET /kpis` answer (the bot's `kpi` command) and
 * in the weekly digest notice (`kind: 'kpi'`, contract/notify.ts). Both carry what core computed
 * (core/kpi.ts computeKpis) and the card shows (cards/kpi.ts KpiCardReport); the bot parses them
 * with this schema, so a backend bug can never put malformed numbers on a card. Unknown keys are
 * dropped (the backend may send the whole report).
 */
import '../core/zod-locale';
import * as z from 'zod/mini';
import type { KpiReport } from '../core/kpi';
import { REQUEST_STATES } from '../core/model';
import { isoSchema } from './request-view';

// zod/mini: the bridge answers GET /kpis with this schema, and what it bundles is what it uses.
const opt = z.optional;
const seconds = z.number().check(z.minimum(0));
const count = z.number().check(z.int(), z.minimum(0));

const distributionShape = {
  count,
  medianSeconds: opt(seconds),
  p90Seconds: opt(seconds),
  p99Seconds: opt(seconds),
  maxSeconds: opt(seconds),
};
const distributionSchema = z.object(distributionShape);

export const kpiReportViewSchema = z.object({
  window: z.object({ since: opt(isoSchema), until: opt(isoSchema) }),
  requests: count,
  byState: z.partialRecord(z.enum(REQUEST_STATES), count),
  timeToDecision: distributionSchema,
  revocationLag: z.object({ ...distributionShape, unknown: count, sloSeconds: z.number().check(z.positive()), pass: opt(z.boolean()) }),
  breakGlass: count,
  breakGlassUnreviewed: count,
});
export type KpiReportView = z.infer<typeof kpiReportViewSchema>;

/** The ISO week a weekly digest covers (core/kpi.ts isoWeekId). */
export const weekIdSchema = z.string().check(z.regex(/^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$/, 'must be an ISO week such as 2026-W48'));

/** GET /kpis?days=N: the last N days (default 7, at most 92) up to the bridge's clock. */
export const kpiQuerySchema = z.strictObject({ days: opt(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(92))) });
export type KpiQuery = z.infer<typeof kpiQuerySchema>;

export const kpiResponseSchema = z.object({ report: kpiReportViewSchema });
export type KpiResponse = z.infer<typeof kpiResponseSchema>;

/** What travels of a report: the card's figures only (no permission set names, no event counts). */
export function toKpiReportView(report: KpiReport): KpiReportView {
  const { count: c, medianSeconds, p90Seconds, p99Seconds, maxSeconds } = report.timeToDecision;
  const lag = report.revocationLag;
  return {
    window: { ...(report.window.since ? { since: report.window.since } : {}), ...(report.window.until ? { until: report.window.until } : {}) },
    requests: report.requests,
    byState: { ...report.byState },
    timeToDecision: defined({ count: c, medianSeconds, p90Seconds, p99Seconds, maxSeconds }),
    revocationLag: defined({ count: lag.count, medianSeconds: lag.medianSeconds, p90Seconds: lag.p90Seconds, p99Seconds: lag.p99Seconds, maxSeconds: lag.maxSeconds, unknown: lag.unknown, sloSeconds: lag.sloSeconds, pass: lag.pass }),
    breakGlass: report.breakGlass,
    breakGlassUnreviewed: report.breakGlassUnreviewed,
  };
}

function defined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The weekly schedule's input to the notify function (infra: EventBridge Scheduler passes
 * `<aws.scheduler.scheduled-time>`, the same on every retry of one firing, so a retry computes
 * the same week and the bot posts it once).
 */
export const kpiDigestPayloadSchema = z.strictObject({ action: z.literal('kpi_digest'), scheduledTime: isoSchema });
export type KpiDigestPayload = z.infer<typeof kpiDigestPayloadSchema>;
