/**
 * Entra and the API Gateway JWT authorizer, locally.
 *
 * The issuer: the sandbox plays Entra with a local RS256 key and mints tokens shaped exactly like
 * the app-only (client-credentials) access tokens Entra issues for an API whose manifest sets
 * `accessTokenAcceptedVersion: 2`:
 *   iss `https://login.microsoftonline.com/<tid>/v2.0`, aud = the API app's client id (a GUID,
 *   never its `api://` Application ID URI), azp = the calling app's client id, roles = the app
 *   roles granted to it, tid, oid/sub = the caller's service principal, ver "2.0", iat/nbf/exp.
 *   Source: Microsoft identity platform, "Access token claims reference"
 *   (https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference):
 *   `aud` "v2.0 tokens always use the client ID of the API", `iss` ends in /v2.0 for v2 tokens,
 *   `azp` replaces v1's `appid`, `ver` is "1.0" or "2.0"; v1 tokens have
 *   `iss https://sts.windows.net/<tid>/`.
 *
 * The authorizer: admits a request only with a bearer token the HTTP API's JWT authorizer would
 * admit, and checks exactly what that authorizer checks, no more and no less: a `kid` from the
 * issuer's key set and an RSA signature, `iss` equal to the configured issuer, `aud` one of the
 * configured audiences, `exp` after now, `nbf` and `iat` before now (scopes only when a route
 * configures them; ours do not). Source: Amazon API Gateway developer guide, "Control access to
 * HTTP APIs with JWT authorizers" (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).
 * The claims it does NOT check (ver, azp, roles, tid) are checked by the bridge function itself
 * (lambdas/bridge/handler.ts `checkCaller`), in the sandbox and in AWS alike.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, createLocalJWKSet, decodeProtectedHeader, type JWK, type JWTPayload } from 'jose';
import { BRIDGE_APP_ROLE, entraV2Issuer } from '../lambdas/bridge/handler';

export { BRIDGE_APP_ROLE, entraV2Issuer } from '../lambdas/bridge/handler';

/** The sandbox bridge app registration's client id (placeholder): the `aud` of every sandbox token. */
export const SANDBOX_BRIDGE_AUDIENCE = '00000000-0000-4000-8000-0000000b71d6';
/** Where the sandbox keeps its signing key, in its data folder, so that other processes (act.ts, tests) can get tokens. */
export const SANDBOX_ISSUER_KEY_FILE = 'bridge-issuer-key.json';
/** The sandbox bot's Entra app id (placeholder): the only `azp` the bridge accepts. */
export const SANDBOX_BOT_APP_ID = '00000000-0000-4000-8000-00000000b07a';
/** The object id of the sandbox bot's service principal (the `oid`/`sub` of its app-only tokens). */
export const SANDBOX_BOT_SP_OBJECT_ID = '00000000-0000-4000-8000-0000000005b0';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface MintOptions {
  /** The calling app's client id (`azp`; `appid` on a v1 token). */
  appId: string;
  /** Default: the issuer's tenant. */
  tenantId?: string;
  expiresInSeconds?: number;
  notBefore?: number;
  /** "1.0" mints what Entra issues for an API left at `accessTokenAcceptedVersion: null/1` (for refusal tests). */
  version?: '1.0' | '2.0';
  /** Default: the issuer's audience. Tests pass `api://...` to prove it is refused. */
  audience?: string;
  /** Default: [BRIDGE_APP_ROLE]. */
  roles?: string[];
}

/**
 * The sandbox bot's Teams SSO resource (placeholders): the Application ID URI Teams SSO requires,
 * `api://<domain>/botid-<bot app id>` ("Configure bot app in Microsoft Entra ID",
 * https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/authentication/bot-sso-register-aad).
 */
export const SANDBOX_SSO_APPLICATION_ID_URI = `api://jit.example.com/botid-${SANDBOX_BOT_APP_ID}`;
export const SANDBOX_SSO_CONNECTION_NAME = 'jit-sso';
/** Microsoft's Teams desktop/mobile client: the `azp` of the SSO tokens Teams obtains for a bot. */
export const TEAMS_DESKTOP_CLIENT_ID = '1fec8e78-bce4-4aaf-ab1b-5451cc387264';

