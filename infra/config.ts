/**
 * Deployment configuration, read from CDK context (`-c key=value` or cdk.json) and checked at
 * synth time. Every error names the context key so that a wrong deploy command fails before
 * anything reaches CloudFormation.
 *
 * Placeholder defaults exist ONLY for the stages `test` and `synth` (offline synth in CI and the
 * tests); every other stage must pass each required key explicitly.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { managementAccountIssues } from '../core/policy/management-account';
import type { Policy } from '../core/policy/types';
import { PolicyError } from '../core/errors';
import { parsePolicyText, policyFormatOf } from './policy-file';

/** Stages that may synthesize with placeholder identifiers (never deployable to a real tenant). */
export const PLACEHOLDER_STAGES = ['test', 'synth'] as const;

export const PLACEHOLDER_CONTEXT = {
  ssoInstanceArn: 'arn:aws:sso:::instance/ssoins-0000000000000000',
  identityStoreId: 'd-0000000000',
  entraTenantId: '00000000-0000-0000-0000-000000000000',
  bridgeAudience: '00000000-0000-0000-0000-000000000000',
  botAppId: '00000000-0000-0000-0000-000000000000',
  approvalChannelId: '19:placeholder@thread.tacv2',
  botNotifyUrl: 'https://bot.example.com/api/notify',
  policyFile: 'infra/policy.example.yaml',
} as const;

const SEVERITIES = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a GUID (00000000-0000-0000-0000-000000000000)');

/** Context values arrive as strings from the command line and as JSON types from cdk.json. */
const csv = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(item));
const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** An IANA time zone name as Scheduler's ScheduleExpressionTimezone takes it (Intl knows the same database). */
function isIanaTimeZone(value: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(value)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}
const boolFrom = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

