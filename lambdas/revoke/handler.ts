/**
 * The `revoke` function. Two callers:
 * - EventBridge Scheduler at the grant's expiry (`source: 'schedule'`): expire the grant. The
 *   Scheduler delivers at least once, so a duplicate (already expired or revoked) is success.
 * - the state machine after a failure once a grant may exist (`source: 'compensation'`): roll
 *   the grant back and mark the request FAILED.
 * A revocation that fails is logged with `event: revoke_failed` (the RevokeFailures alarm's
 * metric filter) and rethrown so that the Scheduler retries it and, in the end, dead-letters it.
 */
import * as z from 'zod';
import { isDomainError } from '../../core/errors';
import { TERMINAL_STATES } from '../../core/model';
import { AssignmentBusyError, expireGrant, failGrant } from '../../core/services';
import type { RevokePayload } from '../contract';
import { type Log, silentLog } from '../http';
import { toWorkflowError, WorkflowError } from '../workflow/errors';
import { correlate, inInvocation } from '../observability/correlation';
import { awsMetricsSink, countFailure, type MetricsSink, noMetrics } from '../observability/emf';
import { awsDeps, awsLog, type DepsSource, resolveDeps } from '../composition';

/** The log `event` value the RevokeFailures metric filter matches (infra/constructs/monitoring.ts). */
export const REVOKE_FAILED_EVENT = 'revoke_failed';

const requestId = z.string().min(1).max(64);
export const revokePayloadSchema = z.discriminatedUnion('source', [
  z.object({ requestId, source: z.literal('schedule') }),
  z.object({ requestId, source: z.literal('compensation'), cause: z.string().max(32_768).optional() }),
]);

export interface RevokeResult {
  requestId: string;
  outcome: 'revoked' | 'duplicate' | 'not_found';
  state?: string;
}

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
      const request =
        payload.source === 'schedule'
          ? await expireGrant(deps, { requestId: payload.requestId })
          : await failGrant(deps, { requestId: payload.requestId, reason: payload.cause ? `Rolled back: ${payload.cause}` : 'Rolled back after a workflow failure.' });
      log.info('revoked', { requestId: payload.requestId, source: payload.source, state: request.state });
      return { requestId: payload.requestId, outcome: 'revoked', state: request.state };
    } catch (e) {
      if (isDomainError(e) && e.code === 'NOT_FOUND') {
        // A schedule whose request is gone: nothing to revoke, and retrying cannot change that.
        log.warn('revoke for an unknown request', { requestId: payload.requestId, source: payload.source });
        return { requestId: payload.requestId, outcome: 'not_found' };
      }
      if (isDomainError(e) && e.code === 'ILLEGAL_TRANSITION') {
        const current = await deps.requests.get(payload.requestId);
        if (current && TERMINAL_STATES.includes(current.state)) {
          log.info('duplicate revoke ignored', { requestId: payload.requestId, source: payload.source, state: current.state });
          return { requestId: payload.requestId, outcome: 'duplicate', state: current.state };
        }
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
