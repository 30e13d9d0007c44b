/**
 * The product's own shapes of what crosses the Teams boundary. Everything in bot/ outside
 * bot/teams/ works on these; only bot/teams/ knows botbuilder and maps its types to and from them.
 * Field names follow the Bot Framework activity schema ("Bot Framework REST API: Activity object",
 * learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference), so
 * botbuilder's objects satisfy them structurally and stored references keep their JSON form.
 */

export interface AccountRef {
  id: string;
  name?: string;
  /** The Entra object id, when Teams sends it. */
  aadObjectId?: string;
}

export interface ConversationAccountRef {
  id: string;
  isGroup?: boolean;
  /** `personal`, `groupChat` or `channel` in Teams. */
  conversationType?: string;
  name?: string;
  tenantId?: string;
}

/** An inbound activity, as much of it as the bot reads. */
export interface InboundActivity {
  type: string;
  name?: string;
  text?: string;
  value?: unknown;
  channelId?: string;
  serviceUrl?: string;
  replyToId?: string;
  from: AccountRef;
  recipient?: AccountRef;
  conversation?: ConversationAccountRef;
  channelData?: unknown;
  membersAdded?: AccountRef[];
}

/** One inbound turn, as handlers see it. */
export interface Turn {
  readonly activity: InboundActivity;
}

/**
 * A turn as the dispatcher (bot/turns.ts) uses it: the activity plus what only the channel
 * adapter can do (address the conversation, strip the bot's @mention, reply).
 */
export interface ConversationTurn extends Turn {
  /** Where this conversation can be messaged later (no activity id). */
  reference(): ConversationRef;
  /** The message text without the bot's own @mention. */
  textWithoutMention(): string;
  replyWithCard(card: object): Promise<void>;
  /**
   * The Bot Framework token service's sign-in link and token exchange resource for an OAuth
   * connection (the loginRequest's fallback button); undefined when there is no token service
   * (sandbox, tests) or it did not answer.
   */
  signInResource?(connectionName: string): Promise<SignInResource | undefined>;
}

export interface SignInResource {
  signInLink?: string;
  tokenExchangeResource?: { id?: string; uri?: string; providerId?: string };
}

/** What proactive messages need to reach a conversation; stored as JSON between restarts. */
export interface ConversationRef {
  channelId?: string;
  serviceUrl?: string;
  bot?: AccountRef;
  user?: AccountRef;
  conversation?: ConversationAccountRef;
  locale?: string;
  activityId?: string;
}

export interface MentionEntity {
  type: 'mention';
  /** The `<at>name</at>` tag exactly as it appears in the message text. */
  text: string;
  /** `type: 'tag'` mentions a Teams tag (its Graph teamworkTag id) instead of a person. */
  mentioned: { id: string; name: string; type?: 'tag' };
}

/** A message the bot sends or updates. */
export interface OutboundActivity {
  type?: 'message';
  text?: string;
  textFormat?: 'plain' | 'markdown' | 'xml';
  attachments?: Array<{ contentType: string; content: unknown }>;
  entities?: MentionEntity[];
}

/** The answer to an invoke activity (the HTTP status and body Teams receives). */
export interface InvokeResult {
  status: number;
  body?: unknown;
}

/**
 * The HTTP request and response a channel adapter needs: what express hands the server and what
 * the Lambda entry builds from an API Gateway event (so neither host depends on the other).
 */
export interface InboundHttpRequest {
  method?: string;
  headers: Record<string, string | string[] | undefined>;
  body?: Record<string, unknown>;
}
export interface OutboundHttpResponse {
  /** Present on express's response; nothing here is a socket on Lambda. */
  socket: unknown;
  status(code: number): unknown;
  header(name: string, value: unknown): unknown;
  send(body?: unknown): unknown;
  end(): unknown;
}

/** Runs one inbound activity (POST /api/messages) through the channel adapter and answers the request. */
export interface MessagesEndpoint {
  process(req: InboundHttpRequest, res: OutboundHttpResponse): Promise<void>;
}
