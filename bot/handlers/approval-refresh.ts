/**
 * `approval.refresh`: Teams asks for the viewer's own version of a channel card (for the users in
 * refresh.userIds). On an approval request the viewer gets the vote buttons only when the BRIDGE
 * lists the request among those waiting for their vote (`GET /requests?view=pending`: approver of
 * the matching rule, not the requester, not voted yet). When that list cannot be had, and for
 * break-glass reviews (never pending), the approver list stored with the posted card decides; the
 * bridge still refuses a vote or acknowledgement from anyone else.
 */
import { cardActionSchemas } from '../../cards';
import type { ActorIdentity } from '../bridge-client';
import type { CardKind } from '../storage/types';
import { approvalView } from './render';
import { isRequester } from './shared';
import { type ActionContext, defineHandler } from './types';

export default defineHandler('approval.refresh', cardActionSchemas['approval.refresh'], async (ctx, data) => {
  const actor = await ctx.actor();
  const breakGlass = (r: { route: string }) => r.route === 'break_glass';
  const [{ request }, pending] = await Promise.all([
    ctx.deps.bridge.getRequest(actor, data.requestId),
    ctx.deps.bridge.listRequests(actor, 'pending').then(
      (r) => r.requests,
      () => undefined,
    ),
  ]);
  let viewerIsApprover: boolean;
  if (isRequester(actor, request)) viewerIsApprover = false;
  else if (!breakGlass(request) && pending) viewerIsApprover = pending.some((r) => r.id === request.id);
  else viewerIsApprover = await inStoredApprovers(ctx, actor, request.id, breakGlass(request) ? 'breakglass' : 'approval');
  return approvalView(ctx, request, viewerIsApprover);
});

async function inStoredApprovers(ctx: ActionContext, actor: ActorIdentity, requestId: string, kind: CardKind): Promise<boolean> {
  const record = await ctx.deps.store.getCard(requestId, kind).catch(() => undefined);
  const fromId = ctx.turn.activity.from?.id;
  return !!record?.approverUserIds?.some((id) => id === fromId || id.toLowerCase() === `8:orgid:${actor.aadObjectId.toLowerCase()}`);
}
