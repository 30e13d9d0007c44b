/**
 * The last line of defense before a log line leaves the process: keys that name credentials are
 * dropped, and anything that looks like a JWT or a bearer credential is masked wherever it appears
 * (an error message quoting an Authorization header, say). Callers still log ids and codes only;
 * this catches the mistakes.
 */

/** Key names (case-insensitive, ignoring `-` and `_`) that always hold credentials. */
const SENSITIVE_EXACT = new Set(['authorization', 'proxyauthorization', 'cookie', 'setcookie', 'apikey', 'xapikey', 'privatekey', 'clientassertion']);
/** Fragments of key names that hold credentials: taskToken, accessToken, clientSecret, password, ... */
const SENSITIVE_FRAGMENTS = ['token', 'secret', 'password', 'passwd', 'credential', 'signature'];

export const REDACTED = '[REDACTED]';

/** Three base64url segments, the first two JSON objects (`eyJ` is `{"`): a JWS compact token. */
const JWT_ANYWHERE = /eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
/** `Bearer <credential>` / `Basic <credential>` in free text. */
const AUTH_SCHEME_ANYWHERE = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;

const MAX_DEPTH = 8;

export function isSensitiveKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_]/g, '');
  return SENSITIVE_EXACT.has(k) || SENSITIVE_FRAGMENTS.some((f) => k.includes(f));
}

export function redactText(text: string): string {
  return text.replace(JWT_ANYWHERE, REDACTED).replace(AUTH_SCHEME_ANYWHERE, (_m, scheme: string) => `${scheme} ${REDACTED}`);
}

/** A deep copy of `value` without credentials. Errors become {name, message, stack}; cycles and depth are cut. */
export function redact(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  seen.add(value);
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: redactText(value.message) };
    if (value.stack) out.stack = redactText(value.stack);
    return out;
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (isSensitiveKey(k)) continue;
    out[k] = redact(v, depth + 1, seen);
  }
  return out;
}

/** `redact` for a log line's details object. */
export function redactDetails(details: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!details) return {};
  return redact(details) as Record<string, unknown>;
}
