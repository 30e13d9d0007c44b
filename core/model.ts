/**
 * The access-request domain model. Everything here is plain data so that it can be stored in
 * DynamoDB, sent over the bridge and rendered on cards without translation layers.
 * Times are ISO 8601 strings (UTC, millisecond precision) in records; the Clock port speaks epoch ms.
 */

export const REQUEST_STATES = [
  'PENDING_APPROVAL',
  'APPROVED',
  'GRANTING',
  'ACTIVE',
  'REVOKING',
  'EXPIRED',
  'REVOKED',
  'DENIED',
  'TIMED_OUT',
  'CANCELLED',
  'FAILED',
] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

export const TERMINAL_STATES: readonly RequestState[] = ['EXPIRED', 'REVOKED', 'DENIED', 'TIMED_OUT', 'CANCELLED', 'FAILED'];

/** Every notice the backend sends the bot about a request; the one list (contract/notify.ts validates against it). */
export const NOTIFICATION_EVENTS = [
  'submitted',
  'approval_requested',
  'vote_recorded',
  'approved',
  'denied',
  'timed_out',
  'cancelled',
  'granting',
  'active',
  'expiring_soon',
  'extended',
  'expired',
  'revoked',
  'failed',
  /** Only updates posted cards (the live-sessions line); the requester was told of the end already. */
  'sessions_ended',
  'break_glass_used',
  'review_acknowledged',
  /** An undecided request's approvers were reminded (a reply in the approval card's thread). */
  'reminder',
  /** An undecided request was escalated to its rule's secondary approvers (core/reminders.ts). */
  'escalated',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/**
 * A notice a change produced, waiting in the request's notice outbox: `version` is the version of
 * the change that produced it (the bot's dedupe key is request, event and this version).
 */
export interface PendingNotice {
  event: NotificationEvent;
  version: number;
}

/** Who did something. Always derived from an authenticated source, never from card data. */
export interface Actor {
  /** Identity Center (identitystore) user id. The key for eligibility and self-approval checks. */
  userId: string;
  /** Entra ID object id from the Teams activity (`activity.from.aadObjectId`). */
  aadObjectId?: string;
  /** Identity Center userName (usually the UPN). */
  userName: string;
  displayName: string;
}

/** The system itself (workflow, scheduler, reconciler) acting without a human. */
export const SYSTEM_ACTOR: Actor = { userId: 'system', userName: 'system', displayName: 'JIT Access (system)' };

export type VoteDecision = 'approve' | 'deny';

export interface Vote {
  approver: Actor;
  decision: VoteDecision;
  reason?: string;
  at: string;
  /** The step-up sign-in this vote was cast with, when the request's policy required one. */
  stepUp?: StepUpEvidence;
}

/**
 * What a policy rule demands of a fresh Entra sign-in (docs/POLICY.md `stepUp`). Every listed
 * value must be present: `acrs` holds Conditional Access authentication context ids (c1..c99),
 * `amr` authentication methods (`mfa`). Merged rules list the union and the smallest age.
 */
export interface StepUpRequirement {
  acrs: string[];
  amr: string[];
  /** How old the token's `iat` may be when the vote or request arrives. */
  maxTokenAgeSeconds: number;
}

/** The claims of the user's sign-in that met a StepUpRequirement, as recorded on a vote and in the audit trail. */
export interface StepUpEvidence {
  /** `acrs` when the rule named an authentication context, else `amr`. */
  method: 'acrs' | 'amr';
  /** The required values the token carried (e.g. ["c1"] or ["mfa"]). */
  values: string[];
  /** The token's `iat`. */
  tokenIssuedAt: string;
  /** How old the token was when the bridge accepted it. */
  tokenAgeSeconds: number;
}

/** The unit Identity Center grants: one user, one permission set, one account. */
export interface AssignmentKey {
  accountId: string;
  permissionSetArn: string;
  userId: string;
}

export function assignmentKeyId(key: AssignmentKey): string {
  return `${key.accountId}|${key.permissionSetArn}|${key.userId}`;
}

/** The effective, merged policy terms that were applied to a request (see policy/evaluate). */
export interface EffectiveTerms {
  ruleIds: string[];
  maxDurationSeconds: number;
  defaultDurationSeconds: number;
  /** Upper bound for the whole grant including extensions. */
  maxTotalDurationSeconds: number;
  approvalsRequired: number;
  approverGroups: string[];
  ticketRequired: boolean;
  ticketPatterns: string[];
  breakGlassAllowed: boolean;
  breakGlassMaxDurationSeconds: number;
  approvalTimeoutSeconds: number;
  /**
   * Whether expiry also ends the role sessions already issued (early revocation always does).
   * Absent on requests stored before the key existed: read it with `endsSessionsAtExpiry`.
   */
  endSessionsAtExpiry?: boolean;
  /** Fresh-sign-in requirements (absent on requests stored before step-up existed: none). */
  stepUp?: { approve?: StepUpRequirement; breakGlass?: StepUpRequirement };
  /** Reminders and escalation while undecided (docs/POLICY.md `reminders`); absent: none. */
  reminders?: ReminderTerms;
}

/** A Teams tag (a named group of team members) that a message can @mention instead of people. */
export interface TeamsTag {
  id: string;
  name: string;
}

/**
 * When an undecided request reminds its approvers and escalates, counted from when the approval
 * card was posted. The approval deadline never moves: every step lies before it (policy/validate).
 */
export interface ReminderTerms {
  /** The first reminder. */
  afterSeconds: number;
  /** Further reminders this far apart; absent: one reminder only. */
  everySeconds?: number;
  /** Mention this tag in reminders instead of the approvers one by one. */
  tag?: TeamsTag;
  /** When, and to whom, the request is escalated; absent: never. */
  escalation?: {
    afterSeconds: number;
    /** Groups whose members may vote once the request is escalated (the server checks). */
    groups: string[];
    /** A second Teams channel that gets the approval card on escalation. */
    channelId?: string;
    tag?: TeamsTag;
  };
}

/** What reminding an undecided request has done so far (core/reminders.ts). */
export interface ReminderState {
  /** Reminders sent, numbered from 1 (an escalation counts as the reminder it replaces). */
  sent: number;
  lastAt: string;
  /** Set once, when the request was escalated: from then on these groups' members may vote too. */
  escalation?: { at: string; groups: string[]; channelId?: string };
}

export type Route = 'approval' | 'auto_approve' | 'break_glass';

export interface GrantWindow {
  startsAt: string;
  endsAt: string;
  /** Total granted seconds including extensions; bounded by maxTotalDurationSeconds. */
  totalSeconds: number;
  extensions: number;
}

export interface AccessRequest {
  id: string;
  /** Idempotency key chosen by the client (the bot); unique per requester. */
  clientRequestId: string;
  /** Incremented on every write; the compare-and-swap guard. */
  version: number;
  state: RequestState;
  requester: Actor;
  accountId: string;
  accountName: string;
  permissionSetName: string;
  permissionSetArn: string;
  requestedDurationSeconds: number;
  justification: string;
  ticketId?: string;
  route: Route;
  terms: EffectiveTerms;
  /** Human-readable policy decision reason, shown on cards and written to the audit log. */
  policyReason: string;
  votes: Vote[];
  createdAt: string;
  updatedAt: string;
  /**
   * When an undecided request times out. Counted from when the approval card was posted (a bot
   * outage delays the card and so moves the deadline); provisional, from submit, until then.
   */
  approvalDeadline: string;
  /** When the approval card reached the bot (approval route only): set once, never re-posted. */
  cardPostedAt?: string;
  /** Reminders and escalation of the undecided request (absent: none yet). */
  reminders?: ReminderState;
  decidedAt?: string;
  decidedBy?: Actor;
  decisionReason?: string;
  grant?: GrantWindow;
  endedAt?: string;
  endedBy?: Actor;
  endReason?: string;
  failureReason?: string;
  /** Break-glass only: who acknowledged the post-incident review, and when. */
  review?: { acknowledgedBy: Actor; at: string; note?: string };
  /**
   * Set when revocation starts (state REVOKING): which terminal state it ends in, and why. A retry
   * after a crash finishes the same revocation instead of guessing its intent.
   */
  revocation?: { target: 'EXPIRED' | 'REVOKED' | 'FAILED'; by: Actor; reason: string; at: string };
  /** The `grant.endsAt` the expiring-soon notice was sent for (an extension re-arms the notice). */
  expiringSoonNotifiedFor?: string;
  /**
   * Set once the role sessions already issued for this grant were ended (core/services/session-cut.ts):
   * a deny for sessions issued before `cutoff` was provisioned to `accountId` at `at`.
   */
  sessionsEnded?: { permissionSetArn: string; accountId: string; userId: string; cutoff: string; at: string };
}

/**
 * What the request store keeps. The Step Functions task token lives here and only here: it is
 * never returned by the bridge and never placed on a card.
 */
export interface StoredRequest extends AccessRequest {
  taskToken?: string;
  executionArn?: string;
  /**
   * Audit events written in the same conditional write as the change they describe (a transactional
   * outbox): a crash between the write and the audit append cannot lose them. They are appended to
   * the audit sink right after the write and cleared; reconcile flushes any that remain.
   */
  auditOutbox?: AuditEvent[];
  /**
   * Notices for the bot, written in the same conditional write as the change that produced them
   * (the same transactional outbox as the audit events): the answer to the caller never waits on
   * the bot. They are flushed after the write by the notice flush (core/services/context.ts
   * flushNotices, run by the notify function on an asynchronous invoke) and cleared; reconcile
   * flushes any that remain.
   */
  noticeOutbox?: PendingNotice[];
}

/**
 * The fields of a StoredRequest that never leave the server: the task token is a bearer credential
 * for the execution, and the outboxes are bookkeeping. The type check below fails when StoredRequest
 * gains a field that is not listed here.
 */
export const SERVER_ONLY_FIELDS = ['taskToken', 'executionArn', 'auditOutbox', 'noticeOutbox'] as const;
type ServerOnlyField = (typeof SERVER_ONLY_FIELDS)[number];
const _allServerFieldsListed: Record<Exclude<keyof StoredRequest, keyof AccessRequest>, true> = { taskToken: true, executionArn: true, auditOutbox: true, noticeOutbox: true } satisfies Record<ServerOnlyField, true>;
void _allServerFieldsListed;
const SERVER_ONLY: ReadonlySet<string> = new Set(SERVER_ONLY_FIELDS);

/**
 * A deep copy of `value` without the server-only fields, at any depth. The one place they are
 * stripped: core's request views, the bridge's response bodies (a last line of defense should a
 * service ever hand back a StoredRequest) and the notices to the bot all go through here.
 */
export function stripServerFields<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => stripServerFields(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (!SERVER_ONLY.has(k)) out[k] = stripServerFields(v);
    }
    return out as T;
  }
  return value;
}

