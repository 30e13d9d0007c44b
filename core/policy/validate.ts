/**
 * Validates a policy document (the plain object an edge read from YAML or JSON, format in
 * docs/POLICY.md) into the normalized `Policy`. Reading the file's text is the edges' job
 * (infra/policy-file.ts, lambdas/config.ts): core knows no file format, and the Lambda bundles
 * carry no YAML parser. Everything that is wrong is reported at once, as a PolicyError whose
 * issues name the rule (its index and id) and the field, so that a security reviewer can fix the
 * file from the message. Unknown keys are errors: a typo such as `aproverGroups` must never
 * silently widen access.
 */
import '../zod-locale';
import * as z from 'zod/mini';
import { PolicyError, type FieldIssue } from '../errors';
import { HOUR_SECONDS, parsePolicyDuration, toIsoDuration } from './duration';
import { compileTicketPattern } from './ticket';
import type { ReminderTerms, StepUpRequirement } from '../model';
import type { AccountEntry, PermissionSetEntry, Policy, PolicyRule } from './types';

export const APPROVALS_REQUIRED_MAX = 10;
/** Defaults applied when a rule leaves a field out (documented in docs/POLICY.md). */
export const POLICY_DEFAULTS = {
  defaultDurationSeconds: HOUR_SECONDS,
  approvalTimeoutSeconds: HOUR_SECONDS,
  breakGlassMaxDurationSeconds: HOUR_SECONDS,
  stepUpMaxTokenAgeMinutes: 10,
} as const;

/** The longest token age a step-up rule may accept: a day (an older sign-in proves nothing about now). */
export const STEP_UP_MAX_TOKEN_AGE_MINUTES = 24 * 60;

/**
 * Entra authentication context ids are c1 to c99 ("Conditional Access: Target resources",
 * Authentication context, https://learn.microsoft.com/en-us/entra/identity/conditional-access/concept-conditional-access-cloud-apps#authentication-context);
 * a token names the contexts it satisfied in its `acrs` claim ("Access token claims reference").
 */
const AUTH_CONTEXT_ID = /^c([1-9]|[1-9][0-9])$/;

const stepUpSchema = z
  .strictObject({
    acrs: z.optional(z.string().check(z.regex(AUTH_CONTEXT_ID, 'must be a Conditional Access authentication context id, c1 to c99'))),
    amr: z.optional(z.literal('mfa', 'must be mfa (the amr value Entra sets after multi-factor authentication)')),
    maxTokenAgeMinutes: z.optional(
      z.number().check(
        z.int('must be a whole number'),
        z.minimum(1, 'must be at least 1'),
        z.maximum(STEP_UP_MAX_TOKEN_AGE_MINUTES, `must be at most ${STEP_UP_MAX_TOKEN_AGE_MINUTES} (a day)`),
      ),
    ),
  })
  .check(z.refine((v) => (v.acrs === undefined) !== (v.amr === undefined), 'must name exactly one of acrs (an authentication context such as c1) or amr: mfa'));

/**
 * Reminders are sent by the reconcile sweep (lambdas/reconcile, every 5 minutes: infra
 * jit-access-stack.ts): a shorter interval could not be kept, so it is refused.
 */
export const REMINDER_MIN_INTERVAL_SECONDS = 5 * 60;

/**
 * A Teams channel id as the Bot Framework names it (`19:…@thread.tacv2`, older teams
 * `@thread.skype`): "Get Teams context", channel ids from `channelData.channel.id`. A Graph team
 * GUID or a channel name is not one.
 */
const TEAMS_CHANNEL_ID = /^19:[^\s@]+@thread\.(tacv2|skype)$/;

/**
 * A Teams tag ("Channel and group chat conversations with a bot", Add mentions: tag mention, the
 * mention entity's `mentioned: {id, name, type: "tag"}`; the id is the Graph teamworkTag id).
 */
const tagText = () => z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(256, 'must be at most 256 characters'));
const tagSchema = z.strictObject({ id: tagText(), name: tagText() });

const ACCOUNT_ID = /^\d{12}$/;
const OU_OR_ROOT_ID = /^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[0-9a-z]{8,32})$/;
const PERMISSION_SET_NAME = /^[\w+=,.@-]{1,32}$/;
const PERMISSION_SET_ARN = /^arn:(aws|aws-us-gov|aws-cn):sso:::permissionSet\/(sso)?ins-[a-zA-Z0-9-.]{16}\/ps-[a-zA-Z0-9-./]{16}$/;
const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

