/**
 * In-memory implementations of every port, for tests, benchmarks and property checks. They keep the
 * contracts of the real adapters (compare-and-swap, idempotent appends, asynchronous assignment
 * operations) so that tests exercise the same failure modes.
 */
import { AlreadyExistsError, ConcurrentModificationError, DependencyError, OpenRequestExistsError } from '../errors';
import { isOpen } from '../lifecycle';
import type { AssignmentKey, AuditEvent, LedgerEntry, SecurityFinding, SessionCutState, StoredRequest, AccessRequest, TrackedFinding } from '../model';
import { assignmentKeyId, isLiveFinding, isLiveLedgerEntry, isLiveSessionCut } from '../model';
import type {
  AssignmentGateway,
  AssignmentOperation,
  AuditReader,
  AuditSink,
  Clock,
  Directory,
  DirectoryGroup,
  DirectoryUser,
  ExpiryScheduler,
  FindingsSink,
  FindingsStateStore,
  GrantLedger,
  IdGenerator,
  NotificationEvent,
  Notifier,
  RequestQuery,
  RequestStore,
  SessionCutStore,
  WorkflowGateway,
  WorkflowOutcome,
} from '../ports';
import type { Policy } from '../policy/types';
import type { CoreDeps } from '../services/types';

const clone = <T>(v: T): T => structuredClone(v);

/**
 * A clock that only moves when told. With `autoAdvance`, `sleep` moves time forward at once, so code
 * that polls with back-off runs instantly and deterministically.
 */
export class FakeClock implements Clock {
  private sleepers: Array<{ at: number; resolve: () => void }> = [];
  constructor(
    private current = Date.UTC(2026, 0, 1, 9, 0, 0),
    private readonly autoAdvance = true,
  ) {}
  now(): number {
    return this.current;
  }
  sleep(ms: number): Promise<void> {
    if (this.autoAdvance) {
      this.current += Math.max(0, ms);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.sleepers.push({ at: this.current + ms, resolve }));
  }
  /** Moves time forward and wakes every sleeper that is due, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers[0];
      if (!next || next.at > target) break;
      this.sleepers.shift();
      this.current = next.at;
      next.resolve();
      // Let the woken code run (and maybe sleep again) before time moves on.
      for (let i = 0; i < 20; i++) await Promise.resolve();
    }
    this.current = target;
  }
  set(ms: number): void {
    this.current = ms;
  }
}

export class SequentialIds implements IdGenerator {
  private n = 0;
  constructor(private readonly prefix = 'req-') {}
  requestId(): string {
    this.n += 1;
    return `${this.prefix}${String(this.n).padStart(12, '0')}`;
  }
}

const sameAccess = (a: StoredRequest, b: StoredRequest) => a.requester.userId === b.requester.userId && a.accountId === b.accountId && a.permissionSetName === b.permissionSetName;

export class MemoryRequestStore implements RequestStore {
  readonly items = new Map<string, StoredRequest>();
  private readonly byClientId = new Map<string, string>();
  writes = 0;

  async get(id: string): Promise<StoredRequest | undefined> {
    const r = this.items.get(id);
    return r ? clone(r) : undefined;
  }
  async findByClientRequestId(requesterUserId: string, clientRequestId: string): Promise<StoredRequest | undefined> {
    const id = this.byClientId.get(`${requesterUserId}\u0000${clientRequestId}`);
    return id ? this.get(id) : undefined;
  }
  async create(request: StoredRequest): Promise<void> {
    const clientKey = `${request.requester.userId}\u0000${request.clientRequestId}`;
    if (this.items.has(request.id)) throw new AlreadyExistsError('Request', request.id);
    if (this.byClientId.has(clientKey)) throw new AlreadyExistsError('Client request id', request.clientRequestId);
    // Checked and written without an await in between: atomic, like the DynamoDB store's guard item.
    const open = isOpen(request.state) ? [...this.items.values()].find((r) => isOpen(r.state) && sameAccess(r, request)) : undefined;
    if (open) throw new OpenRequestExistsError(open.id);
    this.items.set(request.id, clone(request));
    this.byClientId.set(clientKey, request.id);
    this.writes += 1;
  }
  /** Puts back a record that was stored before (a reload): no create rules, which held when it was created. */
  restore(request: StoredRequest): void {
    this.items.set(request.id, clone(request));
    this.byClientId.set(`${request.requester.userId}\u0000${request.clientRequestId}`, request.id);
  }
  async update(next: StoredRequest, expectedVersion: number): Promise<void> {
    const current = this.items.get(next.id);
    if (!current || current.version !== expectedVersion || next.version !== expectedVersion + 1) {
      throw new ConcurrentModificationError('Request', next.id);
    }
    this.items.set(next.id, clone(next));
    this.writes += 1;
  }
  async list(query: RequestQuery): Promise<StoredRequest[]> {
    const out = [...this.items.values()].filter(
      (r) =>
        (!query.requesterUserId || r.requester.userId === query.requesterUserId) &&
        (!query.states || query.states.includes(r.state)) &&
        (!query.withAuditOutbox || (r.auditOutbox?.length ?? 0) > 0) &&
        (!query.withNoticeOutbox || (r.noticeOutbox?.length ?? 0) > 0),
    );
    return clone(query.limit ? out.slice(0, query.limit) : out);
  }
  async clearAuditOutbox(id: string, version: number): Promise<void> {
    const current = this.items.get(id);
    if (current && current.version === version) {
      const { auditOutbox: _drop, ...rest } = current;
      this.items.set(id, rest);
    }
  }
  async clearNoticeOutbox(id: string, version: number): Promise<void> {
    const current = this.items.get(id);
    if (current && current.version === version) {
      const { noticeOutbox: _drop, ...rest } = current;
      this.items.set(id, rest);
    }
  }
}

