/**
 * The sandbox orchestrator: the whole product on 127.0.0.1, in one process.
 *
 *   AWS stand-ins (sandbox/aws)  sso-admin, identitystore, sfn, scheduler, securityhub on one port
 *   stores (sandbox/stores)      requests, grant ledger, findings, audit log in the data folder (DynamoDB's place)
 *   backend                      lambdas/composition.ts composeBackend: the Lambdas' own composition
 *                                (adapters, the Identity Center limiter, metrics, notifier budget),
 *                                its clients pointed at the stand-ins and its DynamoDB ports at the stores
 *   bridge                       the REAL lambdas/bridge handler behind a local API Gateway v2 shim
 *   workflow                     the state machine synthesized from infra/, run by the Step Functions
 *                                stand-in, its Tasks bound to the REAL workflow/notify/revoke handlers
 *   scheduler target             the REAL revoke handler; reconcile on an interval
 *   findings                     Security Hub imported-findings events -> the on-call channel
 *   bot                          the REAL bot Lambda handler (bot/lambda-entry.ts) in sandbox mode
 *                                (authentication off) behind a local HTTP API v2 shim; the backend's
 *                                notices reach it as Lambda invokes, as in the stack (bot-server.ts)
 *   Agents Playground            optional child process (the Teams client)
 *
 * startSandbox runs these as named steps, in the order their dependencies force: the bridge
 * listens before the bot exists (the bot's config names its URL), the bot before the backend (the
 * notifier invokes it), the backend before the handlers are bound to the bridge and the workflow.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadPolicyFile } from '../../infra/config';
import { TASK_FUNCTIONS, STATES } from '../../infra/constructs/approval-workflow';
import { synthesizeWorkflowDefinition } from '../../infra/build';
import type { StateMachineDefinition } from '../../infra/workflow-definition';
import type { CoreDeps } from '../../core/services/types';
import type { Log } from '../../core/ports';
import { SEVERITY_ORDER as SEVERITY_LABELS } from '../../lambdas/adapters/finding-views';
import { asffFindingsPattern } from '../../infra/constructs/findings-routing';
import { matchesEventPattern, wirePattern } from '../aws/event-pattern';
import { MemorySessionCutStore } from '../../core/memory';
import { createBridgeHandler } from '../../lambdas/bridge/handler';
import { type Backend, composeBackend } from '../../lambdas/composition';
import { createFindingsHandler } from '../../lambdas/findings/handler';
import { type LambdaConfig, parseConfig } from '../../lambdas/config';
import type { RevokePayload, WorkflowTaskPayload } from '../../contract/workflow';
import { ENV } from '../../lambdas/contract';
import { createNotifyHandler, type NotifyPayload } from '../../lambdas/notify/handler';
import { LocalAsyncInvoke } from './async-invoke';
import type { MetricsSink } from '../../lambdas/observability/emf';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { createRevokeHandler } from '../../lambdas/revoke/handler';
import { createWorkflowHandler } from '../../lambdas/workflow/handler';
import { createSandboxActing } from '../click-act';
import { type BotApplication, createBotApplication } from '../../bot/app';
import { parseBotConfig } from '../../bot/config';
import { type BotLambdaHandler, createBotLambdaHandler } from '../../bot/lambda-entry';
import { jsonLog } from '../../bot/log';
import { type AwsStandIns, startAwsStandIns } from '../aws';
import type { Directory } from '../aws/identity-store';
import { DEFAULT_DATA_DIR, SANDBOX_DATA_MARKER } from '../aws/persistence';
import { PLAYGROUND_DEFAULT_PORT, PLAYGROUND_IDS, playgroundLaunch, writePlaygroundConfig } from '../playground';
import { assertPortsFree, explainListenError, type PortNeed, portFromEnv, SANDBOX_PORTS } from '../ports';
import { type DemoPeople, demoDirectory, loadDemoPeople } from '../seed';
import { openSandboxStores, type SandboxStores } from '../stores';
import { localBotInvoker, startLocalBotServer } from './bot-server';
import { type RunningBridge, startLocalBridge } from './bridge-server';
import {
  SANDBOX_BOT_APP_ID,
  SANDBOX_BRIDGE_AUDIENCE,
  SANDBOX_ISSUER_KEY_FILE,
  SANDBOX_SSO_APPLICATION_ID_URI,
  SANDBOX_SSO_CONNECTION_NAME,
  createJwtAuthorizer,
  createLocalIssuer,
  type LocalIssuer,
} from '../jwt-authorizer';
import type { JWK } from 'jose';
import { OffsetClock } from './clock';

export const BRIDGE_PORT: PortNeed = { port: 3979, what: 'bridge', env: 'JIT_BRIDGE_PORT' };
export const DEMO_POLICY_FILE = resolve(__dirname, '..', 'demo-policy.yaml');
export const STATE_MACHINE_NAME = 'jit-access-sandbox-approval';
/** The sandbox bot's "app id": the azp claim the local bridge presents (a fixed placeholder GUID). */
export { SANDBOX_BOT_APP_ID } from '../jwt-authorizer';
export const SCHEDULER_GROUP = 'jit-access-sandbox';
export const SCHEDULER_TARGET_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:jit-access-sandbox-revoke';
/** The sandbox bot's alias, as the stack names the hosted bot's (JIT_BOT_FUNCTION_ARN). */
export const BOT_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:jit-access-sandbox-bot:live';

