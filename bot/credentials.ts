/**
 * The bot's Entra credentials from Secrets Manager. The stack creates the secret
 * `jit-access-<stage>/bot-credentials` (output `BotCredentialsSecretArn`); the operator puts the
 * bot's client secret into it; with `JIT_BOT_CREDENTIALS_SECRET_ARN` set, the bot reads it once at
 * startup, before its configuration is parsed. The secret is a JSON object, exactly:
 *
 *   {"MicrosoftAppId": "<bot client id>", "MicrosoftAppTenantId": "<tenant id>", "MicrosoftAppPassword": "<client secret>"}
 *
 * A plain `MicrosoftAppPassword` environment variable still works, for local development: in
 * production the configuration carries a warning for it (bot/config.ts). Error messages name the
 * secret and the bad field, never a value.
 */
import type * as SecretsManager from '@aws-sdk/client-secrets-manager';
type SecretsManagerClient = SecretsManager.SecretsManagerClient;
import * as z from 'zod';
import { BOT_ENV, type BotConfig, BotConfigError, parseBotConfig } from './config';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A Secrets Manager secret ARN (its region is where the secret is read). */
const SECRET_ARN = /^arn:aws(?:-[a-z]+)*:secretsmanager:([a-z0-9-]+):\d{12}:secret:[\w/+=.@-]+$/;

export const botCredentialsSecretSchema = z.strictObject({
  MicrosoftAppId: z.string().regex(GUID, "must be the bot's app (client) id (a GUID)"),
  MicrosoftAppTenantId: z.string().regex(GUID, 'must be the Entra tenant id (a GUID)'),
  MicrosoftAppPassword: z.string().min(1, 'is empty'),
});
export type BotCredentialsSecret = z.infer<typeof botCredentialsSecretSchema>;

export interface ResolvedEnvironment {
  env: Record<string, string | undefined>;
  credentialsFromSecret: boolean;
  warnings: string[];
}

/**
 * The environment with the credentials from the secret filled in (when the ARN is set). Throws
 * BotConfigError for an unreadable, malformed or mismatching secret.
 */
export async function resolveBotEnvironment(env: Record<string, string | undefined>, deps: { secretsManager?: SecretsManagerClient } = {}): Promise<ResolvedEnvironment> {
  const arn = env[BOT_ENV.credentialsSecretArn]?.trim();
  if (!arn) return { env, credentialsFromSecret: false, warnings: [] };
  const name = BOT_ENV.credentialsSecretArn;
  const region = SECRET_ARN.exec(arn)?.[1];
  if (!region) throw new BotConfigError(`Invalid bot configuration: ${name} must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>), the stack output BotCredentialsSecretArn`);
  // The SDK client is loaded only when there is a secret to read (never in sandbox or test mode).
  // require, not import(): in the Lambda bundle the SDK is external, and the runtime provides it
  // through NODE_PATH, which only require resolves (an ES import() ignores NODE_PATH).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { GetSecretValueCommand, SecretsManagerClient } = require('@aws-sdk/client-secrets-manager') as typeof SecretsManager;
  const client = deps.secretsManager ?? new SecretsManagerClient({ region });
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString;
  } catch (e) {
    const code = (e as { name?: string }).name ?? 'Error';
    throw new BotConfigError(`Invalid bot configuration: the secret ${arn} (${name}) could not be read: ${code}. The bot host needs secretsmanager:GetSecretValue on it (and kms:Decrypt on its key).`);
  }
  if (!text) throw new BotConfigError(`Invalid bot configuration: the secret ${arn} has no string value; put {"MicrosoftAppId","MicrosoftAppTenantId","MicrosoftAppPassword"} as JSON into it.`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BotConfigError(`Invalid bot configuration: the secret ${arn} is not JSON; its value must be {"MicrosoftAppId":"<bot client id>","MicrosoftAppTenantId":"<tenant id>","MicrosoftAppPassword":"<client secret>"}.`);
  }
  const parsed = botCredentialsSecretSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}` : `${i.path.map(String).join('.') || '(value)'} ${i.path.length > 0 && (json as Record<string, unknown>)?.[String(i.path[0])] === undefined ? 'is missing' : i.message}`));
    throw new BotConfigError(`Invalid bot configuration: the secret ${arn} is malformed: ${issues.join('; ')}. Expected {"MicrosoftAppId","MicrosoftAppTenantId","MicrosoftAppPassword"}.`);
  }
  const secret = parsed.data;
  const problems: string[] = [];
  for (const key of ['MicrosoftAppId', 'MicrosoftAppTenantId'] as const) {
    const fromEnv = env[BOT_ENV[key === 'MicrosoftAppId' ? 'appId' : 'appTenantId']]?.trim();
    if (fromEnv && fromEnv.toLowerCase() !== secret[key].toLowerCase()) problems.push(`${key} in the environment differs from ${key} in the secret ${arn}`);
  }
  if (problems.length > 0) throw new BotConfigError(`Invalid bot configuration: ${problems.join('; ')}`);
  const warnings = env[BOT_ENV.appPassword] ? [`${BOT_ENV.appPassword} in the environment is ignored: the secret ${arn} provides it`] : [];
  return {
    env: { ...env, [BOT_ENV.appId]: secret.MicrosoftAppId, [BOT_ENV.appTenantId]: secret.MicrosoftAppTenantId, [BOT_ENV.appPassword]: secret.MicrosoftAppPassword },
    credentialsFromSecret: true,
    warnings,
  };
}

/** The bot's configuration: the secret read (when configured), then the whole environment parsed once. */
export async function loadBotConfig(env: Record<string, string | undefined>, deps: { secretsManager?: SecretsManagerClient } = {}): Promise<BotConfig> {
  const resolved = await resolveBotEnvironment(env, deps);
  const config = parseBotConfig(resolved.env, { credentialsFromSecret: resolved.credentialsFromSecret });
  return { ...config, warnings: [...resolved.warnings, ...config.warnings] };
}
