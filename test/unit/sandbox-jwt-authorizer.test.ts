/**
 * The sandbox's stand-ins for Entra (the local issuer) and for the HTTP API's JWT authorizer:
 * the issuer mints exactly the shape of an Entra v2 app-only token, and the authorizer admits
 * exactly what API Gateway's authorizer admits (kid + RSA signature, iss, aud, exp, nbf, iat).
 * Claims API Gateway does not check (ver, azp, roles, tid) are the bridge's job: see
 * test/unit/lambdas-bridge.test.ts "the Entra v2 token".
 */
import { strict as assert } from 'node:assert';
import { SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import { BRIDGE_APP_ROLE, createJwtAuthorizer, createLocalIssuer, SANDBOX_BRIDGE_AUDIENCE } from '../../sandbox/jwt-authorizer';

const TENANT = '00000000-0000-0000-0000-000000000001';
const ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;
const AUDIENCE = '00000000-0000-4000-8000-0000000b71d6';
const BOT = '00000000-0000-4000-8000-00000000b07b';

describe('sandbox JWT authorizer (what the HTTP API authorizer admits)', () => {
  let issuer: Awaited<ReturnType<typeof createLocalIssuer>>;
  let authorize: ReturnType<typeof createJwtAuthorizer>;
  before(async () => {
    issuer = await createLocalIssuer({ tenantId: TENANT, audience: AUDIENCE });
    authorize = createJwtAuthorizer({ issuer: ISSUER, audience: AUDIENCE, jwks: issuer.jwks });
  });

  it('mints exactly the shape of an Entra v2 app-only access token (iss v2 of the tenant, aud = client id, azp, roles, tid, oid, ver 2.0, iat/nbf/exp)', async () => {
    const token = await issuer.mint({ appId: BOT });
    const claims = decodeJwt(token);
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.aud, AUDIENCE);
    assert.equal(claims.azp, BOT);
    assert.equal(claims.appid, undefined, 'v2 tokens carry azp, not appid');
    assert.deepEqual(claims.roles, [BRIDGE_APP_ROLE]);
    assert.equal(claims.tid, TENANT);
    assert.match(String(claims.oid), /^[0-9a-f-]{36}$/);
    assert.equal(claims.sub, claims.oid, 'app-only: the subject is the service principal');
    assert.equal(claims.ver, '2.0');
    assert.equal(claims.scp, undefined, 'app-only tokens carry roles, never scp');
    const now = Math.floor(Date.now() / 1000);
    assert.ok(claims.iat! <= now && claims.nbf! <= now && claims.exp! > now);
    assert.equal(claims.exp! - claims.iat!, 3600);
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'RS256');
    assert.equal(header.kid, issuer.jwks.keys[0]!.kid);
    assert.equal(SANDBOX_BRIDGE_AUDIENCE.length, 36);
  });

  it('admits a fresh token from the issuer for the bridge audience, with the bot as caller', async () => {
    const r = await authorize(`Bearer ${await issuer.mint({ appId: BOT })}`);
    assert.ok(r.ok);
    assert.equal(r.ok && r.claims.azp, BOT);
    assert.equal(r.ok && r.claims.tid, TENANT);
  });

  it('refuses a v1-shaped token (iss https://sts.windows.net/<tid>/, ver 1.0, appid without azp): its issuer is not the configured one', async () => {
    const v1 = await issuer.mint({ appId: BOT, version: '1.0' });
    const claims = decodeJwt(v1);
    assert.equal(claims.iss, `https://sts.windows.net/${TENANT}/`);
    assert.equal(claims.ver, '1.0');
    assert.equal(claims.appid, BOT);
    assert.equal(claims.azp, undefined);
    assert.deepEqual(await authorize(`Bearer ${v1}`), { ok: false, reason: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  });

  it('refuses a token whose aud is the api:// Application ID URI, and cannot even be configured with one', async () => {
    const uriAudience = await issuer.mint({ appId: BOT, audience: 'api://jit-bridge' });
    assert.deepEqual(await authorize(`Bearer ${uriAudience}`), { ok: false, reason: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
    assert.throws(() => createJwtAuthorizer({ issuer: ISSUER, audience: 'api://jit-bridge', jwks: issuer.jwks }), /client id \(a GUID\), not api:\/\/jit-bridge: Entra v2 tokens carry the client id in aud/);
    assert.throws(() => createJwtAuthorizer({ issuer: `https://sts.windows.net/${TENANT}/`, audience: AUDIENCE, jwks: issuer.jwks }), /v2 issuer/);
  });

  it('refuses an expired token', async () => {
    const r = await authorize(`Bearer ${await issuer.mint({ appId: BOT, expiresInSeconds: -60 })}`);
    assert.deepEqual(r, { ok: false, reason: 'ERR_JWT_EXPIRED' });
  });

  it('refuses a token that is not valid yet', async () => {
    const r = await authorize(`Bearer ${await issuer.mint({ appId: BOT, notBefore: Math.floor(Date.now() / 1000) + 600 })}`);
    assert.equal(r.ok, false);
  });

  it('refuses a token issued in the future (API Gateway: iat must be before the current time)', async () => {
    const { privateKey, publicJwk } = await trustedPair();
    const check = createJwtAuthorizer({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [publicJwk] } });
    const future = Math.floor(Date.now() / 1000) + 600;
    const token = await new SignJWT({ azp: BOT, tid: TENANT, ver: '2.0' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt(future).setExpirationTime(future + 3600).sign(privateKey);
    assert.deepEqual(await check(`Bearer ${token}`), { ok: false, reason: 'ERR_JWT_IAT_IN_FUTURE' });
  });

  it('refuses a token without kid (API Gateway matches kid against the issuer keys)', async () => {
    const { privateKey, publicJwk } = await trustedPair();
    const check = createJwtAuthorizer({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [publicJwk] } });
    const token = await new SignJWT({ azp: BOT }).setProtectedHeader({ alg: 'RS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('1h').sign(privateKey);
    assert.deepEqual(await check(`Bearer ${token}`), { ok: false, reason: 'ERR_JWT_KID_MISSING' });
  });

  it('refuses another issuer (another tenant) and another audience', async () => {
    const other = await createLocalIssuer({ tenantId: '00000000-0000-0000-0000-000000000002', audience: AUDIENCE });
    const wrongIssuer = createJwtAuthorizer({ issuer: ISSUER, audience: AUDIENCE, jwks: other.jwks });
    assert.deepEqual(await wrongIssuer(`Bearer ${await other.mint({ appId: BOT })}`), { ok: false, reason: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
    const otherAudience = await createLocalIssuer({ tenantId: TENANT, audience: '00000000-0000-4000-8000-000000000bad' });
    const check = createJwtAuthorizer({ issuer: ISSUER, audience: AUDIENCE, jwks: otherAudience.jwks });
    assert.deepEqual(await check(`Bearer ${await otherAudience.mint({ appId: BOT })}`), { ok: false, reason: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  });

  it('refuses a token signed by a key that is not the issuer’s', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ azp: BOT, tid: TENANT }).setProtectedHeader({ alg: 'RS256', kid: 'sandbox-1' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('1h').sign(privateKey);
    assert.deepEqual(await authorize(`Bearer ${forged}`), { ok: false, reason: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it('refuses alg: none', async () => {
    const unsigned = new UnsecuredJWT({ azp: BOT, tid: TENANT }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('1h').encode();
    const r = await authorize(`Bearer ${unsigned}`);
    assert.equal(r.ok, false);
  });

  it('refuses HMAC tokens (the public key used as a shared secret)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(issuer.jwks.keys[0]));
    const hs = await new SignJWT({ azp: BOT }).setProtectedHeader({ alg: 'HS256', kid: 'sandbox-1' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('1h').sign(secret);
    assert.equal((await authorize(`Bearer ${hs}`)).ok, false);
  });

  it('refuses a tampered payload', async () => {
    const token = await issuer.mint({ appId: BOT });
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const tampered = Buffer.from(JSON.stringify({ ...claims, azp: 'someone-else' })).toString('base64url');
    assert.deepEqual(await authorize(`Bearer ${h}.${tampered}.${s}`), { ok: false, reason: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it('refuses a missing or malformed Authorization header', async () => {
    for (const header of [undefined, '', 'Basic abc', 'Bearer', 'Bearer not-a-jwt', `bearer ${'a'.repeat(10)}`]) {
      assert.deepEqual(await authorize(header), { ok: false, reason: 'missing bearer token' }, String(header));
    }
  });
});

async function trustedPair(): Promise<{ privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; publicJwk: JWK }> {
  const pair = await generateKeyPair('RS256', { extractable: true });
  return { privateKey: pair.privateKey, publicJwk: { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' } };
}
