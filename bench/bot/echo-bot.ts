/**
 * Child process: the baseline. A bare botbuilder echo bot (CloudAdapter built from `{}`, i.e.
 * authentication off like the real bot in test mode, and an ActivityHandler) on the same express
 * setup as bot/server.ts. A message is echoed back through the connector; a card action
 * (adaptiveCard/action invoke) is echoed through the connector too and answered with a card that
 * repeats its data. So, like the real bot, every request costs one outbound loopback HTTP call.
 */
import type { AddressInfo } from 'node:net';
import { CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import express from 'express';
import { EchoBot } from './echo-handler';

const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
const bot = new EchoBot();
const app = express();
app.disable('x-powered-by');
app.post('/api/messages', express.json({ limit: '1mb' }), async (req, res) => {
  try {
    await adapter.process(req, res, (context) => bot.run(context));
  } catch {
    if (!res.headersSent) res.status(500).end();
  }
});
const server = app.listen(0, '127.0.0.1', () => {
  process.send!({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
process.on('SIGTERM', () => process.exit(0));
