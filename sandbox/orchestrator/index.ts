/**
 * The sandbox orchestrator: the whole product on 127.0.0.1, in one process.
 *
 *   AWS stand-ins (sandbox/aws)  sso-admin, identitystore, sfn, scheduler, securityhub on one port
 *   stores (sandbox/stores)      requests, grant ledger, audit log in the data folder (DynamoDB's place)
 *   bridge                       the REAL lambdas/bridge handler behind a local API Gateway v2 shim
 *   workflow                     the state machine synthesized from infra/, run by the Step Functions
 *                                stand-in, its Tasks bound to the REAL workflow/notify/revoke handlers
 *   scheduler target             the REAL revoke handler; reconcile on an interval
 *   findings                     Security Hub imported-findings events -> the on-call channel
 *   bot                          bot/server.ts in sandbox mode (authentication off)
 *   Agents Playground            optional child process (the Teams client)
 *
 * The ports are built with the production adapters (lambdas/adapters) over AWS SDK clients
 * pointed at the stand-ins; only DynamoDB is replaced, by the file-backed stores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { loadPolicyFile } from '../../infra/config';
import { TASK_FUNCTIONS, STATES } from '../../infra/constructs/approval-workflow';
import { synthesizeWorkflowDefinition } from '../../infra/build';
import type { StateMachineDefinition } from '../../infra/workflow-definition';
import type { CoreDeps } from '../../core/services/types';
import { BotNotifier, staticSecret } from '../../lambdas/adapters/bot-notifier';
import { IdentityStoreDirectory } from '../../lambdas/adapters/identitystore-directory';
import { SchedulerExpiry } from '../../lambdas/adapters/scheduler-expiry';
import { SecurityHubFindingsSink } from '../../lambdas/adapters/securityhub-findings';
import { SEVERITY_ORDER as SEVERITY_LABELS } from '../../lambdas/adapters/finding-views';
import { asffFindingsPattern } from '../../infra/constructs/findings-routing';
import { matchesEventPattern, wirePattern } from '../aws/event-pattern';
import { SfnWorkflowGateway } from '../../lambdas/adapters/sfn-workflow';
import { SsoAdminAssignmentGateway } from '../../lambdas/adapters/sso-admin-assignments';
import { SsoAdminPermissionSetGateway } from '../../lambdas/adapters/sso-admin-permission-sets';
import { MemorySessionCutStore } from '../../core/memory';
import { ulidIds } from '../../lambdas/adapters/system';
import { createBridgeHandler } from '../../lambdas/bridge/handler';
import { createFindingsHandler } from '../../lambdas/findings/handler';
import { type LambdaConfig, parseConfig } from '../../lambdas/config';
import { ENV, type RevokePayload, type WorkflowTaskPayload } from '../../lambdas/contract';
import type { Log } from '../../lambdas/http';
import { createNotifyHandler, type NotifyPayload } from '../../lambdas/notify/handler';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { createRevokeHandler } from '../../lambdas/revoke/handler';
import { createWorkflowHandler } from '../../lambdas/workflow/handler';
import { parseBotConfig } from '../../bot/config';
import { jsonLog } from '../../bot/log';
import { type RunningBot, startBot } from '../../bot/server';
import { type AwsStandIns, startAwsStandIns } from '../aws';
import { DEFAULT_DATA_DIR, SANDBOX_DATA_MARKER } from '../aws/persistence';
import { PLAYGROUND_DEFAULT_PORT, PLAYGROUND_IDS, playgroundLaunch, writePlaygroundConfig } from '../playground';
import { assertPortsFree, explainListenError, type PortNeed, portFromEnv, SANDBOX_PORTS } from '../ports';
import { loadDemoPeople } from '../seed';
import { openSandboxStores, type SandboxStores } from '../stores';
import { type RunningBridge, startLocalBridge } from './bridge-server';
import { checkSessionDurations } from '../../lambdas/adapters/session-duration';
import { SANDBOX_BOT_APP_ID, SANDBOX_BRIDGE_AUDIENCE, SANDBOX_ISSUER_KEY_FILE, createJwtAuthorizer, createLocalIssuer } from '../jwt-authorizer';
import { OffsetClock } from './clock';

export const BRIDGE_PORT: PortNeed = { port: 3979, what: 'bridge', env: 'JIT_BRIDGE_PORT' };
export const DEMO_POLICY_FILE = resolve(__dirname, '..', 'demo-policy.yaml');
export const STATE_MACHINE_NAME = 'jit-access-sandbox-approval';
/** The sandbox bot's "app id": the azp claim the local bridge presents (a fixed placeholder GUID). */
export { SANDBOX_BOT_APP_ID } from '../jwt-authorizer';
export const SCHEDULER_GROUP = 'jit-access-sandbox';
export const SCHEDULER_TARGET_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:jit-access-sandbox-revoke';

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
  /** How long the workflow waits between status polls; default 1 s. */
  grantPollMs?: number;
  /** Reconcile interval; default 60 s; 0 turns it off. */
  reconcileIntervalMs?: number;
  /** One line per event worth a human's attention. */
  log?: (line: string) => void;
  /** Handler log level (JSON lines on stderr); default WARN. */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

