/**
 * botbuilder's TurnContext mapped to the product's ConversationTurn, and the Teams roster behind
 * the RosterLookup port. TeamsInfo.getMember needs the TurnContext, which the product's Turn does
 * not carry: each Turn made here remembers its context for the roster.
 */
import { CardFactory, MessageFactory, TeamsInfo, TurnContext } from 'botbuilder';
import type { UserTokenClient } from 'botframework-connector';
import type { ConversationRef, ConversationTurn, InboundActivity, SignInResource, Turn } from '../activity';
import type { RosterLookup } from '../identity';

const contexts = new WeakMap<Turn, TurnContext>();

/**
 * `userTokens`: only with Bot Framework authentication on is there a token service to ask (with it
 * off, as in the sandbox, the client would call out to the public service).
 */
export function conversationTurn(context: TurnContext, options: { userTokens?: boolean } = {}): ConversationTurn {
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
    signInResource: async (connectionName) => (options.userTokens ? signInResource(context, connectionName) : undefined),
  };
  contexts.set(turn, context);
  return turn;
}

async function signInResource(context: TurnContext, connectionName: string): Promise<SignInResource | undefined> {
  const key = (context.adapter as { UserTokenClientKey?: symbol }).UserTokenClientKey;
  const client = key ? context.turnState.get<UserTokenClient>(key) : undefined;
  if (!client) return undefined;
  try {
    const r = await client.getSignInResource(connectionName, context.activity, '');
    return { signInLink: r.signInLink, tokenExchangeResource: r.tokenExchangeResource };
  } catch {
    // The SSO path still works without the fallback button.
    return undefined;
  }
}

export const teamsRoster: RosterLookup = {
  getMember: (turn, userId) => {
    const context = contexts.get(turn);
    if (!context) return Promise.reject(new Error('The Teams roster can only be asked during a Teams turn.'));
    return TeamsInfo.getMember(context, userId);
  },
};
