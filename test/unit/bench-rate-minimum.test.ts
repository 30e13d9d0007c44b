/**
 * The least time Teams' rate limits allow for a burst (bench/lib/rate-minimum.ts), which the
 * `burst_100_ratio_vs_rate_min` figure divides by. The budget is only as honest as this minimum.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { greedySchedule, rateMinimum } from '../../bench/lib/rate-minimum';
import { TEAMS_SEND_LIMITS } from '../support/connector-recorder';

describe('bench: the minimum a burst needs under Teams rate limits', () => {
  it('100 posts to one channel, all ready at once: 7 at 0 s, then 8 per 2 s, and the 61st waits for the 30 s window: the last at 39 s', () => {
    const sent = greedySchedule(Array(100).fill(0), TEAMS_SEND_LIMITS);
    assert.deepEqual(sent.slice(0, 9), [0, 0, 0, 0, 0, 0, 0, 1000, 2000]);
    assert.equal(sent[59], 14_000);
    assert.equal(sent[60], 30_000);
    assert.equal(sent[99], 39_000);
  });

  it('posts released over 10 s (one per 100 ms) still end at 39 s: the 60/30 s window binds, not the arrivals', () => {
    const r = rateMinimum([{ name: 'channel', releaseMs: Array.from({ length: 100 }, (_, i) => 1_000 + i * 100), windows: TEAMS_SEND_LIMITS }], { name: 'app', windows: [{ seconds: 1, max: 30 }] }, 1_000);
    assert.equal(r.minimumMs, 39_000);
    assert.equal(r.boundBy, 'channel');
    // One message per conversation is bound only by its release.
    const chats = rateMinimum(Array.from({ length: 100 }, (_, i) => ({ name: `chat ${i}`, releaseMs: [i * 100], windows: TEAMS_SEND_LIMITS })), undefined, 0);
    assert.equal(chats.minimumMs, 9_900);
  });

  it('a limit shared by every send (30 per second per app) binds when there are many conversations', () => {
    const r = rateMinimum(Array.from({ length: 300 }, (_, i) => ({ name: `chat ${i}`, releaseMs: [0], windows: TEAMS_SEND_LIMITS })), { name: 'app', windows: [{ seconds: 1, max: 30 }] }, 0);
    assert.equal(r.minimumMs, 9_000);
    assert.equal(r.boundBy, 'app');
  });

  it('property: the schedule never exceeds a window, never sends before a release, and no send could be earlier', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 150 }), (releases) => {
        const sent = greedySchedule(releases, TEAMS_SEND_LIMITS);
        const sorted = [...releases].sort((a, b) => a - b);
        sent.forEach((t, i) => assert.ok(t >= sorted[i]!));
        for (const w of TEAMS_SEND_LIMITS) for (const t of sent) assert.ok(sent.filter((o) => o > t - w.seconds * 1000 && o <= t).length <= w.max);
        // Tight: each send is at its release, right after the one before, or exactly when a window frees a place.
        sent.forEach((t, i) => {
          const reasons = [sorted[i]!, i > 0 ? sent[i - 1]! : Number.NaN, ...TEAMS_SEND_LIMITS.map((w) => (i >= w.max ? sent[i - w.max]! + w.seconds * 1000 : Number.NaN))];
          assert.ok(reasons.includes(t));
        });
      }),
      { numRuns: 100 },
    );
  });
});