// zod/mini, like core/api.ts: what the functions bundle is what they use.
const opt = z.optional;
const accountIdSchema = z.pipe(
  // YAML reads an unquoted 111111111111 as a number; accept it, but a leading zero is already lost.
  z.transform((v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v)),
  z.string().check(z.regex(ACCOUNT_ID, 'must be a 12-digit AWS account id in quotes, e.g. "111111111111" (unquoted numbers lose leading zeros)')),
);
const ouIdSchema = z.string().check(z.regex(OU_OR_ROOT_ID, 'must be an organizational unit id like ou-ab12-11111111 or a root id like r-ab12'));
const groupSchema = z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(256, 'must be at most 256 characters'));
const permissionSetNameSchema = z.string().check(z.regex(PERMISSION_SET_NAME, 'must be a permission set name (1-32 letters, digits or +=,.@_-)'));
const durationSchema = z.pipe(
  z.unknown(),
  z.transform((v, ctx) => {
    const parsed = parsePolicyDuration(v);
    if (!parsed.ok) {
      ctx.issues.push({ code: 'custom', message: parsed.error, input: v });
      return z.NEVER;
    }
    return parsed.seconds;
  }),
);

const remindersSchema = z.strictObject({
  after: durationSchema,
  every: opt(durationSchema),
  tag: opt(tagSchema),
  escalateAfter: opt(durationSchema),
  escalateTo: opt(
    z.strictObject({
      groups: opt(z.array(groupSchema)),
      channel: opt(z.string().check(z.regex(TEAMS_CHANNEL_ID, 'must be a Teams channel id like 19:abc123@thread.tacv2 (channelData.channel.id), not a channel name or a team GUID'))),
      tag: opt(tagSchema),
    }),
  ),
});

const accountSchema = z.strictObject({
  id: accountIdSchema,
  name: z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(128, 'must be at most 128 characters')),
  ouPath: opt(z.array(ouIdSchema).check(z.maxLength(20, 'must have at most 20 levels'))),
});

const permissionSetSchema = z.strictObject({
  name: permissionSetNameSchema,
  arn: z.string().check(z.regex(PERMISSION_SET_ARN, 'must be a permission set ARN like arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111')),
  description: opt(z.string().check(z.maxLength(700))),
});

const ruleSchema = z.strictObject({
  id: z.string().check(z.regex(RULE_ID, 'must be 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit')),
  description: opt(z.string().check(z.maxLength(1000, 'must be at most 1000 characters'))),
  eligibleGroups: z.array(groupSchema).check(z.minLength(1, 'must name at least one group')),
  accounts: z.strictObject({
    ids: opt(z.array(accountIdSchema)),
    ous: opt(z.array(ouIdSchema)),
  }),
  permissionSets: z.array(permissionSetNameSchema).check(z.minLength(1, 'must name at least one permission set')),
  maxDuration: durationSchema,
  defaultDuration: opt(durationSchema),
  maxTotalDuration: opt(durationSchema),
  approvers: z.strictObject({
    groups: opt(z.array(groupSchema)),
    required: z
      .number()
      .check(z.int('must be a whole number'), z.minimum(0, 'must be 0 (auto-approve) or more'), z.maximum(APPROVALS_REQUIRED_MAX, `must be at most ${APPROVALS_REQUIRED_MAX}`)),
  }),
  approvalTimeout: opt(durationSchema),
  ticket: opt(
    z.strictObject({
      required: z.boolean(),
      pattern: opt(z.string()),
    }),
  ),
  breakGlass: opt(
    z.strictObject({
      allowed: z.boolean(),
      maxDuration: opt(durationSchema),
    }),
  ),
  endSessionsAtExpiry: opt(z.boolean('must be true or false')),
  stepUp: opt(
    z.strictObject({
      approve: opt(stepUpSchema),
      breakGlass: opt(stepUpSchema),
    }),
  ),
  reminders: opt(remindersSchema),
});

const policySchema = z.strictObject({
  version: z.literal(1, 'must be 1'),
  description: opt(z.string().check(z.maxLength(2000))),
  accounts: z.array(accountSchema).check(z.minLength(1, 'must list at least one account')),
  permissionSets: z.array(permissionSetSchema).check(z.minLength(1, 'must list at least one permission set')),
  rules: z.array(ruleSchema).check(z.minLength(1, 'must have at least one rule (without rules nobody can request anything)')),
});