/** The bot as the sandbox runs it: the Lambda handler behind the HTTP API shim. */
export interface SandboxBot {
  url: string;
  application: BotApplication;
  /** The function's handler (HTTP API events and direct invokes). */
  handler: BotLambdaHandler;
  close(): Promise<void>;
}

type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface SandboxOptions {
  /** Data folder; `false` keeps everything in memory. Default `.sandbox-data` (JIT_SANDBOX_DATA_DIR). */
  dataDir?: string | false;
  /** Ports; 0 picks a free one (tests). Defaults: bot 3978, bridge 3979, AWS 4599, playground 56150. */
  ports?: { bot?: number; bridge?: number; aws?: number; playground?: number };
  /** Start the Agents Playground child process (npm start: yes; tests: no). */
  playground?: boolean;
  /** Where the bot sends replies and channel posts: default the playground's connector. */
  teamsServiceUrl?: string;
  /** Identity Center's assignment delay, default uniform 1-3 s. */
  assignmentDelayMs?: { min: number; max: number };
  /** The identity store's users and groups; default the demo people (the burst bench adds requesters). */
  directory?: Directory;
  /**
   * Milliseconds for every grant status wait instead of the definition's own schedule (tests with a
   * millisecond Identity Center). Default: the deployed definition's waits, so that the sandbox
   * shows the latency AWS would.
   */
  grantPollMs?: number;
  /** The demo people (identity store, bot, bridge); default sandbox/demo-directory.json. Benchmarks add requesters. */
  people?: DemoPeople;
  /** Reconcile interval; default 60 s; 0 turns it off. */
  reconcileIntervalMs?: number;
  /** One line per event worth a human's attention. */
  log?: (line: string) => void;
  /** Handler log level (JSON lines on stderr); default WARN. */
  logLevel?: LogLevel;
  /** Where the backend's metric points go (CloudWatch EMF on AWS); default DEBUG lines of the handler log. */
  metrics?: MetricsSink;
}

