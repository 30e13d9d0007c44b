/**
 * ISO 8601 durations as the policy file writes them (PT15M, PT1H30M, P1D, P1W), parsed by a
 * deliberately small parser: only units with a fixed length (weeks, days, hours, minutes,
 * seconds), whole numbers, no signs. Years and months are rejected because their length depends
 * on the calendar, which would make "maximum duration" ambiguous.
 */

export const MINUTE_SECONDS = 60;
export const HOUR_SECONDS = 3600;
export const DAY_SECONDS = 86_400;
export const WEEK_SECONDS = 7 * DAY_SECONDS;

/** Bounds for every policy duration: at least a minute, at most a week. */
export const POLICY_DURATION_MIN_SECONDS = MINUTE_SECONDS;
export const POLICY_DURATION_MAX_SECONDS = WEEK_SECONDS;

export type DurationParseResult = { ok: true; seconds: number } | { ok: false; error: string };

const EXAMPLE = 'must be an ISO 8601 duration like PT1H, PT15M, PT1H30M or P1D';
// Digits are capped at 6 so that absurd values fail here, with a clear message, not as Infinity.
const ISO_DURATION = /^P(?:(\d{1,6})W)?(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,6})S)?)?$/;

export function parseIsoDuration(text: unknown): DurationParseResult {
  if (typeof text !== 'string') return { ok: false, error: EXAMPLE };
  const s = text.trim().toUpperCase();
  if (s.length === 0 || s.length > 40) return { ok: false, error: EXAMPLE };
  const datePart = s.split('T')[0] ?? '';
  if (s.startsWith('P') && /[YM]/.test(datePart)) return { ok: false, error: `${EXAMPLE} (years and months have no fixed length: use days, e.g. P7D)` };
  if (/[.,]/.test(s)) return { ok: false, error: `${EXAMPLE} (use whole numbers: PT1H30M, not PT1.5H)` };
  const m = ISO_DURATION.exec(s);
  if (!m || s === 'P' || s.endsWith('T')) return { ok: false, error: EXAMPLE };
  const [, w, d, h, min, sec] = m;
  if (w === undefined && d === undefined && h === undefined && min === undefined && sec === undefined) return { ok: false, error: EXAMPLE };
  const n = (v: string | undefined) => (v === undefined ? 0 : Number(v));
  const seconds = n(w) * WEEK_SECONDS + n(d) * DAY_SECONDS + n(h) * HOUR_SECONDS + n(min) * MINUTE_SECONDS + n(sec);
  return { ok: true, seconds };
}

/**
 * Parses a policy duration and applies the policy bounds (whole minutes, 1 minute .. 7 days).
 * Whole minutes because requests and cards speak minutes.
 */
export function parsePolicyDuration(text: unknown): DurationParseResult {
  const r = parseIsoDuration(text);
  if (!r.ok) return r;
  if (r.seconds < POLICY_DURATION_MIN_SECONDS) return { ok: false, error: `must be at least 1 minute (PT1M), got ${String(text)}` };
  if (r.seconds > POLICY_DURATION_MAX_SECONDS) return { ok: false, error: `must be at most 7 days (P7D), got ${String(text)}` };
  if (r.seconds % MINUTE_SECONDS !== 0) return { ok: false, error: `must be whole minutes (e.g. PT2M, not PT90S), got ${String(text)}` };
  return r;
}

/** Short human form for reasons and cards: 90 → "1m 30s", 5400 → "1h 30m", 86400 → "1d". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '0m';
  let rest = Math.round(seconds);
  const parts: string[] = [];
  for (const [unit, size] of [['d', DAY_SECONDS], ['h', HOUR_SECONDS], ['m', MINUTE_SECONDS], ['s', 1]] as const) {
    const q = Math.floor(rest / size);
    if (q > 0) parts.push(`${q}${unit}`);
    rest -= q * size;
  }
  return parts.join(' ');
}

/** Canonical ISO 8601 form of a whole number of seconds: 5400 → "PT1H30M", 86400 → "P1D". */
export function toIsoDuration(seconds: number): string {
  let rest = Math.max(0, Math.round(seconds));
  const days = Math.floor(rest / DAY_SECONDS);
  rest -= days * DAY_SECONDS;
  const h = Math.floor(rest / HOUR_SECONDS);
  rest -= h * HOUR_SECONDS;
  const m = Math.floor(rest / MINUTE_SECONDS);
  const s = rest - m * MINUTE_SECONDS;
  const time = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s ? `${s}S` : ''}`;
  if (!days && !time) return 'PT0S';
  return `P${days ? `${days}D` : ''}${time ? `T${time}` : ''}`;
}
