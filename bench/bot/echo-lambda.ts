/**
 * The baseline on the same Lambda entry shape: a bare botbuilder echo bot (as bench/bot/echo-bot.ts:
 * CloudAdapter from `{}`, an ActivityHandler that echoes through the connector and answers a card
 * action with a card) behind bot/lambda.ts createBotLambdaHandler, so both bots pay the same event
 * conversion, validation and response collection.
 */
import { ActivityHandler, CardFactory, CloudAdapter, ConfigurationBotFrameworkAuthentication, type InvokeResponse, type TurnContext } from 'botbuilder';
import { createBotLambdaHandler } from '../../bot/lambda-entry';
import { silentLog } from '../../bot/log';

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

export const handler = createBotLambdaHandler(async () => ({
  messages: { process: (req, res) => adapter.process(req, res, (context) => bot.run(context)) },
  log: silentLog,
}), silentLog);