export class MemoryGrantLedger implements GrantLedger {
  readonly entries = new Map<string, LedgerEntry>();
  async get(key: AssignmentKey): Promise<LedgerEntry | undefined> {
    const e = this.entries.get(assignmentKeyId(key));
    return e ? clone(e) : undefined;
  }
  async put(entry: LedgerEntry, expectedVersion: number | undefined): Promise<void> {
    const id = assignmentKeyId(entry.key);
    const current = this.entries.get(id);
    if (expectedVersion === undefined ? current !== undefined : current?.version !== expectedVersion) {
      throw new ConcurrentModificationError('Ledger entry', id);
    }
    this.entries.set(id, clone(entry));
  }
  async list(): Promise<LedgerEntry[]> {
    return clone([...this.entries.values()].filter(isLiveLedgerEntry));
  }
}

export interface MemoryUser extends DirectoryUser {
  upn: string;
  aadObjectId?: string;
  groups: DirectoryGroup[];
}

export class MemoryDirectory implements Directory {
  constructor(readonly users: MemoryUser[] = []) {}
  async findUser(login: { upn?: string; aadObjectId?: string }): Promise<DirectoryUser | undefined> {
    const u = this.users.find((x) => (login.aadObjectId && x.aadObjectId === login.aadObjectId) || (login.upn && x.upn.toLowerCase() === login.upn.toLowerCase()));
    return u ? { userId: u.userId, userName: u.userName, displayName: u.displayName } : undefined;
  }
  async groupsOf(userId: string): Promise<DirectoryGroup[]> {
    return clone(this.users.find((u) => u.userId === userId)?.groups ?? []);
  }
}

interface PendingOperation {
  kind: 'create' | 'delete';
  key: AssignmentKey;
  pollsLeft: number;
  failureReason?: string;
  done?: AssignmentOperation;
}

/**
 * Identity Center account assignments with asynchronous operations: an operation completes after a
 * set number of status polls (or fails, when a failure was injected).
 */
export class MemoryAssignmentGateway implements AssignmentGateway {
  readonly live = new Map<string, AssignmentKey>();
  private readonly ops = new Map<string, PendingOperation>();
  private seq = 0;
  private failures: Array<{ kind: 'create' | 'delete'; reason: string }> = [];
  /** Every write started, in order (what a test asserts "never deleted" and "never doubled" on). */
  readonly writes: Array<{ kind: 'create' | 'delete'; key: AssignmentKey }> = [];

  constructor(private readonly pollsToComplete = 1) {}

  /** An assignment someone else created (not through JIT access). */
  preexisting(key: AssignmentKey): void {
    this.live.set(assignmentKeyId(key), clone(key));
  }
  failNext(kind: 'create' | 'delete', reason = 'injected failure'): void {
    this.failures.push({ kind, reason });
  }
  isLive(key: AssignmentKey): boolean {
    return this.live.has(assignmentKeyId(key));
  }

  async exists(key: AssignmentKey): Promise<boolean> {
    return this.live.has(assignmentKeyId(key));
  }
  async startCreate(key: AssignmentKey): Promise<AssignmentOperation> {
    return this.start('create', key);
  }
  async startDelete(key: AssignmentKey): Promise<AssignmentOperation> {
    return this.start('delete', key);
  }
  async createStatus(operationId: string): Promise<AssignmentOperation> {
    return this.poll(operationId);
  }
  async deleteStatus(operationId: string): Promise<AssignmentOperation> {
    return this.poll(operationId);
  }
  async listAssignments(accountId: string, permissionSetArn: string): Promise<AssignmentKey[]> {
    return clone([...this.live.values()].filter((k) => k.accountId === accountId && k.permissionSetArn === permissionSetArn));
  }

