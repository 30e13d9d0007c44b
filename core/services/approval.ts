/**
 * From submitted to decided: the workflow's validation, the approval wait (task token), votes with
 * quorum, timeouts and cancellation. The first deciding vote wins through compare-and-swap.
 */
import { DependencyError, ForbiddenError, IllegalTransitionError, NotApproverError, SelfApprovalError } from '../errors';
import { amend, isTerminal, stateRefusal, transition, withEvent } from '../lifecycle';
import type { AccessRequest, Route, StepUpEvidence, StoredRequest, Vote } from '../model';
import { SYSTEM_ACTOR } from '../model';
import { evaluateApprover } from '../policy/evaluate';
import { approvalTerms } from '../reminders';
import type { WorkflowOutcome } from '../ports';
import { humanDuration, iso, ms } from '../time';
import { announce, commit, load, toView, withRetry } from './context';
import { groupNamesAndIds } from './requests';
import { checkStepUp } from './step-up';
import type { ActorActionInput, CoreDeps, Outcome, StepOutcome, VoteInput, VoteResult } from './types';

export interface ValidateOutcome extends Outcome {
  route: Route;
  /** Seconds left until the approval deadline (what the approval wait may last). */
  approvalTimeoutSeconds: number;
}

/**
 * The workflow's first step. Requests that need no approval (auto-approve, break-glass) are approved
 * here by the system, with the policy's reason; the others go on to wait for approvers. A request
 * that ended before its workflow got here (cancelled at once, say) is `already_ended`: the
 * workflow closes without a grant. A retry after the approval above is a `duplicate`.
 */
export async function validateForWorkflow(deps: CoreDeps, input: { requestId: string }): Promise<ValidateOutcome> {
  return withRetry(async () => {
    const current = await load(deps, input.requestId);
    const remaining = Math.max(1, Math.ceil((ms(current.approvalDeadline) - deps.clock.now()) / 1000));
    if (current.state === 'PENDING_APPROVAL' && current.route !== 'approval') {
      const now = deps.clock.now();
      const reason = current.route === 'break_glass' ? `Break-glass: no approval needed. ${current.policyReason}` : `Auto-approved by policy. ${current.policyReason}`;
      const change = transition(current, 'APPROVED', { actor: SYSTEM_ACTOR, now, reason, patch: { decidedAt: iso(now), decidedBy: SYSTEM_ACTOR, decisionReason: reason } });
      const next = await commit(deps, current, change, ['approved']);
      await announce(deps, next);
      return { outcome: 'done', request: toView(next), route: current.route, approvalTimeoutSeconds: remaining };
    }
    // Pending approval, or a retry after the approval above was written: nothing to change.
    if (current.state === 'PENDING_APPROVAL' || current.state === 'APPROVED') {
      const outcome: StepOutcome = current.state === 'PENDING_APPROVAL' ? 'done' : current.route === 'approval' ? 'already_decided' : 'duplicate';
      return { outcome, request: toView(current), route: current.route, approvalTimeoutSeconds: remaining };
    }
    if (isTerminal(current.state)) return { outcome: 'already_ended', request: toView(current), route: current.route, approvalTimeoutSeconds: remaining };
    throw new IllegalTransitionError(current.state, 'APPROVED', stateRefusal(current));
  });
}

/**
 * Posts the approval card, once. The approval deadline counts from this post: a card delayed by a
 * bot outage gives the approvers their full approval time. Idempotent: a card already posted is not
 * posted again (the workflow step, its retries and reconcile may all call this), and a request that
 * is no longer pending gets no card. A bot that cannot be reached is a retryable DependencyError:
 * the workflow retries the step for as long as the configured outage tolerance, reconcile too.
 */
