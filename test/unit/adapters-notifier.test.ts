/**
 * The signed notifications to the bot: what the bot verifies, what counts as delivered, what is
 * retried, and the signing key's cache.
 */
import { strict as assert } from 'node:assert';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { ownSend } from '../support/aws-capture';
import { notificationBodySchema } from '../../contract/notify';
import { NOTIFY_HEADERS, verifyNotification } from '../../contract/notify-signature';
import { DependencyError } from '../../core/errors';
import { FakeClock } from '../../core/memory';
import { BotNotifier, type FetchLike, FUNCTION_NOTIFIER, notifierWorstCaseMs, SecretsManagerSecret, staticSecret } from '../../lambdas/adapters/bot-notifier';
import { buildNotifier } from '../../lambdas/composition';
import { problem } from '../../bot/problem';
import { activeRequest, world } from '../support/core-world';

const SECRET = 'k'.repeat(64);
const URL_ = 'https://bot.example.com/api/notify';

interface Sent {
  headers: Record<string, string>;
  body: string;
}

/** A bot that answers each POST from `answers` in turn (the last one repeats). */
function fakeBot(answers: Array<{ status: number; body?: string; retryAfter?: string } | 'timeout' | 'reset'>): { fetch: FetchLike; sent: Sent[] } {
  const sent: Sent[] = [];
  let i = 0;
  const fetch: FetchLike = async (_url, init) => {
    sent.push({ headers: init.headers, body: init.body });
    const a = answers[Math.min(i++, answers.length - 1)]!;
    if (a === 'timeout') throw Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    if (a === 'reset') throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    return { status: a.status, headers: { get: (n: string) => (n === 'retry-after' ? (a.retryAfter ?? null) : null) }, text: async () => a.body ?? '' };
  };
  return { fetch, sent };
}

async function stored() {
  const w = world();
  const r = (await w.requests.get(await activeRequest(w)))!;
  return { ...r, taskToken: 'secret-task-token', executionArn: 'arn:aws:states:us-east-1:111111111111:execution:m:x' };
}

describe('adapters: bot notifier', () => {
  it('signs the exact body so the bot verifies it, with a valid body and no server-only fields', async () => {
    const clock = new FakeClock();
    const bot = fakeBot([{ status: 200 }]);
    const request = await stored();
    await new BotNotifier({ url: URL_, secret: staticSecret(SECRET), clock, region: 'us-east-1', fetch: bot.fetch }).requestChanged('active', request);
    const { headers, body } = bot.sent[0]!;
    assert.deepEqual(verifyNotification(SECRET, { timestamp: headers[NOTIFY_HEADERS.timestamp], signature: headers[NOTIFY_HEADERS.signature] }, Buffer.from(body), clock.now()), { ok: true });
    assert.equal(verifyNotification('another-key', { timestamp: headers[NOTIFY_HEADERS.timestamp], signature: headers[NOTIFY_HEADERS.signature] }, Buffer.from(body), clock.now()).ok, false);
    const parsed = notificationBodySchema.parse(JSON.parse(body));
    assert.equal(parsed.notificationId, `req.${request.id}.active.v${request.version}`);
    assert.doesNotMatch(body, /secret-task-token|taskToken|executionArn|auditOutbox/);
  });

  it('the same notice twice has the same notificationId; a 409 DUPLICATE from the bot counts as delivered', async () => {
    // The bot's real answer (bot/notify.ts): RFC 9457 problem details with the code DUPLICATE.
    const bot = fakeBot([{ status: 200 }, { status: 409, body: JSON.stringify(problem(409, 'DUPLICATE', 'This notification was already received.')) }]);
    const n = new BotNotifier({ url: URL_, secret: staticSecret(SECRET), clock: new FakeClock(), region: 'us-east-1', fetch: bot.fetch });
    const request = await stored();
    await n.requestChanged('approved', request);
    await n.requestChanged('approved', request);
    assert.equal(JSON.parse(bot.sent[0]!.body).notificationId, JSON.parse(bot.sent[1]!.body).notificationId);
  });

  it('a 409 that is not the DUPLICATE answer is a refusal, not a delivery (a word in the text is not enough)', async () => {
    const bot = fakeBot([{ status: 409, body: JSON.stringify(problem(409, 'CONFLICT', 'DUPLICATE of nothing')) }]);
    const n = new BotNotifier({ url: URL_, secret: staticSecret(SECRET), clock: new FakeClock(), region: 'us-east-1', fetch: bot.fetch });
    await assert.rejects(n.requestChanged('approved', await stored()), (e: unknown) => e instanceof DependencyError && !e.retryable);
    assert.equal(bot.sent.length, 1);
  });

  it('retries 5xx, 429 (honoring Retry-After), timeouts and resets, re-signing each attempt', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const bot = fakeBot([{ status: 503 }, { status: 429, retryAfter: '2' }, 'timeout', 'reset', { status: 200 }]);
    await new BotNotifier({ url: URL_, secret: staticSecret(SECRET), clock, region: 'us-east-1', fetch: bot.fetch, random: () => 0, retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 } }).requestChanged('denied', await stored());
    assert.equal(bot.sent.length, 5);
    assert.ok(clock.now() - start >= 2000, 'waited for Retry-After');
    const stamps = bot.sent.map((s) => s.headers[NOTIFY_HEADERS.timestamp]);
    assert.notEqual(stamps[0], stamps.at(-1));
  });

  it('gives up after the attempts with a retryable DependencyError; a 400 is not retried', async () => {
    const down = fakeBot([{ status: 502 }]);
    await assert.rejects(
      new BotNotifier({ url: URL_, secret: staticSecret(SECRET), clock: new FakeClock(), region: 'us-east-1', fetch: down.fetch, retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 } }).requestChanged('expired', await stored()),
      (e: unknown) => e instanceof DependencyError && e.retryable && /after 3 attempts/.test(e.message),
    );
    assert.equal(down.sent.length, 3);
    const refused = fakeBot([{ status: 400, body: '{"error":{"code":"VALIDATION"}}' }]);
    await assert.rejects(
      new BotNotifier({ url: URL_, secret: staticSecret(SECRET), clock: new FakeClock(), region: 'us-east-1', fetch: refused.fetch }).requestChanged('expired', await stored()),
      (e: unknown) => e instanceof DependencyError && !e.retryable,
    );
    assert.equal(refused.sent.length, 1);
  });

  describe('signing key from Secrets Manager', () => {
    // An instance mock with its own send: class mocks elsewhere neither leak in nor get replaced.
    const secretsManager = ownSend(new SecretsManagerClient({}));
    const sm = mockClient(secretsManager);
    afterEach(() => sm.reset());
    const ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:jit/notify-hmac-AbCdEf';

    it('is fetched once for many notices (also concurrent ones), and again after its TTL', async () => {
      sm.on(GetSecretValueCommand).resolves({ SecretString: SECRET });
      const clock = new FakeClock();
      const secret = new SecretsManagerSecret(secretsManager, ARN, clock, 60_000);
      const bot = fakeBot([{ status: 200 }]);
      const n = new BotNotifier({ url: URL_, secret, clock, region: 'us-east-1', fetch: bot.fetch });
      const request = await stored();
      await Promise.all([n.requestChanged('active', request), n.requestChanged('expiring_soon', request), n.requestChanged('extended', request)]);
      assert.equal(sm.commandCalls(GetSecretValueCommand).length, 1);
      await clock.advance(61_000);
      await n.requestChanged('expired', request);
      assert.equal(sm.commandCalls(GetSecretValueCommand).length, 2);
    });

    it('a 401 (rotated key) refetches the key once and retries with it', async () => {
      sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'old-key' }).resolves({ SecretString: SECRET });
      const clock = new FakeClock();
      const bot = fakeBot([{ status: 401 }, { status: 200 }]);
      await new BotNotifier({ url: URL_, secret: new SecretsManagerSecret(secretsManager, ARN, clock), clock, region: 'us-east-1', fetch: bot.fetch }).requestChanged('active', await stored());
      const last = bot.sent[1]!;
      assert.equal(verifyNotification(SECRET, { timestamp: last.headers[NOTIFY_HEADERS.timestamp], signature: last.headers[NOTIFY_HEADERS.signature] }, Buffer.from(last.body), clock.now()).ok, true);
      assert.equal(sm.commandCalls(GetSecretValueCommand).length, 2);
    });
  });
});