export const contextSchema = z.object({
  stage: z.string().regex(/^[a-z][a-z0-9-]{1,15}$/, 'must be 2-16 lowercase letters, digits or dashes, starting with a letter (e.g. dev, prod)'),
  ssoInstanceArn: z
    .string()
    .regex(/^arn:(aws|aws-us-gov|aws-cn):sso:::instance\/(sso)?ins-[a-zA-Z0-9-.]{16}$/, 'must be an IAM Identity Center instance ARN (arn:aws:sso:::instance/ssoins-...)'),
  identityStoreId: z
    .string()
    .regex(/^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/, 'must be an identity store id (d-xxxxxxxxxx)'),
  entraTenantId: uuid,
  /**
   * The bridge app registration's client id: the token audience. With `accessTokenAcceptedVersion: 2`
   * Entra puts the API's client id in `aud`, never its Application ID URI ("Access token claims
   * reference", https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference),
   * so an `api://` value would make the JWT authorizer refuse every call.
   */
  bridgeAudience: z
    .string()
    .refine((s) => !/^(api|https?):\/\//i.test(s.trim()), {
      error: "must be the bridge app's client id (a GUID), not its Application ID URI: Entra v2 access tokens carry the client id in aud, so an api:// audience would refuse every call",
    })
    .pipe(uuid),
  /** The bot's Entra app (client) id: the only caller the bridge accepts (`azp` of a v2 token). */
  botAppId: uuid,
  approvalChannelId: z.string().regex(/^19:[^\s]+@thread\.(tacv2|skype)$/, 'must be a Teams channel id (19:...@thread.tacv2)'),
  /** A self-hosted bot's /api/notify (hostBot false); a hosted bot gets its notices as Lambda invokes instead. */
  botNotifyUrl: z.url({ protocol: /^https$/, error: 'must be an https URL (the bot\'s /api/notify endpoint)' }).optional(),
  policyFile: z.string().min(1),
  userMatch: z.enum(['userName', 'externalId']).default('userName'),
  /** Required with userMatch externalId: the ExternalId issuer your SCIM provisioning writes. */
  externalIdIssuer: z.string().min(1).max(512).optional(),
  accessPortalUrl: z.url({ protocol: /^https$/ }).optional(),
  findingsSeverities: csv(z.enum(SEVERITIES)).default(['HIGH', 'CRITICAL']),
  /** Accounts whose Security Hub findings reach the channel; default: the accounts in the policy. */
  findingsAccountIds: csv(z.string().regex(/^\d{12}$/, 'must be 12-digit account ids')).optional(),
  /** Which Security Hub event formats reach the channel: ASFF "Findings - Imported", OCSF "Findings Imported V2", or both. */
  findingsFormat: z.enum(['asff', 'ocsf', 'both']).default('asff'),
  /**
   * The Security Hub administrator account, when it is not this one: member-account findings arrive
   * on its default bus, and the optional forwarder stack sends them to this stack's bus.
   */
  securityHubAdminAccountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id').optional(),
  throttleRateLimit: intFrom(1, 10_000).default(20),
  throttleBurstLimit: intFrom(1, 5_000).default(40),
  logRetentionDays: intFrom(1, 3653).default(365),
  alarmEmail: z.email().optional(),
  /**
   * Reserve concurrency for the functions that write to Identity Center so that together they
   * stay within its 10 outstanding assignment writes. Turn off (`false`) in accounts whose
   * Lambda concurrency quota is still the new-account 10.
   */
  reservedConcurrency: boolFrom.default(true),
  /** Keep data and turn on deletion protection (always on for stage `prod`). */
  protectData: boolFrom.optional(),
  /**
   * The AWS Organizations management account (DescribeOrganization's MasterAccountId). It owns
   * the organization instance of IAM Identity Center and therefore its identity store; with it,
   * the identity store ARN in the function roles names that account instead of `*`, and a policy
   * that targets it is refused unless `allowManagementAccount` is true.
   */
  managementAccountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id (aws organizations describe-organization: MasterAccountId)').optional(),
  /**
   * Explicit opt-in to grant access to the management account. Only possible when the stack runs
   * IN the management account: a delegated administrator cannot manage permission sets
   * provisioned to it, and from the management account Identity Center provisions with the
   * caller's own IAM permissions (which the stack then grants, see permissions.ts).
   */
  allowManagementAccount: boolFrom.default(false),
  /**
   * The customer managed KMS key of the Identity Center instance, when it has one
   * (sso-admin DescribeInstance: EncryptionConfiguration.KmsKeyArn). Pattern from the
   * IAM Identity Center API reference, EncryptionConfiguration.KmsKeyArn.
   */
  ssoKmsKeyArn: z
    .string()
    .regex(
      /^arn:aws(-[a-z]{1,5}){0,3}:kms:([a-z]{2,}(-[a-z0-9]+)+):[0-9]{12}:key\/(mrk-[a-f0-9]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/,
      'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>), not an alias or a bare key id',
    )
    .optional(),
  /**
   * How long a Teams bot outage may delay an approval card before the request is failed: the
   * workflow retries the post for at least this long (PostApprovalCard's retrier).
   */
  botOutageToleranceMinutes: intFrom(1, 24 * 60).default(30),
  /**
   * When the weekly KPI digest is posted (infra/constructs/kpi-digest-schedule.ts): a Scheduler cron
   * expression that fires once a week, `cron(<minute> <hour> ? * <MON..SUN> *)`. Weekly only: the
   * bot posts one digest per ISO week, so a daily expression would post once and skip the rest.
   */
  kpiDigestCron: z
    .string()
    .regex(/^cron\(([0-5]?\d) ([01]?\d|2[0-3]) \? \* (MON|TUE|WED|THU|FRI|SAT|SUN) \*\)$/, 'must be a weekly cron expression such as cron(0 9 ? * MON *) (minute, hour, ?, *, one day of the week, *)')
    .default('cron(0 9 ? * MON *)'),
  /** The IANA time zone the digest's cron expression is read in (e.g. Europe/Berlin); default UTC. */
  kpiDigestTimeZone: z
    .string()
    .max(64)
    .refine(isIanaTimeZone, 'must be an IANA time zone name such as UTC, Europe/Berlin or America/New_York')
    .default('UTC'),

  // ── the bot hosted in the stack (infra/constructs/bot-host.ts) ─────────────────────
  /** Run the Teams bot as a Lambda function behind the HTTP API (`POST /api/messages`); false = bring your own host (the container). */
  hostBot: boolFrom.default(true),
  /**
   * The on-call team's Bot Framework id, `19:...@thread.tacv2` (the hosted bot's JIT_ONCALL_TEAM_ID;
   * bot/config.ts explains where to find it). Required when `hostBot` is true.
   */
  oncallTeamId: z.string().regex(/^19:[^\s@/]+@thread\.(tacv2|skype)$/, "must be a Bot Framework team id (19:...@thread.tacv2), not the team's Graph group id").optional(),
  /** Entra object ids @mentioned on approval cards (display only; at most 60, the Teams refresh.userIds limit). */
  approverAadObjectIds: csv(uuid).pipe(z.array(z.string()).max(60, 'must name at most 60 ids (the Teams refresh.userIds limit)')).optional(),
  /** Optional custom domain for the messaging endpoint (e.g. jit-bot.example.com); needs `botCertificateArn`. */
  botDomainName: z
    .string()
    .regex(/^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a lower-case DNS name (e.g. jit-bot.example.com)')
    .optional(),
  /** An ACM certificate in the stack's Region that covers `botDomainName` (API Gateway regional custom domain). */
  botCertificateArn: z
    .string()
    .regex(/^arn:aws(-[a-z]+)*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/, 'must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)')
    .optional(),
  /** Provisioned concurrency of the bot's `live` alias: 0 (default) = none, cold starts possible; >0 keeps that many environments initialised. */
  botProvisionedConcurrency: intFrom(0, 50).default(0),
});

export type ContextInput = z.input<typeof contextSchema>;

export interface JitConfig extends Omit<z.output<typeof contextSchema>, 'findingsAccountIds' | 'protectData'> {
  findingsAccountIds: string[];
  protectData: boolean;
  placeholder: boolean;
  policy: Policy;
  /** The policy source document as JSON: what the functions parse (again) at cold start. */
  policyJson: string;
  policyPath: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const KEYS = Object.keys(contextSchema.shape) as Array<keyof typeof contextSchema.shape>;

/**
 * Validates raw context. `tryGetContext` is the app's lookup (`app.node.tryGetContext`) so that
 * cdk.json, `-c` flags and test-provided context all go through the same path.
 */
export function loadConfig(tryGetContext: (key: string) => unknown, cwd: string = process.cwd()): JitConfig {
  const raw: Record<string, unknown> = {};
  for (const key of KEYS) {
    const value = tryGetContext(key);
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const placeholder = typeof raw.stage === 'string' && (PLACEHOLDER_STAGES as readonly string[]).includes(raw.stage);
  if (placeholder) {
    for (const [key, value] of Object.entries(PLACEHOLDER_CONTEXT)) raw[key] ??= value;
  }
  const parsed = contextSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '(root)');
      const missing = raw[key] === undefined;
      return missing
        ? `  - context key '${key}' is required: pass -c ${key}=... (placeholder defaults exist only for stages ${PLACEHOLDER_STAGES.join(', ')})`
        : `  - context key '${key}' ${issue.message} (got ${JSON.stringify(raw[key])})`;
    });
    throw new ConfigError(`Invalid deployment configuration:\n${lines.join('\n')}`);
  }
  const ctx = parsed.data;
  if (ctx.userMatch === 'externalId' && !ctx.externalIdIssuer) {
    throw new ConfigError(`Invalid deployment configuration:\n  - context key 'externalIdIssuer' is required when userMatch is externalId: pass -c externalIdIssuer=... (the issuer your SCIM provisioning writes)`);
  }
  if (ctx.hostBot && !ctx.oncallTeamId && !placeholder) {
    throw new ConfigError(
      `Invalid deployment configuration:\n  - context key 'oncallTeamId' is required when hostBot is true (the default): pass -c oncallTeamId=19:...@thread.tacv2 (the on-call team's Bot Framework id), or -c hostBot=false to host the bot yourself`,
    );
  }
  if (!ctx.hostBot && !ctx.botNotifyUrl) {
    throw new ConfigError(
      `Invalid deployment configuration:\n  - context key 'botNotifyUrl' is required when hostBot is false: pass -c botNotifyUrl=https://<your bot host>/api/notify (the backend signs its notices to it); a bot hosted by the stack needs none`,
    );
  }
  if (!!ctx.botDomainName !== !!ctx.botCertificateArn) {
    throw new ConfigError(`Invalid deployment configuration:\n  - context keys 'botDomainName' and 'botCertificateArn' go together: a custom domain needs an ACM certificate for it in the stack's Region`);
  }
  if (ctx.allowManagementAccount && !ctx.managementAccountId) {
    throw new ConfigError(
      `Invalid deployment configuration:\n  - context key 'managementAccountId' is required when allowManagementAccount is true: the IAM permissions Identity Center needs there are scoped to that account`,
    );
  }

  const policyPath = isAbsolute(ctx.policyFile) ? ctx.policyFile : resolve(cwd, ctx.policyFile);
  const { policy, policyJson } = loadPolicyFile(policyPath);
  if (ctx.managementAccountId) {
    const issues = managementAccountIssues(policy, { managementAccountId: ctx.managementAccountId, allowed: ctx.allowManagementAccount });
    if (issues.length > 0) {
      throw new ConfigError(`Policy file ${policyPath} is invalid:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
    }
  }

  return {
    ...ctx,
    findingsAccountIds: ctx.findingsAccountIds ?? policy.accounts.map((a) => a.id),
    protectData: ctx.protectData ?? ctx.stage === 'prod',
    placeholder,
    policy,
    policyJson,
    policyPath,
  };
}

/**
 * Reads the policy file (YAML or JSON: the format is read here, at the edge) and validates it with
 * core's validator, so that a bad file stops the synth with errors naming the rule and the field
 * instead of failing requests after deploy.
 */
export function loadPolicyFile(path: string): { policy: Policy; policyJson: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`context key 'policyFile': cannot read ${path}: ${(e as Error).message}`);
  }
  const format = policyFormatOf(path);
  if (!format) throw new ConfigError(`context key 'policyFile': ${path} must end in .yaml, .yml or .json`);
  try {
    const { policy } = parsePolicyText(text, format);
    // The functions get the policy validated here, in its normalized form, as JSON: they check its
    // shape only (core/policy/compiled.ts), and no YAML parser or validator is in a bundle.
    return { policy, policyJson: JSON.stringify(policy) };
  } catch (e) {
    if (e instanceof PolicyError) {
      throw new ConfigError(`Policy file ${path} is invalid:\n${e.issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
    }
    throw e;
  }
}