export interface UserTokenOptions {
  /** The signed-in user's Entra object id. */
  oid: string;
  /** Default: the issuer's tenant. */
  tenantId?: string;
  /** The sign-in used MFA (v1 tokens: `amr` holds "mfa"). */
  mfa?: boolean;
  /** Authentication context ids the sign-in satisfied (`acrs`). */
  acrs?: string[];
  /** Seconds since the epoch; default now. */
  issuedAt?: number;
  expiresInSeconds?: number;
  /**
   * "1.0" (default; an app registration left at accessTokenAcceptedVersion null, as Teams SSO
   * samples are): iss sts.windows.net, aud the Application ID URI, with `amr`. "2.0": iss the v2
   * issuer, aud the app's client id, and NO `amr`: Entra puts it only in v1.0 access tokens.
   */
  version?: '1.0' | '2.0';
  /** Default: the bot's SSO resource for the version. Tests pass another to prove it is refused. */
  audience?: string;
  /** Default "access_as_user". */
  scp?: string;
}

export interface LocalIssuer {
  issuer: string;
  tenantId: string;
  audience: string;
  jwks: { keys: JWK[] };
  /** Mints an app-only token like Entra's client-credentials flow. */
  mint(options: MintOptions): Promise<string>;
  /**
   * Mints a delegated user token for the bot's own SSO resource, the way Entra issues one to Teams
   * for the bot (scope access_as_user, azp the Teams client). Claims per the "Access token claims
   * reference" (https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference).
   */
  mintUser(options: UserTokenOptions): Promise<string>;
}

export async function createLocalIssuer(options: { tenantId: string; audience: string; keyFile?: string; create?: boolean; kid?: string }): Promise<LocalIssuer> {
  if (!GUID.test(options.tenantId)) throw new Error(`The sandbox issuer's tenant must be a GUID, not ${JSON.stringify(options.tenantId)}.`);
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
  const kid = options.kid ?? 'sandbox-1';
  const privateKey = await importJWK(privateJwk, 'RS256');
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
  const jwk = { ...publicJwk, kid, alg: 'RS256', use: 'sig' };
  const tenant = options.tenantId.toLowerCase();
  const issuer = entraV2Issuer(tenant);
  return {
    issuer,
    tenantId: tenant,
    audience: options.audience,
    jwks: { keys: [jwk] },
    async mint({ appId, tenantId = tenant, expiresInSeconds = 3600, notBefore, version = '2.0', audience = options.audience, roles = [BRIDGE_APP_ROLE] }) {
      const now = Math.floor(Date.now() / 1000);
      // Entra's app-only tokens: the caller is the app's service principal (oid = sub), acting as itself.
      const common = { tid: tenantId, oid: SANDBOX_BOT_SP_OBJECT_ID, sub: SANDBOX_BOT_SP_OBJECT_ID, roles, idtyp: 'app' };
      const payload = version === '2.0' ? { ...common, azp: appId, azpacr: '1', ver: '2.0' } : { ...common, appid: appId, appidacr: '1', ver: '1.0' };
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuer(version === '2.0' ? entraV2Issuer(tenantId) : `https://sts.windows.net/${tenantId}/`)
        .setAudience(audience)
        .setIssuedAt(now)
        .setNotBefore(notBefore ?? now)
        .setExpirationTime(now + expiresInSeconds)
        .sign(privateKey);
    },
    async mintUser({ oid, tenantId = tenant, mfa = false, acrs, issuedAt, expiresInSeconds = 3600, version = '1.0', audience, scp = 'access_as_user' }) {
      if (!GUID.test(oid)) throw new Error(`A user token's oid must be an Entra object id (a GUID), not ${JSON.stringify(oid)}.`);
      const iat = issuedAt ?? Math.floor(Date.now() / 1000);
      const v2 = version === '2.0';
      const payload: JWTPayload = {
        tid: tenantId,
        oid,
        // sub is pairwise per app in Entra, never the oid: code must not use it as the user.
        sub: `sandbox-pairwise-${oid.slice(0, 8)}`,
        scp,
        ver: version,
        ...(v2 ? { azp: TEAMS_DESKTOP_CLIENT_ID, azpacr: '0' } : { appid: TEAMS_DESKTOP_CLIENT_ID, appidacr: '0', amr: mfa ? ['pwd', 'mfa'] : ['pwd'] }),
        ...(acrs && acrs.length > 0 ? { acrs } : {}),
      };
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuer(v2 ? entraV2Issuer(tenantId) : `https://sts.windows.net/${tenantId}/`)
        .setAudience(audience ?? (v2 ? SANDBOX_BOT_APP_ID : SANDBOX_SSO_APPLICATION_ID_URI))
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(iat + expiresInSeconds)
        .sign(privateKey);
    },
  };
}