export async function postApprovalCard(deps: CoreDeps, input: { requestId: string }): Promise<CardPosting> {
  const current = await load(deps, input.requestId);
  if (current.state !== 'PENDING_APPROVAL' || current.route !== 'approval') return posting(deps, current, false);
  if (current.cardPostedAt) return posting(deps, current, false);
  const now = deps.clock.now();
  const patch = { cardPostedAt: iso(now), approvalDeadline: iso(now + current.terms.approvalTimeoutSeconds * 1000) };
  // The card shows the deadline it will have once this post is recorded.
  try {
    await deps.notifier.requestChanged('approval_requested', toView({ ...current, ...patch }));
  } catch (e) {
    throw new DependencyError('notifier', `The approval card could not be posted yet: ${(e as Error).message}`, true);
  }
  const next = await withRetry(async () => {
    const c = await load(deps, input.requestId);
    // Recorded by a concurrent poster (reconcile), or decided meanwhile: nothing to add.
    if (c.cardPostedAt || c.state !== 'PENDING_APPROVAL') return c;
    return commit(
      deps,
      c,
      amend(c, 'request.approval_requested', {
        actor: SYSTEM_ACTOR,
        now,
        reason: `Approval card posted: waiting for ${c.terms.approvalsRequired} approval(s) from ${c.terms.approverGroups.join(', ')} until ${patch.approvalDeadline}.`,
        patch,
        details: { cardPostedAt: patch.cardPostedAt, approvalDeadline: patch.approvalDeadline, delayedSeconds: Math.max(0, Math.round((now - ms(c.createdAt)) / 1000)) },
      }),
    );
  });
  return posting(deps, next, next.cardPostedAt === patch.cardPostedAt);
}

export interface CardPosting {
  request: AccessRequest;
  /** This call posted the card. */
  posted: boolean;
  /** Seconds left until the approval deadline (what the approval wait may last), at least 1. */
  approvalTimeoutSeconds: number;
}

function posting(deps: CoreDeps, request: StoredRequest, posted: boolean): CardPosting {
  return { request: toView(request), posted, approvalTimeoutSeconds: Math.max(1, Math.ceil((ms(request.approvalDeadline) - deps.clock.now()) / 1000)) };
}

/**
 * The approval wait began: keep its task token server-side (never on a card) and make sure the
 * approvers have the card (the workflow posts it in the step before; an execution that skipped that
 * step posts it here). If the request was decided or cancelled before the token arrived, answer the
 * wait at once.
 */
export async function recordApprovalToken(deps: CoreDeps, input: { requestId: string; taskToken: string }): Promise<AccessRequest> {
  const stored = await withRetry(async () => {
    const current = await load(deps, input.requestId);
    if (current.state !== 'PENDING_APPROVAL') return current;
    if (current.taskToken === input.taskToken) return current;
    // Audited like every write (one event per version); the token itself stays out of the event.
    return commit(
      deps,
      current,
      amend(current, 'request.approval_wait_started', {
        actor: SYSTEM_ACTOR,
        now: deps.clock.now(),
        reason: current.taskToken ? 'The approval wait started again (a new task token replaced the previous one).' : 'The approval wait started.',
        patch: { taskToken: input.taskToken },
      }),
    );
  });
  const early = outcomeOf(stored);
  if (early) {
    await deps.workflow.resume(input.taskToken, early);
    return toView(stored);
  }
  if (stored.state !== 'PENDING_APPROVAL') return toView(stored);
  // Not best effort: approvers who never see the card cannot approve. Failing here retries the step.
  if (!stored.cardPostedAt) return (await postApprovalCard(deps, { requestId: input.requestId })).request;
  return toView(stored);
}

function outcomeOf(request: StoredRequest): WorkflowOutcome | undefined {
  switch (request.state) {
    case 'APPROVED':
      return { approved: true, approvedBy: request.decidedBy?.userId ?? 'system' };
    case 'DENIED':
      return { approved: false, error: 'Denied', cause: `Denied by ${request.decidedBy?.displayName ?? 'an approver'}${request.decisionReason ? `: ${request.decisionReason}` : '.'}` };
    case 'CANCELLED':
      return { approved: false, error: 'Cancelled', cause: request.endReason ?? 'Cancelled by the requester.' };
    default:
      return undefined;
  }
}

