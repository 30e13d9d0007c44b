/**
 * The core ports bound to AWS. Configuration is parsed once, SDK clients are built once per
 * process, and every adapter receives its client and the Clock, so the sandbox and tests can
 * point the same adapters at other endpoints (`createAwsClients(cfg, {endpoint, credentials})`)
 * or swap single ports (`overrides`: the sandbox keeps DynamoDB-backed stores in memory).
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditSink, Clock, IdGenerator } from '../core/ports';
import type { CoreDeps, CoreLog } from '../core/services/types';
import { BotNotifier, FUNCTION_NOTIFIER, type FetchLike, type NotificationSender, type SecretSource, SecretsManagerSecret } from './adapters/bot-notifier';
import { DynamoAuditTableSink } from './adapters/dynamo-audit';
import { DynamoFindingsState } from './adapters/dynamo-findings-state';
import { DynamoGrantLedger } from './adapters/dynamo-ledger';
import { DynamoRequestStore } from './adapters/dynamo-requests';
import { EventBridgeAuditSink } from './adapters/eventbridge-audit';
import { IdentityStoreDirectory } from './adapters/identitystore-directory';
import { IdentityCenterLimiter } from './adapters/limiter';
import { SchedulerExpiry } from './adapters/scheduler-expiry';
import { SecurityHubFindingsSink } from './adapters/securityhub-findings';
import { SfnWorkflowGateway } from './adapters/sfn-workflow';
import { SsoAdminAssignmentGateway } from './adapters/sso-admin-assignments';
import { SsoAdminPermissionSetGateway } from './adapters/sso-admin-permission-sets';
import { DynamoSessionCutStore } from './adapters/dynamo-session-cuts';
import { systemClock, ulidIds } from './adapters/system';
import { config, type LambdaConfig } from './config';
import { awsMetricsSink, type MetricsSink } from './observability/emf';
import { awsLog } from './wiring';

export interface AwsClients {
  ssoAdmin: SSOAdminClient;
  identityStore: IdentitystoreClient;
  scheduler: SchedulerClient;
  securityHub: SecurityHubClient;
  sfn: SFNClient;
  dynamo: DynamoDBDocumentClient;
  eventBridge: EventBridgeClient;
  secretsManager: SecretsManagerClient;
}

/** Settings spread into every client (endpoint, credentials, ...); the region defaults to the function's. */
export type ClientSettings = Record<string, unknown>;

export function createAwsClients(cfg: Pick<LambdaConfig, 'region'>, settings: ClientSettings = {}): AwsClients {
  const base = { region: cfg.region, ...settings };
  return {
    // The gateway paces and retries Identity Center calls itself (limiter + jittered backoff);
    // the SDK's own retries would multiply the attempts and bypass the limiter.
    ssoAdmin: new SSOAdminClient({ ...base, maxAttempts: 1 }),
    identityStore: new IdentitystoreClient(base),
    scheduler: new SchedulerClient(base),
    securityHub: new SecurityHubClient(base),
    sfn: new SFNClient(base),
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient(base), { marshallOptions: { removeUndefinedValues: true } }),
    eventBridge: new EventBridgeClient(base),
    secretsManager: new SecretsManagerClient(base),
  };
}

export interface BuildDepsOptions {
  clock?: Clock;
  random?: () => number;
  ids?: IdGenerator;
  log?: CoreLog;
  /** One per process: every Identity Center call of the process shares its 20 TPS and 10 writes. */
  limiter?: IdentityCenterLimiter;
  /** The ExternalId issuer for `userMatch: externalId` (default: Identity Center's SCIM issuer). */
  externalIdIssuer?: string;
  /** The requests table has REQUESTS_INDEXES (listing queries instead of scanning). */
  useRequestIndexes?: boolean;
  /** The notify signing key; Secrets Manager (cfg.notifySecretArn) by default. */
  notifySecret?: SecretSource;
  fetch?: FetchLike;
  /** Where adapters count failures at the edge (a refused break-glass finding); nowhere by default. */
  metrics?: MetricsSink;
  /** Ports to use instead of the AWS ones (the sandbox's in-memory stores, say). */
  overrides?: Partial<CoreDeps>;
}

/** The account of an ARN (`arn:partition:service:region:account:...`). */
export function arnParts(arn: string): { partition: string; region: string; accountId: string } {
  const [, partition = 'aws', , region = '', accountId = ''] = arn.split(':');
  return { partition, region, accountId };
}

