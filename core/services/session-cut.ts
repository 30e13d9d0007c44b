/**
 * Ending the role sessions a revoked grant already issued. Deleting the account assignment stops
 * new sign-ins only: the IAM role sessions issued before stay valid for up to the permission set's
 * SessionDuration. AWS documents the remedy ("Revoke active IAM role sessions created by permission
 * sets", IAM Identity Center user guide,
 * https://docs.aws.amazon.com/singlesignon/latest/userguide/useraccess.html#revokeactivesessions):
 * a Deny-all statement in the permission set's inline policy conditioned on `identitystore:userId`,
 * then ProvisionPermissionSet so the role in the account carries it.
 *
 * The product narrows that statement two ways, so that it ends exactly the revoked grant's sessions:
 * - `aws:TokenIssueTime` DateLessThan the cutoff: a later legitimate grant to the same person signs
 *   in with a newer token and is not blocked ("AWS global condition context keys", IAM user guide:
 *   aws:TokenIssueTime is present for temporary credentials, which every permission-set session is);
 * - `aws:PrincipalAccount` StringEquals the grant's account: the inline policy is shared by every
 *   account the set is provisioned to, and a provisioning elsewhere (ours or an operator's) must not
 *   cut the same user's sessions in another account.
 *
 * Concurrency: every edit of one permission set's inline policy happens under a lease in the
 * session-cut state (compare-and-swap), and whoever holds it applies every queued cut at once:
 * one PutInlinePolicyToPermissionSet and one provisioning per account for the whole batch. Users
 * cut in the same account at the same (whole-second) cutoff share one statement; cuts with
 * different cutoffs never share one, because raising an earlier cut to a later cutoff would deny a
 * re-grant's sessions issued in between.
 *
 * Cleanup: once cutoff + SessionDuration has passed no session issued before the cutoff can still
 * be valid, and the reconcile sweep (every 5 minutes) removes the statement. Only statements whose
 * Sid starts with SESSION_CUT_SID_PREFIX are ever touched.
 */
import { ConcurrentModificationError, DependencyError } from '../errors';
import { amend } from '../lifecycle';
import type { AppliedSessionCut, AuditEvent, SecurityFinding, SessionCutEntry, SessionCutState, StoredRequest } from '../model';
import { SESSION_CUT_SID_PREFIX, SYSTEM_ACTOR } from '../model';
import type { PermissionSetGateway, ProvisioningOperation, SessionCutStore } from '../ports';
import { iso, ms } from '../time';
import { announce, commit, load, withRetry } from './context';
import { publishFindings } from './findings';
import type { CoreDeps } from './types';

/** Longer than one batch's whole budget (a put and a provisioning polled per account). */
export const SESSION_CUT_LEASE_MS = 3 * 60_000;

const PROVISION_POLL_MS = [250, 500, 1000, 2000, 2000, 3000, 5000, 5000, 5000, 5000, 10_000, 10_000, 10_000, 10_000];
/** How long a caller waits for another caller's batch (which includes its own cut) before leaving it to reconcile. */
const WAIT_FOR_LEASE_MS = 1000;
const MAX_LEASE_WAITS = 60;

/** sso-admin model, PermissionSetPolicyDocument: 1 to 32,768 characters. */
export const INLINE_POLICY_MAX_CHARS = 32_768;
/**
 * Identity Center provisions the inline policy as an inline policy of the IAM role in each account,
 * and IAM limits a role's inline policies to 10,240 characters, whitespace not counted ("IAM and AWS
 * STS quotas", IAM user guide). Past it the provisioning fails, so the product stops before the put.
 */
export const ROLE_INLINE_POLICY_MAX_CHARS = 10_240;

