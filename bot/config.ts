/**
 * The bot's configuration: parsed ONCE at startup from the environment, with a schema, and errors
 * that name the variable. Authentication is on unless `JIT_BOT_MODE` is set to `sandbox` or `test`
 * explicitly: a missing or misspelled mode means production, which refuses to start without the
 * single-tenant app registration.
 */
import * as z from 'zod';
import { BOT_ENV } from '../contract/bot-env';

export { BOT_ENV };

export type BotMode = 'production' | 'sandbox' | 'test';
export type StoreKind = 'memory' | 'file' | 'dynamodb';
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface BotConfig {
  mode: BotMode;
  /** False only in sandbox/test mode: then the adapter is built from `{}` like the Emulator. */
  authenticationEnabled: boolean;
  /** The bot's Entra app registration. Absent only when authentication is off. */
  app?: {
    id: string;
    tenantId: string;
    credential: { kind: 'secret'; secret: string } | { kind: 'certificate'; thumbprint: string; privateKey: string };
  };
  allowedTenantIds: string[];
  bridge: {
    baseUrl: string;
    /** `<bridge Application ID URI or client id>/.default`; absent in sandbox/test where a token provider is injected. */
    scope?: string;
    /** Total deadline of one bridge call, retries included; well within Teams' 15 s invoke limit. */
    timeoutMs: number;
    authorityHost: string;
  };
  notifySecret: string;
  oncall: { teamId: string; channelId: string; serviceUrl: string };
  /**
   * Entra object ids of the people to @mention on approval cards and to put in refresh.userIds.
   * Display only: who may vote is decided by the bridge from the policy's approver groups.
   */
  approverAadObjectIds: string[];
  accessPortalUrl?: string;
  host: string;
  port: number;
  store: { kind: StoreKind; file?: string; table?: string };
  logLevel: LogLevel;
  /**
   * Teams single sign-on, for the step-up sign-in a policy may require to vote (bot/step-up.ts).
   * Absent: votes on requests whose rule requires step-up are refused with a message saying so.
   */
  sso?: {
    connectionName: string;
    applicationIdUri: string;
    /** The app (client) id inside applicationIdUri: the `aud` of Entra v2 tokens for it. */
    appId: string;
    tenantId: string;
    /** Entra's v2 issuer for the tenant (tokens for an app with accessTokenAcceptedVersion 2). */
    issuer: string;
    /** Entra's v1 issuer (accessTokenAcceptedVersion null or 1): only v1 access tokens carry `amr`. */
    issuerV1: string;
    jwksUrl: string;
  };
  /** Where the app credential came from; `env` in production is for local development only. */
  credentialSource?: 'secrets-manager' | 'env';
  /** Startup warnings to log (e.g. a client secret taken from a plain environment variable in production). */
  warnings: string[];
}

export class BotConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BotConfigError';
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const guid = (what: string) => z.string().trim().regex(GUID, `must be ${what} (a GUID)`);
const optionalString = z
  .string()
  .trim()
  .optional()
  .transform((s) => (s === '' ? undefined : s));

/**
 * The client-credentials scope: `<resource>/.default`, where the resource is any Application ID URI
 * Entra allows on the bridge app (`api://<client id>`, `api://<tenant id>/<name>`,
 * `api://<name>/<client id>`, `https://<verified domain>[/<path>]`) or its bare client id.
 * Sources: Microsoft identity platform, "Restrictions on Application ID URI (identifierUris)"
 * (https://learn.microsoft.com/en-us/entra/identity-platform/identifier-uri-restrictions) and
 * "OAuth 2.0 client credentials flow" (the scope is the resource identifier with the .default
 * suffix, https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
 * Whatever URI form the scope uses, the token's `aud` is the bridge app's client id (v2 tokens).
 * Entra refuses wildcards, query strings and fragments in identifier URIs, and so does this.
 */
const URI_SEGMENT = '[A-Za-z0-9._~%-]+';
const BRIDGE_SCOPE = new RegExp(
  `^(?:api://${URI_SEGMENT}(?:/${URI_SEGMENT})*|https://(?:[A-Za-z0-9-]+\\.)+[A-Za-z]{2,}(?:/${URI_SEGMENT})*|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/\\.default$`,
  'i',
);

