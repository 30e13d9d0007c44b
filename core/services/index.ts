export { resolveActor, submitRequest, getRequest, listRequests, eligibility, startWorkflow, MAX_OPEN_REQUESTS_PER_USER } from './requests';
export { validateForWorkflow, postApprovalCard, recordApprovalToken, castVote, timeOutRequest, cancelRequest } from './approval';
export type { CardPosting, ValidateOutcome } from './approval';
export { startGrant, checkGrant, completeGrant, failGrant } from './grant';
export { expireGrant, revokeEarly, extendGrant, acknowledgeReview } from './revoke';
export { reconcile, notifyExpiringSoon, EXPIRY_GRACE_MS, WORKFLOW_START_GRACE_MS, STALLED_GRANT_MS, CARD_POST_GRACE_MS, NOTICE_FLUSH_GRACE_MS } from './reconcile';
export { AssignmentBusyError, DELETE_LEASE_MS } from './assignments';
export { flushNotices, toView, type NoticeFlush } from './context';
