/**
 * Escaping for text that Teams renders as markdown. Pure; the one place where user-controlled
 * text (display names, account and permission set names, reasons, server messages that quote them)
 * is made inert before it goes where markdown is interpreted:
 * - Adaptive Card `TextBlock.text` (and FactSet values): Teams renders a markdown subset there:
 *   bold, italic, lists and `[text](url)` links ("Text features in Adaptive Cards",
 *   https://learn.microsoft.com/en-us/adaptive-cards/authoring-cards/text-features). `TextRun`s are
 *   never markdown, which is why the card templates put user data in TextRuns; a TextBlock that
 *   must carry user data goes through `escapeMarkdown`.
 * - Bot message `text` (markdown by default, with `<at>` mention tags; "Format your bot messages",
 *   https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/format-your-bot-messages):
 *   `escapeMessageText` XML-escapes `&`, `<`, `>` (so no tag, `<at>` included, can be forged) and
 *   backslash-escapes the markdown punctuation. Mention tags are built by the caller around
 *   XML-escaped names, after escaping, so they keep working.
 * Apply once, at the point where the text is placed: escaping twice shows the backslashes.
 */

/** CommonMark's backslash-escapable punctuation that starts markup anywhere in a line. */
const INLINE = /[\\`*_[\]()~|!{}#]/g;
/** Markup that only counts at the start of a line: list items, block quotes, numbered lists, headings. */
const LINE_START = /^(\s*)([-+>]|\d+(?=[.)]))/gm;

function escapeInline(text: string, withAngles: boolean): string {
  let s = text.replace(INLINE, (c) => `\\${c}`);
  if (withAngles) s = s.replace(/[<>]/g, (c) => `\\${c}`);
  // "1. item" / "- item": escape the marker (for numbers, the dot or parenthesis after them).
  s = s.replace(LINE_START, (_m, space: string, marker: string) => (/\d/.test(marker) ? `${space}${marker}` : `${space}\\${marker}`));
  s = s.replace(/^(\s*\d+)([.)])/gm, '$1\\$2');
  // The client's {{DATE()}}/{{TIME()}} functions: a zero-width space keeps "{{" visible but inert.
  return s.replace(/\{\{/g, '{\u200b{').replace(/\\\{\\\{/g, '\\{\u200b\\{');
}

/** Text for an Adaptive Card TextBlock: shows exactly the characters given, never markup or a link. */
export function escapeMarkdown(text: string): string {
  return escapeInline(text, true);
}

const XML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Only `&`, `<`, `>`: for a name inside an `<at>` tag, which Teams shows as the mention, not as markdown. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>]/g, (c) => XML[c]!);
}

/** Text for a bot message's `text` (markdown or xml format, `<at>` tags allowed around it). */
export function escapeMessageText(text: string): string {
  // Angles become entities first (no tag can be forged); entities are never markdown syntax.
  return escapeInline(escapeXml(text), false);
}
