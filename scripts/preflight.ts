/**
 * Read-only AWS preflight of a deployment (called by scripts/deploy; runnable alone):
 *
 *   JIT_PREFLIGHT_CONTEXT='<merged context JSON>' AWS_REGION=<region> \
 *     npx tsx scripts/preflight.ts --account <caller account id>
 *
 * It checks, and prints EVERY problem it finds (not just the first), then exits 1 if any:
 *  1. the Identity Center instance (sso-admin ListInstances): the configured instance ARN is
 *     visible here and its identity store id matches;
 *  2. the organization (organizations DescribeOrganization, ListDelegatedAdministrators): whether
 *     this account is the management account or Identity Center's delegated administrator, that
 *     `managementAccountId` matches, and that the policy reaches the management account only with
 *     `allowManagementAccount`, which in turn needs the management account;
 *  3. the policy's accounts belong to the organization and are active (organizations ListAccounts);
 *  4. Security Hub (DescribeHub, GetAdministratorAccount): enabled here, and who administers it;
 *  5. the customer managed key, if `ssoKmsKeyArn` is set (kms DescribeKey): enabled, symmetric
 *     encrypt/decrypt, customer managed, in the instance's Region and owned by the management account.
 * Only read-only calls are made. The checks run against ports (PreflightAws), so the test drives
 * them against the sandbox stand-ins over HTTP.
 */
