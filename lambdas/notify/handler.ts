/**
 * The `notify` function, two Tasks of the approval:
 * - PostApprovalCard (a plain invoke): posts the approval card once; the approval deadline counts
 *   from that post. A bot that cannot be reached is a RetryableError, which the state's retrier
 *   waits out for the configured outage tolerance.
 * - RequestApproval (`.waitForTaskToken`): stores the task token server-side (never on a card);
 *   the bridge resumes the execution on the deciding vote.
 */
import { postApprovalCard, recordApprovalToken } from '../../core/services';
import {
  type ApprovalRecordedResult as NotifyResult,
  type ApprovalRequestedPayload,
  approvalRequestedSchema,
  type CardPostedResult,
  type NotifyPayload,
  type PostApprovalCardPayload,
  postApprovalCardSchema,
} from '../../contract/workflow';
import { type Log, silentLog } from '../http';
import { toWorkflowError, WorkflowError } from '../workflow/errors';
import { correlate, inInvocation } from '../observability/correlation';
import { awsMetricsSink, countFailure, type MetricsSink, noMetrics } from '../observability/emf';
import { awsDeps, awsLog, type DepsSource, resolveDeps } from '../composition';

export type { NotifyPayload, NotifyResult };

export function createNotifyHandler(source: DepsSource, options: { log?: Log; metrics?: MetricsSink } = {}): {
  (payload: ApprovalRequestedPayload): Promise<NotifyResult>;
  (payload: PostApprovalCardPayload): Promise<CardPostedResult>;
  (payload: NotifyPayload): Promise<NotifyResult | CardPostedResult>;
} {
  const log = options.log ?? silentLog;
  const metrics = options.metrics ?? noMetrics;
  const handle = async (raw: NotifyPayload): Promise<NotifyResult | CardPostedResult> => {
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
export const handler = (payload: NotifyPayload): Promise<NotifyResult | CardPostedResult> => {
  awsHandler ??= createNotifyHandler(awsDeps, { log: awsLog('notify'), metrics: awsMetricsSink() });
  const run = awsHandler;
  return inInvocation(() => run(payload));
};
