import { strict as assert } from 'node:assert';
import { BotConfigError, parseBotConfig } from '../../bot/config';

const GUID_A = '00000000-0000-0000-0000-00000000000a';
const TENANT = '00000000-0000-0000-0000-000000000001';
const SECRET = 'x'.repeat(32);

const base = {
  JIT_ALLOWED_TENANT_IDS: TENANT,
  JIT_BRIDGE_URL: 'https://bridge.example.com/prod/',
  JIT_NOTIFY_SECRET: SECRET,
  JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
  JIT_ONCALL_CHANNEL_ID: '19:oncall@thread.tacv2',
};
const production = {
  ...base,
  MicrosoftAppId: GUID_A,
  MicrosoftAppPassword: 'app-secret',
  MicrosoftAppType: 'SingleTenant',
  MicrosoftAppTenantId: TENANT,
  JIT_BRIDGE_SCOPE: 'api://00000000-0000-0000-0000-00000000000b/.default',
  JIT_BOT_STORE_TABLE: 'jit-bot-store',
};

function throwsNaming(env: Record<string, string | undefined>, ...names: string[]) {
  assert.throws(
    () => parseBotConfig(env),
    (e: unknown) => {
      assert.ok(e instanceof BotConfigError, String(e));
      for (const n of names) assert.match(e.message, new RegExp(n), `expected ${n} in: ${e.message}`);
      return true;
    },
  );
}

