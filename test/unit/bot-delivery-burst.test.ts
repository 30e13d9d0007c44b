/**
 * An incident burst through the bot's delivery policy (bot/delivery.ts: the per-conversation pacer
 * and the retrying sender), on a fake clock: 100 approval cards for ONE channel and 100
 * confirmations for 100 chats, against a fake Teams that counts each write when it ARRIVES (after
 * a network delay that varies per call, so arrivals can bunch up where the bot's starts did not),
 * refuses a write beyond any per-thread window (7/1 s, 8/2 s, 60/30 s, 1800/h; "Optimize your bot
 * with rate limiting and best practices in Microsoft Teams") with 429 and Retry-After, as the
 * connector stand-in does. Nothing may be lost or doubled, no accepted write may break a window,
 * and a refused write is retried no sooner than Retry-After says.
 */
import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import { ConversationPacer, RetryingSender, deliveryPolicy, systemClock, type PipelineRequestLike, type PipelineResponseLike } from '../../bot/delivery';
import { TEAMS_SEND_LIMITS } from '../support/connector-recorder';
import { greedySchedule } from '../../bench/lib/rate-minimum';

const CHANNEL = '19:oncall@thread.tacv2';

/** A fake Teams connector: per-conversation sliding windows counted at arrival, 429 + Retry-After (whole seconds, as the stand-in answers). */
class FakeTeams {
  readonly accepted = new Map<string, Array<{ at: number; body: string }>>();
  readonly refused: Array<{ key: string; at: number; retryAfterMs: number; body: string }> = [];
  private seq = 0;

  constructor(private readonly delayMs: (n: number) => number) {}

  private key(request: PipelineRequestLike): string {
    if (/\/v3\/conversations\/?$/.test(new URL(request.url).pathname)) return `create:${CHANNEL}`;
    return decodeURIComponent(/\/v3\/conversations\/([^/]+)/.exec(new URL(request.url).pathname)![1]!);
  }

  send = async (request: PipelineRequestLike): Promise<PipelineResponseLike> => {
    await new Promise((r) => setTimeout(r, this.delayMs(this.seq++)));
    const key = this.key(request);
    const now = Date.now();
    const times = (this.accepted.get(key) ?? []).map((a) => a.at);
    let waitMs = 0;
    for (const w of TEAMS_SEND_LIMITS) {
      const inWindow = times.filter((t) => t > now - w.seconds * 1000);
      if (inWindow.length >= w.max) waitMs = Math.max(waitMs, inWindow[inWindow.length - w.max]! + w.seconds * 1000 - now);
    }
    const body = String(request.body);
    if (waitMs > 0) {
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      this.refused.push({ key, at: now, retryAfterMs: seconds * 1000, body });
      return { status: 429, headers: { get: (n: string) => (n.toLowerCase() === 'retry-after' ? String(seconds) : undefined) } };
    }
    this.accepted.set(key, [...(this.accepted.get(key) ?? []), { at: now, body }]);
    return { status: 201, headers: { get: () => undefined } };
  };
}

