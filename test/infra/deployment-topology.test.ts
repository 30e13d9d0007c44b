/**
 * Where the stack runs and what it may touch there: the identity store owner, the organization's
 * management account, a customer managed key on the Identity Center instance, and the service
 * principals of the stack's own KMS key. Each synth skips bundling (about 2 s) but runs cdk-nag.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation template JSON is untyped by nature */
import { strict as assert } from 'node:assert';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/build';
import { ConfigError, PLACEHOLDER_CONTEXT } from '../../infra/config';

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource?: unknown; Condition?: Record<string, any>; Principal?: any };
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const flat = (v: unknown) => JSON.stringify(v);

const STORE = PLACEHOLDER_CONTEXT.identityStoreId;
const KEY_ARN = 'arn:aws:kms:us-east-1:333333333333:key/11111111-2222-3333-4444-555555555555';

function synth(context: Record<string, unknown> = {}, env?: { account: string; region: string }): any {
  const app = new App({ context: { stage: 'test', ...context, 'aws:cdk:bundling-stacks': [] } });
  const saved = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  try {
    if (env) {
      process.env.CDK_DEFAULT_ACCOUNT = env.account;
      process.env.CDK_DEFAULT_REGION = env.region;
    }
    const { stack } = buildApp(app);
    return Template.fromStack(stack).toJSON();
  } finally {
    for (const [k, v] of Object.entries({ CDK_DEFAULT_ACCOUNT: saved.account, CDK_DEFAULT_REGION: saved.region })) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Statements of the role the named function runs as. */
function statementsOf(template: any, suffix: string): Statement[] {
  const resources = template.Resources as Record<string, any>;
  const fn = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties?.FunctionName).endsWith(`-${suffix}`));
  assert.ok(fn, `function ${suffix}`);
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && asArray<any>(r.Properties?.Roles).some((ref) => ref.Ref === roleId))
    .flatMap((p) => asArray<Statement>(p.Properties.PolicyDocument.Statement));
}

function allIdentityStatements(template: any): Statement[] {
  return Object.values(template.Resources as Record<string, any>)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((p) => asArray<Statement>(p.Properties.PolicyDocument.Statement));
}

