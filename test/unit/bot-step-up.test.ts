/**
 * bot/step-up.ts: the Teams SSO token check (against the local issuer that plays Entra), the
 * loginRequest invoke answer, and the SSO settings in bot/config.ts.
 */
import { strict as assert } from 'node:assert';
import { SignJWT, generateKeyPair } from 'jose';
import { BotConfigError, parseBotConfig } from '../../bot/config';
import { LOGIN_REQUEST_TYPE, StepUpTokenError, StepUpVerifier, TEAMS_CLIENT_IDS, authenticationToken, loginRequestResponse } from '../../bot/step-up';
import { SANDBOX_BOT_APP_ID, SANDBOX_BRIDGE_AUDIENCE, SANDBOX_SSO_APPLICATION_ID_URI, TEAMS_DESKTOP_CLIENT_ID, createLocalIssuer, type LocalIssuer } from '../../sandbox/jwt-authorizer';

const TENANT = '00000000-0000-0000-0000-000000000000';
const OTHER_TENANT = '99999999-9999-9999-9999-999999999999';
const CAROL = '00000000-0000-4000-8000-0000000ca201';
const DAN = '00000000-0000-4000-8000-0000000da401';

const env = (over: Record<string, string | undefined> = {}) => ({
  JIT_BOT_MODE: 'test',
  JIT_ALLOWED_TENANT_IDS: TENANT,
  JIT_BRIDGE_URL: 'http://127.0.0.1:1',
  JIT_NOTIFY_SECRET: 'test-notify-secret-0123456789-abcdefghij',
  JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
  JIT_ONCALL_CHANNEL_ID: '19:oncall@thread.tacv2',
  JIT_SSO_CONNECTION_NAME: 'jit-sso',
  JIT_SSO_APPLICATION_ID_URI: SANDBOX_SSO_APPLICATION_ID_URI,
  ...over,
});

