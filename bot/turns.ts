/**
 * What the bot does with an inbound turn, on the product's own types (bot/activity.ts): text
 * becomes a command (bot/commands.ts), an Action.Execute invoke goes to the one handler of its verb
 * (bot/handlers/), and every decision is the bridge's. The actor is always the activity's
 * `from.aadObjectId` in an allowed tenant (the tenant guard runs first, in bot/teams/). The channel
 * adapter (bot/teams/activity-handler.ts) routes activities here and sends the answers.
 */
import type { ConversationRef, ConversationTurn, InvokeResult } from './activity';
import type { Command } from './commands';
import { parseCommand } from './commands';
import { accountSearch, type ActionContext, handlerFor, type HandlerDeps } from './handlers';
import { ACTION_HANDLERS } from './handlers';
import { kpiCommand } from './handlers/kpi-command';
import { errorCard, help, messageCard, welcome } from './handlers/render';
import { buildRequestForm } from './handlers/shared';
import type { IdentityResolver } from './identity';
import { errorDetails } from './log';
import { LoginRequired, loginRequestResponse } from './step-up';

export interface JitBotDeps extends HandlerDeps {
  identity: IdentityResolver;
  /** The on-call channel (`19:...`): its conversation reference is remembered when the bot is used there. */
  oncallChannelId: string;
  approverAadObjectIds: readonly string[];
}

const ADAPTIVE = 'application/vnd.microsoft.card.adaptive';
const SEARCH_RESPONSE = 'application/vnd.microsoft.search.searchResponse';

const invokeError = (status: number, code: string, message: string): InvokeResult => ({
  status,
  body: { statusCode: status, type: 'application/vnd.microsoft.error', value: { code, message } },
});

export class BotTurns {
  /** Last reference saved per user / channel, so an unchanged one is not written on every click. */
  private readonly remembered = new Map<string, string>();

  constructor(private readonly deps: JitBotDeps) {}

  /** The bot was added to a conversation (or someone else joined it). */
  async onMembersAdded(turn: ConversationTurn): Promise<void> {
    const botAdded = (turn.activity.membersAdded ?? []).some((m) => m.id === turn.activity.recipient?.id);
    if (!botAdded) return;
    await this.remember(turn);
    if (turn.activity.conversation?.conversationType === 'personal') await turn.replyWithCard(welcome(this.isConfiguredApprover(turn)));
  }

  async onText(turn: ConversationTurn): Promise<void> {
    await this.remember(turn);
    const activity = turn.activity;
    // In a channel or group chat the text arrives as `<at>Bot</at> request`: drop the bot's mention.
    const text = activity.conversation?.conversationType === 'personal' ? (activity.text ?? '') : turn.textWithoutMention();
    const command = parseCommand(text);
    this.deps.log.info('command', { command, conversationType: activity.conversation?.conversationType });
    const ctx = this.actionContext(turn);
    let card;
    try {
      card = await this.commandCard(ctx, command);
    } catch (e) {
      this.deps.log.warn('command failed', { command, ...errorDetails(e) });
      card = errorCard(e);
    }
    await turn.replyWithCard(card);
  }

  private async commandCard(ctx: ActionContext, command: Command) {
    switch (command) {
      case 'request':
        return buildRequestForm(ctx, { clientRequestId: this.deps.newClientRequestId() });
      case 'mine':
        return ACTION_HANDLERS['menu.mine'].handle(ctx, {});
      case 'pending':
        return ACTION_HANDLERS['menu.pending'].handle(ctx, {});
      case 'kpi':
        return kpiCommand(ctx, this.deps.oncallChannelId);
      case 'greeting':
        return welcome(this.isConfiguredApprover(ctx.turn));
      case 'help':
      case 'unknown':
        return help();
    }
  }

