/**
 * Notifications to the bot: an HMAC-signed `POST /api/notify` (contract/notify-signature.ts) carrying a
 * NotificationBody (contract/notify.ts). The notificationId is deterministic (request, event, version), so a retry of
 * the same notice, by this function or by a Lambda retry, is recognized by the bot, which answers
 * 409 DUPLICATE: that counts as delivered. 5xx, 429, timeouts and network errors are retried with
 * backoff; any other 4xx is a bug on one side and is not.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MAX_FINDINGS_PER_NOTICE, NOTIFY_DUPLICATE, type FindingView, type NotificationBody, notifyProblemSchema } from '../../contract/notify';
import { signNotification } from '../../contract/notify-signature';
import { DependencyError } from '../../core/errors';
import { type AccessRequest, type SecurityFinding, toRequestView } from '../../core/model';
import type { Clock, NotificationEvent, Notifier } from '../../core/ports';
import { findingsNotificationId, findingViewOf } from './finding-views';
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry';

const DEPENDENCY = 'Teams bot';

/** Where the signing key comes from. */
export interface SecretSource {
  get(options?: { refresh?: boolean }): Promise<string>;
}

/** A fixed key (sandbox, tests). */
export function staticSecret(value: string): SecretSource {
  return { get: async () => value };
}

/**
 * The key from Secrets Manager, cached for `ttlMs` with one fetch in flight at a time; `refresh`
 * fetches again (after the bot rejected our signature: the secret may have been rotated).
 */
export class SecretsManagerSecret implements SecretSource {
  private value: { secret: string; expires: number } | undefined;
  private inflight: Promise<string> | undefined;
  fetches = 0;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly clock: Clock,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  get(options: { refresh?: boolean } = {}): Promise<string> {
    if (!options.refresh && this.value && this.value.expires > this.clock.now()) return Promise.resolve(this.value.secret);
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetch(): Promise<string> {
    this.fetches++;
    const out = await withRetry({ clock: this.clock, random: Math.random, policy: { ...DEFAULT_RETRY, maxAttempts: 3 }, dependency: 'Secrets Manager', operation: 'GetSecretValue' }, () =>
      this.client.send(new GetSecretValueCommand({ SecretId: this.secretId })),
    );
    const secret = out.SecretString;
    if (!secret) throw new DependencyError('Secrets Manager', `The secret ${this.secretId} has no string value.`, false);
    this.value = { secret, expires: this.clock.now() + this.ttlMs };
    return secret;
  }
}

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export interface BotNotifierOptions {
  url: string;
  secret: SecretSource;
  clock: Clock;
  /** The product's region (console links of our own findings). */
  region: string;
  random?: () => number;
  retry?: RetryPolicy;
  /** Per attempt. */
  timeoutMs?: number;
  fetch?: FetchLike;
  /** Longest Retry-After honored. */
  maxRetryAfterMs?: number;
  /**
   * The most one send may take, attempts and waits included (default: notifierWorstCaseMs of these
   * options). A send never runs past it: the last attempt gets what is left, and a wait that would
   * end past it gives up instead. It keeps a send inside the calling function's timeout.
   */
  budgetMs?: number;
}

/** The notifier settings every Lambda uses (lambdas/composition.ts): their worst case fits every function timeout (test/infra). */
export const FUNCTION_NOTIFIER = {
  retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 1_000 },
  timeoutMs: 3_000,
  maxRetryAfterMs: 2_000,
} as const satisfies Pick<BotNotifierOptions, 'retry' | 'timeoutMs' | 'maxRetryAfterMs'>;

/**
 * The longest one send can take: every attempt timing out, and the longest wait between attempts
 * (backoff or a Retry-After, whichever is longer). The re-signed attempt after a 401 counts as one.
 */
export function notifierWorstCaseMs(options: Pick<BotNotifierOptions, 'retry' | 'timeoutMs' | 'maxRetryAfterMs'>): number {
  const policy = options.retry ?? { ...DEFAULT_RETRY, maxAttempts: 4 };
  const timeout = options.timeoutMs ?? 5_000;
  const wait = Math.max(policy.maxDelayMs, options.maxRetryAfterMs ?? 10_000);
  return policy.maxAttempts * timeout + (policy.maxAttempts - 1) * wait;
}

/** Sends a NotificationBody; the findings function uses this directly. */
export interface NotificationSender {
  send(body: NotificationBody): Promise<void>;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'HttpFailure';
  }
}

