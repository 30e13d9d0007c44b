/**
 * Synth-time configuration errors are clear (they name the context key, the policy rule and the
 * field), and cdk-nag really stops a synth on an unacknowledged finding.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../../infra/build';
import { ConfigError, loadConfig, PLACEHOLDER_CONTEXT } from '../../infra/config';

const REAL = {
  stage: 'dev',
  ssoInstanceArn: 'arn:aws:sso:::instance/ssoins-1234567890abcdef',
  identityStoreId: 'd-1234567890',
  entraTenantId: '11111111-2222-3333-4444-555555555555',
  bridgeAudience: '00000000-0000-4000-8000-0000000b71d6',
  botAppId: '99999999-8888-7777-6666-555555555555',
  approvalChannelId: '19:abc123@thread.tacv2',
  botNotifyUrl: 'https://bot.example.com/api/notify',
  oncallTeamId: '19:team123@thread.tacv2',
  policyFile: PLACEHOLDER_CONTEXT.policyFile,
};

const from = (ctx: Record<string, unknown>) => (key: string) => ctx[key];

function configError(ctx: Record<string, unknown>): string {
  try {
    loadConfig(from(ctx));
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected the configuration to be rejected');
}

describe('infra: configuration', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('userMatch externalId needs the ExternalId issuer (a guess would make every user unknown)', () => {
    assert.match(configError({ ...REAL, userMatch: 'externalId' }), /externalIdIssuer' is required when userMatch is externalId/);
    assert.equal(loadConfig(from({ ...REAL, userMatch: 'externalId', externalIdIssuer: 'https://scim.example.com/issuer' })).externalIdIssuer, 'https://scim.example.com/issuer');
  });

  it('accepts a complete real configuration and reads the policy file', () => {
    const config = loadConfig(from(REAL));
    assert.equal(config.stage, 'dev');
    assert.equal(config.placeholder, false);
    assert.ok(config.policy.rules.length > 0);
    assert.deepEqual(config.findingsSeverities, ['HIGH', 'CRITICAL']);
    assert.deepEqual(config.findingsAccountIds, config.policy.accounts.map((a) => a.id));
    assert.equal(config.protectData, false);
    assert.equal(loadConfig(from({ ...REAL, stage: 'prod' })).protectData, true, 'prod keeps its data');
  });

  it('names a missing required key and says how to pass it', () => {
    const { ssoInstanceArn: _omit, ...rest } = REAL;
    const message = configError(rest);
    assert.match(message, /context key 'ssoInstanceArn' is required/);
    assert.match(message, /-c ssoInstanceArn=/);
  });

  it('requires the stage', () => {
    const { stage: _omit, ...rest } = REAL;
    assert.match(configError(rest), /context key 'stage' is required/);
  });

  it('gives placeholder defaults to the test and synth stages only', () => {
    assert.equal(loadConfig(from({ stage: 'synth' })).placeholder, true);
    assert.equal(loadConfig(from({ stage: 'test' })).ssoInstanceArn, PLACEHOLDER_CONTEXT.ssoInstanceArn);
    const message = configError({ stage: 'staging' });
    for (const key of ['ssoInstanceArn', 'identityStoreId', 'entraTenantId', 'bridgeAudience', 'botAppId', 'approvalChannelId', 'policyFile']) {
      assert.match(message, new RegExp(`'${key}' is required`), key);
    }
    // The hosted bot (the default) gets its notices over IAM: no notify URL is asked for.
    assert.doesNotMatch(message, /'botNotifyUrl' is required/);
  });

  it('bridgeAudience is the bridge app\'s client id: an api:// Application ID URI is refused with the reason (Entra v2 puts the client id in aud)', () => {
    for (const uri of ['api://jit-bridge', 'api://00000000-0000-4000-8000-0000000b71d6', 'https://contoso.example.com/jit-bridge']) {
      const message = configError({ ...REAL, bridgeAudience: uri });
      assert.match(message, /'bridgeAudience' must be the bridge app's client id \(a GUID\), not its Application ID URI: Entra v2 access tokens carry the client id in aud/, uri);
    }
    assert.match(configError({ ...REAL, bridgeAudience: 'jit-bridge' }), /'bridgeAudience' must be a GUID/);
    assert.equal(loadConfig(from(REAL)).bridgeAudience, '00000000-0000-4000-8000-0000000b71d6');
    assert.match(PLACEHOLDER_CONTEXT.bridgeAudience, /^[0-9a-f-]{36}$/);
  });

  it('names the key, the rule it broke and the value for malformed values', () => {
    const message = configError({ ...REAL, identityStoreId: 'store-1', entraTenantId: 'contoso.onmicrosoft.com', botNotifyUrl: 'http://bot.example.com/api/notify' });
    assert.match(message, /'identityStoreId' must be an identity store id .*"store-1"/);
    assert.match(message, /'entraTenantId' must be a GUID/);
    assert.match(message, /'botNotifyUrl' must be an https URL/);
  });

  it('parses comma-separated lists and numbers from -c flags', () => {
    const config = loadConfig(from({ ...REAL, findingsSeverities: 'MEDIUM, HIGH,CRITICAL', findingsAccountIds: '111111111111,222222222222', throttleRateLimit: '5' }));
    assert.deepEqual(config.findingsSeverities, ['MEDIUM', 'HIGH', 'CRITICAL']);
    assert.deepEqual(config.findingsAccountIds, ['111111111111', '222222222222']);
    assert.equal(config.throttleRateLimit, 5);
    assert.match(configError({ ...REAL, findingsSeverities: 'HIGH,SEVERE' }), /'findingsSeverities'/);
  });

  it('names the policy file when it cannot be read or has an unknown extension', () => {
    assert.match(configError({ ...REAL, policyFile: join(dir, 'missing.yaml') }), /context key 'policyFile': cannot read .*missing\.yaml/);
    const txt = join(dir, 'policy.txt');
    writeFileSync(txt, 'version: 1');
    assert.match(configError({ ...REAL, policyFile: txt }), /must end in \.yaml, \.yml or \.json/);
  });

  it('stops on an invalid policy with errors naming the rule and the field', () => {
    const file = join(dir, 'bad-policy.yaml');
    writeFileSync(file, BAD_POLICY);
    const message = configError({ ...REAL, policyFile: file });
    assert.match(message, /bad-policy\.yaml is invalid/);
    assert.match(message, /rules\[0\]|oncall-admin/, 'names the rule');
    assert.match(message, /approvalsRequired|approverGroups/, 'names the field');
  });

  it('stops the whole synth (buildApp) on a bad policy, before any stack is built', () => {
    const file = join(dir, 'bad-policy.yaml');
    writeFileSync(file, BAD_POLICY);
    const app = new App({ context: { ...REAL, policyFile: file } });
    assert.throws(() => buildApp(app), ConfigError);
    assert.equal(app.node.children.length, 0);
  });
});

describe('infra: cdk-nag gate', function () {
  this.timeout(60_000);

  /**
   * Synthesizes with cdk-nag. A failed validation throws with the path of a report; the error
   * rethrown here lists the report's violated rule ids, one per line with the construct path.
   */
  function synthWithNag(configure: (stack: Stack) => void): void {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'jit-nag-')) });
    const stack = new Stack(app, 'Deliberate');
    configure(stack);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    try {
      app.synth();
    } catch (e) {
      const reportPath = /found in: (\S+)/.exec((e as Error).message)?.[1];
      if (!reportPath) throw e;
      const report = JSON.parse(readFileSync(reportPath, 'utf8')) as {
        pluginReports: Array<{ violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }> }>;
      };
      const lines = report.pluginReports.flatMap((p) => p.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`)));
      throw new Error(`Validation failed:\n${lines.join('\n')}`, { cause: e });
    } finally {
      rmSync(app.outdir, { recursive: true, force: true });
    }
  }

  it('fails the synth on an unacknowledged finding and names it', () => {
    assert.throws(
      () => synthWithNag((stack) => new sqs.Queue(stack, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED })),
      (e: Error) => /AwsSolutions-SQS4/.test(e.message) && /AwsSolutions-SQS3/.test(e.message),
    );
  });

  it('passes once each finding is acknowledged with a reason', () => {
    synthWithNag((stack) => {
      const q = new sqs.Queue(stack, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
      for (const id of ['AwsSolutions-SQS2', 'AwsSolutions-SQS3', 'AwsSolutions-SQS4']) Validations.of(q).acknowledge({ id, reason: 'deliberate: proves acknowledgements are honoured' });
    });
  });

  it('does not let one acknowledged finding hide another one on the same resource', () => {
    assert.throws(
      () =>
        synthWithNag((stack) => {
          const q = new sqs.Queue(stack, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
          Validations.of(q).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'deliberate' });
        }),
      (e: Error) => /AwsSolutions-SQS4 Deliberate\/Plain/.test(e.message) && !/AwsSolutions-SQS3\b/.test(e.message),
    );
  });
});

/** A rule that needs approvals but names no approver groups. */
const BAD_POLICY = `version: 1
accounts:
  - { id: "111111111111", name: Example, ouPath: ["r-ab12"] }
permissionSets:
  - { name: Admin, arn: "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef" }
rules:
  - id: oncall-admin
    eligibleGroups: [oncall]
    accounts: { ids: ["111111111111"] }
    permissionSets: [Admin]
    maxDuration: 1h
    approverGroups: []
    approvalsRequired: 2
`;
