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
import { NOTIFY_HEADERS, NOTIFY_REPLAY_WINDOW_MS, verifyNotification } from '../contract/notify-signature';
import { deliverNotification, type NotificationReceiver } from './notify-delivery';
import { PROBLEM_CONTENT_TYPE, sendProblem } from './problem';
import type { ConversationStore } from './storage/types';

export const NOTIFY_MAX_BODY = '256kb';

export interface NotifyRouteDeps extends NotificationReceiver {
  secret: string;
  store: ConversationStore;
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

export { deliverNotification, NOTIFICATION_ID_TTL_MS, type NotificationAnswer, type NotificationHandler, type NotificationReceiver } from './notify-delivery';