  /** `adaptiveCard/action`: the invoke of an Action.Execute. */
  async onCardAction(turn: ConversationTurn): Promise<InvokeResult> {
    const action = (turn.activity.value as { action?: { type?: unknown; verb?: unknown; data?: unknown } } | undefined)?.action;
    if (!action || action.type !== 'Action.Execute') return invokeError(400, 'BadRequest', 'Only Action.Execute is supported.');
    const handler = handlerFor(action.verb);
    if (!handler) {
      this.deps.log.warn('unknown card verb refused', { verb: typeof action.verb === 'string' ? action.verb.slice(0, 64) : typeof action.verb });
      return invokeError(400, 'BadRequest', 'This card action is not known.');
    }
    await this.remember(turn);
    const ctx = this.actionContext(turn);
    let card;
    try {
      const parsed = handler.schema.safeParse(action.data ?? {});
      if (parsed.success) {
        card = await handler.handle(ctx, parsed.data);
      } else {
        const issues = parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.') || '(data)', message: i.message }));
        this.deps.log.warn('card action data refused', { verb: handler.verb, ...requestIdOf(action.data), paths: issues.map((i) => i.path) });
        card =
          (await handler.onInvalid?.(ctx, action.data, issues)) ??
          messageCard('This card cannot be used', 'Its data was not valid, so nothing was done. Say "help" for a fresh card.', 'attention');
      }
    } catch (e) {
      // The action needs a fresh sign-in: Teams gets the SSO token and sends the action again.
      if (e instanceof LoginRequired && this.deps.stepUp) {
        const settings = this.deps.stepUp.settings;
        this.deps.log.info('step-up sign-in requested', { verb: handler.verb, ...requestIdOf(action.data) });
        return loginRequestResponse(settings, e.text, await turn.signInResource?.(settings.connectionName));
      }
      this.deps.log.warn('card action failed', { verb: handler.verb, ...requestIdOf(action.data), ...errorDetails(e) });
      card = errorCard(e);
    }
    return { status: 200, body: { statusCode: 200, type: ADAPTIVE, value: card } };
  }

  /** `application/search`: the account typeahead of the request form. */
  async onSearch(turn: ConversationTurn): Promise<InvokeResult> {
    const ctx = this.actionContext(turn);
    try {
      const results = await accountSearch(ctx, (turn.activity.value ?? {}) as Parameters<typeof accountSearch>[1]);
      if (!results) return invokeError(400, 'BadRequest', 'This search is not known.');
      return { status: 200, body: { statusCode: 200, type: SEARCH_RESPONSE, value: { results } } };
    } catch (e) {
      this.deps.log.warn('account search failed', errorDetails(e));
      return invokeError(500, 'SearchFailed', 'The account list is not available right now; try again.');
    }
  }

  private actionContext(turn: ConversationTurn): ActionContext {
    let actor: ReturnType<ActionContext['actor']> | undefined;
    return { turn, deps: this.deps, now: this.deps.clock.now(), actor: () => (actor ??= this.deps.identity.actorFor(turn)) };
  }

  private isConfiguredApprover(turn: { activity: ConversationTurn['activity'] }): boolean {
    const aad = turn.activity.from?.aadObjectId?.toLowerCase();
    return !!aad && this.deps.approverAadObjectIds.includes(aad);
  }

  /** Keeps the references proactive messages need: the user's 1:1 chat, and the on-call channel. */
  private async remember(turn: ConversationTurn): Promise<void> {
    const activity = turn.activity;
    const reference = turn.reference();
    try {
      const type = activity.conversation?.conversationType;
      const aad = activity.from?.aadObjectId;
      if (type === 'personal' && aad) {
        if (this.unchanged(`user:${aad.toLowerCase()}`, reference)) return;
        await this.deps.store.saveUserReference(aad, reference);
        return;
      }
      const channelId = ((activity.channelData as { channel?: { id?: string } } | undefined)?.channel?.id ?? activity.conversation?.id ?? '').split(';')[0];
      if (channelId && channelId === this.deps.oncallChannelId) {
        const channelReference: ConversationRef = { ...reference, conversation: { ...reference.conversation!, id: channelId } };
        if (this.unchanged('channel', channelReference)) return;
        await this.deps.store.saveChannelReference(channelReference);
      }
    } catch (e) {
      this.deps.log.warn('could not store a conversation reference', errorDetails(e));
    }
  }

  private unchanged(key: string, reference: ConversationRef): boolean {
    const json = JSON.stringify(reference);
    if (this.remembered.get(key) === json) return true;
    if (this.remembered.size > 10_000) this.remembered.clear();
    this.remembered.set(key, json);
    return false;
  }
}

/** The correlation key of a card action's log lines: the card's request id, if it looks like one (card data is untrusted). */
function requestIdOf(data: unknown): { requestId?: string } {
  const id = (data as { requestId?: unknown } | null | undefined)?.requestId;
  return typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id) ? { requestId: id } : {};
}
