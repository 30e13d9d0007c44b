/** `review.acknowledge`: an approver closes the post-incident review of a break-glass grant. */
import { cardActionSchemas } from '../../cards';
import { approvalView, isRefusalAboutRequest } from './render';
import { refusalWithState } from './shared';
import { defineHandler } from './types';

export default defineHandler('review.acknowledge', cardActionSchemas['review.acknowledge'], async (ctx, data) => {
  try {
    const { request } = await ctx.deps.bridge.review(await ctx.actor(), data.requestId, data.reviewNote ? { note: data.reviewNote } : {});
    return approvalView(ctx, request, false);
  } catch (e) {
    if (isRefusalAboutRequest(e)) return refusalWithState(ctx, e, data.requestId, (r) => approvalView(ctx, r, false));
    throw e;
  }
});
