/** The messages notifications send: a card alone, a card with @mentions, an update. */
import * as cards from '../../cards';
import type { MentionEntity, OutboundActivity } from '../activity';
import type { Approver } from './approvers';

/**
 * An update carries the card alone. The @mention lead of a channel post did its job when the post
 * was created; a connector may refuse an update that is text plus a card (the Agents Playground
 * does: "Activity resulted into multiple skype activities").
 */
export function cardOnly(activity: OutboundActivity): OutboundActivity {
  const { text: _text, textFormat: _format, entities: _mentions, ...rest } = activity;
  return rest;
}

/**
 * A channel post's @mentions moved into its card: the message text (the lead and its `<at>` tags)
 * becomes the card's first TextBlock and the mention entities go to the card's `msteams.entities`
 * (Teams, "Mention support within Adaptive Cards": the mentioned people are notified as for a text
 * mention). A post that is text plus a card is two things to read on a phone, and the Agents
 * Playground 0.2.28 shows only the text of a new channel post that has both (its createConversation
 * does not split them, unlike its replies), so the sandbox's approvers would see no buttons.
 * Updates carry the same card, mentions included: Teams does not notify again on an update.
 */
export function mentionsInCard(activity: OutboundActivity): OutboundActivity {
  const { text, textFormat: _format, entities, ...rest } = activity;
  if (!text) return cardOnly(activity);
  const attachments = rest.attachments ?? [];
  const at = attachments.findIndex((a) => a.contentType === 'application/vnd.microsoft.card.adaptive');
  if (at < 0) return activity;
  const card = attachments[at]!.content as cards.AdaptiveCard;
  const lead: cards.CardElement = { type: 'TextBlock', text, wrap: true, size: 'Small', spacing: 'None' };
  const mentions = (entities ?? []).map((e) => ({ type: 'mention' as const, text: e.text, mentioned: { id: e.mentioned.id, name: e.mentioned.name, ...(e.mentioned.type ? { type: e.mentioned.type } : {}) } }));
  const withMentions: cards.AdaptiveCard = { ...card, body: [lead, ...card.body], msteams: { ...card.msteams, ...(mentions.length > 0 ? { entities: mentions } : {}) } };
  return { ...rest, attachments: attachments.map((a, i) => (i === at ? { ...a, content: withMentions } : a)) };
}

export function cardActivity(card: cards.AdaptiveCard): OutboundActivity {
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] };
}

/**
 * `lead <at>Bob</at>, <at>Carol</at>` with one mention entity per approver. `lead` is message text
 * whose user-provided parts the caller escaped (cards.escapeMessageText); names in `<at>` tags are
 * XML-escaped only: Teams shows them as the mention, and the tag must equal the entity's text.
 */
export function mentionText(lead: string, approvers: readonly Approver[]): Required<Pick<OutboundActivity, 'text' | 'entities'>> {
  if (approvers.length === 0) return { text: lead.replace(/:$/, '.'), entities: [] };
  const entities: MentionEntity[] = approvers.map((a) => {
    const tag = `<at>${cards.escapeXml(a.name)}</at>`;
    return { type: 'mention', text: tag, mentioned: { id: a.teamsUserId, name: a.name } };
  });
  return { text: `${lead} ${entities.map((m) => m.text).join(', ')}`, entities };
}