/**
 * One approver's vote. Checks, in order: the request is still pending, the voter is an approver of
 * its rule and not its requester, the vote is not a repeat, the deadline has not passed, and the
 * step-up sign-in the rule asks for came with the vote (services/step-up.ts). One deny
 * decides; approvals decide at quorum. Of two racing deciding votes exactly one wins.
 */
export async function castVote(deps: CoreDeps, input: VoteInput): Promise<VoteResult> {
  const result = await withRetry(async () => {
    const current = await load(deps, input.requestId);
    const already = current.votes.find((v) => v.approver.userId === input.actor.userId);
    if (current.state !== 'PENDING_APPROVAL') {
      if (already) return { request: current, decided: false, duplicate: true };
      throw new IllegalTransitionError(current.state, input.decision === 'approve' ? 'APPROVED' : 'DENIED', decidedMessage(current));
    }
    const groups = await groupNamesAndIds(deps, input.actor.userId);
    const allowed = evaluateApprover({ approverUserId: input.actor.userId, approverGroups: groups, requesterUserId: current.requester.userId, terms: approvalTerms(current) });
    if (!allowed.allowed) {
      if (allowed.code === 'SELF_APPROVAL') throw new SelfApprovalError();
      throw new NotApproverError(allowed.reason);
    }
    if (already) return { request: current, decided: false, duplicate: true };
    const now = deps.clock.now();
    if (now >= ms(current.approvalDeadline)) {
      throw new IllegalTransitionError(current.state, 'APPROVED', 'The approval window for this request has closed.');
    }
    // Last of the checks: a prompt to sign in is only worth it for a vote that would otherwise count.
    const stepUp = checkStepUp({ requirement: current.terms.stepUp?.approve, claims: input.stepUp, actor: input.actor, now, what: 'vote on this request' });
    const vote: Vote = { approver: input.actor, decision: input.decision, at: iso(now), ...(input.reason ? { reason: input.reason } : {}), ...(stepUp ? { stepUp } : {}) };
    const votes = [...current.votes, vote];
    const approvals = votes.filter((v) => v.decision === 'approve').length;
    const voteReason = `${input.actor.displayName} voted to ${input.decision}${input.reason ? `: ${input.reason}` : ''} (${approvals} of ${current.terms.approvalsRequired} approvals).`;
    const voteDetails = { decision: input.decision, ...stepUpDetails(stepUp) };
    const voteEvent = { actor: input.actor, action: 'request.vote' as const, fromState: current.state, toState: current.state, reason: voteReason, details: voteDetails };

    if (input.decision === 'deny' || approvals >= current.terms.approvalsRequired) {
      const to = input.decision === 'deny' ? 'DENIED' : 'APPROVED';
      const reason =
        to === 'DENIED'
          ? `Denied by ${input.actor.displayName}${input.reason ? `: ${input.reason}` : '.'}`
          : `Approved by ${votes.filter((v) => v.decision === 'approve').map((v) => v.approver.displayName).join(', ')}${input.reason ? `: ${input.reason}` : '.'}`;
      const change = withEvent(
        // decisionReason is the approver's own words (cards say who decided); the audit gets the sentence.
        transition(current, to, { actor: input.actor, now, reason, patch: { votes, decidedAt: iso(now), decidedBy: input.actor, ...(input.reason ? { decisionReason: input.reason } : {}) } }),
        voteEvent,
      );
      // The vote is listed first: it happened before the decision it caused.
      change.events.reverse();
      const next = await commit(deps, current, change, [to === 'APPROVED' ? 'approved' : 'denied']);
      return { request: next, decided: true, duplicate: false };
    }
    const next = await commit(deps, current, amend(current, 'request.vote', { actor: input.actor, now, reason: voteReason, patch: { votes }, details: voteDetails }), ['vote_recorded']);
    return { request: next, decided: false, duplicate: false };
  });

  if (result.decided) {
    const outcome = outcomeOf(result.request);
    if (outcome && result.request.taskToken) await resumeWorkflow(deps, result.request.taskToken, outcome, result.request.id);
  }
  // The notices went into the outbox with the vote; the answer waits for the ask to flush them, never for the bot.
  if (!result.duplicate) await announce(deps, result.request);
  return { request: toView(result.request), decided: result.decided, duplicate: result.duplicate };
}

