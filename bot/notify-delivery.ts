/**
 * Delivering a backend notice once its sender is authenticated, whichever door it came through:
 * the HMAC route (bot/notify.ts, self-hosted) or a direct Lambda invoke (bot/lambda-entry.ts, IAM).
 * Kept free of express so that the Lambda bundle does not carry a body parser it never uses.
 */
import { NOTIFY_DUPLICATE, type NotificationBody, notificationBodySchema } from '../contract/notify';
import type { Clock } from '../core/ports';
import type { Log } from './log';
import { errorDetails } from './log';
import { type Problem, problem } from './problem';
import type { ConversationStore } from './storage/types';

export const NOTIFICATION_ID_TTL_MS = 24 * 60 * 60_000;

export interface NotificationHandler {
  handle(body: NotificationBody): Promise<{ posted: number; updated: number; skipped: number }>;
}

/** What delivering a notice needs, whichever door it came through (the HMAC route or a Lambda invoke). */
export interface NotificationReceiver {
  store: Pick<ConversationStore, 'claimNotification' | 'releaseNotification'>;
  notifications: NotificationHandler;
  clock: Clock;
  log: Log;
}


/** The answer to a notice: the HTTP route's status and JSON body (a problem unless 200). */
export type NotificationAnswer = { status: 200; body: { status: 'delivered'; posted: number; updated: number; skipped: number } } | { status: 400 | 409 | 503; body: Problem };

/**
 * Steps 3 and 4 for a notice whose sender is already authenticated (an HMAC signature, or IAM for
 * a direct Lambda invoke): the schema, the once-only claim of its id, delivery; a failed delivery
 * releases the id so that the sender's retry is processed.
 */
export async function deliverNotification(deps: NotificationReceiver, json: unknown): Promise<NotificationAnswer> {
  const parsed = notificationBodySchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
    deps.log.warn('notify refused: body', { issues });
    return { status: 400, body: problem(400, 'VALIDATION', 'The notification does not match the schema.', issues) };
  }
  const body: NotificationBody = parsed.data;
  const now = deps.clock.now();
  if (!(await deps.store.claimNotification(body.notificationId, now, now + NOTIFICATION_ID_TTL_MS))) {
    deps.log.info('notify refused: duplicate notification id', { notificationId: body.notificationId });
    return { status: NOTIFY_DUPLICATE.status, body: problem(NOTIFY_DUPLICATE.status, NOTIFY_DUPLICATE.code, 'This notification was already received.') };
  }
  try {
    const result = await deps.notifications.handle(body);
    deps.log.info('notification delivered', { notificationId: body.notificationId, kind: body.kind, ...(body.kind === 'request' ? { requestId: body.request.id } : {}), ...result });
    return { status: 200, body: { status: 'delivered', ...result } };
  } catch (e) {
    await deps.store.releaseNotification(body.notificationId).catch(() => undefined);
    deps.log.error('notification delivery failed', { notificationId: body.notificationId, ...(body.kind === 'request' ? { requestId: body.request.id } : {}), ...errorDetails(e) });
    return { status: 503, body: problem(503, 'DELIVERY_FAILED', 'Teams could not be reached; retry later.') };
  }
}