export function buildNotifier(cfg: LambdaConfig, clients: Pick<AwsClients, 'secretsManager'>, options: BuildDepsOptions = {}): BotNotifier {
  const clock = options.clock ?? systemClock;
  return new BotNotifier({
    url: cfg.notifyUrl,
    secret: options.notifySecret ?? new SecretsManagerSecret(clients.secretsManager, cfg.notifySecretArn, clock),
    clock,
    region: cfg.region,
    random: options.random,
    fetch: options.fetch,
    // Notices sit on the bridge's request path, and one send must fit every function's timeout
    // (test/infra checks notifierWorstCaseMs against them): a small budget. A bot outage longer
    // than a send is the approval workflow's to wait out (PostApprovalCard's retrier), not ours.
    ...FUNCTION_NOTIFIER,
  });
}

export function buildDeps(cfg: LambdaConfig, clients: AwsClients, options: BuildDepsOptions = {}): CoreDeps {
  const clock = options.clock ?? systemClock;
  const random = options.random;
  const common = { clock, random };
  // The product's account (the state machine lives in it): Security Hub's default product.
  const account = arnParts(cfg.stateMachineArn);
  const limiter = options.limiter ?? new IdentityCenterLimiter(clock);
  const deps: CoreDeps = {
    clock,
    ids: options.ids ?? ulidIds(clock),
    requests: new DynamoRequestStore(clients.dynamo, { ...common, tableName: cfg.requestsTable, useIndexes: options.useRequestIndexes }),
    ledger: new DynamoGrantLedger(clients.dynamo, { ...common, tableName: cfg.ledgerTable }),
    directory: new IdentityStoreDirectory(clients.identityStore, { ...common, identityStoreId: cfg.identityStoreId, userMatch: cfg.userMatch, externalIdIssuer: options.externalIdIssuer ?? cfg.externalIdIssuer }),
    assignments: new SsoAdminAssignmentGateway(clients.ssoAdmin, { ...common, instanceArn: cfg.ssoInstanceArn, limiter }),
    // Ending live sessions on revoke: the same Identity Center limiter as the assignment writes.
    sessionCuts: {
      gateway: new SsoAdminPermissionSetGateway(clients.ssoAdmin, { ...common, instanceArn: cfg.ssoInstanceArn, limiter }),
      store: new DynamoSessionCutStore(clients.dynamo, { ...common, tableName: cfg.ledgerTable }),
    },
    scheduler: new SchedulerExpiry(clients.scheduler, {
      ...common,
      groupName: cfg.schedulerGroup,
      targetArn: cfg.schedulerTargetArn,
      roleArn: cfg.schedulerRoleArn,
      deadLetterArn: cfg.schedulerDlqArn,
    }),
    notifier: buildNotifier(cfg, clients, options),
    audit: new EventBridgeAuditSink(clients.eventBridge, { ...common, eventBusName: cfg.eventBusName }),
    findings: new SecurityHubFindingsSink(clients.securityHub, { ...common, region: cfg.region, accountId: account.accountId, partition: account.partition, metrics: options.metrics }),
    findingsState: new DynamoFindingsState(clients.dynamo, { ...common, tableName: cfg.ledgerTable }),
    workflow: new SfnWorkflowGateway(clients.sfn, { ...common, stateMachineArn: cfg.stateMachineArn }),
    policy: () => cfg.policy,
    log: options.log,
  };
  return { ...deps, ...options.overrides };
}

function functionName(): string {
  return process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'jit-access';
}

/** The ports of this Lambda process (memoized by lambdas/wiring.ts awsDeps()). */
export async function buildAwsDeps(): Promise<CoreDeps> {
  const cfg = config();
  // infra/constructs/table-schemas.ts creates REQUESTS_INDEXES on the requests table.
  return buildDeps(cfg, createAwsClients(cfg), { log: awsLog(functionName()), useRequestIndexes: true, metrics: awsMetricsSink() });
}

/** The audit-writer's only port: the audit table. */
export async function buildAwsAuditTableSink(): Promise<AuditSink> {
  const cfg = config();
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({ region: cfg.region }), { marshallOptions: { removeUndefinedValues: true } });
  return new DynamoAuditTableSink(dynamo, { tableName: cfg.auditTable, clock: systemClock });
}

/** The findings function's only port: the signed POST to the bot. */
export async function buildAwsNotificationSender(): Promise<NotificationSender> {
  const cfg = config();
  return buildNotifier(cfg, { secretsManager: new SecretsManagerClient({ region: cfg.region }) });
}
