/**
 * The Teams bot on botbuilder: a TeamsActivityHandler that maps each TurnContext to the product's
 * ConversationTurn and hands it to BotTurns (bot/turns.ts), which decides everything. Only the
 * routing by activity type and invoke name, and the InvokeResponse shape, are botbuilder's here.
 */
import { type InvokeResponse, TeamsActivityHandler, type TurnContext } from 'botbuilder';
import { BotTurns, type JitBotDeps } from '../turns';
import { conversationTurn } from './turn';

export class JitBot extends TeamsActivityHandler {
  private readonly turns: BotTurns;

  constructor(
    deps: JitBotDeps,
    private readonly options: { userTokens?: boolean } = {},
  ) {
    super();
    this.turns = new BotTurns(deps);
    this.onMessage(async (context, next) => {
      await this.turns.onText(conversationTurn(context));
      await next();
    });
    this.onMembersAdded(async (context, next) => {
      await this.turns.onMembersAdded(conversationTurn(context));
      await next();
    });
  }

  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    switch (context.activity.name) {
      case 'adaptiveCard/action':
        return this.turns.onCardAction(conversationTurn(context, this.options));
      case 'application/search':
        return this.turns.onSearch(conversationTurn(context));
      default:
        return super.onInvokeActivity(context);
    }
  }
}