/** Thrown when the inline policy has no room for the cut: not retried at once, audited and alarmed. */
export class SessionCutCapacityError extends DependencyError {
  constructor(permissionSetArn: string, size: number) {
    super(
      'identity-center',
      `The inline policy of ${permissionSetArn} would be ${size} characters with the session cuts, over IAM's ${ROLE_INLINE_POLICY_MAX_CHARS}-character limit for a role's inline policies. The cut stays queued and is applied once older cuts are cleaned up.`,
      false,
    );
  }
}

/** Whether ending a grant this way also ends its live sessions. */
export function mustCutSessions(request: StoredRequest, target: 'EXPIRED' | 'REVOKED' | 'FAILED'): boolean {
  if (target !== 'EXPIRED') return true;
  return request.terms.endSessionsAtExpiry === true;
}

/** `aws:TokenIssueTime` has whole seconds; rounding up keeps every session issued before `now` inside. */
export function cutoffOf(nowMs: number): string {
  return iso(Math.ceil(nowMs / 1000) * 1000).replace('.000Z', 'Z');
}

/** The statement id of one (account, cutoff) group: alphanumeric, as IAM requires of a Sid. */
export function statementSid(accountId: string, cutoff: string): string {
  return `${SESSION_CUT_SID_PREFIX}${accountId}T${cutoff.replace(/[-:]/g, '').replace(/\.\d+/, '')}`;
}

interface PolicyStatement {
  Sid?: string;
  [key: string]: unknown;
}

interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

