/**
 * The proactive-messaging port: how notifications reach Teams outside a turn. bot/teams/ implements
 * it over the Bot Framework connector; tests record calls against it.
 */
import type { ConversationRef, OutboundActivity } from './activity';

export interface Messenger {
  /** Starts a new thread in a Teams channel with `activity` as its root message. */
  createChannelThread(channel: ConversationRef, activity: OutboundActivity): Promise<{ conversationId: string; activityId: string }>;
  /**
   * Posts a message. Resolves to its id, or to undefined when the connector accepted it without
   * one: the Agents Playground splits an activity with text and a card into two messages and
   * answers 202 with no body. Callers that must update the message later cannot without an id.
   */
  send(reference: ConversationRef, activity: OutboundActivity): Promise<string | undefined>;
  update(reference: ConversationRef, activityId: string, activity: OutboundActivity): Promise<void>;
  /** One member of a team or conversation, by Teams id or Entra object id (the Teams roster). */
  member?(serviceUrl: string, conversationId: string, memberId: string): Promise<{ id?: string; name?: string } | undefined>;
}
