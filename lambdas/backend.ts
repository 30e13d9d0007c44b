/**
 * What every Lambda function composes: the AWS clients (lazy), the core ports bound to AWS, the log
 * and the metrics. lambdas/composition.ts, the one composition root, adds the parts only some
 * functions use (the direct notifier of the bot, the audit table sink, the cold-start
 * SessionDuration check) and is what everything else imports. The parts are passed in rather than
 * imported here so that a function that never uses one does not bundle it: the bridge composes
 * from this module alone, and its notices go through the notify function (deps.notices), never to
 * the bot directly (docs/PERFORMANCE.md, bridge_bundle_kb).
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditSink, Clock, IdGenerator, Log, Notifier, SessionCutStore } from '../core/ports';
import type { CoreDeps } from '../core/services/types';
import type { FetchLike, NotificationSender, SecretSource } from './adapters/bot-notifier';
import type { LambdaInvoker } from './adapters/bot-invoke-notifier';
import { DynamoAuditTableReader } from './adapters/dynamo-audit-reader';
import { DynamoFindingsState } from './adapters/dynamo-findings-state';
import { DynamoGrantLedger } from './adapters/dynamo-ledger';
import { DynamoRequestStore } from './adapters/dynamo-requests';
import { EventBridgeAuditSink } from './adapters/eventbridge-audit';
import { IdentityStoreDirectory } from './adapters/identitystore-directory';
import { LambdaNoticeDispatch } from './adapters/lambda-notices';
import { IdentityCenterLimiter } from './adapters/limiter';
import { SchedulerExpiry } from './adapters/scheduler-expiry';
import { SecurityHubFindingsSink } from './adapters/securityhub-findings';
import type { SessionDurationWarning } from './adapters/session-duration';
import { SfnWorkflowGateway } from './adapters/sfn-workflow';
import { SsoAdminAssignmentGateway } from './adapters/sso-admin-assignments';
import { SsoAdminPermissionSetGateway } from './adapters/sso-admin-permission-sets';
import { DynamoSessionCutStore } from './adapters/dynamo-session-cuts';
import { systemClock, ulidIds } from './adapters/system';
import { config, type LambdaConfig } from './config';
import { currentRequestId } from './observability/correlation';
import { awsMetricsSink, instrumentDeps, type MetricsSink, noMetrics } from './observability/emf';
import { jsonLog } from './observability/json-log';
import { redactDetails } from './observability/redact';

// ---------------------------------------------------------------------------------------------
// Clients

export interface AwsClients {
  ssoAdmin: SSOAdminClient;
  /** Identity Center reads outside the gateway (the cold-start check), with the SDK's retries on. */
  ssoAdminReads: SSOAdminClient;
  identityStore: IdentitystoreClient;
  scheduler: SchedulerClient;
  securityHub: SecurityHubClient;
  sfn: SFNClient;
  dynamo: DynamoDBDocumentClient;
  eventBridge: EventBridgeClient;
  secretsManager: SecretsManagerClient;
  /** The asynchronous invoke of the notify function (the notice flush). */
  lambda: LambdaClient;
}

/** Settings spread into every client (endpoint, credentials, ...); the region defaults to the function's. */
export type ClientSettings = Record<string, unknown>;

/** The clients, each built on first use: a function that needs two of them never builds eight. */
export interface LazyAwsClients extends AwsClients {
  /** The clients built so far (the others were never needed). */
  built(): Array<keyof AwsClients>;
  /** Destroys the clients that were built (their sockets), for processes that outlive them. */
  destroy(): void;
}

