/**
 * The bot's HTTP surface (express 5):
 *   POST /api/messages   Bot Framework activities (JWT-authenticated by the channel adapter in bot/teams/ unless sandbox/test)
 *   POST /api/notify     backend notifications (HMAC-signed, see bot/notify.ts)
 *   GET  /healthz        liveness
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { MessagesEndpoint } from './activity';
import { type BotApplication, type BotOverrides, createBotApplication } from './app';
import type { BotConfig } from './config';
import { type Log, errorDetails } from './log';
import { type NotifyRouteDeps, notifyRouter } from './notify';
import { problemErrorHandler, sendProblem } from './problem';

export interface BotServerDeps {
  messages: MessagesEndpoint;
  notify: NotifyRouteDeps;
  log: Log;
}

export const MESSAGES_MAX_BODY = '1mb';

/**
 * What the Bot Framework sends to a messaging endpoint is a JSON activity object with a `type`
 * ("Bot Framework REST API: Activity object"); anything else is answered here as a problem instead
 * of reaching botbuilder, which would answer it with its own HTML message or a 500.
 */
const activityShape: express.RequestHandler = (req, res, next) => {
  if (!req.is('application/json')) return sendProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'The body must be a Bot Framework activity as application/json.');
  const body: unknown = req.body;
  if (!body || typeof body !== 'object' || Array.isArray(body) || typeof (body as { type?: unknown }).type !== 'string' || !(body as { type: string }).type) {
    return sendProblem(res, 400, 'NOT_AN_ACTIVITY', 'The body is not a Bot Framework activity (a JSON object with a type).');
  }
  next();
};

/**
 * Production defaults whatever NODE_ENV says: express's `env` decides whether its default error
 * page shows a stack, so it is pinned; no `x-powered-by`, no ETags on API answers. Body-parser
 * errors (malformed JSON, a body over the limit) are answered by `problemErrorHandler` with an
 * RFC 9457 problem, before any authentication runs and without internals.
 */
export function createBotServer(deps: BotServerDeps): express.Express {
  const app = express();
  app.set('env', 'production');
  app.disable('x-powered-by');
  app.disable('etag');
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.post('/api/messages', express.json({ limit: MESSAGES_MAX_BODY }), activityShape, async (req, res) => {
    try {
      await deps.messages.process(req, res);
    } catch (e) {
      deps.log.error('activity processing failed', errorDetails(e));
      if (!res.headersSent) sendProblem(res, 500, 'INTERNAL', 'The bot could not process this activity.');
    }
  });
  app.use('/api/notify', notifyRouter(deps.notify));
  app.use((_req, res) => sendProblem(res, 404, 'NOT_FOUND', 'No such route.'));
  app.use(problemErrorHandler(deps.log));
  return app;
}

export interface RunningBot {
  url: string;
  application: BotApplication;
  close(): Promise<void>;
}

/** Builds the bot from a parsed config and listens on config.host:config.port (0 = any free port). */
export async function startBot(config: BotConfig, overrides: BotOverrides = {}): Promise<RunningBot> {
  const application = await createBotApplication(config, overrides);
  const app = createBotServer({
    messages: application.messages,
    log: application.log,
    notify: { secret: config.notifySecret, store: application.store, notifications: application.notifications, clock: application.clock, log: application.log },
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}`,
    application,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