export interface Sandbox {
  urls: { bot: string; messages: string; bridge: string; aws: string; playground?: string; connector: string };
  dataDir: string | undefined;
  clock: OffsetClock;
  aws: AwsStandIns;
  stores: SandboxStores;
  /** The backend as the Lambdas compose it (lambdas/composition.ts), pointed at the stand-ins. */
  backend: Backend;
  /** backend.deps: what every handler of the sandbox runs on. */
  deps: CoreDeps;
  /** The notice flushes queued for the notify function (Lambda's asynchronous invoke); `idle()` waits for them. */
  notices: LocalAsyncInvoke;
  config: LambdaConfig;
  bot: SandboxBot;
  bridge: RunningBridge;
  playground?: ChildProcess;
  /** Runs the reconcile handler once now. */
  reconcile(): Promise<unknown>;
  /** Managed permission sets whose SessionDuration is over one hour (checked at startup). */
  sessionDurationWarnings: Array<{ permissionSetArn: string; sessionDuration: string }>;
  /** A bearer token the bridge admits (the bot's identity), for callers of the bridge other than the bot. */
  bridgeToken(): Promise<string>;
  /** A Teams SSO token for a demo person, as Teams would send it after a loginRequest (step-up votes). */
  userToken: LocalIssuer['mintUser'];
  /** Resolves when the playground child exits (never, without a playground). */
  playgroundExited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

let definitionMemo: StateMachineDefinition | undefined;

/** The approval state machine as infra/ synthesizes it, with the sandbox's demo policy (memoized per process). */
export function sandboxWorkflowDefinition(): StateMachineDefinition {
  definitionMemo ??= synthesizeWorkflowDefinition({ policyFile: DEMO_POLICY_FILE });
  return structuredClone(definitionMemo);
}

function handlerLog(level: LogLevel, name: string): Log {
  const base = jsonLog(level, (line) => process.stderr.write(`${line}\n`));
  const tag = (d?: Record<string, unknown>) => ({ function: name, ...d });
  return { debug: (m, d) => base.debug(m, tag(d)), info: (m, d) => base.info(m, tag(d)), warn: (m, d) => base.warn(m, tag(d)), error: (m, d) => base.error(m, tag(d)) };
}

/** The sandbox's metrics: what would be EMF lines on AWS, as DEBUG lines (JIT_LOG_LEVEL=DEBUG shows them). */
function debugMetrics(level: LogLevel): MetricsSink {
  const log = handlerLog(level, 'metrics');
  return { emit: (points) => points.forEach((p) => log.debug('metric', { metric: p.name, value: p.value, unit: p.unit, dimensions: p.dimensions })) };
}

/** What startSandbox has started, stopped in reverse order (also when a later step fails). */
class Stoppers {
  private readonly stops: Array<() => Promise<void> | void> = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly log: (line: string) => void) {}

  add(stop: () => Promise<void> | void): void {
    this.stops.push(stop);
  }

  stopAll(): Promise<void> {
    return (this.stopping ??= (async () => {
      for (const stop of this.stops.reverse()) {
        try {
          await stop();
        } catch (e) {
          this.log(`[sandbox] while stopping: ${(e as Error).message}`);
        }
      }
    })());
  }
}

interface Settings {
  log: (line: string) => void;
  logLevel: LogLevel;
  dataDir: string | undefined;
  ports: { bot: PortNeed; bridge: PortNeed; aws: PortNeed; playground: PortNeed };
}

/** Step 1: options and environment into settings; the fixed ports must be free. */
async function loadSettings(options: SandboxOptions): Promise<Settings> {
  const log = options.log ?? ((line: string) => console.log(line));
  const logLevel = options.logLevel ?? ((process.env.JIT_LOG_LEVEL as SandboxOptions['logLevel']) || 'WARN');
  const dataDir = options.dataDir === false ? undefined : resolve(options.dataDir ?? process.env.JIT_SANDBOX_DATA_DIR ?? DEFAULT_DATA_DIR);
  const ports = {
    bot: { ...portFromEnv(SANDBOX_PORTS.bot), ...(options.ports?.bot !== undefined ? { port: options.ports.bot } : {}) },
    bridge: { ...portFromEnv(BRIDGE_PORT), ...(options.ports?.bridge !== undefined ? { port: options.ports.bridge } : {}) },
    aws: { ...portFromEnv(SANDBOX_PORTS.aws), ...(options.ports?.aws !== undefined ? { port: options.ports.aws } : {}) },
    playground: { ...portFromEnv(SANDBOX_PORTS.playground), ...(options.ports?.playground !== undefined ? { port: options.ports.playground } : {}) },
  };
  // The playground would silently move to another port, and the bot's channel posts would then
  // go nowhere: a taken playground port is an error too.
  await assertPortsFree([ports.bot, ports.bridge, ports.aws, ...(options.playground ? [ports.playground] : [])].filter((n) => n.port !== 0));
  return { log, logLevel, dataDir, ports };
}

/** Step 2: the AWS stand-ins on their port, schedules not armed until their target exists. */
async function startStandIns(settings: Settings, options: SandboxOptions, clock: OffsetClock, life: Stoppers): Promise<AwsStandIns> {
  const aws = await startAwsStandIns({
    port: settings.ports.aws.port,
    dataDir: settings.dataDir ?? false,
    clock,
    deferStart: true,
    identityCenter: options.assignmentDelayMs === undefined ? {} : { assignmentDelayMs: options.assignmentDelayMs },
    ...(options.directory ? { directory: options.directory } : options.people ? { directory: demoDirectory(options.people) } : {}),
    // The stack creates its schedule group (infra: ScheduleGroup ExpirySchedules); so does the sandbox.
    scheduler: { log: settings.log, scheduleGroups: [SCHEDULER_GROUP] },
    stepFunctions: { log: settings.log },
  });
  life.add(() => aws.stop());
  if (settings.dataDir) writeFileSync(join(settings.dataDir, SANDBOX_DATA_MARKER), 'Teams JIT Access sandbox data. `npm run sandbox:reset` deletes this folder.\n');
  return aws;
}

