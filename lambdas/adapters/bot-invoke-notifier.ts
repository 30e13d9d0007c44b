/**
 * Notifications to the bot hosted in the stack: a synchronous Lambda invoke (InvocationType
 * RequestResponse) of the bot function's `live` alias, its payload the NotificationBody of
 * contract/notify.ts, unsigned: IAM is the authentication (only the backend functions' roles may
 * invoke the alias, infra/stacks/jit-access-stack.ts), so no shared secret travels or is stored.
 * The bot answers `{status, body}` as its HTTP `/api/notify` would (bot/lambda-entry.ts).
 *
 * RequestResponse, not Event: the workflow's PostApprovalCard must know the card was posted.
 * Same semantics and the same bounded time as the HTTP notifier (bot-notifier.ts):
 *   - 2xx, and 409 DUPLICATE (a retry of a notice already received), are delivered;
 *   - a function error (FunctionError set: the handler threw, or the function timed out or ran out
 *     of memory), 5xx or 429 answers, throttling, service errors, network errors and per-attempt
 *     timeouts are retried with backoff within the budget, then a retryable DependencyError;
 *   - any other answer (400 VALIDATION, a missing function, access denied) is a bug or a
 *     misconfiguration on one side: a non-retryable DependencyError at once.
 * "Invoke" (AWS Lambda API Reference, https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html):
 * the response's StatusCode is 200 for RequestResponse, FunctionError says the function failed and
 * the Payload then holds the error object; the request payload is at most 6 MB.
 */
import { InvokeCommand, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { MAX_FINDINGS_PER_NOTICE, NOTIFY_DUPLICATE, type FindingView, type NotificationBody, notifyInvokeAnswerSchema, notifyProblemSchema } from '../../contract/notify';
import { DependencyError } from '../../core/errors';
import { type AccessRequest, type SecurityFinding, toRequestView } from '../../core/model';
import type { Clock, NotificationEvent, Notifier } from '../../core/ports';
import { type NotificationSender, notifierWorstCaseMs, requestNotificationId } from './bot-notifier';
import { findingsNotificationId, findingViewOf } from './finding-views';
import { backoffDelay, type RetryPolicy } from './retry';

const DEPENDENCY = 'Teams bot';

/** What the sender needs of a Lambda client: `LambdaClient` itself, or the sandbox's local invoker. */
export interface LambdaInvoker {
  send(command: InvokeCommand, options?: { abortSignal?: AbortSignal }): Promise<InvokeCommandOutput>;
}

/**
 * The settings every backend function uses. A cold start of the bot (bundle load, the Secrets
 * Manager read, a first Entra token) is not a failure, so one attempt gets 6 s rather than the
 * HTTP notifier's 3 s, and there are two; the worst case, 2 x 6 s + 1 s, is close to the HTTP
 * notifier's 13 s and fits every notifying function's timeout (test/infra).
 */
export const INVOKE_NOTIFIER = {
  retry: { maxAttempts: 2, baseDelayMs: 200, maxDelayMs: 1_000 },
  timeoutMs: 6_000,
  // Lambda sends no Retry-After: the wait between attempts is the backoff only.
  maxRetryAfterMs: 0,
} as const;

/** The longest one send can take (every attempt timing out, the longest wait between them). */
export function invokeNotifierWorstCaseMs(options: Pick<BotInvokeNotifierOptions, 'retry' | 'timeoutMs'> = INVOKE_NOTIFIER): number {
  return notifierWorstCaseMs({ retry: options.retry ?? INVOKE_NOTIFIER.retry, timeoutMs: options.timeoutMs ?? INVOKE_NOTIFIER.timeoutMs, maxRetryAfterMs: 0 });
}

export interface BotInvokeNotifierOptions {
  /** The bot function's alias ARN (`arn:aws:lambda:<region>:<account>:function:<name>:live`). */
  functionArn: string;
  lambda: LambdaInvoker;
  clock: Clock;
  /** The product's region (console links of our own findings). */
  region: string;
  random?: () => number;
  retry?: RetryPolicy;
  /** Per attempt. */
  timeoutMs?: number;
  /** The most one send may take, attempts and waits included (default: the worst case of these options). */
  budgetMs?: number;
}

/** One failed attempt: whether another one may help. */
class InvokeFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'InvokeFailure';
  }
}