describe('bot step-up: Teams SSO token check', () => {
  let issuer: LocalIssuer;
  let verifier: StepUpVerifier;
  const now = () => Date.now();

  before(async () => {
    issuer = await createLocalIssuer({ tenantId: TENANT, audience: SANDBOX_BRIDGE_AUDIENCE });
    verifier = new StepUpVerifier(parseBotConfig(env()).sso!, now, issuer.jwks);
  });

  const refused = async (token: string, user = CAROL): Promise<string> => {
    try {
      await verifier.verify(token, { aadObjectId: user });
    } catch (e) {
      if (e instanceof StepUpTokenError) return e.message;
      throw e;
    }
    throw new Error('expected the token to be refused');
  };

  it('accepts a v1 token (iss sts.windows.net, aud the Application ID URI) with its amr, and a v2 token (aud the client id) without amr', async () => {
    const v1 = await verifier.verify(await issuer.mintUser({ oid: CAROL, mfa: true }), { aadObjectId: CAROL.toUpperCase() });
    assert.deepEqual({ ...v1, iat: 0 }, { oid: CAROL, tid: TENANT, acrs: [], amr: ['pwd', 'mfa'], iat: 0 });
    const v2 = await verifier.verify(await issuer.mintUser({ oid: CAROL, version: '2.0', acrs: ['c1'] }), { aadObjectId: CAROL });
    assert.deepEqual(v2.amr, [], 'Entra puts amr only in v1.0 access tokens');
    assert.deepEqual(v2.acrs, ['c1']);
  });

  it('refuses another user\'s token, another tenant\'s, a foreign key, a wrong or mismatched audience, an expired one and an app-only one', async () => {
    assert.match(await refused(await issuer.mintUser({ oid: DAN, mfa: true })), /belongs to another user/);
    assert.match(await refused(await issuer.mintUser({ oid: CAROL, mfa: true }), ''), /belongs to another user/, 'an activity without aadObjectId');
    assert.match(await refused(await issuer.mintUser({ oid: CAROL, tenantId: OTHER_TENANT })), /not issued by our Entra tenant/);
    const stranger = await createLocalIssuer({ tenantId: TENANT, audience: SANDBOX_BRIDGE_AUDIENCE });
    assert.match(await refused(await stranger.mintUser({ oid: CAROL, mfa: true })), /signature does not match/);
    assert.match(await refused(await issuer.mintUser({ oid: CAROL, audience: 'api://jit.example.com/botid-11111111-1111-4111-8111-111111111111' })), /issued for another application/);
    // A v2 token with the URI as audience is not what Entra issues: refused.
    assert.match(await refused(await issuer.mintUser({ oid: CAROL, version: '2.0', audience: SANDBOX_SSO_APPLICATION_ID_URI })), /audience does not match its v2 issuer/);
    assert.match(await refused(await issuer.mintUser({ oid: CAROL, issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 })), /expired/);
    assert.match(await refused(await issuer.mintUser({ oid: CAROL, scp: 'User.Read' })), /no access_as_user scope/);
    // The bridge's app-only token (the bot's own) is signed by the same issuer but is no user sign-in.
    assert.match(await refused(await issuer.mint({ appId: SANDBOX_BOT_APP_ID, audience: SANDBOX_BOT_APP_ID })), /no access_as_user scope/);
    assert.match(await refused('not-a-jwt'), /not a valid Entra token/);
  });

  it('refuses alg none and an HMAC token keyed with the public key', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ iss: `https://sts.windows.net/${TENANT}/`, aud: SANDBOX_SSO_APPLICATION_ID_URI, oid: CAROL, tid: TENANT, scp: 'access_as_user', amr: ['mfa'], iat: 1, exp: 9_999_999_999 })).toString('base64url');
    assert.match(await refused(`${header}.${body}.`), /not a valid Entra token/);
    const { privateKey } = await generateKeyPair('RS256');
    const rsWithoutKid = await new SignJWT({ oid: CAROL, tid: TENANT, scp: 'access_as_user' }).setProtectedHeader({ alg: 'RS256' }).setIssuer(`https://sts.windows.net/${TENANT}/`).setAudience(SANDBOX_SSO_APPLICATION_ID_URI).setIssuedAt().setExpirationTime('1h').sign(privateKey);
    assert.match(await refused(rsWithoutKid), /signature does not match|not a valid/);
  });

  it('reads only a string token from value.authentication', () => {
    assert.equal(authenticationToken({ authentication: { id: 'x', connectionName: 'jit-sso', token: 'a.b.c' } }), 'a.b.c');
    assert.equal(authenticationToken({ authentication: { token: 42 } }), undefined);
    assert.equal(authenticationToken({ action: {} }), undefined);
    assert.equal(authenticationToken(undefined), undefined);
  });

  it('builds the loginRequest Microsoft documents for Universal Actions SSO', () => {
    const sso = parseBotConfig(env()).sso!;
    const bare = loginRequestResponse(sso, 'Sign in again');
    assert.equal(bare.status, 401);
    const body = bare.body as { statusCode: number; type: string; value: { text: string; connectionName: string; tokenExchangeResource: { id: string; uri: string }; buttons: unknown[] } };
    assert.equal(body.statusCode, 401);
    assert.equal(body.type, LOGIN_REQUEST_TYPE);
    assert.equal(body.value.connectionName, 'jit-sso');
    assert.equal(body.value.tokenExchangeResource.uri, SANDBOX_SSO_APPLICATION_ID_URI);
    assert.match(body.value.tokenExchangeResource.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(body.value.buttons, []);
    const full = loginRequestResponse(sso, 'Sign in again', { signInLink: 'https://token.botframework.com/api/oauth/signin?signin=x', tokenExchangeResource: { id: 'tx-1', uri: SANDBOX_SSO_APPLICATION_ID_URI, providerId: 'p-1' } });
    assert.deepEqual((full.body as { value: unknown }).value, {
      text: 'Sign in again',
      connectionName: 'jit-sso',
      tokenExchangeResource: { id: 'tx-1', uri: SANDBOX_SSO_APPLICATION_ID_URI, providerId: 'p-1' },
      buttons: [{ title: 'Sign in', text: 'Sign in', type: 'signin', value: 'https://token.botframework.com/api/oauth/signin?signin=x' }],
    });
  });

  it('knows Microsoft\'s Teams client ids (desktop/mobile, web) that the app must pre-authorize', () => {
    assert.equal(TEAMS_CLIENT_IDS.desktopAndMobile, '1fec8e78-bce4-4aaf-ab1b-5451cc387264');
    assert.equal(TEAMS_CLIENT_IDS.web, '5e3ce6c0-2b1f-4285-8d4b-75ee78787346');
    assert.equal(TEAMS_DESKTOP_CLIENT_ID, TEAMS_CLIENT_IDS.desktopAndMobile);
  });
});

