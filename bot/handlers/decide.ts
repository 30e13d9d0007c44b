/**
 * Approve and deny share this: the decision comes from the VERB (never from card data), the
 * approver from the activity. The bridge checks approver, self-approval, state and quorum; the
 * card is re-rendered from the request it returns. A refusal shows its reason and the current state.
 */
import type { DecisionBody } from '../../core/api';
import { approvalView, isRefusalAboutRequest, withNotice } from './render';
import { hasVoted, refusalWithState } from './shared';
import type { ActionContext, AdaptiveCard } from './types';

export async function decide(ctx: ActionContext, requestId: string, decision: DecisionBody['decision'], reason: string | undefined): Promise<AdaptiveCard> {
  const actor = await ctx.actor();
  try {
    const result = await ctx.deps.bridge.decide(actor, requestId, { decision, ...(reason ? { reason } : {}) });
    const { request } = result;
    const canStillVote = request.state === 'PENDING_APPROVAL' && !hasVoted(actor, request);
    const card = await approvalView(ctx, request, canStillVote);
    ctx.deps.onRequestChanged?.(request);
    if (result.duplicate) return withNotice(card, 'Your vote was already counted; it was not counted twice.', 'warning');
    return card;
  } catch (e) {
    if (isRefusalAboutRequest(e)) return refusalWithState(ctx, e, requestId, (r) => approvalView(ctx, r, false));
    throw e;
  }
}
