/**
 * The `workflow` function: one action per Task state of the approval state machine. Thin: parse
 * the payload, call the core service, shape the result for the next Choice state, and rethrow
 * errors under names the definition's Retry/Catch match.
 */
import { IllegalTransitionError } from '../../core/errors';
import { stateRefusal } from '../../core/lifecycle';
import type { AssignmentOperation } from '../../core/ports';
import {
  checkGrant,
  completeGrant,
  failGrant,
  startGrant,
  timeOutRequest,
  validateForWorkflow,
} from '../../core/services';
import type { CoreDeps } from '../../core/services/types';
import {
  type GrantStepResult,
  grantPollWaitSeconds,
  type StateResult,
  type ValidateResult,
  WORKFLOW_ERRORS,
  workflowPayloadSchema,
  type WorkflowResult,
  type WorkflowTaskPayload,
} from '../../contract/workflow';
import { type Log, silentLog } from '../http';
import { correlate, inInvocation } from '../observability/correlation';
import { awsMetricsSink, countFailure, type MetricsSink, noMetrics } from '../observability/emf';
import { awsDeps, awsLog, type DepsSource, resolveDeps } from '../composition';
import { toWorkflowError, WorkflowError } from './errors';

/** `polls`: the status checks made so far; an IN_PROGRESS result names the wait before the next one. */
function grantStep(id: string, operation: AssignmentOperation | undefined, polls: number): GrantStepResult {
  // No operation: nothing had to be written (the assignment was already live).
  if (!operation) return { requestId: id, status: 'SUCCEEDED', polls };
  const result: GrantStepResult = { requestId: id, status: operation.status, operationId: operation.operationId, polls };
  if (operation.status === 'IN_PROGRESS') result.waitSeconds = grantPollWaitSeconds(polls);
  // The FailGrant state reads $.grant.failureReason: always present when FAILED.
  if (operation.status === 'FAILED') result.failureReason = operation.failureReason ?? 'Identity Center reported the assignment as FAILED.';
  return result;
}

export function createWorkflowHandler(source: DepsSource, options: { log?: Log; metrics?: MetricsSink } = {}): (payload: WorkflowTaskPayload) => Promise<WorkflowResult> {
  const log = options.log ?? silentLog;
  const metrics = options.metrics ?? noMetrics;
  return async (raw) => {
    const parsed = workflowPayloadSchema.safeParse(raw);
    if (!parsed.success) {
      // A malformed payload is a definition bug: retrying cannot help.
      throw new WorkflowError('InvalidPayload', `Invalid workflow payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const payload = parsed.data;
    correlate(payload.requestId);
    const deps = await resolveDeps(source);
    try {
      switch (payload.action) {
        case 'validate':
          return await validate(deps, payload.requestId);
        case 'timed_out':
          return await timedOut(deps, payload.requestId, log);
        case 'closed': {
          const request = await deps.requests.get(payload.requestId);
          const state = request?.state ?? 'UNKNOWN';
          log.info('workflow closed without a grant', { requestId: payload.requestId, state, error: payload.error });
          return { requestId: payload.requestId, state };
        }
        case 'start_grant': {
          const r = await startGrant(deps, { requestId: payload.requestId });
          return grantStep(payload.requestId, r.operation, 0);
        }
        case 'check_grant': {
          const operation = await checkGrant(deps, { requestId: payload.requestId, operationId: payload.operationId });
          return grantStep(payload.requestId, operation, payload.polls + 1);
        }
        case 'complete_grant': {
          const r = await completeGrant(deps, { requestId: payload.requestId });
          return { requestId: payload.requestId, state: r.state };
        }
        case 'fail_grant': {
          const reason = [payload.error, payload.cause].filter(Boolean).join(': ') || 'The workflow failed.';
          const { outcome, request } = await failGrant(deps, { requestId: payload.requestId, reason });
          // A grant step cannot fail a request that ended another way: the definition's Catch takes it.
          if (outcome === 'already_ended') throw new IllegalTransitionError(request.state, 'FAILED', stateRefusal(request));
          return { requestId: payload.requestId, state: request.state };
        }
      }
    } catch (e) {
      const err = toWorkflowError(e);
      // A request closed before its workflow started is control flow, not a failure.
      if (err.name !== WORKFLOW_ERRORS.cancelled) countFailure(metrics, 'workflow_step');
      log.warn('workflow step failed', { action: payload.action, requestId: payload.requestId, error: err.name, message: err.message });
      throw err;
    }
  };
}

async function validate(deps: CoreDeps, id: string): Promise<ValidateResult> {
  const r = await validateForWorkflow(deps, { requestId: id });
  // Closed before its workflow's first step (cancelled at once, say): control flow, not a failure.
  if (r.outcome === 'already_ended') throw new WorkflowError(WORKFLOW_ERRORS.cancelled, `The request is already ${r.request.state}.`);
  // TimeoutSecondsPath needs a positive integer.
  return { requestId: id, route: r.route, approvalTimeoutSeconds: Math.max(1, Math.ceil(r.approvalTimeoutSeconds)) };
}

/**
 * The approval wait timed out. A vote can land in the same instant: then the request is already
 * APPROVED and the state machine goes on to grant it (AfterTimeout).
 */
async function timedOut(deps: CoreDeps, id: string, log: Log): Promise<StateResult> {
  const { outcome, request } = await timeOutRequest(deps, { requestId: id });
  if (outcome !== 'done') log.info('approval timed out after the request was decided', { requestId: id, state: request.state, outcome });
  return { requestId: id, state: request.state };
}

let awsHandler: ((payload: WorkflowTaskPayload) => Promise<WorkflowResult>) | undefined;
export const handler = (payload: WorkflowTaskPayload): Promise<WorkflowResult> => {
  awsHandler ??= createWorkflowHandler(awsDeps, { log: awsLog('workflow'), metrics: awsMetricsSink() });
  const run = awsHandler;
  return inInvocation(() => run(payload));
};
