/**
 * Creates a least-privilege IAM Identity Center permission set for the product to grant.
 *
 *   npm run permission-set -- --name DbReadOnly \
 *     --managed-policy arn:aws:iam::aws:policy/AmazonRDSReadOnlyAccess \
 *     --session PT1H --instance-arn arn:aws:sso:::instance/ssoins-1234567890abcdef [--dry-run]
 *
 * Rules it enforces:
 * - session duration at most PT1H: a session started before a revocation keeps working until
 *   the session ends, so the session duration bounds how long access outlives its grant;
 * - at least one policy (AWS managed, customer managed reference, or inline), and no
 *   administrator-equivalent policy (AdministratorAccess, PowerUserAccess, IAMFullAccess, or an
 *   inline Allow of "*" on "*") unless --allow-broad says so on purpose (a break-glass set);
 * - every input matches the sso-admin API's own patterns before anything is sent.
 * It prints the new ARN and the entry to add to the policy file's `permissionSets`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  AttachCustomerManagedPolicyReferenceToPermissionSetCommand,
  AttachManagedPolicyToPermissionSetCommand,
  CreatePermissionSetCommand,
  PutInlinePolicyToPermissionSetCommand,
  SSOAdminClient,
  type Tag,
} from '@aws-sdk/client-sso-admin';

export const MAX_SESSION_SECONDS = 3600;
/** Identity Center's documented minimum session duration. */
export const MIN_DOCUMENTED_SESSION_SECONDS = 3600;
export const BROAD_MANAGED_POLICIES = ['AdministratorAccess', 'PowerUserAccess', 'IAMFullAccess'];
export const MANAGED_BY_TAG: Tag = { Key: 'managed-by', Value: 'teams-jit-access' };

const INSTANCE_ARN = /^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso:::instance\/(sso)?ins-[a-zA-Z0-9-.]{16}$/;
const AWS_MANAGED_POLICY_ARN = /^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):iam::aws:policy\/[\w+=,.@/-]+$/;
const CUSTOMER_POLICY_ARN = /^arn:[\w-]+:iam::\d{12}:policy\/(.+)$/;
const NAME = /^[\w+=,.@-]{1,32}$/;
const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;
const POLICY_PATH = /^((\/[A-Za-z0-9.,+@=_-]+)*)\/$/;
// eslint-disable-next-line no-control-regex
const DESCRIPTION = /^[\u0009\u000A\u000D\u0020-\u007E\u00A0-\u00FF]{1,700}$/;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export interface PermissionSetSpec {
  name: string;
  instanceArn: string;
  sessionDuration: string;
  sessionSeconds: number;
  description: string;
  managedPolicyArns: string[];
  customerManagedPolicies: Array<{ Name: string; Path: string }>;
  inlinePolicy?: string;
  tags: Tag[];
  /** Non-fatal remarks the operator should read. */
  warnings: string[];
}

export interface PermissionSetArgs {
  name?: string;
  instanceArn?: string;
  session?: string;
  description?: string;
  managedPolicies?: string[];
  customerPolicies?: string[];
  /** The inline policy document's text (the CLI reads --inline-policy <file>). */
  inlinePolicy?: string;
  tags?: string[];
  allowBroad?: boolean;
}

export class PermissionSetInputError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid permission set:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PermissionSetInputError';
  }
}

