/**
 * The deploy preflight (scripts/preflight.ts) against the sandbox stand-ins over HTTP, with the
 * real SDK clients (sso-admin, Security Hub) and the signed awsJson1_1 calls (Organizations,
 * KMS). Every scenario is a topology a platform team really has; each problem must be named, and
 * all of them reported in one run. Also: the Organizations, KMS and Security Hub account
 * stand-ins refuse what the real APIs refuse.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicyText } from '../../infra/policy-file';
import { type AwsStandIns, SANDBOX_CREDENTIALS, startAwsStandIns } from '../../sandbox/aws';
import { type PreflightInput, runPreflight, sdkPreflightAws } from '../../scripts/preflight';

const ROOT = join(__dirname, '..', '..');
const REGION = 'us-east-1';
const DEPLOYER = '444444444444';
const MANAGEMENT = '999999999999';
const INSTANCE = 'arn:aws:sso:::instance/ssoins-1111111111111111';
const KEY = `arn:aws:kms:${REGION}:${MANAGEMENT}:key/11111111-2222-3333-4444-555555555555`;
// infra/policy.example.yaml: accounts 111111111111 (workloads-dev) and 222222222222 (workloads-prod).
const policy = parsePolicyText(readFileSync(join(ROOT, 'infra', 'policy.example.yaml'), 'utf8'), 'yaml').policy;

type Options = Parameters<typeof startAwsStandIns>[0];

async function standIns(options: Options = {}): Promise<AwsStandIns> {
  return startAwsStandIns({
    port: 0,
    dataDir: false,
    region: REGION,
    accountId: DEPLOYER,
    ...options,
    organizations: {
      managementAccountId: MANAGEMENT,
      accounts: [
        { id: '111111111111', name: 'workloads-dev' },
        { id: '222222222222', name: 'workloads-prod' },
        { id: DEPLOYER, name: 'identity' },
      ],
      delegatedAdministrators: { 'sso.amazonaws.com': [DEPLOYER] },
      callerAccountId: DEPLOYER,
      ...options?.organizations,
    },
  });
}

function input(over: Partial<PreflightInput> = {}): PreflightInput {
  return { accountId: DEPLOYER, region: REGION, ssoInstanceArn: INSTANCE, identityStoreId: 'd-1111111111', allowManagementAccount: false, policy, ...over };
}

const connect = (aws: AwsStandIns) => sdkPreflightAws(REGION, { endpoint: aws.endpoint, credentials: { ...SANDBOX_CREDENTIALS } });

describe('deploy preflight against the stand-ins', function () {
  this.timeout(30_000);
  let aws: AwsStandIns | undefined;
  afterEach(async () => {
    await aws?.stop();
    aws = undefined;
  });

  it('passes in the recommended topology: the delegated administrator, Security Hub on, the policy\'s accounts in the organization', async () => {
    aws = await standIns({ kmsKeys: [{ arn: KEY }] });
    const report = await runPreflight(input({ managementAccountId: MANAGEMENT, ssoKmsKeyArn: KEY }), connect(aws));
    assert.deepEqual(report.problems, []);
    assert.equal(report.role, 'delegated-administrator');
    const ok = report.ok.join('\n');
    assert.match(ok, /account 444444444444 is IAM Identity Center's delegated administrator/);
    assert.match(ok, /instance arn:aws:sso:::instance\/ssoins-1111111111111111 with identity store d-1111111111/);
    assert.match(ok, /all 2 policy accounts belong to the organization/);
    assert.match(ok, /Security Hub is enabled \(arn:aws:securityhub:us-east-1:444444444444:hub\/default\)/);
    assert.match(ok, /customer managed key .* is enabled and symmetric/);
  });

  it('reports every problem at once: wrong store, foreign policy account, Security Hub off, management account id wrong, a disabled asymmetric key', async () => {
    aws = await standIns({
      securityHubAccount: { enabled: false },
      kmsKeys: [{ arn: KEY, enabled: false, keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY' }],
      organizations: { accounts: [{ id: '111111111111', name: 'workloads-dev' }, { id: DEPLOYER, name: 'identity' }] },
    });
    const report = await runPreflight(input({ identityStoreId: 'd-9999999999', managementAccountId: '888888888888', ssoKmsKeyArn: KEY }), connect(aws));
    const problems = report.problems.join('\n');
    assert.match(problems, /managementAccountId is 888888888888 but the organization's management account is 999999999999/);
    assert.match(problems, /identityStoreId is d-9999999999 but the instance's identity store is d-1111111111/);
    assert.match(problems, /policy accounts not in the organization: 222222222222 \(workloads-prod\)/);
    assert.match(problems, /Security Hub is not enabled in account 444444444444, Region us-east-1/);
    assert.match(problems, /is not enabled \(Disabled\), not symmetric \(KeySpec RSA_2048\), not for encryption \(KeyUsage SIGN_VERIFY\)/);
    assert.equal(report.problems.length, 5, problems);
  });

  it('an account that is neither the management account nor the delegated administrator: refused, and Organizations refuses its list calls', async () => {
    aws = await standIns({ organizations: { delegatedAdministrators: { 'sso.amazonaws.com': ['111111111111'] } } });
    const report = await runPreflight(input(), connect(aws));
    const problems = report.problems.join('\n');
    assert.equal(report.role, 'other');
    assert.match(problems, /cannot list IAM Identity Center's delegated administrators .*AccessDeniedException/);
    assert.match(problems, /cannot list the organization's accounts .*AccessDeniedException/);
  });

  it('a member that is a delegated administrator of another service only: not Identity Center\'s, so refused by name', async () => {
    aws = await standIns({ organizations: { delegatedAdministrators: { 'sso.amazonaws.com': ['111111111111'], 'securityhub.amazonaws.com': [DEPLOYER] } } });
    const report = await runPreflight(input(), connect(aws));
    assert.equal(report.role, 'other');
    assert.match(report.problems.join('\n'), /account 444444444444 is neither the management account \(999999999999\) nor IAM Identity Center's delegated administrator \(111111111111\)/);
  });

  it('the management account: detected; a policy that targets it is refused unless allowed, and allowing it from a delegated administrator is refused', async () => {
    aws = await standIns({ accountId: MANAGEMENT, organizations: { callerAccountId: MANAGEMENT, accounts: [{ id: '111111111111', name: 'workloads-dev' }, { id: '222222222222', name: 'workloads-prod' }] } });
    const mgmtPolicy = parsePolicyText(readFileSync(join(ROOT, 'infra', 'policy.example.yaml'), 'utf8').replace(/"111111111111"/g, `"${MANAGEMENT}"`), 'yaml').policy;
    const refused = await runPreflight(input({ accountId: MANAGEMENT, policy: mgmtPolicy }), connect(aws));
    assert.equal(refused.role, 'management');
    assert.match(refused.problems.join('\n'), /rule management-account: account 999999999999 \(workloads-dev\) is the organization's management account/);
    const allowed = await runPreflight(input({ accountId: MANAGEMENT, policy: mgmtPolicy, allowManagementAccount: true, managementAccountId: MANAGEMENT }), connect(aws));
    assert.deepEqual(allowed.problems, []);
    assert.match(allowed.warnings.join('\n'), /grants access to the management account 999999999999/);
    await aws.stop();

    aws = await standIns();
    const fromDelegated = await runPreflight(input({ policy: mgmtPolicy, allowManagementAccount: true, managementAccountId: MANAGEMENT }), connect(aws));
    assert.match(fromDelegated.problems.join('\n'), /allowManagementAccount is true but account 444444444444 is not the management account 999999999999/);
  });

  it('outside an organization, a key in another Region (so not found here), and a Security Hub administrator elsewhere', async () => {
    aws = await standIns({ organizations: { inOrganization: false }, securityHubAccount: { administratorAccountId: '777777777777' } });
    const otherRegion = `arn:aws:kms:eu-west-1:${MANAGEMENT}:key/11111111-2222-3333-4444-555555555555`;
    const report = await runPreflight(input({ managementAccountId: MANAGEMENT, ssoKmsKeyArn: otherRegion }), connect(aws));
    const problems = report.problems.join('\n');
    assert.match(problems, /not in an AWS organization/);
    assert.match(problems, /ssoKmsKeyArn is in Region eu-west-1 but the instance \(this deployment\) is in us-east-1/);
    assert.match(problems, /cannot describe ssoKmsKeyArn .*NotFoundException/);
    assert.match(report.warnings.join('\n'), /Security Hub's administrator is account 777777777777/);
  });

  it('an account instance (owned by a member account, not the management account) cannot assign access to accounts: refused', async () => {
    aws = await standIns({ identityCenter: { ownerAccountId: '111111111111' } });
    const report = await runPreflight(input({ managementAccountId: MANAGEMENT }), connect(aws));
    assert.match(report.problems.join('\n'), /is owned by account 111111111111, not the management account 999999999999: an account instance/);
    assert.equal(report.problems.length, 1, report.problems.join('\n'));
  });
});

describe('stand-ins: Organizations, KMS and Security Hub account operations are as strict as AWS', function () {
  this.timeout(30_000);
  let aws: AwsStandIns;
  before(async () => {
    aws = await standIns({ kmsKeys: [{ arn: KEY, aliases: ['alias/identity-center'] }] });
  });
  after(async () => aws.stop());
  // Raw awsJson1_1 calls, so that the stand-ins see inputs an SDK client would never build. The
  // stand-ins do not check signatures, so none is sent.
  const call = () => async (_service: 'organizations' | 'kms', _region: string, target: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(aws.endpoint, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target }, body: JSON.stringify(body ?? {}) });
    const parsed = (await res.json()) as Record<string, unknown>;
    if (!res.ok) {
      const name = String(parsed.__type ?? `HTTP${res.status}`).split('#').pop()!;
      throw Object.assign(new Error(String(parsed.message ?? parsed.Message ?? '')), { name });
    }
    return parsed;
  };
  const rejects = async (p: Promise<unknown>, name: string, message?: RegExp) => {
    await assert.rejects(p, (e: Error) => {
      assert.equal(e.name, name, e.message);
      if (message) assert.match(e.message, message);
      return true;
    });
  };

  it('Organizations: MaxResults 1-20, AccountId pattern and presence, unknown accounts, foreign NextTokens', async () => {
    const org = (op: string, body: unknown) => call()('organizations', REGION, `AWSOrganizationsV20161128.${op}`, body);
    await rejects(org('ListAccounts', { MaxResults: 21 }), 'InvalidInputException', /MaxResults/);
    await rejects(org('ListAccounts', { MaxResults: 0 }), 'InvalidInputException');
    await rejects(org('ListAccounts', { NextToken: 'not-ours' }), 'InvalidInputException', /NextToken/);
    await rejects(org('DescribeAccount', {}), 'InvalidInputException', /AccountId/);
    await rejects(org('DescribeAccount', { AccountId: '12345' }), 'InvalidInputException', /12 digits/);
    await rejects(org('DescribeAccount', { AccountId: '000000000000' }), 'AccountNotFoundException');
    await rejects(org('ListDelegatedAdministrators', { ServicePrincipal: 'sso amazonaws com' }), 'InvalidInputException');
    const page = await org('ListAccounts', { MaxResults: 2 });
    assert.equal((page.Accounts as unknown[]).length, 2);
    const rest = await org('ListAccounts', { MaxResults: 20, NextToken: page.NextToken });
    assert.equal((rest.Accounts as unknown[]).length, 2, 'management + 3 members, in two pages');
    assert.equal(((await org('DescribeAccount', { AccountId: '111111111111' })).Account as { Name: string }).Name, 'workloads-dev');
  });

  it('KMS DescribeKey: KeyId required and bounded, malformed ARNs, other Regions, aliases only in the own account', async () => {
    const kms = (body: unknown) => call()('kms', REGION, 'TrentService.DescribeKey', body);
    await rejects(kms({}), 'ValidationException', /must not be null/);
    await rejects(kms({ KeyId: '' }), 'ValidationException');
    await rejects(kms({ KeyId: 'x'.repeat(2049) }), 'ValidationException');
    await rejects(kms({ KeyId: 'arn:aws:kms:us-east-1:999999999999:nonsense' }), 'InvalidArnException');
    await rejects(kms({ KeyId: KEY.replace(REGION, 'eu-west-1') }), 'NotFoundException');
    // The key belongs to the management account: a cross-account caller must use the ARN.
    await rejects(kms({ KeyId: 'alias/identity-center' }), 'NotFoundException');
    await rejects(kms({ KeyId: '11111111-2222-3333-4444-555555555555' }), 'NotFoundException');
    const byArn = (await kms({ KeyId: KEY })).KeyMetadata as Record<string, unknown>;
    assert.equal(byArn.Arn, KEY);
    assert.equal(byArn.KeySpec, 'SYMMETRIC_DEFAULT');
    const byAliasArn = (await kms({ KeyId: `arn:aws:kms:${REGION}:${MANAGEMENT}:alias/identity-center` })).KeyMetadata as Record<string, unknown>;
    assert.equal(byAliasArn.Arn, KEY);
  });

  it('Security Hub DescribeHub / GetAdministratorAccount: InvalidAccessException (401) when not enabled, {} without an administrator', async () => {
    const preflight = connect(aws);
    assert.equal(await preflight.getAdministratorAccount(), undefined);
    const off = await standIns({ securityHubAccount: { enabled: false } });
    try {
      const res = await fetch(`${off.endpoint}/accounts`, { method: 'GET' });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('x-amzn-errortype'), 'InvalidAccessException');
      await rejects(connect(off).getAdministratorAccount(), 'InvalidAccessException', /not subscribed to AWS Security Hub/);
    } finally {
      await off.stop();
    }
  });
});
