/** `menu.pending`: requests waiting for this user's vote (empty for non-approvers). */
import { cardActionSchemas } from '../../cards';
import { requestList } from './render';
import { defineHandler } from './types';

export default defineHandler('menu.pending', cardActionSchemas['menu.pending'], async (ctx) => {
  const { requests } = await ctx.deps.bridge.listRequests(await ctx.actor(), 'pending');
  return requestList(requests, 'Waiting for your approval', 'Nothing is waiting for your approval.', ctx.now);
});