/** Step 3: DynamoDB's place, the file-backed stores (there is no DynamoDB stand-in). */
function openStores(settings: Settings, life: Stoppers): SandboxStores {
  const stores = openSandboxStores(settings.dataDir);
  life.add(() => stores.flush());
  return stores;
}

interface StartedBridge {
  bridge: RunningBridge;
  mintBridgeToken: () => Promise<string>;
  /** A Teams SSO token of a demo person (the local issuer plays Entra), for step-up in tests and tools. */
  mintUserToken: LocalIssuer['mintUser'];
  /** The bot's token provider: the bridge's tokens, cached as msal-node caches them. */
  botTokens: { getToken(): Promise<string> };
  /** The local issuer's public keys: the bot checks the demo people's step-up (Teams SSO) tokens with them. */
  jwks: { keys: JWK[] };
  /** The local issuer itself (it plays Entra): the channel card's sandbox votes sign people in with it, as `sandbox:act` does. */
  issuer: LocalIssuer;
  /** Binds the real bridge handler and the reconcile (and weekly digest) controls once the backend exists. */
  bind(handler: Parameters<typeof startLocalBridge>[0]['handler'], reconcile: () => Promise<unknown>, digest?: () => Promise<unknown>): void;
}

/**
 * Step 4: the bridge's HTTP shim, with the sandbox playing Entra. It must listen before the bot
 * exists (the bot's config names its URL); until `bind`, it answers 503 STARTING.
 */
async function startBridge(settings: Settings, people: DemoPeople, clock: OffsetClock, life: Stoppers): Promise<StartedBridge> {
  let bridgeHandler: Parameters<typeof startLocalBridge>[0]['handler'] = async () => ({ statusCode: 503, headers: { 'content-type': 'application/json' }, body: '{"error":{"code":"STARTING","message":"The sandbox is starting."}}' });
  let reconcileNow: () => Promise<unknown> = async () => undefined;
  let digestNow: () => Promise<unknown> = async () => undefined;
  // The bot gets real RS256 tokens and the bridge checks them as the HTTP API's JWT authorizer
  // would (the key stays in the data folder for act.ts and tests). Tokens shaped like Entra v2
  // app-only tokens: iss the tenant's v2 issuer, aud the bridge app's client id.
  const dataDir = settings.dataDir;
  const issuer = await createLocalIssuer({ tenantId: people.tenantId, audience: SANDBOX_BRIDGE_AUDIENCE, keyFile: dataDir ? join(dataDir, SANDBOX_ISSUER_KEY_FILE) : undefined });
  const mintBridgeToken = () => issuer.mint({ appId: SANDBOX_BOT_APP_ID });
  let cachedToken: { token: string; until: number } | undefined;
  const botTokens = {
    async getToken() {
      if (!cachedToken || cachedToken.until < Date.now()) cachedToken = { token: await mintBridgeToken(), until: Date.now() + 50 * 60_000 };
      return cachedToken.token;
    },
  };
  const bridge = await startLocalBridge({
    port: settings.ports.bridge.port,
    identity: { botAppId: SANDBOX_BOT_APP_ID, tenantId: people.tenantId, audience: SANDBOX_BRIDGE_AUDIENCE },
    authorize: createJwtAuthorizer({ issuer: issuer.issuer, audience: SANDBOX_BRIDGE_AUDIENCE, jwks: issuer.jwks }),
    handler: (event) => bridgeHandler(event),
    log: settings.log,
    control: async (req) => {
      if (req.path === '/_sandbox/clock' && req.method === 'GET') return { status: 200, body: { now: new Date(clock.now()).toISOString(), offsetMs: clock.offset } };
      if (req.path === '/_sandbox/clock/advance' && req.method === 'POST') {
        const b = (req.body ?? {}) as { minutes?: unknown; seconds?: unknown };
        const ms = (typeof b.minutes === 'number' ? b.minutes * 60_000 : 0) + (typeof b.seconds === 'number' ? b.seconds * 1000 : 0);
        if (!(ms > 0) || ms > 7 * 24 * 3_600_000) return { status: 400, body: { error: { code: 'VALIDATION', message: 'Give {"minutes": n} or {"seconds": n}, positive, at most a week.' } } };
        clock.advance(ms);
        return { status: 200, body: { now: new Date(clock.now()).toISOString(), offsetMs: clock.offset } };
      }
      if (req.path === '/_sandbox/reconcile' && req.method === 'POST') return { status: 200, body: await reconcileNow() };
      // The weekly schedule's firing (EventBridge Scheduler in AWS), now: `npm run sandbox:digest`.
      if (req.path === '/_sandbox/digest' && req.method === 'POST') {
        try {
          return { status: 200, body: await digestNow() };
        } catch (e) {
          return { status: 502, body: { error: { code: 'DIGEST_FAILED', message: (e as Error).message } } };
        }
      }
      return undefined;
    },
  }).catch((e: unknown) => {
    throw explainListenError(e, settings.ports.bridge);
  });
  life.add(() => bridge.close());
  return {
    bridge,
    mintBridgeToken,
    mintUserToken: (claims) => issuer.mintUser(claims),
    botTokens,
    jwks: issuer.jwks,
    issuer,
    bind(handler, reconcile, digest) {
      bridgeHandler = handler;
      reconcileNow = reconcile;
      if (digest) digestNow = digest;
    },
  };
}

