/**
 * The backstop sweep (every few minutes): live assignments on the managed permission sets against
 * the ledger and the requests. It revokes grants whose schedule did not fire, finishes interrupted
 * deletes, re-creates an assignment someone removed under an active grant, restarts workflows that
 * never started, flushes stranded audit events, and reports assignments nobody granted as drift.
 * It never deletes an assignment it did not create.
 */
import { isDomainError } from '../errors';
import { expiringSoonLeadSeconds } from '../grants';
import { amend, isTerminal } from '../lifecycle';
import type { AssignmentKey, LedgerEntry, SecurityFinding, StoredRequest } from '../model';
import { SYSTEM_ACTOR, assignmentKeyId, isLiveLedgerEntry } from '../model';
import { humanDuration, iso, ms } from '../time';
import { AssignmentBusyError, releaseAssignment } from './assignments';
import { announce, assignmentKeyOf, commit, flushAudit, flushNotices, load, withRetry } from './context';
import { driftPair, retryFindingImports, syncDriftFindings } from './findings';
import { startWorkflow } from './requests';
import { postApprovalCard } from './approval';
import { expireGrant } from './revoke';
import { failGrant } from './grant';
import { sweepSessionCuts } from './session-cut';
import type { RequestStore } from '../ports';
import type { CoreDeps, ReconcileAction, ReconcileResult } from './types';

/** How late an expiry may be before reconcile steps in (the Scheduler normally fires on time). */
export const EXPIRY_GRACE_MS = 60_000;
/** A request older than this without a workflow execution lost its start: start it again. */
export const WORKFLOW_START_GRACE_MS = 2 * 60_000;
/**
 * A grant that has not moved for this long lost its workflow (an aborted execution, say): fail it,
 * which releases whatever it may hold and tells the requester. Far above the workflow's own retries.
 */
export const STALLED_GRANT_MS = 30 * 60_000;
/**
 * Notices written less than this ago are left to the flush already on its way (the asynchronous
 * invoke and Lambda's own two retries); older ones are flushed by reconcile. Flushing both is
 * harmless (the bot answers a notice it has with DUPLICATE), only wasteful.
 */
export const NOTICE_FLUSH_GRACE_MS = 60_000;

