/**
 * The Lambda entry's shape, separate from the bot it runs (bot/lambda.ts builds the real one; the
 * bench puts a bare echo bot behind the same shape): an API Gateway HTTP API (payload 2.0) event
 * becomes what `CloudAdapter.process` reads (`req.body/headers/method`), and what it writes
 * (`res.status/header/send/end`) is collected into the integration's response, so an invoke answer
 * (adaptiveCard/action card, application/search results) keeps its status and body. Bad input is
 * answered here, before authentication, with the same RFC 9457 problems as bot/server.ts:
 * malformed JSON 400, over 1 MB 413, not JSON 415, not an activity 400.
 *
 * The event and response follow "Create AWS Lambda proxy integrations for HTTP APIs in API
 * Gateway", payload format 2.0
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
 * header names arrive lower-cased, repeated headers joined with commas, a binary or non-UTF-8 body
 * base64-encoded with `isBase64Encoded: true`; a structured result's `statusCode`, `headers` and
 * `body` (a string) become the HTTP answer.
 *
 * The same handler takes the backend's notices as direct invokes (lambda:InvokeFunction, allowed
 * by IAM to the backend's roles only; lambdas/adapters/bot-invoke-notifier.ts): the payload is a
 * NotificationBody (contract/notify.ts) and the answer `{status, body}` as the HTTP `/api/notify`
 * would give. Which of the two an event is: see `isHttpApiEvent`.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { NotifyInvokeAnswer } from '../contract/notify';
import type { Clock } from '../core/ports';
import type { MessagesEndpoint } from './activity';
import { type Log, errorDetails, jsonLog } from './log';
import { type NotificationHandler, deliverNotification } from './notify-delivery';
import { PROBLEM_CONTENT_TYPE, problem } from './problem';
import type { ConversationStore } from './storage/types';

/** The same limit as the express route (bot/server.ts MESSAGES_MAX_BODY, 1 MB). */
export const LAMBDA_MESSAGES_MAX_BYTES = 1024 * 1024;

export interface BotLambdaTarget {
  /** The channel adapter's endpoint (bot/teams/): validates the Bot Framework JWT and runs the turn. */
  messages: MessagesEndpoint;
  log: Log;
  /** `handle` delivers a backend notice (a direct invoke); the posted cards have one writer, so no turn leaves work behind. */
  notifications?: Partial<NotificationHandler>;
  /** Where notice ids are claimed once (with `clock` and `notifications.handle`: the direct-invoke door). */
  store?: Pick<ConversationStore, 'claimNotification' | 'releaseNotification'>;
  clock?: Clock;
}

/** HTTP API events answer as HTTP; anything else is a direct invoke and answers `{status, body}`. */
export interface BotLambdaHandler {
  (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2>;
  (event: unknown): Promise<APIGatewayProxyStructuredResultV2 | NotifyInvokeAnswer>;
}

/**
 * Members API Gateway puts on EVERY payload 2.0 event (version, routeKey, rawPath, requestContext,
 * headers, isBase64Encoded; "Create AWS Lambda proxy integrations for HTTP APIs", payload format
 * version 2.0). An event with any one of them is HTTP: whatever a caller sends through the API
 * arrives as the `body` string of such an event, never as the event itself, so no HTTP request
 * can be taken for a direct invoke. A direct invoke is a NotificationBody, which has none of them.
 */
const HTTP_API_MEMBERS = ['version', 'routeKey', 'rawPath', 'requestContext', 'headers', 'isBase64Encoded'] as const;
export function isHttpApiEvent(event: unknown): event is APIGatewayProxyEventV2 {
  return typeof event === 'object' && event !== null && !Array.isArray(event) && HTTP_API_MEMBERS.some((k) => Object.hasOwn(event, k));
}

const invokeProblem = (status: number, code: string, detail: string): NotifyInvokeAnswer => ({ status, body: problem(status, code, detail) });

const problemResult = (status: number, code: string, detail: string): APIGatewayProxyStructuredResultV2 => ({
  statusCode: status,
  headers: { 'content-type': PROBLEM_CONTENT_TYPE },
  body: JSON.stringify(problem(status, code, detail)),
});

/** HTTP API v2 lower-cases header names and joins repeated ones with commas. */
function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const headers = event.headers ?? {};
  return headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
}

/** The media type without parameters, as express's `req.is('application/json')` compares it. */
function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** Collects what CloudAdapter writes (status, headers, body) into the integration response. */
class CollectingResponse {
  statusCode = 200;
  readonly headers: Record<string, string> = {};
  body: unknown;
  ended = false;
  /** botbuilder's ResponseT schema requires the member; nothing here is a socket. */
  readonly socket = null;

  status(code: number): this {
    this.statusCode = code;
    return this;
  }
  header(name: string, value: unknown): this {
    this.headers[name.toLowerCase()] = String(value);
    return this;
  }
  send(body: unknown): this {
    this.body = body;
    return this;
  }
  end(): this {
    this.ended = true;
    return this;
  }
}

/**
 * The handler around one bot application (built lazily, once). A failed build is not cached: the
 * next invoke tries again (e.g. a secret filled in after the deploy), and each one answers 503.
 */
