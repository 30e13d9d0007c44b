/**
 * botbuilder's TurnContext mapped to the product's ConversationTurn, and the Teams roster behind
 * the RosterLookup port. TeamsInfo.getMember needs the TurnContext, which the product's Turn does
 * not carry: each Turn made here remembers its context for the roster.
 */
import { CardFactory, MessageFactory, TeamsInfo, TurnContext } from 'botbuilder';
import type { ConversationRef, ConversationTurn, InboundActivity, Turn } from '../activity';
import type { RosterLookup } from '../identity';

const contexts = new WeakMap<Turn, TurnContext>();

export function conversationTurn(context: TurnContext): ConversationTurn {
  const turn: ConversationTurn = {
    // The Bot Framework activity has the shape InboundActivity describes (and more).
    activity: context.activity as InboundActivity,
    reference: () => {
      const reference = TurnContext.getConversationReference(context.activity);
      delete reference.activityId;
      return reference as ConversationRef;
    },
    // Mutates the activity's text as botbuilder does; the turn reads it once.
    textWithoutMention: () => TurnContext.removeRecipientMention(context.activity) ?? context.activity.text ?? '',
    replyWithCard: async (card) => {
      await context.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(card)));
    },
  };
  contexts.set(turn, context);
  return turn;
}

export const teamsRoster: RosterLookup = {
  getMember: (turn, userId) => {
    const context = contexts.get(turn);
    if (!context) return Promise.reject(new Error('The Teams roster can only be asked during a Teams turn.'));
    return TeamsInfo.getMember(context, userId);
  },
};
