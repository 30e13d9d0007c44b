/**
 * The payloads between the state machine (infra/workflow-definition.ts, infra/constructs) and the
 * Lambdas it invokes (lambdas/workflow, lambdas/notify, lambdas/revoke), and the Scheduler's revoke
 * target (lambdas/adapters/scheduler-expiry.ts). Each payload is one zod schema; the handlers
 * parse with it and the types are inferred from it. Results are what the next Choice state reads.
 */
import * as z from 'zod';

const requestId = z.string().min(1).max(64);
const optionalText = z.string().max(4096).optional();

/** Execution input. The execution name is the request id, which makes StartExecution idempotent. */
export const workflowInputSchema = z.object({ requestId });
export type WorkflowInput = z.infer<typeof workflowInputSchema>;

/** Payload of the `workflow` Lambda; one function, one action per Task state. */
export const workflowPayloadSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('validate'), requestId }),
  z.object({ action: z.literal('timed_out'), requestId }),
  z.object({ action: z.literal('closed'), requestId, error: optionalText, cause: optionalText }),
  z.object({ action: z.literal('start_grant'), requestId }),
  z.object({ action: z.literal('check_grant'), requestId, operationId: z.string().min(1).max(256), polls: z.number().int().min(0).max(1000) }),
  z.object({ action: z.literal('complete_grant'), requestId }),
  z.object({ action: z.literal('fail_grant'), requestId, error: optionalText, cause: optionalText }),
]);
export type WorkflowTaskPayload = z.infer<typeof workflowPayloadSchema>;

const route = z.enum(['approval', 'auto_approve', 'break_glass']);

export const validateResultSchema = z.object({ requestId, route, approvalTimeoutSeconds: z.number().int().min(1) });
export type ValidateResult = z.infer<typeof validateResultSchema>;

export const grantStepResultSchema = z.object({
  requestId,
  status: z.enum(['IN_PROGRESS', 'SUCCEEDED', 'FAILED']),
  operationId: z.string().optional(),
  /** Always present when FAILED: the FailGrant state reads $.grant.failureReason. */
  failureReason: z.string().optional(),
  /** Status checks made so far (0 after StartGrant): GrantStatus gives up at MAX_GRANT_POLLS. */
  polls: z.number().int().min(0),
  /** Present when IN_PROGRESS: the WaitForGrant state's SecondsPath, the wait before the next check. */
  waitSeconds: z.number().int().min(1).optional(),
});
export type GrantStepResult = z.infer<typeof grantStepResultSchema>;

/** What `timed_out`, `closed`, `complete_grant` and `fail_grant` return: the request's state after the step. */
export const stateResultSchema = z.object({ requestId, state: z.string() });
export type StateResult = z.infer<typeof stateResultSchema>;

export type WorkflowResult = ValidateResult | GrantStepResult | StateResult;

/** Payload of the `notify` Lambda's RequestApproval Task (`.waitForTaskToken`). */
export const approvalRequestedSchema = z.object({
  requestId,
  // Step Functions task tokens are opaque and up to 1024 characters (SendTaskSuccess's limit).
  taskToken: z.string().min(1).max(1024),
  /**
   * The approval wait's timeout, which the state reads back as TimeoutSecondsPath
   * (infra/constructs/approval-workflow.ts APPROVAL_TIMEOUT_PATH); the handler does not use it.
   */
  approvalTimeoutSeconds: z.number().int().min(1).optional(),
});
export type ApprovalRequestedPayload = z.infer<typeof approvalRequestedSchema>;

/** Payload of the `notify` Lambda's PostApprovalCard Task (a plain invoke, before the approval wait). */
export const postApprovalCardSchema = z.object({ action: z.literal('post_approval_card'), requestId });
export type PostApprovalCardPayload = z.infer<typeof postApprovalCardSchema>;

/**
 * Payload of the `notify` Lambda's notice flush: not a Task of the workflow but the asynchronous
 * invoke (InvocationType Event) every function sends after a change that committed notices
 * (lambdas/adapters/lambda-notices.ts). Just the request id: the notices are in its outbox.
 */
