/**
 * The Teams bot: a TeamsActivityHandler on CloudAdapter. Thin on purpose: text becomes a command
 * (bot/commands.ts), an Action.Execute invoke goes to the one handler of its verb
 * (bot/handlers/), and every decision is the bridge's. The actor is always the activity's
 * `from.aadObjectId` in an allowed tenant (TenantGuard runs first, as adapter middleware).
 */
import { randomUUID } from 'node:crypto';
import {
  ActivityTypes,
  CardFactory,
  CloudAdapter,
  type ConversationReference,
  type InvokeResponse,
  MessageFactory,
  TeamsActivityHandler,
  TurnContext,
} from 'botbuilder';
import type { Clock } from '../core/ports';
import { BridgeClient } from './bridge-client';
import { type Command, parseCommand } from './commands';
import type { BotConfig } from './config';
import { createBotFrameworkAuthentication, ConnectorMessenger, type Messenger } from './connector';
import { ConversationPacer, deliveryPolicy, type RetryOptions, RetryingSender, systemClock } from './delivery';
import { EligibilityCache } from './eligibility';
import { accountSearch, type ActionContext, handlerFor, type HandlerDeps } from './handlers';
import { errorCard, help, messageCard, welcome } from './handlers/render';
import { buildRequestForm } from './handlers/shared';
import { ACTION_HANDLERS } from './handlers';
import { IdentityResolver, type RosterLookup, teamsRoster } from './identity';
import { type Log, errorDetails, silentLog } from './log';
import { ApproverDirectory, TeamsNotifications } from './notifications';
import { DynamoConversationStore } from './storage/dynamodb';
import { FileConversationStore } from './storage/file';
import { MemoryConversationStore } from './storage/memory';
import type { ConversationStore } from './storage/types';
import { MsalTokenProvider, type TokenProvider, createMsalClient, staticTokenProvider } from './token-provider';
import { TenantGuard } from './tenant-guard';

export interface JitBotDeps extends HandlerDeps {
  identity: IdentityResolver;
  /** The on-call channel (`19:...`): its conversation reference is remembered when the bot is used there. */
  oncallChannelId: string;
  approverAadObjectIds: readonly string[];
}

const ADAPTIVE = 'application/vnd.microsoft.card.adaptive';
const SEARCH_RESPONSE = 'application/vnd.microsoft.search.searchResponse';

const invokeError = (status: number, code: string, message: string): InvokeResponse => ({
  status,
  body: { statusCode: status, type: 'application/vnd.microsoft.error', value: { code, message } },
});

export class JitBot extends TeamsActivityHandler {
  /** Last reference saved per user / channel, so an unchanged one is not written on every click. */
  private readonly remembered = new Map<string, string>();

