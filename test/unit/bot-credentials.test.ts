/**
 * The bot reads its Entra credentials from the stack's BotCredentials secret (Secrets Manager) when
 * JIT_BOT_CREDENTIALS_SECRET_ARN is set; a malformed, unreadable or mismatching secret stops the
 * start with a clear error that never shows a value. Secrets Manager is mocked (aws-sdk-client-mock).
 */
import { strict as assert } from 'node:assert';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { BotConfigError } from '../../bot/config';
import { loadBotConfig, resolveBotEnvironment } from '../../bot/credentials';

const TENANT = '00000000-0000-0000-0000-000000000001';
const APP = '00000000-0000-0000-0000-00000000000a';
const ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:jit-access-prod/bot-credentials-AbCdEf';
const SECRET_VALUE = 'entra-client-secret-value-0123456789';

const production = {
  JIT_ALLOWED_TENANT_IDS: TENANT,
  JIT_BRIDGE_URL: 'https://bridge.example.com/',
  JIT_BRIDGE_SCOPE: 'api://00000000-0000-0000-0000-00000000000b/.default',
  JIT_NOTIFY_SECRET: 'x'.repeat(32),
  JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
  JIT_ONCALL_CHANNEL_ID: '19:oncall@thread.tacv2',
  JIT_BOT_STORE_TABLE: 'jit-bot-store',
  MicrosoftAppType: 'SingleTenant',
};

describe('bot credentials from Secrets Manager', () => {
  const sm = mockClient(SecretsManagerClient);
  const client = new SecretsManagerClient({ region: 'eu-west-1' });
  afterEach(() => sm.reset());

  const secret = (value: unknown) => sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ ARN, SecretString: typeof value === 'string' ? value : JSON.stringify(value) });

  async function refused(env: Record<string, string>, ...patterns: RegExp[]): Promise<string> {
    try {
      await loadBotConfig(env, { secretsManager: client });
    } catch (e) {
      assert.ok(e instanceof BotConfigError, String(e));
      for (const p of patterns) assert.match(e.message, p);
      assert.ok(!e.message.includes(SECRET_VALUE), 'never the secret value');
      return e.message;
    }
    return assert.fail('expected a BotConfigError');
  }

  it('reads {MicrosoftAppId, MicrosoftAppTenantId, MicrosoftAppPassword} once at startup and uses them, with no warning', async () => {
    secret({ MicrosoftAppId: APP, MicrosoftAppTenantId: TENANT, MicrosoftAppPassword: SECRET_VALUE });
    const config = await loadBotConfig({ ...production, JIT_BOT_CREDENTIALS_SECRET_ARN: ARN }, { secretsManager: client });
    assert.deepEqual(config.app, { id: APP, tenantId: TENANT, credential: { kind: 'secret', secret: SECRET_VALUE } });
    assert.equal(config.credentialSource, 'secrets-manager');
    assert.deepEqual(config.warnings, []);
    assert.equal(sm.commandCalls(GetSecretValueCommand).length, 1);
    assert.equal(sm.commandCalls(GetSecretValueCommand)[0]!.args[0].input.SecretId, ARN);
  });

  it('a plain MicrosoftAppPassword still works, with a warning in production and none in sandbox', async () => {
    const prod = await loadBotConfig({ ...production, MicrosoftAppId: APP, MicrosoftAppTenantId: TENANT, MicrosoftAppPassword: SECRET_VALUE });
    assert.equal(prod.credentialSource, 'env');
    assert.equal(prod.warnings.length, 1);
    assert.match(prod.warnings[0]!, /MicrosoftAppPassword comes from a plain environment variable: that is for local development only.*JIT_BOT_CREDENTIALS_SECRET_ARN/);
    const sandbox = await loadBotConfig({ ...production, JIT_BOT_MODE: 'sandbox', JIT_BOT_STORE: 'memory', MicrosoftAppId: APP, MicrosoftAppTenantId: TENANT, MicrosoftAppPassword: SECRET_VALUE });
    assert.deepEqual(sandbox.warnings, []);
    assert.equal(sm.commandCalls(GetSecretValueCommand).length, 0, 'no ARN, no call');
  });

  it('the secret wins over an environment password, which is reported as ignored', async () => {
    secret({ MicrosoftAppId: APP, MicrosoftAppTenantId: TENANT, MicrosoftAppPassword: SECRET_VALUE });
    const config = await loadBotConfig({ ...production, JIT_BOT_CREDENTIALS_SECRET_ARN: ARN, MicrosoftAppPassword: 'old' }, { secretsManager: client });
    assert.equal(config.app?.credential.kind === 'secret' && config.app.credential.secret, SECRET_VALUE);
    assert.match(config.warnings.join(' '), /MicrosoftAppPassword in the environment is ignored/);
  });

  it('refuses a malformed secret with a clear error naming the field, never the value', async () => {
    const env = { ...production, JIT_BOT_CREDENTIALS_SECRET_ARN: ARN };
    secret(`not json ${SECRET_VALUE}`);
    await refused(env, /secret arn:aws:secretsmanager:.* is not JSON/, /MicrosoftAppPassword/);
    sm.reset();
    secret({ MicrosoftAppId: APP, MicrosoftAppTenantId: TENANT });
    await refused(env, /is malformed: MicrosoftAppPassword is missing/);
    sm.reset();
    secret({ MicrosoftAppId: 'bot', MicrosoftAppTenantId: TENANT, MicrosoftAppPassword: SECRET_VALUE });
    await refused(env, /MicrosoftAppId must be the bot's app \(client\) id/);
    sm.reset();
    secret({ MicrosoftAppId: APP, MicrosoftAppTenantId: TENANT, MicrosoftAppPasword: SECRET_VALUE, MicrosoftAppPassword: SECRET_VALUE });
    await refused(env, /unknown field\(s\) MicrosoftAppPasword/);
    sm.reset();
    sm.on(GetSecretValueCommand).resolves({ ARN, SecretBinary: new Uint8Array([1, 2]) });
    await refused(env, /has no string value/);
  });

  it('refuses an unreadable secret, a bad ARN and an app id that differs from the environment', async () => {
    sm.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'Secrets Manager can\'t find the specified secret.', $metadata: {} }));
    await refused({ ...production, JIT_BOT_CREDENTIALS_SECRET_ARN: ARN }, /could not be read: ResourceNotFoundException/, /secretsmanager:GetSecretValue/);
    await refused({ ...production, JIT_BOT_CREDENTIALS_SECRET_ARN: 'jit-access-prod/bot-credentials' }, /JIT_BOT_CREDENTIALS_SECRET_ARN must be a Secrets Manager secret ARN/);
    sm.reset();
    secret({ MicrosoftAppId: APP, MicrosoftAppTenantId: TENANT, MicrosoftAppPassword: SECRET_VALUE });
    await refused({ ...production, JIT_BOT_CREDENTIALS_SECRET_ARN: ARN, MicrosoftAppId: '00000000-0000-0000-0000-0000000000ff' }, /MicrosoftAppId in the environment differs from MicrosoftAppId in the secret/);
  });

  it('without the ARN the environment is used as is', async () => {
    const r = await resolveBotEnvironment({ a: 'b' }, { secretsManager: client });
    assert.deepEqual(r, { env: { a: 'b' }, credentialsFromSecret: false, warnings: [] });
  });
});
