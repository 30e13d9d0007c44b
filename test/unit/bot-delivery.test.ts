import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import sinon from 'sinon';
import { TEAMS_SEND_LIMITS } from '../support/connector-recorder';
import { ConversationPacer, RetryingSender, TEAMS_PER_THREAD_SEND_LIMITS, deliveryPolicy, paceKey, parseRetryAfter, systemClock, type PipelineRequestLike, type PipelineResponseLike } from '../../bot/delivery';

const response = (status: number, headers: Record<string, string> = {}): PipelineResponseLike => ({ status, headers: { get: (n: string) => headers[n.toLowerCase()] } });
const post = (conversation: string): PipelineRequestLike => ({ method: 'POST', url: `http://127.0.0.1:1/v3/conversations/${encodeURIComponent(conversation)}/activities` });

describe('bot delivery: pacing and retries', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => clock.restore());

  it('never starts more than 7 writes per rolling second in one conversation, and keeps their order', async () => {
    const pacer = new ConversationPacer(systemClock, [{ max: 7, windowMs: 1000 }]);
    const starts: Array<{ i: number; at: number }> = [];
    const done = Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        pacer.run('conversation:a', async (slot) => {
          await slot();
          starts.push({ i, at: Date.now() });
        }),
      ),
    );
    await clock.tickAsync(10_000);
    await done;
    assert.deepEqual(starts.map((s) => s.i), Array.from({ length: 40 }, (_, i) => i));
    for (const s of starts) {
      const inWindow = starts.filter((o) => o.at > s.at - 1000 && o.at <= s.at).length;
      assert.ok(inWindow <= 7, `${inWindow} writes in the second ending at ${s.at}`);
    }
    // 40 writes at 7/s need at least 5 full seconds after the first.
    assert.ok(starts.at(-1)!.at - starts[0]!.at >= 5000);
  });

  it('property: any arrival pattern stays within 7 per second per conversation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 2000 }), fc.constantFrom('a', 'b')), { minLength: 1, maxLength: 60 }), async (arrivals) => {
        const pacer = new ConversationPacer(systemClock, [{ max: 7, windowMs: 1000 }]);
        const starts: Record<string, number[]> = { a: [], b: [] };
        const base = Date.now();
        const all = arrivals.map(([delay, key]) =>
          new Promise<void>((resolve) => setTimeout(resolve, delay)).then(() =>
            pacer.run(key, async (slot) => {
              await slot();
              starts[key]!.push(Date.now());
            }),
          ),
        );
        await clock.tickAsync(30_000);
        await Promise.all(all);
        for (const times of Object.values(starts)) {
          for (const t of times) assert.ok(times.filter((o) => o > t - 1000 && o <= t).length <= 7);
        }
        assert.ok(Date.now() >= base);
      }),
      { numRuns: 50 },
    );
  });

  it('by default holds every Teams per-thread window at once (7/1 s, 8/2 s, 60/30 s): a burst of 100 never earns a 429 from the connector stand-in', async () => {
    assert.deepEqual(
      TEAMS_PER_THREAD_SEND_LIMITS.map((w) => ({ seconds: w.windowMs / 1000, max: w.max })),
      TEAMS_SEND_LIMITS.map((w) => ({ seconds: w.seconds, max: w.max })),
      'the bot paces to exactly the limits the Teams stand-in enforces',
    );
    const pacer = new ConversationPacer(systemClock);
    const starts: number[] = [];
    const done = Promise.all(
      Array.from({ length: 100 }, () =>
        pacer.run('conversation:burst', async (slot) => {
          await slot();
          starts.push(Date.now());
        }),
      ),
    );
    await clock.tickAsync(120_000);
    await done;
    assert.equal(starts.length, 100);
    for (const w of TEAMS_SEND_LIMITS) {
      for (const t of starts) {
        const inWindow = starts.filter((o) => o > t - w.seconds * 1000 && o <= t).length;
        assert.ok(inWindow <= w.max, `${inWindow} writes in the ${w.seconds} s ending at ${t - starts[0]!} ms (limit ${w.max})`);
      }
    }
    // The 61st write waits for the 30 s window: no faster than the limits allow, and not much slower.
    assert.ok(starts[60]! - starts[0]! >= 30_000, 'the 61st write is at least 30 s after the first');
    assert.ok(starts[60]! - starts[0]! <= 31_000, `the 61st write starts as soon as the 30 s window allows (${starts[60]! - starts[0]!} ms)`);
  });

  it('refuses a window that could never admit a write', () => {
    assert.throws(() => new ConversationPacer(systemClock, []), /windows/);
    assert.throws(() => new ConversationPacer(systemClock, [{ max: 0, windowMs: 1000 }]), /windows/);
  });

  it('conversations do not wait for each other', async () => {
    const pacer = new ConversationPacer(systemClock, [{ max: 7, windowMs: 1000 }]);
    const times: Record<string, number[]> = { a: [], b: [] };
    const run = (k: 'a' | 'b') => pacer.run(k, async (slot) => {
      await slot();
      times[k]!.push(Date.now());
    });
    const all = Promise.all([...Array.from({ length: 7 }, () => run('a')), ...Array.from({ length: 7 }, () => run('b'))]);
    await clock.tickAsync(0);
    await all;
    assert.equal(times.a!.length, 7);
    assert.equal(times.b!.length, 7);
    assert.ok([...times.a!, ...times.b!].every((t) => t === times.a![0]));
  });

  it('retries 429 honoring Retry-After, then succeeds', async () => {
    const sender = new RetryingSender(systemClock, { random: () => 0 });
    const next = sinon.stub();
    next.onCall(0).resolves(response(429, { 'retry-after': '3' }));
    next.onCall(1).resolves(response(429, { 'retry-after': '1' }));
    next.onCall(2).resolves(response(201));
    const t0 = Date.now();
    const p = sender.send(post('a'), next, false);
    await clock.tickAsync(2999);
    assert.equal(next.callCount, 1);
    await clock.tickAsync(1);
    assert.equal(next.callCount, 2);
    await clock.tickAsync(1000);
    const r = await p;
    assert.equal(r.status, 201);
    assert.equal(next.callCount, 3);
    assert.equal(Date.now() - t0, 4000);
  });

  it('backs off exponentially without Retry-After and gives up after maxAttempts with the last answer', async () => {
    const sender = new RetryingSender(systemClock, { random: () => 1, maxAttempts: 4, baseDelayMs: 500 });
    const next = sinon.stub().resolves(response(503));
    const calls: number[] = [];
    next.callsFake(async () => {
      calls.push(Date.now());
      return response(503);
    });
    const p = sender.send(post('a'), next, false);
    await clock.tickAsync(60_000);
    assert.equal((await p).status, 503);
    assert.deepEqual(calls.slice(1).map((t, i) => t - calls[i]!), [500, 1000, 2000]);
  });

  it('does not retry an ambiguous POST failure (500, reset mid-flight), but retries it for PUT', async () => {
    const sender = new RetryingSender(systemClock, { random: () => 0 });
    const five = sinon.stub().resolves(response(500));
    assert.equal((await sender.send(post('a'), five, false)).status, 500);
    assert.equal(five.callCount, 1);
    const reset = sinon.stub().rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await assert.rejects(sender.send(post('a'), reset, false), /socket hang up/);
    assert.equal(reset.callCount, 1);
    const refused = sinon.stub();
    refused.onFirstCall().rejects(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    refused.onSecondCall().resolves(response(201));
    const p = sender.send(post('a'), refused, false);
    await clock.tickAsync(10_000);
    assert.equal((await p).status, 201);
    const put = sinon.stub();
    put.onFirstCall().resolves(response(500));
    put.onSecondCall().resolves(response(200));
    const q = sender.send({ method: 'PUT', url: 'http://x/v3/conversations/a/activities/1' }, put, true);
    await clock.tickAsync(10_000);
    assert.equal((await q).status, 200);
  });

  it('a Retry-After beyond the limit is not waited for', async () => {
    const sender = new RetryingSender(systemClock, { maxRetryAfterMs: 60_000 });
    const next = sinon.stub().resolves(response(429, { 'retry-after': '3600' }));
    assert.equal((await sender.send(post('a'), next, false)).status, 429);
    assert.equal(next.callCount, 1);
  });

  it('the policy paces retries too: a throttled write holds back the next write to the same chat', async () => {
    const pacer = new ConversationPacer(systemClock, [{ max: 7, windowMs: 1000 }]);
    const sender = new RetryingSender(systemClock, { random: () => 0 });
    const policy = deliveryPolicy(pacer, sender);
    const order: string[] = [];
    let first = true;
    const next = async (r: PipelineRequestLike) => {
      const body = String(r.body);
      if (body === 'm1' && first) {
        first = false;
        order.push('m1:429');
        return response(429, { 'retry-after': '2' });
      }
      order.push(body);
      return response(201);
    };
    const a = policy.sendRequest({ ...post('chat'), body: 'm1' }, next);
    const b = policy.sendRequest({ ...post('chat'), body: 'm2' }, next);
    await clock.tickAsync(5000);
    await Promise.all([a, b]);
    assert.deepEqual(order, ['m1:429', 'm1', 'm2']);
  });

  it('pace keys: channel threads share their channel; reads are not paced', () => {
    assert.equal(paceKey(post('19:abc@thread.tacv2;messageid=123')), 'conversation:19:abc@thread.tacv2');
    assert.equal(paceKey({ method: 'PUT', url: 'http://x/v3/conversations/a%3A1/activities/9' }), 'conversation:a:1');
    assert.equal(paceKey({ method: 'GET', url: 'http://x/v3/conversations/a/members/u' }), undefined);
    assert.equal(paceKey({ method: 'POST', url: 'http://x/v3/conversations', body: JSON.stringify({ channelData: { channel: { id: '19:c@thread.tacv2' } } }) }), 'conversation:19:c@thread.tacv2');
  });

  it('parses Retry-After seconds and HTTP dates', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('2', now), 2000);
    assert.equal(parseRetryAfter('0.5', now), 500);
    assert.equal(parseRetryAfter('Tue, 01 Jan 2030 00:00:07 GMT', now), 7000);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});
