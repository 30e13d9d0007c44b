/**
 * The baseline bot's one handler, shared by the echo server (echo-bot.ts) and the echo Lambda
 * (echo-lambda.ts): a message is echoed back through the connector; a card action is echoed through
 * the connector too and answered with a card that repeats its data, so every request costs one
 * outbound loopback call, as the real bot's bridge call does.
 */
import { ActivityHandler, CardFactory, type InvokeResponse, type TurnContext } from 'botbuilder';

export class EchoBot extends ActivityHandler {
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