export function requestNotificationId(requestId: string, event: NotificationEvent, version: number): string {
  return `req.${requestId.replace(/[^A-Za-z0-9_-]/g, '_')}.${event}.v${version}`.slice(0, 128);
}

/** The `code` of the bot's problem-details answer, if it is one. */
function problemCode(text: string): string | undefined {
  try {
    const parsed = notifyProblemSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.code : undefined;
  } catch {
    return undefined;
  }
}

export class BotNotifier implements Notifier, NotificationSender {
  private readonly fetch: FetchLike;
  private readonly random: () => number;

  constructor(private readonly options: BotNotifierOptions) {
    this.fetch = options.fetch ?? (globalThis.fetch as unknown as FetchLike);
    this.random = options.random ?? Math.random;
  }

  async requestChanged(event: NotificationEvent, request: AccessRequest, noticeVersion = request.version): Promise<void> {
    await this.send({ kind: 'request', event, request: toRequestView(request), notificationId: requestNotificationId(request.id, event, noticeVersion) });
  }

  async findings(findings: SecurityFinding[]): Promise<void> {
    const views = findings.map((f) => findingViewOf(f, this.options.region));
    await this.findingViews(views);
  }

  /** At most MAX_FINDINGS_PER_NOTICE findings per notification (the bot's schema). */
  async findingViews(views: FindingView[]): Promise<void> {
    for (let i = 0; i < views.length; i += MAX_FINDINGS_PER_NOTICE) {
      const chunk = views.slice(i, i + MAX_FINDINGS_PER_NOTICE);
      await this.send({ kind: 'findings', findings: chunk, notificationId: findingsNotificationId(chunk) });
    }
  }

  async send(body: NotificationBody): Promise<void> {
    const raw = JSON.stringify(body);
    const policy = this.options.retry ?? { ...DEFAULT_RETRY, maxAttempts: 4 };
    const budget = this.options.budgetMs ?? notifierWorstCaseMs(this.options);
    const started = this.options.clock.now();
    let refreshed = false;
    let refreshNext = false;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.post(raw, refreshNext, Math.max(1, Math.min(this.options.timeoutMs ?? 5_000, budget - (this.options.clock.now() - started))));
        return;
      } catch (e) {
        refreshNext = false;
        // A rejected signature, once: the key may have been rotated since we cached it.
        if (e instanceof HttpFailure && e.status === 401 && !refreshed) {
          refreshed = refreshNext = true;
          continue;
        }
        const retryable = !(e instanceof HttpFailure) || e.status >= 500 || e.status === 429;
        if (!retryable) throw new DependencyError(DEPENDENCY, `${DEPENDENCY} refused the notification: ${(e as Error).message}`, false);
        if (attempt >= policy.maxAttempts) throw new DependencyError(DEPENDENCY, `${DEPENDENCY} notification failed after ${attempt} attempts: ${(e as Error).message}`, true);
        const backoff = backoffDelay(policy, attempt - 1, this.random);
        const hinted = e instanceof HttpFailure && e.retryAfterMs !== undefined ? Math.min(e.retryAfterMs, this.options.maxRetryAfterMs ?? 10_000) : 0;
        const wait = Math.max(backoff, hinted);
        if (this.options.clock.now() - started + wait >= budget) {
          throw new DependencyError(DEPENDENCY, `${DEPENDENCY} notification failed after ${attempt} attempts (its ${budget} ms budget would run out): ${(e as Error).message}`, true);
        }
        await this.options.clock.sleep(wait);
      }
    }
  }

  private async post(raw: string, refreshSecret: boolean, timeoutMs: number): Promise<void> {
    const secret = await this.options.secret.get({ refresh: refreshSecret });
    // Signed per attempt: the timestamp is inside the MAC and the bot checks its age.
    const headers = signNotification(secret, raw, this.options.clock.now());
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await this.fetch(this.options.url, { method: 'POST', headers, body: raw, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const name = e instanceof Error ? e.name : 'Error';
      throw new Error(name === 'TimeoutError' || name === 'AbortError' ? `timed out after ${timeoutMs} ms` : `network error: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (res.status >= 200 && res.status < 300) return;
    const text = await res.text().catch(() => '');
    if (res.status === NOTIFY_DUPLICATE.status && problemCode(text) === NOTIFY_DUPLICATE.code) return;
    const retryAfter = Number(res.headers.get('retry-after'));
    throw new HttpFailure(res.status, `HTTP ${res.status} ${text.slice(0, 200)}`, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
  }
}