export async function reconcile(deps: CoreDeps, _input: Record<string, never> | object = {}): Promise<ReconcileResult> {
  const actions: ReconcileAction[] = [];
  const drift: SecurityFinding[] = [];
  const errors: unknown[] = [];
  const now = deps.clock.now();
  const attempt = async (action: ReconcileAction, run: () => Promise<unknown>) => {
    try {
      await run();
      actions.push(action);
    } catch (e) {
      // A delete under way elsewhere is not a failure: the next sweep looks again.
      if (e instanceof AssignmentBusyError) return;
      errors.push(e);
      deps.log?.warn('reconcile action failed', { kind: action.kind, key: assignmentKeyId(action.key), error: String(e) });
    }
  };

  // What one sweep reads follows the live grants, not the history (docs/PERFORMANCE.md): the
  // active requests and the live ledger entries are listed once each, and a request is read on its
  // own only when the listing of active ones does not hold it (it is revoking, ended or missing).
  const active = await deps.requests.list({ states: ['ACTIVE'] });
  const activeById = new Map(active.map((r) => [r.id, r]));
  const cache = new Map<string, StoredRequest | undefined>();
  const requestById = async (id: string) => {
    const listed = activeById.get(id);
    if (listed) return listed;
    if (!cache.has(id)) cache.set(id, await deps.requests.get(id));
    return cache.get(id);
  };
  /** Requests and ledger entries step 1 acted on: step 2 must not judge them by the listings taken before. */
  const touchedRequests = new Set<string>();
  const touchedKeys = new Map<string, AssignmentKey>();
  const touch = (key: AssignmentKey, id?: string) => {
    touchedKeys.set(assignmentKeyId(key), key);
    if (id) touchedRequests.add(id);
  };

  // 1. Ledger entries: grants that should have ended, and deletes that were interrupted.
  const entries = await deps.ledger.list();
  for (const entry of entries) {
    for (const id of entry.activeGrantIds) {
      const request = await requestById(id);
      if (request?.state === 'ACTIVE' && request.grant && ms(request.grant.endsAt) + EXPIRY_GRACE_MS < now) {
        touch(entry.key, id);
        await attempt({ kind: 'revoke_expired', key: entry.key, requestIds: [id], reason: `The grant ended at ${request.grant.endsAt} but was still live.` }, () => expireGrant(deps, { requestId: id }));
      } else if (request?.state === 'REVOKING') {
        touch(entry.key, id);
        await attempt({ kind: 'revoke_expired', key: entry.key, requestIds: [id], reason: 'An interrupted revocation was finished.' }, () => expireGrant(deps, { requestId: id }));
      } else if (!request || isTerminal(request.state)) {
        const stale = request ?? placeholderRequest(id, entry.key);
        touch(entry.key, id);
        await attempt({ kind: 'release_stale', key: entry.key, requestIds: [id], reason: `Request ${id} is ${request ? request.state.toLowerCase() : 'missing'} but still held the assignment.` }, () =>
          releaseAssignment(deps, stale, entry.key),
        );
      }
    }
    if (entry.deleting && entry.activeGrantIds.length === 0) {
      touch(entry.key);
      await attempt({ kind: 'delete_orphaned', key: entry.key, requestIds: [], reason: 'A delete of an assignment we created was interrupted.' }, () =>
        releaseAssignment(deps, placeholderRequest('reconcile', entry.key), entry.key),
      );
    }
  }

  // 2. Live assignments on managed permission sets: missing ones under an active grant, and drift.
  // The entries step 1 changed are read again; the others are as listed.
  const latest = new Map<string, LedgerEntry>(entries.map((e) => [assignmentKeyId(e.key), e]));
  for (const [k, key] of touchedKeys) {
    const entry = await deps.ledger.get(key);
    if (entry && isLiveLedgerEntry(entry)) latest.set(k, entry);
    else latest.delete(k);
  }
  const activeByKey = new Map<string, StoredRequest[]>();
  for (const r of active) {
    if (touchedRequests.has(r.id)) continue;
    const k = assignmentKeyId(assignmentKeyOf(r));
    activeByKey.set(k, [...(activeByKey.get(k) ?? []), r]);
  }
  const policy = deps.policy();
  const live = new Set<string>();
  /** (account, permission set) pairs listed completely: only their drift may be declared gone. */
  const listed = new Set<string>();
  for (const account of policy.accounts) {
    for (const ps of policy.permissionSets) {
      let keys: AssignmentKey[];
      try {
        keys = await deps.assignments.listAssignments(account.id, ps.arn);
      } catch (e) {
        errors.push(e);
        continue;
      }
      listed.add(`${account.id}|${ps.arn}`);
      for (const key of keys) {
        const k = assignmentKeyId(key);
        live.add(k);
        const entry = latest.get(k);
        const held = (entry?.activeGrantIds.length ?? 0) > 0 || entry?.ownership === 'EXTERNAL' || entry?.deleting;
        if (!held && !activeByKey.has(k)) drift.push(driftFinding(key, account.name, ps.name, now));
      }
    }
  }
  for (const [k, requests] of activeByKey) {
    const entry = latest.get(k);
    if (live.has(k) || entry?.ownership === 'EXTERNAL') continue;
    const request = requests[0]!;
    const key = assignmentKeyOf(request);
    await attempt({ kind: 'recreate_missing', key, requestIds: requests.map((r) => r.id), reason: 'The assignment of an active grant was removed outside JIT access; it was re-created.' }, async () => {
      await deps.assignments.startCreate(key);
    });
  }

  // 3. Requests whose workflow never started, and audit events and notices stranded in an outbox.
  const pending = await deps.requests.list({ states: ['PENDING_APPROVAL'] });
  for (const r of pending) {
    if (!r.executionArn && ms(r.createdAt) + WORKFLOW_START_GRACE_MS < now) {
      await attempt({ kind: 'restart_workflow', key: assignmentKeyOf(r), requestIds: [r.id], reason: 'The workflow of this request had not started.' }, () => startWorkflow(deps, r));
    }
  }
  await repostApprovalCards(deps, pending, now, attempt);
  const stalled = await deps.requests.list({ states: ['APPROVED', 'GRANTING'] });
  for (const r of stalled) {
    if (ms(r.updatedAt) + STALLED_GRANT_MS < now) {
      await attempt({ kind: 'fail_stalled', key: assignmentKeyOf(r), requestIds: [r.id], reason: `The grant has not progressed since ${r.updatedAt}.` }, () =>
        failGrant(deps, { requestId: r.id, reason: `The grant stalled in ${r.state} since ${r.updatedAt} and was rolled back by reconcile. Submit the request again.` }),
      );
    }
  }
  // Ended requests too: the event of a final transition may be the one that could not be appended.
  for (const r of await deps.requests.list({ withAuditOutbox: true })) {
    const current = await deps.requests.get(r.id);
    if (!current || (current.auditOutbox?.length ?? 0) === 0) continue;
    await attempt({ kind: 'flush_audit', key: assignmentKeyOf(current), requestIds: [current.id], reason: 'Audit events were waiting in the outbox.' }, async () => {
      if (!(await flushAudit(deps, current))) throw new Error('the audit sink is unavailable');
    });
  }
  // The backstop of the notice flush (its asynchronous invoke was lost, or failed past its retries).
  // A notice younger than one flush's worth of time is left to the flush already on its way.
  for (const r of await deps.requests.list({ withNoticeOutbox: true })) {
    const current = await deps.requests.get(r.id);
    if (!current || (current.noticeOutbox?.length ?? 0) === 0 || ms(current.updatedAt) + NOTICE_FLUSH_GRACE_MS > now) continue;
    await attempt({ kind: 'flush_notices', key: assignmentKeyOf(current), requestIds: [current.id], reason: 'Notices for the bot were waiting in the outbox.' }, () => flushNotices(deps, current.id));
  }

  errors.push(...(await reportDriftAndRetryFindings(deps, drift, listed)));
  // Session cuts: apply those a failed or interrupted revoke left queued, remove those whose sessions have all expired.
  try {
    const cuts = await sweepSessionCuts(deps);
    if (cuts.applied.length + cuts.cleared.length + cuts.failed.length > 0) deps.log?.info('session cuts swept', { ...cuts });
  } catch (e) {
    errors.push(e);
  }
  if (errors.length > 0 && actions.length === 0 && drift.length === 0) {
    const first = errors[0];
    throw isDomainError(first) || first instanceof Error ? first : new Error(String(first));
  }
  return { actions, drift };
}