  constructor(private readonly deps: JitBotDeps) {
    super();
    this.onMessage(async (context, next) => {
      await this.onText(context);
      await next();
    });
    this.onMembersAdded(async (context, next) => {
      const botAdded = (context.activity.membersAdded ?? []).some((m) => m.id === context.activity.recipient?.id);
      if (botAdded) {
        await this.remember(context);
        if (context.activity.conversation?.conversationType === 'personal') await this.reply(context, welcome(this.isConfiguredApprover(context)));
      }
      await next();
    });
  }

  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    switch (context.activity.name) {
      case 'adaptiveCard/action':
        return this.onCardAction(context);
      case 'application/search':
        return this.onSearch(context);
      default:
        return super.onInvokeActivity(context);
    }
  }

  private async onText(context: TurnContext): Promise<void> {
    await this.remember(context);
    const activity = context.activity;
    // In a channel or group chat the text arrives as `<at>Bot</at> request`: drop the bot's mention.
    const text = activity.conversation?.conversationType === 'personal' ? (activity.text ?? '') : (TurnContext.removeRecipientMention(activity) ?? activity.text ?? '');
    const command = parseCommand(text);
    this.deps.log.info('command', { command, conversationType: activity.conversation?.conversationType });
    const ctx = this.actionContext(context);
    let card;
    try {
      card = await this.commandCard(ctx, command);
    } catch (e) {
      this.deps.log.warn('command failed', { command, ...errorDetails(e) });
      card = errorCard(e);
    }
    await this.reply(context, card);
  }

  private async commandCard(ctx: ActionContext, command: Command) {
    switch (command) {
      case 'request':
        return buildRequestForm(ctx, { clientRequestId: this.deps.newClientRequestId() });
      case 'mine':
        return ACTION_HANDLERS['menu.mine'].handle(ctx, {});
      case 'pending':
        return ACTION_HANDLERS['menu.pending'].handle(ctx, {});
      case 'greeting':
        return welcome(this.isConfiguredApprover(ctx.turn));
      case 'help':
      case 'unknown':
        return help();
    }
  }

  private async onCardAction(context: TurnContext): Promise<InvokeResponse> {
    const action = (context.activity.value as { action?: { type?: unknown; verb?: unknown; data?: unknown } } | undefined)?.action;
    if (!action || action.type !== 'Action.Execute') return invokeError(400, 'BadRequest', 'Only Action.Execute is supported.');
    const handler = handlerFor(action.verb);
    if (!handler) {
      this.deps.log.warn('unknown card verb refused', { verb: typeof action.verb === 'string' ? action.verb.slice(0, 64) : typeof action.verb });
      return invokeError(400, 'BadRequest', 'This card action is not known.');
    }
    await this.remember(context);
    const ctx = this.actionContext(context);
    let card;
    try {
      const parsed = handler.schema.safeParse(action.data ?? {});
      if (parsed.success) {
        card = await handler.handle(ctx, parsed.data);
      } else {
        const issues = parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.') || '(data)', message: i.message }));
        this.deps.log.warn('card action data refused', { verb: handler.verb, ...requestIdOf(action.data), paths: issues.map((i) => i.path) });
        card =
          (await handler.onInvalid?.(ctx, action.data, issues)) ??
          messageCard('This card cannot be used', 'Its data was not valid, so nothing was done. Say "help" for a fresh card.', 'attention');
      }
    } catch (e) {
      this.deps.log.warn('card action failed', { verb: handler.verb, ...requestIdOf(action.data), ...errorDetails(e) });
      card = errorCard(e);
    }
    return { status: 200, body: { statusCode: 200, type: ADAPTIVE, value: card } };
  }

  private async onSearch(context: TurnContext): Promise<InvokeResponse> {
    const ctx = this.actionContext(context);
    try {
      const results = await accountSearch(ctx, (context.activity.value ?? {}) as Parameters<typeof accountSearch>[1]);
      if (!results) return invokeError(400, 'BadRequest', 'This search is not known.');
      return { status: 200, body: { statusCode: 200, type: SEARCH_RESPONSE, value: { results } } };
    } catch (e) {
      this.deps.log.warn('account search failed', errorDetails(e));
      return invokeError(500, 'SearchFailed', 'The account list is not available right now; try again.');
    }
  }

  private actionContext(context: TurnContext): ActionContext {
    let actor: ReturnType<ActionContext['actor']> | undefined;
    return { turn: context, deps: this.deps, now: this.deps.clock.now(), actor: () => (actor ??= this.deps.identity.actorFor(context)) };
  }

  private isConfiguredApprover(context: TurnContext): boolean {
    const aad = context.activity.from?.aadObjectId?.toLowerCase();
    return !!aad && this.deps.approverAadObjectIds.includes(aad);
  }

  private async reply(context: TurnContext, card: Parameters<typeof CardFactory.adaptiveCard>[0]): Promise<void> {
    await context.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(card)));
  }

  /** Keeps the references proactive messages need: the user's 1:1 chat, and the on-call channel. */
  private async remember(context: TurnContext): Promise<void> {
    const activity = context.activity;
    const reference = TurnContext.getConversationReference(activity);
    delete reference.activityId;
    try {
      const type = activity.conversation?.conversationType;
      const aad = activity.from?.aadObjectId;
      if (type === 'personal' && aad) {
        if (this.unchanged(`user:${aad.toLowerCase()}`, reference)) return;
        await this.deps.store.saveUserReference(aad, reference);
        return;
      }
      const channelId = ((activity.channelData as { channel?: { id?: string } } | undefined)?.channel?.id ?? activity.conversation?.id ?? '').split(';')[0];
      if (channelId && channelId === this.deps.oncallChannelId) {
        const channelReference: Partial<ConversationReference> = { ...reference, conversation: { ...reference.conversation!, id: channelId } };
        if (this.unchanged('channel', channelReference)) return;
        await this.deps.store.saveChannelReference(channelReference);
      }
    } catch (e) {
      this.deps.log.warn('could not store a conversation reference', errorDetails(e));
    }
  }

  private unchanged(key: string, reference: Partial<ConversationReference>): boolean {
    const json = JSON.stringify(reference);
    if (this.remembered.get(key) === json) return true;
    if (this.remembered.size > 10_000) this.remembered.clear();
    this.remembered.set(key, json);
    return false;
  }
}

