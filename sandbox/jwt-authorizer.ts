/**
 * The API Gateway JWT authorizer, locally: the sandbox's bridge server admits a request only with a
 * bearer token that API Gateway itself would admit (signature from the issuer's keys, issuer,
 * audience, expiry, not-before), so the bot's bridge client is exercised with real tokens. The
 * sandbox plays Entra with a local signing key; in AWS the HTTP API's authorizer does this job.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, createLocalJWKSet, type JWK, type JWTPayload } from 'jose';

/** The sandbox's stand-in for the Entra issuer and the bridge's Application ID URI. */
export const SANDBOX_BRIDGE_ISSUER = 'https://sandbox.example.com/entra/v2.0';
export const SANDBOX_BRIDGE_AUDIENCE = 'api://jit-access-sandbox-bridge';
/** Where the sandbox keeps its signing key, in its data folder, so that other processes (act.ts, tests) can get tokens. */
export const SANDBOX_ISSUER_KEY_FILE = 'bridge-issuer-key.json';
/** The sandbox bot's Entra app id (placeholder): the only `azp` the bridge accepts. */
export const SANDBOX_BOT_APP_ID = '00000000-0000-4000-8000-00000000b07a';

export interface LocalIssuer {
  issuer: string;
  audience: string;
  jwks: { keys: JWK[] };
  /** Mints an app-only token like Entra's client-credentials flow (`azp`/`appid` = the bot's app id). */
  mint(claims: { appId: string; tenantId: string; expiresInSeconds?: number; notBefore?: number }): Promise<string>;
}

export async function createLocalIssuer(options: { issuer: string; audience: string; keyFile?: string; create?: boolean }): Promise<LocalIssuer> {
  let privateJwk: JWK;
  if (options.keyFile && existsSync(options.keyFile)) {
    privateJwk = JSON.parse(readFileSync(options.keyFile, 'utf8')) as JWK;
  } else {
    if (options.keyFile && options.create === false) throw new Error(`No sandbox signing key at ${options.keyFile}: start the sandbox (npm start) first.`);
    const pair = await generateKeyPair('RS256', { extractable: true });
    privateJwk = await exportJWK(pair.privateKey);
    if (options.keyFile) {
      mkdirSync(dirname(options.keyFile), { recursive: true });
      writeFileSync(options.keyFile, JSON.stringify(privateJwk), { mode: 0o600 });
    }
  }
  const privateKey = await importJWK(privateJwk, 'RS256');
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
  const jwk = { ...publicJwk, kid: 'sandbox-1', alg: 'RS256', use: 'sig' };
  return {
    issuer: options.issuer,
    audience: options.audience,
    jwks: { keys: [jwk] },
    async mint({ appId, tenantId, expiresInSeconds = 3600, notBefore }) {
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ azp: appId, appid: appId, tid: tenantId, roles: ['Bridge.Invoke'] })
        .setProtectedHeader({ alg: 'RS256', kid: 'sandbox-1', typ: 'JWT' })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setIssuedAt(now)
        .setExpirationTime(now + expiresInSeconds);
      if (notBefore !== undefined) jwt.setNotBefore(notBefore);
      return jwt.sign(privateKey);
    },
  };
}

export type AuthorizerResult = { ok: true; claims: JWTPayload } | { ok: false; reason: string };

/**
 * Checks `Authorization: Bearer <jwt>` as the HTTP API's JWT authorizer does. Only RS256 from the
 * issuer's key set is accepted: `alg: none`, HMAC with the public key as secret, and foreign keys
 * fail the signature check.
 */
export function createJwtAuthorizer(options: { issuer: string; audience: string; jwks: { keys: JWK[] }; clockToleranceSeconds?: number }) {
  const keys = createLocalJWKSet(options.jwks);
  return async (authorization: string | undefined): Promise<AuthorizerResult> => {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/.exec(authorization ?? '');
    if (!match) return { ok: false, reason: 'missing bearer token' };
    try {
      const { payload } = await jwtVerify(match[1]!, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ['RS256'],
        clockTolerance: options.clockToleranceSeconds ?? 0,
        requiredClaims: ['exp', 'iss', 'aud'],
      });
      return { ok: true, claims: payload };
    } catch (e) {
      return { ok: false, reason: (e as { code?: string }).code ?? 'invalid token' };
    }
  };
}

/** A bearer token for the sandbox bridge, as the bot gets one (for act.ts and tests that call the bridge directly). */
export async function sandboxBridgeToken(keyFile: string, claims: { appId: string; tenantId: string }): Promise<string> {
  const issuer = await createLocalIssuer({ issuer: SANDBOX_BRIDGE_ISSUER, audience: SANDBOX_BRIDGE_AUDIENCE, keyFile, create: false });
  return issuer.mint(claims);
}
