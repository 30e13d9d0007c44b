/**
 * The grant ledger and Identity Center, together: an assignment is live while any grant on it is
 * active (reference counting), we only ever delete assignments we created, and a create never
 * races a delete of the same assignment.
 */
import { DependencyError } from '../errors';
import { acquire, release } from '../grants';
import type { AssignmentKey, AuditEvent, LedgerEntry, SecurityFinding, StoredRequest } from '../model';
import { assignmentKeyId } from '../model';
import type { AssignmentOperation } from '../ports';
import { iso, ms } from '../time';
import { withRetry } from './context';
import { publishFindings } from './findings';
import type { CoreDeps } from './types';

export interface Acquired {
  entry: LedgerEntry;
  /** Whether an Identity Center create is needed (false: external, or already live and shared). */
  mustCreate: boolean;
  /** What the ledger decided, for the audit trail. */
  outcome: 'created_by_us' | 'kept_external' | 'kept_shared';
  /** This grant was already recorded: a retried step (the create may have happened already). */
  retry: boolean;
}

/** Thrown while our own delete of the same assignment is under way: the workflow retries shortly. */
export class AssignmentBusyError extends DependencyError {
  constructor(key: AssignmentKey) {
    super('grant-ledger', `The assignment ${assignmentKeyId(key)} is being revoked; the grant retries when that finishes.`, true);
  }
}

/**
 * Records `requestId` as an active grant of `key`. Ownership is decided the first time (or again
 * after a full release): if the assignment was live before we touched it, it is EXTERNAL forever
 * after and never deleted by us.
 */
export async function acquireAssignment(deps: CoreDeps, key: AssignmentKey, requestId: string): Promise<Acquired> {
  return withRetry(async () => {
    const current = await deps.ledger.get(key);
    const now = iso(deps.clock.now());
    if (current?.deleting && !current.activeGrantIds.includes(requestId)) throw new AssignmentBusyError(key);
    if (current && current.activeGrantIds.includes(requestId)) {
      // A retry of this very grant: the decision was made and recorded before; make sure it is live.
      return { entry: current, mustCreate: current.ownership === 'OURS', outcome: current.ownership === 'EXTERNAL' ? 'kept_external' : 'created_by_us', retry: true };
    }
    const othersActive = (current?.activeGrantIds.length ?? 0) > 0;
    let ownership = current?.ownership;
    if (!othersActive && ownership !== 'OURS') {
      // Nobody holds it through us: whether it is live now tells whether someone else created it.
      ownership = (await deps.assignments.exists(key)) ? 'EXTERNAL' : 'OURS';
    }
    const base: LedgerEntry = current ?? { key, activeGrantIds: [], version: 0, updatedAt: now };
    const next = { ...acquire({ ...base, ownership }, requestId), version: base.version + 1, updatedAt: now, deleting: undefined };
    await deps.ledger.put(next, current ? current.version : undefined);
    if (ownership === 'EXTERNAL') return { entry: next, mustCreate: false, outcome: 'kept_external', retry: false };
    // Shared with another active grant of ours: it is already live (or being created by that grant).
    if (othersActive) return { entry: next, mustCreate: true, outcome: 'kept_shared', retry: false };
    return { entry: next, mustCreate: true, outcome: 'created_by_us', retry: false };
  });
}

export interface Released {
  deleted: boolean;
  outcome: 'deleted' | 'kept_external' | 'kept_shared' | 'not_held';
}

/** Longer than a delete's whole polling budget: a `deleting` mark older than this was abandoned. */
export const DELETE_LEASE_MS = 2 * 60_000;

const DELETE_POLL_MS = [250, 500, 1000, 2000, 2000, 3000, 5000, 5000, 5000, 5000, 10_000, 10_000, 10_000, 10_000];

/**
 * Drops `requestId` from the assignment's active grants and, if it was the last one on an
 * assignment we created, deletes the assignment and waits until Identity Center confirms it.
 * Idempotent: a retry after a crash finishes the delete that the first attempt decided on.
 */