/** A request as it may leave the server (bridge responses, notices). */
export function toRequestView(request: StoredRequest): AccessRequest {
  return stripServerFields<AccessRequest>(request);
}

/** Reference-counted ownership of one live assignment. One entry per AssignmentKey. */
export type AssignmentOwnership =
  /** We checked before granting and the assignment did not exist: we created it and may delete it. */
  | 'OURS'
  /** It existed before we ever granted it: never delete it. */
  | 'EXTERNAL';

export interface LedgerEntry {
  key: AssignmentKey;
  ownership?: AssignmentOwnership;
  /** Request ids whose grants currently need this assignment live. */
  activeGrantIds: string[];
  /**
   * The last grant was released and our delete is under way. While set, no grant may acquire the
   * entry: a create racing a delete could otherwise leave an active grant without an assignment.
   */
  deleting?: boolean;
  /**
   * While a delete is under way, until when its deleter holds it. Another caller (a duplicate
   * delivery of the same revocation) backs off until then; a failed or abandoned delete is taken
   * over by whoever comes next.
   */
  deleteLeaseUntil?: string;
  version: number;
  updatedAt: string;
}

/**
 * Whether a ledger entry still matters to reconcile: a grant holds it, it records an assignment that
 * existed before us (drift must not report it), or our delete of it is under way. An entry released
 * by its last grant is history: the DynamoDB ledger keeps it out of its sparse `byLive` index
 * (lambdas/adapters/dynamo-live-index.ts), so the sweep's reads follow live grants, not history.
 */