describe('bot config: Teams SSO settings', () => {
  const fails = (over: Record<string, string | undefined>): string => {
    try {
      parseBotConfig(env(over));
    } catch (e) {
      if (e instanceof BotConfigError) return e.message;
      throw e;
    }
    throw new Error('expected a config error');
  };

  it('derives the app id, both issuers and Entra\'s v2 key set from the Application ID URI and the tenant', () => {
    assert.deepEqual(parseBotConfig(env()).sso, {
      connectionName: 'jit-sso',
      applicationIdUri: SANDBOX_SSO_APPLICATION_ID_URI,
      appId: SANDBOX_BOT_APP_ID,
      tenantId: TENANT,
      issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
      issuerV1: `https://sts.windows.net/${TENANT}/`,
      jwksUrl: `https://login.microsoftonline.com/${TENANT}/discovery/v2.0/keys`,
    });
    assert.equal(parseBotConfig(env({ JIT_SSO_APPLICATION_ID_URI: `api://botid-${SANDBOX_BOT_APP_ID}` })).sso?.appId, SANDBOX_BOT_APP_ID);
    assert.equal(parseBotConfig(env({ JIT_SSO_CONNECTION_NAME: undefined, JIT_SSO_APPLICATION_ID_URI: undefined })).sso, undefined, 'SSO is optional');
  });

  it('refuses half a configuration, a URI Teams SSO does not accept, another app\'s URI and several tenants', () => {
    assert.match(fails({ JIT_SSO_APPLICATION_ID_URI: undefined }), /JIT_SSO_APPLICATION_ID_URI is not set \(JIT_SSO_CONNECTION_NAME is: SSO needs both\)/);
    assert.match(fails({ JIT_SSO_CONNECTION_NAME: undefined }), /JIT_SSO_CONNECTION_NAME is not set/);
    for (const bad of [`api://${SANDBOX_BOT_APP_ID}`, `https://jit.example.com/botid-${SANDBOX_BOT_APP_ID}`, 'api://jit.example.com/botid-nope']) {
      assert.match(fails({ JIT_SSO_APPLICATION_ID_URI: bad }), /JIT_SSO_APPLICATION_ID_URI must be the bot app's Application ID URI/, bad);
    }
    assert.match(fails({ JIT_SSO_JWKS_URL: 'http://keys.example.com' }), /JIT_SSO_JWKS_URL must be an https URL/);
    assert.match(fails({ JIT_SSO_CONNECTION_NAME: undefined, JIT_SSO_APPLICATION_ID_URI: undefined, JIT_SSO_JWKS_URL: 'https://keys.example.com/keys' }), /JIT_SSO_JWKS_URL is set but SSO is not/);
    assert.match(fails({ JIT_ALLOWED_TENANT_IDS: `${TENANT},${OTHER_TENANT}` }), /SSO needs one tenant/);
    assert.match(
      fails({ MicrosoftAppId: '11111111-1111-4111-8111-111111111111', MicrosoftAppType: 'SingleTenant', MicrosoftAppTenantId: TENANT, MicrosoftAppPassword: 'x' }),
      /names the app 00000000-0000-4000-8000-00000000b07a, not the bot's MicrosoftAppId/,
    );
  });
});
