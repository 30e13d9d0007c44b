/**
 * Keeping to Teams' rate limits: every outbound connector call goes through one pipeline policy
 * that (1) paces message writes per conversation (all of Teams' per-thread windows, in order) and
 * (2) retries throttling and transient failures with exponential backoff and jitter, honoring
 * Retry-After. The SDK's own retry policy is removed so that retries are not multiplied and so
 * that the clock is ours (tests drive it with fake timers).
 */
import type { Clock } from '../core/ports';
import { systemClock } from '../runtime/clock';
import type { Log } from './log';
import { silentLog } from './log';

export { systemClock } from '../runtime/clock';

/** At most `max` message writes in any `windowMs`. */
export interface SendWindow {
  max: number;
  windowMs: number;
}

/**
 * Teams' per bot per thread limits for sending to a conversation: 7 per 1 s, 8 per 2 s, 60 per
 * 30 s and 1,800 per hour, all at once (Microsoft Learn, "Optimize your bot with rate limiting
 * and best practices in Teams", per bot per thread limit). Pacing to the 1 s window alone still
 * earns 429s: 8 writes in 2 s already break the second window.
 */
export const TEAMS_PER_THREAD_SEND_LIMITS: readonly SendWindow[] = [
  { max: 7, windowMs: 1_000 },
  { max: 8, windowMs: 2_000 },
  { max: 60, windowMs: 30_000 },
  { max: 1_800, windowMs: 3_600_000 },
];

/**
 * A sliding-window limiter per key that holds every window at once: a write starts only when it
 * fits in all of them. Calls for one key run one at a time in arrival order (a message never
 * overtakes an earlier one in the same chat).
 */
export class ConversationPacer {
  private readonly starts = new Map<string, number[]>();
  private readonly tails = new Map<string, Promise<void>>();
  private readonly longestMs: number;

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly windows: readonly SendWindow[] = TEAMS_PER_THREAD_SEND_LIMITS,
  ) {
    if (windows.length === 0 || windows.some((w) => !(w.max >= 1) || !(w.windowMs > 0))) throw new Error('ConversationPacer needs windows with max >= 1 and windowMs > 0');
    this.longestMs = Math.max(...windows.map((w) => w.windowMs));
  }

  /**
   * Runs `fn` after every earlier call for `key` has finished. `fn` calls `slot()` before each
   * write it makes (a retry is a write too), so retries count against the same budget and a
   * message being retried is never overtaken by a later one. `slot()` resolves to `sent`, which
   * `fn` calls once the write's answer is back: the write then counts from that moment, the
   * latest Teams can have received it. Counted from its start instead, a write that took longer
   * on the network than the one `max` places after it looks to Teams closer to it than the
   * window allows, and earns a 429 at every window's edge (11 in a burst of 100 with 5-80 ms of
   * jitter); Teams counts arrivals, which the bot cannot see.
   */
  run<T>(key: string, fn: (slot: () => Promise<() => void>) => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(() => fn(() => this.waitForSlot(key)));
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** How long until a write for `key` fits in every window (0: now). `recent` is oldest first. */
  private waitMs(recent: readonly number[], now: number): number {
    let wait = 0;
    for (const w of this.windows) {
      const inWindow = recent.filter((t) => t > now - w.windowMs);
      if (inWindow.length >= w.max) wait = Math.max(wait, inWindow[inWindow.length - w.max]! + w.windowMs - now);
    }
    return wait;
  }

  private async waitForSlot(key: string): Promise<() => void> {
    for (;;) {
      const now = this.clock.now();
      const recent = (this.starts.get(key) ?? []).filter((t) => t > now - this.longestMs);
      const wait = this.waitMs(recent, now);
      if (wait <= 0) {
        recent.push(now);
        this.starts.set(key, recent);
        // Writes for a key run one at a time, so this one is still the newest when it is answered.
        return () => {
          const times = this.starts.get(key);
          const i = times?.lastIndexOf(now) ?? -1;
          if (times && i >= 0) times[i] = Math.max(times[i]!, this.clock.now());
        };
      }
      this.starts.set(key, recent);
      await this.clock.sleep(wait);
    }
  }
}

export interface RetryOptions {
  /** Total attempts including the first. Default 5. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails instead. Default 60 s. */
  maxRetryAfterMs?: number;
  random?: () => number;
}

