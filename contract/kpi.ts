/**
 * The KPI figures as they travel: in the bridge's `GET /kpis` answer (the bot's `kpi` command) and
 * in the weekly digest notice (`kind: 'kpi'`, contract/notify.ts). Both carry what core computed
 * (core/kpi.ts computeKpis) and the card shows (cards/kpi.ts KpiCardReport); the bot parses them
 * with this schema, so a backend bug can never put malformed numbers on a card. Unknown keys are
 * dropped (the backend may send the whole report).
 */
import * as z from 'zod';
import type { KpiReport } from '../core/kpi';
import { REQUEST_STATES } from '../core/model';
import { isoSchema } from './request-view';

const seconds = z.number().finite().min(0);
const count = z.number().int().min(0);

const distributionSchema = z.object({
  count,
  medianSeconds: seconds.optional(),
  p90Seconds: seconds.optional(),
  p99Seconds: seconds.optional(),
  maxSeconds: seconds.optional(),
});

export const kpiReportViewSchema = z.object({
  window: z.object({ since: isoSchema.optional(), until: isoSchema.optional() }),
  requests: count,
  byState: z.partialRecord(z.enum(REQUEST_STATES), count),
  timeToDecision: distributionSchema,
  revocationLag: distributionSchema.extend({ unknown: count, sloSeconds: z.number().positive(), pass: z.boolean().optional() }),
  breakGlass: count,
  breakGlassUnreviewed: count,
});
export type KpiReportView = z.infer<typeof kpiReportViewSchema>;

/** The ISO week a weekly digest covers (core/kpi.ts isoWeekId). */
export const weekIdSchema = z.string().regex(/^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$/, 'must be an ISO week such as 2026-W48');

/** GET /kpis?days=N: the last N days (default 7, at most 92) up to the bridge's clock. */
export const kpiQuerySchema = z.object({ days: z.coerce.number().int().min(1).max(92).optional() }).strict();
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
export const kpiDigestPayloadSchema = z.object({ action: z.literal('kpi_digest'), scheduledTime: isoSchema }).strict();
export type KpiDigestPayload = z.infer<typeof kpiDigestPayloadSchema>;