/** The Teams connector the bot posts to: the playground's, unless the caller records them itself. */
function connectorUrl(settings: Settings, options: SandboxOptions): { playgroundPort: number; connector: string } {
  const playgroundPort = settings.ports.playground.port || PLAYGROUND_DEFAULT_PORT;
  return { playgroundPort, connector: options.teamsServiceUrl ?? `http://127.0.0.1:${playgroundPort}/_connector` };
}

/**
 * Step 5: the bot, in sandbox mode (authentication off, explicitly) against the local bridge, run
 * as the stack runs it: the Lambda handler behind the HTTP API shim, so the playground and the e2e
 * suite exercise the production entry. Like the hosted bot it has no /api/notify door (a random
 * key nobody holds): the backend's notices are Lambda invokes (localBotInvoker).
 */
async function startSandboxBot(settings: Settings, people: DemoPeople, clock: OffsetClock, started: StartedBridge, connector: string, life: Stoppers): Promise<SandboxBot> {
  const dataDir = settings.dataDir;
  const approverAadIds = people.people.filter((p) => p.groups.includes('approvers')).map((p) => p.aadObjectId);
  const botConfig = parseBotConfig({
    JIT_BOT_MODE: 'sandbox',
    JIT_ALLOWED_TENANT_IDS: people.tenantId,
    JIT_BRIDGE_URL: started.bridge.url,
    JIT_NOTIFY_SECRET: randomBytes(32).toString('hex'),
    JIT_ONCALL_TEAM_ID: PLAYGROUND_IDS.team,
    JIT_ONCALL_CHANNEL_ID: PLAYGROUND_IDS.oncallChannel,
    JIT_APPROVER_AAD_IDS: approverAadIds.join(','),
    JIT_TEAMS_SERVICE_URL: connector,
    JIT_BOT_HOST: '127.0.0.1',
    JIT_BOT_PORT: String(settings.ports.bot.port),
    JIT_BOT_STORE: dataDir ? 'file' : 'memory',
    ...(dataDir ? { JIT_BOT_STORE_FILE: join(dataDir, 'conversations.json') } : {}),
    JIT_LOG_LEVEL: settings.logLevel,
    // Teams SSO for step-up; the local issuer plays Entra (sandbox/jwt-authorizer.ts mintUser).
    JIT_SSO_CONNECTION_NAME: SANDBOX_SSO_CONNECTION_NAME,
    JIT_SSO_APPLICATION_ID_URI: SANDBOX_SSO_APPLICATION_ID_URI,
  });
  const log = jsonLog(settings.logLevel, (line) => process.stderr.write(`${line}\n`));
  // Built once, before the port opens (a bad configuration fails the start, as a cold start would).
  // The channel card's "Sandbox: approve as Carol" buttons: sandbox:act's own path, offered in sandbox mode only.
  const sandboxActing = createSandboxActing({ bridgeUrl: started.bridge.url, people, bridgeToken: started.mintBridgeToken, issuer: started.issuer });
  const application = await createBotApplication(botConfig, { clock, tokens: started.botTokens, stepUpKeys: started.jwks, log, sandboxActing });
  const handler = createBotLambdaHandler(async () => application, log);
  await handler.ready();
  const server = await startLocalBotServer({ handler, port: settings.ports.bot.port, log: settings.log }).catch((e: unknown) => {
    throw explainListenError(e, settings.ports.bot);
  });
  const bot: SandboxBot = {
    url: server.url,
    application,
    handler,
    close: () => server.close(),
  };
  life.add(() => bot.close());
  return bot;
}

