/**
 * The hosted bot's context keys: provisioned concurrency on the live alias, the optional custom
 * domain, hostBot=false (bring your own host), and the configuration errors that name the key.
 * Each synth skips bundling but runs cdk-nag (an unacknowledged finding throws).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation template JSON is untyped by nature */
import { strict as assert } from 'node:assert';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/build';
import { loadConfig } from '../../infra/config';

const CERT = 'arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-0000000000c1';

function synth(context: Record<string, unknown> = {}): any {
  const app = new App({ context: { stage: 'test', ...context, 'aws:cdk:bundling-stacks': [] } });
  const { stack } = buildApp(app);
  return Template.fromStack(stack).toJSON();
}
const ofType = (t: any, type: string) => Object.entries(t.Resources as Record<string, any>).filter(([, r]) => r.Type === type);

/** Context of a real stage: every required key, as a deploy would pass it. */
const REAL = {
  stage: 'dev',
  ssoInstanceArn: 'arn:aws:sso:::instance/ssoins-1111111111111111',
  identityStoreId: 'd-1111111111',
  entraTenantId: '00000000-0000-0000-0000-000000000001',
  bridgeAudience: '00000000-0000-0000-0000-000000000002',
  botAppId: '00000000-0000-0000-0000-000000000003',
  approvalChannelId: '19:oncall@thread.tacv2',
  botNotifyUrl: 'https://bot.example.com/api/notify',
  policyFile: 'infra/policy.example.yaml',
};
const configError = (ctx: Record<string, unknown>): string => {
  try {
    loadConfig((k) => ctx[k]);
  } catch (e) {
    return (e as Error).message;
  }
  return assert.fail('expected a configuration error');
};

