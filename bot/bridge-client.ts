/**
 * Typed client for the bridge API (contract/bridge.ts). Every call carries:
 * - `Authorization: Bearer <token>` from the TokenProvider (msal client credentials in AWS);
 * - the ACTOR_HEADERS, taken from the authenticated Teams activity by the caller. Card data never
 *   reaches these headers: the bridge maps the actor to an Identity Center user itself.
 * Every call has a total deadline (retries included) so that an invoke is answered well within
 * Teams' 15 s limit. Every answer is parsed with the contract's response schema; an answer that
 * does not match is a protocol error. Error bodies become typed errors: DomainError codes (the
 * error catalogue's) for what the server refused, BridgeUnavailableError for what may work on a retry.
 */
import type * as z from 'zod/mini';
import {
  ACTOR_HEADERS,
  type CancelBody,
  type CreateRequestBody,
  type DecisionBody,
  type DecisionResponse,
  decisionResponseSchema,
  type EligibilityQuery,
  type EligibilityResponse,
  eligibilityResponseSchema,
  errorResponseSchema,
  type ExtendBody,
  type KpiResponse,
  kpiResponseSchema,
  type ListQuery,
  type RequestListResponse,
  requestListResponseSchema,
  type RequestResponse,
  requestResponseSchema,
  type ReviewBody,
  type RevokeBody,
  requestIdSchema,
} from '../contract/bridge';
import { isDomainErrorCode } from '../contract/errors';
import { DomainError, type DomainErrorCode, NotFoundError, ValidationError } from '../core/errors';
import { type FetchLike, httpFetch } from './http-fetch';
import type { TokenProvider } from './token-provider';

/** Who is acting, as the authenticated Teams activity (and roster) says. */
export interface ActorIdentity {
  aadObjectId: string;
  tenantId: string;
  upn?: string;
  displayName?: string;
}

export type { DecisionResponse };

/** The bridge could not be reached or did not answer in time; nothing is known to have happened. */
export class BridgeUnavailableError extends Error {
  constructor(
    readonly reason: 'timeout' | 'network' | 'server' | 'auth' | 'protocol',
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BridgeUnavailableError';
  }
}

/** A refusal from the bridge, as a core DomainError with the HTTP status kept for logs. */
export class BridgeRefusal extends DomainError {
  readonly issues: Array<{ path: string; message: string }>;
  constructor(
    code: DomainErrorCode,
    message: string,
    readonly status: number,
    issues: Array<{ path: string; message: string }> = [],
  ) {
    super(code, message, { status, issues });
    this.issues = issues;
  }
}

export interface BridgeClientOptions {
  baseUrl: string;
  tokens: TokenProvider;
  /** Total time for one call including a retry. Default 8000 ms. */
  timeoutMs?: number;
  /** Default: node:http(s) (bot/http-fetch.ts), which costs far less CPU per call than the global fetch. */
  fetch?: FetchLike | typeof fetch;
  /** Pause between attempts of an idempotent call. Default 250 ms. */
  retryDelayMs?: number;
}

interface CallOptions {
  signal?: AbortSignal;
}

type Method = 'GET' | 'POST';