import { GetAdministratorAccountCommand, DescribeHubCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { ListInstancesCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DescribeOrganizationCommand, ListAccountsCommand, ListDelegatedAdministratorsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { managementAccountIssues, rulesTargetingManagementAccount } from '../core/policy/management-account';
import type { Policy } from '../core/policy/types';

/** The service principal of IAM Identity Center for delegated administration. */
export const SSO_SERVICE_PRINCIPAL = 'sso.amazonaws.com';

export interface PreflightInput {
  /** The deploying account (sts get-caller-identity). */
  accountId: string;
  region: string;
  ssoInstanceArn: string;
  identityStoreId: string;
  managementAccountId?: string;
  allowManagementAccount: boolean;
  ssoKmsKeyArn?: string;
  policy: Policy;
}

export interface InstanceView {
  InstanceArn?: string;
  IdentityStoreId?: string;
  OwnerAccountId?: string;
  Status?: string;
}
export interface AccountView {
  Id?: string;
  Name?: string;
  Status?: string;
  State?: string;
}
export interface KeyView {
  Arn?: string;
  Enabled?: boolean;
  KeyState?: string;
  KeySpec?: string;
  KeyUsage?: string;
  KeyManager?: string;
}

/** The read-only calls the preflight makes. Each throws the service's error (with its `name`). */
export interface PreflightAws {
  listInstances(): Promise<InstanceView[]>;
  describeOrganization(): Promise<{ Id?: string; MasterAccountId?: string }>;
  listDelegatedAdministrators(servicePrincipal: string): Promise<string[]>;
  listAccounts(): Promise<AccountView[]>;
  describeHub(): Promise<{ HubArn?: string }>;
  /** The Security Hub administrator account, or undefined when there is none. */
  getAdministratorAccount(): Promise<string | undefined>;
  describeKey(keyArn: string): Promise<KeyView>;
}

export interface PreflightReport {
  ok: string[];
  warnings: string[];
  problems: string[];
  /** What the organization check found, for the caller's summary. */
  role?: 'management' | 'delegated-administrator' | 'other';
}

const describe = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

export async function runPreflight(input: PreflightInput, aws: PreflightAws): Promise<PreflightReport> {
  const report: PreflightReport = { ok: [], warnings: [], problems: [] };
  const ok = (m: string) => report.ok.push(m);
  const warn = (m: string) => report.warnings.push(m);
  const problem = (m: string) => report.problems.push(m);

  // ── organization first: the other checks read the management account from it ──
  let managementAccountId = input.managementAccountId;
  let organizationKnown = false;
  try {
    const org = await aws.describeOrganization();
    organizationKnown = true;
    const master = org.MasterAccountId;
    if (input.managementAccountId && master && input.managementAccountId !== master) {
      problem(`managementAccountId is ${input.managementAccountId} but the organization's management account is ${master} (organizations DescribeOrganization): fix -c managementAccountId`);
    } else if (master && !input.managementAccountId) {
      warn(`the organization's management account is ${master}: pass -c managementAccountId=${master} so that synth refuses a policy that targets it and the identity store ARN names its owner`);
    } else if (master) {
      ok(`organization ${org.Id ?? ''} with management account ${master}`.replace('  ', ' '));
    }
    managementAccountId = master ?? managementAccountId;
  } catch (e) {
    if ((e as Error).name === 'AWSOrganizationsNotInUseException') {
      problem('this account is not in an AWS organization: the product needs an organization instance of IAM Identity Center (organizations DescribeOrganization: AWSOrganizationsNotInUseException)');
    } else {
      problem(`cannot read the organization (organizations DescribeOrganization): ${describe(e)}`);
    }
  }

  if (organizationKnown && managementAccountId) {
    if (input.accountId === managementAccountId) {
      report.role = 'management';
      ok(`account ${input.accountId} is the organization's management account (a delegated administrator account is recommended; see infra/README.md, "Where to deploy")`);
    } else {
      try {
        const admins = await aws.listDelegatedAdministrators(SSO_SERVICE_PRINCIPAL);
        if (admins.includes(input.accountId)) {
          report.role = 'delegated-administrator';
          ok(`account ${input.accountId} is IAM Identity Center's delegated administrator`);
        } else {
          report.role = 'other';
          problem(
            `account ${input.accountId} is neither the management account (${managementAccountId}) nor IAM Identity Center's delegated administrator (${admins.join(', ') || 'none registered'}): deploy in the delegated administrator account, or register one (IAM Identity Center console, Settings, "Register account")`,
          );
        }
      } catch (e) {
        report.role = 'other';
        problem(`cannot list IAM Identity Center's delegated administrators (organizations ListDelegatedAdministrators, only the management account or a delegated administrator may call it): ${describe(e)}`);
      }
    }
    const policyIssues = managementAccountIssues(input.policy, { managementAccountId, allowed: input.allowManagementAccount });
    for (const issue of policyIssues) problem(`policy ${issue.path}: ${issue.message}`);
    if (input.allowManagementAccount && input.accountId !== managementAccountId) {
      problem(`allowManagementAccount is true but account ${input.accountId} is not the management account ${managementAccountId}: a delegated administrator cannot manage permission sets provisioned to the management account`);
    }
    if (input.allowManagementAccount && input.accountId === managementAccountId && rulesTargetingManagementAccount(input.policy, managementAccountId).length > 0) {
      warn(`the policy grants access to the management account ${managementAccountId} (allowManagementAccount): the functions get IAM permissions on its AWSReservedSSO_ roles (infra/README.md, "The management account")`);
    }
  }

  // ── Identity Center instance ──
  try {
    const instances = await aws.listInstances();
    const hit = instances.find((i) => i.InstanceArn === input.ssoInstanceArn);
    if (!hit) {
      const seen = instances.map((i) => i.InstanceArn).filter(Boolean);
      problem(`instance ${input.ssoInstanceArn} is not visible in account ${input.accountId}, Region ${input.region} (sso-admin ListInstances shows ${seen.join(', ') || 'none'}): wrong account, wrong Region, or not the delegated administrator`);
    } else {
      if (hit.IdentityStoreId !== input.identityStoreId) problem(`identityStoreId is ${input.identityStoreId} but the instance's identity store is ${hit.IdentityStoreId ?? '(none)'}`);
      else ok(`instance ${input.ssoInstanceArn} with identity store ${hit.IdentityStoreId}`);
      if (hit.Status && hit.Status !== 'ACTIVE') problem(`instance ${input.ssoInstanceArn} is ${hit.Status}, not ACTIVE`);
      if (hit.OwnerAccountId && managementAccountId && hit.OwnerAccountId !== managementAccountId) {
        problem(`instance ${input.ssoInstanceArn} is owned by account ${hit.OwnerAccountId}, not the management account ${managementAccountId}: an account instance of IAM Identity Center cannot assign access to AWS accounts; use the organization instance`);
      }
    }
  } catch (e) {
    problem(`sso-admin ListInstances failed (deploy from the management account or Identity Center's delegated administrator): ${describe(e)}`);
  }

  // ── the policy's accounts ──
  if (organizationKnown) {
    try {
      const accounts = new Map((await aws.listAccounts()).map((a) => [a.Id, a]));
      const missing: string[] = [];
      for (const entry of input.policy.accounts) {
        const account = accounts.get(entry.id);
        if (!account) missing.push(`${entry.id} (${entry.name})`);
        else if ((account.State ?? account.Status) !== 'ACTIVE') problem(`policy account ${entry.id} (${entry.name}) is ${account.State ?? account.Status} in the organization`);
      }
      if (missing.length > 0) problem(`policy accounts not in the organization: ${missing.join(', ')}`);
      else ok(`all ${input.policy.accounts.length} policy accounts belong to the organization`);
    } catch (e) {
      problem(`cannot list the organization's accounts (organizations ListAccounts): ${describe(e)}`);
    }
  }

  // ── Security Hub ──
  try {
    const hub = await aws.describeHub();
    ok(`Security Hub is enabled (${hub.HubArn ?? 'hub'})`);
    try {
      const admin = await aws.getAdministratorAccount();
      if (admin && admin !== input.accountId) {
        warn(`Security Hub's administrator is account ${admin}: findings of member accounts reach ITS default event bus, not this account's; deploy the findings forwarder there (infra/README.md)`);
      } else {
        ok('this account has no other Security Hub administrator');
      }
    } catch (e) {
      problem(`securityhub GetAdministratorAccount failed: ${describe(e)}`);
    }
  } catch (e) {
    if ((e as Error).name === 'InvalidAccessException') {
      problem(`Security Hub is not enabled in account ${input.accountId}, Region ${input.region}: break-glass, drift and revoke-failure findings cannot be imported; enable it first (securityhub DescribeHub: ${(e as Error).message})`);
    } else {
      problem(`securityhub DescribeHub failed: ${describe(e)}`);
    }
  }

  // ── customer managed key of the instance ──
  if (input.ssoKmsKeyArn) {
    const [, , , keyRegion, keyAccount] = input.ssoKmsKeyArn.split(':');
    if (keyRegion !== input.region) problem(`ssoKmsKeyArn is in Region ${keyRegion} but the instance (this deployment) is in ${input.region}: Identity Center uses a key in its own Region`);
    if (managementAccountId && keyAccount !== managementAccountId) {
      problem(`ssoKmsKeyArn belongs to account ${keyAccount}, not the management account ${managementAccountId} that owns the instance (Identity Center needs the key in its own account)`);
    }
    try {
      const key = await aws.describeKey(input.ssoKmsKeyArn);
      const wrong: string[] = [];
      if (key.Enabled !== true || (key.KeyState && key.KeyState !== 'Enabled')) wrong.push(`not enabled (${key.KeyState ?? 'disabled'})`);
      if (key.KeySpec !== 'SYMMETRIC_DEFAULT') wrong.push(`not symmetric (KeySpec ${key.KeySpec ?? '?'})`);
      if (key.KeyUsage !== 'ENCRYPT_DECRYPT') wrong.push(`not for encryption (KeyUsage ${key.KeyUsage ?? '?'})`);
      if (key.KeyManager && key.KeyManager !== 'CUSTOMER') wrong.push('not customer managed');
      if (wrong.length > 0) problem(`ssoKmsKeyArn ${input.ssoKmsKeyArn} is ${wrong.join(', ')}`);
      else ok(`customer managed key ${input.ssoKmsKeyArn} is enabled and symmetric`);
    } catch (e) {
      problem(`cannot describe ssoKmsKeyArn ${input.ssoKmsKeyArn} (kms DescribeKey; its key policy must allow this account, see IAM Identity Center's baseline KMS key policy): ${describe(e)}`);
    }
  }
  return report;
}

// ─────────────────────────────────────────────────────────────────────────────────────────────
// Adapters: the AWS SDK clients. Endpoints follow the SDK's AWS_ENDPOINT_URL_<SERVICE> /
// AWS_ENDPOINT_URL variables (or `connection.endpoint`), so the sandbox stand-ins answer in tests.

export interface AwsConnection {
  /** One endpoint for every service (tests: the sandbox stand-ins); default the SDK's resolution. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export function sdkPreflightAws(region: string, connection: AwsConnection = {}): PreflightAws {
  const clientConfig = { region, ...(connection.endpoint ? { endpoint: connection.endpoint } : {}), ...(connection.credentials ? { credentials: connection.credentials } : {}) };
  const sso = new SSOAdminClient(clientConfig);
  const hub = new SecurityHubClient(clientConfig);
  // Organizations is global: the SDK resolves its one endpoint per partition from any Region
  // (AWS General Reference, "AWS Organizations endpoints").
  const org = new OrganizationsClient(clientConfig);
  const kmsClients = new Map<string, KMSClient>();
  const kmsIn = (keyRegion: string) => {
    let c = kmsClients.get(keyRegion);
    if (!c) kmsClients.set(keyRegion, (c = new KMSClient({ ...clientConfig, region: keyRegion })));
    return c;
  };
  const pages = async <T>(fetchPage: (token?: string) => Promise<{ items: T[]; next?: string }>): Promise<T[]> => {
    const out: T[] = [];
    let token: string | undefined;
    for (let page = 0; page < 500; page++) {
      const { items, next } = await fetchPage(token);
      out.push(...items);
      if (!next) return out;
      token = next;
    }
    throw new Error('more than 500 pages');
  };
  return {
    listInstances: () =>
      pages(async (NextToken) => {
        const r = await sso.send(new ListInstancesCommand({ NextToken }));
        return { items: r.Instances ?? [], next: r.NextToken };
      }),
    describeOrganization: async () => (await org.send(new DescribeOrganizationCommand({}))).Organization ?? {},
    listDelegatedAdministrators: (servicePrincipal) =>
      pages(async (NextToken) => {
        const r = await org.send(new ListDelegatedAdministratorsCommand({ ServicePrincipal: servicePrincipal, MaxResults: 20, NextToken }));
        return { items: (r.DelegatedAdministrators ?? []).map((a) => a.Id ?? ''), next: r.NextToken };
      }),
    listAccounts: () =>
      pages(async (NextToken) => {
        const r = await org.send(new ListAccountsCommand({ MaxResults: 20, NextToken }));
        return { items: r.Accounts ?? [], next: r.NextToken };
      }),
    describeHub: async () => {
      const r = await hub.send(new DescribeHubCommand({}));
      return { HubArn: r.HubArn };
    },
    getAdministratorAccount: async () => (await hub.send(new GetAdministratorAccountCommand({}))).Administrator?.AccountId,
    describeKey: async (keyArn) => {
      const keyRegion = keyArn.split(':')[3] ?? region;
      return (await kmsIn(keyRegion).send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata ?? {};
    },
  };
}

export function formatReport(report: PreflightReport): string {
  const lines = [
    ...report.ok.map((m) => `    ok: ${m}`),
    ...report.warnings.map((m) => `    warning: ${m}`),
    ...report.problems.map((m) => `    problem: ${m}`),
  ];
  lines.push(report.problems.length === 0 ? '    preflight passed' : `    ${report.problems.length} problem(s): nothing was deployed`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const { loadPolicyFile } = await import('../infra/config');
  const i = argv.indexOf('--account');
  const accountId = i >= 0 ? argv[i + 1] : undefined;
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!accountId || !/^\d{12}$/.test(accountId)) {
    console.error('preflight: --account <12-digit account id> is required (the deploying account)');
    return 2;
  }
  if (!region) {
    console.error('preflight: AWS_REGION is not set (the Identity Center instance\'s Region)');
    return 2;
  }
  let context: Record<string, unknown>;
  try {
    context = JSON.parse(process.env.JIT_PREFLIGHT_CONTEXT ?? '') as Record<string, unknown>;
  } catch {
    console.error('preflight: JIT_PREFLIGHT_CONTEXT must hold the merged context as JSON');
    return 2;
  }
  const str = (key: string) => (typeof context[key] === 'string' && context[key] !== '' ? (context[key] as string) : undefined);
  const policyFile = str('policyFile');
  if (!policyFile || !str('ssoInstanceArn') || !str('identityStoreId')) {
    console.error('preflight: the context needs ssoInstanceArn, identityStoreId and policyFile');
    return 2;
  }
  const { policy } = loadPolicyFile(policyFile);
  const input: PreflightInput = {
    accountId,
    region,
    ssoInstanceArn: str('ssoInstanceArn')!,
    identityStoreId: str('identityStoreId')!,
    managementAccountId: str('managementAccountId'),
    allowManagementAccount: context.allowManagementAccount === true || context.allowManagementAccount === 'true',
    ssoKmsKeyArn: str('ssoKmsKeyArn'),
    policy,
  };
  const report = await runPreflight(input, sdkPreflightAws(region));
  console.log(formatReport(report));
  return report.problems.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`preflight: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(2);
    },
  );
}
