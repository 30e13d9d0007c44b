/**
 * The bot's half of step-up for approvals (docs/SECURITY.md, "Approving in chat"): it checks the
 * Teams SSO token that comes with a re-sent Action.Execute, and passes its claims to the bridge,
 * which holds them against the request's rule (core/services/step-up.ts).
 *
 * The protocol, as Microsoft documents it ("Add code to enable SSO for Adaptive Cards Universal
 * Actions", https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/Universal-actions-for-adaptive-cards/sso-adaptive-cards-universal-action):
 * the bot answers an `adaptiveCard/action` invoke with status 401 and type
 * `application/vnd.microsoft.activity.loginRequest` whose value carries the OAuth connection's
 * name, a `tokenExchangeResource` {id, uri, providerId} and a `signin` button as the fallback;
 * Teams then re-sends the same action with `value.authentication` = {id, connectionName, token}.
 *
 * The token is an Entra access token for the bot's own app (its Application ID URI
 * `api://.../botid-<app id>`, scope `access_as_user`). What is checked, and why (Microsoft identity
 * platform, "Access token claims reference",
 * https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference, and
 * "Validate tokens"):
 * - the RS256 signature against the tenant's keys (jose's remote key set caches them and refetches
 *   on an unknown `kid`, which is how Entra's key rollover works);
 * - `iss` one of the tenant's two issuers and `aud` the matching audience: a v2 token
 *   (`accessTokenAcceptedVersion: 2`) has `iss https://login.microsoftonline.com/<tid>/v2.0` and the
 *   app's client id (GUID) in `aud`; a v1 token (`accessTokenAcceptedVersion` null or 1, the
 *   default) has `iss https://sts.windows.net/<tid>/` and the Application ID URI in `aud`. Both are
 *   accepted because `amr` exists only in v1 access tokens (same reference: "amr ... Only present
 *   in v1.0 tokens"); `acrs` is in both. A mixed pair (v2 issuer with the URI, say) is refused;
 * - `exp`/`nbf` against the bot's clock; `tid` our tenant; `scp` holds `access_as_user` (a delegated
 *   user token, not an app-only one);
 * - `oid` is the clicking user's `aadObjectId` from the activity: someone else's token never counts.
 * Age (`iat`) and strength (`acrs`, `amr`) are the bridge's to judge: it knows the rule.
 */
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { StepUpClaims } from '../core/api';
import type { InvokeResult } from './activity';
import type { BotConfig } from './config';

/** The scope Teams SSO asks Entra for ("Configure bot app in Microsoft Entra ID": expose an API, scope access_as_user). */
export const TEAMS_SSO_SCOPE = 'access_as_user';

/**
 * Microsoft's first-party Teams clients that the bot app must pre-authorize for its scope, so that
 * Teams can get the token silently ("Configure bot app in Microsoft Entra ID", authorized client
 * applications: Teams desktop and mobile, Teams web,
 * https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/authentication/bot-sso-register-aad).
 */
export const TEAMS_CLIENT_IDS = {
  desktopAndMobile: '1fec8e78-bce4-4aaf-ab1b-5451cc387264',
  web: '5e3ce6c0-2b1f-4285-8d4b-75ee78787346',
} as const;

export const LOGIN_REQUEST_TYPE = 'application/vnd.microsoft.activity.loginRequest';

/** Tolerated skew between Entra's clock and the bot's for exp/nbf. */
const CLOCK_TOLERANCE_SECONDS = 60;

export type SsoSettings = NonNullable<BotConfig['sso']>;

/** A token that does not prove the clicking user signed in: shown as a refusal, never answered with another sign-in prompt. */
export class StepUpTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepUpTokenError';
  }
}

/** Thrown by a handler when the action needs a sign-in first: bot/turns.ts answers with the loginRequest. */
export class LoginRequired extends Error {
  constructor(readonly text: string) {
    super(text);
    this.name = 'LoginRequired';
  }
}

/** `value.authentication` of a re-sent Action.Execute (card data is untrusted; only the token is read). */
export function authenticationToken(value: unknown): string | undefined {
  const auth = (value as { authentication?: { token?: unknown } } | undefined)?.authentication;
  const token = auth?.token;
  return typeof token === 'string' && token.length > 0 && token.length <= 16_384 ? token : undefined;
}

export class StepUpVerifier {
  private readonly keys: JWTVerifyGetKey;

