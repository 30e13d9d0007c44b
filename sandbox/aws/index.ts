/**
 * Starts every AWS stand-in behind one loopback endpoint. The product's handlers reach them with
 * the real SDK v3 clients: either pass `clientConfig` to the client constructors, or set the
 * variables of `env` (AWS_ENDPOINT_URL_<SERVICE>, which the SDK reads by itself) so that the
 * handler code is exactly the production code.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV } from '../../lambdas/contract';
import { explainListenError, SANDBOX_PORTS } from '../ports';
import { DEMO_ACCOUNTS, DEMO_INSTANCE_ARN, DEMO_PERMISSION_SETS, DEMO_PRODUCT_ACCOUNT_ID, DEMO_REGION, demoDirectory, demoPreexistingAssignments } from '../seed';
import type { SandboxClock } from './clock';
import { systemClock } from './clock';
import { type IdentityCenterOptions, IdentityCenterStandIn } from './identity-center';
import { type KmsKeySeed, KmsStandIn } from './kms';
import { type OrganizationsOptions, OrganizationsStandIn } from './organizations';
import { type Directory, IdentityStoreStandIn } from './identity-store';
import { DEFAULT_DATA_DIR, SANDBOX_DATA_MARKER, dataFile } from './persistence';
import { type SchedulerOptions, SchedulerStandIn } from './scheduler';
import { SecurityHubAccountStandIn, type SecurityHubAccountOptions, type SecurityHubOptions, SecurityHubStandIn } from './security-hub';
import { createAwsServer, listen } from './server';
import { type StepFunctionsOptions, StepFunctionsStandIn } from './step-functions';

export interface AwsStandInsOptions {
  /** Port on 127.0.0.1; 0 picks a free one (tests). Default: JIT_AWS_PORT's default, 4599. */
  port?: number;
  /** Data folder for state that survives a restart; `false` keeps everything in memory. Default `.sandbox-data`. */
  dataDir?: string | false;
  clock?: SandboxClock;
  random?: () => number;
  region?: string;
  /** The account the product runs in (Scheduler and Step Functions ARNs, Security Hub events). */
  accountId?: string;
  /** Identity store contents; default the demo directory. */
  directory?: Directory;
  identityCenter?: Omit<IdentityCenterOptions, 'clock' | 'random' | 'dataFile' | 'identityStoreId'>;
  /** The identity store's customer managed key, when the instance uses one (usually the same as identityCenter's). */
  identityStore?: ConstructorParameters<typeof IdentityStoreStandIn>[1];
  scheduler?: Omit<SchedulerOptions, 'clock' | 'random' | 'dataFile' | 'region' | 'accountId'>;
  securityHub?: Omit<SecurityHubOptions, 'clock' | 'dataFile' | 'region' | 'accountId'>;
  stepFunctions?: Omit<StepFunctionsOptions, 'clock' | 'dataFile' | 'region' | 'accountId'>;
  /** Organizations (deploy preflight): default a management account of its own, the demo accounts, and the product account as Identity Center's delegated administrator. */
  organizations?: Partial<Omit<OrganizationsOptions, 'now'>>;
  /** KMS keys DescribeKey knows (deploy preflight). */
  kmsKeys?: readonly KmsKeySeed[];
  /** Security Hub's account state (deploy preflight): enabled by default, no administrator. */
  securityHubAccount?: Omit<SecurityHubAccountOptions, 'region' | 'accountId' | 'now'>;
  /**
   * When true, stored schedules are not armed until `start()` is called: register the schedule
   * targets (and state machines) first so that nothing fires into the void. Default false.
   */
  deferStart?: boolean;
  /** One line per failed request and per failed target; default silent for requests, console.error for targets. */
  log?: (message: string) => void;
}

export interface AwsStandIns {
  /** The one URL every stand-in answers on, e.g. http://127.0.0.1:4599. */
  endpoint: string;
  port: number;
  region: string;
  accountId: string;
  /** Spread into any AWS SDK v3 client constructor. */
  clientConfig: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  /**
   * Environment for the product's code: AWS_ENDPOINT_URL_<SERVICE> for every stand-in service (the SDK
   * picks them up with no code change), fake static credentials, the region, and the
   * Identity Center ids (JIT_SSO_INSTANCE_ARN, JIT_IDENTITY_STORE_ID).
   */
  env: Record<string, string>;
  identityCenter: IdentityCenterStandIn;
  identityStore: IdentityStoreStandIn;
  scheduler: SchedulerStandIn;
  securityHub: SecurityHubStandIn;
  stepFunctions: StepFunctionsStandIn;
  organizations: OrganizationsStandIn;
  kms: KmsStandIn;
  securityHubAccount: SecurityHubAccountStandIn;
  /** Arms stored schedules (only needed with `deferStart`). Idempotent. */
  start(): void;
  /** Stops timers, writes state out and closes the server. */
  stop(): Promise<void>;
}

/** The sandbox organization's management account (a placeholder; the product runs in the delegated administrator). */
export const SANDBOX_MANAGEMENT_ACCOUNT_ID = '999999999999';

export const SANDBOX_CREDENTIALS = { accessKeyId: 'AKIASANDBOXFAKE00000', secretAccessKey: 'sandbox-fake-secret-access-key' } as const;