export type AuthorizerResult = { ok: true; claims: JWTPayload } | { ok: false; reason: string };

/**
 * Checks `Authorization: Bearer <jwt>` as the HTTP API's JWT authorizer does (see the file
 * comment). Only RS256 from the issuer's key set is accepted: `alg: none`, HMAC with the public key
 * as secret, and foreign keys fail the signature check. Configured like infra/config.ts allows
 * only: the issuer is Entra's v2 issuer of one tenant and the audience a client id (GUID).
 */
export function createJwtAuthorizer(options: { issuer: string; audience: string; jwks: { keys: JWK[] }; clockToleranceSeconds?: number }) {
  if (!/^https:\/\/login\.microsoftonline\.com\/[0-9a-f-]{36}\/v2\.0$/i.test(options.issuer)) {
    throw new Error(`The bridge authorizer's issuer must be Entra's v2 issuer https://login.microsoftonline.com/<tenant id>/v2.0, not ${options.issuer}.`);
  }
  if (!GUID.test(options.audience)) {
    throw new Error(`The bridge authorizer's audience must be the bridge app's client id (a GUID), not ${options.audience}: Entra v2 tokens carry the client id in aud, never the api:// URI.`);
  }
  const keys = createLocalJWKSet(options.jwks);
  const tolerance = options.clockToleranceSeconds ?? 0;
  return async (authorization: string | undefined): Promise<AuthorizerResult> => {
    // API Gateway accepts the token bare or prefixed with "Bearer" (identitySource $request.header.Authorization).
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/.exec(authorization ?? '');
    if (!match) return { ok: false, reason: 'missing bearer token' };
    try {
      // "kid – The token must have a header claim that matches the key in the jwks_uri that signed the token."
      const header = decodeProtectedHeader(match[1]!);
      if (typeof header.kid !== 'string') return { ok: false, reason: 'ERR_JWT_KID_MISSING' };
      const { payload } = await jwtVerify(match[1]!, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ['RS256'],
        clockTolerance: tolerance,
        requiredClaims: ['exp', 'iss', 'aud'],
      });
      // "iat – Must be before the current time in UTC." (jose does not check a future iat by itself).
      if (typeof payload.iat === 'number' && payload.iat > Math.floor(Date.now() / 1000) + tolerance) return { ok: false, reason: 'ERR_JWT_IAT_IN_FUTURE' };
      return { ok: true, claims: payload };
    } catch (e) {
      return { ok: false, reason: (e as { code?: string }).code ?? 'invalid token' };
    }
  };
}

/** A Teams SSO token for a demo person, as Teams would obtain it (for act.ts and tests). */
export async function sandboxUserToken(keyFile: string, claims: { tenantId: string } & UserTokenOptions): Promise<string> {
  const issuer = await createLocalIssuer({ tenantId: claims.tenantId, audience: SANDBOX_BRIDGE_AUDIENCE, keyFile, create: false });
  return issuer.mintUser(claims);
}

/** A bearer token for the sandbox bridge, as the bot gets one (for act.ts and tests that call the bridge directly). */
export async function sandboxBridgeToken(keyFile: string, claims: { appId: string; tenantId: string }): Promise<string> {
  const issuer = await createLocalIssuer({ tenantId: claims.tenantId, audience: SANDBOX_BRIDGE_AUDIENCE, keyFile, create: false });
  return issuer.mint({ appId: claims.appId });
}
