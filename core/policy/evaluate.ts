/**
 * Policy evaluation: pure functions from (policy, input) to a decision with a reason that a card
 * can show and the audit log can keep. No clock, no I/O.
 *
 * When several rules match one request, MOST RESTRICTIVE WINS (see docs/POLICY.md): the shortest
 * durations and approval timeout, the most approvals, a ticket if any rule wants one (matching
 * every rule's pattern), break-glass only if every rule allows it, and approvers only from groups
 * that every approving rule names. Adding a rule can therefore never widen access to something
 * another rule already covers.
 */
import type { EffectiveTerms, ReminderTerms, Route, StepUpRequirement } from '../model';
import { formatDuration, MINUTE_SECONDS } from './duration';
import { ticketMatches } from './ticket';
import type {
  AccountEntry,
  ApproverDecision,
  ApproverEvaluationInput,
  EligibilityEntry,
  PermissionSetEntry,
  Policy,
  PolicyDecision,
  PolicyRule,
  RequestEvaluationInput,
} from './types';

// ---------------------------------------------------------------------------------------------
// Indexes (memoized per policy object; a policy is immutable once loaded)

interface PolicyIndex {
  accountsById: Map<string, AccountEntry>;
  permissionSetsByName: Map<string, PermissionSetEntry>;
}

interface RuleIndex {
  eligibleGroups: Set<string>;
  accountIds: Set<string>;
  ous: Set<string>;
  permissionSets: Set<string>;
}

const policyIndexes = new WeakMap<Policy, PolicyIndex>();
const ruleIndexes = new WeakMap<PolicyRule, RuleIndex>();

function policyIndex(policy: Policy): PolicyIndex {
  let index = policyIndexes.get(policy);
  if (!index) {
    index = {
      accountsById: new Map(asArray(policy.accounts).map((a) => [a.id, a])),
      permissionSetsByName: new Map(asArray(policy.permissionSets).map((p) => [p.name, p])),
    };
    policyIndexes.set(policy, index);
  }
  return index;
}

function ruleIndex(rule: PolicyRule): RuleIndex {
  let index = ruleIndexes.get(rule);
  if (!index) {
    index = {
      eligibleGroups: new Set(asArray(rule.eligibleGroups)),
      accountIds: new Set(asArray(rule.accounts?.ids)),
      ous: new Set(asArray(rule.accounts?.ous)),
      permissionSets: new Set(asArray(rule.permissionSets)),
    };
    ruleIndexes.set(rule, index);
  }
  return index;
}