describe('bot delivery under an incident burst (issue 16)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => clock.restore());

  async function burst(delayMs: (n: number) => number) {
    const teams = new FakeTeams(delayMs);
    const policy = deliveryPolicy(new ConversationPacer(systemClock), new RetryingSender(systemClock, { random: () => 0.5, maxAttempts: 8 }));
    const start = Date.now();
    const results: Array<Promise<PipelineResponseLike>> = [];
    // 100 submits over 10 s: each gives an approval card (a new thread in the channel) and a confirmation in the requester's chat.
    for (let i = 0; i < 100; i++) {
      const at = start + i * 100;
      results.push(
        new Promise<void>((r) => setTimeout(r, at - start)).then(() =>
          policy.sendRequest({ method: 'POST', url: 'https://smba.example.com/teams/v3/conversations', body: JSON.stringify({ channelData: { channel: { id: CHANNEL } }, activity: { text: `card-${i}` } }) }, teams.send),
        ),
        new Promise<void>((r) => setTimeout(r, at - start)).then(() =>
          policy.sendRequest({ method: 'POST', url: `https://smba.example.com/teams/v3/conversations/${encodeURIComponent(`a:chat-${i}`)}/activities`, body: `confirmation-${i}` }, teams.send),
        ),
      );
    }
    await clock.tickAsync(300_000);
    const answers = await Promise.all(results);
    return { teams, answers, start };
  }

  function assertWithinEveryWindow(teams: FakeTeams) {
    for (const [key, writes] of teams.accepted) {
      const times = writes.map((w) => w.at);
      for (const w of TEAMS_SEND_LIMITS) {
        for (const t of times) assert.ok(times.filter((o) => o > t - w.seconds * 1000 && o <= t).length <= w.max, `${key}: more than ${w.max} writes in ${w.seconds} s`);
      }
    }
  }

  it('delivers every card and confirmation exactly once, never beyond a window, with network delays that vary per call', async () => {
    // 5 to 80 ms, varying: an earlier write can arrive later relative to its start than a later one.
    const { teams, answers, start } = await burst((n) => 5 + ((n * 37) % 76));
    assert.ok(answers.every((a) => a.status === 201), 'every write succeeded in the end (429s retried)');
    // The pacer counts a write until its answer came back, the latest Teams can have counted it:
    // jitter cannot make two writes look closer together to Teams than to the bot.
    assert.deepEqual(teams.refused.map((r) => r.key), [], 'no write refused');
    const cards = teams.accepted.get(`create:${CHANNEL}`)!.map((w) => w.body);
    assert.equal(cards.length, 100, 'no card lost');
    assert.equal(new Set(cards).size, 100, 'no card posted twice');
    for (let i = 0; i < 100; i++) assert.deepEqual(teams.accepted.get(`a:chat-${i}`)?.map((w) => w.body), [`confirmation-${i}`]);
    assertWithinEveryWindow(teams);
    // Each refused write was sent again, and no sooner than its Retry-After.
    for (const r of teams.refused) {
      const again = teams.accepted.get(r.key)!.find((w) => w.body === r.body)!;
      assert.ok(again.at - r.at >= r.retryAfterMs, `retried ${again.at - r.at} ms after a Retry-After of ${r.retryAfterMs} ms`);
    }
    // The channel is the bottleneck: 100 threads need the 60/30 s window twice over. The bot's
    // pacing comes within a few seconds of the least time the windows allow for these submits.
    const minimum = greedySchedule(Array.from({ length: 100 }, (_, i) => start + i * 100), TEAMS_SEND_LIMITS).at(-1)!;
    const last = Math.max(...teams.accepted.get(`create:${CHANNEL}`)!.map((w) => w.at));
    assert.ok(last >= minimum, 'never faster than the limits allow');
    assert.ok(last - minimum <= 5_000 + teams.refused.length * 2_000, `the last card ${last - minimum} ms after the least time (${teams.refused.length} refusals)`);
  });

  it('a 429 on a card is retried with Retry-After and posts that card once; the cards behind it keep their order', async () => {
    let refusedOnce = false;
    const teams = new FakeTeams(() => 1);
    const send = teams.send;
    const refusing = async (request: PipelineRequestLike): Promise<PipelineResponseLike> => {
      if (!refusedOnce && String(request.body).includes('card-3')) {
        refusedOnce = true;
        teams.refused.push({ key: `create:${CHANNEL}`, at: Date.now(), retryAfterMs: 2000, body: String(request.body) });
        return { status: 429, headers: { get: (n: string) => (n.toLowerCase() === 'retry-after' ? '2' : undefined) } };
      }
      return send(request);
    };
    const policy = deliveryPolicy(new ConversationPacer(systemClock), new RetryingSender(systemClock, { random: () => 0.5 }));
    const all = Array.from({ length: 10 }, (_, i) => policy.sendRequest({ method: 'POST', url: 'https://smba.example.com/teams/v3/conversations', body: JSON.stringify({ channelData: { channel: { id: CHANNEL } }, activity: { text: `card-${i}` } }) }, refusing));
    await clock.tickAsync(60_000);
    assert.ok((await Promise.all(all)).every((a) => a.status === 201));
    const bodies = teams.accepted.get(`create:${CHANNEL}`)!.map((w) => JSON.parse(w.body).activity.text as string);
    assert.deepEqual(bodies, Array.from({ length: 10 }, (_, i) => `card-${i}`), 'once each, in order');
    const retried = teams.accepted.get(`create:${CHANNEL}`)![3]!;
    assert.ok(retried.at - teams.refused[0]!.at >= 2000, 'no sooner than Retry-After');
    assertWithinEveryWindow(teams);
  });
});