type PolicyFile = z.output<typeof policySchema>;
type RuleFile = PolicyFile['rules'][number];
type PathSegment = PropertyKey;

/** Names people reach for, and where the field actually lives. */
const FIELD_HINTS: Record<string, string> = {
  approverGroups: 'approvers.groups',
  approvalsRequired: 'approvers.required',
  approvals: 'approvers',
  approver: 'approvers',
  groups: 'eligibleGroups (who may request) or approvers.groups (who approves)',
  eligible: 'eligibleGroups',
  accountIds: 'accounts.ids',
  ous: 'accounts.ous',
  ou: 'accounts.ous',
  permissionSet: 'permissionSets',
  duration: 'maxDuration / defaultDuration',
  maxDurationSeconds: 'maxDuration (ISO 8601, e.g. PT1H)',
  defaultDurationSeconds: 'defaultDuration (ISO 8601, e.g. PT1H)',
  ticketRequired: 'ticket.required',
  ticketPattern: 'ticket.pattern',
  breakglass: 'breakGlass',
  break_glass: 'breakGlass',
  timeout: 'approvalTimeout',
  endSessions: 'endSessionsAtExpiry',
  endSessionsOnExpiry: 'endSessionsAtExpiry',
  ouIds: 'ouPath',
  ous_path: 'ouPath',
  mfa: 'stepUp.approve: { amr: mfa }',
  stepup: 'stepUp',
  step_up: 'stepUp',
  acr: 'acrs',
  maxTokenAge: 'maxTokenAgeMinutes',
  reminder: 'reminders',
  remind: 'reminders',
  remindAfter: 'reminders.after',
  escalate: 'reminders.escalateAfter and reminders.escalateTo',
  escalation: 'reminders.escalateAfter and reminders.escalateTo',
  escalateAfter: 'reminders.escalateAfter',
  escalateTo: 'reminders.escalateTo',
  interval: 'every',
  repeat: 'every',
  group: 'groups',
};

function allowedKeysAt(path: readonly PathSegment[]): string[] {
  const p = path.map((s) => (typeof s === 'number' ? '#' : String(s))).join('/');
  switch (p) {
    case '':
      return Object.keys(policySchema.shape);
    case 'accounts/#':
      return Object.keys(accountSchema.shape);
    case 'permissionSets/#':
      return Object.keys(permissionSetSchema.shape);
    case 'rules/#':
      return Object.keys(ruleSchema.shape);
    case 'rules/#/accounts':
      return ['ids', 'ous'];
    case 'rules/#/approvers':
      return ['groups', 'required'];
    case 'rules/#/ticket':
      return ['required', 'pattern'];
    case 'rules/#/breakGlass':
      return ['allowed', 'maxDuration'];
    case 'rules/#/stepUp':
      return ['approve', 'breakGlass'];
    case 'rules/#/stepUp/approve':
    case 'rules/#/stepUp/breakGlass':
      return ['acrs', 'amr', 'maxTokenAgeMinutes'];
    case 'rules/#/reminders':
      return Object.keys(remindersSchema.shape);
    case 'rules/#/reminders/escalateTo':
      return ['groups', 'channel', 'tag'];
    case 'rules/#/reminders/tag':
    case 'rules/#/reminders/escalateTo/tag':
      return ['id', 'name'];
    default:
      return [];
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

function unknownKeyMessage(key: string, path: readonly PathSegment[]): string {
  const allowed = allowedKeysAt(path);
  const lower = key.toLowerCase();
  // Short keys tolerate fewer edits, so that `ou` is not mistaken for `id`.
  const tolerance = Math.min(2, Math.floor(key.length / 3));
  const near = (k: string) => k.toLowerCase() === lower || editDistance(k.toLowerCase(), lower) <= tolerance;
  const close = allowed.find(near);
  const alias = Object.keys(FIELD_HINTS).find(near);
  const hint = close ?? (alias ? FIELD_HINTS[alias] : undefined);
  const known = allowed.length > 0 ? ` (allowed here: ${allowed.join(', ')})` : '';
  return hint ? `unknown field: did you mean ${hint}?` : `unknown field${known}`;
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** `rules[2] (id "prod-admin").approvers.groups[0]`: the index always, the id when it is readable. */
export function formatPolicyPath(root: unknown, path: readonly PathSegment[]): string {
  if (path.length === 0) return '(policy)';
  let out = '';
  path.forEach((seg, i) => {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += `${i === 0 ? '' : '.'}${String(seg)}`;
    if (i === 1 && typeof seg === 'number') {
      const top = path[0];
      const labelKey = top === 'permissionSets' ? 'name' : top === 'rules' || top === 'accounts' ? 'id' : undefined;
      const label = labelKey ? valueAt(root, [top!, seg, labelKey]) : undefined;
      if ((typeof label === 'string' || typeof label === 'number') && String(label).length <= 80) out += ` (${labelKey} ${JSON.stringify(String(label))})`;
    }
  });
  return out;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value)',
};

function issueMessage(root: unknown, issue: z.core.$ZodIssue): FieldIssue[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: formatPolicyPath(root, [...path, key]), message: unknownKeyMessage(key, path) }));
  }
  if (issue.code === 'invalid_type') {
    const present = valueAt(root, path) !== undefined;
    const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
    return [{ path: formatPolicyPath(root, path), message: present ? `must be ${expected}` : `is required${requiredHint(path)}` }];
  }
  if (issue.code === 'custom' && valueAt(root, path) === undefined && path.length > 0) {
    return [{ path: formatPolicyPath(root, path), message: `is required${requiredHint(path)}` }];
  }
  return [{ path: formatPolicyPath(root, path), message: issue.message }];
}

