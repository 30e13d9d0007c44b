/**
 * Short natural text to a command. Tolerant on purpose: case, punctuation, polite words and a
 * leading @mention (removed before this) do not matter; anything unrecognized gets help.
 */
export type Command = 'request' | 'mine' | 'pending' | 'kpi' | 'help' | 'greeting' | 'unknown';

const GREETINGS = new Set(['hi', 'hello', 'hey', 'hallo', 'hiya', 'howdy', 'yo', 'start', 'good morning', 'good afternoon', 'good evening', 'morning', 'hi there', 'hello there', 'hey there']);
const FILLER = /\b(please|pls|plz|thanks|thank you|can you|could you|i want to|i would like to|i'd like to|show me|show|me|the|a|an|some)\b/g;

export function normalize(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/<[^>]*>/g, ' ')
    .replace(/[^\p{L}\p{N}\s']/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function parseCommand(text: string | undefined): Command {
  const t = normalize(text ?? '');
  if (!t) return 'unknown';
  if (GREETINGS.has(t)) return 'greeting';
  const core = t.replace(FILLER, ' ').replace(/\s+/g, ' ').trim();
  if (/^(help|\?|commands|menu|what can you do|how does this work|usage)$/.test(core) || /^help\b/.test(core)) return 'help';
  if (/^(kpis?|metrics|stats|statistics|digest|dashboard|weekly (kpis?|digest|report))$/.test(core) || /\b(kpis?|access metrics)\b/.test(core)) return 'kpi';
  if (/\b(pending|approvals?|to approve|awaiting( my)? approval|needs? my approval|review queue)\b/.test(core)) return 'pending';
  if (/^(mine|my|list|status|history)$/.test(core) || /\bmy (requests?|access|grants?|status)\b/.test(core) || /^(list|show) (requests?|access)$/.test(core)) return 'mine';
  if (/^(request|new|access|elevate|jit)$/.test(core) || /\b(request( access)?|new request|need access|get access|access request|elevate)\b/.test(core)) return 'request';
  if ([...GREETINGS].some((g) => t.startsWith(`${g} `))) return 'greeting';
  return 'unknown';
}