/** Parses an inline policy; a document the product cannot read is left alone (a clear error, no write). */
export function parseInlinePolicy(permissionSetArn: string, text: string | undefined): PolicyDocument {
  if (text === undefined || text.trim() === '') return { Version: '2012-10-17', Statement: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new DependencyError('identity-center', `The inline policy of ${permissionSetArn} is not JSON; the session cut leaves it unchanged.`, false);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new DependencyError('identity-center', `The inline policy of ${permissionSetArn} is not a policy object.`, false);
  const d = doc as { Version?: unknown; Statement?: unknown };
  const statements = Array.isArray(d.Statement) ? d.Statement : d.Statement && typeof d.Statement === 'object' ? [d.Statement] : [];
  return { Version: typeof d.Version === 'string' ? d.Version : '2012-10-17', Statement: statements as PolicyStatement[] };
}

export function isProductStatement(s: PolicyStatement): boolean {
  return typeof s.Sid === 'string' && s.Sid.startsWith(SESSION_CUT_SID_PREFIX);
}

/** One statement per (account, cutoff); its users are merged into one condition value list. */
export function renderCutStatements(entries: readonly SessionCutEntry[]): PolicyStatement[] {
  const groups = new Map<string, { accountId: string; cutoff: string; users: Set<string> }>();
  for (const e of entries) {
    const sid = statementSid(e.accountId, e.cutoff);
    const g = groups.get(sid) ?? { accountId: e.accountId, cutoff: e.cutoff, users: new Set<string>() };
    g.users.add(e.userId);
    groups.set(sid, g);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([sid, g]) => ({
      Sid: sid,
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: {
        StringEquals: { 'identitystore:userId': [...g.users].sort(), 'aws:PrincipalAccount': g.accountId },
        DateLessThan: { 'aws:TokenIssueTime': g.cutoff },
      },
    }));
}

/** The operator's statements untouched and in order, then the product's. */
export function mergeInlinePolicy(current: PolicyDocument, entries: readonly SessionCutEntry[]): PolicyDocument | undefined {
  const operator = current.Statement.filter((s) => !isProductStatement(s));
  const ours = renderCutStatements(entries);
  if (operator.length === 0 && ours.length === 0) return undefined;
  return { Version: current.Version, Statement: [...operator, ...ours] };
}

/** What IAM counts against the role inline-policy quota: the characters other than whitespace. */
export function policySize(doc: PolicyDocument): number {
  return JSON.stringify(doc).replace(/\s/g, '').length;
}

function sessionCutsOf(deps: CoreDeps): { gateway: PermissionSetGateway; store: SessionCutStore } | undefined {
  return deps.sessionCuts;
}

/**
 * Ends the sessions of `request`'s grant: queues the cut, applies it (or waits for whoever holds
 * the lease to apply it with theirs) and records `sessions.ended` on the request. Never throws: the
 * revocation it follows stands. A failure is audited, reported as a HIGH finding and left queued
 * for the reconcile sweep to retry.
 */
export async function endSessions(deps: CoreDeps, request: StoredRequest): Promise<{ outcome: 'ended' | 'failed' | 'not_configured'; request: StoredRequest }> {
  const cuts = sessionCutsOf(deps);
  if (!cuts) {
    deps.log?.warn('session cut not configured: live sessions of a revoked grant stay valid until they expire', { requestId: request.id });
    return { outcome: 'not_configured', request };
  }
  const entry = entryOf(deps, request);
  try {
    await enqueue(cuts.store, request.permissionSetArn, entry, deps);
    const applied = await drain(deps, request.permissionSetArn, request.id);
    if (!applied) throw new DependencyError('identity-center', `The session cut of ${request.id} is still queued behind another one; reconcile finishes it.`, true);
    return { outcome: 'ended', request: await recordEnded(deps, request.id, request.permissionSetArn, applied) };
  } catch (e) {
    await reportCutFailure(deps, request.permissionSetArn, [entry], String(e instanceof Error ? e.message : e));
    return { outcome: 'failed', request };
  }
}

function entryOf(deps: CoreDeps, request: StoredRequest): SessionCutEntry {
  const now = deps.clock.now();
  return { requestId: request.id, userId: request.requester.userId, accountId: request.accountId, cutoff: cutoffOf(now), queuedAt: iso(now) };
}

/**
 * Queues the cut as soon as the assignment is deleted, before the request ends: a crash after this
 * leaves it for reconcile. A failure here is reported and does not stop the revocation.
 */
export async function queueSessionCut(deps: CoreDeps, request: StoredRequest): Promise<void> {
  const cuts = sessionCutsOf(deps);
  if (!cuts) return;
  const entry = entryOf(deps, request);
  try {
    await enqueue(cuts.store, request.permissionSetArn, entry, deps);
  } catch (e) {
    deps.log?.warn('queueing a session cut failed; the revocation goes on and retries it', { requestId: request.id, error: String(e) });
  }
}

/** Queues a cut (idempotent by request id: a retried revoke keeps the first cutoff). */
async function enqueue(store: SessionCutStore, permissionSetArn: string, entry: SessionCutEntry, deps: CoreDeps): Promise<void> {
  await withRetry(async () => {
    const current = await store.get(permissionSetArn);
    if (current && [...current.pending, ...current.applied].some((e) => e.requestId === entry.requestId)) return;
    const now = iso(deps.clock.now());
    const base: SessionCutState = current ?? { permissionSetArn, pending: [], applied: [], failedAttempts: 0, version: 0, updatedAt: now };
    await store.put({ ...base, pending: [...base.pending, entry], version: base.version + 1, updatedAt: now }, current ? current.version : undefined);
  });
}

/**
 * Applies every queued cut of one permission set under its lease, batch after batch, until the
 * queue is empty or `waitFor` is applied. Another caller's lease: wait for it (its batch may carry
 * our cut); an abandoned one expires and is taken over.
 */
async function drain(deps: CoreDeps, permissionSetArn: string, waitFor?: string): Promise<AppliedSessionCut | undefined> {
  const { store } = sessionCutsOf(deps)!;
  for (let waits = 0; waits <= MAX_LEASE_WAITS; ) {
    const state = await store.get(permissionSetArn);
    if (!state) return undefined;
    const done = waitFor ? state.applied.find((e) => e.requestId === waitFor) : undefined;
    if (done) return done;
    if (waitFor && !state.pending.some((e) => e.requestId === waitFor)) return undefined;
    if (!waitFor && state.pending.length === 0) return undefined;
    const now = deps.clock.now();
    if (state.leaseUntil && now < ms(state.leaseUntil)) {
      waits++;
      await deps.clock.sleep(WAIT_FOR_LEASE_MS);
      continue;
    }
    const leased = await takeLease(store, state, now);
    if (!leased) continue;
    await applyBatch(deps, leased);
  }
  return undefined;
}

async function takeLease(store: SessionCutStore, state: SessionCutState, now: number): Promise<SessionCutState | undefined> {
  const next: SessionCutState = { ...state, leaseUntil: iso(now + SESSION_CUT_LEASE_MS), version: state.version + 1, updatedAt: iso(now) };
  try {
    await store.put(next, state.version);
    return next;
  } catch (e) {
    if (e instanceof ConcurrentModificationError) return undefined;
    throw e;
  }
}

/** Writes the inline policy for `applied` plus the batch, provisions the batch's accounts, then records them as applied. */
async function applyBatch(deps: CoreDeps, leased: SessionCutState): Promise<void> {
  const { gateway } = sessionCutsOf(deps)!;
  const batch = leased.pending;
  const psArn = leased.permissionSetArn;
  try {
    await writeAndProvision(deps, psArn, [...leased.applied, ...batch], [...new Set(batch.map((e) => e.accountId))]);
    const durationMs = (await gateway.sessionDurationSeconds(psArn)) * 1000;
    const appliedAt = iso(deps.clock.now());
    await settle(deps, psArn, (c) => {
      const ids = new Set(batch.map((e) => e.requestId));
      const moved: AppliedSessionCut[] = c.pending.filter((e) => ids.has(e.requestId)).map((e) => ({ ...e, appliedAt, removeAfter: iso(ms(e.cutoff) + durationMs) }));
      const { lastError: _lastError, ...rest } = c;
      return { ...rest, pending: c.pending.filter((e) => !ids.has(e.requestId)), applied: [...c.applied, ...moved], failedAttempts: 0 };
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    await settle(deps, psArn, (c) => ({ ...c, failedAttempts: c.failedAttempts + 1, lastError: message })).catch((err: unknown) =>
      deps.log?.warn('recording a failed session cut failed; its lease expires by itself', { permissionSetArn: psArn, error: String(err) }),
    );
    throw e;
  }
}

/** Releases the lease with a change to the state (compare-and-swap, re-read on a lost race). */
async function settle(deps: CoreDeps, permissionSetArn: string, change: (current: SessionCutState) => SessionCutState): Promise<void> {
  const { store } = sessionCutsOf(deps)!;
  await withRetry(async () => {
    const current = await store.get(permissionSetArn);
    if (!current) return;
    const { leaseUntil: _leaseUntil, ...unleased } = current;
    const next = change(unleased as SessionCutState);
    await store.put({ ...next, version: current.version + 1, updatedAt: iso(deps.clock.now()) }, current.version);
  });
}

/** Puts (or deletes, when nothing is left) the inline policy and provisions it to each account in turn. */
async function writeAndProvision(deps: CoreDeps, permissionSetArn: string, entries: readonly SessionCutEntry[], accounts: readonly string[]): Promise<void> {
  const { gateway } = sessionCutsOf(deps)!;
  const current = parseInlinePolicy(permissionSetArn, await gateway.getInlinePolicy(permissionSetArn));
  const next = mergeInlinePolicy(current, entries);
  if (next) {
    const size = policySize(next);
    if (size > ROLE_INLINE_POLICY_MAX_CHARS) throw new SessionCutCapacityError(permissionSetArn, size);
    await gateway.putInlinePolicy(permissionSetArn, JSON.stringify(next));
  } else {
    await gateway.deleteInlinePolicy(permissionSetArn);
  }
  // One account at a time: Identity Center refuses a second provisioning of a set while one is in progress.
  for (const accountId of [...accounts].sort()) await provision(deps, gateway, permissionSetArn, accountId);
}

async function provision(deps: CoreDeps, gateway: PermissionSetGateway, permissionSetArn: string, accountId: string): Promise<void> {
  let op: ProvisioningOperation = await gateway.startProvision(permissionSetArn, accountId);
  for (const wait of PROVISION_POLL_MS) {
    if (op.status !== 'IN_PROGRESS') break;
    await deps.clock.sleep(wait);
    op = await gateway.provisionStatus(op.operationId);
  }
  if (op.status === 'SUCCEEDED') return;
  const reason = op.status === 'FAILED' ? (op.failureReason ?? 'Identity Center reported the provisioning as FAILED') : 'the provisioning did not finish in time';
  throw new DependencyError('identity-center', `Provisioning ${permissionSetArn} to ${accountId} failed: ${reason}.`, true);
}

/** Writes `sessions.ended` on the request (once) and returns it; a lost race re-reads. */
async function recordEnded(deps: CoreDeps, requestId: string, permissionSetArn: string, applied: AppliedSessionCut): Promise<StoredRequest> {
  return withRetry(async () => {
    const c = await load(deps, requestId);
    if (c.sessionsEnded) return c;
    const now = deps.clock.now();
    const sessionsEnded = { permissionSetArn, accountId: applied.accountId, userId: applied.userId, cutoff: applied.cutoff, at: applied.appliedAt };
    return commit(
      deps,
      c,
      amend(c, 'sessions.ended', {
        actor: SYSTEM_ACTOR,
        now,
        reason: `Role sessions issued before ${applied.cutoff} to user ${applied.userId} in ${applied.accountId} were ended (deny provisioned; removed after ${applied.removeAfter}).`,
        patch: { sessionsEnded },
        details: { ...sessionsEnded, removeAfter: applied.removeAfter },
      }),
      ['sessions_ended'],
    );
  });
}

async function reportCutFailure(deps: CoreDeps, permissionSetArn: string, entries: readonly SessionCutEntry[], reason: string): Promise<void> {
  const at = iso(deps.clock.now());
  deps.log?.warn('ending live sessions failed; the cut stays queued for reconcile', { event: SESSION_CUT_FAILED_EVENT, permissionSetArn, requestIds: entries.map((e) => e.requestId), error: reason });
  const first = entries[0];
  const finding: SecurityFinding = {
    id: `jit/session-cut-failed/${permissionSetArn}`,
    kind: 'session_cut_failed',
    severity: 'HIGH',
    title: 'JIT access: ending live sessions after a revocation failed',
    description: `The deny that ends revoked users' live role sessions could not be provisioned for ${permissionSetArn}: ${reason}. The assignments are deleted; sessions already issued stay valid until they expire unless the cut succeeds. Reconcile retries it.`,
    accountId: first?.accountId ?? '000000000000',
    resourceId: permissionSetArn,
    ...(first ? { requestId: first.requestId } : {}),
    at,
  };
  const events: AuditEvent[] = entries.map((e) => ({
    eventId: `${e.requestId}:sessions-cut-failed:${at}`,
    requestId: e.requestId,
    at,
    actor: SYSTEM_ACTOR,
    action: 'sessions.cut_failed' as const,
    reason,
    details: { permissionSetArn, accountId: e.accountId, userId: e.userId, cutoff: e.cutoff },
  }));
  const results = await Promise.allSettled([publishFindings(deps, [finding]), deps.audit.append(events)]);
  for (const r of results) if (r.status === 'rejected') deps.log?.warn('reporting a failed session cut was incomplete', { permissionSetArn, error: String(r.reason) });
}

/** The log `event` of a failed cut: the SessionCutFailures alarm's metric filter matches it. */
export const SESSION_CUT_FAILED_EVENT = 'session_cut_failed';

export interface SessionCutSweep {
  applied: string[];
  cleared: string[];
  failed: string[];
}

/**
 * The reconcile sweep's part: applies cuts still queued (a failed or interrupted attempt) and removes
 * the statements whose sessions have all expired. Idempotent; each permission set is independent.
 */
export async function sweepSessionCuts(deps: CoreDeps): Promise<SessionCutSweep> {
  const result: SessionCutSweep = { applied: [], cleared: [], failed: [] };
  const cuts = sessionCutsOf(deps);
  if (!cuts) return result;
  for (const state of await cuts.store.list()) {
    const psArn = state.permissionSetArn;
    if (state.pending.length > 0) {
      const queued = state.pending;
      try {
        await drain(deps, psArn);
        const after = await cuts.store.get(psArn);
        for (const e of queued) {
          const applied = after?.applied.find((a) => a.requestId === e.requestId);
          if (!applied) continue;
          result.applied.push(e.requestId);
          const request = await recordEnded(deps, e.requestId, psArn, applied).catch(() => undefined);
          if (request) await announce(deps, request);
        }
      } catch (e) {
        result.failed.push(psArn);
        await reportCutFailure(deps, psArn, queued, e instanceof Error ? e.message : String(e));
        continue;
      }
    }
    try {
      result.cleared.push(...(await clearExpired(deps, psArn)));
    } catch (e) {
      result.failed.push(psArn);
      deps.log?.warn('removing expired session cuts failed; the next sweep retries', { event: SESSION_CUT_FAILED_EVENT, permissionSetArn: psArn, error: String(e) });
    }
  }
  return result;
}

/**
 * Removes the statements of applied cuts past `removeAfter`. The SessionDuration is read again: an
 * operator who lengthened it since the cut lengthens the cut too, instead of reviving old sessions.
 */
async function clearExpired(deps: CoreDeps, permissionSetArn: string): Promise<string[]> {
  const { store, gateway } = sessionCutsOf(deps)!;
  const state = await store.get(permissionSetArn);
  if (!state) return [];
  const now = deps.clock.now();
  if (!state.applied.some((e) => ms(e.removeAfter) <= now)) return [];
  if (state.leaseUntil && now < ms(state.leaseUntil)) return [];
  const leased = await takeLease(store, state, now);
  if (!leased) return [];
  const durationMs = (await gateway.sessionDurationSeconds(permissionSetArn)) * 1000;
  const due = leased.applied.filter((e) => ms(e.removeAfter) <= now && ms(e.cutoff) + durationMs <= now);
  const dueIds = new Set(due.map((e) => e.requestId));
  try {
    if (due.length > 0) {
      const keep = leased.applied.filter((e) => !dueIds.has(e.requestId));
      await writeAndProvision(deps, permissionSetArn, keep, [...new Set(due.map((e) => e.accountId))]);
    }
    await settle(deps, permissionSetArn, (c) => ({
      ...c,
      applied: c.applied
        .filter((e) => !dueIds.has(e.requestId))
        .map((e) => (ms(e.removeAfter) <= now ? { ...e, removeAfter: iso(ms(e.cutoff) + durationMs) } : e)),
    }));
  } catch (e) {
    await settle(deps, permissionSetArn, (c) => c).catch(() => undefined);
    throw e;
  }
  const at = iso(deps.clock.now());
  const events: AuditEvent[] = due.map((e) => ({
    eventId: `${e.requestId}:sessions-cut-cleared:${statementSid(e.accountId, e.cutoff)}`,
    requestId: e.requestId,
    at,
    actor: SYSTEM_ACTOR,
    action: 'sessions.cut_cleared' as const,
    reason: `The deny for sessions issued before ${e.cutoff} was removed: the permission set's SessionDuration has passed since.`,
    details: { permissionSetArn, accountId: e.accountId, userId: e.userId, cutoff: e.cutoff },
  }));
  if (events.length > 0) {
    try {
      await deps.audit.append(events);
    } catch (err) {
      deps.log?.warn('auditing removed session cuts failed', { permissionSetArn, error: String(err) });
    }
  }
  return due.map((e) => e.requestId);
}