describe('bot config', () => {
  it('defaults to production with authentication on when JIT_BOT_MODE is absent', () => {
    const c = parseBotConfig(production);
    assert.equal(c.mode, 'production');
    assert.equal(c.authenticationEnabled, true);
    assert.deepEqual(c.app, { id: GUID_A, tenantId: TENANT, credential: { kind: 'secret', secret: 'app-secret' } });
    assert.equal(c.bridge.baseUrl, 'https://bridge.example.com/prod');
    assert.equal(c.bridge.timeoutMs, 8000);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 3978);
    assert.deepEqual(c.store, { kind: 'dynamodb', file: undefined, table: 'jit-bot-store' });
  });

  it('refuses production without the single-tenant registration, naming each variable', () => {
    throwsNaming(base, 'MicrosoftAppId is not set', 'MicrosoftAppType must be SingleTenant', 'MicrosoftAppTenantId is not set', 'MicrosoftAppPassword is not set', 'JIT_BRIDGE_SCOPE');
    throwsNaming({ ...production, MicrosoftAppType: 'MultiTenant' }, 'MicrosoftAppType must be SingleTenant');
    throwsNaming({ ...production, JIT_BRIDGE_URL: 'http://bridge.example.com' }, 'JIT_BRIDGE_URL must be https');
    throwsNaming({ ...production, JIT_BOT_STORE: 'memory' }, 'JIT_BOT_STORE=memory');
  });

  it('JIT_BRIDGE_SCOPE accepts every Application ID URI form Entra allows (and the bare client id) with /.default, and refuses malformed scopes', () => {
    for (const scope of [
      'api://00000000-0000-0000-0000-00000000000b/.default',
      `api://${TENANT}/jit-bridge/.default`,
      'api://jit-bridge/00000000-0000-0000-0000-00000000000b/.default',
      'https://contoso.example.com/jit-bridge/.default',
      'https://jit-bridge.contoso.example.com/.default',
      'https://contoso.onmicrosoft.com/jit-bridge/.default',
      '00000000-0000-0000-0000-00000000000b/.default',
    ]) {
      assert.equal(parseBotConfig({ ...production, JIT_BRIDGE_SCOPE: scope }).bridge.scope, scope, scope);
    }
    for (const scope of [
      'api://00000000-0000-0000-0000-00000000000b',
      'api://00000000-0000-0000-0000-00000000000b/user_impersonation',
      'api:///.default',
      'http://contoso.example.com/jit-bridge/.default',
      'https://contoso.example.com/jit-bridge?x=1/.default',
      'https://contoso.example.com/*/.default',
      'api://jit bridge/.default',
      'jit-bridge/.default',
      '.default',
    ]) {
      throwsNaming({ ...production, JIT_BRIDGE_SCOPE: scope }, 'JIT_BRIDGE_SCOPE must be the bridge app\'s Application ID URI or client id followed by /.default');
    }
  });

  it('JIT_ONCALL_TEAM_ID must be a Bot Framework team id (19:...@thread.tacv2 or legacy @thread.skype); a Graph group GUID is refused with how to find the right value', () => {
    for (const id of ['19:abcDEF0123456789abcdef0123456789@thread.tacv2', '19:0123456789abcdef@thread.skype']) {
      assert.equal(parseBotConfig({ ...production, JIT_ONCALL_TEAM_ID: id }).oncall.teamId, id);
    }
    throwsNaming({ ...production, JIT_ONCALL_TEAM_ID: '00000000-0000-4000-8000-0000000000ff' }, "JIT_ONCALL_TEAM_ID is a GUID: that is the team's Microsoft 365 group id \\(Graph\\), not its Bot Framework team id", 'Get link to team', 'internalId');
    for (const id of ['team', '19:team', '19:team@thread.v2', '19:a b@thread.tacv2', 'https://teams.microsoft.com/l/team/19%3aabc%40thread.tacv2/conversations']) {
      throwsNaming({ ...production, JIT_ONCALL_TEAM_ID: id }, 'JIT_ONCALL_TEAM_ID must be a Bot Framework team id \\(19:...@thread.tacv2');
    }
  });

  it('a misspelled mode is an error, never a silent switch to no authentication', () => {
    throwsNaming({ ...production, JIT_BOT_MODE: 'sandbx' }, 'JIT_BOT_MODE');
    throwsNaming({ ...production, JIT_BOT_MODE: '' }, 'JIT_BOT_MODE');
  });

  it('accepts a certificate instead of a password', () => {
    const { MicrosoftAppPassword: _p, ...noPassword } = production;
    const c = parseBotConfig({ ...noPassword, CertificateThumbprint: 'AB'.repeat(20), CertificatePrivateKey: '-----BEGIN PRIVATE KEY-----x' });
    assert.equal(c.app?.credential.kind, 'certificate');
  });

  it('sandbox and test mode turn authentication off only when set explicitly', () => {
    const s = parseBotConfig({ ...base, JIT_BOT_MODE: 'sandbox', JIT_BOT_STORE_FILE: '/tmp/x.json', JIT_BRIDGE_URL: 'http://127.0.0.1:4000' });
    assert.equal(s.authenticationEnabled, false);
    assert.equal(s.app, undefined);
    assert.equal(s.store.kind, 'file');
    const t = parseBotConfig({ ...base, JIT_BOT_MODE: 'test' });
    assert.equal(t.authenticationEnabled, false);
    assert.equal(t.store.kind, 'memory');
  });

  it('validates secrets, tenants, channel ids and the bridge deadline', () => {
    throwsNaming({ ...production, JIT_NOTIFY_SECRET: 'short' }, 'JIT_NOTIFY_SECRET must be at least 32 bytes');
    throwsNaming({ ...production, JIT_ALLOWED_TENANT_IDS: 'contoso' }, 'JIT_ALLOWED_TENANT_IDS');
    throwsNaming({ ...production, JIT_ALLOWED_TENANT_IDS: ' , ' }, 'JIT_ALLOWED_TENANT_IDS');
    throwsNaming({ ...production, JIT_ONCALL_CHANNEL_ID: 'general' }, 'JIT_ONCALL_CHANNEL_ID');
    throwsNaming({ ...production, JIT_BRIDGE_TIMEOUT_MS: '20000' }, 'JIT_BRIDGE_TIMEOUT_MS');
    throwsNaming({ ...production, JIT_NOTIFY_SECRET: undefined }, 'JIT_NOTIFY_SECRET is not set');
    const multi = parseBotConfig({ ...production, JIT_ALLOWED_TENANT_IDS: `${TENANT.toUpperCase()}, ${GUID_A}` });
    assert.deepEqual(multi.allowedTenantIds, [TENANT, GUID_A]);
  });
});
