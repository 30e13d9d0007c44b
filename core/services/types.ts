/**
 * The use cases of the product. Each one follows the same order: load, check status, check
 * authorization, check overlap/limits, then change state through `transition` with a
 * compare-and-swap write and its audit event. Edges (bridge, lambdas, sandbox) call only these.
 */
import type { Actor, AccessRequest, AssignmentKey, SecurityFinding } from '../model';
import type {
  AssignmentGateway,
  AssignmentOperation,
  AuditReader,
  AuditSink,
  Clock,
  Directory,
  ExpiryScheduler,
  FindingsSink,
  FindingsStateStore,
  GrantLedger,
  IdGenerator,
  Log,
  NoticeDispatch,
  Notifier,
  PermissionSetGateway,
  SessionCutStore,
  RequestStore,
  WorkflowGateway,
} from '../ports';
import type { Policy } from '../policy/types';
import type { CreateRequestBody, StepUpClaims } from '../api';

export interface CoreDeps {
  clock: Clock;
  ids: IdGenerator;
  requests: RequestStore;
  ledger: GrantLedger;
  directory: Directory;
  assignments: AssignmentGateway;
  scheduler: ExpiryScheduler;
  notifier: Notifier;
  /**
   * Where the notices a change committed are flushed from (the notify function, asynchronously).
   * Without it the service flushes them itself before it returns (tests, benchmarks): every
   * deployed process and the sandbox set it (lambdas/composition.ts).
   */
  notices?: NoticeDispatch;
  audit: AuditSink;
  /** The audit trail read back for the KPIs (GET /kpis); absent where nothing reads it (the KPI service refuses then). */
  auditReader?: AuditReader;
  findings: FindingsSink;
  /** What the product remembers about the findings it imports (open drift, imports to retry). */
  findingsState: FindingsStateStore;
  workflow: WorkflowGateway;
  /**
   * Ending live sessions on revoke (core/services/session-cut.ts). Optional so that a deployment or a
   * test without it keeps working; without it nothing is cut and the revoke logs that once per call.
   */
  sessionCuts?: { gateway: PermissionSetGateway; store: SessionCutStore };
  /** The current, already-validated policy. */
  policy: () => Policy;
  /** Where the services report problems they absorb (a failed best-effort notice, say). */
  log?: CoreLog;
}

/** What the services write to the one Log (core/ports): they report, they do not debug or fail loudly. */
export type CoreLog = Pick<Log, 'info' | 'warn'>;

/** Identity claimed by an authenticated edge (the bot took it from the Teams activity). */
export interface ActorClaim {
  aadObjectId?: string;
  upn?: string;
  displayName?: string;
}

export interface SubmitInput {
  actor: Actor;
  body: CreateRequestBody;
}
export interface SubmitResult {
  request: AccessRequest;
  replayed: boolean;
}

export interface VoteInput {
  requestId: string;
  actor: Actor;
  decision: 'approve' | 'deny';
  reason?: string;
  /** The voter's verified step-up sign-in, when the bot got one (required when the rule asks). */
  stepUp?: StepUpClaims;
}
export interface VoteResult {
  request: AccessRequest;
  /** True when this vote decided the request (only ever for exactly one vote). */
  decided: boolean;
  /** True when this approver had already voted: nothing changed. */
  duplicate: boolean;
}

/**
 * What a lifecycle step did, so that an edge maps the answer without reading the store again:
 * - `done`: this call made the change;
 * - `duplicate`: the same change was made before (a retry, a second delivery): nothing changed;
 * - `already_decided`: the request was decided before this step could apply: nothing changed;
 * - `already_ended`: the request had ended another way before this step: nothing changed;
 * - `rescheduled`: the expiry fired before the end of an extended grant: only the schedule moved.
 */
export type StepOutcome = 'done' | 'duplicate' | 'already_decided' | 'already_ended' | 'rescheduled';

export interface Outcome {
  outcome: StepOutcome;
  request: AccessRequest;
}

export interface ActorActionInput {
  requestId: string;
  actor: Actor;
  reason?: string;
}

export interface ExtendInput {
  requestId: string;
  actor: Actor;
  additionalMinutes: number;
}

export interface StartGrantResult {
  request: AccessRequest;
  /** Undefined when no Identity Center write was needed (already live: shared or external). */
  operation?: AssignmentOperation;
}

export interface ReconcileAction {
  kind: 'revoke_expired' | 'release_stale' | 'recreate_missing' | 'delete_orphaned' | 'restart_workflow' | 'fail_stalled' | 'flush_audit' | 'flush_notices' | 'post_approval_card';
  key: AssignmentKey;
  requestIds: string[];
  reason: string;
}
export interface ReconcileResult {
  actions: ReconcileAction[];
  drift: SecurityFinding[];
}
