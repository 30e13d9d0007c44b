/**
 * The bot as the stack hosts it, on loopback: the REAL Lambda handler (bot/lambda-entry.ts
 * createBotLambdaHandler) behind two stand-ins, each as strict as the AWS service it replaces.
 *
 *   startLocalBotServer   API Gateway HTTP API: only the route `POST /api/messages` reaches the
 *                         function, as a payload format 2.0 event; any other method or path gets
 *                         API Gateway's own 404 `{"message":"Not Found"}`. The answer is the
 *                         structured result's statusCode, headers and body.
 *   localBotInvoker       Lambda's Invoke API for the backend's notices (the LambdaInvoker the
 *                         composition's invoke notifier sends through): the function's ARN with its
 *                         alias, InvocationType, the 6 MB payload limit, JSON payloads, and an error
 *                         in the handler reported as FunctionError "Unhandled" with status 200.
 *
 * Sources: "Create AWS Lambda proxy integrations for HTTP APIs in API Gateway"
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html),
 * "Working with routes for HTTP APIs" (a request that matches no route gets 404,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html),
 * "Invoke" (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html) and "Lambda quotas"
 * (6 MB request and response payload for synchronous invokes, 1 MB for asynchronous ones,
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InvokeCommand, InvokeCommandOutput } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { BotLambdaHandler } from '../../bot/lambda-entry';
import type { LambdaInvoker } from '../../lambdas/adapters/bot-invoke-notifier';

/** API Gateway HTTP API's maximum payload (10 MB, "Amazon API Gateway quotas", HTTP APIs); the function refuses above 1 MB itself. */
export const HTTP_API_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
/** Lambda: synchronous invoke payloads (request and response) up to 6 MB; asynchronous (Event) up to 1 MB. */
export const LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
export const LAMBDA_ASYNC_PAYLOAD_BYTES = 1024 * 1024;
/** The one route the stack gives the bot (infra/constructs/bot-host.ts BOT_MESSAGES_PATH). */
const ROUTE = { method: 'POST', path: '/api/messages' } as const;

/**
 * Text bodies go to the function as they are; others base64-encoded with isBase64Encoded (payload
 * 2.0 leaves the decision to API Gateway: textual media types, and only valid UTF-8, stay text).
 */
function isTextual(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type.startsWith('text/') || /^application\/([a-z0-9.+-]+\+)?(json|xml|javascript|x-www-form-urlencoded)$/.test(type);
}