function requiredHint(path: readonly PathSegment[]): string {
  const last = path[path.length - 1];
  if (last === 'approvers') return ' (write approvers: { required: 0 } for auto-approval, or name groups and a count)';
  if (last === 'maxDuration') return ' (an ISO 8601 duration like PT1H)';
  if (last === 'accounts' && path.length > 1) return ' (accounts: { ids: [...], ous: [...] })';
  return '';
}

/**
 * Validates and normalizes a policy document. Throws PolicyError (and only PolicyError) when it is
 * invalid. The document is only read, never changed.
 */
export function validatePolicy(root: unknown): Policy {
  const parsed = policySchema.safeParse(root);
  if (!parsed.success) {
    const issues = parsed.error.issues.flatMap((issue) => issueMessage(root, issue));
    throw new PolicyError(dedupeIssues(issues));
  }
  const file = parsed.data;
  const issues: FieldIssue[] = [];
  const at = (path: PathSegment[], message: string) => issues.push({ path: formatPolicyPath(root, path), message });

  const accounts: AccountEntry[] = [];
  const accountIndex = new Map<string, number>();
  file.accounts.forEach((a, i) => {
    const first = accountIndex.get(a.id);
    if (first !== undefined) at(['accounts', i, 'id'], `duplicate account id ${a.id} (also accounts[${first}])`);
    else accountIndex.set(a.id, i);
    accounts.push({ id: a.id, name: a.name, ouPath: a.ouPath ?? [] });
  });

  const permissionSets: PermissionSetEntry[] = [];
  const psNames = new Map<string, number>();
  const psArns = new Map<string, number>();
  file.permissionSets.forEach((ps, i) => {
    const firstName = psNames.get(ps.name);
    if (firstName !== undefined) at(['permissionSets', i, 'name'], `duplicate permission set name "${ps.name}" (also permissionSets[${firstName}])`);
    else psNames.set(ps.name, i);
    const firstArn = psArns.get(ps.arn);
    if (firstArn !== undefined) at(['permissionSets', i, 'arn'], `duplicate permission set ARN (also permissionSets[${firstArn}])`);
    else psArns.set(ps.arn, i);
    permissionSets.push({ name: ps.name, arn: ps.arn });
  });

  const ruleIds = new Map<string, number>();
  const rules = file.rules.map((rule, i) => {
    const firstId = ruleIds.get(rule.id);
    if (firstId !== undefined) at(['rules', i, 'id'], `duplicate rule id "${rule.id}" (also rules[${firstId}])`);
    else ruleIds.set(rule.id, i);
    return normalizeRule(rule, (path, message) => at(['rules', i, ...path], message), accountIndex, psNames);
  });

  if (issues.length > 0) throw new PolicyError(issues);
  return { version: 1, accounts, permissionSets, rules };
}

