/**
 * The `notify` function: the `.waitForTaskToken` Task of the approval. Stores the task token
 * server-side (never on a card) and has the approvers notified; the bridge resumes the execution
 * on the deciding vote.
 */
import * as z from 'zod';
import { recordApprovalToken } from '../../core/services';
import type { ApprovalRequestedPayload } from '../contract';
import { type Log, silentLog } from '../http';
import { toWorkflowError, WorkflowError } from '../workflow/errors';
import { correlate, inInvocation } from '../observability/correlation';
import { awsMetricsSink, countFailure, type MetricsSink, noMetrics } from '../observability/emf';
import { awsDeps, awsLog, type DepsSource, resolveDeps } from '../wiring';

export const approvalRequestedSchema = z.object({
  requestId: z.string().min(1).max(64),
  // Step Functions task tokens are opaque and up to 1024 characters (SendTaskSuccess's limit).
  taskToken: z.string().min(1).max(1024),
});

export interface NotifyResult {
  requestId: string;
  recorded: true;
}

export function createNotifyHandler(source: DepsSource, options: { log?: Log; metrics?: MetricsSink } = {}): (payload: ApprovalRequestedPayload) => Promise<NotifyResult> {
  const log = options.log ?? silentLog;
  const metrics = options.metrics ?? noMetrics;
  return async (raw) => {
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
}

let awsHandler: ((payload: ApprovalRequestedPayload) => Promise<NotifyResult>) | undefined;
export const handler = (payload: ApprovalRequestedPayload): Promise<NotifyResult> => {
  awsHandler ??= createNotifyHandler(awsDeps, { log: awsLog('notify'), metrics: awsMetricsSink() });
  const run = awsHandler;
  return inInvocation(() => run(payload));
};
