/**
 * The bridge on loopback: a small HTTP server that turns each call into the API Gateway HTTP API
 * (payload 2.0) event the REAL lambdas/bridge handler receives on AWS. With `authorize` (as
 * `npm start` runs it), the bearer token is checked as the HTTP API's JWT authorizer does
 * (sandbox/jwt-authorizer.ts: the sandbox plays Entra with a local key) and its claims go into the
 * event; a refused token gets API Gateway's 401. Everything after the authorizer (caller and tenant
 * checks, actor headers, schemas, authorization) is production code.
 *
 * It also serves the sandbox's own controls under /_sandbox/ (clock, reconcile): see `control`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BRIDGE_APP_ROLE, type BridgeEvent, type BridgeHandler, entraV2Issuer } from '../../lambdas/bridge/handler';

/** Bodies above this are cut off here (the handler itself refuses anything above 16 KB). */
const MAX_READ_BYTES = 1024 * 1024;

export interface BridgeIdentity {
  /** The bot's app id, as the `azp` claim of a token the authorizer admitted. */
  botAppId: string;
  tenantId: string;
  /** The bridge app's client id (`aud`); only for the unauthenticated shim's stand-in claims. */
  audience?: string;
}

/**
 * API Gateway (payload 2.0) hands the integration every claim as a string: numbers in decimal and
 * arrays bracketed and space-separated (`roles: "[Bridge.Invoke]"`), not JSON. Mirrored here so the
 * bridge's claim parsing is exercised with what AWS really sends.
 */
export function apiGatewayClaimString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' ')}]`;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

export type ControlRoute = (req: { method: string; path: string; query: URLSearchParams; body: unknown }) => Promise<{ status: number; body: unknown } | undefined>;

export interface LocalBridgeOptions {
  handler: BridgeHandler;
  identity: BridgeIdentity;
  port: number;
  /** Extra routes under /_sandbox/ (answered before the bridge). */
  control?: ControlRoute;
  /** The JWT authorizer; without it the claims are the sandbox bot's identity (tests of the shim only). */
  authorize?: (authorization: string | undefined) => Promise<{ ok: true; claims: Record<string, unknown> } | { ok: false; reason: string }>;
  log?: (line: string) => void;
}

export interface RunningBridge {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Builds the payload-2.0 event for one HTTP call. Exported for tests. */
export function toApiGatewayEvent(input: { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: Buffer; sourceIp: string }, identity: BridgeIdentity, now: number, verifiedClaims?: Record<string, unknown>): BridgeEvent {
  const url = new URL(input.url, 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const requestId = randomUUID();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    body: input.body.length > 0 ? input.body.toString('utf8') : undefined,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'sandbox',
      domainName: url.host,
      domainPrefix: 'sandbox',
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
      http: { method: input.method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: input.sourceIp, userAgent: headers['user-agent'] ?? '' },
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: {
          // API Gateway hands the handler the token's claims as strings.
          claims: verifiedClaims
            ? Object.fromEntries(Object.entries(verifiedClaims).map(([k, v]) => [k, apiGatewayClaimString(v)]))
            : {
                // Without an authorizer (tests of the shim only): the claims of an Entra v2 app-only token of the bot.
                azp: identity.botAppId,
                tid: identity.tenantId,
                aud: identity.audience ?? '00000000-0000-4000-8000-0000000b71d6',
                iss: entraV2Issuer(identity.tenantId),
                ver: '2.0',
                roles: `[${BRIDGE_APP_ROLE}]`,
              },
          scopes: [],
        },
      },
    },
  } as unknown as BridgeEvent;
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_READ_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' }): void {
  res.writeHead(status, headers);
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

export function startLocalBridge(options: LocalBridgeOptions): Promise<RunningBridge> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      if (body === 'too-large') return send(res, 413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'The body is too large.' } });
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname.startsWith('/_sandbox/') && options.control) {
        let parsed: unknown = {};
        if (body.length > 0) {
          try {
            parsed = JSON.parse(body.toString('utf8'));
          } catch {
            return send(res, 400, { error: { code: 'VALIDATION', message: 'The body is not valid JSON.' } });
          }
        }
        const answer = await options.control({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body: parsed });
        if (answer) return send(res, answer.status, answer.body);
        return send(res, 404, { error: { code: 'NOT_FOUND', message: 'No such sandbox route.' } });
      }
      let claims: Record<string, unknown> | undefined;
      if (options.authorize) {
        const verdict = await options.authorize(req.headers.authorization);
        if (!verdict.ok) {
          options.log?.(`[bridge] 401: ${verdict.reason}`);
          return send(res, 401, { message: 'Unauthorized' });
        }
        claims = verdict.claims;
      }
      const event = toApiGatewayEvent({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body, sourceIp: req.socket.remoteAddress ?? '127.0.0.1' }, options.identity, Date.now(), claims);
      const result = await options.handler(event);
      send(res, result.statusCode, result.body, result.headers);
    })().catch((e: unknown) => {
      options.log?.(`[bridge] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (!res.headersSent) send(res, 500, { error: { code: 'INTERNAL', message: 'The local bridge failed.' } });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: '127.0.0.1', exclusive: true }, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
