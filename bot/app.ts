/**
 * Builds the bot from its config: the bridge client, the conversation store, the delivery policy,
 * the Teams channel adapter (bot/teams/, the only place botbuilder is used), the notifications and
 * the turn logic (bot/turns.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/ports';
import type { MessagesEndpoint } from './activity';
import { BridgeClient } from './bridge-client';
import type { BotConfig } from './config';
import { ConversationPacer, deliveryPolicy, type RetryOptions, RetryingSender, systemClock } from './delivery';
import { EligibilityCache } from './eligibility';
import { IdentityResolver, type RosterLookup } from './identity';
import { type Log, silentLog } from './log';
import type { Messenger } from './messenger';
import type { SandboxActing } from './handlers';
import { ApproverDirectory, TeamsNotifications } from './notifications';
import { FileConversationStore } from './storage/file';
import { MemoryConversationStore } from './storage/memory';
import type { ConversationStore } from './storage/types';
import { StepUpVerifier } from './step-up';
import type { JSONWebKeySet } from 'jose';
import { createTeamsAdapter } from './teams';
import { MsalTokenProvider, type TokenProvider, createMsalClient, staticTokenProvider } from './token-provider';

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
  /** The keys step-up tokens are checked against (the sandbox's local issuer); default: Entra's, from config.sso.jwksUrl. */
  stepUpKeys?: JSONWebKeySet;
  /**
   * The sandbox's "Sandbox: approve as Carol" clicks (sandbox/click-act.ts). Used ONLY when the
   * config's mode is `sandbox`: in any other mode it is dropped here, so no card shows the buttons
   * and the `sandbox.act` verb is refused (bot/handlers/sandbox-act.ts).
   */
  sandboxActing?: SandboxActing;
}

export interface BotApplication {
  /** POST /api/messages: the Teams channel adapter running the bot. */
  messages: MessagesEndpoint;
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
    case 'dynamodb': {
      // Loaded only for this store: the AWS SDK's DynamoDB clients stay out of memory otherwise.
      const { DynamoConversationStore } = await import('./storage/dynamodb');
      return new DynamoConversationStore({ tableName: config.store.table! });
    }
  }
}

async function tokenProviderFor(config: BotConfig): Promise<TokenProvider> {
  if (config.bridge.scope && config.app) return new MsalTokenProvider(await createMsalClient(config), config.bridge.scope);
  if (config.authenticationEnabled) throw new Error('The bridge scope and app registration are needed for bridge tokens.');
  // Sandbox/test without Entra: the local bridge does not check tokens.
  return staticTokenProvider(`${config.mode}-token`);
}

/** Builds the whole bot from the config (parsed once by the caller). */
export async function createBotApplication(config: BotConfig, o: BotOverrides = {}): Promise<BotApplication> {
  const clock = o.clock ?? systemClock;
  const log = o.log ?? silentLog;
  const sandbox = config.mode === 'sandbox' ? o.sandboxActing : undefined;
  if (o.sandboxActing && !sandbox) log.warn('sandbox actions ignored: the bot is not in sandbox mode', { mode: config.mode });
  const store = o.store ?? (await openStore(config));
  const bridge = new BridgeClient({ baseUrl: config.bridge.baseUrl, tokens: o.tokens ?? (await tokenProviderFor(config)), timeoutMs: config.bridge.timeoutMs, fetch: o.fetch });
  const policy = deliveryPolicy(new ConversationPacer(clock), new RetryingSender(clock, o.retry, log));
  const teams = createTeamsAdapter(config, policy, log);
  const botAppId = config.app?.id ?? '';
  const messenger = teams.messenger;
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
    ...(sandbox ? { sandboxActions: (request: Parameters<SandboxActing['actionsFor']>[0]) => sandbox.actionsFor(request) } : {}),
    channel: {
      channelId: config.oncall.channelId,
      teamId: config.oncall.teamId,
      serviceUrl: config.oncall.serviceUrl,
      tenantId: config.app?.tenantId ?? config.allowedTenantIds[0],
      botId: `28:${botAppId || 'jit-access-bot'}`,
    },
  });
  const messages = teams.endpoint({
    bridge,
    eligibility: new EligibilityCache(bridge, 60_000, () => clock.now()),
    identity: new IdentityResolver(o.roster ?? teams.roster, { log, now: () => clock.now() }),
    store,
    approvers,
    clock,
    log,
    accessPortalUrl: config.accessPortalUrl,
    newClientRequestId: o.newClientRequestId ?? (() => randomUUID()),
    ...(config.sso ? { stepUp: new StepUpVerifier(config.sso, () => clock.now(), o.stepUpKeys) } : {}),
    ...(sandbox ? { sandbox } : {}),
    // No onRequestChanged: the posted cards have one writer, the backend's notice (bot/notifications);
    // the clicker gets the updated card in the invoke response.
    oncallChannelId: config.oncall.channelId,
    approverAadObjectIds: config.approverAadObjectIds,
  });
  return { messages, notifications, messenger, store, bridge, log, clock };
}