/** `given` clients are used as they are (tests capture calls with them) and stay the caller's to destroy. */
export function createAwsClients(cfg: Pick<LambdaConfig, 'region'>, settings: ClientSettings = {}, given: Partial<AwsClients> = {}): LazyAwsClients {
  const base = { region: cfg.region, ...settings };
  const factories: { [K in keyof AwsClients]: () => AwsClients[K] } = {
    // The gateway paces and retries Identity Center calls itself (limiter + jittered backoff);
    // the SDK's own retries would multiply the attempts and bypass the limiter.
    ssoAdmin: () => new SSOAdminClient({ ...base, maxAttempts: 1 }),
    ssoAdminReads: () => new SSOAdminClient(base),
    identityStore: () => new IdentitystoreClient(base),
    scheduler: () => new SchedulerClient(base),
    securityHub: () => new SecurityHubClient(base),
    sfn: () => new SFNClient(base),
    dynamo: () => DynamoDBDocumentClient.from(new DynamoDBClient(base), { marshallOptions: { removeUndefinedValues: true } }),
    eventBridge: () => new EventBridgeClient(base),
    secretsManager: () => new SecretsManagerClient(base),
    lambda: () => new LambdaClient(base),
  };
  const built = new Map<keyof AwsClients, { destroy(): void }>();
  const clients = {
    built: () => [...built.keys()],
    destroy() {
      for (const c of built.values()) c.destroy();
      built.clear();
    },
  } as LazyAwsClients;
  for (const name of Object.keys(factories) as Array<keyof AwsClients>) {
    Object.defineProperty(clients, name, {
      enumerable: true,
      get() {
        const preset = given[name];
        if (preset) return preset;
        let client = built.get(name);
        if (!client) {
          client = factories[name]();
          built.set(name, client);
        }
        return client;
      },
    });
  }
  return clients;
}

// ---------------------------------------------------------------------------------------------
// Ports

export interface BuildDepsOptions {
  clock?: Clock;
  random?: () => number;
  ids?: IdGenerator;
  log?: Log;
  /** One per process: every Identity Center call of the process shares its 20 TPS and 10 writes. */
  limiter?: IdentityCenterLimiter;
  /** The ExternalId issuer for `userMatch: externalId` (default: the configured one). */
  externalIdIssuer?: string;
  /** The requests table has REQUESTS_INDEXES (listing queries instead of scanning). The stack creates them: default true. */
  useRequestIndexes?: boolean;
  /** The notify signing key; Secrets Manager (cfg.notifySecretArn) by default. */
  notifySecret?: SecretSource;
  fetch?: FetchLike;
  /** What invokes the hosted bot (cfg.botFunctionArn); a LambdaClient by default, the sandbox's local invoker there. */
  botInvoker?: LambdaInvoker;
  /** Where adapters count failures at the edge (a refused break-glass finding); nowhere by default. */
  metrics?: MetricsSink;
  /** The session-cut queue, where DynamoDB has a local stand-in of its own (the sandbox keeps it in memory). */
  sessionCutStore?: SessionCutStore;
  /** Ports to use instead of the AWS ones: the sandbox's file-backed stores, a benchmark's in-memory world. */
  overrides?: Partial<CoreDeps>;
}

/** The account of an ARN (`arn:partition:service:region:account:...`). */
export function arnParts(arn: string): { partition: string; region: string; accountId: string } {
  const [, partition = 'aws', , region = '', accountId = ''] = arn.split(':');
  return { partition, region, accountId };
}

/** Builds the notifier of the bot for a function that sends notices itself (lambdas/composition.ts buildNotifier). */
export type NotifierBuilder = (cfg: LambdaConfig, clients: Pick<AwsClients, 'secretsManager'>, options: BuildDepsOptions) => Notifier & NotificationSender;

/**
 * The parts only some functions use. A part that was not given and is used fails with an error
 * naming it: a wiring mistake, never a silent no-op.
 */
export interface BackendParts {
  /** How notices reach the bot. Without it the function sends none itself (its notices go through deps.notices). */
  notifier?: NotifierBuilder;
  /** The audit-writer's sink: the audit table. */
  auditTableSink?: (clients: AwsClients, cfg: LambdaConfig, clock: Clock) => AuditSink;
  /** The reconcile function's cold-start check of the managed permission sets' SessionDuration. */
  checkSessionDurations?: (client: SSOAdminClient, instanceArn: string, permissionSetArns: string[], log: Pick<Log, 'warn' | 'info'>) => Promise<SessionDurationWarning[]>;
}

const missingPart = (part: string): never => {
  throw new Error(`this function was composed without ${part} (lambdas/backend.ts BackendParts)`);
};