describe('infra: hosted bot context keys', function () {
  this.timeout(120_000);

  it('botProvisionedConcurrency > 0 puts provisioned concurrency on the live alias the route invokes', () => {
    const t = synth({ botProvisionedConcurrency: '2' });
    const [[aliasId, alias]] = ofType(t, 'AWS::Lambda::Alias') as [[string, any]];
    assert.deepEqual(alias.Properties.ProvisionedConcurrencyConfig, { ProvisionedConcurrentExecutions: 2 });
    const [, integration] = ofType(t, 'AWS::ApiGatewayV2::Integration').find(([, i]) => JSON.stringify(i.Properties.IntegrationUri) === JSON.stringify({ Ref: aliasId }))!;
    assert.ok(integration, 'the bot integration targets the alias');
  });

  it('a custom domain maps the API to botDomainName with the ACM certificate (TLS 1.2) and the endpoint output uses it', () => {
    const t = synth({ botDomainName: 'jit-bot.example.com', botCertificateArn: CERT });
    const [[, domain]] = ofType(t, 'AWS::ApiGatewayV2::DomainName') as [[string, any]];
    assert.equal(domain.Properties.DomainName, 'jit-bot.example.com');
    assert.equal(domain.Properties.DomainNameConfigurations[0].CertificateArn, CERT);
    assert.equal(domain.Properties.DomainNameConfigurations[0].SecurityPolicy, 'TLS_1_2');
    assert.equal(ofType(t, 'AWS::ApiGatewayV2::ApiMapping').length, 1);
    const endpoint = Object.entries(t.Outputs as Record<string, any>).find(([k]) => k === 'BotMessagingEndpoint')![1];
    assert.equal(endpoint.Value, 'https://jit-bot.example.com/api/messages');
  });

  it('hostBot=false leaves the bot out: no bot function, no /api/messages route, no endpoint output', () => {
    const t = synth({ hostBot: 'false' });
    assert.ok(!ofType(t, 'AWS::Lambda::Function').some(([, f]) => f.Properties.FunctionName === 'jit-access-test-bot'));
    assert.ok(!ofType(t, 'AWS::ApiGatewayV2::Route').some(([, r]) => r.Properties.RouteKey === 'POST /api/messages'));
    assert.ok(!Object.keys(t.Outputs).some((k) => k === 'BotMessagingEndpoint'));
  });

  it('hostBot=false: the notifying functions sign HTTP posts to botNotifyUrl with the notify key (read only), invoke nothing, and have no bot ARN', () => {
    const t = synth({ hostBot: 'false' });
    const [[secretId]] = ofType(t, 'AWS::SecretsManager::Secret').filter(([, r]) => String(r.Properties.Name).endsWith('/notify-hmac')) as [[string, any]];
    const backend = ofType(t, 'AWS::Lambda::Function').filter(([, f]) => JSON.stringify(f.Properties.Environment ?? {}).includes('JIT_STAGE'));
    assert.equal(backend.length, 7);
    for (const [id, f] of backend) {
      const vars = f.Properties.Environment.Variables;
      assert.equal(vars.JIT_NOTIFY_URL, 'https://bot.example.com/api/notify', id);
      assert.deepEqual(vars.JIT_NOTIFY_SECRET_ARN, { Ref: secretId }, id);
      assert.equal(vars.JIT_BOT_FUNCTION_ARN, undefined, id);
    }
    const statements = ofType(t, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
    assert.ok(!statements.some((st) => [st.Action].flat().includes('lambda:InvokeFunction') && JSON.stringify(st.Resource).includes('Bot')));
    const readers = ofType(t, 'AWS::IAM::Policy').filter(([, p]) => (p.Properties.PolicyDocument.Statement as any[]).some((st) => [st.Action].flat().includes('secretsmanager:GetSecretValue') && JSON.stringify(st.Resource) === JSON.stringify({ Ref: secretId })));
    assert.equal(readers.length, 6, 'bridge, workflow, notify, revoke, reconcile, findings');
    assert.ok(Object.keys(t.Outputs).includes('NotifySecretArn'));
  });

  it('approverAadObjectIds reach the bot as JIT_APPROVER_AAD_IDS', () => {
    const ids = '00000000-0000-0000-0000-0000000000a1,00000000-0000-0000-0000-0000000000a2';
    const t = synth({ approverAadObjectIds: ids });
    const [, fn] = ofType(t, 'AWS::Lambda::Function').find(([, f]) => f.Properties.FunctionName === 'jit-access-test-bot')!;
    assert.equal(fn.Properties.Environment.Variables.JIT_APPROVER_AAD_IDS, ids);
  });

  it('refuses, naming the key: a real stage without oncallTeamId, a Graph group id as team id, a domain without certificate, negative or huge provisioned concurrency', () => {
    assert.match(configError(REAL), /context key 'oncallTeamId' is required when hostBot is true/);
    assert.doesNotThrow(() => loadConfig((k) => ({ ...REAL, hostBot: 'false' })[k as keyof typeof REAL]));
    // A hosted bot needs no notify URL; a self-hosted one does.
    const { botNotifyUrl: _url, ...withoutUrl } = REAL;
    const hosted: Record<string, unknown> = { ...withoutUrl, oncallTeamId: '19:team@thread.tacv2' };
    assert.doesNotThrow(() => loadConfig((k) => hosted[k]));
    assert.match(configError({ ...withoutUrl, hostBot: 'false' }), /context key 'botNotifyUrl' is required when hostBot is false/);
    assert.doesNotThrow(() => loadConfig((k) => ({ ...REAL, oncallTeamId: '19:team@thread.tacv2' })[k as keyof typeof REAL]));
    assert.match(configError({ ...REAL, oncallTeamId: '00000000-0000-0000-0000-000000000009' }), /context key 'oncallTeamId' must be a Bot Framework team id/);
    assert.match(configError({ ...REAL, oncallTeamId: '19:team@thread.tacv2', botDomainName: 'jit-bot.example.com' }), /'botDomainName' and 'botCertificateArn' go together/);
    assert.match(configError({ ...REAL, oncallTeamId: '19:team@thread.tacv2', botDomainName: 'jit-bot.example.com', botCertificateArn: 'arn:aws:iam::111111111111:server-certificate/x' }), /context key 'botCertificateArn' must be an ACM certificate ARN/);
    assert.match(configError({ ...REAL, oncallTeamId: '19:team@thread.tacv2', botProvisionedConcurrency: '-1' }), /context key 'botProvisionedConcurrency'/);
    assert.match(configError({ ...REAL, oncallTeamId: '19:team@thread.tacv2', botProvisionedConcurrency: '500' }), /context key 'botProvisionedConcurrency'/);
  });
});
