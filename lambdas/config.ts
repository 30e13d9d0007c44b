/**
 * The functions' configuration: parsed ONCE per cold start from the environment, with a schema,
 * and errors that name the variable. The policy document is inlined into the bundle by infra
 * (esbuild `define` of process.env.JIT_POLICY_JSON) as validated at synth: here only its shape is
 * checked (core/policy/compiled.ts).
 */
import '../core/zod-locale';
import * as z from 'zod/mini';
import { parseCompiledPolicy } from '../core/policy/compiled';
import type { Policy } from '../core/policy/types';
import { ENV } from './contract';

const SEVERITIES = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
const arn = (service: string) => z.string().check(z.regex(new RegExp(`^arn:aws[a-z-]*:${service}:`), `must be an ${service} ARN`));
const nonEmpty = (min = 1) => z.string().check(z.minLength(min));
const opt = z.optional;

const envSchema = z.object({
  [ENV.stage]: nonEmpty(),
  [ENV.logLevel]: z._default(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']), 'INFO'),
  [ENV.awsRegion]: nonEmpty(),
  [ENV.requestsTable]: nonEmpty(3),
  [ENV.ledgerTable]: nonEmpty(3),
  [ENV.auditTable]: nonEmpty(3),
  [ENV.eventBusName]: nonEmpty(),
  [ENV.stateMachineArn]: arn('states'),
  [ENV.ssoInstanceArn]: arn('sso'),
  [ENV.identityStoreId]: z.string().check(z.regex(/^(d-[0-9a-f]{10}|[0-9a-f-]{36})$/, 'must be an identity store id')),
  [ENV.userMatch]: z._default(z.enum(['userName', 'externalId']), 'userName'),
  [ENV.externalIdIssuer]: opt(z.string().check(z.minLength(1), z.maxLength(512))),
  [ENV.schedulerGroup]: nonEmpty(),
  [ENV.schedulerRoleArn]: arn('iam'),
  [ENV.schedulerTargetArn]: arn('lambda'),
  [ENV.schedulerDlqArn]: arn('sqs'),
  [ENV.notifyUrl]: opt(z.url({ protocol: /^https?$/ })),
  [ENV.notifySecretArn]: opt(arn('secretsmanager')),
  // Qualified with an alias: IAM allows the backend to invoke the alias only, so an unqualified or
  // $LATEST ARN would be refused at every notice ("Invoke", FunctionName and Qualifier patterns).
  [ENV.botFunctionArn]: opt(
    z
      .string()
      .check(z.regex(/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}:(?!\d+$)[A-Za-z0-9_-]{1,128}$/, 'must be the bot function\'s alias ARN (arn:aws:lambda:<region>:<account>:function:<name>:live)')),
  ),
  [ENV.noticeFunctionArn]: arn('lambda'),
  [ENV.accessPortalUrl]: opt(z.url()),
  [ENV.findingsMinSeverity]: z._default(z.enum(SEVERITIES), 'HIGH'),
  [ENV.botAppId]: z.string().check(z.regex(/^[0-9a-f-]{36}$/i, 'must be the bot app id (a GUID)')),
  [ENV.entraTenantId]: z.string().check(z.regex(/^[0-9a-f-]{36}$/i, 'must be the Entra tenant id (a GUID)')),
  [ENV.bridgeAudience]: opt(z.string().check(z.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be the bridge app\'s client id (a GUID; Entra v2 tokens carry it in aud)'))),
  [ENV.policyJson]: z.string().check(z.minLength(2, 'is missing: infra inlines the policy at bundle time')),
});