/** Step 6: the functions' environment as the stack sets it, parsed by the same schema as on AWS. */
function loadFunctionConfig(settings: Settings, aws: AwsStandIns, people: DemoPeople): LambdaConfig {
  const env: Record<string, string> = {
    ...aws.env,
    [ENV.stage]: 'sandbox',
    [ENV.logLevel]: settings.logLevel,
    [ENV.requestsTable]: 'sandbox-requests',
    [ENV.ledgerTable]: 'sandbox-ledger',
    [ENV.auditTable]: 'sandbox-audit',
    [ENV.eventBusName]: 'sandbox-audit-bus',
    [ENV.stateMachineArn]: aws.stepFunctions.stateMachineArn(STATE_MACHINE_NAME),
    [ENV.userMatch]: 'userName',
    [ENV.schedulerGroup]: SCHEDULER_GROUP,
    [ENV.schedulerRoleArn]: 'arn:aws:iam::123456789012:role/jit-access-sandbox-scheduler',
    [ENV.schedulerTargetArn]: SCHEDULER_TARGET_ARN,
    [ENV.schedulerDlqArn]: 'arn:aws:sqs:us-east-1:123456789012:jit-access-sandbox-revoke-dlq',
    // As the stack with hostBot: notices are Lambda invokes of the bot's alias (no notify URL, no key).
    [ENV.botFunctionArn]: BOT_FUNCTION_ARN,
    [ENV.noticeFunctionArn]: 'arn:aws:lambda:us-east-1:123456789012:function:jit-access-sandbox-notify',
    [ENV.findingsMinSeverity]: 'HIGH',
    [ENV.botAppId]: SANDBOX_BOT_APP_ID,
    [ENV.entraTenantId]: people.tenantId,
    [ENV.bridgeAudience]: SANDBOX_BRIDGE_AUDIENCE,
    [ENV.policyJson]: loadPolicyFile(DEMO_POLICY_FILE).policyJson,
  };
  return parseConfig(env);
}

/**
 * Step 7: the backend, composed exactly as a Lambda composes it (lambdas/composition.ts). What
 * differs is where things go: the stand-ins' endpoint, the time-travel clock, the bot's Lambda
 * invoke served in-process, the stores in DynamoDB's place, the JSON-lines log.
 */
function buildBackend(settings: Settings, options: SandboxOptions, config: LambdaConfig, aws: AwsStandIns, stores: SandboxStores, people: DemoPeople, clock: OffsetClock, bot: SandboxBot, notices: LocalAsyncInvoke, life: Stoppers): Backend {
  const backend = composeBackend(config, {
    clientSettings: aws.clientConfig,
    clock,
    log: (name) => handlerLog(settings.logLevel, name),
    metrics: options.metrics ?? debugMetrics(settings.logLevel),
    botInvoker: localBotInvoker(BOT_FUNCTION_ARN, (event) => bot.handler(event), settings.log),
    externalIdIssuer: people.externalIdIssuer,
    // The session-cut queue in memory: a restart forgets pending cuts (the sandbox has no DynamoDB stand-in).
    stores: { requests: stores.requests, ledger: stores.ledger, findingsState: stores.findingsState, audit: stores.audit, auditReader: stores.audit, sessionCuts: new MemorySessionCutStore() },
    // Lambda's asynchronous invoke of the notify function, through the sandbox's function registry.
    overrides: { notices },
  });
  life.add(() => backend.clients.destroy());
  return backend;
}

interface Functions {
  bridge: ReturnType<typeof createBridgeHandler>;
  workflow: ReturnType<typeof createWorkflowHandler>;
  notify: ReturnType<typeof createNotifyHandler>;
  revoke: ReturnType<typeof createRevokeHandler>;
  reconcile: ReturnType<typeof createReconcileHandler>;
  findings: ReturnType<typeof createFindingsHandler>;
}