/**
 * The notifier of a function composed without one. Its notices are queued in the request's outbox
 * and flushed by the notify function (deps.notices); a direct send here would be a wiring mistake.
 */
export const NO_DIRECT_NOTIFIER: Notifier & NotificationSender = {
  requestChanged: () => Promise.reject(new Error('this function sends no notice to the bot itself: its notices go through the notify function (deps.notices)')),
  send: () => Promise.reject(new Error('this function sends no notice to the bot itself: its notices go through the notify function (deps.notices)')),
} as unknown as Notifier & NotificationSender;

/**
 * The core ports bound to AWS, before instrumentation. An overridden port's AWS client is never
 * built (the clients are lazy), so the sandbox needs no DynamoDB stand-in.
 */
export function buildPorts(cfg: LambdaConfig, clients: AwsClients, options: BuildDepsOptions = {}, notifier?: NotifierBuilder): CoreDeps {
  const clock = options.clock ?? systemClock;
  const random = options.random;
  const common = { clock, random };
  const o = options.overrides ?? {};
  // The product's account (the state machine lives in it): Security Hub's default product.
  const account = arnParts(cfg.stateMachineArn);
  const limiter = options.limiter ?? new IdentityCenterLimiter(clock);
  return {
    clock,
    ids: o.ids ?? options.ids ?? ulidIds(clock),
    requests: o.requests ?? new DynamoRequestStore(clients.dynamo, { ...common, tableName: cfg.requestsTable, useIndexes: options.useRequestIndexes ?? true }),
    ledger: o.ledger ?? new DynamoGrantLedger(clients.dynamo, { ...common, tableName: cfg.ledgerTable }),
    directory:
      o.directory ?? new IdentityStoreDirectory(clients.identityStore, { ...common, identityStoreId: cfg.identityStoreId, userMatch: cfg.userMatch, externalIdIssuer: options.externalIdIssuer ?? cfg.externalIdIssuer }),
    assignments: o.assignments ?? new SsoAdminAssignmentGateway(clients.ssoAdmin, { ...common, instanceArn: cfg.ssoInstanceArn, limiter }),
    // Ending live sessions on revoke: paced by the same Identity Center limiter as the assignment writes.
    sessionCuts: o.sessionCuts ?? {
      gateway: new SsoAdminPermissionSetGateway(clients.ssoAdmin, { ...common, instanceArn: cfg.ssoInstanceArn, limiter }),
      store: options.sessionCutStore ?? new DynamoSessionCutStore(clients.dynamo, { ...common, tableName: cfg.ledgerTable }),
    },
    scheduler:
      o.scheduler ??
      new SchedulerExpiry(clients.scheduler, {
        ...common,
        groupName: cfg.schedulerGroup,
        targetArn: cfg.schedulerTargetArn,
        roleArn: cfg.schedulerRoleArn,
        deadLetterArn: cfg.schedulerDlqArn,
      }),
    notifier: o.notifier ?? (notifier ? notifier(cfg, clients, options) : NO_DIRECT_NOTIFIER),
    // Every process flushes notices through the notify function, never in its own request path.
    notices: o.notices ?? new LambdaNoticeDispatch(clients.lambda, { ...common, functionArn: cfg.noticeFunctionArn }),
    audit: o.audit ?? new EventBridgeAuditSink(clients.eventBridge, { ...common, eventBusName: cfg.eventBusName }),
    // The KPIs read the audit table back (a Scan; only the functions granted it may call it: bridge, digest).
    auditReader: o.auditReader ?? new DynamoAuditTableReader(clients.dynamo, { ...common, tableName: cfg.auditTable }),
    findings: o.findings ?? new SecurityHubFindingsSink(clients.securityHub, { ...common, region: cfg.region, accountId: account.accountId, partition: account.partition, metrics: options.metrics }),
    findingsState: o.findingsState ?? new DynamoFindingsState(clients.dynamo, { ...common, tableName: cfg.ledgerTable }),
    workflow: o.workflow ?? new SfnWorkflowGateway(clients.sfn, { ...common, stateMachineArn: cfg.stateMachineArn }),
    policy: o.policy ?? (() => cfg.policy),
    log: o.log ?? options.log,
  };
}

