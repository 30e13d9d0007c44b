/** `grant.revoke`: end active access now (the requester, or an approver). */
import { cardActionSchemas } from '../../cards';
import { isRefusalAboutRequest } from './render';
import { refusalWithState, viewFor } from './shared';
import { defineHandler } from './types';

export default defineHandler('grant.revoke', cardActionSchemas['grant.revoke'], async (ctx, data) => {
  try {
    const { request } = await ctx.deps.bridge.revoke(await ctx.actor(), data.requestId, {});
    return viewFor(ctx, request);
  } catch (e) {
    if (isRefusalAboutRequest(e)) return refusalWithState(ctx, e, data.requestId, (r) => viewFor(ctx, r));
    throw e;
  }
});