export const flushNoticesSchema = z.object({ action: z.literal('flush_notices'), requestId });
export type FlushNoticesPayload = z.infer<typeof flushNoticesSchema>;

export const noticesFlushedResultSchema = z.object({ requestId, delivered: z.number().int().min(0), dropped: z.number().int().min(0) });
export type NoticesFlushedResult = z.infer<typeof noticesFlushedResultSchema>;

export type NotifyPayload = ApprovalRequestedPayload | PostApprovalCardPayload | FlushNoticesPayload;

/** What PostApprovalCard returns: the approval wait's timeout, counted from the card's post. */
export const cardPostedResultSchema = z.object({ requestId, approvalTimeoutSeconds: z.number().int().min(1), posted: z.boolean() });
export type CardPostedResult = z.infer<typeof cardPostedResultSchema>;

export const approvalRecordedResultSchema = z.object({ requestId, recorded: z.literal(true) });
export type ApprovalRecordedResult = z.infer<typeof approvalRecordedResultSchema>;

/** Payload of the `revoke` Lambda: from the Scheduler at expiry, or from the workflow as compensation. */
export const revokePayloadSchema = z.discriminatedUnion('source', [
  z.object({ requestId, source: z.literal('schedule') }),
  z.object({ requestId, source: z.literal('compensation'), cause: z.string().max(32_768).optional() }),
]);
export type RevokePayload = z.infer<typeof revokePayloadSchema>;

export const revokeResultSchema = z.object({
  requestId,
  outcome: z.enum(['revoked', 'duplicate', 'rescheduled', 'not_found']),
  state: z.string().optional(),
});
export type RevokeResult = z.infer<typeof revokeResultSchema>;

/**
 * The waits before each Identity Center status check of a grant (the WaitForGrant state reads
 * them as SecondsPath, the workflow function hands out the next one). Identity Center finishes an
 * account assignment in a few seconds, rarely in less than one: the first check comes at 2 s and
 * the next ones every second until 4 s, so access is ACTIVE at most about a second after Identity
 * Center is done, and an approve costs 3 transitions per check (Wait, CheckGrant, GrantStatus).
 * Then it backs off to every 5 s for a slow Identity Center (the first provisioning of a
 * permission set into an account takes minutes).
 *
 * Status calls count against Identity Center's collective 20 TPS ("IAM Identity Center quotas",
 * throttle limits). A grant checks at most once a second, and at most 10 assignment writes are
 * outstanding at once (same page), so grants poll at most 10 status calls a second: half the quota,
 * leaving the rest for the writes themselves, revocations and reconcile.
 */
export const GRANT_POLL_WAITS_SECONDS: readonly number[] = [2, 1, 1, 2, 3];
export const GRANT_POLL_BACKOFF_SECONDS = 5;
/** How long a grant may stay IN_PROGRESS before the workflow gives up (and rolls it back). */
export const GRANT_POLL_BUDGET_SECONDS = 300;

/** The wait before status check `poll + 1` (0-based `poll`: 0 is the wait after StartGrant). */
export function grantPollWaitSeconds(poll: number): number {
  return GRANT_POLL_WAITS_SECONDS[poll] ?? GRANT_POLL_BACKOFF_SECONDS;
}

/** The number of status checks whose waits cover GRANT_POLL_BUDGET_SECONDS. */
export const MAX_GRANT_POLLS = (() => {
  let covered = 0;
  let polls = 0;
  while (covered < GRANT_POLL_BUDGET_SECONDS) covered += grantPollWaitSeconds(polls++);
  return polls;
})();

/** Errors the workflow handlers throw by name so that the definition's Retry/Catch can match them. */
export const WORKFLOW_ERRORS = {
  denied: 'Denied',
  cancelled: 'Cancelled',
  retryable: 'RetryableError',
  grantFailed: 'GrantFailed',
} as const;