function asArray<T>(value: readonly T[] | undefined | null): readonly T[] {
  return Array.isArray(value) ? value : [];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Matched by group display name or group id: the requester's list carries both. */
export function ruleAdmitsGroups(rule: PolicyRule, requesterGroups: readonly string[]): boolean {
  const eligible = ruleIndex(rule).eligibleGroups;
  return requesterGroups.some((g) => eligible.has(g));
}

/** By account id, or by any OU on the account's path (so a rule on a parent OU covers nested OUs). */
export function ruleCoversAccount(rule: PolicyRule, account: AccountEntry): boolean {
  const index = ruleIndex(rule);
  if (index.accountIds.has(account.id)) return true;
  if (index.ous.size === 0) return false;
  return asArray(account.ouPath).some((ou) => index.ous.has(ou));
}

/** Every rule that lets these groups request this permission set on this account. */
export function matchingRules(policy: Policy, requesterGroups: readonly string[], account: AccountEntry, permissionSetName: string): PolicyRule[] {
  return asArray(policy.rules).filter(
    (rule) => ruleIndex(rule).permissionSets.has(permissionSetName) && ruleCoversAccount(rule, account) && ruleAdmitsGroups(rule, requesterGroups),
  );
}

// ---------------------------------------------------------------------------------------------
// Merging (most restrictive wins)

export type MergeResult = { ok: true; terms: EffectiveTerms } | { ok: false; reason: string; ruleIds: string[] };

/** Merges the terms of every matching rule. The same function serves evaluation and eligibility. */
export function mergeRules(rules: readonly PolicyRule[]): MergeResult {
  const ruleIds = rules.map((r) => r.id);
  if (rules.length === 0) return { ok: false, reason: 'No rule matches.', ruleIds };
  const min = (f: (r: PolicyRule) => number) => Math.min(...rules.map(f));
  const maxTotalDurationSeconds = min((r) => r.maxTotalDurationSeconds);
  const maxDurationSeconds = Math.min(min((r) => r.maxDurationSeconds), maxTotalDurationSeconds);
  const defaultDurationSeconds = Math.min(min((r) => r.defaultDurationSeconds), maxDurationSeconds);
  const approvalsRequired = Math.max(...rules.map((r) => r.approvalsRequired));

  const approving = rules.filter((r) => r.approvalsRequired > 0);
  let approverGroups: string[] = [];
  if (approving.length > 0) {
    const [first, ...others] = approving;
    approverGroups = strings(first!.approverGroups).filter((g) => others.every((r) => strings(r.approverGroups).includes(g)));
    approverGroups = [...new Set(approverGroups)];
    if (approverGroups.length === 0) {
      const listed = approving.map((r) => `${r.id}: ${strings(r.approverGroups).join(', ') || 'none'}`).join('; ');
      return {
        ok: false,
        ruleIds,
        reason: `${rulesLabel(ruleIds)} need approvers from groups with no group in common (${listed}), so nobody could approve this request. Ask your platform team to align the approver groups.`,
      };
    }
  }

  const breakGlassAllowed = rules.every((r) => r.breakGlass?.allowed === true);
  const breakGlassMaxDurationSeconds = breakGlassAllowed ? Math.min(min((r) => r.breakGlass.maxDurationSeconds), maxDurationSeconds) : 0;

  return {
    ok: true,
    terms: {
      ruleIds,
      maxDurationSeconds,
      defaultDurationSeconds,
      maxTotalDurationSeconds,
      approvalsRequired,
      approverGroups,
      ticketRequired: rules.some((r) => r.ticket?.required === true),
      ticketPatterns: [...new Set(rules.flatMap((r) => (typeof r.ticket?.pattern === 'string' ? [r.ticket.pattern] : [])))],
      breakGlassAllowed,
      breakGlassMaxDurationSeconds,
      approvalTimeoutSeconds: min((r) => r.approvalTimeoutSeconds),
      // Ending sessions is the stricter choice: any matching rule asking for it wins.
      endSessionsAtExpiry: rules.some((r) => r.endSessionsAtExpiry === true),
      ...stepUpTerms(rules),
      ...reminderTerms(approving, min((r) => r.approvalTimeoutSeconds)),
    },
  };
}

/**
 * Reminders only nudge people who may already approve, so the most attentive schedule wins: the
 * earliest first reminder and the shortest interval. Escalation WIDENS who may approve, so like
 * approver groups it follows most restrictive wins: only when every approving rule escalates, to
 * the groups they all name, at the latest time any of them names, and to a channel only when they
 * all name the same one. A step at or past the merged deadline would never happen and is dropped.
 */
function reminderTerms(approving: readonly PolicyRule[], timeoutSeconds: number): Pick<EffectiveTerms, 'reminders'> {
  const all = approving.map((r) => r.reminders);
  const set = all.filter((x): x is ReminderTerms => x !== undefined);
  if (set.length === 0) return {};
  const afterSeconds = Math.min(...set.map((x) => x.afterSeconds));
  if (afterSeconds >= timeoutSeconds) return {};
  const everys = set.flatMap((x) => (x.everySeconds !== undefined ? [x.everySeconds] : []));
  const tag = set.find((x) => x.tag)?.tag;
  const out: ReminderTerms = { afterSeconds, ...(everys.length > 0 ? { everySeconds: Math.min(...everys) } : {}), ...(tag ? { tag } : {}) };
  const escalations = all.map((x) => x?.escalation);
  if (escalations.every((e) => e !== undefined)) {
    const [first, ...others] = escalations as NonNullable<ReminderTerms['escalation']>[];
    const groups = first!.groups.filter((g) => others.every((e) => e.groups.includes(g)));
    const channelId = first!.channelId !== undefined && others.every((e) => e.channelId === first!.channelId) ? first!.channelId : undefined;
    const at = Math.max(...escalations.map((e) => e!.afterSeconds));
    const escalationTag = escalations.length === 1 ? first!.tag : undefined;
    if ((groups.length > 0 || channelId !== undefined) && at < timeoutSeconds) {
      out.escalation = { afterSeconds: at, groups, ...(channelId !== undefined ? { channelId } : {}), ...(escalationTag ? { tag: escalationTag } : {}) };
    }
  }
  return { reminders: out };
}

/**
 * Step-up merges like everything else: the most restrictive wins. Any matching rule that asks for
 * it makes it required; the required values add up and the shortest token age applies.
 */
function stepUpTerms(rules: readonly PolicyRule[]): Pick<EffectiveTerms, 'stepUp'> {
  const merge = (pick: (r: PolicyRule) => StepUpRequirement | undefined): StepUpRequirement | undefined => {
    const all = rules.map((r) => pick(r)).filter((x): x is StepUpRequirement => x !== undefined);
    if (all.length === 0) return undefined;
    return {
      acrs: [...new Set(all.flatMap((x) => x.acrs))].sort(),
      amr: [...new Set(all.flatMap((x) => x.amr))].sort(),
      maxTokenAgeSeconds: Math.min(...all.map((x) => x.maxTokenAgeSeconds)),
    };
  };
  const approve = merge((r) => r.stepUp?.approve);
  const breakGlass = merge((r) => r.stepUp?.breakGlass);
  if (!approve && !breakGlass) return {};
  return { stepUp: { ...(approve ? { approve } : {}), ...(breakGlass ? { breakGlass } : {}) } };
}

// ---------------------------------------------------------------------------------------------
// Requests

function rulesLabel(ruleIds: readonly string[]): string {
  return ruleIds.length === 1 ? `Rule ${ruleIds[0]}` : `Rules ${ruleIds.join(', ')}`;
}

function accountLabel(account: AccountEntry): string {
  return `${account.name} (${account.id})`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function deny(reason: string, ruleIds: string[] = []): PolicyDecision {
  return { allowed: false, reason, ruleIds };
}

export function evaluateRequest(policy: Policy, request: RequestEvaluationInput): PolicyDecision {
  // Defensive reads: this runs on server-side input and must fail closed, never throw.
  const input: Partial<RequestEvaluationInput> = request !== null && typeof request === 'object' ? request : {};
  const groups = strings(input.requesterGroups);
  const accountId = typeof input.accountId === 'string' ? input.accountId : '';
  const permissionSetName = typeof input.permissionSetName === 'string' ? input.permissionSetName : '';
  const index = policyIndex(policy);

  const account = index.accountsById.get(accountId);
  if (!account) return deny(`Account ${accountId.slice(0, 64) || '(none)'} is not managed by the access policy.`);
  if (!index.permissionSetsByName.has(permissionSetName)) return deny(`Permission set ${permissionSetName.slice(0, 64) || '(none)'} is not offered by the access policy.`);

  const rules = matchingRules(policy, groups, account, permissionSetName);
  if (rules.length === 0) return deny(`No rule lets members of your groups request ${permissionSetName} on ${accountLabel(account)}.`);
  const merged = mergeRules(rules);
  if (!merged.ok) return deny(merged.reason, merged.ruleIds);
  const { terms } = merged;
  const ruleIds = terms.ruleIds;
  const label = rulesLabel(ruleIds);
  const target = `${permissionSetName} on ${accountLabel(account)}`;

  const breakGlass = input.breakGlass === true;
  if (breakGlass && !terms.breakGlassAllowed) {
    const refusing = rules.filter((r) => !r.breakGlass?.allowed).map((r) => r.id);
    return deny(`Break-glass is not allowed for ${target}: ${rulesLabel(refusing)} ${refusing.length === 1 ? 'does' : 'do'} not allow it. Request it with approval instead.`, ruleIds);
  }

  const duration = input.durationSeconds;
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < MINUTE_SECONDS) {
    return deny(`The duration must be at least 1 minute.`, ruleIds);
  }
  const limit = breakGlass ? terms.breakGlassMaxDurationSeconds : terms.maxDurationSeconds;
  if (duration > limit) {
    return deny(`${label}: ${breakGlass ? 'break-glass ' : ''}${target} may last at most ${formatDuration(limit)}; you asked for ${formatDuration(duration)}.`, ruleIds);
  }

  const ticketId = typeof input.ticketId === 'string' ? input.ticketId.trim() : '';
  if (terms.ticketRequired && ticketId === '') {
    const requiring = rules.filter((r) => r.ticket?.required).map((r) => r.id);
    const shape = terms.ticketPatterns.length > 0 ? ` matching ${terms.ticketPatterns.join(' and ')}` : '';
    return deny(`${rulesLabel(requiring)} ${requiring.length === 1 ? 'requires' : 'require'} a ticket id${shape} for ${target}.`, ruleIds);
  }
  if (ticketId !== '') {
    for (const rule of rules) {
      const pattern = rule.ticket?.pattern;
      if (typeof pattern === 'string' && !ticketMatches(pattern, ticketId)) {
        return deny(`Ticket id "${ticketId.slice(0, 64)}" does not match ${pattern}, the ticket pattern of rule ${rule.id}.`, ruleIds);
      }
    }
  }

  const ticketNote = terms.ticketRequired ? ', ticket required' : '';
  let route: Route;
  let summary: string;
  let granted = terms;
  if (breakGlass) {
    route = 'break_glass';
    // A break-glass grant is short by design: it cannot be extended past the break-glass maximum.
    const bg = terms.breakGlassMaxDurationSeconds;
    granted = { ...terms, maxDurationSeconds: bg, maxTotalDurationSeconds: bg, defaultDurationSeconds: Math.min(terms.defaultDurationSeconds, bg) };
    summary = `break-glass, no approval, up to ${formatDuration(bg)}${ticketNote}; raises a critical security finding and needs a post-incident review`;
  } else if (terms.approvalsRequired === 0) {
    route = 'auto_approve';
    summary = `auto-approved, up to ${formatDuration(terms.maxDurationSeconds)}${ticketNote}`;
  } else {
    route = 'approval';
    summary = `${plural(terms.approvalsRequired, 'approval')} from ${terms.approverGroups.join(' or ')}, up to ${formatDuration(terms.maxDurationSeconds)}${ticketNote}`;
  }
  const overlapNote = rules.length > 1 ? ' Several rules match, so the most restrictive terms apply.' : '';
  const reason = `${label}: ${summary}.${overlapNote}`;
  return { allowed: true, route, terms: granted, reason };
}

// ---------------------------------------------------------------------------------------------
// Approvers

export function evaluateApprover(input: ApproverEvaluationInput): ApproverDecision {
  const approverId = typeof input?.approverUserId === 'string' ? input.approverUserId : '';
  const requesterId = typeof input?.requesterUserId === 'string' ? input.requesterUserId : '';
  // Checked first and unconditionally: being in an approver group never makes self-approval count.
  if (approverId !== '' && approverId === requesterId) {
    return { allowed: false, code: 'SELF_APPROVAL', reason: 'You cannot approve your own request: another approver has to.' };
  }
  if (approverId === '') return { allowed: false, code: 'NOT_APPROVER', reason: 'The approver could not be identified.' };
  const terms = input.terms;
  const ruleIds = strings(terms?.ruleIds);
  const required = strings(terms?.approverGroups);
  const label = ruleIds.length > 0 ? ` (${rulesLabel(ruleIds).toLowerCase()})` : '';
  if (required.length === 0) return { allowed: false, code: 'NOT_APPROVER', reason: `This request has no approver groups${label}.` };
  const mine = new Set(strings(input.approverGroups));
  const matched = required.find((g) => mine.has(g));
  if (matched === undefined) {
    return { allowed: false, code: 'NOT_APPROVER', reason: `Only members of ${required.join(' or ')} can approve this request${label}.` };
  }
  return { allowed: true, reason: `Approver is a member of ${matched}, an approver group${label}.` };
}

// ---------------------------------------------------------------------------------------------
// Eligibility and account search

/** What these groups may request, with the same merged terms evaluateRequest would apply. */
export function eligibleEntries(policy: Policy, requesterGroups: readonly string[]): EligibilityEntry[] {
  const groups = strings(requesterGroups);
  const rules = asArray(policy.rules).filter((r) => ruleAdmitsGroups(r, groups));
  if (rules.length === 0) return [];
  const permissionSetOrder = asArray(policy.permissionSets).map((p) => p.name);
  const entries: EligibilityEntry[] = [];
  for (const account of asArray(policy.accounts)) {
    const covering = rules.filter((r) => ruleCoversAccount(r, account));
    if (covering.length === 0) continue;
    const permissionSets: EligibilityEntry['permissionSets'] = [];
    for (const name of permissionSetOrder) {
      const forSet = covering.filter((r) => ruleIndex(r).permissionSets.has(name));
      if (forSet.length === 0) continue;
      const merged = mergeRules(forSet);
      if (!merged.ok) continue; // unapprovable: evaluateRequest would refuse it too
      const t = merged.terms;
      permissionSets.push({
        name,
        maxDurationSeconds: t.maxDurationSeconds,
        defaultDurationSeconds: t.defaultDurationSeconds,
        approvalsRequired: t.approvalsRequired,
        ticketRequired: t.ticketRequired,
        breakGlassAllowed: t.breakGlassAllowed,
      });
    }
    if (permissionSets.length > 0) entries.push({ account, permissionSets });
  }
  return entries;
}

const WORD_SEPARATORS = new Set([' ', '-', '_', '.', '/', ':'].map((c) => c.charCodeAt(0)));

export const ACCOUNT_SEARCH_DEFAULT_LIMIT = 20;
export const ACCOUNT_SEARCH_MAX_LIMIT = 50;

export interface AccountSearchIndex<T extends { account: AccountEntry }> {
  readonly size: number;
  /**
   * Case-insensitive: exact id or name first, then id prefix, name prefix, a word of the name
   * starting with the query, anywhere in the name. Ties in name order. Empty query: first by name.
   */
  search(query: string, limit?: number): T[];
}

/** Precomputes lowercased keys once so that a query over 10,000 accounts is one cheap scan. */
export function buildAccountSearchIndex<T extends { account: AccountEntry }>(items: readonly T[]): AccountSearchIndex<T> {
  const sorted = [...items].sort((a, b) => (a.account.name < b.account.name ? -1 : a.account.name > b.account.name ? 1 : a.account.id < b.account.id ? -1 : 1));
  const ids = sorted.map((e) => e.account.id);
  const names = sorted.map((e) => e.account.name.toLowerCase());
  return {
    size: sorted.length,
    search(query: string, limit = ACCOUNT_SEARCH_DEFAULT_LIMIT): T[] {
      const max = Math.max(1, Math.min(ACCOUNT_SEARCH_MAX_LIMIT, Math.floor(Number.isFinite(limit) ? limit : ACCOUNT_SEARCH_DEFAULT_LIMIT)));
      const q = (typeof query === 'string' ? query : '').trim().toLowerCase().slice(0, 64);
      if (q === '') return sorted.slice(0, max);
      const buckets: T[][] = [[], [], [], [], []];
      for (let i = 0; i < sorted.length; i++) {
        const id = ids[i]!;
        const name = names[i]!;
        let rank: number;
        if (id === q || name === q) rank = 0;
        else if (id.startsWith(q)) rank = 1;
        else if (name.startsWith(q)) rank = 2;
        else {
          const at = name.indexOf(q);
          if (at < 0) continue;
          rank = WORD_SEPARATORS.has(name.charCodeAt(at - 1)) ? 3 : 4;
        }
        // Once the best buckets alone fill the page, lower ranks cannot reach it.
        const bucket = buckets[rank]!;
        if (bucket.length < max) bucket.push(sorted[i]!);
      }
      const out: T[] = [];
      for (const bucket of buckets) {
        for (const item of bucket) {
          if (out.length >= max) return out;
          out.push(item);
        }
      }
      return out;
    },
  };
}

const eligibilityCache = new WeakMap<Policy, Map<string, AccountSearchIndex<EligibilityEntry>>>();
const ELIGIBILITY_CACHE_MAX = 256;

/** The eligible entries of these groups as a search index, memoized per (policy, groups). */
export function eligibilitySearchIndex(policy: Policy, requesterGroups: readonly string[]): AccountSearchIndex<EligibilityEntry> {
  const key = [...new Set(strings(requesterGroups))].sort().join('\u0000');
  let perPolicy = eligibilityCache.get(policy);
  if (!perPolicy) {
    perPolicy = new Map();
    eligibilityCache.set(policy, perPolicy);
  }
  let index = perPolicy.get(key);
  if (!index) {
    index = buildAccountSearchIndex(eligibleEntries(policy, requesterGroups));
    if (perPolicy.size >= ELIGIBILITY_CACHE_MAX) perPolicy.delete(perPolicy.keys().next().value!);
    perPolicy.set(key, index);
  }
  return index;
}

/** Accounts these groups may request, matching `query` by name or id prefix (case-insensitive). */
export function searchEligibleAccounts(policy: Policy, requesterGroups: readonly string[], query: string, limit?: number): EligibilityEntry[] {
  return eligibilitySearchIndex(policy, requesterGroups).search(query, limit);
}
