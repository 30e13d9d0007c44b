/** `request.view`: show one request as the viewer may see it (from a list card). */
import { cardActionSchemas } from '../../cards';
import { viewFor } from './shared';
import { defineHandler } from './types';

export default defineHandler('request.view', cardActionSchemas['request.view'], async (ctx, data) => {
  const { request } = await ctx.deps.bridge.getRequest(await ctx.actor(), data.requestId);
  return viewFor(ctx, request);
});
