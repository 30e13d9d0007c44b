/**
 * The bridge: the HTTP API the bot calls. API Gateway's JWT authorizer has checked the token's
 * signature (kid from Entra's keys), `iss`, `aud`, `exp`, `nbf` and `iat`, and nothing else
 * (Amazon API Gateway developer guide, "Control access to HTTP APIs with JWT authorizers",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).
 * This function checks the rest of the Entra v2 app-only token itself (`checkCaller`), and re-checks
 * iss and aud in depth:
 * - `ver` "2.0", `iss` the tenant's v2 issuer, `aud` the bridge app's client id (a GUID): a v1 token
 *   (`iss https://sts.windows.net/<tid>/`, `appid` without `azp`) or an `api://` audience is refused;
 * - `azp` is the bot's app registration, `tid` our tenant, and `roles` holds the app role
 *   BRIDGE_APP_ROLE granted to the bot (Microsoft identity platform, "Access token claims reference",
 *   https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference);
 * - the actor headers name a user of our tenant; the actor is resolved to an Identity Center user
 *   from those headers only, never from a body;
 * - every body and path parameter passes the core/api.ts schemas; bodies are JSON and at most 16 KB.
 * Authorization on the request itself (eligibility, approver, self-approval, ownership) is the
 * core services' job; this edge maps their typed errors to status codes.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type * as z from 'zod/mini';
import {
  ACTOR_HEADERS,
  cancelBodySchema,
  createRequestBodySchema,
  decisionBodySchema,
  eligibilityQuerySchema,
  extendBodySchema,
  kpiQuerySchema,
  listQuerySchema,
  requestIdSchema,
  reviewBodySchema,
  revokeBodySchema,
} from '../../contract/bridge';
import { toKpiReportView } from '../../contract/kpi';
import { ForbiddenError, ValidationError } from '../../core/errors';
import type { Actor } from '../../core/model';
import {
  acknowledgeReview,
  cancelRequest,
  castVote,
  eligibility,
  extendGrant,
  getRequest,
  kpiReport,
  listRequests,
  resolveActor,
  revokeEarly,
  submitRequest,
} from '../../core/services';
import type { CoreDeps } from '../../core/services/types';
import { config } from '../config';
import { errorBody, errorResponse, type HttpResponse, json, type Log, silentLog, validationFromZod } from '../http';
import { correlate, inInvocation } from '../observability/correlation';
// From the machinery, not the root: the bridge's notices go through the notify function, so it
// bundles no notifier of the bot (lambdas/backend.ts).
import { awsLog, awsPortsWithoutNotifier, type DepsSource, resolveDeps } from '../backend';

export const MAX_BODY_BYTES = 16 * 1024;

/**
 * The app role the bridge app registration defines (allowed member type: Applications) and grants to
 * the bot with admin consent. Entra puts the granted app roles of a client-credentials token in `roles`.
 */
export const BRIDGE_APP_ROLE = 'Bridge.Invoke';

/** Entra's v2 issuer for a tenant (the `iss` of every token when the API accepts v2 tokens). */
export const entraV2Issuer = (tenantId: string): string => `https://login.microsoftonline.com/${tenantId.toLowerCase()}/v2.0`;

export interface BridgeOptions {
  /** The bot's Entra app (client) id: the only `azp` accepted. */
  botAppId: string;
  /** The Entra tenant whose users may act. */
  tenantId: string;
  /** The bridge app's client id: the `aud` API Gateway was configured with. Without it, any GUID `aud` passes here. */
  audience?: string;
  log?: Log;
}

export type BridgeEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type BridgeHandler = (event: BridgeEvent) => Promise<HttpResponse>;

interface RouteContext {
  deps: CoreDeps;
  actor: Actor;
  id: string;
  body: () => unknown;
  query: Record<string, string>;
}

type RouteFn = (ctx: RouteContext) => Promise<HttpResponse>;

function parse<S extends z.ZodMiniType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw validationFromZod(what, r.error);
  return r.data;
}

