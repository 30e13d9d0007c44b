/**
 * The contract between infra/ (CDK) and lambdas/ (handlers): entry paths, environment variable
 * names and the audit bus's event shape. Both sides import from here so that a rename breaks the
 * type check, not production. The payloads each workflow Task sends and receives, and the error
 * names its Retry/Catch match, are wire contracts: contract/workflow.ts.
 */

/** Lambda entry files (relative to the repo root); each exports `handler`. */
export const LAMBDA_ENTRIES = {
  bridge: 'lambdas/bridge/handler.ts',
  workflow: 'lambdas/workflow/handler.ts',
  notify: 'lambdas/notify/handler.ts',
  revoke: 'lambdas/revoke/handler.ts',
  reconcile: 'lambdas/reconcile/handler.ts',
  findings: 'lambdas/findings/handler.ts',
  auditWriter: 'lambdas/audit-writer/handler.ts',
} as const;
export type LambdaName = keyof typeof LAMBDA_ENTRIES;

/** Environment variables. Parsed once per cold start by lambdas/config.ts with a schema. */
export const ENV = {
  stage: 'JIT_STAGE',
  logLevel: 'JIT_LOG_LEVEL',
  requestsTable: 'JIT_REQUESTS_TABLE',
  ledgerTable: 'JIT_LEDGER_TABLE',
  auditTable: 'JIT_AUDIT_TABLE',
  eventBusName: 'JIT_EVENT_BUS_NAME',
  stateMachineArn: 'JIT_STATE_MACHINE_ARN',
  ssoInstanceArn: 'JIT_SSO_INSTANCE_ARN',
  identityStoreId: 'JIT_IDENTITY_STORE_ID',
  /** How a Teams user maps to an Identity Center user: `userName` (UPN) or `externalId` (Entra object id). */
  userMatch: 'JIT_USER_MATCH',
  /** With userMatch externalId: the ExternalId issuer your SCIM provisioning writes (Identity Center console, user details). */
  externalIdIssuer: 'JIT_EXTERNAL_ID_ISSUER',
  schedulerGroup: 'JIT_SCHEDULER_GROUP',
  schedulerRoleArn: 'JIT_SCHEDULER_ROLE_ARN',
  schedulerTargetArn: 'JIT_SCHEDULER_TARGET_ARN',
  schedulerDlqArn: 'JIT_SCHEDULER_DLQ_ARN',
  /** A self-hosted bot's `/api/notify` (HMAC-signed POSTs), with the signing key's secret. */
  notifyUrl: 'JIT_NOTIFY_URL',
  notifySecretArn: 'JIT_NOTIFY_SECRET_ARN',
  /** The notify function: every function invokes it asynchronously (InvocationType Event) to flush a request's notices. */
  noticeFunctionArn: 'JIT_NOTICE_FUNCTION_ARN',
  /** The hosted bot's `live` alias ARN: notices are Lambda invokes over IAM (wins over notifyUrl). */
  botFunctionArn: 'JIT_BOT_FUNCTION_ARN',
  accessPortalUrl: 'JIT_ACCESS_PORTAL_URL',
  /** The validated policy document, as JSON (inlined at bundle time by infra). */
  policyJson: 'JIT_POLICY_JSON',
  findingsMinSeverity: 'JIT_FINDINGS_MIN_SEVERITY',
  /** The bot's Entra app (client) id: the bridge accepts tokens whose `azp` is this id only. */
  botAppId: 'JIT_BOT_APP_ID',
  /** The Entra tenant: the bridge rejects actor headers from any other tenant. */
  entraTenantId: 'JIT_ENTRA_TENANT_ID',
  /** The bridge app's client id: the `aud` of the bot's tokens, re-checked by the bridge function. */
  bridgeAudience: 'JIT_BRIDGE_AUDIENCE',
  awsRegion: 'AWS_REGION',
} as const;

/**
 * How audit events travel on the audit bus. The EventBridge audit sink (lambdas/adapters) puts
 * them with this source and detail-type; infra's AuditToTable rule matches exactly these.
 */
export const AUDIT_BUS_EVENT = {
  source: 'jit.access',
  detailType: 'JIT Access Audit Event',
} as const;