export interface Sandbox {
  urls: { bot: string; messages: string; bridge: string; aws: string; playground?: string; connector: string };
  dataDir: string | undefined;
  clock: OffsetClock;
  aws: AwsStandIns;
  stores: SandboxStores;
  deps: CoreDeps;
  config: LambdaConfig;
  bot: RunningBot;
  bridge: RunningBridge;
  playground?: ChildProcess;
  /** Runs the reconcile handler once now. */
  reconcile(): Promise<unknown>;
  /** Managed permission sets whose SessionDuration is over one hour (checked at startup). */
  sessionDurationWarnings: Array<{ permissionSetArn: string; sessionDuration: string }>;
  /** A bearer token the bridge admits (the bot's identity), for callers of the bridge other than the bot. */
  bridgeToken(): Promise<string>;
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

function handlerLog(level: NonNullable<SandboxOptions['logLevel']>, name: string): Log {
  const base = jsonLog(level, (line) => process.stderr.write(`${line}\n`));
  const tag = (d?: Record<string, unknown>) => ({ function: name, ...d });
  return { debug: (m, d) => base.debug(m, tag(d)), info: (m, d) => base.info(m, tag(d)), warn: (m, d) => base.warn(m, tag(d)), error: (m, d) => base.error(m, tag(d)) };
}

/** The shared notify secret: kept in the data folder so a restart does not invalidate signed retries. */
function notifySecret(dataDir: string | undefined): string {
  if (!dataDir) return randomBytes(32).toString('hex');
  const file = join(dataDir, 'notify-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('hex');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const log = options.log ?? ((line: string) => console.log(line));
  const logLevel = options.logLevel ?? ((process.env.JIT_LOG_LEVEL as SandboxOptions['logLevel']) || 'WARN');
  const dataDir = options.dataDir === false ? undefined : resolve(options.dataDir ?? process.env.JIT_SANDBOX_DATA_DIR ?? DEFAULT_DATA_DIR);
  const want = {
    bot: { ...portFromEnv(SANDBOX_PORTS.bot), ...(options.ports?.bot !== undefined ? { port: options.ports.bot } : {}) },
    bridge: { ...portFromEnv(BRIDGE_PORT), ...(options.ports?.bridge !== undefined ? { port: options.ports.bridge } : {}) },
    aws: { ...portFromEnv(SANDBOX_PORTS.aws), ...(options.ports?.aws !== undefined ? { port: options.ports.aws } : {}) },
    playground: { ...portFromEnv(SANDBOX_PORTS.playground), ...(options.ports?.playground !== undefined ? { port: options.ports.playground } : {}) },
  };
  // The playground would silently move to another port, and the bot's channel posts would then
  // go nowhere: a taken playground port is an error too.
  const needs = [want.bot, want.bridge, want.aws, ...(options.playground ? [want.playground] : [])].filter((n) => n.port !== 0);
  await assertPortsFree(needs);

  const people = loadDemoPeople();
  const clock = new OffsetClock();
  const stoppers: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) {
      try {
        await stop();
      } catch (e) {
        log(`[sandbox] while stopping: ${(e as Error).message}`);
      }
    }
  };