describe('adapters: bot notifier, bounded to fit the calling function', () => {
  const cfg = { notifyUrl: URL_, notifySecretArn: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:jit-notify', region: 'us-east-1' } as Parameters<typeof buildNotifier>[0];
  const lambdaNotifier = (clock: FakeClock, fetch: FetchLike) => buildNotifier(cfg, { secretsManager: {} as never }, { clock, fetch, notifySecret: staticSecret(SECRET), random: () => 1 });

  it("the Lambdas' notifier gives up within its worst case whatever the bot answers: long Retry-After, hanging, down", async () => {
    const budget = notifierWorstCaseMs(FUNCTION_NOTIFIER);
    assert.ok(budget <= 15_000, `${budget} ms`);
    const request = await stored();
    const hanging: FetchLike = async () => {
      // Each attempt takes its whole timeout before it is aborted.
      clock.set(clock.now() + FUNCTION_NOTIFIER.timeoutMs);
      throw Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    };
    let clock = new FakeClock();
    for (const fetch of [fakeBot([{ status: 429, retryAfter: '120' }]).fetch, fakeBot([{ status: 503, retryAfter: '30' }]).fetch, hanging, fakeBot(['reset']).fetch]) {
      clock = new FakeClock();
      const t0 = clock.now();
      await assert.rejects(lambdaNotifier(clock, fetch).requestChanged('approval_requested', request), (e: unknown) => e instanceof DependencyError && e.retryable);
      assert.ok(clock.now() - t0 <= budget, `took ${clock.now() - t0} ms, more than ${budget} ms`);
    }
  });

  it('a budget smaller than the worst case stops early: no wait that would end past it', async () => {
    const clock = new FakeClock();
    const bot = fakeBot([{ status: 503, retryAfter: '2' }]);
    const n = new BotNotifier({ url: URL_, secret: staticSecret(SECRET), clock, region: 'us-east-1', fetch: bot.fetch, retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 100 }, maxRetryAfterMs: 2_000, budgetMs: 3_000 });
    await assert.rejects(n.requestChanged('active', await stored()), /budget would run out/);
    assert.equal(bot.sent.length, 2);
    assert.ok(clock.now() - Date.UTC(2026, 0, 1, 9, 0, 0) <= 3_000);
  });
});
