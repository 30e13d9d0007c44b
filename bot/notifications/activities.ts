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