/** SDK errors of Invoke that another attempt may cure ("Invoke", Errors: 429 and 5xx). */
function sdkFailure(e: unknown, timeoutMs: number): InvokeFailure {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const name = err?.name ?? 'Error';
  if (name === 'AbortError' || name === 'TimeoutError') return new InvokeFailure(`timed out after ${timeoutMs} ms`, true);
  const status = err?.$metadata?.httpStatusCode;
  const retryable = status === undefined || status >= 500 || status === 429 || name === 'TooManyRequestsException' || !!err?.$retryable;
  return new InvokeFailure(`${name}${status ? ` (HTTP ${status})` : ''}: ${(err?.message ?? String(e)).slice(0, 200)}`, retryable);
}

function decode(payload: InvokeCommandOutput['Payload']): string {
  if (payload === undefined) return '';
  return typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
}

export class BotInvokeNotifier implements Notifier, NotificationSender {
  private readonly random: () => number;

  constructor(private readonly options: BotInvokeNotifierOptions) {
    this.random = options.random ?? Math.random;
  }

  /**
   * `noticeVersion` is the version of the change that queued the notice (flushNotices passes it): a
   * notice carried forward by a later write keeps its id, so the bot answers DUPLICATE rather than
   * rendering the posted cards again (in a burst, a channel update costs a post's rate budget).
   */
  async requestChanged(event: NotificationEvent, request: AccessRequest, noticeVersion = request.version): Promise<void> {
    await this.send({ kind: 'request', event, request: toRequestView(request), notificationId: requestNotificationId(request.id, event, noticeVersion) });
  }

  async findings(findings: SecurityFinding[]): Promise<void> {
    await this.findingViews(findings.map((f) => findingViewOf(f, this.options.region)));
  }

  /** At most MAX_FINDINGS_PER_NOTICE findings per notification (the bot's schema). */
  async findingViews(views: FindingView[]): Promise<void> {
    for (let i = 0; i < views.length; i += MAX_FINDINGS_PER_NOTICE) {
      const chunk = views.slice(i, i + MAX_FINDINGS_PER_NOTICE);
      await this.send({ kind: 'findings', findings: chunk, notificationId: findingsNotificationId(chunk) });
    }
  }

  async send(body: NotificationBody): Promise<void> {
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    const policy = this.options.retry ?? INVOKE_NOTIFIER.retry;
    const perAttempt = this.options.timeoutMs ?? INVOKE_NOTIFIER.timeoutMs;
    const budget = this.options.budgetMs ?? invokeNotifierWorstCaseMs({ retry: policy, timeoutMs: perAttempt });
    const started = this.options.clock.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.invoke(payload, Math.max(1, Math.min(perAttempt, budget - (this.options.clock.now() - started))));
        return;
      } catch (e) {
        const failure = e instanceof InvokeFailure ? e : new InvokeFailure((e as Error).message, true);
        if (!failure.retryable) throw new DependencyError(DEPENDENCY, `${DEPENDENCY} refused the notification: ${failure.message}`, false);
        if (attempt >= policy.maxAttempts) throw new DependencyError(DEPENDENCY, `${DEPENDENCY} notification failed after ${attempt} attempts: ${failure.message}`, true);
        const wait = backoffDelay(policy, attempt - 1, this.random);
        if (this.options.clock.now() - started + wait >= budget) {
          throw new DependencyError(DEPENDENCY, `${DEPENDENCY} notification failed after ${attempt} attempts (its ${budget} ms budget would run out): ${failure.message}`, true);
        }
        await this.options.clock.sleep(wait);
      }
    }
  }

  private async invoke(payload: Uint8Array, timeoutMs: number): Promise<void> {
    let out: InvokeCommandOutput;
    try {
      out = await this.options.lambda.send(new InvokeCommand({ FunctionName: this.options.functionArn, InvocationType: 'RequestResponse', Payload: payload }), { abortSignal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      throw sdkFailure(e, timeoutMs);
    }
    const text = decode(out.Payload);
    // The function failed (threw, timed out, ran out of memory): its answer is an error object.
    if (out.FunctionError) throw new InvokeFailure(`function error ${out.FunctionError}: ${text.slice(0, 200)}`, true);
    let answer;
    try {
      answer = notifyInvokeAnswerSchema.parse(JSON.parse(text));
    } catch {
      // Not the bot's answer shape: the alias points at something else, a bug that retrying will not fix.
      throw new InvokeFailure(`unexpected answer: ${text.slice(0, 200)}`, false);
    }
    if (answer.status >= 200 && answer.status < 300) return;
    const code = notifyProblemSchema.safeParse(answer.body);
    if (answer.status === NOTIFY_DUPLICATE.status && code.success && code.data.code === NOTIFY_DUPLICATE.code) return;
    const retryable = answer.status >= 500 || answer.status === 429;
    // 501 NOT_SUPPORTED: the alias's code takes no notices; configuration, not load.
    throw new InvokeFailure(`status ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`, retryable && answer.status !== 501);
  }
}
