/**
 * Bot Framework authentication and the connector clients it makes, with our delivery policy
 * (per-conversation pacing + retries honoring Retry-After) installed in every client, for replies
 * inside a turn and for proactive messages alike.
 *
 * Production: ConfigurationBotFrameworkAuthentication with the single-tenant app registration:
 * inbound JWTs are validated and outbound calls carry the bot's token.
 * Sandbox/test: built from `{}`, which turns authentication off (like the Emulator).
 */
import {
  type Activity,
  ConfigurationBotFrameworkAuthentication,
  ConfigurationServiceClientCredentialFactory,
  type ConversationParameters,
} from 'botbuilder';
import {
  type AuthenticateRequestResult,
  AuthenticationConstants,
  BotFrameworkAuthentication,
  type BotFrameworkClient,
  ClaimsIdentity,
  type ConnectorClient,
  ConnectorFactory,
  type UserTokenClient,
} from 'botframework-connector';
import type { ConversationRef, OutboundActivity } from '../activity';
import type { BotConfig } from '../config';
import type { PipelinePolicyLike } from '../delivery';
import type { Messenger } from '../messenger';

interface PipelineLike {
  addPolicy(policy: PipelinePolicyLike, options?: { phase?: 'Retry' }): void;
  removePolicy(options: { name?: string; phase?: 'Retry' }): unknown[];
}

/**
 * botbuilder 4.23 (the last 4.x, frozen) keeps its core-client ServiceClient in a private `client`
 * field and offers no option to replace the retry policy. We reach it here, in one place, and
 * fail loudly at the first call if the shape ever differs.
 */
export function installDeliveryPolicy(client: ConnectorClient, policy: PipelinePolicyLike): ConnectorClient {
  const pipeline = (client as unknown as { client?: { pipeline?: PipelineLike } }).client?.pipeline;
  if (!pipeline || typeof pipeline.removePolicy !== 'function' || typeof pipeline.addPolicy !== 'function') {
    throw new Error('The botframework-connector client no longer exposes its pipeline; the delivery policy cannot be installed.');
  }
  pipeline.removePolicy({ phase: 'Retry' });
  pipeline.addPolicy({ name: policy.name, sendRequest: (request, next) => policy.sendRequest(liftMentionTypes(request), next) }, { phase: 'Retry' });
  return client;
}

/**
 * A Teams tag mention is `mentioned: {id, name, type: "tag"}` ("Channel and group chat
 * conversations with a bot", Add mentions to your messages: tag mention). botbuilder 4.23's
 * connector serializes `mentioned` as a ChannelAccount, whose model has no `type`: the key is
 * dropped on the way out (test/integration/bot-reminders.test.ts caught it). So the messenger
 * carries it in ChannelAccount's `properties` (which the serializer keeps, nested), and this lifts
 * it back to `mentioned.type` in the serialized body, where the .NET SDK's extension data puts it.
 */
export function liftMentionTypes<R extends { body?: unknown }>(request: R): R {
  if (typeof request.body !== 'string' || !request.body.includes('"mentioned"') || !request.body.includes('"properties"')) return request;
  let parsed: { entities?: unknown; activity?: { entities?: unknown } };
  try {
    parsed = JSON.parse(request.body) as typeof parsed;
  } catch {
    return request;
  }
  let changed = false;
  for (const list of [parsed.entities, parsed.activity?.entities]) {
    if (!Array.isArray(list)) continue;
    for (const e of list as Array<{ mentioned?: { properties?: { type?: unknown }; type?: unknown } }>) {
      const type = e?.mentioned?.properties?.type;
      if (e?.mentioned && type === 'tag') {
        const { properties: _carried, ...rest } = e.mentioned;
        e.mentioned = { ...rest, type };
        changed = true;
      }
    }
  }
  return changed ? { ...request, body: JSON.stringify(parsed) } : request;
}

/** The SDK's form of a mention (see liftMentionTypes): a tag's `type` rides in `properties`. */
function sdkEntities(entities: OutboundActivity['entities']): unknown[] | undefined {
  return entities?.map((e) => (e.mentioned.type ? { ...e, mentioned: { id: e.mentioned.id, name: e.mentioned.name, properties: { type: e.mentioned.type } } } : e));
}