  private start(kind: 'create' | 'delete', key: AssignmentKey): AssignmentOperation {
    this.seq += 1;
    const operationId = `op-${kind}-${this.seq}`;
    const i = this.failures.findIndex((f) => f.kind === kind);
    const failureReason = i >= 0 ? this.failures.splice(i, 1)[0]!.reason : undefined;
    this.writes.push({ kind, key: clone(key) });
    const op: PendingOperation = { kind, key: clone(key), pollsLeft: this.pollsToComplete, ...(failureReason ? { failureReason } : {}) };
    this.ops.set(operationId, op);
    if (this.pollsToComplete <= 0) return this.settle(operationId, op);
    return { operationId, status: 'IN_PROGRESS' };
  }

  private poll(operationId: string): AssignmentOperation {
    const op = this.ops.get(operationId);
    if (!op) return { operationId, status: 'FAILED', failureReason: 'No such operation' };
    if (op.done) return op.done;
    op.pollsLeft -= 1;
    if (op.pollsLeft > 0) return { operationId, status: 'IN_PROGRESS' };
    return this.settle(operationId, op);
  }

  private settle(operationId: string, op: PendingOperation): AssignmentOperation {
    if (op.failureReason) {
      op.done = { operationId, status: 'FAILED', failureReason: op.failureReason };
    } else {
      if (op.kind === 'create') this.live.set(assignmentKeyId(op.key), op.key);
      else this.live.delete(assignmentKeyId(op.key));
      op.done = { operationId, status: 'SUCCEEDED' };
    }
    return op.done;
  }
}

export class MemoryScheduler implements ExpiryScheduler {
  readonly schedules = new Map<string, string>();
  async scheduleExpiry(requestId: string, at: string): Promise<void> {
    this.schedules.set(requestId, at);
  }
  async cancelExpiry(requestId: string): Promise<void> {
    this.schedules.delete(requestId);
  }
  /** Schedules due at `nowMs`, earliest first. */
  due(nowMs: number): string[] {
    return [...this.schedules.entries()].filter(([, at]) => Date.parse(at) <= nowMs).sort((a, b) => a[1].localeCompare(b[1])).map(([id]) => id);
  }
}

/**
 * The bot's notify endpoint, in memory: like the bot (bot/notify.ts), a notice it already has (same
 * request, event and version: the notification id) is answered as delivered and not delivered again.
 */
export class RecordingNotifier implements Notifier {
  readonly events: Array<{ event: NotificationEvent; request: AccessRequest; noticeVersion: number }> = [];
  readonly findingBatches: SecurityFinding[][] = [];
  /** Notices sent again after they were delivered (answered DUPLICATE by the real bot). */
  duplicates = 0;
  private readonly seen = new Set<string>();
  async requestChanged(event: NotificationEvent, request: AccessRequest, noticeVersion = request.version): Promise<void> {
    const id = `${request.id}\u0000${event}\u0000${noticeVersion}`;
    if (this.seen.has(id)) {
      this.duplicates++;
      return;
    }
    this.seen.add(id);
    this.events.push({ event, request: clone(request), noticeVersion });
  }
  async findings(findings: SecurityFinding[]): Promise<void> {
    this.findingBatches.push(clone(findings));
  }
  eventsFor(requestId: string): NotificationEvent[] {
    return this.events.filter((e) => e.request.id === requestId).map((e) => e.event);
  }
}

export class MemoryAuditSink implements AuditSink, AuditReader {
  readonly events: AuditEvent[] = [];
  private readonly ids = new Set<string>();
  async append(events: readonly AuditEvent[]): Promise<void> {
    for (const e of events) {
      if (this.ids.has(e.eventId)) continue;
      this.ids.add(e.eventId);
      this.events.push(clone(e));
    }
  }
  forRequest(requestId: string): AuditEvent[] {
    return this.events.filter((e) => e.requestId === requestId);
  }
  async eventsSince(sinceIso: string): Promise<AuditEvent[]> {
    // As the audit table's Scan filter `at >= :since` compares: strings, by their UTF-8 bytes (Amazon
    // DynamoDB Developer Guide, "Comparison operator and function reference"), not as times.
    return this.events.filter((e) => e.at >= sinceIso).map(clone);
  }
}

/**
 * Like Security Hub: each finding is accepted or refused on its own, and a call with any refusal
 * fails (what the AWS adapter does with FailedFindings). `refuse` decides refusals in tests.
 */
