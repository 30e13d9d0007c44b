/**
 * `POST /api/notify`: the backend tells the bot that a request changed or that findings arrived.
 * Order of checks, each refusing with nothing posted:
 *   1. HMAC-SHA256 signature over `${timestamp}.${rawBody}` (RAW bytes, constant-time compare) -> 401
 *   2. timestamp within the replay window (5 minutes)                                          -> 401
 *   3. JSON body of the NotificationBody schema (contract/notify.ts)                           -> 400
 *   4. notificationId not processed before (remembered for a day)                              -> 409
 * A failure while delivering releases the id, so the sender's retry is processed; the sender
 * treats 409 DUPLICATE as "already delivered".
 */
import express from 'express';
import { NOTIFY_DUPLICATE, type NotificationBody, notificationBodySchema } from '../contract/notify';
import { NOTIFY_HEADERS, NOTIFY_REPLAY_WINDOW_MS, verifyNotification } from '../contract/notify-signature';
import type { Clock } from '../core/ports';
import type { Log } from './log';
import { errorDetails } from './log';
import { PROBLEM_CONTENT_TYPE, type Problem, problem, sendProblem } from './problem';
import type { ConversationStore } from './storage/types';

export const NOTIFY_MAX_BODY = '256kb';
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

export interface NotifyRouteDeps extends NotificationReceiver {
  secret: string;
  store: ConversationStore;
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

const error = (res: express.Response, status: number, code: string, message: string, issues?: Array<{ path: string; message: string }>) => sendProblem(res, status, code, message, issues);

export function notifyRouter(deps: NotifyRouteDeps): express.Router {
  const router = express.Router();
  router.post(
    '/',
    // Raw bytes: the MAC is over exactly what was sent, before any JSON parsing.
    express.raw({ type: () => true, limit: NOTIFY_MAX_BODY }),
    async (req, res) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const check = verifyNotification(
        deps.secret,
        { timestamp: req.get(NOTIFY_HEADERS.timestamp), signature: req.get(NOTIFY_HEADERS.signature) },
        raw,
        deps.clock.now(),
        NOTIFY_REPLAY_WINDOW_MS,
      );
      if (!check.ok) {
        deps.log.warn('notify refused: signature', { reason: check.reason, ip: req.ip });
        return error(res, 401, 'UNAUTHORIZED', 'Missing, invalid or expired signature.');
      }
      if (!(req.get('content-type') ?? '').toLowerCase().startsWith('application/json')) {
        return error(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'The body must be application/json.');
      }
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        return error(res, 400, 'VALIDATION', 'The body is not valid JSON.');
      }
      const answer = await deliverNotification(deps, json);
      if (answer.status === 503) res.set('retry-after', '5');
      if (answer.status === 200) return void res.status(200).json(answer.body);
      res.status(answer.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(answer.body));
    },
  );
  return router;
}