function synthError(context: Record<string, unknown>, env?: { account: string; region: string }): string {
  try {
    synth(context, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected the synth to be refused');
}

describe('infra: deployment topology (management account, identity store owner, KMS keys)', function () {
  this.timeout(120_000);
  let plain: any;
  before(() => {
    plain = synth();
  });

  describe('identity store ARN (item 7)', () => {
    it('never names the stack account as the store owner: `*` with the globally unique store id by default', () => {
      const store = allIdentityStatements(plain).filter((s) => asArray(s.Action).some((a) => a.startsWith('identitystore:')));
      assert.ok(store.length > 0);
      for (const s of store) {
        const resources = asArray(s.Resource).map(flat);
        const storeArn = resources.find((r) => r.includes(':identitystore/'));
        assert.ok(storeArn, flat(s.Resource));
        assert.ok(!storeArn.includes('AWS::AccountId'), `store ARN pinned to the stack account: ${storeArn}`);
        assert.match(storeArn, new RegExp(`identitystore::\\*:identitystore/${STORE}`));
      }
    });

    it('names the management account as the owner when managementAccountId is given', () => {
      const t = synth({ managementAccountId: '333333333333' });
      const s = statementsOf(t, 'bridge').find((st) => st.Sid === 'IdentityStoreRead');
      assert.ok(s);
      assert.ok(asArray(s.Resource).map(flat).some((r) => r.includes(`identitystore::333333333333:identitystore/${STORE}`)), flat(s.Resource));
    });

    it('keeps the sso ARNs in the Service Authorization Reference shapes (instance, permissionSet/<instance>/<ps>, account/<id>)', () => {
      const resources = allIdentityStatements(plain)
        .filter((s) => asArray(s.Action).some((a) => a.startsWith('sso:')))
        .flatMap((s) => asArray(s.Resource))
        .map((r) => (typeof r === 'string' ? r : flat(r)));
      assert.ok(resources.length > 0);
      for (const r of resources) {
        const arn = r.replace(/\{"Fn::Join":\["",\[\s*"arn:",\{"Ref":"AWS::Partition"\},":/, 'arn:aws:').replace(/"\]\]\}$/, '');
        assert.match(arn, /^arn:aws:sso:::(instance\/ssoins-[0-9a-f]{16}|permissionSet\/ssoins-[0-9a-f]{16}\/ps-[0-9a-f]{16}|account\/\d{12})$/, r);
      }
    });
  });

  describe('customer managed key of the Identity Center instance (item 8)', () => {
    it('grants no KMS access to Identity Center keys without ssoKmsKeyArn', () => {
      for (const s of allIdentityStatements(plain)) {
        assert.ok(!/IdentityCenterKey/.test(s.Sid ?? ''), s.Sid);
      }
    });

    it('with ssoKmsKeyArn: kms:Decrypt on that key, only via sso / identitystore, only for this instance and store, to every function that calls them', () => {
      const t = synth({ ssoKmsKeyArn: KEY_ARN });
      for (const fn of ['bridge', 'workflow', 'revoke', 'reconcile']) {
        const statements = statementsOf(t, fn);
        const viaSso = statements.find((s) => s.Sid === 'IdentityCenterKeyViaSso');
        const viaStore = statements.find((s) => s.Sid === 'IdentityCenterKeyViaIdentityStore');
        assert.ok(viaSso && viaStore, `${fn} gets both key statements`);
        for (const s of [viaSso, viaStore]) {
          assert.deepEqual(asArray(s.Action), ['kms:Decrypt']);
          assert.deepEqual(asArray(s.Resource), [KEY_ARN]);
        }
        assert.equal(viaSso.Condition?.StringLike?.['kms:ViaService'], 'sso.*.amazonaws.com');
        assert.equal(viaSso.Condition?.StringEquals?.['kms:EncryptionContext:aws:sso:instance-arn'], PLACEHOLDER_CONTEXT.ssoInstanceArn);
        assert.equal(viaStore.Condition?.StringLike?.['kms:ViaService'], 'identitystore.*.amazonaws.com');
        assert.match(flat(viaStore.Condition?.StringLike?.['kms:EncryptionContext:aws:identitystore:identitystore-arn']), new RegExp(`identitystore::\\*:identitystore/${STORE}`));
      }
      for (const fn of ['notify', 'findings', 'audit-writer']) {
        assert.ok(!statementsOf(t, fn).some((s) => /IdentityCenterKey/.test(s.Sid ?? '')), `${fn} does not call Identity Center`);
      }
    });

    it('refuses an alias, a bare key id or a key ARN of another shape', () => {
      for (const bad of ['alias/identity-center', '11111111-2222-3333-4444-555555555555', 'arn:aws:kms:us-east-1:333333333333:alias/ic', 'arn:aws:kms:us-east-1:33333333333:key/11111111-2222-3333-4444-555555555555']) {
        assert.match(synthError({ ssoKmsKeyArn: bad }), /context key 'ssoKmsKeyArn' must be a KMS key ARN/, bad);
      }
      // Multi-Region keys are allowed (mrk- ids).
      synth({ ssoKmsKeyArn: 'arn:aws:kms:eu-west-1:333333333333:key/mrk-0123456789abcdef0123456789abcdef' });
    });
  });

  describe('the organization management account (item 6)', () => {
    it('refuses a policy that lists the management account, naming the rule and the rules that target it', () => {
      // infra/policy.example.yaml: 111111111111 is covered by readonly-everywhere (root OU) and nonprod-poweruser.
      const message = synthError({ managementAccountId: '111111111111' });
      assert.match(message, /accounts\[0\] \(id "111111111111"\)/);
      assert.match(message, /rule management-account: account 111111111111 \(workloads-dev\) is the organization's management account/);
      assert.match(message, /rule "readonly-everywhere"/);
      assert.match(message, /allowManagementAccount=true/);
    });

    it('accepts the same policy when the management account is not in it, and grants no IAM role actions', () => {
      const t = synth({ managementAccountId: '333333333333' });
      assert.ok(!allIdentityStatements(t).some((s) => asArray(s.Action).some((a) => a.startsWith('iam:') && a !== 'iam:PassRole')));
    });

    it('needs managementAccountId with allowManagementAccount, and refuses it in another account than the management account', () => {
      assert.match(synthError({ allowManagementAccount: 'true' }), /context key 'managementAccountId' is required when allowManagementAccount is true/);
      const message = synthError({ managementAccountId: '111111111111', allowManagementAccount: 'true' }, { account: '444444444444', region: 'us-east-1' });
      assert.match(message, /stack's account 444444444444 is not the management account 111111111111/);
    });

    it('with the opt-in, in the management account: the writers get the IAM actions Identity Center provisions with, scoped to its reserved role path and SAML provider', () => {
      const t = synth({ managementAccountId: '111111111111', allowManagementAccount: 'true' }, { account: '111111111111', region: 'us-east-1' });
      for (const fn of ['bridge', 'workflow', 'revoke', 'reconcile']) {
        const statements = statementsOf(t, fn);
        const roles = statements.find((s) => s.Sid === 'ManagementAccountSsoRoles');
        const saml = statements.find((s) => s.Sid === 'ManagementAccountSsoSamlProvider');
        assert.ok(roles && saml, `${fn} may provision in the management account`);
        for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:DeleteRole', 'iam:DetachRolePolicy']) assert.ok(asArray(roles.Action).includes(action), action);
        assert.deepEqual(asArray(roles.Resource).map(flat), [flat({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:role/aws-reserved/sso.amazonaws.com/*']] })]);
        for (const action of ['iam:CreateSAMLProvider', 'iam:GetSAMLProvider']) assert.ok(asArray(saml.Action).includes(action), action);
        assert.match(flat(saml.Resource), /:iam::111111111111:saml-provider\/AWSSSO_\*_DO_NOT_DELETE/);
      }
      for (const fn of ['notify', 'findings', 'audit-writer']) {
        assert.ok(!statementsOf(t, fn).some((s) => asArray(s.Action).some((a) => a.startsWith('iam:') && a !== 'iam:PassRole')), fn);
      }
      // The identity store is pinned to the management account too.
      assert.ok(statementsOf(t, 'bridge').some((s) => flat(s.Resource).includes(`identitystore::111111111111:identitystore/${STORE}`)));
    });
  });

  describe('the stack KMS key policy (item 11)', () => {
    it('binds every service principal to this account and this stack\'s own resources (confused deputy)', () => {
      const keys = Object.values(plain.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::KMS::Key');
      assert.equal(keys.length, 1);
      const services = asArray<Statement>(keys[0].Properties.KeyPolicy.Statement).filter((s) => s.Principal?.Service);
      assert.ok(services.length > 0, 'the alarm service principal is in the key policy');
      for (const s of services) {
        const condition = flat(s.Condition ?? {});
        assert.ok(s.Condition?.StringEquals?.['aws:SourceAccount'], `${s.Sid}: aws:SourceAccount`);
        assert.match(condition, /aws:SourceArn/, `${s.Sid}: aws:SourceArn`);
      }
      const alarms = services.find((s) => s.Sid === 'CloudWatchAlarmsPublishToEncryptedTopic');
      assert.ok(alarms);
      assert.match(flat(alarms.Condition?.ArnLike?.['aws:SourceArn']), /:cloudwatch:.*:alarm:jit-access-test-\*/);
    });
  });
});
