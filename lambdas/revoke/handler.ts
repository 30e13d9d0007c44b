/**
 * The `revoke` function. Two callers:
 * - EventBridge Scheduler at the grant's expiry (`source: 'schedule'`): expire the grant. The
 *   Scheduler delivers at least once, so a duplicate (already expired or revoked) is success: core
 *   says so in its outcome, and this handler only maps outcomes to results.
 * - the state machine after a failure once a grant may exist (`source: 'compensation'`): roll
 *   the grant back and mark the request FAILED.
 * A revocation that fails is logged with `event: revoke_failed` (the RevokeFailures alarm's
 * metric filter) and rethrown so that the Scheduler retries it and, in the end, dead-letters it.
 */
import { isDomainError } from '../../core/errors';
import { AssignmentBusyError, expireGrant, failGrant } from '../../core/services';
import { type RevokePayload, revokePayloadSchema, type RevokeResult } from '../../contract/workflow';
import { type Log, silentLog } from '../http';
import { toWorkflowError, WorkflowError } from '../workflow/errors';
import { correlate, inInvocation } from '../observability/correlation';
import { awsMetricsSink, countFailure, type MetricsSink, noMetrics } from '../observability/emf';
import { awsDeps, awsLog, type DepsSource, resolveDeps } from '../composition';

/** The log `event` value the RevokeFailures metric filter matches (infra/constructs/monitoring.ts). */
export const REVOKE_FAILED_EVENT = 'revoke_failed';

export function createRevokeHandler(source: DepsSource, options: { log?: Log; metrics?: MetricsSink } = {}): (payload: RevokePayload) => Promise<RevokeResult> {
  const log = options.log ?? silentLog;
  const metrics = options.metrics ?? noMetrics;
  return async (raw) => {
    const parsed = revokePayloadSchema.safeParse(raw);
    if (!parsed.success) {
      countFailure(metrics, 'revoke_failed');
      log.error('invalid revoke payload', { event: REVOKE_FAILED_EVENT, issues: parsed.error.issues.map((i) => i.message) });
      throw new WorkflowError('InvalidPayload', 'Invalid revoke payload.');
    }
    const payload = parsed.data;
    correlate(payload.requestId);
    const deps = await resolveDeps(source);
    try {
      const { outcome, request } =
        payload.source === 'schedule'
          ? await expireGrant(deps, { requestId: payload.requestId })
          : await failGrant(deps, { requestId: payload.requestId, reason: payload.cause ? `Rolled back: ${payload.cause}` : 'Rolled back after a workflow failure.' });
      switch (outcome) {
        case 'done':
          log.info('revoked', { requestId: payload.requestId, source: payload.source, state: request.state });
          return { requestId: payload.requestId, outcome: 'revoked', state: request.state };
        case 'rescheduled':
          return { requestId: payload.requestId, outcome: 'rescheduled', state: request.state };
        case 'duplicate':
        case 'already_decided':
        case 'already_ended':
          // At-least-once delivery, or a request that ended another way first: nothing to do.
          log.info('duplicate revoke ignored', { requestId: payload.requestId, source: payload.source, state: request.state, outcome });
          return { requestId: payload.requestId, outcome: 'duplicate', state: request.state };
      }
    } catch (e) {
      if (isDomainError(e) && e.code === 'NOT_FOUND') {
        // A schedule whose request is gone: nothing to revoke, and retrying cannot change that.
        log.warn('revoke for an unknown request', { requestId: payload.requestId, source: payload.source });
        return { requestId: payload.requestId, outcome: 'not_found' };
      }
      const err = toWorkflowError(e);
      if (e instanceof AssignmentBusyError) {
        // A duplicate delivery met the revocation already under way: not a failure. The retry
        // then finds the request ended (duplicate) or takes over an abandoned delete.
        log.info('revocation under way elsewhere; retrying later', { requestId: payload.requestId, source: payload.source });
        throw err;
      }
      countFailure(metrics, 'revoke_failed');
      log.error('revoke failed', { event: REVOKE_FAILED_EVENT, requestId: payload.requestId, source: payload.source, error: err.name, message: err.message });
      throw err;
    }
  };
}

let awsHandler: ((payload: RevokePayload) => Promise<RevokeResult>) | undefined;
export const handler = (payload: RevokePayload): Promise<RevokeResult> => {
  awsHandler ??= createRevokeHandler(awsDeps, { log: awsLog('revoke'), metrics: awsMetricsSink() });
  const run = awsHandler;
  return inInvocation(() => run(payload));
};
