/**
 * The least time a set of sends can take under sliding-window rate limits, given when each send
 * becomes possible (its release time). Teams counts "at most `max` operations in any `seconds`"
 * per window; a send at time t is allowed when fewer than `max` sends fall in (t - window, t].
 *
 * For one stream under any set of such windows, sending each message as early as every window and
 * its release allow (in release order) is optimal: an exchange argument shows no schedule finishes
 * its k-th send earlier. So the greedy schedule's last send is the minimum for that stream, and the
 * minimum of several streams that share nothing is the largest of theirs. A limit shared by all
 * streams (Teams' per app per tenant rate) gives another lower bound, computed the same way over
 * every send; the answer is the largest of these bounds.
 */

export interface Window {
  seconds: number;
  max: number;
}

/** The earliest send times, in ms, of sends released at `releaseMs` (any order), under `windows`. */
export function greedySchedule(releaseMs: readonly number[], windows: readonly Window[]): number[] {
  const release = [...releaseMs].sort((a, b) => a - b);
  const sent: number[] = [];
  for (let i = 0; i < release.length; i++) {
    let t = Math.max(release[i]!, i > 0 ? sent[i - 1]! : Number.NEGATIVE_INFINITY);
    // The send `max` places back must have left the window: t >= sent[i - max] + window.
    for (const w of windows) if (i - w.max >= 0) t = Math.max(t, sent[i - w.max]! + w.seconds * 1000);
    sent.push(t);
  }
  return sent;
}

export interface Stream {
  /** What the stream is (for the report), e.g. "approval cards in the on-call channel". */
  name: string;
  releaseMs: readonly number[];
  windows: readonly Window[];
}

export interface RateMinimum {
  /** The least time, in ms from `originMs`, until the last send of every stream. */
  minimumMs: number;
  /** Which bound it is. */
  boundBy: string;
  bounds: Array<{ name: string; lastSendMs: number }>;
}

/**
 * The minimum over independent streams (each conversation with its own windows) and limits shared
 * by every send (`shared`, e.g. the per app per tenant rate), measured from `originMs`.
 */
export function rateMinimum(streams: readonly Stream[], shared: { name: string; windows: readonly Window[] } | undefined, originMs: number): RateMinimum {
  const bounds = streams.filter((s) => s.releaseMs.length > 0).map((s) => ({ name: s.name, lastSendMs: greedySchedule(s.releaseMs, s.windows).at(-1)! - originMs }));
  if (shared) {
    const all = streams.flatMap((s) => s.releaseMs);
    if (all.length > 0) bounds.push({ name: shared.name, lastSendMs: greedySchedule(all, shared.windows).at(-1)! - originMs });
  }
  if (bounds.length === 0) return { minimumMs: 0, boundBy: 'nothing to send', bounds };
  const worst = bounds.reduce((a, b) => (b.lastSendMs > a.lastSendMs ? b : a));
  return { minimumMs: worst.lastSendMs, boundBy: worst.name, bounds };
}