/** The payload 2.0 event API Gateway builds for a call to the bot's route (no authorizer on it). */
export function toBotRouteEvent(input: { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: Buffer; sourceIp: string }, now: number): APIGatewayProxyEventV2 {
  const url = new URL(input.url, 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const text = input.body.toString('utf8');
  const asText = isTextual(headers['content-type']) && Buffer.from(text, 'utf8').equals(input.body);
  const routeKey = `${ROUTE.method} ${ROUTE.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(input.body.length > 0 ? { body: asText ? text : input.body.toString('base64') } : {}),
    isBase64Encoded: input.body.length > 0 && !asText,
    requestContext: {
      accountId: '123456789012',
      apiId: 'sandbox',
      domainName: url.host,
      domainPrefix: 'sandbox',
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
      http: { method: input.method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: input.sourceIp, userAgent: headers['user-agent'] ?? '' },
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= HTTP_API_MAX_PAYLOAD_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(size > HTTP_API_MAX_PAYLOAD_BYTES ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: string | undefined, headers: Record<string, string>): void {
  res.writeHead(status, headers);
  res.end(body ?? '');
}

export interface LocalBotServerOptions {
  handler: BotLambdaHandler;
  port: number;
  log?: (line: string) => void;
}

export interface RunningBotServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The HTTP API in front of the bot function. `GET /healthz` is the sandbox's own liveness probe
 * (the container image has it too); everything else is API Gateway's routing.
 */
export function startLocalBotServer(options: LocalBotServerOptions): Promise<RunningBotServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const json = { 'content-type': 'application/json' };
      if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, '{"status":"ok"}', json);
      if (req.method !== ROUTE.method || url.pathname !== ROUTE.path) return send(res, 404, '{"message":"Not Found"}', json);
      if (body === 'too-large') return send(res, 413, '{"message":"Request Entity Too Large"}', json);
      const event = toBotRouteEvent({ method: req.method, url: req.url ?? '/', headers: req.headers, body, sourceIp: req.socket.remoteAddress ?? '127.0.0.1' }, Date.now());
      const result = await options.handler(event);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
      const answer = result.body === undefined ? undefined : result.isBase64Encoded ? Buffer.from(result.body, 'base64').toString('utf8') : result.body;
      send(res, result.statusCode ?? 200, answer, headers);
    })().catch((e: unknown) => {
      // What API Gateway answers when the integration fails (the function threw).
      options.log?.(`[bot] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (!res.headersSent) send(res, 500, '{"message":"Internal Server Error"}', { 'content-type': 'application/json' });
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

/** An error as the SDK raises it for a refused Invoke (name, HTTP status). */
function lambdaError(name: string, status: number, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

/** The request payload's text; the product always sends bytes or a string (streams are not needed here). */
function payloadText(payload: InvokeCommand['input']['Payload']): string {
  if (payload === undefined) return '';
  if (typeof payload === 'string') return payload;
  if (payload instanceof ArrayBuffer) return Buffer.from(payload).toString('utf8');
  if (ArrayBuffer.isView(payload)) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  throw lambdaError('InvalidRequestContentException', 400, 'The local invoke takes the payload as bytes or a string');
}

const bytes = (text: string) => Buffer.from(text, 'utf8') as unknown as NonNullable<InvokeCommandOutput['Payload']>;

/**
 * Lambda's Invoke for one function alias. What the real API refuses, this refuses the same way:
 * another function or alias (ResourceNotFoundException, 404), a payload over the limit
 * (RequestTooLargeException, 413), a payload that is not JSON (InvalidRequestContentException,
 * 400). RequestResponse runs the handler and answers StatusCode 200, with FunctionError "Unhandled"
 * and the error object as Payload when the handler throws; Event answers 202 and runs it after;
 * DryRun answers 204. An aborted request rejects like the SDK (AbortError).
 */
export function localBotInvoker(functionArn: string, handler: (event: unknown) => Promise<unknown>, log?: (line: string) => void): LambdaInvoker & { invocations: number } {
  const invoker = {
    invocations: 0,
    async send(command: InvokeCommand, options: { abortSignal?: AbortSignal } = {}): Promise<InvokeCommandOutput> {
      const input = command.input;
      const metadata = { httpStatusCode: 200, requestId: randomUUID(), attempts: 1, totalRetryDelay: 0 };
      const qualified = input.Qualifier ? `${input.FunctionName}:${input.Qualifier}` : input.FunctionName;
      if (qualified !== functionArn) throw lambdaError('ResourceNotFoundException', 404, `Function not found: ${qualified}`);
      const type = input.InvocationType ?? 'RequestResponse';
      const raw = payloadText(input.Payload);
      const limit = type === 'Event' ? LAMBDA_ASYNC_PAYLOAD_BYTES : LAMBDA_SYNC_PAYLOAD_BYTES;
      if (Buffer.byteLength(raw, 'utf8') > limit) throw lambdaError('RequestTooLargeException', 413, `Request must be smaller than ${limit} bytes for the InvokeFunction operation`);
      let event: unknown;
      try {
        event = raw === '' ? {} : (JSON.parse(raw) as unknown);
      } catch {
        throw lambdaError('InvalidRequestContentException', 400, 'Could not parse request body into json');
      }
      if (options.abortSignal?.aborted) throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
      if (type === 'DryRun') return { StatusCode: 204, $metadata: { ...metadata, httpStatusCode: 204 } };
      invoker.invocations++;
      if (type === 'Event') {
        void handler(event).catch((e: unknown) => log?.(`[bot] asynchronous invoke failed: ${(e as Error).message}`));
        return { StatusCode: 202, $metadata: { ...metadata, httpStatusCode: 202 } };
      }
      const run = handler(event).then(
        (result) => ({ StatusCode: 200, ExecutedVersion: '1', Payload: bytes(JSON.stringify(result ?? null)), $metadata: metadata }) as InvokeCommandOutput,
        (e: unknown) => ({ StatusCode: 200, FunctionError: 'Unhandled', ExecutedVersion: '1', Payload: bytes(JSON.stringify({ errorType: (e as Error)?.name ?? 'Error', errorMessage: (e as Error)?.message ?? String(e) })), $metadata: metadata }) as InvokeCommandOutput,
      );
      if (!options.abortSignal) return run;
      // The client gives up; the function runs on (as on AWS), and its answer is dropped.
      const signal = options.abortSignal;
      return Promise.race([
        run,
        new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })), { once: true })),
      ]);
    },
  };
  return invoker;
}
