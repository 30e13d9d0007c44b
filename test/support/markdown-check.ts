/**
 * A small check for "would Teams render this as markup?": an unescaped markdown link, emphasis,
 * code span, heading or list marker, or an HTML tag. CommonMark treats a character preceded by an
 * odd number of backslashes as literal; that is what escaping relies on.
 */
const SIGNIFICANT = new Set(['[', ']', '(', ')', '*', '_', '`', '~', '|', '!', '#', '<', '>', '{', '}']);

function escapedAt(text: string, i: number): boolean {
  let slashes = 0;
  for (let j = i - 1; j >= 0 && text[j] === '\\'; j--) slashes++;
  return slashes % 2 === 1;
}

/** True when `text` holds a markdown link `[x](y)` whose brackets and parenthesis are not escaped. */
export function hasLiveLink(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '[' || escapedAt(text, i)) continue;
    for (let j = i + 1; j < text.length - 1; j++) {
      if (text[j] === ']' && !escapedAt(text, j) && text[j + 1] === '(') return true;
    }
  }
  return false;
}

/** The markdown-significant characters of `text` that are not backslash-escaped. */
export function unescapedMarkup(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (!SIGNIFICANT.has(c)) continue;
    if (!escapedAt(text, i)) out.push(c);
  }
  return out;
}

/** Every TextBlock text and FactSet value in a card: the places where Adaptive Cards render markdown. */
export function markdownTexts(card: unknown): string[] {
  const out: string[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== 'object') return;
    const o = n as Record<string, unknown>;
    if (o.type === 'TextBlock' && typeof o.text === 'string') out.push(o.text);
    if (o.type === 'FactSet' && Array.isArray(o.facts)) for (const f of o.facts as Array<{ value?: unknown }>) if (typeof f.value === 'string') out.push(f.value);
    Object.values(o).forEach(walk);
  };
  walk(card);
  return out;
}
