/** `menu.mine`: the user's own requests. */
import { cardActionSchemas } from '../../cards';
import { requestList } from './render';
import { defineHandler } from './types';

export default defineHandler('menu.mine', cardActionSchemas['menu.mine'], async (ctx) => {
  const { requests } = await ctx.deps.bridge.listRequests(await ctx.actor(), 'mine');
  return requestList(requests, 'Your requests', 'You have no access requests yet. Say "request" to ask for access.', ctx.now);
});
