/**
 * Reads a policy file's text (YAML or JSON) into the plain document that core's `validatePolicy`
 * checks. The file format lives here, at the edge that has the file (synth, preflight, the sandbox,
 * the scripts); core validates objects only, and the Lambda functions get the document as JSON.
 * Syntax errors keep their line and column; they are PolicyErrors on the path `(file)`, like the
 * validation's errors, so every caller reports both the same way.
 */
import { parseDocument } from 'yaml';
import { PolicyError } from '../core/errors';
import type { Policy } from '../core/policy/types';
import { validatePolicy } from '../core/policy/validate';

export type PolicyFormat = 'yaml' | 'json';

/** Larger files are refused before parsing (10,000 accounts take well under 2 MB). */
export const POLICY_MAX_BYTES = 5_000_000;

/** The format a policy file's name gives (.yaml, .yml or .json), or undefined. */
export function policyFormatOf(path: string): PolicyFormat | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  return undefined;
}

/** Parses the text into a document. Throws PolicyError (and only PolicyError) when it cannot. */
export function readPolicyDocument(text: string, format: PolicyFormat): unknown {
  if (typeof text !== 'string') throw new PolicyError([{ path: '(file)', message: 'the policy must be text' }]);
  if (text.length > POLICY_MAX_BYTES) throw new PolicyError([{ path: '(file)', message: `is larger than ${POLICY_MAX_BYTES} characters` }]);
  if (text.trim() === '') throw new PolicyError([{ path: '(file)', message: 'is empty' }]);
  if (format === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (e) {
      throw new PolicyError([{ path: '(file)', message: `JSON syntax error: ${(e as Error).message}` }]);
    }
    const duplicate = firstDuplicateJsonKey(text);
    if (duplicate) throw new PolicyError([{ path: '(file)', message: `duplicate key "${duplicate.key}" at line ${duplicate.line}: the later value would silently win` }]);
    return value;
  }
  try {
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true, stringKeys: true });
    if (doc.errors.length > 0) {
      throw new PolicyError(
        doc.errors.slice(0, 5).map((err) => {
          const pos = err.linePos?.[0];
          const first = (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, '');
          return { path: '(file)', message: `YAML syntax error${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${first}` };
        }),
      );
    }
    // maxAliasCount bounds alias expansion ("billion laughs").
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (e) {
    if (e instanceof PolicyError) throw e;
    throw new PolicyError([{ path: '(file)', message: `YAML error: ${(e as Error).message}` }]);
  }
}

/** Reads and validates policy text: `readPolicyDocument`, then core's `validatePolicy`. */
export function parsePolicyText(text: string, format: PolicyFormat): { policy: Policy; document: unknown } {
  const document = readPolicyDocument(text, format);
  return { policy: validatePolicy(document), document };
}

/**
 * JSON.parse keeps the last of two equal keys, so `"rules"` written twice would silently replace
 * the first list. This scan (of text JSON.parse already accepted) finds such keys, like YAML does.
 */
function firstDuplicateJsonKey(text: string): { key: string; line: number } | undefined {
  const stack: Array<{ keys: Set<string>; expectKey: boolean } | null> = [];
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    else if (c === '{') stack.push({ keys: new Set(), expectKey: true });
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top) top.expectKey = true;
    } else if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      const top = stack[stack.length - 1];
      if (top?.expectKey) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (top.keys.has(key)) return { key, line };
        top.keys.add(key);
        top.expectKey = false;
      }
    }
  }
  return undefined;
}