// ---------------------------------------------------------------------------------------------
// The backend

export interface CompositionOptions {
  /** Spread into every AWS client: the sandbox's stand-in endpoint and fake credentials. */
  clientSettings?: ClientSettings;
  /** Ready clients (tests); the others are built lazily from clientSettings. */
  clients?: Partial<AwsClients>;
  clock?: Clock;
  random?: () => number;
  ids?: IdGenerator;
  /** The log of a function (`bridge`, `workflow`, ... and `core` for the services); default JSON lines (awsLog). */
  log?: (functionName: string) => Log;
  /** The name the core services' lines carry; default `core`. */
  coreLogName?: string;
  /** Where metric points go; default nowhere. */
  metrics?: MetricsSink;
  notifySecret?: SecretSource;
  fetch?: FetchLike;
  /** What invokes the hosted bot when the config names its alias (the sandbox: its local Lambda invoke). */
  botInvoker?: LambdaInvoker;
  externalIdIssuer?: string;
  limiter?: IdentityCenterLimiter;
  /** The DynamoDB-backed ports, where DynamoDB has a local stand-in of its own (the sandbox's files). */
  stores?: Partial<Pick<CoreDeps, 'requests' | 'ledger' | 'findingsState' | 'audit' | 'auditReader'>> & { sessionCuts?: SessionCutStore };
  /** Any other port (benchmarks and tests that keep parts of the world in memory). */
  overrides?: Partial<CoreDeps>;
}

export interface Backend {
  config: LambdaConfig;
  clients: LazyAwsClients;
  clock: Clock;
  /** The ports every handler runs on; the request store counts each committed change into `metrics`. */
  deps: CoreDeps;
  /** The notices to the bot (a Lambda invoke or the signed POST; deps.notifier unless overridden), for the findings function. */
  notifier: NotificationSender;
  metrics: MetricsSink;
  /** The process's one Identity Center limiter. */
  limiter: IdentityCenterLimiter;
  log(functionName: string): Log;
  /** The audit-writer's sink: the audit table. */
  auditTableSink(): AuditSink;
  /** The reconcile function's cold-start check of the managed permission sets' SessionDuration. */
  checkSessionDurations(log: Pick<Log, 'warn' | 'info'>): Promise<SessionDurationWarning[]>;
}

/** The stores that are core ports of their own (the session-cut queue is part of `sessionCuts`). */
function storePorts(stores: CompositionOptions['stores']): Partial<CoreDeps> {
  const { sessionCuts: _queue, ...ports } = stores ?? {};
  return ports;
}

