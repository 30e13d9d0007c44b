/**
 * `approval.refresh`: Teams asks for the viewer's own version of the approval card (for the users
 * in refresh.userIds). The viewer gets the buttons only when the BRIDGE lists the request among the
 * ones waiting for their vote (`GET /requests?view=pending`): approver of the matching rule, not
 * the requester, not voted yet. If that list cannot be had, the approver list stored with the
 * posted card decides, and the bridge still refuses a vote from anyone else.
 */
import { cardActionSchemas } from '../../cards';
import { approvalView } from './render';
import { isRequester } from './shared';
import { defineHandler } from './types';

export default defineHandler('approval.refresh', cardActionSchemas['approval.refresh'], async (ctx, data) => {
  const actor = await ctx.actor();
  const [{ request }, pending] = await Promise.all([
    ctx.deps.bridge.getRequest(actor, data.requestId),
    ctx.deps.bridge.listRequests(actor, 'pending').then(
      (r) => r.requests,
      () => undefined,
    ),
  ]);
  let viewerIsApprover: boolean;
  if (pending) viewerIsApprover = pending.some((r) => r.id === request.id);
  else {
    const record = await ctx.deps.store.getCard(request.id, 'approval').catch(() => undefined);
    const fromId = ctx.turn.activity.from?.id;
    viewerIsApprover = !isRequester(actor, request) && !!record?.approverUserIds?.some((id) => id === fromId || id === `8:orgid:${actor.aadObjectId}`);
  }
  return approvalView(ctx, request, viewerIsApprover && request.state === 'PENDING_APPROVAL');
});