const ROUTES: Record<string, RouteFn> = {
  'POST /requests': async ({ deps, actor, body }) => {
    const input = parse(createRequestBodySchema, body(), 'request body');
    const r = await submitRequest(deps, { actor, body: input });
    correlate(r.request.id);
    return json(r.replayed ? 200 : 201, { request: r.request, replayed: r.replayed });
  },
  'GET /requests': async ({ deps, actor, query }) => {
    const q = parse(listQuerySchema, query, 'query');
    return json(200, { requests: await listRequests(deps, { actor, view: q.view }) });
  },
  'GET /requests/{id}': async ({ deps, actor, id }) => json(200, { request: await getRequest(deps, { requestId: id, actor }) }),
  'POST /requests/{id}/decisions': async ({ deps, actor, id, body }) => {
    const b = parse(decisionBodySchema, body(), 'decision');
    const r = await castVote(deps, { requestId: id, actor, decision: b.decision, reason: b.reason, ...(b.stepUp ? { stepUp: b.stepUp } : {}) });
    return json(200, { request: r.request, decided: r.decided, duplicate: r.duplicate });
  },
  'POST /requests/{id}/revoke': async ({ deps, actor, id, body }) => {
    const b = parse(revokeBodySchema, body(), 'revoke body');
    return json(200, { request: await revokeEarly(deps, { requestId: id, actor, reason: b.reason }) });
  },
  'POST /requests/{id}/extend': async ({ deps, actor, id, body }) => {
    const b = parse(extendBodySchema, body(), 'extend body');
    return json(200, { request: await extendGrant(deps, { requestId: id, actor, additionalMinutes: b.additionalMinutes }) });
  },
  'POST /requests/{id}/cancel': async ({ deps, actor, id, body }) => {
    const b = parse(cancelBodySchema, body(), 'cancel body');
    return json(200, { request: await cancelRequest(deps, { requestId: id, actor, reason: b.reason }) });
  },
  'POST /requests/{id}/review': async ({ deps, actor, id, body }) => {
    const b = parse(reviewBodySchema, body(), 'review body');
    return json(200, { request: await acknowledgeReview(deps, { requestId: id, actor, note: b.note }) });
  },
  'GET /eligibility': async ({ deps, actor, query }) => {
    const q = parse(eligibilityQuerySchema, query, 'query');
    return json(200, await eligibility(deps, { actor, query: q }));
  },
  // The bot's `kpi` command: approvers only (core/services/kpi.ts says why).
  'GET /kpis': async ({ deps, actor, query }) => {
    const q = parse(kpiQuerySchema, query, 'query');
    return json(200, { report: toKpiReportView(await kpiReport(deps, { actor, days: q.days })) });
  },
};

export const BRIDGE_ROUTE_KEYS = Object.keys(ROUTES);

/** Route templates as regular expressions, for events without a routeKey (the sandbox's plain HTTP server). */
const TEMPLATES = BRIDGE_ROUTE_KEYS.map((key) => {
  const [method, path] = key.split(' ') as [string, string];
  const pattern = new RegExp(`^${path.replace(/\{id\}/g, '([^/]+)')}/?$`);
  return { key, method, pattern };
});

function matchRoute(event: BridgeEvent): { key: string; id?: string } | undefined {
  const key = event.routeKey;
  if (key && key !== '$default' && ROUTES[key]) return { key, id: event.pathParameters?.id };
  const method = event.requestContext?.http?.method ?? '';
  const path = event.rawPath ?? '';
  for (const t of TEMPLATES) {
    const m = t.method === method ? t.pattern.exec(path) : null;
    if (m) return { key: t.key, id: m[1] === undefined ? undefined : decodeURIComponent(m[1]) };
  }
  return undefined;
}

function lowerCaseHeaders(headers: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (typeof v === 'string') out[k.toLowerCase()] = v;
  return out;
}

function claimString(claims: Record<string, unknown>, name: string): string | undefined {
  const v = claims[name];
  return typeof v === 'string' ? v : undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * API Gateway hands the handler every claim as a string; an array claim such as `roles` arrives as
 * `[a b]` (bracketed, space-separated). Native arrays (tests) and JSON arrays are read too.
 */
export function claimList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value !== 'string') return [];
  const s = value.trim();
  if (s.startsWith('[') && s.endsWith(']')) {
    try {
      const parsed: unknown = JSON.parse(s);
      if (Array.isArray(parsed)) return parsed.filter((v): v is string => typeof v === 'string');
    } catch {
      // not JSON: API Gateway's own rendering
    }
    return s.slice(1, -1).split(/\s+/).filter(Boolean);
  }
  return s ? [s] : [];
}

/** Throws unless the token is an Entra v2 app-only token of the bot's app registration in our tenant. */
function checkCaller(event: BridgeEvent, opts: BridgeOptions): void {
  const claims = (event.requestContext?.authorizer?.jwt?.claims ?? {}) as Record<string, unknown>;
  const ver = claimString(claims, 'ver');
  const iss = claimString(claims, 'iss');
  if (ver !== '2.0' || iss !== entraV2Issuer(opts.tenantId)) {
    throw new ForbiddenError('This API accepts Entra v2 access tokens of its own tenant only (set accessTokenAcceptedVersion to 2 on the bridge app registration).');
  }
  const aud = claimString(claims, 'aud');
  if (!aud || !GUID.test(aud) || (opts.audience !== undefined && aud.toLowerCase() !== opts.audience.toLowerCase())) {
    throw new ForbiddenError('The token was not issued for this API (its audience must be the bridge app\'s client id).');
  }
  // v2 tokens name the client in `azp`; v1's `appid` is deliberately not a fallback.
  const appId = claimString(claims, 'azp');
  if (!appId || appId.toLowerCase() !== opts.botAppId.toLowerCase()) {
    throw new ForbiddenError('This API accepts calls from the Teams bot only.');
  }
  const tid = claimString(claims, 'tid');
  if (!tid || tid.toLowerCase() !== opts.tenantId.toLowerCase()) {
    throw new ForbiddenError('The token was issued for another tenant.');
  }
  if (!claimList(claims.roles).includes(BRIDGE_APP_ROLE)) {
    throw new ForbiddenError(`The bot app has not been granted the bridge's ${BRIDGE_APP_ROLE} app role.`);
  }
}

