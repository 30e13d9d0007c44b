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
import type { DecisionBody, RequestView } from '../../core/api';
import { BridgeRefusal } from '../bridge-client';
import { approvalView, errorCard, isRefusalAboutRequest, withNotice } from './render';
import { hasVoted, refusalWithState } from './shared';
import { stepUpOfTurn, stepUpRefusal } from './step-up';
import type { ActionContext, AdaptiveCard } from './types';

export async function decide(ctx: ActionContext, requestId: string, decision: DecisionBody['decision'], reason: string | undefined): Promise<AdaptiveCard> {
  const actor = await ctx.actor();
  const stepUp = await stepUpOfTurn(ctx, `vote on ${requestId}`);
  if (!stepUp.ok) return stepUpRefusalCard(ctx, requestId, stepUp.message);
  try {
    const result = await ctx.deps.bridge.decide(actor, requestId, { decision, ...(reason ? { reason } : {}), ...(stepUp.claims ? { stepUp: stepUp.claims } : {}) });
    const { request } = result;
    const canStillVote = request.state === 'PENDING_APPROVAL' && !hasVoted(actor, request);
    const card = await approvalView(ctx, request, canStillVote);
    if (result.duplicate) return withNotice(card, 'Your vote was already counted; it was not counted twice.', 'warning');
    return card;
  } catch (e) {
    const stepUpMessage = stepUpRefusal(ctx, e, stepUp.claims);
    if (stepUpMessage) return stepUpRefusalCard(ctx, requestId, stepUpMessage);
    if (isRefusalAboutRequest(e)) return refusalWithState(ctx, e, requestId, (r) => approvalView(ctx, r, false));
    throw e;
  }
}

/** The refusal on top of the approval card as it is now, with the buttons kept so that the approver can try again. */
async function stepUpRefusalCard(ctx: ActionContext, requestId: string, message: string): Promise<AdaptiveCard> {
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
