/**
 * The bot as an AWS Lambda function behind the stack's HTTP API (route `POST /api/messages`,
 * payload format 2.0, no API Gateway authorizer: API Gateway cannot validate Bot Connector tokens,
 * CloudAdapter does, in code, exactly as under express). The event/response shape and the input
 * problems are bot/lambda-entry.ts; this module builds the real bot for it.
 *
 * Config and clients (Secrets Manager read, msal, DynamoDB, connector) are built once per cold start.
 */
import { randomBytes } from 'node:crypto';
import { type BotOverrides, createBotApplication } from './app';
import { BOT_ENV, type BotConfig } from './config';
import { loadBotConfig } from './credentials';
import { type BotLambdaTarget, createBotLambdaHandler } from './lambda-entry';
import { jsonLog } from './log';

export { type BotLambdaHandler, type BotLambdaTarget, LAMBDA_MESSAGES_MAX_BYTES, createBotLambdaHandler } from './lambda-entry';

/**
 * The environment the Lambda is configured with: the bot's own variables (bot/config.ts), the
 * credentials secret ARN, and no HMAC key: the hosted bot has no `/api/notify` door (the backend
 * reaches it over IAM), so it gets a random per-process key that nothing can sign with.
 */
export function lambdaEnvironment(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return { ...env, [BOT_ENV.notifySecret]: env[BOT_ENV.notifySecret] ?? randomBytes(32).toString('hex') };
}

/** Config (secret read once) and the whole application, for one execution environment. */
export async function buildFromEnvironment(
  env: Record<string, string | undefined>,
  overrides: BotOverrides = {},
  deps: Parameters<typeof loadBotConfig>[1] = {},
): Promise<BotLambdaTarget & { config: BotConfig }> {
  const config = await loadBotConfig(lambdaEnvironment(env), deps);
  const log = overrides.log ?? jsonLog(config.logLevel);
  for (const warning of config.warnings) log.warn('configuration', { warning });
  const application = await createBotApplication(config, { ...overrides, log });
  log.info('bot ready', { host: 'lambda', mode: config.mode, authentication: config.authenticationEnabled, store: config.store.kind, credentials: config.credentialSource ?? 'none' });
  return { ...application, config };
}

/**
 * The function's handler (`bot/lambda.handler`). Loading the bundle (most of a cold start) happens
 * in Lambda's init phase; the application is built on the first invoke, not at load: a CommonJS
 * handler cannot make init wait for a promise, and with provisioned concurrency the environment
 * is frozen after init ("Understanding the Lambda execution environment lifecycle",
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html), which would leave
 * the Secrets Manager read hanging on a frozen connection until the first invoke.
 */
export const handler = createBotLambdaHandler(() => buildFromEnvironment(process.env));
