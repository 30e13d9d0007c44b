/**
 * The signature on `POST /api/notify` (backend -> bot): lambdas/adapters/bot-notifier.ts signs,
 * bot/notify.ts verifies.
 *
 *   x-jit-timestamp: <epoch seconds>
 *   x-jit-signature: v1=<hex HMAC-SHA256(secret, `${timestamp}.${rawBody}`)>
 *
 * The timestamp is inside the MAC, so a captured request cannot be replayed outside the window,
 * and the notificationId in the body is remembered inside it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const NOTIFY_HEADERS = { timestamp: 'x-jit-timestamp', signature: 'x-jit-signature' } as const;
export const NOTIFY_REPLAY_WINDOW_MS = 5 * 60_000;

export function notifyMac(secret: string, timestamp: string, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** Headers for a signed notification; `nowMs` is the sender's clock. */
export function signNotification(secret: string, rawBody: string, nowMs: number): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return {
    'content-type': 'application/json',
    [NOTIFY_HEADERS.timestamp]: timestamp,
    [NOTIFY_HEADERS.signature]: `v1=${notifyMac(secret, timestamp, rawBody)}`,
  };
}

export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'mismatch' };

export function verifyNotification(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  rawBody: Buffer,
  nowMs: number,
  windowMs = NOTIFY_REPLAY_WINDOW_MS,
): SignatureCheck {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed' };
  const m = /^v1=([0-9a-f]{64})$/.exec(signature.trim());
  if (!m) return { ok: false, reason: 'malformed' };
  // Compare the MAC before looking at the time, so a forger learns nothing about the window.
  const expected = Buffer.from(notifyMac(secret, timestamp, rawBody), 'hex');
  const given = Buffer.from(m[1]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'mismatch' };
  const skew = Math.abs(nowMs - Number(timestamp) * 1000);
  if (skew > windowMs) return { ok: false, reason: 'expired' };
  return { ok: true };
}