/** The step-up evidence as audit details (flat: the audit event's details hold scalars). */
function stepUpDetails(e: StepUpEvidence | undefined): Record<string, string | number> {
  if (!e) return {};
  return { stepUpMethod: e.method, stepUpValues: e.values.join(' '), stepUpTokenIssuedAt: e.tokenIssuedAt, stepUpTokenAgeSeconds: e.tokenAgeSeconds };
}

/** The refusal a late vote gets, worded for the state the request is in (one wording: core/lifecycle). */
function decidedMessage(r: StoredRequest): string {
  return stateRefusal(r);
}

/**
 * Tells the waiting execution. If that fails, the decision still stands: the approval wait's
 * timeout step reads the decided state and proceeds accordingly, so nothing is lost.
 */
async function resumeWorkflow(deps: CoreDeps, token: string, outcome: WorkflowOutcome, requestId: string): Promise<void> {
  try {
    await deps.workflow.resume(token, outcome);
  } catch (e) {
    deps.log?.warn('resuming the workflow failed; the approval timeout will pick the decision up', { requestId, error: String(e) });
  }
}

/**
 * The approval wait timed out. A vote can land in the same instant: then the request is already
 * decided (`already_decided`) or ended (`already_ended`, cancelled say), and the timeout changes
 * nothing; a second delivery of the timeout is a `duplicate`.
 */
export async function timeOutRequest(deps: CoreDeps, input: { requestId: string }): Promise<Outcome> {
  const result = await withRetry(async (): Promise<{ outcome: StepOutcome; request: StoredRequest }> => {
    const current = await load(deps, input.requestId);
    if (current.state !== 'PENDING_APPROVAL') {
      return { outcome: current.state === 'TIMED_OUT' ? 'duplicate' : isTerminal(current.state) ? 'already_ended' : 'already_decided', request: current };
    }
    const change = transition(current, 'TIMED_OUT', {
      actor: SYSTEM_ACTOR,
      now: deps.clock.now(),
      reason: `No decision within ${humanDuration(current.terms.approvalTimeoutSeconds)} (${current.votes.length} vote(s), ${current.terms.approvalsRequired} needed).`,
      patch: { endedAt: iso(deps.clock.now()), endedBy: SYSTEM_ACTOR },
    });
    return { outcome: 'done', request: await commit(deps, current, change, ['timed_out']) };
  });
  if (result.outcome === 'done') await announce(deps, result.request);
  return { outcome: result.outcome, request: toView(result.request) };
}

/** The requester withdraws a request that has not been decided yet. */
export async function cancelRequest(deps: CoreDeps, input: ActorActionInput): Promise<AccessRequest> {
  const next = await withRetry(async () => {
    const current = await load(deps, input.requestId);
    if (current.requester.userId !== input.actor.userId) throw new ForbiddenError('Only the requester can cancel a request.');
    if (current.state === 'CANCELLED') return current;
    const now = deps.clock.now();
    const reason = `Cancelled by ${input.actor.displayName}${input.reason ? `: ${input.reason}` : '.'}`;
    const change = transition(current, 'CANCELLED', { actor: input.actor, now, reason, patch: { endedAt: iso(now), endedBy: input.actor, endReason: reason } });
    const committed = await commit(deps, current, change, ['cancelled']);
    if (committed.taskToken) await resumeWorkflow(deps, committed.taskToken, { approved: false, error: 'Cancelled', cause: reason }, committed.id);
    await announce(deps, committed);
    return committed;
  });
  return toView(next);
}
