/**
 * From active to ended: expiry (the Scheduler), early revoke (requester or approver), extension and
 * the break-glass review. Revocation is two transitions around the release: ACTIVE -> REVOKING
 * records the intent, the release deletes what we own, REVOKING -> EXPIRED|REVOKED closes it.
 */
import { ForbiddenError, IllegalTransitionError, ValidationError } from '../errors';
import { extendWindow, totalLimitSeconds } from '../grants';
import { type Change, amend, describeState, isTerminal, transition, withEvent } from '../lifecycle';
import type { AccessRequest, Actor, StoredRequest } from '../model';
import { SYSTEM_ACTOR, assignmentKeyId } from '../model';
import { evaluateApprover } from '../policy/evaluate';
import { approvalTerms } from '../reminders';
import { humanDuration, iso, ms } from '../time';
import { type Released, releaseAssignment } from './assignments';
import { announce, assignmentKeyOf, commit, load, toView, withRetry } from './context';
import { groupNamesAndIds } from './requests';
import { endSessions, mustCutSessions, queueSessionCut } from './session-cut';
import type { ActorActionInput, CoreDeps, ExtendInput, Outcome, StepOutcome } from './types';

/** A schedule that fires this early is stale (the grant was extended): re-arm it instead. */
const EARLY_FIRE_TOLERANCE_MS = 5_000;

/**
 * The Scheduler (or reconcile) ends a grant at its end time. The Scheduler delivers at least once:
 * a request that already ended is `duplicate` (it expired) or `already_ended` (revoked or failed
 * first), and changes nothing. A request that never became active is an IllegalTransitionError.
 */
export async function expireGrant(deps: CoreDeps, input: { requestId: string }): Promise<Outcome> {
  const current = await load(deps, input.requestId);
  if (current.state === 'ACTIVE' && current.grant && deps.clock.now() + EARLY_FIRE_TOLERANCE_MS < ms(current.grant.endsAt)) {
    await deps.scheduler.scheduleExpiry(current.id, current.grant.endsAt);
    deps.log?.info('expiry fired before the end of the grant; re-scheduled', { requestId: current.id, endsAt: current.grant.endsAt });
    return { outcome: 'rescheduled', request: toView(current) };
  }
  const ended = await revoke(deps, input.requestId, { target: 'EXPIRED', by: SYSTEM_ACTOR, reason: 'The grant reached its end time.' });
  return { outcome: ended.outcome, request: toView(ended.request) };
}

export async function revokeEarly(deps: CoreDeps, input: ActorActionInput): Promise<AccessRequest> {
  const current = await load(deps, input.requestId);
  await assertRequesterOrApprover(deps, current, input.actor, 'revoke');
  if (current.state !== 'ACTIVE' && current.state !== 'REVOKING') {
    throw new IllegalTransitionError(current.state, 'REVOKED', current.state === 'GRANTING' || current.state === 'APPROVED' ? 'The grant is still being created; try again in a moment.' : `This request is ${describeState(current.state)}: there is nothing to revoke.`);
  }
  await deps.scheduler.cancelExpiry(current.id);
  const reason = `Revoked early by ${input.actor.displayName}${input.reason ? `: ${input.reason}` : '.'}`;
  const ended = await revoke(deps, input.requestId, { target: 'REVOKED', by: input.actor, reason });
  // Ended by someone else since the check above (an expiry, another click): the same refusal.
  if (ended.outcome !== 'done') throw new IllegalTransitionError(ended.request.state, 'REVOKED', `This request is ${describeState(ended.request.state)}: there is nothing to revoke.`);
  return toView(ended.request);
}

/** A request that ended before this step: the same end is a duplicate, another end is not ours to change. */
function endedOutcome(request: StoredRequest, target: string): StepOutcome {
  return request.state === target ? 'duplicate' : 'already_ended';
}

async function revoke(deps: CoreDeps, requestId: string, intent: { target: 'EXPIRED' | 'REVOKED'; by: Actor; reason: string }): Promise<{ outcome: StepOutcome; request: StoredRequest }> {
  const revoking = await withRetry(async () => {
    const c = await load(deps, requestId);
    if (c.state === 'REVOKING' || isTerminal(c.state)) return c;
    const now = deps.clock.now();
    return commit(deps, c, transition(c, 'REVOKING', { actor: intent.by, now, reason: intent.reason, patch: { revocation: { ...intent, at: iso(now) } } }));
  });
  if (isTerminal(revoking.state)) return { outcome: endedOutcome(revoking, intent.target), request: revoking };
  const released = await releaseAssignment(deps, revoking, assignmentKeyOf(revoking));
  const target = revoking.revocation?.target ?? intent.target;
  // Queued before the request ends, so that a crash from here on leaves the cut for reconcile to apply.
  const cut = released.outcome === 'deleted' && target !== 'FAILED' && mustCutSessions(revoking, target);
  if (cut) await queueSessionCut(deps, revoking);
  const ended = await withRetry(async () => {
    const c = await load(deps, requestId);
    if (c.state !== 'REVOKING') return c;
    const now = deps.clock.now();
    const by = c.revocation?.by ?? intent.by;
    const reason = c.revocation?.reason ?? intent.reason;
    const patch: Partial<StoredRequest> = { endedAt: iso(now), endedBy: by, endReason: reason, ...(target === 'FAILED' ? { failureReason: reason } : {}) };
    return commit(deps, c, withReleaseEvent(transition(c, target, { actor: by, now, reason, patch }), c, released), [target === 'EXPIRED' ? 'expired' : target === 'REVOKED' ? 'revoked' : 'failed']);
  });
  // The assignment is gone and the request ended: a failed cut never undoes that (it is audited,
  // alarmed and retried by reconcile). Only a delete of ours ends sessions: a kept assignment
  // (shared with another active grant, or external) still grants this user access on purpose.
  let final = ended;
  if (cut && ended.state === target) {
    final = (await endSessions(deps, ended)).request;
  }
  // The end's notice is in the outbox since the final write; flushed now, it carries the sessions line.
  await announce(deps, final);
  return { outcome: 'done', request: final };
}