/** The actor claim, from the ACTOR_HEADERS the bot set from the authenticated Teams activity. */
function actorClaim(headers: Record<string, string>, opts: BridgeOptions): { aadObjectId?: string; upn?: string; displayName?: string } {
  const tenant = headers[ACTOR_HEADERS.tenantId];
  if (!tenant || tenant.toLowerCase() !== opts.tenantId.toLowerCase()) {
    throw new ForbiddenError('The user is not a member of the allowed tenant.');
  }
  const aadObjectId = headers[ACTOR_HEADERS.aadObjectId];
  const upn = headers[ACTOR_HEADERS.upn];
  const issues: Array<{ path: string; message: string }> = [];
  if (aadObjectId !== undefined && !GUID.test(aadObjectId)) issues.push({ path: ACTOR_HEADERS.aadObjectId, message: 'must be an Entra object id (GUID)' });
  if (upn !== undefined && (upn.length > 256 || !/^[^\s@]+@[^\s@]+$/.test(upn))) issues.push({ path: ACTOR_HEADERS.upn, message: 'must be a user principal name' });
  if (!aadObjectId && !upn) issues.push({ path: ACTOR_HEADERS.aadObjectId, message: 'the acting user is missing' });
  if (issues.length > 0) throw new ValidationError('Invalid actor headers.', issues);
  const rawName = headers[ACTOR_HEADERS.displayName];
  const displayName = rawName ? safeHeaderText(rawName) : undefined;
  return { aadObjectId, upn, displayName };
}

/** Display names arrive percent-encoded (HTTP headers are Latin-1); bad encodings are dropped, not fatal. */
function safeHeaderText(value: string): string | undefined {
  try {
    const decoded = decodeURIComponent(value);
    // eslint-disable-next-line no-control-regex
    return decoded.isWellFormed() && !/[\u0000-\u001f\u007f]/.test(decoded) ? decoded.slice(0, 256) : undefined;
  } catch {
    return undefined;
  }
}

function readBody(event: BridgeEvent, headers: Record<string, string>): () => unknown {
  return () => {
    if (event.body === undefined || event.body === null || event.body === '') return {};
    const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) throw new PayloadTooLarge();
    const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw new UnsupportedMediaType();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ValidationError('The body is not valid JSON.', [{ path: '(body)', message: 'must be a JSON object' }]);
    }
  };
}

class PayloadTooLarge extends Error {}
class UnsupportedMediaType extends Error {}

export function createBridgeHandler(source: DepsSource, options: BridgeOptions): BridgeHandler {
  const log = options.log ?? silentLog;
  return async (event) => {
    try {
      const route = matchRoute(event);
      if (!route) return json(404, errorBody('NOT_FOUND', 'No such route.'));
      checkCaller(event, options);
      const headers = lowerCaseHeaders(event.headers);
      const claim = actorClaim(headers, options);
      let id = '';
      if (route.key.includes('{id}')) {
        const parsed = requestIdSchema.safeParse(route.id);
        if (!parsed.success) return json(404, errorBody('NOT_FOUND', 'No such request.'));
        id = parsed.data;
        correlate(id);
      }
      const body = readBody(event, headers);
      // Reject an oversized or non-JSON body before any lookup happens.
      if (event.body) body();
      const deps = await resolveDeps(source);
      const actor = await resolveActor(deps, claim);
      const query = Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
      return await ROUTES[route.key]!({ deps, actor, id, body, query });
    } catch (e) {
      if (e instanceof PayloadTooLarge) return json(413, errorBody('PAYLOAD_TOO_LARGE', `The body exceeds ${MAX_BODY_BYTES} bytes.`));
      if (e instanceof UnsupportedMediaType) return json(415, errorBody('UNSUPPORTED_MEDIA_TYPE', 'The body must be application/json.'));
      return errorResponse(e, log);
    }
  };
}

let awsHandler: BridgeHandler | undefined;
export const handler = (event: BridgeEvent): Promise<HttpResponse> => {
  if (!awsHandler) {
    const cfg = config();
    awsHandler = createBridgeHandler(awsPortsWithoutNotifier, { botAppId: cfg.botAppId, tenantId: cfg.entraTenantId, audience: cfg.bridgeAudience, log: awsLog('bridge') });
  }
  const run = awsHandler;
  return inInvocation(() => run(event));
};