export function isLiveLedgerEntry(e: Pick<LedgerEntry, 'activeGrantIds' | 'ownership' | 'deleting'>): boolean {
  return e.activeGrantIds.length > 0 || e.ownership === 'EXTERNAL' || e.deleting === true;
}

export type AuditAction =
  | 'request.submitted'
  | 'request.transition'
  | 'request.vote'
  | 'request.extended'
  | 'request.reviewed'
  | 'request.workflow_started'
  | 'request.approval_requested'
  | 'request.approval_wait_started'
  | 'request.expiring_soon'
  | 'request.reminded'
  | 'request.escalated'
  | 'assignment.created'
  | 'assignment.deleted'
  | 'assignment.kept_external'
  | 'assignment.kept_shared'
  | 'assignment.delete_failed'
  | 'sessions.ended'
  | 'sessions.cut_failed'
  | 'sessions.cut_cleared'
  | 'reconcile.revoked_expired'
  | 'reconcile.drift';

export interface AuditEvent {
  /** Deterministic per (request, sequence) so that replays are idempotent at the append-only sink. */
  eventId: string;
  requestId: string;
  at: string;
  actor: Actor;
  action: AuditAction;
  fromState?: RequestState;
  toState?: RequestState;
  reason: string;
  details?: Record<string, string | number | boolean | undefined>;
}