/**
 * Adds what the release did to the assignment (assignment.deleted, or why it was kept) to the change
 * that ends the request, so that it rides in the same conditional write (the outbox) and a lost race
 * or a duplicate delivery writes it once. A release that found nothing held (a retry after the
 * release itself had finished) adds nothing: the first attempt decided, and its outcome is not
 * stored, so a crash between the release and this write leaves only the delete in the ledger.
 */
export function withReleaseEvent(change: Change, request: StoredRequest, released: Released): Change {
  if (released.outcome === 'not_held') return change;
  const key = assignmentKeyOf(request);
  const id = assignmentKeyId(key);
  const { action, ownership, reason } =
    released.outcome === 'deleted'
      ? { action: 'assignment.deleted' as const, ownership: 'OURS', reason: `Assignment ${id} was deleted: this was the last grant on it.` }
      : released.outcome === 'kept_shared'
        ? { action: 'assignment.kept_shared' as const, ownership: 'OURS', reason: `Assignment ${id} stays: another active grant still needs it.` }
        : { action: 'assignment.kept_external' as const, ownership: 'EXTERNAL', reason: `Assignment ${id} existed before JIT access granted it: it is left in place.` };
  return withEvent(change, { actor: SYSTEM_ACTOR, action, reason, details: { accountId: key.accountId, permissionSetArn: key.permissionSetArn, userId: key.userId, ownership } });
}

/**
 * Ending access early is always safe, so the circle is wider than for approving: the requester, an
 * approver of this request, or (for auto-approved grants, which have no approvers of their own)
 * any approver named anywhere in the policy.
 */
async function assertRequesterOrApprover(deps: CoreDeps, request: StoredRequest, actor: Actor, verb: string): Promise<void> {
  if (request.requester.userId === actor.userId) return;
  const groups = await groupNamesAndIds(deps, actor.userId);
  const d = evaluateApprover({ approverUserId: actor.userId, approverGroups: groups, requesterUserId: request.requester.userId, terms: approvalTerms(request) });
  if (d.allowed) return;
  const anyApproverGroup = new Set(deps.policy().rules.flatMap((r) => r.approverGroups));
  if (groups.some((g) => anyApproverGroup.has(g))) return;
  throw new ForbiddenError(`Only the requester or an approver can ${verb} this grant.`);
}

/** The requester extends a live grant, within the policy's maximum total; the expiry moves with it. */
export async function extendGrant(deps: CoreDeps, input: ExtendInput): Promise<AccessRequest> {
  const next = await withRetry(async () => {
    const current = await load(deps, input.requestId);
    if (current.requester.userId !== input.actor.userId) throw new ForbiddenError('Only the requester can extend a grant.');
    if (current.state !== 'ACTIVE' || !current.grant) throw new IllegalTransitionError(current.state, 'ACTIVE', `This request is ${describeState(current.state)}: only an active grant can be extended.`);
    const now = deps.clock.now();
    const window = extendWindow(current.grant, input.additionalMinutes * 60, totalLimitSeconds(current), now);
    // Moved before the write: a lost race re-runs this and moves it again to the winner's end.
    await deps.scheduler.scheduleExpiry(current.id, window.endsAt);
    const change = amend(current, 'request.extended', {
      actor: input.actor,
      now,
      reason: `Extended by ${humanDuration(input.additionalMinutes * 60)} to ${window.endsAt} (${humanDuration(window.totalSeconds)} in total).`,
      patch: { grant: window },
      details: { additionalMinutes: input.additionalMinutes, endsAt: window.endsAt },
    });
    return commit(deps, current, change, ['extended']);
  });
  await announce(deps, next);
  return toView(next);
}

/** An approver acknowledges the post-incident review of a break-glass grant. */
export async function acknowledgeReview(deps: CoreDeps, input: { requestId: string; actor: Actor; note?: string }): Promise<AccessRequest> {
  let changed = false;
  const next = await withRetry(async () => {
    const current = await load(deps, input.requestId);
    if (current.route !== 'break_glass') throw new ValidationError('Only break-glass requests have a post-incident review.', [{ path: 'requestId', message: 'is not a break-glass request' }]);
    const groups = await groupNamesAndIds(deps, input.actor.userId);
    const d = evaluateApprover({ approverUserId: input.actor.userId, approverGroups: groups, requesterUserId: current.requester.userId, terms: current.terms });
    if (!d.allowed) throw new ForbiddenError(d.code === 'SELF_APPROVAL' ? 'You cannot review your own break-glass access.' : 'Only an approver can acknowledge a post-incident review.');
    if (current.review) return current;
    if (!['ACTIVE', 'REVOKING', 'EXPIRED', 'REVOKED', 'FAILED'].includes(current.state)) {
      throw new IllegalTransitionError(current.state, current.state, 'The review can be acknowledged once the break-glass access was granted.');
    }
    const now = deps.clock.now();
    changed = true;
    return commit(
      deps,
      current,
      amend(current, 'request.reviewed', {
        actor: input.actor,
        now,
        reason: `Post-incident review acknowledged by ${input.actor.displayName}${input.note ? `: ${input.note}` : '.'}`,
        patch: { review: { acknowledgedBy: input.actor, at: iso(now), ...(input.note ? { note: input.note } : {}) } },
      }),
      ['review_acknowledged'],
    );
  });
  if (changed) await announce(deps, next);
  return toView(next);
}
