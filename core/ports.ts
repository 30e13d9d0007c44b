/**
 * The ports the core services depend on. Each adapter (DynamoDB, sso-admin, Scheduler, the bot's
 * notify endpoint, in-memory for tests and the sandbox) implements one of these. Ports are small
 * on purpose so that tests can fake them with a few lines.
 */
import type {
  AccessRequest,
  AssignmentKey,
  AuditEvent,
  LedgerEntry,
  NotificationEvent,
  RequestState,
  SecurityFinding,
  SessionCutState,
  StoredRequest,
  TrackedFinding,
} from './model';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` of this clock's time (a fake clock resolves when advanced). */
  sleep(ms: number): Promise<void>;
}

/**
 * The one structured log of the product: the bot, the functions, the sandbox and the core
 * services (which use only info and warn) all write through it. Details are ids and codes, never
 * tokens or card data; the edges redact what slips through.
 */
export interface Log {
  debug(message: string, details?: Record<string, unknown>): void;
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export interface IdGenerator {
  /** A new unique, URL-safe, sortable id (e.g. `req-01J...`). */
  requestId(): string;
}

export interface RequestQuery {
  requesterUserId?: string;
  states?: readonly RequestState[];
  /** Only requests whose audit outbox still holds events (reconcile's backstop, whatever their state). */
  withAuditOutbox?: boolean;
  /** Only requests whose notice outbox still holds notices (reconcile's backstop, whatever their state). */
  withNoticeOutbox?: boolean;
  limit?: number;
}

export interface RequestStore {
  get(id: string): Promise<StoredRequest | undefined>;
  findByClientRequestId(requesterUserId: string, clientRequestId: string): Promise<StoredRequest | undefined>;
  /** Conditional put: throws AlreadyExistsError if the id (or the requester's clientRequestId) is taken. */
  create(request: StoredRequest): Promise<void>;
  /**
   * Compare-and-swap: writes `next` (whose version must be expectedVersion + 1) only if the stored
   * version equals expectedVersion; otherwise throws ConcurrentModificationError.
   */
  update(next: StoredRequest, expectedVersion: number): Promise<void>;
  list(query: RequestQuery): Promise<StoredRequest[]>;
  /**
   * Removes the audit outbox of `id` once its events are in the audit sink, only if the stored
   * version is still `version` (no version bump: this is bookkeeping, not a change). A newer write
   * carries the outbox forward, so losing this race is harmless.
   */
  clearAuditOutbox(id: string, version: number): Promise<void>;
  /** The same for the notice outbox, once its notices reached the bot. */
  clearNoticeOutbox(id: string, version: number): Promise<void>;
}

/**
 * Reference-counted record of the assignments this product manages. All writes are conditional on
 * `version` (compare-and-swap) and throw ConcurrentModificationError on a lost race.
 */
export interface GrantLedger {
  get(key: AssignmentKey): Promise<LedgerEntry | undefined>;
  /** Create (expectedVersion undefined: must not exist) or replace (must match expectedVersion). */
  put(entry: LedgerEntry, expectedVersion: number | undefined): Promise<void>;
  /** The live entries (isLiveLedgerEntry): held by a grant, external, or being deleted. Never the released history. */
  list(): Promise<LedgerEntry[]>;
}

export interface DirectoryUser {
  userId: string;
  userName: string;
  displayName: string;
}

export interface DirectoryGroup {
  groupId: string;
  displayName: string;
}

/** Identity Center's identity store. */
export interface Directory {
  /** Maps a Teams user's UPN or email (or Entra object id, when externalId matching is configured). */
  findUser(login: { upn?: string; aadObjectId?: string }): Promise<DirectoryUser | undefined>;
  groupsOf(userId: string): Promise<DirectoryGroup[]>;
}

export type AssignmentOperationStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';

export interface AssignmentOperation {
  /** Identity Center's request id for the asynchronous create or delete. */
  operationId: string;
  status: AssignmentOperationStatus;
  failureReason?: string;
}

/**
 * Identity Center account assignments. Writes are asynchronous: start returns an operation whose
 * status must be polled. Adapters retry ThrottlingException / ConflictException / 5xx themselves.
 */
export interface AssignmentGateway {
  /** Whether the assignment is live right now. */
  exists(key: AssignmentKey): Promise<boolean>;
  startCreate(key: AssignmentKey): Promise<AssignmentOperation>;
  startDelete(key: AssignmentKey): Promise<AssignmentOperation>;
  createStatus(operationId: string): Promise<AssignmentOperation>;
  deleteStatus(operationId: string): Promise<AssignmentOperation>;
  /** All live USER assignments on one permission set in one account (for reconcile). */
  listAssignments(accountId: string, permissionSetArn: string): Promise<AssignmentKey[]>;
}

export interface ExpiryScheduler {
  /** Idempotent: schedules (or re-schedules) the revocation of `requestId` at `at` (ISO). */
  scheduleExpiry(requestId: string, at: string): Promise<void>;
  /** Idempotent: a missing schedule is not an error. */
  cancelExpiry(requestId: string): Promise<void>;
}

/** The notice list lives in the model (a request's notice outbox holds them); re-exported here, beside the Notifier. */
export { NOTIFICATION_EVENTS, type NotificationEvent } from './model';

export interface Notifier {
  /**
   * Tells the humans about a request: the bot re-renders every card from `request`. `noticeVersion`
   * is the version of the change the notice is about (default: the request's), the bot's dedupe
   * key together with the request and the event: a notice flushed late carries the newest request.
   */
  requestChanged(event: NotificationEvent, request: AccessRequest, noticeVersion?: number): Promise<void>;
  findings(findings: SecurityFinding[]): Promise<void>;
}

/**
 * Asks for a request's notice outbox to be flushed elsewhere, later (in AWS: an asynchronous invoke
 * of the notify function; in the sandbox: the same handler through its function registry).
 * Resolves once the ask is accepted, never after the bot answered: the caller's answer must not
 * wait on the bot. A lost ask is harmless: reconcile flushes stranded notices.
 */
export interface NoticeDispatch {
  dispatch(requestId: string): Promise<void>;
}

/** Append-only. Duplicate eventIds are ignored (idempotent replays), never overwritten. */
export interface AuditSink {
  append(events: readonly AuditEvent[]): Promise<void>;
}

/**
 * Reads the audit trail back, for the KPIs (core/kpi.ts): the audit table in AWS, the audit log
 * file in the sandbox. Read-only; the AuditSink stays the only writer.
 */
export interface AuditReader {
  /** Every stored event whose `at` is at or after `sinceIso`, in any order (a replayed event may repeat). */
  eventsSince(sinceIso: string): Promise<AuditEvent[]>;
}

export interface FindingsSink {
  /** Imports the findings; throws when any of them was not accepted (the caller keeps them to retry). */
  publish(findings: readonly SecurityFinding[]): Promise<void>;
}

/**
 * The findings the product has imported or must import, keyed by finding id. Every write is a
 * compare-and-swap on `version` (undefined: must not exist yet). DynamoDB: items in the ledger table.
 */
export interface FindingsStateStore {
  get(id: string): Promise<TrackedFinding | undefined>;
  put(next: TrackedFinding, expectedVersion: number | undefined): Promise<void>;
  /** The live tracked findings (isLiveFinding): waiting to be imported, or unresolved drift. */
  list(): Promise<TrackedFinding[]>;
}

export type WorkflowOutcome =
  | { approved: true; approvedBy: string }
  | { approved: false; error: 'Denied' | 'Cancelled'; cause: string };

/** The Step Functions execution that drives one request (named after the request id). */
export interface WorkflowGateway {
  /** Idempotent: starting an execution that already exists for this request is not an error. */
  start(requestId: string): Promise<{ executionArn: string }>;
  /** SendTaskSuccess / SendTaskFailure for the approval wait. */
  resume(taskToken: string, outcome: WorkflowOutcome): Promise<void>;
}

export type ProvisioningStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';

export interface ProvisioningOperation {
  /** ProvisionPermissionSet's request id, polled with DescribePermissionSetProvisioningStatus. */
  operationId: string;
  status: ProvisioningStatus;
  failureReason?: string;
}

/**
 * A permission set's inline policy and its provisioning (sso-admin). Adapters pace every call with
 * the same Identity Center limiter as the assignment writes and retry throttling and 5xx.
 */
export interface PermissionSetGateway {
  /** The inline policy document, or undefined when the permission set has none. */
  getInlinePolicy(permissionSetArn: string): Promise<string | undefined>;
  putInlinePolicy(permissionSetArn: string, document: string): Promise<void>;
  deleteInlinePolicy(permissionSetArn: string): Promise<void>;
  /** Pushes the permission set (with its inline policy) to the IAM role in one account; asynchronous. */
  startProvision(permissionSetArn: string, accountId: string): Promise<ProvisioningOperation>;
  provisionStatus(operationId: string): Promise<ProvisioningOperation>;
  /** The permission set's SessionDuration in seconds (PT1H when unset). */
  sessionDurationSeconds(permissionSetArn: string): Promise<number>;
}

/** Compare-and-swap store of the session cuts per permission set (see SessionCutState). */
export interface SessionCutStore {
  get(permissionSetArn: string): Promise<SessionCutState | undefined>;
  /** Create (expectedVersion undefined: must not exist) or replace (must match); else ConcurrentModificationError. */
  put(next: SessionCutState, expectedVersion: number | undefined): Promise<void>;
  /** The permission sets with queued or applied cuts (isLiveSessionCut). */
  list(): Promise<SessionCutState[]>;
}