/**
 * Drift goes to Security Hub once per condition (updated when it changes, resolved when it is gone),
 * then every finding Security Hub did not accept before (a break-glass finding, say) is imported
 * again. Returns the errors; the findings stay recorded for the next sweep.
 */
async function reportDriftAndRetryFindings(deps: CoreDeps, drift: readonly SecurityFinding[], listed: ReadonlySet<string>): Promise<unknown[]> {
  const errors: unknown[] = [];
  try {
    const synced = await syncDriftFindings(deps, drift, (f) => listed.has(driftPair(f)));
    errors.push(...synced.errors);
    const retried = await retryFindingImports(deps, new Set(synced.attempted));
    errors.push(...retried.errors);
  } catch (e) {
    errors.push(e);
  }
  return errors;
}

/** A card not posted this long after submit is posted by reconcile (the workflow normally posts it within seconds). */
export const CARD_POST_GRACE_MS = 2 * 60_000;

/**
 * Pending requests whose approval card was never posted (a bot outage, an execution that lost its
 * post step): post it now, once. The deadline then counts from this post. A bot still unreachable
 * leaves the request pending for the next sweep, or for the workflow's own retries.
 */
async function repostApprovalCards(deps: CoreDeps, pending: StoredRequest[], now: number, attempt: (action: ReconcileAction, run: () => Promise<unknown>) => Promise<void>): Promise<void> {
  for (const r of pending) {
    // Without an execution, restart_workflow above starts one, and it posts the card.
    if (r.route !== 'approval' || r.cardPostedAt || !r.executionArn || ms(r.createdAt) + CARD_POST_GRACE_MS > now) continue;
    await attempt({ kind: 'post_approval_card', key: assignmentKeyOf(r), requestIds: [r.id], reason: 'The approval card of this pending request had not been posted.' }, () => postApprovalCard(deps, { requestId: r.id }));
  }
}