export function createBotLambdaHandler(build: () => Promise<BotLambdaTarget>, fallbackLog: Log = jsonLog('INFO')): BotLambdaHandler & { ready(): Promise<BotLambdaTarget> } {
  let pending: Promise<BotLambdaTarget> | undefined;
  const ready = () => {
    pending ??= build().catch((e: unknown) => {
      pending = undefined;
      throw e;
    });
    return pending;
  };

  const ensureReady = async (): Promise<BotLambdaTarget | undefined> => {
    try {
      return await ready();
    } catch (e) {
      // The reason (a BotConfigError names the variable, never a value) goes to the log only; the
      // name is compared rather than the class so that this module stays free of the config schema.
      fallbackLog.error('bot initialisation failed', { ...errorDetails(e), ...((e as Error | undefined)?.name === 'BotConfigError' ? { reason: (e as Error).message } : {}) });
      return undefined;
    }
  };

  /** A backend notice, invoked directly (IAM authenticated the caller; the schema checks the shape). */
  const notice = async (payload: unknown): Promise<NotifyInvokeAnswer> => {
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return invokeProblem(400, 'VALIDATION', 'A direct invoke carries a notification object.');
    const target = await ensureReady();
    if (!target) return invokeProblem(503, 'NOT_READY', 'The bot is not configured yet; try again later.');
    const { store, clock } = target;
    const handle = target.notifications?.handle?.bind(target.notifications);
    if (!store || !clock || !handle) return invokeProblem(501, 'NOT_SUPPORTED', 'This bot does not take notifications.');
    // The notice's card writes finish inside `handle` (the one writer of posted cards): nothing is
    // left running when Lambda freezes the process after the answer.
    return deliverNotification({ store, clock, log: target.log, notifications: { handle } }, payload);
  };

  const http = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
    if (path !== '/api/messages') return problemResult(404, 'NOT_FOUND', 'No such route.');
    if (method !== 'POST') return { ...problemResult(405, 'METHOD_NOT_ALLOWED', 'Only POST is accepted here.'), headers: { 'content-type': PROBLEM_CONTENT_TYPE, allow: 'POST' } };

    // Refusals that need no configuration come first, exactly as the express route's body parser.
    const raw = event.body === undefined || event.body === null ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
    if (!isJson(header(event, 'content-type'))) return problemResult(415, 'UNSUPPORTED_MEDIA_TYPE', 'The body must be a Bot Framework activity as application/json.');
    if (raw && raw.byteLength > LAMBDA_MESSAGES_MAX_BYTES) return problemResult(413, 'PAYLOAD_TOO_LARGE', 'The body is too large.');
    const text = raw?.toString('utf8') ?? '';
    // express.json's strict mode: only an object or an array is JSON here ('null', '7' are not).
    const first = text.trimStart()[0];
    let body: unknown;
    try {
      if (first !== '{' && first !== '[') throw new SyntaxError('not an object or array');
      body = JSON.parse(text);
    } catch {
      return problemResult(400, 'MALFORMED_JSON', 'The body is not valid JSON.');
    }
    if (!body || typeof body !== 'object' || Array.isArray(body) || typeof (body as { type?: unknown }).type !== 'string' || !(body as { type: string }).type) {
      return problemResult(400, 'NOT_AN_ACTIVITY', 'The body is not a Bot Framework activity (a JSON object with a type).');
    }

    const target = await ensureReady();
    if (!target) return problemResult(503, 'NOT_READY', 'The bot is not configured yet; try again later.');

    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
    const req = { method, headers, body: body as Record<string, unknown> };
    const res = new CollectingResponse();
    try {
      await target.messages.process(req, res);
    } catch (e) {
      target.log.error('activity processing failed', errorDetails(e));
      return problemResult(500, 'INTERNAL', 'The bot could not process this activity.');
    }
    // CloudAdapter answers a refused token with 401 and the library's message as text: keep the
    // status, replace the text with a problem (no library internals on the wire).
    // An invoke the bot itself answers 401 with a body (Teams SSO's loginRequest for a step-up vote)
    // passes through: only the adapter's own refusal (no body, or its text) is replaced.
    if (res.statusCode === 401 && (res.body === undefined || res.body === null || typeof res.body === 'string')) return problemResult(401, 'UNAUTHORIZED', 'The request is not authenticated by the Bot Framework.');
    if (res.statusCode >= 500) return problemResult(res.statusCode, 'INTERNAL', 'The bot could not process this activity.');
    if (res.statusCode === 400 && typeof res.body === 'string') return problemResult(400, 'NOT_AN_ACTIVITY', 'The body is not a Bot Framework activity.');
    if (res.body === undefined || res.body === null || res.body === '') return { statusCode: res.statusCode, headers: res.headers };
    const isText = typeof res.body === 'string';
    return {
      statusCode: res.statusCode,
      headers: { 'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8', ...res.headers },
      body: isText ? (res.body as string) : JSON.stringify(res.body),
    };
  };
  const handler = ((event: unknown) => (isHttpApiEvent(event) ? http(event) : notice(event))) as BotLambdaHandler;
  return Object.assign(handler, { ready });
}