export interface LambdaConfig {
  stage: string;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  region: string;
  requestsTable: string;
  ledgerTable: string;
  auditTable: string;
  eventBusName: string;
  stateMachineArn: string;
  ssoInstanceArn: string;
  identityStoreId: string;
  userMatch: 'userName' | 'externalId';
  externalIdIssuer?: string;
  schedulerGroup: string;
  schedulerRoleArn: string;
  schedulerTargetArn: string;
  schedulerDlqArn: string;
  /** A self-hosted bot: where the HMAC-signed notices go, and the key's secret (both, unless botFunctionArn). */
  notifyUrl?: string;
  notifySecretArn?: string;
  /** The hosted bot's alias: notices are Lambda invokes (lambdas/adapters/bot-invoke-notifier.ts). */
  botFunctionArn?: string;
  /** The notify function, invoked asynchronously to flush a request's notice outbox. */
  noticeFunctionArn: string;
  accessPortalUrl?: string;
  findingsMinSeverity: (typeof SEVERITIES)[number];
  botAppId: string;
  entraTenantId: string;
  /** The bridge app's client id (the token audience), re-checked by the bridge function. */
  bridgeAudience?: string;
  policy: Policy;
}

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** Pure: parses an environment-shaped record. Exported for tests and the sandbox. */
export function parseConfig(env: Record<string, string | undefined>): LambdaConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      return env[name] === undefined ? `${name} is not set` : `${name} ${i.message}`;
    });
    throw new ConfigurationError(`Invalid function configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  if (e[ENV.userMatch] === 'externalId' && !e[ENV.externalIdIssuer]) {
    // Guessing the issuer would make every lookup miss: every user would be "unknown".
    throw new ConfigurationError(`Invalid function configuration: ${ENV.externalIdIssuer} is not set (required when ${ENV.userMatch} is externalId)`);
  }
  if (!e[ENV.botFunctionArn] && !(e[ENV.notifyUrl] && e[ENV.notifySecretArn])) {
    // Without either door no approval card could ever be posted: refuse at the cold start.
    throw new ConfigurationError(
      `Invalid function configuration: ${ENV.botFunctionArn} is not set (a bot hosted in the stack), nor are both ${ENV.notifyUrl} and ${ENV.notifySecretArn} (a self-hosted bot's /api/notify)`,
    );
  }
  let policy: Policy;
  try {
    // JSON that infra wrote (JSON.stringify of the file's document): the file format was read at synth.
    let document: unknown;
    try {
      document = JSON.parse(e[ENV.policyJson]) as unknown;
    } catch (err) {
      throw new Error(`is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    policy = parseCompiledPolicy(document);
  } catch (err) {
    throw new ConfigurationError(`Invalid function configuration: ${ENV.policyJson} ${(err as Error).message}`);
  }
  return {
    stage: e[ENV.stage],
    logLevel: e[ENV.logLevel],
    region: e[ENV.awsRegion],
    requestsTable: e[ENV.requestsTable],
    ledgerTable: e[ENV.ledgerTable],
    auditTable: e[ENV.auditTable],
    eventBusName: e[ENV.eventBusName],
    stateMachineArn: e[ENV.stateMachineArn],
    ssoInstanceArn: e[ENV.ssoInstanceArn],
    identityStoreId: e[ENV.identityStoreId],
    userMatch: e[ENV.userMatch],
    ...(e[ENV.externalIdIssuer] ? { externalIdIssuer: e[ENV.externalIdIssuer] } : {}),
    schedulerGroup: e[ENV.schedulerGroup],
    schedulerRoleArn: e[ENV.schedulerRoleArn],
    schedulerTargetArn: e[ENV.schedulerTargetArn],
    schedulerDlqArn: e[ENV.schedulerDlqArn],
    ...(e[ENV.botFunctionArn] ? { botFunctionArn: e[ENV.botFunctionArn] } : { notifyUrl: e[ENV.notifyUrl], notifySecretArn: e[ENV.notifySecretArn] }),
    noticeFunctionArn: e[ENV.noticeFunctionArn],
    accessPortalUrl: e[ENV.accessPortalUrl],
    findingsMinSeverity: e[ENV.findingsMinSeverity],
    botAppId: e[ENV.botAppId],
    entraTenantId: e[ENV.entraTenantId],
    ...(e[ENV.bridgeAudience] ? { bridgeAudience: e[ENV.bridgeAudience] } : {}),
    policy,
  };
}

// The esbuild `define` key in infra is built from ENV.policyJson; config() reads the literal name.
const _inlinedPolicyVariable: 'JIT_POLICY_JSON' = ENV.policyJson;
void _inlinedPolicyVariable;

let cached: LambdaConfig | undefined;

/** The process-wide configuration, parsed on first use. */
export function config(): LambdaConfig {
  // `process.env.JIT_POLICY_JSON` is written out literally so that esbuild's `define` replaces
  // it with the policy inlined at bundle time; elsewhere (tests, sandbox) it is a normal variable.
  cached ??= parseConfig({ ...process.env, [ENV.policyJson]: process.env.JIT_POLICY_JSON });
  return cached;
}

/** Tests only: forget the memoized configuration. */
export function resetConfigForTests(): void {
  cached = undefined;
}