/** Enough of a request for releasing a ledger entry whose request is gone. */
function placeholderRequest(id: string, key: AssignmentKey): StoredRequest {
  return { id, requester: { userId: key.userId } } as StoredRequest;
}

function driftFinding(key: AssignmentKey, accountName: string, permissionSetName: string, now: number): SecurityFinding {
  return {
    id: `jit/drift/${assignmentKeyId(key)}`,
    kind: 'assignment_drift',
    severity: 'HIGH',
    title: `Unmanaged assignment of ${permissionSetName} on ${accountName}`,
    description: `User ${key.userId} holds ${permissionSetName} (${key.permissionSetArn}) on ${key.accountId}, a permission set managed by JIT access, without an active grant. JIT access does not delete assignments it did not create: review and remove it if it is not intended.`,
    accountId: key.accountId,
    resourceId: assignmentKeyId(key),
    at: iso(now),
  };
}

/**
 * The request store for one sweep: listings with the same query share one read, so reconcile and
 * the expiring-soon notices, which run side by side, list the active grants once. Gets and writes
 * go straight through: every action re-reads its request before it writes.
 */
export function sweepListings(store: RequestStore): RequestStore {
  const listings = new Map<string, Promise<StoredRequest[]>>();
  return {
    get: (id) => store.get(id),
    findByClientRequestId: (userId, clientRequestId) => store.findByClientRequestId(userId, clientRequestId),
    create: (request) => store.create(request),
    update: (next, expectedVersion) => store.update(next, expectedVersion),
    clearAuditOutbox: (id, version) => store.clearAuditOutbox(id, version),
    clearNoticeOutbox: (id, version) => store.clearNoticeOutbox(id, version),
    list: async (query) => {
      const key = JSON.stringify(query);
      let listing = listings.get(key);
      if (!listing) {
        listing = store.list(query);
        listings.set(key, listing);
        // A failed listing is not shared with a later caller: it may succeed then.
        listing.catch(() => listings.delete(key));
      }
      return [...(await listing)];
    },
  };
}

/** Sends each active grant's expiring-soon notice once per end time (an extension re-arms it). */
export async function notifyExpiringSoon(deps: CoreDeps, _input: object = {}): Promise<{ notified: string[] }> {
  const now = deps.clock.now();
  const notified: string[] = [];
  for (const r of await deps.requests.list({ states: ['ACTIVE'] })) {
    const grant = r.grant;
    if (!grant || r.expiringSoonNotifiedFor === grant.endsAt) continue;
    const left = ms(grant.endsAt) - now;
    if (left <= 0 || left > expiringSoonLeadSeconds(grant) * 1000) continue;
    try {
      const next = await withRetry(async () => {
        const c = await load(deps, r.id);
        if (c.state !== 'ACTIVE' || !c.grant || c.expiringSoonNotifiedFor === c.grant.endsAt) return undefined;
        return commit(deps, c, amend(c, 'request.expiring_soon', { actor: SYSTEM_ACTOR, now, reason: `Expiring in ${humanDuration(left / 1000)}.`, patch: { expiringSoonNotifiedFor: c.grant.endsAt } }), ['expiring_soon']);
      });
      if (next) {
        await announce(deps, next);
        notified.push(r.id);
      }
    } catch (e) {
      deps.log?.warn('expiring-soon notice failed', { requestId: r.id, error: String(e) });
    }
  }
  return { notified };
}
