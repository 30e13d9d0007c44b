/**
 * The API Gateway JWT authorizer, locally: the sandbox's bridge server admits a request only with a
 * bearer token that API Gateway itself would admit (signature from the issuer's keys, issuer,
 * audience, expiry, not-before), so the bot's bridge client is exercised with real tokens. The
 * sandbox plays Entra with a local signing key; in AWS the HTTP API's authorizer does this job.
 */
import { SignJWT, exportJWK, generateKeyPair, jwtVerify, createLocalJWKSet, type JWK, type JWTPayload } from 'jose';

export interface LocalIssuer {
  issuer: string;
  audience: string;
  jwks: { keys: JWK[] };
  /** Mints an app-only token like Entra's client-credentials flow (`azp`/`appid` = the bot's app id). */
  mint(claims: { appId: string; tenantId: string; expiresInSeconds?: number; notBefore?: number }): Promise<string>;
}

export async function createLocalIssuer(options: { issuer: string; audience: string }): Promise<LocalIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'sandbox-1', alg: 'RS256', use: 'sig' };
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
