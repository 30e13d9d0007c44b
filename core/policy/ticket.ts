/**
 * Ticket id patterns. One compile function for the loader (which rejects bad patterns) and the
 * evaluator (which matches), so that what the file means is decided in exactly one place.
 * A pattern must match the WHOLE ticket id: `INC-\d+` does not accept "xINC-1y".
 */

export const TICKET_PATTERN_MAX_LENGTH = 200;

export type TicketPatternResult = { ok: true; regex: RegExp } | { ok: false; error: string };

const cache = new Map<string, TicketPatternResult>();

export function compileTicketPattern(pattern: string): TicketPatternResult {
  const cached = cache.get(pattern);
  if (cached) return cached;
  const result = compile(pattern);
  if (cache.size < 1000) cache.set(pattern, result);
  return result;
}

function compile(pattern: string): TicketPatternResult {
  if (pattern.length === 0) return { ok: false, error: 'must not be empty (leave pattern out to accept any ticket id)' };
  if (pattern.length > TICKET_PATTERN_MAX_LENGTH) return { ok: false, error: `must be at most ${TICKET_PATTERN_MAX_LENGTH} characters (got ${pattern.length})` };
  if (hasNestedQuantifier(pattern)) return { ok: false, error: 'must not repeat a group that itself repeats, like (a+)+: such patterns can take exponential time' };
  try {
    return { ok: true, regex: new RegExp(`^(?:${pattern})$`, 'u') };
  } catch (e) {
    return { ok: false, error: `is not a valid regular expression: ${(e as Error).message}` };
  }
}

export function ticketMatches(pattern: string, ticketId: string): boolean {
  const compiled = compileTicketPattern(pattern);
  return compiled.ok && compiled.regex.test(ticketId);
}

/**
 * A conservative guard against catastrophic backtracking: a quantified group (`*`, `+`, `{n,}`)
 * whose body also contains a quantifier. Escapes and character classes are skipped.
 */
function hasNestedQuantifier(pattern: string): boolean {
  const stack: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push(false);
    else if (c === '*' || c === '+' || c === '{') {
      if (stack.length > 0) stack[stack.length - 1] = true;
    } else if (c === ')') {
      const bodyRepeats = stack.pop() ?? false;
      const next = pattern[i + 1];
      const groupRepeats = next === '*' || next === '+' || next === '{';
      if (bodyRepeats && groupRepeats) return true;
      if (bodyRepeats && stack.length > 0) stack[stack.length - 1] = true;
    }
  }
  return false;
}
