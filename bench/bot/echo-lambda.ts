/**
 * The baseline on the same Lambda entry shape: a bare botbuilder echo bot (as bench/bot/echo-bot.ts:
 * CloudAdapter from `{}`, an ActivityHandler that echoes through the connector and answers a card
 * action with a card) behind bot/lambda.ts createBotLambdaHandler, so both bots pay the same event
 * conversion, validation and response collection.
 */
import { CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import { createBotLambdaHandler } from '../../bot/lambda-entry';
import { silentLog } from '../../bot/log';
import { EchoBot } from './echo-handler';

const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
const bot = new EchoBot();

export const handler = createBotLambdaHandler(async () => ({
  messages: { process: (req, res) => adapter.process(req, res, (context) => bot.run(context)) },
  log: silentLog,
}), silentLog);