/**
 * The connector clients handed out, one per (app id, service URL, audience), and the user token
 * clients, one per app id, kept for the life of the process. CloudAdapter asks for both on every
 * turn (and a proactive send for a connector client on every call); building either costs a whole
 * core-client pipeline (policies, proxy settings from the environment), plus our policy swap, for
 * a client that holds nothing specific to the turn: its credentials (and their token cache) depend
 * on the app id and audience only. A turn that never calls the connector or the token service
 * (most card actions) paid that for nothing; the profile of bench/bot-load.ts showed it. Teams
 * uses a handful of service URLs, so the maps stay small; they are bounded anyway.
 */
export class ClientCache<T> {
  private readonly clients = new Map<string, Promise<T>>();

  constructor(private readonly maxEntries = 64) {}

  get(key: string, create: () => Promise<T>): Promise<T> {
    const hit = this.clients.get(key);
    if (hit) return hit;
    if (this.clients.size >= this.maxEntries) this.clients.delete(this.clients.keys().next().value!);
    const made = create();
    this.clients.set(key, made);
    // A failed creation (credentials) is not remembered: the next turn tries again.
    made.catch(() => this.clients.get(key) === made && this.clients.delete(key));
    return made;
  }

  get size(): number {
    return this.clients.size;
  }
}

class PolicyConnectorFactory extends ConnectorFactory {
  constructor(
    private readonly inner: ConnectorFactory,
    private readonly policy: PipelinePolicyLike,
    private readonly cache: ClientCache<ConnectorClient>,
    private readonly appKey: string,
  ) {
    super();
  }

  override create(serviceUrl: string, audience?: string): Promise<ConnectorClient> {
    return this.cache.get(JSON.stringify([this.appKey, serviceUrl, audience ?? null]), async () => installDeliveryPolicy(await this.inner.create(serviceUrl, audience), this.policy));
  }
}

/** The app id a connector factory is made for (botframework-connector takes the audience claim, else the appid claim). */
function appKeyOf(claims: ClaimsIdentity | undefined): string {
  return JSON.stringify([claims?.getClaimValue(AuthenticationConstants.AudienceClaim) ?? null, claims?.getClaimValue(AuthenticationConstants.AppIdClaim) ?? null]);
}

/** Delegates everything to the inner authentication and wraps the connector factories it hands out. */
export class DeliveryBotFrameworkAuthentication extends BotFrameworkAuthentication {
  readonly connectorClients = new ClientCache<ConnectorClient>();
  readonly userTokenClients = new ClientCache<UserTokenClient>();

  constructor(
    private readonly inner: BotFrameworkAuthentication,
    private readonly policy: PipelinePolicyLike,
  ) {
    super();
  }

  override async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    return this.wrapResult(await this.inner.authenticateRequest(activity, authHeader));
  }

  override async authenticateStreamingRequest(authHeader: string, channelIdHeader: string): Promise<AuthenticateRequestResult> {
    return this.wrapResult(await this.inner.authenticateStreamingRequest(authHeader, channelIdHeader));
  }

  override createConnectorFactory(claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return new PolicyConnectorFactory(this.inner.createConnectorFactory(claimsIdentity), this.policy, this.connectorClients, appKeyOf(claimsIdentity));
  }

  override createUserTokenClient(claimsIdentity: ClaimsIdentity): Promise<UserTokenClient> {
    return this.userTokenClients.get(appKeyOf(claimsIdentity), () => this.inner.createUserTokenClient(claimsIdentity));
  }

  override createBotFrameworkClient(): BotFrameworkClient {
    return this.inner.createBotFrameworkClient();
  }

  override getOriginatingAudience(): string {
    return this.inner.getOriginatingAudience();
  }

  override authenticateChannelRequest(authHeader: string): Promise<ClaimsIdentity> {
    return this.inner.authenticateChannelRequest(authHeader);
  }

  private wrapResult(result: AuthenticateRequestResult): AuthenticateRequestResult {
    return result.connectorFactory ? { ...result, connectorFactory: new PolicyConnectorFactory(result.connectorFactory, this.policy, this.connectorClients, appKeyOf(result.claimsIdentity)) } : result;
  }
}

export function createBotFrameworkAuthentication(config: Pick<BotConfig, 'authenticationEnabled' | 'app'>, policy: PipelinePolicyLike): DeliveryBotFrameworkAuthentication {
  if (!config.authenticationEnabled) {
    return new DeliveryBotFrameworkAuthentication(new ConfigurationBotFrameworkAuthentication({}), policy);
  }
  const app = config.app;
  if (!app) throw new Error('Authentication is on but the bot app registration is missing.');
  const appSettings = {
    MicrosoftAppId: app.id,
    MicrosoftAppType: 'SingleTenant',
    MicrosoftAppTenantId: app.tenantId,
    ...(app.credential.kind === 'secret'
      ? { MicrosoftAppPassword: app.credential.secret }
      : { CertificateThumbprint: app.credential.thumbprint, CertificatePrivateKey: app.credential.privateKey }),
  };
  const credentials = new ConfigurationServiceClientCredentialFactory(appSettings);
  return new DeliveryBotFrameworkAuthentication(new ConfigurationBotFrameworkAuthentication(appSettings, credentials), policy);
}

