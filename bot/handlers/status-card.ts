/**
 * The requester's status card: the message that held the request form becomes the request's card
 * in the 1:1 chat. Its id is stored so that later notifications update it in place.
 */
import type { RequestView } from '../../core/api';
import type { ActionContext } from './types';

export async function trackStatusCard(ctx: ActionContext, request: RequestView): Promise<void> {
  const activity = ctx.turn.activity;
  if (activity.conversation?.conversationType !== 'personal' || !activity.replyToId) return;
  try {
    await ctx.deps.store.createCard({
      requestId: request.id,
      kind: 'status',
      conversationId: activity.conversation.id,
      activityId: activity.replyToId,
      serviceUrl: activity.serviceUrl,
      renderedVersion: request.version,
      updatedAt: ctx.now,
    });
  } catch (e) {
    // The request exists either way; only in-place updates of this card are lost.
    ctx.deps.log.warn('could not store the status card', { requestId: request.id, error: (e as Error).name });
  }
}
