/**
 * From approved to active: the ledger decides ownership before Identity Center is called, the
 * workflow polls the asynchronous create, and the expiry is scheduled before the grant is shown as
 * active. Every step is idempotent so that the workflow may retry any of them.
 */
import { IllegalTransitionError } from '../errors';
import { openWindow } from '../grants';
import { isTerminal, transition, withEvent } from '../lifecycle';
import type { AccessRequest, SecurityFinding, StoredRequest } from '../model';
import { SYSTEM_ACTOR, assignmentKeyId } from '../model';
import type { AssignmentOperation } from '../ports';
import { humanDuration, iso } from '../time';
import { type Released, acquireAssignment, releaseAssignment } from './assignments';
import { withReleaseEvent } from './revoke';
import { announce, assignmentKeyOf, commit, load, toView, withRetry } from './context';
import { publishFindings } from './findings';
import type { CoreDeps, Outcome, StartGrantResult } from './types';

export async function startGrant(deps: CoreDeps, input: { requestId: string }): Promise<StartGrantResult> {
  const request = await withRetry(async () => {
    const current = await load(deps, input.requestId);
    if (current.state === 'GRANTING') return current;
    const change = transition(current, 'GRANTING', {
      actor: SYSTEM_ACTOR,
      now: deps.clock.now(),
      reason: `Granting ${current.permissionSetName} on ${current.accountName} (${current.accountId}).`,
    });
    return commit(deps, current, change);
  });
  const key = assignmentKeyOf(request);
  const acquired = await acquireAssignment(deps, key, request.id);
  if (!acquired.mustCreate) return { request: toView(request) };
  // Shared, or a retry after a crash that may have created it already: never write twice.
  if ((acquired.outcome === 'kept_shared' || acquired.retry) && (await deps.assignments.exists(key))) return { request: toView(request) };
  const operation = await deps.assignments.startCreate(key);
  return { request: toView(request), operation };
}

export async function checkGrant(deps: CoreDeps, input: { requestId: string; operationId: string }): Promise<AssignmentOperation> {
  const current = await load(deps, input.requestId);
  if (current.state !== 'GRANTING') throw new IllegalTransitionError(current.state, 'ACTIVE', `This request is ${current.state.toLowerCase()}, not granting.`);
  return deps.assignments.createStatus(input.operationId);
}

/** The assignment is live: schedule its end first, then show it as active. */
export async function completeGrant(deps: CoreDeps, input: { requestId: string }): Promise<AccessRequest> {
  let activated = false;
  const next = await withRetry(async () => {
    const current = await load(deps, input.requestId);
    if (current.state === 'ACTIVE') return current;
    const now = deps.clock.now();
    const window = current.grant ?? openWindow(now, current.requestedDurationSeconds);
    // Scheduled before the write: an ACTIVE request always has a revocation on the way.
    await deps.scheduler.scheduleExpiry(current.id, window.endsAt);
    const ledger = await deps.ledger.get(assignmentKeyOf(current));
    const ownership = ledger?.ownership ?? 'OURS';
    const change = withEvent(
      transition(current, 'ACTIVE', {
        actor: SYSTEM_ACTOR,
        now,
        reason: `Access is active for ${humanDuration(window.totalSeconds)}, until ${window.endsAt}.`,
        patch: { grant: window },
        details: { startsAt: window.startsAt, endsAt: window.endsAt, permissionSetName: current.permissionSetName, accountId: current.accountId },
      }),
      {
        actor: SYSTEM_ACTOR,
        action: ownership === 'EXTERNAL' ? 'assignment.kept_external' : 'assignment.created',
        reason:
          ownership === 'EXTERNAL'
            ? 'The assignment existed before JIT access granted it: it is left in place at expiry.'
            : `Assignment ${assignmentKeyId(assignmentKeyOf(current))} is live.`,
        details: { accountId: current.accountId, permissionSetArn: current.permissionSetArn, userId: current.requester.userId, ownership },
      },
    );
    activated = true;
    // Break-glass: the channel alert first (its thread), then the requester's "active".
    return commit(deps, current, change, current.route === 'break_glass' ? ['break_glass_used', 'active'] : ['active']);
  });
  if (activated) {
    if (next.route === 'break_glass') await importBreakGlassFinding(deps, next);
    await announce(deps, next);
  }
  return toView(next);
}

async function importBreakGlassFinding(deps: CoreDeps, request: StoredRequest): Promise<void> {
  const finding: SecurityFinding = {
    id: `jit/break-glass/${request.id}`,
    kind: 'break_glass_used',
    severity: 'CRITICAL',
    title: `Break-glass access used: ${request.permissionSetName} on ${request.accountName}`,
    description: `${request.requester.displayName} (${request.requester.userName}) took break-glass access to ${request.accountId} as ${request.permissionSetName} until ${request.grant?.endsAt}. Justification: ${request.justification}. A post-incident review must be acknowledged by an approver.`,
    accountId: request.accountId,
    resourceId: assignmentKeyId(assignmentKeyOf(request)),
    requestId: request.id,
    at: iso(deps.clock.now()),
  };
  try {
    // Recorded before the import: one Security Hub refuses is imported again by reconcile, and the
    // adapter counts the failure (alarm BreakGlassFindingNotImported).
    await publishFindings(deps, [finding]);
  } catch (e) {
    deps.log?.warn('importing the break-glass finding failed; reconcile retries it', { requestId: request.id, error: String(e) });
  }
}

/**
 * The workflow failed. Whatever this request may hold is released first (the compensating revoke),
 * then the request is marked FAILED. A failed release throws and leaves the state as it was, so the
 * step is retried and reconcile remains the backstop. A request already FAILED is a `duplicate`; one
 * that ended another way (expired, revoked, denied...) is `already_ended`: neither changes anything.
 */
export async function failGrant(deps: CoreDeps, input: { requestId: string; reason: string }): Promise<Outcome> {
  const reason = input.reason.slice(0, 1000);
  let current = await load(deps, input.requestId);
  if (isTerminal(current.state)) return { outcome: current.state === 'FAILED' ? 'duplicate' : 'already_ended', request: toView(current) };
  if (current.state === 'ACTIVE') {
    current = await withRetry(async () => {
      const c = await load(deps, input.requestId);
      if (c.state !== 'ACTIVE') return c;
      const now = deps.clock.now();
      return commit(deps, c, transition(c, 'REVOKING', { actor: SYSTEM_ACTOR, now, reason, patch: { revocation: { target: 'FAILED', by: SYSTEM_ACTOR, reason, at: iso(now) } } }));
    });
  }
  let released: Released = { deleted: false, outcome: 'not_held' };
  if (current.state === 'GRANTING' || current.state === 'REVOKING' || current.state === 'APPROVED') {
    await deps.scheduler.cancelExpiry(current.id);
    released = await releaseAssignment(deps, current, assignmentKeyOf(current));
  }
  let failed = false;
  const next = await withRetry(async () => {
    const c = await load(deps, input.requestId);
    if (isTerminal(c.state)) return c;
    const now = deps.clock.now();
    const written = await commit(deps, c, withReleaseEvent(transition(c, 'FAILED', { actor: SYSTEM_ACTOR, now, reason, patch: { failureReason: reason, endedAt: iso(now), endedBy: SYSTEM_ACTOR } }), c, released), ['failed']);
    failed = true;
    return written;
  });
  if (!failed && next.state !== 'FAILED') return { outcome: 'already_ended', request: toView(next) };
  await announce(deps, next);
  return { outcome: failed ? 'done' : 'duplicate', request: toView(next) };
}