export type FindingSeverity = 'INFORMATIONAL' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/** A product-generated security finding (exported to Security Hub as ASFF by the adapter). */
export interface SecurityFinding {
  /** Stable id so that re-imports update rather than duplicate. */
  id: string;
  kind: 'break_glass_used' | 'assignment_drift' | 'revoke_failed' | 'session_cut_failed';
  severity: FindingSeverity;
  title: string;
  description: string;
  /** The member account the finding is about (the target of the assignment), not the importing account. */
  accountId: string;
  resourceId: string;
  requestId?: string;
  /** When this version of the finding was written (ASFF UpdatedAt). */
  at: string;
  /** When the condition was first seen (ASFF CreatedAt); `at` when absent. Kept across updates. */
  createdAt?: string;
  /** The condition is gone: Security Hub archives the finding (RecordState ARCHIVED). */
  resolved?: boolean;
}

/**
 * What the product remembers about a finding it imports (core/services/findings.ts): the exact
 * finding last sent, so that a lasting condition is imported once and a retry re-sends the same
 * content (same UpdatedAt: the channel does not post it again).
 */
export interface TrackedFinding {
  id: string;
  finding: SecurityFinding;
  /** The parts of the finding that make a change worth an update (not its timestamps). */
  fingerprint: string;
  /** False while `finding` has not been accepted by Security Hub: reconcile imports it again. */
  imported: boolean;
  /** Failed imports of this version so far (for the log; every failure is also counted at the edge). */
  failedAttempts: number;
  version: number;
  updatedAt: string;
}

/**
 * Whether reconcile must still look at a tracked finding: Security Hub has not accepted it yet, or
 * it is drift that is not resolved (the sweep resolves it when the assignment is gone). A resolved,
 * imported drift finding or an imported event finding is history; a drift that comes back starts
 * anew either way (core/services/findings.ts, nextVersion).
 */
export function isLiveFinding(t: Pick<TrackedFinding, 'imported' | 'finding'>): boolean {
  return !t.imported || (t.finding.kind === 'assignment_drift' && t.finding.resolved !== true);
}

/**
 * Ending live role sessions (core/services/session-cut.ts). The product adds Deny statements to a
 * permission set's inline policy; their Sid starts with this prefix, and only such statements are
 * ever changed or removed by the product (an operator's own statements are left as they are).
 */
export const SESSION_CUT_SID_PREFIX = 'JitSessionCut';

/** One user's sessions in one account, issued before `cutoff`, to be denied. */
export interface SessionCutEntry {
  requestId: string;
  userId: string;
  accountId: string;
  /** `aws:TokenIssueTime` bound: whole seconds, ISO 8601 UTC (e.g. 2026-11-30T09:50:01Z). */
  cutoff: string;
  queuedAt: string;
}

/** An entry whose deny is in the inline policy and was provisioned to its account. */
export interface AppliedSessionCut extends SessionCutEntry {
  appliedAt: string;
  /** cutoff + the permission set's SessionDuration: no session issued before the cutoff outlives it. */
  removeAfter: string;
}

/**
 * The product's session cuts on one permission set, and the lease that serializes every edit of its
 * inline policy. Compare-and-swap on `version`. DynamoDB: an item in the ledger table.
 */
export interface SessionCutState {
  permissionSetArn: string;
  /** Queued, not yet provisioned (a failed attempt leaves them here for the next one). */
  pending: SessionCutEntry[];
  applied: AppliedSessionCut[];
  /** While set and in the future, one caller is editing and provisioning the inline policy. */
  leaseUntil?: string;
  failedAttempts: number;
  lastError?: string;
  version: number;
  updatedAt: string;
}

/** Whether the reconcile sweep has work on a permission set's session cuts: queued or applied ones. */
export function isLiveSessionCut(s: Pick<SessionCutState, 'pending' | 'applied'>): boolean {
  return s.pending.length > 0 || s.applied.length > 0;
}
