/**
 * Approve and deny share this: the decision comes from the VERB (never from card data), the
 * approver from the activity. The bridge checks approver, self-approval, state and quorum; the
 * card is re-rendered from the request it returns. A refusal shows its reason and the current state.
 *
 * Step-up (bot/step-up.ts): the bridge knows whether the request's rule wants a fresh sign-in. A
 * vote without one is answered STEP_UP_REQUIRED, which becomes Teams' loginRequest (no vote is
 * recorded); Teams re-sends the click with `value.authentication.token`, which is verified here and
 * its claims go with the vote. A token that fails, or a sign-in the bridge finds too old or too
 * weak, is a refusal on the card, never another prompt and never a plain click.
 */
import type { DecisionBody, RequestView, StepUpClaims } from '../../core/api';
import { BridgeRefusal } from '../bridge-client';
import { LoginRequired, StepUpTokenError, authenticationToken } from '../step-up';
import { approvalView, errorCard, isRefusalAboutRequest, withNotice } from './render';
import { hasVoted, refusalWithState } from './shared';
import type { ActionContext, AdaptiveCard } from './types';

export async function decide(ctx: ActionContext, requestId: string, decision: DecisionBody['decision'], reason: string | undefined): Promise<AdaptiveCard> {
  const actor = await ctx.actor();
  let stepUp: StepUpClaims | undefined;
  const token = authenticationToken(ctx.turn.activity.value);
  if (token) {
    if (!ctx.deps.stepUp) return stepUpRefusal(ctx, requestId, 'A sign-in came with this click but this bot is not set up for Teams single sign-on, so it cannot check it. Nothing was recorded.');
    try {
      stepUp = await ctx.deps.stepUp.verify(token, { aadObjectId: actor.aadObjectId });
    } catch (e) {
      if (e instanceof StepUpTokenError) {
        ctx.deps.log.warn('step-up token refused', { requestId, reason: e.message });
        return stepUpRefusal(ctx, requestId, e.message);
      }
      throw e;
    }
  }
  try {
    const result = await ctx.deps.bridge.decide(actor, requestId, { decision, ...(reason ? { reason } : {}), ...(stepUp ? { stepUp } : {}) });
    const { request } = result;
    const canStillVote = request.state === 'PENDING_APPROVAL' && !hasVoted(actor, request);
    const card = await approvalView(ctx, request, canStillVote);
    ctx.deps.onRequestChanged?.(request);
    if (result.duplicate) return withNotice(card, 'Your vote was already counted; it was not counted twice.', 'warning');
    return card;
  } catch (e) {
    if (e instanceof BridgeRefusal && e.code === 'STEP_UP_REQUIRED') {
      if (!stepUp && ctx.deps.stepUp) throw new LoginRequired(e.message);
      return stepUpRefusal(
        ctx,
        requestId,
        `${e.message} This bot is not set up for Teams single sign-on, so it cannot ask you to: your administrator must configure it (docs/SECURITY.md, "Entra setup"). Nothing was recorded.`,
      );
    }
    if (e instanceof BridgeRefusal && e.code === 'STEP_UP_REJECTED') return stepUpRefusal(ctx, requestId, e.message);
    if (isRefusalAboutRequest(e)) return refusalWithState(ctx, e, requestId, (r) => approvalView(ctx, r, false));
    throw e;
  }
}

/** The refusal on top of the approval card as it is now, with the buttons kept so that the approver can try again. */
async function stepUpRefusal(ctx: ActionContext, requestId: string, message: string): Promise<AdaptiveCard> {
  const actor = await ctx.actor();
  let request: RequestView;
  try {
    ({ request } = await ctx.deps.bridge.getRequest(actor, requestId));
  } catch {
    return errorCard(new BridgeRefusal('STEP_UP_REJECTED', message, 403));
  }
  const canStillVote = request.state === 'PENDING_APPROVAL' && !hasVoted(actor, request);
  return withNotice(await approvalView(ctx, request, canStillVote), message, 'attention');
}