export async function releaseAssignment(deps: CoreDeps, request: StoredRequest, key: AssignmentKey): Promise<Released> {
  const decided = await withRetry(async () => {
    const current = await deps.ledger.get(key);
    if (!current) return { entry: undefined, mustDelete: false, held: false };
    const held = current.activeGrantIds.includes(request.id);
    if (!held && !current.deleting) return { entry: current, mustDelete: false, held: false };
    const now = deps.clock.now();
    const lease = iso(now + DELETE_LEASE_MS);
    if (!held) {
      // Someone else is deleting it right now: deleting twice would race their status polling.
      if (current.deleteLeaseUntil && now < ms(current.deleteLeaseUntil)) throw new AssignmentBusyError(key);
      const next: LedgerEntry = { ...current, deleteLeaseUntil: lease, version: current.version + 1, updatedAt: iso(now) };
      await deps.ledger.put(next, current.version);
      return { entry: next, mustDelete: true, held: false };
    }
    const r = release(current, request.id);
    const next: LedgerEntry = { ...r.entry, version: current.version + 1, updatedAt: iso(now) };
    if (r.mustDelete) next.deleteLeaseUntil = lease;
    else delete next.deleteLeaseUntil;
    await deps.ledger.put(next, current.version);
    return { entry: next, mustDelete: r.mustDelete, held };
  });
  if (!decided.entry) return { deleted: false, outcome: 'not_held' };
  if (!decided.mustDelete) {
    if (!decided.held) return { deleted: false, outcome: 'not_held' };
    return { deleted: false, outcome: decided.entry.ownership === 'EXTERNAL' ? 'kept_external' : 'kept_shared' };
  }
  try {
    await ensureDeleted(deps, key, request.id);
  } catch (e) {
    await dropLease(deps, key);
    throw e;
  }
  await finishDelete(deps, key);
  return { deleted: true, outcome: 'deleted' };
}

/** A failed delete gives up its lease at once, so that the retry need not wait it out. */
async function dropLease(deps: CoreDeps, key: AssignmentKey): Promise<void> {
  try {
    await withRetry(async () => {
      const current = await deps.ledger.get(key);
      if (!current?.deleteLeaseUntil) return;
      const { deleteLeaseUntil: _dropped, ...rest } = current;
      await deps.ledger.put({ ...rest, version: current.version + 1, updatedAt: iso(deps.clock.now()) }, current.version);
    });
  } catch (e) {
    deps.log?.warn('releasing a delete lease failed; it expires by itself', { error: String(e) });
  }
}

/** Deletes a live assignment and polls until the asynchronous delete succeeds. */
export async function ensureDeleted(deps: CoreDeps, key: AssignmentKey, requestId: string | undefined): Promise<void> {
  if (!(await deps.assignments.exists(key))) return;
  let op: AssignmentOperation = await deps.assignments.startDelete(key);
  for (const wait of DELETE_POLL_MS) {
    if (op.status !== 'IN_PROGRESS') break;
    await deps.clock.sleep(wait);
    op = await deps.assignments.deleteStatus(op.operationId);
  }
  if (op.status === 'SUCCEEDED') return;
  const reason = op.status === 'FAILED' ? (op.failureReason ?? 'Identity Center reported the delete as FAILED') : 'the delete did not finish in time';
  await reportRevokeFailure(deps, key, requestId, reason);
  throw new DependencyError('identity-center', `Revoking ${assignmentKeyId(key)} failed: ${reason}. It will be retried.`, true);
}

/** Clears the `deleting` mark once the delete is confirmed, unless someone changed the entry since. */
async function finishDelete(deps: CoreDeps, key: AssignmentKey): Promise<void> {
  await withRetry(async () => {
    const current = await deps.ledger.get(key);
    if (!current || !current.deleting || current.activeGrantIds.length > 0) return;
    // Ownership is forgotten: whoever grants next checks again whether the assignment is live.
    const next: LedgerEntry = { key, activeGrantIds: [], version: current.version + 1, updatedAt: iso(deps.clock.now()) };
    await deps.ledger.put(next, current.version);
  });
}

export async function reportRevokeFailure(deps: CoreDeps, key: AssignmentKey, requestId: string | undefined, reason: string): Promise<void> {
  const at = iso(deps.clock.now());
  const finding: SecurityFinding = {
    id: `jit/revoke-failed/${assignmentKeyId(key)}`,
    kind: 'revoke_failed',
    severity: 'HIGH',
    title: 'JIT access: revoking an assignment failed',
    description: `Identity Center could not delete the assignment of user ${key.userId} to ${key.permissionSetArn} in ${key.accountId}: ${reason}. The revocation is retried and reconcile is the backstop.`,
    accountId: key.accountId,
    resourceId: assignmentKeyId(key),
    ...(requestId ? { requestId } : {}),
    at,
  };
  const event: AuditEvent = {
    eventId: `${requestId ?? 'reconcile'}:delete-failed:${assignmentKeyId(key)}:${at}`,
    requestId: requestId ?? 'reconcile',
    at,
    actor: { userId: 'system', userName: 'system', displayName: 'JIT Access (system)' },
    action: 'assignment.delete_failed',
    reason,
    details: { accountId: key.accountId, permissionSetArn: key.permissionSetArn, userId: key.userId },
  };
  // Neither may stop the caller's retry; a finding Security Hub refused is kept and imported again by reconcile.
  const results = await Promise.allSettled([publishFindings(deps, [finding]), deps.audit.append([event])]);
  for (const r of results) if (r.status === 'rejected') deps.log?.warn('reporting a failed revocation was incomplete', { key: assignmentKeyId(key), error: String(r.reason) });
}