/** Step 8: the REAL handlers over the backend, each with its function's log and the backend's metrics. */
function createFunctions(backend: Backend): Functions {
  const { config, deps, metrics } = backend;
  return {
    bridge: createBridgeHandler(deps, { botAppId: config.botAppId, tenantId: config.entraTenantId, audience: config.bridgeAudience, log: backend.log('bridge') }),
    workflow: createWorkflowHandler(deps, { log: backend.log('workflow'), metrics }),
    notify: createNotifyHandler(deps, { log: backend.log('notify'), metrics, sender: backend.notifier }),
    revoke: createRevokeHandler(deps, { log: backend.log('revoke'), metrics }),
    reconcile: createReconcileHandler(deps, { log: backend.log('reconcile'), metrics }),
    // The EventBridge rule's target in AWS, posting through the same notifier.
    findings: createFindingsHandler(backend.notifier, { minSeverity: config.findingsMinSeverity, region: config.region, log: backend.log('findings'), metrics }),
  };
}

/** Step 9: the synthesized state machine with its Tasks bound to the handlers, and the revoke schedules' target. */
function registerWorkflow(aws: AwsStandIns, fns: Functions, options: SandboxOptions): void {
  const byFunction: Record<string, (input: unknown) => Promise<unknown>> = {
    workflow: (input) => fns.workflow(input as WorkflowTaskPayload),
    revoke: (input) => fns.revoke(input as RevokePayload),
    // lambda:invoke.waitForTaskToken (RequestApproval) passes {FunctionName, Payload}; the plain
    // invoke (PostApprovalCard) passes the payload itself.
    notify: (input) => fns.notify(((input as { Payload?: unknown }).Payload ?? input) as NotifyPayload),
  };
  const taskHandlers = Object.fromEntries(Object.entries(TASK_FUNCTIONS).map(([state, fn]) => [state, byFunction[fn]!]));
  aws.stepFunctions.registerStateMachine({
    name: STATE_MACHINE_NAME,
    definition: sandboxWorkflowDefinition(),
    taskHandlers,
    ...(options.grantPollMs === undefined ? {} : { waitTimeOverrides: { [STATES.waitForGrant]: options.grantPollMs } }),
  });
  aws.scheduler.registerTarget(SCHEDULER_TARGET_ARN, (input) => fns.revoke(input as RevokePayload));
}

/**
 * Step 10: Security Hub "Findings - Imported" -> the findings handler, through the stack's rule
 * evaluated as EventBridge would: only what it matches reaches the handler (the product's own
 * findings by their product and generator, others by account and severity). The sandbox's own
 * account is among the accounts, as an operator would list it, so that the `npm run
 * sandbox:finding` sample (imported as that account, as Security Hub requires) is routed.
 */
function routeFindings(aws: AwsStandIns, config: LambdaConfig, findings: Functions['findings'], log: (line: string) => void): void {
  const findingsRule = wirePattern(
    asffFindingsPattern({
      severities: SEVERITY_LABELS.slice(SEVERITY_LABELS.indexOf(config.findingsMinSeverity)),
      accountIds: [...config.policy.accounts.map((a) => a.id), aws.accountId],
      ownProductArn: `arn:aws:securityhub:${aws.region}:${aws.accountId}:product/${aws.accountId}/default`,
    }) as Record<string, unknown>,
  );
  aws.securityHub.onFindingsImported(async (event) => {
    if (!matchesEventPattern(findingsRule, event as unknown as Record<string, unknown>)) {
      log(`[sandbox] the findings rule does not match ${event.detail.findings[0]?.Id}; not delivered`);
      return;
    }
    try {
      await findings(event);
    } catch (e) {
      log(`[sandbox] findings handler failed: ${(e as Error).message}`);
    }
  });
}