  /** `keys`: the sandbox and tests pass their local issuer's key set; production reads Entra's (cached by jose). */
  constructor(
    readonly settings: SsoSettings,
    private readonly now: () => number,
    keys?: JSONWebKeySet | JWTVerifyGetKey,
  ) {
    if (typeof keys === 'function') this.keys = keys;
    else if (keys) this.keys = createLocalJWKSet(keys);
    else this.keys = createRemoteJWKSet(new URL(settings.jwksUrl), { cacheMaxAge: 60 * 60 * 1000, cooldownDuration: 30_000, timeoutDuration: 3000 });
  }

  /** The claims the bridge needs, or StepUpTokenError saying in plain words what is wrong. */
  async verify(token: string, user: { aadObjectId?: string }): Promise<StepUpClaims> {
    const s = this.settings;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        issuer: [s.issuer, s.issuerV1],
        audience: [s.appId, s.applicationIdUri],
        algorithms: ['RS256'],
        currentDate: new Date(this.now()),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['iat', 'exp', 'oid', 'tid'],
      }));
    } catch (e) {
      throw new StepUpTokenError(`Your sign-in could not be verified: ${tokenProblem(e)}. Nothing was recorded.`);
    }
    // Entra pairs them: v2 tokens carry the client id, v1 tokens the URI the token was asked for.
    const v2 = payload.iss === s.issuer;
    const expectedAud = v2 ? s.appId : s.applicationIdUri;
    const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!auds.some((a) => typeof a === 'string' && a.toLowerCase() === expectedAud.toLowerCase())) {
      throw new StepUpTokenError(`Your sign-in could not be verified: its audience does not match its ${v2 ? 'v2' : 'v1'} issuer. Nothing was recorded.`);
    }
    if (String(payload.tid).toLowerCase() !== s.tenantId.toLowerCase()) throw new StepUpTokenError('Your sign-in is from another Entra tenant. Nothing was recorded.');
    const scopes = typeof payload.scp === 'string' ? payload.scp.split(' ') : [];
    if (!scopes.includes(TEAMS_SSO_SCOPE)) throw new StepUpTokenError(`Your sign-in is not a user sign-in to this app (no ${TEAMS_SSO_SCOPE} scope). Nothing was recorded.`);
    const oid = String(payload.oid).toLowerCase();
    if (!user.aadObjectId || oid !== user.aadObjectId.toLowerCase()) throw new StepUpTokenError('The sign-in sent with this click belongs to another user, so it does not count. Nothing was recorded.');
    const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 20).map((x) => x.slice(0, 64)) : []);
    if (typeof payload.iat !== 'number' || !Number.isInteger(payload.iat)) throw new StepUpTokenError('Your sign-in has no valid issue time. Nothing was recorded.');
    return { oid, tid: String(payload.tid).toLowerCase(), acrs: strings(payload.acrs), amr: strings(payload.amr), iat: payload.iat };
  }
}

function tokenProblem(e: unknown): string {
  if (e instanceof joseErrors.JWTExpired) return 'it has expired';
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.claim === 'iss') return 'it was not issued by our Entra tenant';
    if (e.claim === 'aud') return 'it was issued for another application';
    if (e.claim === 'nbf') return 'it is not valid yet';
    return `its ${e.claim} claim is not acceptable`;
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed || e instanceof joseErrors.JWKSNoMatchingKey) return 'its signature does not match Entra\'s keys';
  if (e instanceof joseErrors.JWKSTimeout || (e instanceof Error && /fetch|network|ECONN/i.test(e.message))) return 'Entra\'s signing keys could not be read right now; try again in a moment';
  return 'it is not a valid Entra token';
}

/**
 * The invoke answer that makes Teams get an SSO token and re-send the action. The sign-in link is
 * the Bot Framework token service's (from UserTokenClient.getSignInResource, in bot/teams/); when
 * it is not available (sandbox, tests) the button is left out and Teams has only the SSO path.
 */
export function loginRequestResponse(settings: SsoSettings, text: string, resource?: { signInLink?: string; tokenExchangeResource?: { id?: string; uri?: string; providerId?: string } }): InvokeResult {
  const exchange = resource?.tokenExchangeResource;
  const value = {
    text,
    connectionName: settings.connectionName,
    tokenExchangeResource: {
      id: exchange?.id ?? randomUUID(),
      uri: exchange?.uri ?? settings.applicationIdUri,
      ...(exchange?.providerId ? { providerId: exchange.providerId } : {}),
    },
    buttons: resource?.signInLink ? [{ title: 'Sign in', text: 'Sign in', type: 'signin', value: resource.signInLink }] : [],
  };
  // The HTTP status of the invoke answer is the body's statusCode, as botbuilder's own
  // ActivityHandler answers adaptiveCard/action (`{status: response.statusCode, body: response}`).
  return { status: 401, body: { statusCode: 401, type: LOGIN_REQUEST_TYPE, value } };
}