/** Parses Retry-After (delta-seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | undefined | null, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Minimal structural types of @azure/core-rest-pipeline, which botframework-connector uses. */
export interface PipelineRequestLike {
  url: string;
  method: string;
  body?: unknown;
}
export interface PipelineResponseLike {
  status: number;
  headers: { get(name: string): string | undefined };
}
export interface PipelinePolicyLike {
  name: string;
  sendRequest(request: PipelineRequestLike, next: (request: PipelineRequestLike) => Promise<PipelineResponseLike>): Promise<PipelineResponseLike>;
}

const RETRY_ALWAYS = new Set([429, 502, 503, 504]);
/** Errors raised before the request reached the server: safe to retry even a POST. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);
const IN_FLIGHT_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET']);

function errorCode(e: unknown): string | undefined {
  const err = e as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const c = err?.code ?? err?.cause?.code;
  return typeof c === 'string' ? c : undefined;
}

/** Which conversation a connector call writes to, or undefined for reads (which are not paced). */
export function paceKey(request: PipelineRequestLike): string | undefined {
  const method = request.method.toUpperCase();
  if (method === 'GET' || method === 'DELETE') return undefined;
  let path: string;
  try {
    path = new URL(request.url).pathname;
  } catch {
    return undefined;
  }
  const m = /\/v3\/conversations\/([^/]+)\/activities(?:\/[^/]+)?\/?$/.exec(path);
  if (m) {
    // A channel thread id is `<channel>;messageid=<root>`: threads of one channel share its limit.
    return `conversation:${decodeURIComponent(m[1]!).split(';')[0]}`;
  }
  if (/\/v3\/conversations\/?$/.test(path)) {
    const body = typeof request.body === 'string' ? request.body : '';
    const channel = /"channel"\s*:\s*\{\s*"id"\s*:\s*"([^"]+)"/.exec(body)?.[1];
    return channel ? `conversation:${channel}` : 'create-conversation';
  }
  return undefined;
}

export class RetryingSender {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly random: () => number;

  constructor(
    private readonly clock: Clock = systemClock,
    options: RetryOptions = {},
    private readonly log: Log = silentLog,
  ) {
    this.maxAttempts = options.maxAttempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 16_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.random = options.random ?? Math.random;
  }

  /** Sends with retries. `idempotent` decides whether an ambiguous failure (5xx, reset mid-flight) is retried. */
  async send(request: PipelineRequestLike, next: (r: PipelineRequestLike) => Promise<PipelineResponseLike>, idempotent: boolean): Promise<PipelineResponseLike> {
    for (let attempt = 1; ; attempt++) {
      let response: PipelineResponseLike | undefined;
      try {
        response = await next(request);
      } catch (e) {
        const code = errorCode(e);
        const retryable = (code !== undefined && NOT_SENT_CODES.has(code)) || (idempotent && code !== undefined && IN_FLIGHT_CODES.has(code));
        if (!retryable || attempt >= this.maxAttempts) throw e;
        const delay = this.backoff(attempt);
        this.log.warn('connector call failed; retrying', { code, attempt, delayMs: delay });
        await this.clock.sleep(delay);
        continue;
      }
      const status = response.status;
      const retryable = RETRY_ALWAYS.has(status) || (idempotent && status === 500);
      if (!retryable || attempt >= this.maxAttempts) return response;
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), this.clock.now());
      if (retryAfter !== undefined && retryAfter > this.maxRetryAfterMs) return response;
      const delay = Math.max(retryAfter ?? 0, this.backoff(attempt));
      this.log.warn('connector call throttled or failed; retrying', { status, attempt, delayMs: delay });
      await this.clock.sleep(delay);
    }
  }

  /** Exponential backoff with "equal jitter": never less than half the step, so pacing stays meaningful. */
  private backoff(attempt: number): number {
    const step = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(step / 2 + (this.random() * step) / 2);
  }
}

/** The policy installed in every ConnectorClient's pipeline, in the Retry phase. */
export function deliveryPolicy(pacer: ConversationPacer, sender: RetryingSender): PipelinePolicyLike {
  return {
    name: 'jitDeliveryPolicy',
    sendRequest(request, next) {
      const idempotent = ['GET', 'PUT', 'DELETE', 'HEAD'].includes(request.method.toUpperCase());
      const key = paceKey(request);
      if (key === undefined) return sender.send(request, next, idempotent);
      return pacer.run(key, (slot) =>
        sender.send(
          request,
          async (r) => {
            const sent = await slot();
            try {
              return await next(r);
            } finally {
              sent();
            }
          },
          idempotent,
        ),
      );
    },
  };
}
