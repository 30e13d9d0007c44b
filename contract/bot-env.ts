/**
 * The bot's environment variables: the contract between whoever configures the bot (the CDK stack's
 * bot function, the sandbox, a self-hosted container's operator) and the bot's config parser
 * (bot/config.ts), so that infra/ names them without importing the bot.
 */
export const BOT_ENV = {
  mode: 'JIT_BOT_MODE',
  appId: 'MicrosoftAppId',
  appPassword: 'MicrosoftAppPassword',
  appType: 'MicrosoftAppType',
  appTenantId: 'MicrosoftAppTenantId',
  certificateThumbprint: 'CertificateThumbprint',
  certificatePrivateKey: 'CertificatePrivateKey',
  allowedTenants: 'JIT_ALLOWED_TENANT_IDS',
  bridgeUrl: 'JIT_BRIDGE_URL',
  bridgeScope: 'JIT_BRIDGE_SCOPE',
  bridgeTimeoutMs: 'JIT_BRIDGE_TIMEOUT_MS',
  authorityHost: 'JIT_ENTRA_AUTHORITY_HOST',
  notifySecret: 'JIT_NOTIFY_SECRET',
  oncallTeamId: 'JIT_ONCALL_TEAM_ID',
  oncallChannelId: 'JIT_ONCALL_CHANNEL_ID',
  approvers: 'JIT_APPROVER_AAD_IDS',
  teamsServiceUrl: 'JIT_TEAMS_SERVICE_URL',
  accessPortalUrl: 'JIT_ACCESS_PORTAL_URL',
  host: 'JIT_BOT_HOST',
  port: 'JIT_BOT_PORT',
  store: 'JIT_BOT_STORE',
  storeFile: 'JIT_BOT_STORE_FILE',
  storeTable: 'JIT_BOT_STORE_TABLE',
  logLevel: 'JIT_LOG_LEVEL',
  /** Teams SSO for step-up (docs/SECURITY.md): the Azure Bot's OAuth connection setting name. */
  ssoConnectionName: 'JIT_SSO_CONNECTION_NAME',
  /** The bot app's Application ID URI as Teams SSO needs it: api://<domain>/botid-<app id> or api://botid-<app id>. */
  ssoApplicationIdUri: 'JIT_SSO_APPLICATION_ID_URI',
  /** Where Entra's signing keys are; default: the tenant's v2 keys under JIT_ENTRA_AUTHORITY_HOST. */
  ssoJwksUrl: 'JIT_SSO_JWKS_URL',
  /** The stack's `BotCredentialsSecretArn`: the bot's Entra credentials are read from it at startup. */
  credentialsSecretArn: 'JIT_BOT_CREDENTIALS_SECRET_ARN',
} as const;
