/**
 * Text helpers for cards. User-provided strings (justification, ticket, reasons, names) are only
 * ever placed in TextRun elements or input values, which Adaptive Cards render without markdown;
 * `plain` makes them safe for that: valid unicode, no control characters, bounded length, and the
 * client's {{DATE()}}/{{TIME()}} functions (which TextRuns do evaluate) broken apart. `${...}` needs
 * no escaping: the templating engine substitutes data values and never evaluates them. Text that
 * must go where markdown is rendered (a TextBlock, message text) goes through ./escape.ts.
 */
import { humanDuration } from '../core/time';

/** Teams rejects card payloads above about 28 KB. */
export const TEAMS_CARD_MAX_BYTES = 28 * 1024;

export const TRUNCATION_MARKER = '… [truncated]';

const encoder = new TextEncoder();

export function cardByteSize(card: unknown): number {
  return encoder.encode(JSON.stringify(card)).length;
}

/** A user-provided string made safe to display as plain text, at most `max` code points plus the marker. */
export function plain(value: unknown, max: number): string {
  let s = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  s = s
    .toWellFormed()
    .replace(/\r\n?/g, '\n')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/g, '')
    // The zero-width space keeps "{{" visible but stops the client's date/time substitution.
    .replace(/\{\{/g, '{\u200b{');
  // Cheap bound before splitting into code points, so a 100 KB input costs nothing.
  if (s.length > max * 2 + 16) s = s.slice(0, max * 2 + 16).toWellFormed();
  const points = Array.from(s);
  if (points.length <= max) return s;
  return points.slice(0, max).join('').trimEnd() + TRUNCATION_MARKER;
}

/** One-line variant for names, titles and ids. */
export function plainLine(value: unknown, max: number): string {
  return plain(value, max).replace(/\s*\n\s*/g, ' ');
}

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/;

/** Epoch ms of a UTC ISO timestamp, or undefined when it is not one. */
export function epochMs(iso: string | undefined): number | undefined {
  if (!iso || !ISO.test(iso)) return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * A time, once, in the viewer's own time zone and locale: the client expands {{DATE()}}/{{TIME()}}
 * on the device ("Text features", Adaptive Cards: https://learn.microsoft.com/adaptive-cards/authoring-cards/text-features;
 * Teams renders them in TextBlocks, TextRuns and FactSet values). The function rules there: upper
 * case, no spaces inside the braces or parentheses (other than ", " before the style), and a
 * strict RFC 3339 date-time, `YYYY-MM-DDThh:mm:ssZ` or with a `±hh:mm` offset. The SDK's own
 * pattern (adaptivecards lib/text-formatters.js) admits no fractional seconds, so the stored
 * `….123Z` is cut to whole seconds; an input that fails shows as raw text (the card checks in
 * test/support/connector-recorder.ts refuse it).
 */
export function cardTime(iso: string | undefined): string {
  const m = iso ? ISO.exec(iso) : null;
  if (!m || epochMs(iso) === undefined) return 'unknown time';
  const t = `${m[1]}Z`;
  return `{{DATE(${t}, COMPACT)}} {{TIME(${t})}}`;
}

/** Whole minutes on cards (a grant is never shown as seconds): the core's wording otherwise. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '0 min';
  return humanDuration(Math.max(1, Math.round(seconds / 60)) * 60);
}

/** "in 25 min" / "5 min ago", relative to the render time. */
export function relative(iso: string | undefined, now: string): string {
  const at = epochMs(iso);
  const ref = epochMs(now);
  if (at === undefined || ref === undefined) return '';
  const delta = Math.round((at - ref) / 1000);
  if (Math.abs(delta) < 60) return delta >= 0 ? 'in less than a minute' : 'just now';
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}

/** Only http(s) links are put on cards; anything else (javascript:, data:) is dropped. */
export function safeUrl(value: string | undefined): string | undefined {
  if (!value || value.length > 1024) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The status line of a revoked or expired grant whose live role sessions were ended
 * (core/services/session-cut.ts): sessions signed in before `cutoff` are denied.
 */
export function sessionsEndedText(ended: { cutoff: string } | undefined): string | undefined {
  if (!ended) return undefined;
  return `Sessions already signed in were ended (every session issued before ${ended.cutoff.slice(11, 19)} UTC is denied)`;
}
