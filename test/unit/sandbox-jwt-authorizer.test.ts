import { strict as assert } from 'node:assert';
import { SignJWT, UnsecuredJWT, generateKeyPair } from 'jose';
import { createJwtAuthorizer, createLocalIssuer } from '../../sandbox/jwt-authorizer';

const ISSUER = 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0';
const AUDIENCE = 'api://jit-bridge-sandbox';
const BOT = '00000000-0000-4000-8000-00000000b07b';
const TENANT = '00000000-0000-0000-0000-000000000001';

describe('sandbox JWT authorizer (what the HTTP API authorizer admits)', () => {
  let issuer: Awaited<ReturnType<typeof createLocalIssuer>>;
  let authorize: ReturnType<typeof createJwtAuthorizer>;
  before(async () => {
    issuer = await createLocalIssuer({ issuer: ISSUER, audience: AUDIENCE });
    authorize = createJwtAuthorizer({ issuer: ISSUER, audience: AUDIENCE, jwks: issuer.jwks });
  });

  it('admits a fresh token from the issuer for the bridge audience, with the bot as caller', async () => {
    const r = await authorize(`Bearer ${await issuer.mint({ appId: BOT, tenantId: TENANT })}`);
    assert.ok(r.ok);
    assert.equal(r.ok && r.claims.azp, BOT);
    assert.equal(r.ok && r.claims.tid, TENANT);
  });

  it('refuses an expired token', async () => {
    const r = await authorize(`Bearer ${await issuer.mint({ appId: BOT, tenantId: TENANT, expiresInSeconds: -60 })}`);
    assert.deepEqual(r, { ok: false, reason: 'ERR_JWT_EXPIRED' });
  });

  it('refuses a token that is not valid yet', async () => {
    const r = await authorize(`Bearer ${await issuer.mint({ appId: BOT, tenantId: TENANT, notBefore: Math.floor(Date.now() / 1000) + 600 })}`);
    assert.equal(r.ok, false);
  });

  it('refuses another issuer and another audience', async () => {
    const other = await createLocalIssuer({ issuer: 'https://evil.example/v2.0', audience: AUDIENCE });
    const wrongIssuer = createJwtAuthorizer({ issuer: ISSUER, audience: AUDIENCE, jwks: other.jwks });
    assert.deepEqual(await wrongIssuer(`Bearer ${await other.mint({ appId: BOT, tenantId: TENANT })}`), { ok: false, reason: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
    const otherAudience = await createLocalIssuer({ issuer: ISSUER, audience: 'api://something-else' });
    const check = createJwtAuthorizer({ issuer: ISSUER, audience: AUDIENCE, jwks: otherAudience.jwks });
    assert.deepEqual(await check(`Bearer ${await otherAudience.mint({ appId: BOT, tenantId: TENANT })}`), { ok: false, reason: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
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
    const token = await issuer.mint({ appId: BOT, tenantId: TENANT });
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