function normalizeRule(
  rule: RuleFile,
  at: (path: PathSegment[], message: string) => void,
  accountIndex: ReadonlyMap<string, number>,
  psNames: ReadonlyMap<string, number>,
): PolicyRule {
  const ids = unique(rule.accounts.ids ?? []);
  const ous = unique(rule.accounts.ous ?? []);
  if (ids.length === 0 && ous.length === 0) at(['accounts'], 'must list at least one account id (ids) or organizational unit (ous)');
  (rule.accounts.ids ?? []).forEach((id, j) => {
    if (!accountIndex.has(id)) at(['accounts', 'ids', j], `account ${id} is not in the accounts list`);
  });
  rule.permissionSets.forEach((name, j) => {
    if (!psNames.has(name)) {
      const known = [...psNames.keys()].slice(0, 10).join(', ');
      at(['permissionSets', j], `permission set "${name}" is not in the permissionSets list (known: ${known})`);
    }
  });

  const max = rule.maxDuration;
  const iso = toIsoDuration;
  const defaultDuration = rule.defaultDuration ?? Math.min(POLICY_DEFAULTS.defaultDurationSeconds, max);
  if (defaultDuration > max) at(['defaultDuration'], `must not be longer than maxDuration (${iso(defaultDuration)} > ${iso(max)})`);
  const maxTotal = rule.maxTotalDuration ?? max;
  if (maxTotal < max) at(['maxTotalDuration'], `must be at least maxDuration (${iso(maxTotal)} < ${iso(max)})`);

  const approverGroups = unique(rule.approvers.groups ?? []);
  if (rule.approvers.required > 0 && approverGroups.length === 0) {
    at(['approvers', 'groups'], `must name at least one group when approvers.required is ${rule.approvers.required} (use required: 0 for auto-approval)`);
  }

  let ticket: PolicyRule['ticket'] = { required: false };
  if (rule.ticket) {
    ticket = { required: rule.ticket.required };
    if (rule.ticket.pattern !== undefined) {
      const compiled = compileTicketPattern(rule.ticket.pattern);
      if (!compiled.ok) at(['ticket', 'pattern'], compiled.error);
      ticket.pattern = rule.ticket.pattern;
    }
  }

  let breakGlass: PolicyRule['breakGlass'] = { allowed: false, maxDurationSeconds: 0 };
  if (rule.breakGlass?.allowed) {
    const bgMax = rule.breakGlass.maxDuration ?? Math.min(POLICY_DEFAULTS.breakGlassMaxDurationSeconds, max);
    if (bgMax > max) at(['breakGlass', 'maxDuration'], `must not be longer than maxDuration (${iso(bgMax)} > ${iso(max)})`);
    breakGlass = { allowed: true, maxDurationSeconds: bgMax };
  } else if (rule.breakGlass && rule.breakGlass.maxDuration !== undefined) {
    at(['breakGlass', 'maxDuration'], 'is set but breakGlass.allowed is false: remove it or allow break-glass');
  }

  const stepUp: NonNullable<PolicyRule['stepUp']> = {};
  if (rule.stepUp?.approve) {
    if (rule.approvers.required === 0) at(['stepUp', 'approve'], 'is set but approvers.required is 0: nobody votes on these requests, so there is nothing to step up');
    stepUp.approve = stepUpRequirement(rule.stepUp.approve);
  }
  if (rule.stepUp?.breakGlass) {
    if (!rule.breakGlass?.allowed) at(['stepUp', 'breakGlass'], 'is set but breakGlass.allowed is false: remove it or allow break-glass');
    stepUp.breakGlass = stepUpRequirement(rule.stepUp.breakGlass);
  }

  const approvalTimeoutSeconds = rule.approvalTimeout ?? POLICY_DEFAULTS.approvalTimeoutSeconds;
  const reminders = rule.reminders ? reminderTerms(rule.reminders, { approvalTimeoutSeconds, approverGroups, approvalsRequired: rule.approvers.required, timeoutWritten: rule.approvalTimeout !== undefined }, (path, message) => at(['reminders', ...path], message)) : undefined;

  return {
    id: rule.id,
    description: rule.description ?? '',
    eligibleGroups: unique(rule.eligibleGroups),
    accounts: { ids, ous },
    permissionSets: unique(rule.permissionSets),
    maxDurationSeconds: max,
    defaultDurationSeconds: defaultDuration,
    maxTotalDurationSeconds: maxTotal,
    approverGroups,
    approvalsRequired: rule.approvers.required,
    ticket,
    breakGlass,
    approvalTimeoutSeconds,
    endSessionsAtExpiry: rule.endSessionsAtExpiry ?? grantsAdmin(rule.permissionSets),
    ...(stepUp.approve || stepUp.breakGlass ? { stepUp } : {}),
    ...(reminders ? { reminders } : {}),
  };
}