/**
 * A Teams team as the Bot Framework names it: the thread id of the team (the id of its General
 * channel), `19:<id>@thread.tacv2`, or `19:<id>@thread.skype` for teams created before the
 * tacv2 format. Sources: "Get Teams-specific context for your bot" (channelData.team.id,
 * https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/get-teams-context) and the
 * Graph team resource's `internalId` (https://learn.microsoft.com/en-us/graph/api/resources/team).
 * A Graph group id (a GUID) names the same team elsewhere but the Bot Connector does not know it:
 * the roster lookup fails and approver mentions silently become "Approver".
 */
const TEAM_ID = /^19:[^\s@/]+@thread\.(tacv2|skype)$/;

/**
 * Teams SSO for bots: the Application ID URI is `api://botid-{appId}` for a bot alone, or
 * `api://{fully qualified domain}/botid-{appId}` when a tab shares the app ("Configure bot app in
 * Microsoft Entra ID", https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/authentication/bot-sso-register-aad).
 */
const SSO_APP_ID_URI = /^api:\/\/(?:(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?::\d{1,5})?\/)?botid-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

const envSchema = z.object({
  [BOT_ENV.mode]: z.enum(['production', 'sandbox', 'test'], { error: 'must be production, sandbox or test' }).default('production'),
  [BOT_ENV.appId]: optionalString,
  [BOT_ENV.appPassword]: optionalString,
  [BOT_ENV.appType]: optionalString,
  [BOT_ENV.appTenantId]: optionalString,
  [BOT_ENV.certificateThumbprint]: optionalString,
  [BOT_ENV.certificatePrivateKey]: optionalString,
  [BOT_ENV.allowedTenants]: z
    .string({ error: 'is not set' })
    .transform((s) => s.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t.length > 0))
    .pipe(z.array(guid('a comma-separated list of tenant ids')).min(1, 'must name at least one tenant id')),
  [BOT_ENV.bridgeUrl]: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  [BOT_ENV.bridgeScope]: optionalString.pipe(
    z
      .string()
      .regex(BRIDGE_SCOPE, 'must be the bridge app\'s Application ID URI or client id followed by /.default (api://<client id>/.default, api://<tenant id>/<name>/.default, https://<verified domain>/<path>/.default or <client id>/.default)')
      .optional(),
  ),
  [BOT_ENV.bridgeTimeoutMs]: z.coerce.number().int().min(500).max(12_000, 'must stay well below the Teams 15 s invoke limit').default(8000),
  [BOT_ENV.authorityHost]: z.url({ protocol: /^https$/ }).default('https://login.microsoftonline.com'),
  [BOT_ENV.notifySecret]: z
    .string({ error: 'is not set' })
    .refine((s) => Buffer.byteLength(s, 'utf8') >= 32, 'must be at least 32 bytes'),
  [BOT_ENV.oncallTeamId]: z
    .string({ error: 'is not set' })
    .trim()
    .min(1, 'is empty')
    .refine((s) => !GUID.test(s), {
      error:
        "is a GUID: that is the team's Microsoft 365 group id (Graph), not its Bot Framework team id. The bot needs the team's thread id, 19:...@thread.tacv2: it is in the team link (Teams > the team's ... > Get link to team: the part after /team/, URL-decoded), in Graph as the team's internalId (GET /teams/{group id}), and in activity.channelData.team.id",
    })
    .pipe(z.string().regex(TEAM_ID, 'must be a Bot Framework team id (19:...@thread.tacv2, or the legacy 19:...@thread.skype)')),
  [BOT_ENV.oncallChannelId]: z
    .string({ error: 'is not set' })
    .trim()
    .regex(/^19:[^\s]+$/, 'must be a Teams channel conversation id (19:...@thread.tacv2)'),
  [BOT_ENV.approvers]: z
    .string()
    .optional()
    .transform((s) => (s ?? '').split(',').map((t) => t.trim().toLowerCase()).filter((t) => t.length > 0))
    .pipe(z.array(guid('a comma-separated list of Entra object ids')).max(60, 'must name at most 60 approvers (the Teams refresh limit)')),
  [BOT_ENV.teamsServiceUrl]: z.url({ protocol: /^https?$/ }).default('https://smba.trafficmanager.net/teams/'),
  [BOT_ENV.accessPortalUrl]: optionalString.pipe(z.url({ protocol: /^https$/, error: 'must be an https URL' }).optional()),
  [BOT_ENV.host]: z.string().trim().min(1).default('127.0.0.1'),
  [BOT_ENV.port]: z.coerce.number().int().min(0).max(65535).default(3978),
  [BOT_ENV.store]: z.enum(['memory', 'file', 'dynamodb'], { error: 'must be memory, file or dynamodb' }).optional(),
  [BOT_ENV.storeFile]: optionalString,
  [BOT_ENV.storeTable]: optionalString,
  [BOT_ENV.logLevel]: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  [BOT_ENV.ssoConnectionName]: optionalString.pipe(z.string().max(256).regex(/^[\w .-]+$/, 'must be the name of the Azure Bot\'s OAuth connection setting (letters, digits, spaces, dots, dashes, underscores)').optional()),
  [BOT_ENV.ssoApplicationIdUri]: optionalString.pipe(
    z
      .string()
      .regex(SSO_APP_ID_URI, 'must be the bot app\'s Application ID URI in the form Teams SSO requires: api://<fully qualified domain>/botid-<bot app id> or api://botid-<bot app id>')
      .optional(),
  ),
  [BOT_ENV.ssoJwksUrl]: optionalString.pipe(z.url({ protocol: /^https$/, error: 'must be an https URL' }).optional()),
});