  try {
    const aws = await startAwsStandIns({
      port: want.aws.port,
      dataDir: dataDir ?? false,
      clock,
      deferStart: true,
      identityCenter: options.assignmentDelayMs === undefined ? {} : { assignmentDelayMs: options.assignmentDelayMs },
      // The stack creates its schedule group (infra: ScheduleGroup ExpirySchedules); so does the sandbox.
      scheduler: { log, scheduleGroups: [SCHEDULER_GROUP] },
      stepFunctions: { log },
    });
    stoppers.push(() => aws.stop());
    if (dataDir) writeFileSync(join(dataDir, SANDBOX_DATA_MARKER), 'Teams JIT Access sandbox data. `npm run sandbox:reset` deletes this folder.\n');

    const stores = openSandboxStores(dataDir);
    stoppers.push(() => stores.flush());
    const secret = notifySecret(dataDir);

    // The bridge must exist before the bot (the bot's config names its URL), and the bot before the
    // notifier has anywhere to post: bind the bridge first, the handler is set once deps exist.
    let bridgeHandler: Parameters<typeof startLocalBridge>[0]['handler'] = async () => ({ statusCode: 503, headers: { 'content-type': 'application/json' }, body: '{"error":{"code":"STARTING","message":"The sandbox is starting."}}' });
    let reconcileNow: () => Promise<unknown> = async () => undefined;
    // The sandbox plays Entra: the bot gets real RS256 tokens and the bridge checks them as the
    // HTTP API's JWT authorizer would (the key stays in the data folder for act.ts and tests).
    // Tokens shaped like Entra v2 app-only tokens: iss the tenant's v2 issuer, aud the bridge app's client id.
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
      port: want.bridge.port,
      identity: { botAppId: SANDBOX_BOT_APP_ID, tenantId: people.tenantId, audience: SANDBOX_BRIDGE_AUDIENCE },
      authorize: createJwtAuthorizer({ issuer: issuer.issuer, audience: SANDBOX_BRIDGE_AUDIENCE, jwks: issuer.jwks }),
      handler: (event) => bridgeHandler(event),
      log,
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
        return undefined;
      },
    }).catch((e: unknown) => {
      throw explainListenError(e, want.bridge);
    });
    stoppers.push(() => bridge.close());

    const playgroundPort = want.playground.port || PLAYGROUND_DEFAULT_PORT;
    const connector = options.teamsServiceUrl ?? `http://127.0.0.1:${playgroundPort}/_connector`;
    const approverAadIds = people.people.filter((p) => p.groups.includes('approvers')).map((p) => p.aadObjectId);

    const env: Record<string, string> = {
      ...aws.env,
      [ENV.stage]: 'sandbox',
      [ENV.logLevel]: logLevel,
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
      [ENV.notifyUrl]: 'http://127.0.0.1/api/notify',
      [ENV.notifySecretArn]: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:jit-access-sandbox-notify',
      [ENV.findingsMinSeverity]: 'HIGH',
      [ENV.botAppId]: SANDBOX_BOT_APP_ID,
      [ENV.entraTenantId]: people.tenantId,
      [ENV.bridgeAudience]: SANDBOX_BRIDGE_AUDIENCE,
      [ENV.policyJson]: loadPolicyFile(DEMO_POLICY_FILE).policyJson,
    };

    // The bot: sandbox mode, authentication off (explicitly), the local bridge, the shared secret.
    const botConfig = parseBotConfig({
      JIT_BOT_MODE: 'sandbox',
      JIT_ALLOWED_TENANT_IDS: people.tenantId,
      JIT_BRIDGE_URL: bridge.url,
      JIT_NOTIFY_SECRET: secret,
      JIT_ONCALL_TEAM_ID: PLAYGROUND_IDS.team,
      JIT_ONCALL_CHANNEL_ID: PLAYGROUND_IDS.oncallChannel,
      JIT_APPROVER_AAD_IDS: approverAadIds.join(','),
      JIT_TEAMS_SERVICE_URL: connector,
      JIT_BOT_HOST: '127.0.0.1',
      JIT_BOT_PORT: String(want.bot.port),
      JIT_BOT_STORE: dataDir ? 'file' : 'memory',
      ...(dataDir ? { JIT_BOT_STORE_FILE: join(dataDir, 'conversations.json') } : {}),
      JIT_LOG_LEVEL: logLevel,
    });
    const bot = await startBot(botConfig, { clock, tokens: botTokens, log: jsonLog(logLevel, (line) => process.stderr.write(`${line}\n`)) }).catch((e: unknown) => {
      throw explainListenError(e, want.bot);
    });
    stoppers.push(() => bot.close());
    env[ENV.notifyUrl] = `${bot.url}/api/notify`;

    // The functions' configuration, parsed by the same schema as on AWS.
    const config = parseConfig(env);
    const clientConfig = { ...aws.clientConfig, maxAttempts: 1 };
    const clients = {
      ssoAdmin: new SSOAdminClient(clientConfig),
      identityStore: new IdentitystoreClient(clientConfig),
      scheduler: new SchedulerClient(clientConfig),
      securityHub: new SecurityHubClient(clientConfig),
      sfn: new SFNClient(clientConfig),
    };
    stoppers.push(() => Object.values(clients).forEach((c) => c.destroy()));
    const notifier = new BotNotifier({ url: config.notifyUrl, secret: staticSecret(secret), clock, region: config.region });
    const coreLog = handlerLog(logLevel, 'core');
    const deps: CoreDeps = {
      clock,
      ids: ulidIds(clock),
      requests: stores.requests,
      ledger: stores.ledger,
      findingsState: stores.findingsState,
      audit: stores.audit,
      directory: new IdentityStoreDirectory(clients.identityStore, { identityStoreId: config.identityStoreId, userMatch: config.userMatch, clock, externalIdIssuer: people.externalIdIssuer }),
      assignments: new SsoAdminAssignmentGateway(clients.ssoAdmin, { instanceArn: config.ssoInstanceArn, clock }),
      // Ending live sessions on revoke, against the Identity Center stand-in (queue in memory: a restart forgets pending cuts).
      sessionCuts: { gateway: new SsoAdminPermissionSetGateway(clients.ssoAdmin, { instanceArn: config.ssoInstanceArn, clock }), store: new MemorySessionCutStore() },
      scheduler: new SchedulerExpiry(clients.scheduler, { groupName: config.schedulerGroup, targetArn: config.schedulerTargetArn, roleArn: config.schedulerRoleArn, deadLetterArn: config.schedulerDlqArn, clock }),
      findings: new SecurityHubFindingsSink(clients.securityHub, { region: config.region, accountId: aws.accountId, clock }),
      workflow: new SfnWorkflowGateway(clients.sfn, { stateMachineArn: config.stateMachineArn, clock }),
      notifier,
      policy: () => config.policy,
      log: coreLog,
    };

    // The reconcile function's cold-start check, at startup: a session already started outlives a revocation.
    const sessionDurationWarnings = await checkSessionDurations(clients.ssoAdmin, config.ssoInstanceArn, config.policy.permissionSets.map((p) => p.arn), coreLog);
    for (const w of sessionDurationWarnings) log(`Warning: permission set ${w.permissionSetArn} keeps sessions for ${w.sessionDuration}; sessions already started outlive a revocation. Keep it at PT1H or less.`);

    bridgeHandler = createBridgeHandler(deps, { botAppId: config.botAppId, tenantId: config.entraTenantId, audience: config.bridgeAudience, log: handlerLog(logLevel, 'bridge') });
    const workflow = createWorkflowHandler(deps, { log: handlerLog(logLevel, 'workflow') });
    const notify = createNotifyHandler(deps, { log: handlerLog(logLevel, 'notify') });
    const revoke = createRevokeHandler(deps, { log: handlerLog(logLevel, 'revoke') });
    const reconcileHandler = createReconcileHandler(deps, { log: handlerLog(logLevel, 'reconcile') });
    reconcileNow = () => reconcileHandler({});

    const byFunction: Record<string, (input: unknown) => Promise<unknown>> = {
      workflow: (input) => workflow(input as WorkflowTaskPayload),
      revoke: (input) => revoke(input as RevokePayload),
      // lambda:invoke.waitForTaskToken (RequestApproval) passes {FunctionName, Payload}; the plain
      // invoke (PostApprovalCard) passes the payload itself.
      notify: (input) => notify(((input as { Payload?: unknown }).Payload ?? input) as NotifyPayload),
    };
    const taskHandlers = Object.fromEntries(Object.entries(TASK_FUNCTIONS).map(([state, fn]) => [state, byFunction[fn]!]));
    aws.stepFunctions.registerStateMachine({
      name: STATE_MACHINE_NAME,
      definition: sandboxWorkflowDefinition(),
      taskHandlers,
      waitTimeOverrides: { [STATES.waitForGrant]: options.grantPollMs ?? 1000 },
    });
    aws.scheduler.registerTarget(SCHEDULER_TARGET_ARN, (input) => revoke(input as RevokePayload));

    // Security Hub "Findings - Imported" -> the channel (EventBridge rule in AWS).
    const findingsHandler = loadFindingsHandler(config, notifier, logLevel);
    // The stack's rule, evaluated as EventBridge would: only what it matches reaches the handler (the
    // product's own findings by their product and generator, others by account and severity). The
    // sandbox's own account is among the accounts, as an operator would list it, so that the
    // `npm run sandbox:finding` sample (imported as that account, as Security Hub requires) is routed.
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
        await findingsHandler(event);
      } catch (e) {
        log(`[sandbox] findings handler failed: ${(e as Error).message}`);
      }
    });

    // Stored schedules are armed only now that their target exists (overdue ones fire at once).
    aws.start();
    stoppers.push(() => clock.cancelAll());

    let reconcileTimer: NodeJS.Timeout | undefined;
    const reconcileEvery = options.reconcileIntervalMs ?? 60_000;
    if (reconcileEvery > 0) {
      let running = false;
      reconcileTimer = setInterval(() => {
        if (running) return;
        running = true;
        reconcileHandler({})
          .catch((e: unknown) => log(`[sandbox] reconcile failed: ${(e as Error).message}`))
          .finally(() => {
            running = false;
          });
      }, reconcileEvery);
      stoppers.push(() => clearInterval(reconcileTimer));
    }

    let playground: ChildProcess | undefined;
    let playgroundExited: Sandbox['playgroundExited'] = new Promise(() => undefined);
    if (options.playground) {
      const started = startPlayground(`${bot.url}/api/messages`, playgroundPort, dataDir ?? resolve(DEFAULT_DATA_DIR), log);
      playground = started.child;
      playgroundExited = started.exited;
      stoppers.push(() => started.stop());
      await started.ready;
    }

    return {
      urls: {
        bot: bot.url,
        messages: `${bot.url}/api/messages`,
        bridge: bridge.url,
        aws: aws.endpoint,
        playground: options.playground ? `http://127.0.0.1:${playgroundPort}` : undefined,
        connector,
      },
      dataDir,
      clock,
      aws,
      stores,
      deps,
      config,
      bot,
      bridge,
      playground,
      playgroundExited,
      reconcile: () => reconcileHandler({}),
      bridgeToken: mintBridgeToken,
      sessionDurationWarnings,
      stop: (() => {
        let stopping: Promise<void> | undefined;
        return () => (stopping ??= stopAll());
      })(),
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** The real findings handler (the EventBridge rule's target in AWS), posting through the same notifier. */
function loadFindingsHandler(config: LambdaConfig, notifier: BotNotifier, logLevel: NonNullable<SandboxOptions['logLevel']>): (event: unknown) => Promise<unknown> {
  return createFindingsHandler(notifier, { minSeverity: config.findingsMinSeverity, region: config.region, log: handlerLog(logLevel, 'findings') });
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
