/**
 * The `kpi` text command: the access KPIs of the last 7 days as the same card as the weekly digest
 * (cards/kpi.ts), with the numbers the bridge computes (GET /kpis, core/kpi.ts: what `npm run kpi`
 * prints). Who may see them is the bridge's decision (approvers only, core/services/kpi.ts); the bot
 * adds where: in a 1:1 chat, or in the on-call channel, whose members are the approvers. In any
 * other channel or group chat the answer would be shown to people the bridge never asked about, so
 * the bot declines there without calling the bridge.
 */
import * as cards from '../../cards';
import { messageCard } from './render';
import type { ActionContext, AdaptiveCard } from './types';

export function kpiAllowedHere(activity: ActionContext['turn']['activity'], oncallChannelId: string): boolean {
  const conversation = activity.conversation;
  if (conversation?.conversationType === 'personal') return true;
  if (conversation?.conversationType !== 'channel') return false;
  const channelId = ((activity.channelData as { channel?: { id?: string } } | undefined)?.channel?.id ?? conversation.id ?? '').split(';')[0];
  return !!channelId && channelId === oncallChannelId;
}

export async function kpiCommand(ctx: ActionContext, oncallChannelId: string): Promise<AdaptiveCard> {
  if (!kpiAllowedHere(ctx.turn.activity, oncallChannelId)) {
    return messageCard('The KPIs are not shown here', 'Ask me for "kpi" in a 1:1 chat or in the on-call channel: the access KPIs are for the approvers.', 'warning');
  }
  const { report } = await ctx.deps.bridge.kpis(await ctx.actor());
  return cards.kpiCard(report, { kind: 'on-demand' });
}