/** Seconds in an ISO 8601 time-only duration (PT#H#M#S); undefined for anything else. */
export function durationSeconds(value: string): number | undefined {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(value);
  if (!m || (m[1] === undefined && m[2] === undefined && m[3] === undefined)) return undefined;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

function broadInlineStatements(doc: unknown): boolean {
  const statements = (doc as { Statement?: unknown }).Statement;
  const list = Array.isArray(statements) ? statements : [statements];
  const has = (v: unknown, x: string) => v === x || (Array.isArray(v) && v.includes(x));
  return list.some((s) => {
    const st = s as { Effect?: unknown; Action?: unknown; Resource?: unknown; NotAction?: unknown };
    return st?.Effect === 'Allow' && (has(st.Action, '*') || st.NotAction !== undefined) && has(st.Resource, '*');
  });
}

/** Validates everything before any call is made; collects every problem at once. */
export function validatePermissionSetArgs(args: PermissionSetArgs): PermissionSetSpec {
  const problems: string[] = [];
  const warnings: string[] = [];

  const name = args.name ?? '';
  if (!args.name) problems.push('--name is required');
  else if (!NAME.test(name)) problems.push(`--name ${JSON.stringify(name)} must be 1-32 letters, digits or + = , . @ _ -`);

  const instanceArn = args.instanceArn ?? '';
  if (!args.instanceArn) problems.push('--instance-arn is required (aws sso-admin list-instances --query "Instances[].InstanceArn")');
  else if (!INSTANCE_ARN.test(instanceArn)) problems.push(`--instance-arn ${JSON.stringify(instanceArn)} is not an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-...)`);

  const sessionDuration = args.session ?? 'PT1H';
  const sessionSeconds = durationSeconds(sessionDuration);
  if (sessionSeconds === undefined) problems.push(`--session ${JSON.stringify(sessionDuration)} must be an ISO 8601 duration like PT1H or PT45M`);
  else if (sessionSeconds <= 0) problems.push('--session must be longer than zero');
  else if (sessionSeconds > MAX_SESSION_SECONDS) {
    problems.push(`--session ${sessionDuration} is longer than PT1H: a session started before a revocation keeps working until it ends, so this product allows at most one hour`);
  } else if (sessionSeconds < MIN_DOCUMENTED_SESSION_SECONDS) {
    warnings.push(`Identity Center documents session durations from 1 to 12 hours; it may refuse ${sessionDuration}.`);
  }

  const managedPolicyArns = [...new Set(args.managedPolicies ?? [])];
  for (const arn of managedPolicyArns) {
    const customer = CUSTOMER_POLICY_ARN.exec(arn);
    if (customer) {
      problems.push(`--managed-policy ${arn} is a customer managed policy: pass --customer-policy ${customer[1]} (it must exist with that name and path in every target account)`);
      continue;
    }
    if (!AWS_MANAGED_POLICY_ARN.test(arn)) {
      problems.push(`--managed-policy ${JSON.stringify(arn)} is not an AWS managed policy ARN (arn:aws:iam::aws:policy/...)`);
      continue;
    }
    const policyName = arn.split('/').pop()!;
    if (BROAD_MANAGED_POLICIES.includes(policyName) && !args.allowBroad) {
      problems.push(`--managed-policy ${policyName} is administrator-equivalent; pick a narrower policy, or pass --allow-broad for a reviewed break-glass permission set`);
    }
  }

  const customerManagedPolicies: Array<{ Name: string; Path: string }> = [];
  for (const ref of args.customerPolicies ?? []) {
    const slash = ref.lastIndexOf('/');
    const Name = slash >= 0 ? ref.slice(slash + 1) : ref;
    const Path = slash >= 0 ? ref.slice(0, slash + 1) || '/' : '/';
    if (!POLICY_NAME.test(Name)) problems.push(`--customer-policy ${JSON.stringify(ref)}: the policy name must be 1-128 letters, digits or + = , . @ _ -`);
    else if (!POLICY_PATH.test(Path)) problems.push(`--customer-policy ${JSON.stringify(ref)}: the path must look like /team/ (or be omitted)`);
    else customerManagedPolicies.push({ Name, Path });
  }

  let inlinePolicy: string | undefined;
  if (args.inlinePolicy !== undefined) {
    let doc: unknown;
    try {
      doc = JSON.parse(args.inlinePolicy);
    } catch {
      problems.push('--inline-policy is not valid JSON');
    }
    if (doc !== undefined) {
      inlinePolicy = JSON.stringify(doc);
      if (typeof doc !== 'object' || doc === null || !('Statement' in doc)) problems.push('--inline-policy must be an IAM policy document with a Statement');
      else if (broadInlineStatements(doc) && !args.allowBroad) problems.push('--inline-policy allows every action on every resource; narrow it, or pass --allow-broad for a reviewed break-glass permission set');
      if (inlinePolicy.length > 10_240) problems.push(`--inline-policy is ${inlinePolicy.length} characters; Identity Center accepts at most 10240`);
    }
  }

  if (managedPolicyArns.length === 0 && customerManagedPolicies.length === 0 && inlinePolicy === undefined) {
    problems.push('give at least one of --managed-policy, --customer-policy or --inline-policy: a permission set without a policy grants nothing');
  }

  const description = args.description ?? `Teams JIT Access: ${name} (session ${sessionDuration})`;
  if (!DESCRIPTION.test(description)) problems.push('--description must be 1-700 printable Latin-1 characters');

  const tags: Tag[] = [MANAGED_BY_TAG];
  for (const t of args.tags ?? []) {
    const eq = t.indexOf('=');
    const Key = eq > 0 ? t.slice(0, eq) : '';
    const Value = eq > 0 ? t.slice(eq + 1) : '';
    if (!Key || Key.length > 128 || Value.length > 256 || !TAG_TEXT.test(Key) || !TAG_TEXT.test(Value)) problems.push(`--tag ${JSON.stringify(t)} must be key=value (letters, digits, spaces and _ . : / = + - @)`);
    else if (Key === MANAGED_BY_TAG.Key) problems.push(`--tag ${Key} is set by this tool`);
    else tags.push({ Key, Value });
  }

  if (problems.length > 0) throw new PermissionSetInputError(problems);
  return { name, instanceArn, sessionDuration, sessionSeconds: sessionSeconds!, description, managedPolicyArns, customerManagedPolicies, inlinePolicy, tags, warnings };
}

export interface PlannedCall {
  command: 'CreatePermissionSet' | 'AttachManagedPolicyToPermissionSet' | 'AttachCustomerManagedPolicyReferenceToPermissionSet' | 'PutInlinePolicyToPermissionSet';
  input: Record<string, unknown>;
}

export const PENDING_ARN = '<PermissionSetArn from CreatePermissionSet>';

/** The calls, in order, with their inputs (the permission set ARN is known after the first). */
export function planPermissionSet(spec: PermissionSetSpec, permissionSetArn = PENDING_ARN): PlannedCall[] {
  const base = { InstanceArn: spec.instanceArn, PermissionSetArn: permissionSetArn };
  return [
    {
      command: 'CreatePermissionSet',
      input: { Name: spec.name, Description: spec.description, InstanceArn: spec.instanceArn, SessionDuration: spec.sessionDuration, Tags: spec.tags },
    },
    ...spec.managedPolicyArns.map((ManagedPolicyArn): PlannedCall => ({ command: 'AttachManagedPolicyToPermissionSet', input: { ...base, ManagedPolicyArn } })),
    ...spec.customerManagedPolicies.map((CustomerManagedPolicyReference): PlannedCall => ({ command: 'AttachCustomerManagedPolicyReferenceToPermissionSet', input: { ...base, CustomerManagedPolicyReference } })),
    ...(spec.inlinePolicy !== undefined ? [{ command: 'PutInlinePolicyToPermissionSet', input: { ...base, InlinePolicy: spec.inlinePolicy } } as PlannedCall] : []),
  ];
}

export interface CreateResult {
  permissionSetArn?: string;
  calls: PlannedCall[];
  dryRun: boolean;
}

export class PermissionSetCreateError extends Error {
  constructor(message: string, readonly permissionSetArn?: string) {
    super(message);
    this.name = 'PermissionSetCreateError';
  }
}

type SendOnly = Pick<SSOAdminClient, 'send'>;

/**
 * Creates the permission set and attaches its policies. Nothing is provisioned to accounts here:
 * Identity Center provisions it on the first account assignment. A failure after the create
 * names the ARN so that the half-made set can be finished or deleted.
 */
export async function createPermissionSet(client: SendOnly, spec: PermissionSetSpec, options: { dryRun?: boolean } = {}): Promise<CreateResult> {
  if (options.dryRun) return { calls: planPermissionSet(spec), dryRun: true };
  let created;
  try {
    created = await client.send(new CreatePermissionSetCommand(planPermissionSet(spec)[0]!.input as never));
  } catch (e) {
    const err = e as Error;
    if (err.name === 'ConflictException') {
      throw new PermissionSetCreateError(
        `A permission set named ${spec.name} already exists in this instance (or another change is in progress). List them with: aws sso-admin list-permission-sets --instance-arn ${spec.instanceArn}`,
      );
    }
    throw new PermissionSetCreateError(`CreatePermissionSet failed: ${err.name}: ${err.message}`);
  }
  const arn = created.PermissionSet?.PermissionSetArn;
  if (!arn) throw new PermissionSetCreateError('CreatePermissionSet answered without a PermissionSetArn.');
  const calls = planPermissionSet(spec, arn);
  for (const call of calls.slice(1)) {
    try {
      switch (call.command) {
        case 'AttachManagedPolicyToPermissionSet':
          await client.send(new AttachManagedPolicyToPermissionSetCommand(call.input as never));
          break;
        case 'AttachCustomerManagedPolicyReferenceToPermissionSet':
          await client.send(new AttachCustomerManagedPolicyReferenceToPermissionSetCommand(call.input as never));
          break;
        case 'PutInlinePolicyToPermissionSet':
          await client.send(new PutInlinePolicyToPermissionSetCommand(call.input as never));
          break;
        default:
          break;
      }
    } catch (e) {
      const err = e as Error;
      throw new PermissionSetCreateError(
        `${call.command} failed (${err.name}: ${err.message}). The permission set ${arn} exists without all its policies: finish it by hand, or delete it with: aws sso-admin delete-permission-set --instance-arn ${spec.instanceArn} --permission-set-arn ${arn}`,
        arn,
      );
    }
  }
  return { permissionSetArn: arn, calls, dryRun: false };
}

/** The entry to add to the policy file (`permissionSets`). */
export function policyFileEntry(name: string, arn: string): string {
  return `permissionSets:\n  - name: ${name}\n    arn: ${arn}\n`;
}

const USAGE = `Usage: npm run permission-set -- --name <Name> --instance-arn <arn:aws:sso:::instance/ssoins-...>
         (--managed-policy <arn:aws:iam::aws:policy/...> | --customer-policy [<path>/]<name> | --inline-policy <file.json>)...
         [--session PT1H] [--description <text>] [--tag key=value]... [--region <region>] [--allow-broad] [--dry-run]`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      'instance-arn': { type: 'string' },
      session: { type: 'string' },
      description: { type: 'string' },
      'managed-policy': { type: 'string', multiple: true },
      'customer-policy': { type: 'string', multiple: true },
      'inline-policy': { type: 'string' },
      tag: { type: 'string', multiple: true },
      region: { type: 'string' },
      'allow-broad': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let inlinePolicy: string | undefined;
  if (values['inline-policy']) {
    try {
      inlinePolicy = readFileSync(values['inline-policy'], 'utf8');
    } catch (e) {
      throw new PermissionSetInputError([`--inline-policy: cannot read ${values['inline-policy']}: ${(e as Error).message}`]);
    }
  }
  const spec = validatePermissionSetArgs({
    name: values.name,
    instanceArn: values['instance-arn'],
    session: values.session,
    description: values.description,
    managedPolicies: values['managed-policy'],
    customerPolicies: values['customer-policy'],
    inlinePolicy,
    tags: values.tag,
    allowBroad: values['allow-broad'],
  });
  for (const w of spec.warnings) console.error(`warning: ${w}`);
  const client = new SSOAdminClient(values.region ? { region: values.region } : {});
  const result = await createPermissionSet(client, spec, { dryRun: values['dry-run'] });
  if (result.dryRun) {
    console.log('Dry run: nothing was sent. These calls would be made, in order:');
    for (const c of result.calls) console.log(`${c.command} ${JSON.stringify(c.input, null, 2)}`);
    return 0;
  }
  console.log(`Created ${spec.name}: ${result.permissionSetArn} (session ${spec.sessionDuration})`);
  console.log('\nAdd it to the policy file, reference it from a rule, and deploy (RUNBOOK.md, "Adding a permission set"):\n');
  console.log(policyFileEntry(spec.name, result.permissionSetArn!));
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      const err = e as Error & { code?: string };
      if (err instanceof PermissionSetInputError || err.code?.startsWith('ERR_PARSE_ARGS')) {
        console.error(`permission-set: ${err.message}\n\n${USAGE}`);
        process.exit(2);
      }
      console.error(`permission-set: ${err.message}`);
      process.exit(1);
    },
  );
}
