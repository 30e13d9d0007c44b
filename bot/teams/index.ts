/**
 * The Teams channel adapter: the one folder of bot/ that imports botbuilder and
 * botframework-connector (test/unit/botbuilder-boundary.test.ts keeps it so). It builds the
 * CloudAdapter with its authentication, the tenant guard and the turn-error answer; the
 * TeamsActivityHandler that hands turns to bot/turns.ts; the proactive Messenger; and the Teams
 * roster. Everything else in bot/ works on bot/activity.ts, bot/messenger.ts and the RosterLookup
 * port. docs/ARCHITECTURE.md ("Porting off botbuilder") lists what a port would replace here.
 */
import { ActivityTypes, CloudAdapter } from 'botbuilder';
import type { MessagesEndpoint } from '../activity';
import type { BotConfig } from '../config';
import type { PipelinePolicyLike } from '../delivery';
import type { RosterLookup } from '../identity';
import { type Log, errorDetails } from '../log';
import type { Messenger } from '../messenger';
import type { JitBotDeps } from '../turns';
import { JitBot } from './activity-handler';
import { ConnectorMessenger, createBotFrameworkAuthentication } from './connector';
import { TenantGuard } from './tenant-guard';
import { teamsRoster } from './turn';

export { JitBot } from './activity-handler';

export interface TeamsAdapter {
  /** Proactive messages through the Bot Framework connector, with the delivery policy installed. */
  messenger: Messenger & Required<Pick<Messenger, 'member'>>;
  /** TeamsInfo.getMember for the turn's conversation. */
  roster: RosterLookup;
  /** The POST /api/messages handler that runs the bot built from `deps` behind the tenant guard. */
  endpoint(deps: JitBotDeps): MessagesEndpoint;
}

export function createTeamsAdapter(config: Pick<BotConfig, 'authenticationEnabled' | 'app' | 'allowedTenantIds'>, policy: PipelinePolicyLike, log: Log): TeamsAdapter {
  const auth = createBotFrameworkAuthentication(config, policy);
  const adapter = new CloudAdapter(auth);
  adapter.use(new TenantGuard(config.allowedTenantIds, log));
  adapter.onTurnError = async (context, error) => {
    log.error('turn failed', { type: context.activity.type, name: context.activity.name, ...errorDetails(error) });
    if (context.activity.type === ActivityTypes.Message) await context.sendActivity('Sorry, something went wrong. Please try again.').catch(() => undefined);
  };
  return {
    messenger: new ConnectorMessenger(auth, config.app?.id ?? ''),
    roster: teamsRoster,
    endpoint: (deps) => {
      const bot = new JitBot(deps, { userTokens: config.authenticationEnabled });
      return { process: (req, res) => adapter.process(req, res, (context) => bot.run(context)) };
    },
  };
}