export async function startAwsStandIns(options: AwsStandInsOptions = {}): Promise<AwsStandIns> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const region = options.region ?? DEMO_REGION;
  const accountId = options.accountId ?? DEMO_PRODUCT_ACCOUNT_ID;
  const dataDir = options.dataDir === false ? undefined : (options.dataDir ?? DEFAULT_DATA_DIR);
  const directory = options.directory ?? demoDirectory();

  const identityStore = new IdentityStoreStandIn(directory, options.identityStore);
  const identityCenter = new IdentityCenterStandIn({
    instanceArn: DEMO_INSTANCE_ARN,
    permissionSets: DEMO_PERMISSION_SETS,
    accountIds: DEMO_ACCOUNTS.map((a) => a.id),
    preexistingAssignments: options.directory ? [] : demoPreexistingAssignments(),
    principalExists: (type, id) => (type === 'USER' ? identityStore.hasUser(id) : identityStore.hasGroup(id)),
    // An organization instance belongs to the management account (sso-admin ListInstances,
    // OwnerAccountId), also when the product runs in the delegated administrator.
    ownerAccountId: options.organizations?.managementAccountId ?? SANDBOX_MANAGEMENT_ACCOUNT_ID,
    ...options.identityCenter,
    identityStoreId: directory.identityStoreId,
    clock,
    random,
    dataFile: dataFile(dataDir, 'identity-center.json'),
  });
  const scheduler = new SchedulerStandIn({ ...options.scheduler, clock, random, region, accountId, dataFile: dataFile(dataDir, 'scheduler.json') });
  const securityHub = new SecurityHubStandIn({ ...options.securityHub, clock, region, accountId, dataFile: dataFile(dataDir, 'security-hub.json') });
  const stepFunctions = new StepFunctionsStandIn({ ...options.stepFunctions, clock, region, accountId, dataFile: dataFile(dataDir, 'step-functions.json') });
  const now = () => clock.now();
  const organizations = new OrganizationsStandIn({
    managementAccountId: SANDBOX_MANAGEMENT_ACCOUNT_ID,
    accounts: [...DEMO_ACCOUNTS.map((a) => ({ id: a.id, name: a.name })), { id: accountId, name: 'sandbox-identity' }],
    delegatedAdministrators: { 'sso.amazonaws.com': [accountId] },
    callerAccountId: accountId,
    ...options.organizations,
    now,
  });
  const kms = new KmsStandIn({ region, callerAccountId: accountId, keys: options.kmsKeys, now });
  const securityHubAccount = new SecurityHubAccountStandIn({ ...options.securityHubAccount, region, accountId, now });

  const server = createAwsServer({
    rpcServices: [identityCenter, identityStore, stepFunctions, organizations, kms],
    restServices: [scheduler, securityHub, securityHubAccount],
    admin: { identityCenter, identityStore, scheduler, securityHub, stepFunctions, defaultAccountId: DEMO_ACCOUNTS[0].id, now: () => clock.now() },
    log: options.log,
  });
  const port = options.port ?? SANDBOX_PORTS.aws.port;
  let running: Awaited<ReturnType<typeof listen>>;
  try {
    running = await listen(server, port);
  } catch (e) {
    await Promise.all([identityCenter.stop(), scheduler.stop(), securityHub.stop(), stepFunctions.stop()]);
    throw explainListenError(e, { ...SANDBOX_PORTS.aws, port });
  }

  const endpoint = running.url;
  const env: Record<string, string> = {
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_SSO_ADMIN: endpoint,
    AWS_ENDPOINT_URL_IDENTITYSTORE: endpoint,
    AWS_ENDPOINT_URL_SCHEDULER: endpoint,
    AWS_ENDPOINT_URL_SECURITYHUB: endpoint,
    AWS_ENDPOINT_URL_SFN: endpoint,
    AWS_ENDPOINT_URL_ORGANIZATIONS: endpoint,
    AWS_ENDPOINT_URL_KMS: endpoint,
    [ENV.ssoInstanceArn]: identityCenter.instanceArn,
    [ENV.identityStoreId]: identityStore.identityStoreId,
  };
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    // `npm run sandbox:reset` only ever deletes a folder that carries this marker.
    writeFileSync(join(dataDir, SANDBOX_DATA_MARKER), 'Teams JIT Access sandbox data. `npm run sandbox:reset` deletes this folder.\n');
    // Other commands (`npm run sandbox:finding`) find the running stand-ins through this file.
    writeFileSync(join(dataDir, 'endpoints.json'), `${JSON.stringify({ endpoint, region, accountId, pid: process.pid, startedAt: new Date().toISOString() }, null, 2)}\n`);
  }

  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    scheduler.start();
  };
  if (!options.deferStart) start();

  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    port: running.port,
    region,
    accountId,
    clientConfig: { endpoint, region, credentials: { ...SANDBOX_CREDENTIALS } },
    env,
    identityCenter,
    identityStore,
    scheduler,
    securityHub,
    stepFunctions,
    organizations,
    kms,
    securityHubAccount,
    start,
    stop: () =>
      (stopping ??= (async () => {
        await running.close();
        await Promise.all([identityCenter.stop(), scheduler.stop(), securityHub.stop(), stepFunctions.stop()]);
        if (dataDir) rmSync(join(dataDir, 'endpoints.json'), { force: true });
      })()),
  };
}

export { ManualClock, systemClock } from './clock';
export type { SandboxClock } from './clock';
