/**
 * The `notify` function: two Tasks of the approval, and the notice flush.
 * - flush_notices (an asynchronous invoke, InvocationType Event, from whichever function committed
 *   a change with notices): sends the request's notice outbox to the bot and clears it. A bot that
 *   cannot be reached throws, so that Lambda retries the event (twice) and then hands it to the
 *   on-failure destination; reconcile flushes what is still stranded.
 * - kpi_digest (the weekly EventBridge Scheduler schedule, infra/constructs/kpi-digest-schedule.ts):
 *   computes the week's KPIs from the audit table (core/kpi.ts, the numbers `npm run kpi` prints)
 *   and sends them to the bot as a `kpi` notice, which posts the digest card in the on-call channel
 *   once per ISO week (bot/notifications/kpi-digest.ts). A bot that cannot be reached throws, so that
 *   the schedule's retry policy sends it again; a replay of the same firing posts nothing.
 *
 * The approval Tasks:
 * - PostApprovalCard (a plain invoke): posts the approval card once; the approval deadline counts
 *   from that post. A bot that cannot be reached is a RetryableError, which the state's retrier
 *   waits out for the configured outage tolerance.
 * - RequestApproval (`.waitForTaskToken`): stores the task token server-side (never on a card);
 *   the bridge resumes the execution on the deciding vote.
 */
import { flushNotices, postApprovalCard, recordApprovalToken, weeklyKpiDigest } from '../../core/services';
import { type KpiDigestPayload, kpiDigestPayloadSchema, toKpiReportView } from '../../contract/kpi';
import type { NotificationSender } from '../adapters/bot-notifier';
import {
  type ApprovalRecordedResult as NotifyResult,
  type ApprovalRequestedPayload,
  approvalRequestedSchema,
  type FlushNoticesPayload,
  type CardPostedResult,
  flushNoticesSchema,
  type NoticesFlushedResult,
  type NotifyPayload,
  type PostApprovalCardPayload,
  postApprovalCardSchema,
} from '../../contract/workflow';
import { type Log, silentLog } from '../http';
import { toWorkflowError, WorkflowError } from '../workflow/errors';
import { correlate, inInvocation } from '../observability/correlation';
import { awsMetricsSink, countFailure, type MetricsSink, noMetrics } from '../observability/emf';
import { awsDeps, awsLog, awsNotificationSender, type DepsSource, resolveDeps } from '../composition';

export type { NotifyPayload, NotifyResult };

export interface KpiDigestResult {
  weekId: string;
  requests: number;
}

export interface NotifyHandlerOptions {
  log?: Log;
  metrics?: MetricsSink;
  /** Where the weekly KPI digest goes (the bot; AWS: the function's notifier). */
  sender?: NotificationSender | (() => Promise<NotificationSender>);
}