/** Step 11: the reconcile function's schedule (EventBridge rate(5 minutes) in AWS); one run at a time. */
function scheduleReconcile(reconcile: Functions['reconcile'], everyMs: number, log: (line: string) => void, life: Stoppers): void {
  if (!(everyMs > 0)) return;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    reconcile({})
      .catch((e: unknown) => log(`[sandbox] reconcile failed: ${(e as Error).message}`))
      .finally(() => {
        running = false;
      });
  }, everyMs);
  life.add(() => clearInterval(timer));
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const settings = await loadSettings(options);
  const { log, dataDir } = settings;
  const people = options.people ?? loadDemoPeople();
  const clock = new OffsetClock();
  const life = new Stoppers(log);
  try {
    const aws = await startStandIns(settings, options, clock, life);
    const stores = openStores(settings, life);
    const started = await startBridge(settings, people, clock, life);
    const { playgroundPort, connector } = connectorUrl(settings, options);
    const bot = await startSandboxBot(settings, people, clock, started, connector, life);
    const config = loadFunctionConfig(settings, aws, people);
    const notices = new LocalAsyncInvoke(log);
    life.add(() => notices.stop());
    const backend = buildBackend(settings, options, config, aws, stores, people, clock, bot, notices, life);

    // The reconcile function's cold-start check, at startup: a session already started outlives a revocation.
    const sessionDurationWarnings = await backend.checkSessionDurations(backend.log('reconcile'));
    for (const w of sessionDurationWarnings) log(`Warning: permission set ${w.permissionSetArn} keeps sessions for ${w.sessionDuration}; sessions already started outlive a revocation. Keep it at PT1H or less.`);

    const fns = createFunctions(backend);
    notices.bind((payload) => fns.notify(payload));
    // The schedule's input in AWS, with the sandbox clock's now as the scheduled time (infra/constructs/kpi-digest-schedule.ts).
    started.bind(fns.bridge, () => fns.reconcile({}), () => fns.notify({ action: 'kpi_digest', scheduledTime: new Date(clock.now()).toISOString() }));
    registerWorkflow(aws, fns, options);
    routeFindings(aws, config, fns.findings, log);

    // Stored schedules are armed only now that their target exists (overdue ones fire at once).
    aws.start();
    life.add(() => clock.cancelAll());
    scheduleReconcile(fns.reconcile, options.reconcileIntervalMs ?? 60_000, log, life);

    let playground: ChildProcess | undefined;
    let playgroundExited: Sandbox['playgroundExited'] = new Promise(() => undefined);
    if (options.playground) {
      const child = startPlayground(`${bot.url}/api/messages`, playgroundPort, dataDir ?? resolve(DEFAULT_DATA_DIR), log);
      playground = child.child;
      playgroundExited = child.exited;
      life.add(() => child.stop());
      await child.ready;
    }

    return {
      urls: {
        bot: bot.url,
        messages: `${bot.url}/api/messages`,
        bridge: started.bridge.url,
        aws: aws.endpoint,
        playground: options.playground ? `http://127.0.0.1:${playgroundPort}` : undefined,
        connector,
      },
      dataDir,
      clock,
      aws,
      stores,
      backend,
      deps: backend.deps,
      notices,
      config,
      bot,
      bridge: started.bridge,
      playground,
      playgroundExited,
      reconcile: () => fns.reconcile({}),
      bridgeToken: started.mintBridgeToken,
      userToken: started.mintUserToken,
      sessionDurationWarnings,
      stop: () => life.stopAll(),
    };
  } catch (e) {
    await life.stopAll();
    throw e;
  }
}

function startPlayground(botEndpoint: string, port: number, dataDir: string, log: (line: string) => void) {
  const cwd = join(dataDir, 'playground');
  writePlaygroundConfig(cwd);
  const launch = playgroundLaunch(botEndpoint, port);
  const bin = resolve(__dirname, '..', '..', 'node_modules', '.bin', launch.command);
  const child = spawn(existsSync(bin) ? bin : launch.command, launch.args, { cwd, env: { ...process.env, ...launch.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const ready = new Promise<void>((done, fail) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > 20_000) output = output.slice(-10_000);
      if (/Listening on/i.test(output)) done();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (e) => fail(new Error(`The Agents Playground could not start (${e.message}). Is @microsoft/m365agentsplayground installed (npm ci)?`)));
    void exited.then(({ code }) => fail(new Error(`The Agents Playground exited (code ${code}) while starting. See ${join(cwd, 'devTools', 'm365agentsplayground.log')}.\n${output.slice(-2000)}`)));
  });
  // An invalid config still prints "Listening" and exits a moment later: say so when it happens.
  void exited.then(({ code, signal }) => {
    if (!stopping) log(`[sandbox] the Agents Playground exited (code ${code ?? signal}). Its log: ${join(cwd, 'devTools', 'm365agentsplayground.log')}`);
  });
  let stopping = false;
  return {
    child,
    exited,
    ready,
    stop: async () => {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3000).unref());
      if ((await Promise.race([exited, timeout])) === 'timeout') child.kill('SIGKILL');
    },
  };
}