/** Pure: parses an environment-shaped record. Throws BotConfigError naming every bad variable. */
export function parseBotConfig(env: Record<string, string | undefined>, options: { credentialsFromSecret?: boolean } = {}): BotConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      return env[name] === undefined ? `${name} is not set` : `${name} ${i.message}`;
    });
    throw new BotConfigError(`Invalid bot configuration: ${[...new Set(lines)].join('; ')}`);
  }
  const e = parsed.data;
  const mode = e[BOT_ENV.mode];
  const authenticationEnabled = mode === 'production';
  const problems: string[] = [];

  let app: BotConfig['app'];
  const appId = e[BOT_ENV.appId];
  if (authenticationEnabled || appId) {
    if (!appId) problems.push(`${BOT_ENV.appId} is not set (production needs the bot's Entra app registration)`);
    else if (!GUID.test(appId)) problems.push(`${BOT_ENV.appId} must be the bot's app (client) id (a GUID)`);
    const appType = e[BOT_ENV.appType];
    if (appType !== 'SingleTenant') problems.push(`${BOT_ENV.appType} must be SingleTenant (multi-tenant bots are deprecated and refused here)`);
    const tenantId = e[BOT_ENV.appTenantId];
    if (!tenantId) problems.push(`${BOT_ENV.appTenantId} is not set`);
    else if (!GUID.test(tenantId)) problems.push(`${BOT_ENV.appTenantId} must be the Entra tenant id (a GUID)`);
    const secret = e[BOT_ENV.appPassword];
    const thumbprint = e[BOT_ENV.certificateThumbprint];
    const privateKey = e[BOT_ENV.certificatePrivateKey];
    let credential: NonNullable<BotConfig['app']>['credential'] | undefined;
    if (secret) credential = { kind: 'secret', secret };
    else if (thumbprint && privateKey) credential = { kind: 'certificate', thumbprint, privateKey };
    else problems.push(`${BOT_ENV.appPassword} is not set (or set ${BOT_ENV.certificateThumbprint} and ${BOT_ENV.certificatePrivateKey})`);
    if (appId && tenantId && credential) app = { id: appId, tenantId: tenantId.toLowerCase(), credential };
  }

  const scope = e[BOT_ENV.bridgeScope];
  const bridgeUrl = e[BOT_ENV.bridgeUrl];
  if (authenticationEnabled) {
    if (!scope) problems.push(`${BOT_ENV.bridgeScope} is not set (e.g. api://<bridge app client id>/.default)`);
    if (!bridgeUrl.startsWith('https://')) problems.push(`${BOT_ENV.bridgeUrl} must be https in production`);
  }

  const storeKind: StoreKind = e[BOT_ENV.store] ?? (mode === 'production' ? 'dynamodb' : mode === 'sandbox' ? 'file' : 'memory');
  if (storeKind === 'dynamodb' && !e[BOT_ENV.storeTable]) problems.push(`${BOT_ENV.storeTable} is not set (the DynamoDB table for conversation references)`);
  if (storeKind === 'file' && !e[BOT_ENV.storeFile]) problems.push(`${BOT_ENV.storeFile} is not set (the JSON file for conversation references)`);
  if (authenticationEnabled && storeKind === 'memory') problems.push(`${BOT_ENV.store}=memory loses conversation references on restart and is refused in production`);

  let sso: BotConfig['sso'];
  const connectionName = e[BOT_ENV.ssoConnectionName];
  const applicationIdUri = e[BOT_ENV.ssoApplicationIdUri];
  if (connectionName || applicationIdUri) {
    if (!connectionName) problems.push(`${BOT_ENV.ssoConnectionName} is not set (${BOT_ENV.ssoApplicationIdUri} is: SSO needs both)`);
    if (!applicationIdUri) problems.push(`${BOT_ENV.ssoApplicationIdUri} is not set (${BOT_ENV.ssoConnectionName} is: SSO needs both)`);
    const ssoAppId = applicationIdUri ? SSO_APP_ID_URI.exec(applicationIdUri)![1]!.toLowerCase() : undefined;
    if (ssoAppId && appId && ssoAppId !== appId.toLowerCase()) problems.push(`${BOT_ENV.ssoApplicationIdUri} names the app ${ssoAppId}, not the bot's ${BOT_ENV.appId} ${appId}: Teams SSO tokens are issued for the bot's own app registration`);
    const tenants = app ? [app.tenantId] : e[BOT_ENV.allowedTenants];
    if (tenants.length !== 1) problems.push(`${BOT_ENV.ssoConnectionName}: SSO needs one tenant (set ${BOT_ENV.appTenantId}, or allow exactly one tenant in ${BOT_ENV.allowedTenants})`);
    if (connectionName && applicationIdUri && ssoAppId && tenants.length === 1) {
      const tenantId = tenants[0]!;
      const host = e[BOT_ENV.authorityHost].replace(/\/+$/, '');
      sso = {
        connectionName,
        applicationIdUri,
        appId: ssoAppId,
        tenantId,
        issuer: `${host}/${tenantId}/v2.0`,
        issuerV1: `https://sts.windows.net/${tenantId}/`,
        jwksUrl: e[BOT_ENV.ssoJwksUrl] ?? `${host}/${tenantId}/discovery/v2.0/keys`,
      };
    }
  } else if (e[BOT_ENV.ssoJwksUrl]) {
    problems.push(`${BOT_ENV.ssoJwksUrl} is set but SSO is not (set ${BOT_ENV.ssoConnectionName} and ${BOT_ENV.ssoApplicationIdUri})`);
  }

  if (problems.length > 0) throw new BotConfigError(`Invalid bot configuration: ${problems.join('; ')}`);

  const warnings: string[] = [];
  const credentialSource = !app ? undefined : options.credentialsFromSecret ? 'secrets-manager' : 'env';
  if (authenticationEnabled && credentialSource === 'env' && app?.credential.kind === 'secret') {
    warnings.push(`${BOT_ENV.appPassword} comes from a plain environment variable: that is for local development only; in production set ${BOT_ENV.credentialsSecretArn} to the stack's BotCredentialsSecretArn`);
  }

  return {
    mode,
    authenticationEnabled,
    app,
    allowedTenantIds: e[BOT_ENV.allowedTenants],
    bridge: { baseUrl: bridgeUrl.replace(/\/+$/, ''), scope, timeoutMs: e[BOT_ENV.bridgeTimeoutMs], authorityHost: e[BOT_ENV.authorityHost].replace(/\/+$/, '') },
    notifySecret: e[BOT_ENV.notifySecret],
    oncall: { teamId: e[BOT_ENV.oncallTeamId], channelId: e[BOT_ENV.oncallChannelId], serviceUrl: e[BOT_ENV.teamsServiceUrl] },
    approverAadObjectIds: e[BOT_ENV.approvers],
    accessPortalUrl: e[BOT_ENV.accessPortalUrl],
    host: e[BOT_ENV.host],
    port: e[BOT_ENV.port],
    store: { kind: storeKind, file: e[BOT_ENV.storeFile], table: e[BOT_ENV.storeTable] },
    logLevel: e[BOT_ENV.logLevel],
    ...(sso ? { sso } : {}),
    ...(credentialSource ? { credentialSource } : {}),
    warnings,
  };
}

let cached: BotConfig | undefined;
/** The process configuration, parsed on first use. */
export function botConfig(): BotConfig {
  cached ??= parseBotConfig(process.env);
  return cached;
}