export class BridgeClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: FetchLike;
  private readonly retryDelayMs: number;

  constructor(private readonly options: BridgeClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 8000;
    this.fetchImpl = (options.fetch as FetchLike | undefined) ?? httpFetch;
    this.retryDelayMs = options.retryDelayMs ?? 250;
  }

  /** Idempotent per (requester, clientRequestId): a retry after a timeout returns the same request. */
  async submitRequest(actor: ActorIdentity, body: CreateRequestBody, o?: CallOptions): Promise<RequestResponse> {
    return this.call('POST', '/requests', actor, requestResponseSchema, 'a request', { body, idempotent: true, ...o });
  }

  async listRequests(actor: ActorIdentity, view: ListQuery['view'], o?: CallOptions): Promise<RequestListResponse> {
    return this.call('GET', `/requests?view=${encodeURIComponent(view)}`, actor, requestListResponseSchema, 'a request list', { idempotent: true, ...o });
  }

  async getRequest(actor: ActorIdentity, requestId: string, o?: CallOptions): Promise<RequestResponse> {
    return this.call('GET', requestPath(requestId), actor, requestResponseSchema, 'a request', { idempotent: true, ...o });
  }

  /** Idempotent on the server: a second vote by the same approver is reported as `duplicate`. */
  async decide(actor: ActorIdentity, requestId: string, body: DecisionBody, o?: CallOptions): Promise<DecisionResponse> {
    return this.call('POST', `${requestPath(requestId)}/decisions`, actor, decisionResponseSchema, 'a decision', { body, idempotent: true, ...o });
  }

  async revoke(actor: ActorIdentity, requestId: string, body: RevokeBody, o?: CallOptions): Promise<RequestResponse> {
    return this.call('POST', `${requestPath(requestId)}/revoke`, actor, requestResponseSchema, 'a request', { body, idempotent: true, ...o });
  }

  async cancel(actor: ActorIdentity, requestId: string, body: CancelBody, o?: CallOptions): Promise<RequestResponse> {
    return this.call('POST', `${requestPath(requestId)}/cancel`, actor, requestResponseSchema, 'a request', { body, idempotent: true, ...o });
  }

  /** NOT idempotent (two extends add twice), so it is never retried automatically. */
  async extend(actor: ActorIdentity, requestId: string, body: ExtendBody, o?: CallOptions): Promise<RequestResponse> {
    return this.call('POST', `${requestPath(requestId)}/extend`, actor, requestResponseSchema, 'a request', { body, idempotent: false, ...o });
  }

  async review(actor: ActorIdentity, requestId: string, body: ReviewBody, o?: CallOptions): Promise<RequestResponse> {
    return this.call('POST', `${requestPath(requestId)}/review`, actor, requestResponseSchema, 'a request', { body, idempotent: true, ...o });
  }

  async eligibility(actor: ActorIdentity, query: EligibilityQuery, o?: CallOptions): Promise<EligibilityResponse> {
    const params = new URLSearchParams();
    if (query.q !== undefined) params.set('q', query.q);
    if (query.accountId !== undefined) params.set('accountId', query.accountId);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const qs = params.toString();
    return this.call('GET', `/eligibility${qs ? `?${qs}` : ''}`, actor, eligibilityResponseSchema, 'an eligibility answer', { idempotent: true, ...o });
  }

  /** The access KPIs of the last `days` days (approvers only; the bridge decides). */
  async kpis(actor: ActorIdentity, days?: number, o?: CallOptions): Promise<KpiResponse> {
    return this.call('GET', `/kpis${days === undefined ? '' : `?days=${encodeURIComponent(String(days))}`}`, actor, kpiResponseSchema, 'the KPIs', { idempotent: true, ...o });
  }

  private async call<S extends z.ZodMiniType>(method: Method, path: string, actor: ActorIdentity, schema: S, what: string, o: { body?: unknown; idempotent: boolean; signal?: AbortSignal }): Promise<z.output<S>> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new BridgeUnavailableError('timeout', 'The access service did not answer in time.')), this.timeoutMs);
    const onOuterAbort = () => deadline.abort(o.signal?.reason);
    o.signal?.addEventListener('abort', onOuterAbort, { once: true });
    try {
      const maxAttempts = o.idempotent ? 2 : 1;
      for (let attempt = 1; ; attempt++) {
        try {
          const json = await this.attempt(method, path, actor, o.body, deadline.signal);
          const parsed = schema.safeParse(json);
          // A 2xx that is not the contract's answer: nothing known happened, and a retry cannot help.
          if (!parsed.success) throw protocolError(what);
          return parsed.data;
        } catch (e) {
          const retryable = e instanceof BridgeUnavailableError && (e.reason === 'network' || e.reason === 'server');
          if (!retryable || attempt >= maxAttempts || deadline.signal.aborted) throw e;
          await abortableDelay(this.retryDelayMs, deadline.signal).catch(() => {
            throw deadlineError(deadline.signal);
          });
        }
      }
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  private async attempt(method: Method, path: string, actor: ActorIdentity, body: unknown, signal: AbortSignal): Promise<unknown> {
    let token: string;
    try {
      token = await raceAbort(this.options.tokens.getToken(), signal);
    } catch (e) {
      if (signal.aborted) throw deadlineError(signal);
      throw new BridgeUnavailableError('auth', 'The bot could not get a token for the access service.', undefined, { cause: e });
    }
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${token}`,
      ...actorHeaders(actor),
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        redirect: 'error',
      });
    } catch (e) {
      if (signal.aborted) throw deadlineError(signal);
      throw new BridgeUnavailableError('network', 'The access service could not be reached.', undefined, { cause: e });
    }
    const text = await raceAbort(res.text(), signal).catch((e: unknown) => {
      if (signal.aborted) throw deadlineError(signal);
      throw new BridgeUnavailableError('network', 'The access service connection broke.', res.status, { cause: e });
    });
    const json = parseJson(text);
    if (res.ok) {
      if (json === undefined) throw protocolError('JSON');
      return json;
    }
    throw toError(res.status, json);
  }
}

function requestPath(requestId: string): string {
  // Checked before it becomes part of a URL: a forged id can never address another route.
  const parsed = requestIdSchema.safeParse(requestId);
  if (!parsed.success) throw new NotFoundError('Request', String(requestId).slice(0, 64));
  return `/requests/${encodeURIComponent(parsed.data)}`;
}

/** HTTP headers are Latin-1: the display name is percent-encoded, and the bridge decodes it. */
export function actorHeaders(actor: ActorIdentity): Record<string, string> {
  const h: Record<string, string> = {
    [ACTOR_HEADERS.aadObjectId]: actor.aadObjectId,
    [ACTOR_HEADERS.tenantId]: actor.tenantId,
  };
  if (actor.upn) h[ACTOR_HEADERS.upn] = actor.upn;
  if (actor.displayName) h[ACTOR_HEADERS.displayName] = encodeURIComponent(actor.displayName.slice(0, 256));
  return h;
}

function toError(status: number, json: unknown): Error {
  const parsed = errorResponseSchema.safeParse(json);
  const err = parsed.success ? parsed.data.error : undefined;
  const code = err?.code;
  const message = err ? err.message.slice(0, 500) : undefined;
  if (status === 401) return new BridgeUnavailableError('auth', 'The access service refused the bot credentials.', status);
  if (status >= 500 || status === 429 || code === 'DEPENDENCY_FAILED') {
    return new BridgeUnavailableError('server', 'The access service is temporarily unavailable.', status);
  }
  if (isDomainErrorCode(code)) {
    const issues = (err?.issues ?? []).slice(0, 20);
    if (code === 'VALIDATION') return new ValidationError(message ?? 'The input is not valid.', issues);
    return new BridgeRefusal(code, message ?? code, status, issues);
  }
  if (status === 413 || status === 415 || status === 400) return new BridgeRefusal('VALIDATION', message ?? 'The input was refused.', status);
  if (status === 403) return new BridgeRefusal('FORBIDDEN', message ?? 'The access service refused this action.', status);
  if (status === 404) return new BridgeRefusal('NOT_FOUND', message ?? 'Not found.', status);
  return new BridgeUnavailableError('protocol', `The access service answered ${status}.`, status);
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function protocolError(what: string): BridgeUnavailableError {
  return new BridgeUnavailableError('protocol', `The access service did not answer with ${what}.`);
}

function deadlineError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof BridgeUnavailableError ? reason : new BridgeUnavailableError('timeout', 'The access service did not answer in time.');
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(deadlineError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(deadlineError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(deadlineError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