/**
 * Reminders and escalation happen while the request waits, so every step must come before the
 * approval deadline (which they never move), the reminder before the escalation, and at the
 * sweep's pace at most. The escalation group must add approvers: one of the rule's own approver
 * groups would change nothing.
 */
function reminderTerms(
  v: z.output<typeof remindersSchema>,
  rule: { approvalTimeoutSeconds: number; approverGroups: readonly string[]; approvalsRequired: number; timeoutWritten: boolean },
  at: (path: PathSegment[], message: string) => void,
): ReminderTerms {
  const iso = toIsoDuration;
  const timeout = rule.approvalTimeoutSeconds;
  const timeoutLabel = `approvalTimeout (${iso(timeout)}${rule.timeoutWritten ? '' : ', the default'})`;
  const minLabel = iso(REMINDER_MIN_INTERVAL_SECONDS);
  if (rule.approvalsRequired === 0) at([], 'is set but approvers.required is 0: these requests are approved at once, nobody is waited for');
  if (v.after < REMINDER_MIN_INTERVAL_SECONDS) at(['after'], `must be at least ${minLabel}: reminders are sent by the reconcile sweep, which runs every 5 minutes`);
  if (v.after >= timeout) at(['after'], `must be shorter than ${timeoutLabel}: the request times out before the reminder (${iso(v.after)})`);
  if (v.every !== undefined && v.every < REMINDER_MIN_INTERVAL_SECONDS) at(['every'], `must be at least ${minLabel}: reminders are sent by the reconcile sweep, which runs every 5 minutes`);
  const out: ReminderTerms = { afterSeconds: v.after, ...(v.every !== undefined ? { everySeconds: v.every } : {}), ...(v.tag ? { tag: { id: v.tag.id, name: v.tag.name } } : {}) };
  if (v.escalateAfter === undefined && v.escalateTo === undefined) return out;
  if (v.escalateAfter === undefined) {
    at(['escalateAfter'], 'is required when escalateTo is set (when to escalate, e.g. PT45M)');
    return out;
  }
  if (v.escalateTo === undefined) {
    at(['escalateTo'], 'is required when escalateAfter is set (write escalateTo: { groups: [...] } and/or a channel)');
    return out;
  }
  if (v.escalateAfter <= v.after) at(['escalateAfter'], `must be later than after (${iso(v.escalateAfter)} <= ${iso(v.after)}): approvers are reminded before the request is escalated`);
  if (v.escalateAfter >= timeout) at(['escalateAfter'], `must be shorter than ${timeoutLabel} (${iso(v.escalateAfter)}): the deadline does not move, so a later escalation would never happen`);
  const groups = unique(v.escalateTo.groups ?? []);
  if (groups.length === 0 && v.escalateTo.channel === undefined) at(['escalateTo'], 'must name groups (secondary approvers) or a channel, or both');
  (v.escalateTo.groups ?? []).forEach((g, j) => {
    if (rule.approverGroups.includes(g)) at(['escalateTo', 'groups', j], `"${g}" is already an approver group of this rule: escalating to it changes nothing (name a secondary group)`);
  });
  out.escalation = {
    afterSeconds: v.escalateAfter,
    groups,
    ...(v.escalateTo.channel !== undefined ? { channelId: v.escalateTo.channel } : {}),
    ...(v.escalateTo.tag ? { tag: { id: v.escalateTo.tag.id, name: v.escalateTo.tag.name } } : {}),
  };
  return out;
}

function stepUpRequirement(v: z.output<typeof stepUpSchema>): StepUpRequirement {
  return {
    acrs: v.acrs ? [v.acrs] : [],
    amr: v.amr ? [v.amr] : [],
    maxTokenAgeSeconds: (v.maxTokenAgeMinutes ?? POLICY_DEFAULTS.stepUpMaxTokenAgeMinutes) * 60,
  };
}

/**
 * The default of `endSessionsAtExpiry`: on for a rule that grants an administrator permission set
 * (a name containing "admin", any case: Admin, AdministratorAccess), off otherwise. docs/POLICY.md.
 */
export function grantsAdmin(permissionSetNames: readonly string[]): boolean {
  return permissionSetNames.some((n) => /admin/i.test(n));
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function dedupeIssues(issues: FieldIssue[]): FieldIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * What the functions are given (core/policy/compiled.ts): the validated, normalized policy as JSON.
 * Everything that sets JIT_POLICY_JSON goes through here (infra at synth, the sandbox, tests).
 */
export function compilePolicy(document: unknown): string {
  return JSON.stringify(validatePolicy(document));
}