/** The backend of one process from its parts (lambdas/composition.ts composeBackend gives every part). */
export function composeWith(cfg: LambdaConfig, options: CompositionOptions, parts: BackendParts): Backend {
  const clock = options.clock ?? systemClock;
  const clients = createAwsClients(cfg, options.clientSettings, options.clients);
  const logFor = options.log ?? ((name: string) => awsLog(name));
  const metrics = options.metrics ?? noMetrics;
  const limiter = options.limiter ?? new IdentityCenterLimiter(clock);
  const coreLog = logFor(options.coreLogName ?? 'core');
  let botNotifier: (Notifier & NotificationSender) | undefined;
  const notifier = () =>
    (botNotifier ??= parts.notifier ? parts.notifier(cfg, clients, { clock, random: options.random, notifySecret: options.notifySecret, fetch: options.fetch, botInvoker: options.botInvoker }) : NO_DIRECT_NOTIFIER);
  // Built on first use: the audit-writer and findings functions never build the other ports' clients.
  let deps: CoreDeps | undefined;
  const portsOnce = (): CoreDeps => {
    const raw = buildPorts(cfg, clients, {
      clock,
      random: options.random,
      ids: options.ids,
      log: coreLog,
      limiter,
      externalIdIssuer: options.externalIdIssuer,
      metrics,
      sessionCutStore: options.stores?.sessionCuts,
      overrides: { ...storePorts(options.stores), ...options.overrides, notifier: options.overrides?.notifier ?? notifier() },
    });
    // Every committed request change is counted once, in whichever function made it (EMF metrics).
    return instrumentDeps(raw, metrics, coreLog);
  };
  let auditSink: AuditSink | undefined;
  return {
    config: cfg,
    clients,
    clock,
    get deps() {
      return (deps ??= portsOnce());
    },
    get notifier() {
      return notifier();
    },
    metrics,
    limiter,
    log: logFor,
    auditTableSink: () => (auditSink ??= options.stores?.audit ?? (parts.auditTableSink ?? missingPart('the audit table sink'))(clients, cfg, clock)),
    // A cold start reads a few permission sets: through the process's limiter like every Identity
    // Center call (they share the 20 TPS), with the SDK's retries on, so a throttled read is
    // retried rather than lost (the check never fails the function).
    checkSessionDurations: (log) => {
      const client = clients.ssoAdminReads;
      const paced = { send: (command: never) => limiter.call(() => client.send(command)) } as unknown as SSOAdminClient;
      return (parts.checkSessionDurations ?? missingPart('the SessionDuration check'))(paced, cfg.ssoInstanceArn, cfg.policy.permissionSets.map((p) => p.arn), log);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The Lambda process

/**
 * JSON log lines (observability/json-log.ts, the shape Powertools Logger wrote); the X-Ray trace
 * id comes along. Every line carries the access request id of the invocation (`requestId`, see
 * observability/correlation) unless the line names its own, and passes the redaction (no tokens,
 * secrets or JWTs).
 */
export function awsLog(functionName: string, options: { logger?: Log } = {}): Log {
  const logger = options.logger ?? jsonLog({ serviceName: 'teams-jit-access', persistentKeys: { function: functionName } });
  const line = (details: Record<string, unknown> | undefined) => {
    const requestId = currentRequestId();
    return { ...(requestId ? { requestId } : {}), ...renameReservedKeys(redactDetails(details)) };
  };
  return {
    debug: (message, details) => logger.debug(message, line(details)),
    info: (message, details) => logger.info(message, line(details)),
    warn: (message, details) => logger.warn(message, line(details)),
    error: (message, details) => logger.error(message, line(details)),
  };
}

/**
 * A detail key that collides with a standard key of the line (`message`, `level`, ...) would be
 * dropped; the handlers log `message: err.message` next to `error: err.name`, so keep those as `errorMessage`.
 */
const RESERVED_LOG_KEYS: Record<string, string> = { message: 'errorMessage', level: 'detailLevel', timestamp: 'detailTimestamp', service: 'detailService', sampling_rate: 'detailSamplingRate' };
function renameReservedKeys(details: Record<string, unknown>): Record<string, unknown> {
  if (!Object.keys(details).some((k) => k in RESERVED_LOG_KEYS)) return details;
  return Object.fromEntries(Object.entries(details).map(([k, v]) => [RESERVED_LOG_KEYS[k] ?? k, v]));
}

let lambda: Backend | undefined;

/**
 * This function's backend, built on first use from the environment and memoized for the life of
 * the execution environment (one per process: the first caller's parts). A failed build (bad
 * configuration) is not memoized: the next invocation tries again, and fails with the same clear
 * error until the configuration is fixed.
 */
export function lambdaBackendWith(parts: BackendParts): Backend {
  lambda ??= composeWith(
    config(),
    {
      log: (name) => awsLog(name),
      coreLogName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'jit-access',
      metrics: awsMetricsSink(),
    },
    parts,
  );
  return lambda;
}

/** Ports, or a (possibly async, possibly memoized) factory of them: handlers run on AWS, in-memory or sandbox ports alike. */
export type DepsSource = CoreDeps | (() => CoreDeps | Promise<CoreDeps>);

export async function resolveDeps(source: DepsSource): Promise<CoreDeps> {
  return typeof source === 'function' ? await source() : source;
}

/** The AWS-bound ports of a function that sends no notice to the bot itself (the bridge). */
export async function awsPortsWithoutNotifier(): Promise<CoreDeps> {
  return lambdaBackendWith({}).deps;
}