export class MemoryFindingsSink implements FindingsSink {
  readonly findings = new Map<string, SecurityFinding>();
  /** Every accepted import, in order (a re-import of the same finding is a second entry). */
  readonly imports: SecurityFinding[] = [];
  refuse?: (finding: SecurityFinding) => string | undefined;
  async publish(findings: readonly SecurityFinding[]): Promise<void> {
    const refused: string[] = [];
    for (const f of findings) {
      const reason = this.refuse?.(f);
      if (reason) {
        refused.push(`${f.id}: ${reason}`);
        continue;
      }
      this.findings.set(f.id, clone(f));
      this.imports.push(clone(f));
    }
    if (refused.length > 0) throw new DependencyError('Security Hub', `Security Hub rejected ${refused.length} of ${findings.length} findings: ${refused.join('; ')}`, false);
  }
}

export class MemoryFindingsState implements FindingsStateStore {
  readonly items = new Map<string, TrackedFinding>();
  async get(id: string): Promise<TrackedFinding | undefined> {
    const t = this.items.get(id);
    return t ? clone(t) : undefined;
  }
  async put(next: TrackedFinding, expectedVersion: number | undefined): Promise<void> {
    const current = this.items.get(next.id);
    if (expectedVersion === undefined ? current !== undefined : current?.version !== expectedVersion) throw new ConcurrentModificationError('Tracked finding', next.id);
    this.items.set(next.id, clone(next));
  }
  async list(): Promise<TrackedFinding[]> {
    return clone([...this.items.values()].filter(isLiveFinding));
  }
}

/** Records executions and their resumption; tests drive the workflow steps themselves. */
export class MemoryWorkflow implements WorkflowGateway {
  readonly started = new Map<string, string>();
  readonly resumed: Array<{ taskToken: string; outcome: WorkflowOutcome }> = [];
  async start(requestId: string): Promise<{ executionArn: string }> {
    const arn = this.started.get(requestId) ?? `arn:aws:states:us-east-1:000000000000:execution:jit-access:${requestId}`;
    this.started.set(requestId, arn);
    return { executionArn: arn };
  }
  async resume(taskToken: string, outcome: WorkflowOutcome): Promise<void> {
    this.resumed.push({ taskToken, outcome: clone(outcome) });
  }
}

export interface MemoryWorld {
  deps: CoreDeps;
  clock: FakeClock;
  requests: MemoryRequestStore;
  ledger: MemoryGrantLedger;
  directory: MemoryDirectory;
  assignments: MemoryAssignmentGateway;
  scheduler: MemoryScheduler;
  notifier: RecordingNotifier;
  audit: MemoryAuditSink;
  findings: MemoryFindingsSink;
  findingsState: MemoryFindingsState;
  workflow: MemoryWorkflow;
}

export function memoryWorld(options: { policy: Policy; users?: MemoryUser[]; clock?: FakeClock; pollsToComplete?: number }): MemoryWorld {
  const world = {
    clock: options.clock ?? new FakeClock(),
    requests: new MemoryRequestStore(),
    ledger: new MemoryGrantLedger(),
    directory: new MemoryDirectory(options.users ?? []),
    assignments: new MemoryAssignmentGateway(options.pollsToComplete ?? 1),
    scheduler: new MemoryScheduler(),
    notifier: new RecordingNotifier(),
    audit: new MemoryAuditSink(),
    findings: new MemoryFindingsSink(),
    findingsState: new MemoryFindingsState(),
    workflow: new MemoryWorkflow(),
  };
  const deps: CoreDeps = { ...world, auditReader: world.audit, ids: new SequentialIds(), policy: () => options.policy };
  return { ...world, deps };
}

/** The session cuts per permission set (compare-and-swap on version, like the DynamoDB item). */
export class MemorySessionCutStore implements SessionCutStore {
  readonly items = new Map<string, SessionCutState>();
  async get(permissionSetArn: string): Promise<SessionCutState | undefined> {
    const s = this.items.get(permissionSetArn);
    return s ? clone(s) : undefined;
  }
  async put(next: SessionCutState, expectedVersion: number | undefined): Promise<void> {
    const current = this.items.get(next.permissionSetArn);
    if (expectedVersion === undefined ? current !== undefined : current?.version !== expectedVersion) throw new ConcurrentModificationError('Session cut state', next.permissionSetArn);
    this.items.set(next.permissionSetArn, clone(next));
  }
  async list(): Promise<SessionCutState[]> {
    return clone([...this.items.values()].filter(isLiveSessionCut));
  }
}