export function createNotifyHandler(source: DepsSource, options: NotifyHandlerOptions = {}): {
  (payload: KpiDigestPayload): Promise<KpiDigestResult>;
  (payload: ApprovalRequestedPayload): Promise<NotifyResult>;
  (payload: PostApprovalCardPayload): Promise<CardPostedResult>;
  (payload: FlushNoticesPayload): Promise<NoticesFlushedResult>;
  (payload: NotifyPayload): Promise<NotifyResult | CardPostedResult | NoticesFlushedResult>;
  (payload: NotifyPayload | KpiDigestPayload): Promise<NotifyResult | CardPostedResult | NoticesFlushedResult | KpiDigestResult>;
} {
  const log = options.log ?? silentLog;
  const metrics = options.metrics ?? noMetrics;
  const handle = async (raw: NotifyPayload | KpiDigestPayload): Promise<NotifyResult | CardPostedResult | NoticesFlushedResult | KpiDigestResult> => {
    if ((raw as { action?: unknown } | undefined)?.action === 'kpi_digest') {
      const parsed = kpiDigestPayloadSchema.safeParse(raw);
      if (!parsed.success) throw new WorkflowError('InvalidPayload', 'Invalid digest payload: scheduledTime (ISO 8601) is required.');
      if (!options.sender) throw new WorkflowError('InvalidPayload', 'This notify function has no notice sender for the KPI digest.');
      const deps = await resolveDeps(source);
      const sender = typeof options.sender === 'function' ? await options.sender() : options.sender;
      try {
        const { weekId, report } = await weeklyKpiDigest(deps, { scheduledTime: parsed.data.scheduledTime });
        await sender.send({ kind: 'kpi', weekId, report: toKpiReportView(report), notificationId: `kpi-digest-${weekId}` });
        log.info('kpi digest sent', { weekId, requests: report.requests });
        return { weekId, requests: report.requests };
      } catch (e) {
        log.warn('the kpi digest failed; the schedule retries it', { error: (e as Error).name, message: (e as Error).message });
        throw e;
      }
    }
    if ((raw as { action?: unknown } | undefined)?.action === 'flush_notices') {
      const parsed = flushNoticesSchema.safeParse(raw);
      if (!parsed.success) throw new WorkflowError('InvalidPayload', 'Invalid flush payload: requestId is required.');
      const { requestId } = parsed.data;
      correlate(requestId);
      const deps = await resolveDeps(source);
      try {
        const r = await flushNotices(deps, requestId);
        if (r.delivered + r.dropped > 0) log.info('notices flushed', { requestId, ...r });
        return { requestId, ...r };
      } catch (e) {
        countFailure(metrics, 'notice_flush');
        log.warn('flushing the notices failed; the invoke is retried, then reconcile flushes them', { requestId, error: (e as Error).name, message: (e as Error).message });
        throw e;
      }
    }
    if ((raw as { action?: unknown } | undefined)?.action === 'post_approval_card') {
      const parsed = postApprovalCardSchema.safeParse(raw);
      if (!parsed.success) throw new WorkflowError('InvalidPayload', 'Invalid card payload: requestId is required.');
      const { requestId } = parsed.data;
      correlate(requestId);
      const deps = await resolveDeps(source);
      try {
        const r = await postApprovalCard(deps, { requestId });
        if (r.posted) log.info('approval card posted', { requestId, approvalDeadline: r.request.approvalDeadline });
        return { requestId, approvalTimeoutSeconds: r.approvalTimeoutSeconds, posted: r.posted };
      } catch (e) {
        const err = toWorkflowError(e);
        countFailure(metrics, 'approval_notice');
        log.warn('posting the approval card failed; the workflow retries it', { requestId, error: err.name, message: err.message });
        throw err;
      }
    }
    const parsed = approvalRequestedSchema.safeParse(raw);
    if (!parsed.success) throw new WorkflowError('InvalidPayload', 'Invalid approval payload: requestId and taskToken are required.');
    const { requestId, taskToken } = parsed.data;
    correlate(requestId);
    const deps = await resolveDeps(source);
    try {
      await recordApprovalToken(deps, { requestId, taskToken });
      // Never log the token itself: it is a bearer credential for the execution.
      log.info('approval requested', { requestId });
      return { requestId, recorded: true };
    } catch (e) {
      const err = toWorkflowError(e);
      countFailure(metrics, 'approval_notice');
      log.warn('recording the approval token failed', { requestId, error: err.name, message: err.message });
      throw err;
    }
  };
  return handle as ReturnType<typeof createNotifyHandler>;
}

let awsHandler: ReturnType<typeof createNotifyHandler> | undefined;
export const handler = (payload: NotifyPayload | KpiDigestPayload): Promise<NotifyResult | CardPostedResult | NoticesFlushedResult | KpiDigestResult> => {
  awsHandler ??= createNotifyHandler(awsDeps, { log: awsLog('notify'), metrics: awsMetricsSink(), sender: awsNotificationSender });
  const run = awsHandler;
  return inInvocation(() => run(payload));
};