/** What tests and the sandbox may replace; everything else comes from the config. */
export interface BotOverrides {
  tokens?: TokenProvider;
  fetch?: typeof fetch;
  clock?: Clock;
  log?: Log;
  store?: ConversationStore;
  roster?: RosterLookup;
  retry?: RetryOptions;
  newClientRequestId?: () => string;
  claimStaleMs?: number;
}

export interface BotApplication {
  adapter: CloudAdapter;
  bot: JitBot;
  notifications: TeamsNotifications;
  messenger: Messenger;
  store: ConversationStore;
  bridge: BridgeClient;
  log: Log;
  clock: Clock;
}

export async function openStore(config: Pick<BotConfig, 'store'>): Promise<ConversationStore> {
  switch (config.store.kind) {
    case 'memory':
      return new MemoryConversationStore();
    case 'file':
      return FileConversationStore.open(config.store.file!);
    case 'dynamodb':
      return new DynamoConversationStore({ tableName: config.store.table! });
  }
}

function tokenProviderFor(config: BotConfig): TokenProvider {
  if (config.bridge.scope && config.app) return new MsalTokenProvider(createMsalClient(config), config.bridge.scope);
  if (config.authenticationEnabled) throw new Error('The bridge scope and app registration are needed for bridge tokens.');
  // Sandbox/test without Entra: the local bridge does not check tokens.
  return staticTokenProvider(`${config.mode}-token`);
}

/** Builds the whole bot from the config (parsed once by the caller). */
export async function createBotApplication(config: BotConfig, o: BotOverrides = {}): Promise<BotApplication> {
  const clock = o.clock ?? systemClock;
  const log = o.log ?? silentLog;
  const store = o.store ?? (await openStore(config));
  const bridge = new BridgeClient({ baseUrl: config.bridge.baseUrl, tokens: o.tokens ?? tokenProviderFor(config), timeoutMs: config.bridge.timeoutMs, fetch: o.fetch });
  const policy = deliveryPolicy(new ConversationPacer(clock), new RetryingSender(clock, o.retry, log));
  const auth = createBotFrameworkAuthentication(config, policy);
  const adapter = new CloudAdapter(auth);
  adapter.use(new TenantGuard(config.allowedTenantIds, log));
  adapter.onTurnError = async (context, error) => {
    log.error('turn failed', { type: context.activity.type, name: context.activity.name, ...errorDetails(error) });
    if (context.activity.type === ActivityTypes.Message) await context.sendActivity('Sorry, something went wrong. Please try again.').catch(() => undefined);
  };
  const botAppId = config.app?.id ?? '';
  const messenger = new ConnectorMessenger(auth, botAppId);
  // Approvers who never chatted with the bot are named from the on-call team's roster (3 s at most).
  const roster = async (aadObjectId: string) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 3000)));
    return Promise.race([messenger.member(config.oncall.serviceUrl, config.oncall.teamId, aadObjectId), timeout]).finally(() => clearTimeout(timer));
  };
  const approvers = new ApproverDirectory(config.approverAadObjectIds, store, roster, () => clock.now());
  const notifications = new TeamsNotifications({
    messenger,
    store,
    approvers,
    clock,
    log,
    accessPortalUrl: config.accessPortalUrl,
    claimStaleMs: o.claimStaleMs,
    channel: {
      channelId: config.oncall.channelId,
      teamId: config.oncall.teamId,
      serviceUrl: config.oncall.serviceUrl,
      tenantId: config.app?.tenantId ?? config.allowedTenantIds[0],
      botId: `28:${botAppId || 'jit-access-bot'}`,
    },
  });
  const bot = new JitBot({
    bridge,
    eligibility: new EligibilityCache(bridge, 60_000, () => clock.now()),
    identity: new IdentityResolver(o.roster ?? teamsRoster, { log, now: () => clock.now() }),
    store,
    approvers,
    clock,
    log,
    accessPortalUrl: config.accessPortalUrl,
    newClientRequestId: o.newClientRequestId ?? (() => randomUUID()),
    onRequestChanged: (request) => notifications.refreshPostedCards(request),
    oncallChannelId: config.oncall.channelId,
    approverAadObjectIds: config.approverAadObjectIds,
  });
  return { adapter, bot, notifications, messenger, store, bridge, log, clock };
}

/** The correlation key of a card action's log lines: the card's request id, if it looks like one (card data is untrusted). */
function requestIdOf(data: unknown): { requestId?: string } {
  const id = (data as { requestId?: unknown } | null | undefined)?.requestId;
  return typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id) ? { requestId: id } : {};
}
