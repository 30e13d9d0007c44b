/**
 * Child process: the baseline. A bare botbuilder echo bot (CloudAdapter built from `{}`, i.e.
 * authentication off like the real bot in test mode, and an ActivityHandler) on the same express
 * setup as bot/server.ts. A message is echoed back through the connector; a card action
 * (adaptiveCard/action invoke) is echoed through the connector too and answered with a card that
 * repeats its data. So, like the real bot, every request costs one outbound loopback HTTP call.
 */
import type { AddressInfo } from 'node:net';
import { ActivityHandler, CardFactory, CloudAdapter, ConfigurationBotFrameworkAuthentication, type InvokeResponse, type TurnContext } from 'botbuilder';
import express from 'express';

class EchoBot extends ActivityHandler {
  constructor() {
    super();
    this.onMessage(async (context, next) => {
      await context.sendActivity(`Echo: ${context.activity.text ?? ''}`);
      await next();
    });
  }

  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    if (context.activity.name !== 'adaptiveCard/action') return super.onInvokeActivity(context);
    const action = (context.activity.value as { action?: { verb?: string; data?: unknown } } | undefined)?.action;
    await context.sendActivity(`Echo: ${action?.verb ?? ''}`);
    const card = CardFactory.adaptiveCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: JSON.stringify(action?.data ?? {}), wrap: true }] }).content;
    return { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card } };
  }
}

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
