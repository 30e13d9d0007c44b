/**
 * The notices from the backend to the bot: `POST /api/notify` bodies. The backend (lambdas/adapters/
 * bot-notifier.ts) builds them, the bot (bot/notify.ts) parses them with notificationBodySchema.
 * The signature already proves the sender; the schema proves the shape, so a bug in the backend can
 * never crash the bot or put malformed text on a card. Unknown keys are dropped (the backend may
 * add fields first). The event list is core's (core/ports.ts NOTIFICATION_EVENTS): one list.
 */
import '../core/zod-locale';
import * as z from 'zod/mini';
import { accountIdSchema } from '../core/api';
import { NOTIFICATION_EVENTS } from '../core/ports';
import { kpiReportViewSchema, weekIdSchema } from './kpi';
import { isoSchema, requestViewSchema } from './request-view';

export { NOTIFICATION_EVENTS, type NotificationEvent } from '../core/ports';

const str = (max: number, min?: number) =>
  z.string().check(z.maxLength(max), z.refine((s) => s.isWellFormed(), 'must be valid unicode'), ...(min === undefined ? [] : [z.minLength(min)]));

/** A Security Hub finding as shown in the channel (from ASFF, ours or any other product's). */
export const findingViewSchema = z.object({
  id: str(512, 1),
  severity: z.enum(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']),
  title: str(512, 1),
  resourceId: str(2048),
  accountId: accountIdSchema,
  productName: str(256),
  updatedAt: isoSchema,
  link: z.optional(z.url({ protocol: /^https$/ }).check(z.maxLength(2048))),
  /** RESOLVED: the finding was archived (RecordState ARCHIVED) or its workflow resolved; its card says so. */
  status: z.optional(z.enum(['ACTIVE', 'RESOLVED'])),
});
export type FindingView = z.infer<typeof findingViewSchema>;

/** At most this many findings in one notice. */
export const MAX_FINDINGS_PER_NOTICE = 100;

export const notificationIdSchema = z.string().check(z.regex(/^[A-Za-z0-9_.:-]{8,128}$/, 'must be 8-128 characters of [A-Za-z0-9_.:-]'));

export const requestNotificationSchema = z.object({
  kind: z.literal('request'),
  event: z.enum(NOTIFICATION_EVENTS),
  request: requestViewSchema,
  notificationId: notificationIdSchema,
});
export type RequestNotification = z.infer<typeof requestNotificationSchema>;

export const findingsNotificationSchema = z.object({
  kind: z.literal('findings'),
  findings: z.array(findingViewSchema).check(z.minLength(1), z.maxLength(MAX_FINDINGS_PER_NOTICE)),
  notificationId: notificationIdSchema,
});
export type FindingsNotification = z.infer<typeof findingsNotificationSchema>;

/**
 * The weekly KPI digest for the on-call channel (lambdas/digest sends it on the weekly schedule).
 * The bot posts at most one digest per `weekId`, whatever the notificationId: a replay of the
 * schedule, or a second `npm run sandbox:digest` in the same week, posts nothing.
 */
export const kpiNotificationSchema = z.object({
  kind: z.literal('kpi'),
  weekId: weekIdSchema,
  report: kpiReportViewSchema,
  notificationId: notificationIdSchema,
});
export type KpiNotification = z.infer<typeof kpiNotificationSchema>;

export const notificationBodySchema = z.discriminatedUnion('kind', [requestNotificationSchema, findingsNotificationSchema, kpiNotificationSchema]);
export type NotificationBody = z.infer<typeof notificationBodySchema>;

/**
 * The bot's answer to a notificationId it has already processed: the sender counts it as delivered.
 * The bot's error answers are RFC 9457 problem details with a `code` member (bot/problem.ts).
 */
export const NOTIFY_DUPLICATE = { status: 409, code: 'DUPLICATE' } as const;
export const notifyProblemSchema = z.object({ status: z.number().check(z.int()), code: z.string() });

/**
 * The hosted bot's answer to a direct Lambda invoke carrying a NotificationBody (lambdas/adapters/
 * bot-invoke-notifier.ts sends it, bot/lambda-entry.ts answers): the HTTP route's status and body,
 * so both doors mean the same (200 delivered, 400 VALIDATION, 409 DUPLICATE, 503 DELIVERY_FAILED).
 */
export const notifyInvokeAnswerSchema = z.object({ status: z.number().check(z.int(), z.minimum(100), z.maximum(599)), body: z.unknown() });
export type NotifyInvokeAnswer = z.infer<typeof notifyInvokeAnswerSchema>;