/**
 * Proactive messaging straight through the connector (no turn pipeline, so inbound-only
 * middleware such as the tenant guard does not run for the bot's own posts).
 */
export class ConnectorMessenger implements Messenger {
  constructor(
    private readonly auth: BotFrameworkAuthentication,
    private readonly botAppId: string,
  ) {}

  private async client(serviceUrl: string | undefined): Promise<ConnectorClient> {
    if (!serviceUrl) throw new Error('The conversation reference has no serviceUrl.');
    const claims = new ClaimsIdentity(
      [
        { type: AuthenticationConstants.AudienceClaim, value: this.botAppId },
        { type: AuthenticationConstants.AppIdClaim, value: this.botAppId },
        { type: AuthenticationConstants.ServiceUrlClaim, value: serviceUrl },
      ],
      true,
    );
    return this.auth.createConnectorFactory(claims).create(serviceUrl, undefined);
  }

  async createChannelThread(channel: ConversationRef, activity: OutboundActivity): Promise<{ conversationId: string; activityId: string }> {
    const channelId = channel.conversation?.id?.split(';')[0];
    if (!channelId) throw new Error('The channel reference has no conversation id.');
    const connector = await this.client(channel.serviceUrl);
    const tenantId = channel.conversation?.tenantId;
    const params: ConversationParameters = {
      isGroup: true,
      bot: (channel.bot ?? { id: this.botAppId, name: '' }) as ConversationParameters['bot'],
      members: [],
      topicName: '',
      tenantId: tenantId ?? '',
      channelData: { channel: { id: channelId }, ...(tenantId ? { tenant: { id: tenantId } } : {}) },
      activity: { type: 'message', ...activity, ...(activity.entities ? { entities: sdkEntities(activity.entities) } : {}) } as Partial<Activity> as Activity,
    };
    const created = await connector.conversations.createConversation(params);
    const conversationId = created.id;
    // Teams answers with the thread id `<channel>;messageid=<root id>` and the root activity id.
    const activityId = created.activityId || /;messageid=(\d+)/.exec(conversationId ?? '')?.[1];
    if (!conversationId || !activityId) throw new Error('Teams did not return the new thread and message ids.');
    return { conversationId, activityId };
  }

  async send(reference: ConversationRef, activity: OutboundActivity): Promise<string | undefined> {
    const conversationId = reference.conversation?.id;
    if (!conversationId) throw new Error('The conversation reference has no conversation id.');
    const connector = await this.client(reference.serviceUrl);
    const full = this.address(reference, activity);
    // A failed send throws (RestError with the status); a 2xx without a body is a delivered message.
    const r = await connector.conversations.sendToConversation(conversationId, full as Activity);
    return r?.id || undefined;
  }

  async update(reference: ConversationRef, activityId: string, activity: OutboundActivity): Promise<void> {
    const conversationId = reference.conversation?.id;
    if (!conversationId) throw new Error('The conversation reference has no conversation id.');
    const connector = await this.client(reference.serviceUrl);
    await connector.conversations.updateActivity(conversationId, activityId, { ...this.address(reference, activity), id: activityId } as Activity);
  }

  async member(serviceUrl: string, conversationId: string, memberId: string): Promise<{ id?: string; name?: string } | undefined> {
    const connector = await this.client(serviceUrl);
    const m = (await connector.conversations.getConversationMember(conversationId, memberId)) as { id?: string; name?: string } | undefined;
    return m ? { id: m.id, name: m.name } : undefined;
  }

  private address(reference: ConversationRef, activity: OutboundActivity): Partial<Activity> {
    return {
      type: 'message',
      ...activity,
      ...(activity.entities ? { entities: sdkEntities(activity.entities) as Activity['entities'] } : {}),
      channelId: reference.channelId ?? 'msteams',
      serviceUrl: reference.serviceUrl,
      conversation: reference.conversation as Activity['conversation'],
      from: reference.bot as Activity['from'] | undefined,
      recipient: reference.user as Activity['recipient'] | undefined,
    };
  }
}
