/** `request.cancel`: the requester withdraws a pending request. */
import { cardActionSchemas } from '../../cards';
import { isRefusalAboutRequest, requesterView } from './render';
import { refusalWithState, viewFor } from './shared';
import { defineHandler } from './types';

export default defineHandler('request.cancel', cardActionSchemas['request.cancel'], async (ctx, data) => {
  try {
    const { request } = await ctx.deps.bridge.cancel(await ctx.actor(), data.requestId, {});
    return requesterView(ctx, request);
  } catch (e) {
    if (isRefusalAboutRequest(e)) return refusalWithState(ctx, e, data.requestId, (r) => viewFor(ctx, r));
    throw e;
  }
});
