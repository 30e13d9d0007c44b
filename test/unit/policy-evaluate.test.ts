/**
 * Policy evaluation as requesters and approvers meet it: who may request what, on which terms,
 * and why not (the reason is shown on the card, so it is asserted too). Overlapping rules merge
 * MOST RESTRICTIVE WINS; self-approval never counts.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import type { EffectiveTerms } from '../../core/model';
import { parsePolicyText } from '../../infra/policy-file';
import {
  buildAccountSearchIndex,
  eligibleEntries,
  evaluateApprover,
  evaluateRequest,
  mergeRules,
  searchEligibleAccounts,
} from '../../core/policy/evaluate';
import type { AccountEntry, EligibilityEntry, Policy, PolicyDecision, PolicyRule, RequestEvaluationInput } from '../../core/policy/types';

const ENG_ID = 'a1b2c3d4-0000-4000-8000-000000000001';
const POLICY_YAML = `
version: 1
accounts:
  - { id: "111111111111", name: dev, ouPath: [r-ab12, ou-ab12-11111111] }
  - { id: "222222222222", name: prod, ouPath: [r-ab12, ou-ab12-22222222] }
  - { id: "333333333333", name: nested-sandbox, ouPath: [r-ab12, ou-ab12-11111111, ou-ab12-33333333] }
  - { id: "444444444444", name: shared-services, ouPath: [r-ab12, ou-ab12-44444444] }
  - { id: "555555555555", name: team-standalone }
permissionSets:
  - { name: ReadOnly, arn: "arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111" }
  - { name: PowerUser, arn: "arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-2222222222222222" }
  - { name: Admin, arn: "arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-3333333333333333" }
  - { name: Billing, arn: "arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-4444444444444444" }
rules:
  - id: ro-all
    eligibleGroups: [Engineering, SRE]
    accounts: { ous: [r-ab12] }
    permissionSets: [ReadOnly]
    defaultDuration: PT1H
    maxDuration: PT8H
    approvers: { required: 0 }
  - id: nonprod-pu
    eligibleGroups: [Engineering]
    accounts: { ous: [ou-ab12-11111111] }
    permissionSets: [PowerUser]
    defaultDuration: PT2H
    maxDuration: PT4H
    approvers: { groups: [AWS-Approvers], required: 1 }
  - id: prod-pu
    eligibleGroups: [Engineering, SRE]
    accounts: { ids: ["222222222222"] }
    permissionSets: [PowerUser]
    maxDuration: PT2H
    maxTotalDuration: PT4H
    approvers: { groups: [AWS-Approvers], required: 1 }
    approvalTimeout: PT30M
    ticket: { required: true, pattern: "CHG-[0-9]{4}" }
  - id: prod-pu-sre
    eligibleGroups: [SRE]
    accounts: { ids: ["222222222222"] }
    permissionSets: [PowerUser]
    maxDuration: PT1H
    approvers: { groups: [AWS-Approvers, Security], required: 2 }
    approvalTimeout: PT15M
  - id: prod-admin
    eligibleGroups: [SRE]
    accounts: { ids: ["222222222222"] }
    permissionSets: [Admin]
    maxDuration: PT2H
    approvers: { groups: [Security, AWS-Approvers], required: 2 }
    ticket: { required: true, pattern: "(INC|CHG)-[0-9]{4}" }
    breakGlass: { allowed: true, maxDuration: PT30M }
  - id: nonprod-admin
    eligibleGroups: ["${ENG_ID}"]
    accounts: { ous: [ou-ab12-11111111] }
    permissionSets: [Admin]
    maxDuration: PT1H
    approvers: { groups: [AWS-Approvers], required: 1 }
    breakGlass: { allowed: true, maxDuration: PT45M }
  - id: nested-admin
    eligibleGroups: [Engineering]
    accounts: { ous: [ou-ab12-33333333] }
    permissionSets: [Admin]
    maxDuration: PT30M
    approvers: { groups: [Security], required: 1 }
  - id: team-ro
    eligibleGroups: [Engineering]
    accounts: { ids: ["555555555555"] }
    permissionSets: [ReadOnly]
    maxDuration: PT2H
    approvers: { required: 0 }
  - id: team-ro-ticket
    eligibleGroups: [SRE]
    accounts: { ids: ["555555555555"] }
    permissionSets: [ReadOnly]
    maxDuration: PT1H
    approvers: { required: 0 }
    ticket: { required: true }
  - id: shared-bg
    eligibleGroups: [SRE]
    accounts: { ids: ["444444444444"] }
    permissionSets: [Admin]
    maxDuration: PT2H
    approvers: { groups: [AWS-Approvers], required: 1 }
    breakGlass: { allowed: true, maxDuration: PT1H }
  - id: shared-no-bg
    eligibleGroups: [SRE]
    accounts: { ous: [ou-ab12-44444444] }
    permissionSets: [Admin]
    maxDuration: PT2H
    approvers: { groups: [AWS-Approvers], required: 1 }
`;
const policy = parsePolicyText(POLICY_YAML, 'yaml').policy;

const ENG = ['Engineering', ENG_ID];
const ENG_NAME_ONLY = ['Engineering'];
const ENG_ID_ONLY = [ENG_ID];
const SRE = ['SRE'];
const ENG_SRE = ['Engineering', ENG_ID, 'SRE'];
const CONTRACTOR = ['Contractors'];
const H = 3600;
const M = 60;

interface Case {
  name: string;
  groups: readonly string[];
  account: string;
  ps: string;
  duration?: number;
  ticket?: string;
  breakGlass?: boolean;
  allowed: boolean;
  route?: 'approval' | 'auto_approve' | 'break_glass';
  ruleIds?: string[];
  reason: RegExp;
  terms?: Partial<EffectiveTerms>;
}

const CASES: Case[] = [
  // auto-approve, OU matching, nested OU
  { name: 'read-only on dev is auto-approved', groups: ENG, account: '111111111111', ps: 'ReadOnly', allowed: true, route: 'auto_approve', ruleIds: ['ro-all'], reason: /^Rule ro-all: auto-approved, up to 8h\.$/ },
  { name: 'a rule on the root OU covers prod', groups: ENG, account: '222222222222', ps: 'ReadOnly', allowed: true, route: 'auto_approve', ruleIds: ['ro-all'], reason: /auto-approved/ },
  { name: 'a rule on the root OU covers an account in a nested OU', groups: SRE, account: '333333333333', ps: 'ReadOnly', allowed: true, route: 'auto_approve', ruleIds: ['ro-all'], reason: /auto-approved/ },
  { name: 'exactly the maximum duration is allowed', groups: ENG, account: '111111111111', ps: 'ReadOnly', duration: 8 * H, allowed: true, route: 'auto_approve', reason: /up to 8h/ },
  { name: 'one minute over the maximum is denied', groups: ENG, account: '111111111111', ps: 'ReadOnly', duration: 8 * H + M, allowed: false, ruleIds: ['ro-all'], reason: /^Rule ro-all: ReadOnly on dev \(111111111111\) may last at most 8h; you asked for 8h 1m\.$/ },
  { name: 'a ticket given where none is needed does no harm', groups: ENG, account: '111111111111', ps: 'ReadOnly', ticket: 'ANYTHING-1', allowed: true, route: 'auto_approve', reason: /auto-approved/ },
  { name: 'default duration of the matched rule', groups: ENG, account: '111111111111', ps: 'ReadOnly', allowed: true, reason: /ro-all/, terms: { defaultDurationSeconds: H, maxDurationSeconds: 8 * H, maxTotalDurationSeconds: 8 * H, approvalsRequired: 0, approverGroups: [] } },

  // not eligible, unknown things
  { name: 'contractors are in no rule', groups: CONTRACTOR, account: '111111111111', ps: 'ReadOnly', allowed: false, ruleIds: [], reason: /^No rule lets members of your groups request ReadOnly on dev \(111111111111\)\.$/ },
  { name: 'a user in no group gets nothing', groups: [], account: '111111111111', ps: 'ReadOnly', allowed: false, reason: /No rule lets members of your groups/ },
  { name: 'group names are case-sensitive', groups: ['engineering'], account: '111111111111', ps: 'ReadOnly', allowed: false, reason: /No rule lets/ },
  { name: 'an account outside the policy', groups: ENG, account: '999999999999', ps: 'ReadOnly', allowed: false, ruleIds: [], reason: /^Account 999999999999 is not managed by the access policy\.$/ },
  { name: 'an account id with stray whitespace is not silently trimmed', groups: ENG, account: ' 111111111111', ps: 'ReadOnly', allowed: false, reason: /is not managed/ },
  { name: 'a permission set outside the policy', groups: ENG, account: '111111111111', ps: 'SuperAdmin', allowed: false, ruleIds: [], reason: /^Permission set SuperAdmin is not offered by the access policy\.$/ },
  { name: 'a permission set in the policy that no rule grants', groups: ENG_SRE, account: '111111111111', ps: 'Billing', allowed: false, reason: /No rule lets members of your groups request Billing on dev/ },
  { name: 'an OU rule does not reach a sibling OU', groups: ENG, account: '444444444444', ps: 'PowerUser', allowed: false, reason: /No rule lets .* PowerUser on shared-services \(444444444444\)/ },
  { name: 'an account with no OU path is reached only by id', groups: ENG, account: '555555555555', ps: 'ReadOnly', allowed: true, route: 'auto_approve', ruleIds: ['team-ro'], reason: /Rule team-ro: auto-approved, up to 2h/ },
  { name: 'an SRE-only rule does not admit engineers', groups: ENG, account: '222222222222', ps: 'Admin', allowed: false, reason: /No rule lets members of your groups request Admin on prod \(222222222222\)/ },

  // approval
  { name: 'power user on dev needs one approval', groups: ENG, account: '111111111111', ps: 'PowerUser', allowed: true, route: 'approval', ruleIds: ['nonprod-pu'], reason: /^Rule nonprod-pu: 1 approval from AWS-Approvers, up to 4h\.$/, terms: { approvalsRequired: 1, approverGroups: ['AWS-Approvers'], approvalTimeoutSeconds: H, defaultDurationSeconds: 2 * H } },
  { name: 'a rule on a parent OU covers a nested OU account', groups: ENG, account: '333333333333', ps: 'PowerUser', allowed: true, route: 'approval', ruleIds: ['nonprod-pu'], reason: /nonprod-pu/ },
  { name: 'power user on dev for longer than 4h is denied', groups: ENG, account: '111111111111', ps: 'PowerUser', duration: 5 * H, allowed: false, reason: /Rule nonprod-pu: PowerUser on dev \(111111111111\) may last at most 4h; you asked for 5h/ },
  { name: 'a too long request is denied even when a ticket is also missing (duration first)', groups: ENG, account: '222222222222', ps: 'PowerUser', duration: 3 * H, allowed: false, reason: /at most 2h/ },

  // tickets
  { name: 'prod power user without a ticket is denied', groups: ENG, account: '222222222222', ps: 'PowerUser', allowed: false, ruleIds: ['prod-pu'], reason: /^Rule prod-pu requires a ticket id matching CHG-\[0-9\]\{4\} for PowerUser on prod \(222222222222\)\.$/ },
  { name: 'prod power user with a matching ticket', groups: ENG, account: '222222222222', ps: 'PowerUser', ticket: 'CHG-1234', allowed: true, route: 'approval', ruleIds: ['prod-pu'], reason: /^Rule prod-pu: 1 approval from AWS-Approvers, up to 2h, ticket required\.$/, terms: { ticketRequired: true, ticketPatterns: ['CHG-[0-9]{4}'], approvalTimeoutSeconds: 30 * M, maxTotalDurationSeconds: 4 * H } },
  { name: 'ticket patterns are case-sensitive', groups: ENG, account: '222222222222', ps: 'PowerUser', ticket: 'chg-1234', allowed: false, reason: /Ticket id "chg-1234" does not match CHG-\[0-9\]\{4\}, the ticket pattern of rule prod-pu/ },
  { name: 'a ticket pattern must match the whole ticket id', groups: ENG, account: '222222222222', ps: 'PowerUser', ticket: 'xCHG-1234y', allowed: false, reason: /does not match/ },
  { name: 'a blank ticket counts as missing', groups: ENG, account: '222222222222', ps: 'PowerUser', ticket: '   ', allowed: false, reason: /requires a ticket id/ },
  { name: 'a ticket from the wrong system is denied', groups: SRE, account: '222222222222', ps: 'PowerUser', ticket: 'INC-1234', allowed: false, reason: /does not match CHG-/ },
  { name: 'a ticket without a pattern accepts any id', groups: ENG_SRE, account: '555555555555', ps: 'ReadOnly', ticket: 'ANY-1', duration: 30 * M, allowed: true, route: 'auto_approve', reason: /Rules team-ro, team-ro-ticket: auto-approved, up to 1h, ticket required\. Several rules match/ },

  // overlaps: most restrictive wins
  { name: 'two rules: shortest max, most approvals, shared approver group, shortest timeout', groups: SRE, account: '222222222222', ps: 'PowerUser', ticket: 'CHG-1234', allowed: true, route: 'approval', ruleIds: ['prod-pu', 'prod-pu-sre'], reason: /^Rules prod-pu, prod-pu-sre: 2 approvals from AWS-Approvers, up to 1h, ticket required\. Several rules match, so the most restrictive terms apply\.$/, terms: { maxDurationSeconds: H, approvalsRequired: 2, approverGroups: ['AWS-Approvers'], approvalTimeoutSeconds: 15 * M, ticketRequired: true, maxTotalDurationSeconds: H } },
  { name: 'overlap: the shorter maximum applies', groups: SRE, account: '222222222222', ps: 'PowerUser', ticket: 'CHG-1234', duration: 2 * H, allowed: false, ruleIds: ['prod-pu', 'prod-pu-sre'], reason: /^Rules prod-pu, prod-pu-sre: PowerUser on prod \(222222222222\) may last at most 1h/ },
  { name: 'overlap: a ticket is required when any rule requires one', groups: SRE, account: '222222222222', ps: 'PowerUser', allowed: false, ruleIds: ['prod-pu', 'prod-pu-sre'], reason: /^Rule prod-pu requires a ticket id/ },
  { name: 'overlap of auto-approve rules: the ticket rule still applies', groups: ENG_SRE, account: '555555555555', ps: 'ReadOnly', allowed: false, reason: /Rule team-ro-ticket requires a ticket id for ReadOnly/ },
  { name: 'overlap: the lower maximum of two auto-approve rules', groups: ENG_SRE, account: '555555555555', ps: 'ReadOnly', ticket: 'T-1', duration: 90 * M, allowed: false, reason: /may last at most 1h/ },
  { name: 'overlap with no common approver group is refused', groups: ENG, account: '333333333333', ps: 'Admin', allowed: false, ruleIds: ['nonprod-admin', 'nested-admin'], reason: /^Rules nonprod-admin, nested-admin need approvers from groups with no group in common \(nonprod-admin: AWS-Approvers; nested-admin: Security\)/ },
  { name: 'overlap: break-glass needs every matching rule to allow it', groups: SRE, account: '444444444444', ps: 'Admin', breakGlass: true, duration: 30 * M, allowed: false, reason: /^Break-glass is not allowed for Admin on shared-services \(444444444444\): Rule shared-no-bg does not allow it/ },
  { name: 'overlap without break-glass requested goes to approval', groups: SRE, account: '444444444444', ps: 'Admin', allowed: true, route: 'approval', ruleIds: ['shared-bg', 'shared-no-bg'], reason: /1 approval from AWS-Approvers/, terms: { breakGlassAllowed: false, breakGlassMaxDurationSeconds: 0 } },

  // N-of-M
  { name: 'prod admin needs two approvals from either group', groups: SRE, account: '222222222222', ps: 'Admin', ticket: 'INC-0001', allowed: true, route: 'approval', ruleIds: ['prod-admin'], reason: /^Rule prod-admin: 2 approvals from Security or AWS-Approvers, up to 2h, ticket required\.$/, terms: { approvalsRequired: 2, approverGroups: ['Security', 'AWS-Approvers'], breakGlassAllowed: true, breakGlassMaxDurationSeconds: 30 * M } },

  // group matched by id vs name
  { name: 'a rule naming a group id admits a member listed by id', groups: ENG_ID_ONLY, account: '111111111111', ps: 'Admin', allowed: true, route: 'approval', ruleIds: ['nonprod-admin'], reason: /Rule nonprod-admin: 1 approval from AWS-Approvers, up to 1h/ },
  { name: 'a rule naming a group id does not admit the same group by name only', groups: ENG_NAME_ONLY, account: '111111111111', ps: 'Admin', allowed: false, reason: /No rule lets/ },
  { name: 'a rule naming a group name admits a member listed by name and id', groups: ENG, account: '111111111111', ps: 'PowerUser', allowed: true, ruleIds: ['nonprod-pu'], reason: /nonprod-pu/ },

  // break-glass
  { name: 'break-glass on prod admin is allowed with a ticket', groups: SRE, account: '222222222222', ps: 'Admin', ticket: 'INC-0001', breakGlass: true, duration: 20 * M, allowed: true, route: 'break_glass', ruleIds: ['prod-admin'], reason: /^Rule prod-admin: break-glass, no approval, up to 30m, ticket required; raises a critical security finding and needs a post-incident review\.$/, terms: { maxDurationSeconds: 30 * M, maxTotalDurationSeconds: 30 * M } },
  { name: 'break-glass is bounded by its own maximum, not the rule maximum', groups: SRE, account: '222222222222', ps: 'Admin', ticket: 'INC-0001', breakGlass: true, duration: H, allowed: false, reason: /^Rule prod-admin: break-glass Admin on prod \(222222222222\) may last at most 30m; you asked for 1h\.$/ },
  { name: 'break-glass one minute over its maximum', groups: SRE, account: '222222222222', ps: 'Admin', ticket: 'INC-0001', breakGlass: true, duration: 31 * M, allowed: false, reason: /at most 30m/ },
  { name: 'break-glass still needs the ticket the rule requires', groups: SRE, account: '222222222222', ps: 'Admin', breakGlass: true, duration: 10 * M, allowed: false, reason: /requires a ticket id/ },
  { name: 'break-glass where the rule does not allow it', groups: ENG, account: '111111111111', ps: 'ReadOnly', breakGlass: true, allowed: false, ruleIds: ['ro-all'], reason: /^Break-glass is not allowed for ReadOnly on dev \(111111111111\): Rule ro-all does not allow it\. Request it with approval instead\.$/ },
  { name: 'break-glass on non-prod admin via group id', groups: ENG_ID_ONLY, account: '111111111111', ps: 'Admin', breakGlass: true, duration: 30 * M, allowed: true, route: 'break_glass', reason: /up to 45m/ },
  { name: 'break-glass on non-prod admin over 45m', groups: ENG_ID_ONLY, account: '111111111111', ps: 'Admin', breakGlass: true, duration: 50 * M, allowed: false, reason: /break-glass Admin on dev \(111111111111\) may last at most 45m/ },
  { name: 'break-glass on an overlap with no common approver is still refused', groups: ENG, account: '333333333333', ps: 'Admin', breakGlass: true, allowed: false, reason: /no group in common/ },

  // bad durations
  { name: 'zero duration', groups: ENG, account: '111111111111', ps: 'ReadOnly', duration: 0, allowed: false, reason: /^The duration must be at least 1 minute\.$/ },
  { name: 'negative duration', groups: ENG, account: '111111111111', ps: 'ReadOnly', duration: -3600, allowed: false, reason: /at least 1 minute/ },
  { name: 'under a minute', groups: ENG, account: '111111111111', ps: 'ReadOnly', duration: 59, allowed: false, reason: /at least 1 minute/ },
  { name: 'NaN duration', groups: ENG, account: '111111111111', ps: 'ReadOnly', duration: Number.NaN, allowed: false, reason: /at least 1 minute/ },
  { name: 'infinite duration', groups: ENG, account: '111111111111', ps: 'ReadOnly', duration: Number.POSITIVE_INFINITY, allowed: false, reason: /at least 1 minute/ },
];

function input(c: Pick<Case, 'groups' | 'account' | 'ps' | 'duration' | 'ticket' | 'breakGlass'>): RequestEvaluationInput {
  return {
    requesterUserId: 'user-alice',
    requesterGroups: c.groups,
    accountId: c.account,
    permissionSetName: c.ps,
    durationSeconds: c.duration ?? 15 * M,
    ...(c.ticket !== undefined ? { ticketId: c.ticket } : {}),
    breakGlass: c.breakGlass ?? false,
  };
}

describe('policy: evaluateRequest (decision table)', () => {
  it('has at least 45 cases', () => assert.ok(CASES.length >= 45, `${CASES.length} cases`));

  for (const c of CASES) {
    it(c.name, () => {
      const d = evaluateRequest(policy, input(c));
      assert.equal(d.allowed, c.allowed, `decision: ${d.reason}`);
      assert.match(d.reason, c.reason);
      if (d.allowed) {
        if (c.route) assert.equal(d.route, c.route);
        if (c.ruleIds) assert.deepEqual(d.terms.ruleIds, c.ruleIds);
        for (const [k, v] of Object.entries(c.terms ?? {})) assert.deepEqual(d.terms[k as keyof EffectiveTerms], v, `terms.${k}`);
      } else if (c.ruleIds) {
        assert.deepEqual(d.ruleIds, c.ruleIds);
      }
    });
  }
});

describe('policy: evaluateApprover', () => {
  const prodPu = evaluateRequest(policy, input({ groups: SRE, account: '222222222222', ps: 'PowerUser', ticket: 'CHG-1234' }));
  const devAdmin = evaluateRequest(policy, input({ groups: ENG_ID_ONLY, account: '111111111111', ps: 'Admin' }));
  const auto = evaluateRequest(policy, input({ groups: ENG, account: '111111111111', ps: 'ReadOnly' }));
  const termsOf = (d: PolicyDecision): EffectiveTerms => {
    assert.ok(d.allowed, d.reason);
    return d.terms;
  };

  const APPROVER_CASES: Array<{ name: string; approver: string; groups: string[]; terms: () => EffectiveTerms; allowed: boolean; code?: string; reason: RegExp }> = [
    { name: 'an approver in the group approves', approver: 'user-carol', groups: ['AWS-Approvers'], terms: () => termsOf(prodPu), allowed: true, reason: /member of AWS-Approvers, an approver group \(rules prod-pu, prod-pu-sre\)/ },
    { name: 'the requester never approves their own request, even as an approver', approver: 'user-alice', groups: ['AWS-Approvers', 'Security'], terms: () => termsOf(prodPu), allowed: false, code: 'SELF_APPROVAL', reason: /cannot approve your own request/ },
    { name: 'self-approval is refused even for auto-approve terms', approver: 'user-alice', groups: [], terms: () => termsOf(auto), allowed: false, code: 'SELF_APPROVAL', reason: /own request/ },
    { name: 'an approver outside the approver groups', approver: 'user-bob', groups: ['Engineering'], terms: () => termsOf(prodPu), allowed: false, code: 'NOT_APPROVER', reason: /^Only members of AWS-Approvers can approve this request/ },
    { name: 'a group dropped by the intersection of overlapping rules does not approve', approver: 'user-sec', groups: ['Security'], terms: () => termsOf(prodPu), allowed: false, code: 'NOT_APPROVER', reason: /Only members of AWS-Approvers/ },
    { name: 'an approver with no groups', approver: 'user-dan', groups: [], terms: () => termsOf(devAdmin), allowed: false, code: 'NOT_APPROVER', reason: /Only members of AWS-Approvers/ },
    { name: 'nobody approves a request whose terms need no approvers', approver: 'user-carol', groups: ['AWS-Approvers'], terms: () => termsOf(auto), allowed: false, code: 'NOT_APPROVER', reason: /no approver groups/ },
    { name: 'an approver matched by group id', approver: 'user-carol', groups: ['g-approvers-id'], terms: () => ({ ...termsOf(devAdmin), approverGroups: ['g-approvers-id'] }), allowed: true, reason: /g-approvers-id/ },
    { name: 'an unidentified approver', approver: '', groups: ['AWS-Approvers'], terms: () => termsOf(devAdmin), allowed: false, code: 'NOT_APPROVER', reason: /could not be identified/ },
  ];
  for (const c of APPROVER_CASES) {
    it(c.name, () => {
      const d = evaluateApprover({ approverUserId: c.approver, approverGroups: c.groups, requesterUserId: 'user-alice', terms: c.terms() });
      assert.equal(d.allowed, c.allowed, d.reason);
      assert.match(d.reason, c.reason);
      if (!d.allowed) assert.equal(d.code, c.code);
    });
  }

  it('N-of-M: two different approvers are needed on prod admin, and the requester is never one of them', () => {
    const d = evaluateRequest(policy, input({ groups: ['SRE', 'Security'], account: '222222222222', ps: 'Admin', ticket: 'INC-1111' }));
    assert.ok(d.allowed);
    assert.equal(d.terms.approvalsRequired, 2);
    const votes = ['user-alice', 'user-carol', 'user-sec'].filter(
      (u) => evaluateApprover({ approverUserId: u, approverGroups: ['Security'], requesterUserId: 'user-alice', terms: d.terms }).allowed,
    );
    assert.deepEqual(votes, ['user-carol', 'user-sec']);
  });
});

describe('policy: eligibleEntries', () => {
  it('offers engineers what evaluateRequest would allow, with the same merged terms', () => {
    const entries = eligibleEntries(policy, ENG);
    const byAccount = new Map(entries.map((e) => [e.account.id, e]));
    assert.deepEqual([...byAccount.keys()], ['111111111111', '222222222222', '333333333333', '444444444444', '555555555555']);
    const names = (id: string) => byAccount.get(id)!.permissionSets.map((p) => p.name);
    assert.deepEqual(names('111111111111'), ['ReadOnly', 'PowerUser', 'Admin']);
    assert.deepEqual(names('222222222222'), ['ReadOnly', 'PowerUser']);
    // Admin on the nested account would need approvers no group has in common: not offered.
    assert.deepEqual(names('333333333333'), ['ReadOnly', 'PowerUser']);
    const prodPu = byAccount.get('222222222222')!.permissionSets.find((p) => p.name === 'PowerUser')!;
    assert.deepEqual(prodPu, { name: 'PowerUser', maxDurationSeconds: 2 * H, defaultDurationSeconds: H, approvalsRequired: 1, ticketRequired: true, breakGlassAllowed: false });
  });

  it('merges overlapping rules like evaluateRequest does (SRE on prod)', () => {
    const pu = eligibleEntries(policy, SRE)
      .find((e) => e.account.id === '222222222222')!
      .permissionSets.find((p) => p.name === 'PowerUser')!;
    assert.equal(pu.maxDurationSeconds, H);
    assert.equal(pu.approvalsRequired, 2);
    const admin = eligibleEntries(policy, SRE).find((e) => e.account.id === '222222222222')!.permissionSets.find((p) => p.name === 'Admin')!;
    assert.equal(admin.breakGlassAllowed, true);
  });

  it('offers contractors nothing', () => {
    assert.deepEqual(eligibleEntries(policy, CONTRACTOR), []);
    assert.deepEqual(eligibleEntries(policy, []), []);
  });

  it('property: every offered (account, permission set) is allowed by evaluateRequest at its default duration', () => {
    for (const groups of [ENG, SRE, ENG_SRE, ENG_ID_ONLY, ENG_NAME_ONLY]) {
      for (const e of eligibleEntries(policy, groups)) {
        for (const p of e.permissionSets) {
          const d = evaluateRequest(policy, { ...input({ groups, account: e.account.id, ps: p.name, duration: p.defaultDurationSeconds }), ticketId: p.ticketRequired ? 'CHG-1234' : undefined });
          if (!d.allowed) assert.match(d.reason, /ticket/, `${e.account.id}/${p.name} for ${groups.join(',')}: ${d.reason}`);
          else assert.equal(d.terms.maxDurationSeconds, p.maxDurationSeconds);
        }
      }
    }
  });
});

describe('policy: account search', () => {
  function bigPolicy(n: number): Policy {
    const accounts: AccountEntry[] = Array.from({ length: n }, (_, i) => ({
      id: String(100000000000 + i * 7919),
      name: `${['payments', 'search', 'ledger', 'identity', 'media'][i % 5]}-${['dev', 'staging', 'prod'][i % 3]}-${i}`,
      ouPath: ['r-ab12', i % 2 ? 'ou-ab12-11111111' : 'ou-ab12-22222222'],
    }));
    const rule: PolicyRule = {
      id: 'ro',
      description: '',
      eligibleGroups: ['Engineering'],
      accounts: { ids: [], ous: ['r-ab12'] },
      permissionSets: ['ReadOnly'],
      maxDurationSeconds: H,
      defaultDurationSeconds: H,
      maxTotalDurationSeconds: H,
      approverGroups: [],
      approvalsRequired: 0,
      ticket: { required: false },
      breakGlass: { allowed: false, maxDurationSeconds: 0 },
      approvalTimeoutSeconds: H,
    };
    return { version: 1, accounts, permissionSets: [{ name: 'ReadOnly', arn: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111' }], rules: [rule] };
  }

  it('finds by id prefix and by name, case-insensitively, best matches first', () => {
    const index = buildAccountSearchIndex(eligibleEntries(policy, ENG_SRE));
    assert.deepEqual(index.search('2222').map((e) => e.account.id), ['222222222222']);
    assert.deepEqual(index.search('PROD').map((e) => e.account.name), ['prod']);
    assert.deepEqual(index.search('sandbox').map((e) => e.account.name), ['nested-sandbox']);
    assert.deepEqual(index.search('  De').map((e) => e.account.name), ['dev']);
    assert.deepEqual(index.search('zzz'), []);
    assert.equal(index.search('').length, 5, 'an empty query lists the first accounts by name');
    assert.equal(index.search('', 2).length, 2);
  });

  it('ranks an exact id, then id prefix, then name prefix, then a word in the name', () => {
    const mk = (id: string, name: string): EligibilityEntry => ({ account: { id, name, ouPath: [] }, permissionSets: [] });
    const index = buildAccountSearchIndex([mk('111111111111', 'zeta-prod'), mk('222222222222', 'prod-core'), mk('333333333333', 'reproduce'), mk('444444444444', 'prod')]);
    assert.deepEqual(index.search('prod').map((e) => e.account.name), ['prod', 'prod-core', 'zeta-prod', 'reproduce']);
  });

  it('never returns more than the limit (max 50), whatever is asked', () => {
    const index = buildAccountSearchIndex(eligibleEntries(bigPolicy(500), ['Engineering']));
    assert.equal(index.search('prod', 5).length, 5);
    assert.equal(index.search('prod', 10_000).length, 50);
    assert.equal(index.search('prod', Number.NaN).length, 20);
    assert.equal(index.search('prod', -1).length, 1);
  });

  it('searchEligibleAccounts shows only eligible accounts', () => {
    assert.deepEqual(searchEligibleAccounts(policy, CONTRACTOR, ''), []);
    assert.deepEqual(searchEligibleAccounts(policy, ENG, '5555').map((e) => e.account.id), ['555555555555']);
  });

  // The speed budget (typeahead_10k_p99_ms <= 10) lives in `npm run bench` (bench/typeahead.ts); a
  // test must not depend on wall-clock speed, so this one checks only what the search returns.
  it('searches 10,000 accounts: every account eligible, results bounded, matching and ranked', () => {
    const big = bigPolicy(10_000);
    const entries = eligibleEntries(big, ['Engineering']);
    assert.equal(entries.length, 10_000);
    const index = buildAccountSearchIndex(entries);
    for (const q of ['pay', 'prod', '1000', 'LEDGER-STAGING', 'x', '']) {
      const found = index.search(q, 20);
      assert.ok(found.length <= 20, q);
      for (const e of found) assert.ok(e.account.id.startsWith(q) || e.account.name.toLowerCase().includes(q.toLowerCase()), `${q} -> ${e.account.name}`);
    }
    assert.equal(index.search('pay', 20).length, 20);
    assert.equal(index.search('identity-prod-9998', 20)[0]?.account.name, 'identity-prod-9998');
    assert.deepEqual(index.search(String(100000000000 + 9999 * 7919), 20).map((e) => e.account.id), [String(100000000000 + 9999 * 7919)]);
    assert.deepEqual(index.search('nothing-matches-this', 20), []);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const ACCOUNTS: AccountEntry[] = [
  { id: '111111111111', name: 'a', ouPath: ['r-ab12', 'ou-ab12-11111111'] },
  { id: '222222222222', name: 'b', ouPath: ['r-ab12', 'ou-ab12-11111111', 'ou-ab12-33333333'] },
  { id: '333333333333', name: 'c', ouPath: ['r-ab12', 'ou-ab12-22222222'] },
];
const GROUPS = ['G1', 'G2', 'G3', 'gid-4'];
const APPROVER_GROUPS = ['A1', 'A2', 'A3'];
const PERMISSION_SETS = ['P1', 'P2'];
const PATTERNS = ['T-[0-9]+', 'T-1[0-9]*', '[A-Z]-[0-9]'];

const minutes = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((m) => m * 60);
const ruleArb = (id: fc.Arbitrary<string>): fc.Arbitrary<PolicyRule> =>
  fc
    .record({
      id,
      eligibleGroups: fc.subarray(GROUPS, { minLength: 1 }),
      ids: fc.subarray(ACCOUNTS.map((a) => a.id)),
      ous: fc.subarray(['r-ab12', 'ou-ab12-11111111', 'ou-ab12-22222222', 'ou-ab12-33333333']),
      permissionSets: fc.subarray(PERMISSION_SETS, { minLength: 1 }),
      max: minutes(1, 600),
      defaultFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      extraTotal: minutes(0, 600),
      approvalsRequired: fc.integer({ min: 0, max: 3 }),
      approverGroups: fc.subarray(APPROVER_GROUPS, { minLength: 1 }),
      ticketRequired: fc.boolean(),
      pattern: fc.option(fc.constantFrom(...PATTERNS), { nil: undefined }),
      breakGlass: fc.boolean(),
      bgFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      timeout: minutes(1, 120),
    })
    .map((r) => ({
      id: r.id,
      description: '',
      eligibleGroups: r.eligibleGroups,
      accounts: { ids: r.ids, ous: r.ous },
      permissionSets: r.permissionSets,
      maxDurationSeconds: r.max,
      defaultDurationSeconds: Math.max(60, Math.floor((r.max * r.defaultFraction) / 60) * 60),
      maxTotalDurationSeconds: r.max + r.extraTotal,
      approverGroups: r.approvalsRequired > 0 ? r.approverGroups : [],
      approvalsRequired: r.approvalsRequired,
      ticket: r.pattern ? { required: r.ticketRequired, pattern: r.pattern } : { required: r.ticketRequired },
      breakGlass: r.breakGlass ? { allowed: true, maxDurationSeconds: Math.max(60, Math.floor((r.max * r.bgFraction) / 60) * 60) } : { allowed: false, maxDurationSeconds: 0 },
      approvalTimeoutSeconds: r.timeout,
    }));

const policyArb = fc
  .array(ruleArb(fc.constant('x')), { minLength: 0, maxLength: 6 })
  .map((rules): Policy => ({
    version: 1,
    accounts: ACCOUNTS,
    permissionSets: PERMISSION_SETS.map((name, i) => ({ name, arn: `arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-${String(i).repeat(16)}` })),
    rules: rules.map((r, i) => ({ ...r, id: `r${i}` })),
  }));

const requestArb = fc.record({
  requesterUserId: fc.constantFrom('u1', 'u2'),
  requesterGroups: fc.subarray(GROUPS),
  accountId: fc.constantFrom(...ACCOUNTS.map((a) => a.id), '999999999999'),
  permissionSetName: fc.constantFrom(...PERMISSION_SETS, 'P3'),
  durationSeconds: fc.oneof(minutes(0, 700), fc.integer({ min: -10, max: 100_000 })),
  ticketId: fc.option(fc.constantFrom('T-1', 'T-12', 'X-1', 'T-', ' '), { nil: undefined }),
  breakGlass: fc.boolean(),
});

/** Requests that policies often allow, so that monotonicity is checked on allowed decisions too. */
const likelyAllowedRequestArb = fc.record({
  requesterUserId: fc.constant('u1'),
  requesterGroups: fc.subarray(GROUPS, { minLength: 2 }),
  accountId: fc.constantFrom(...ACCOUNTS.map((a) => a.id)),
  permissionSetName: fc.constantFrom(...PERMISSION_SETS),
  durationSeconds: minutes(1, 5),
  ticketId: fc.constantFrom('T-1', 'T-12'),
  breakGlass: fc.constantFrom(false, false, false, true),
});

/** True when `after` is at least as restrictive as `before`. */
function atLeastAsRestrictive(before: PolicyDecision, after: PolicyDecision): string | undefined {
  if (!before.allowed) return after.allowed ? `was denied (${before.reason}), now allowed (${after.reason})` : undefined;
  if (!after.allowed) return undefined;
  const b = before.terms;
  const a = after.terms;
  if (a.maxDurationSeconds > b.maxDurationSeconds) return 'longer max duration';
  if (a.maxTotalDurationSeconds > b.maxTotalDurationSeconds) return 'longer max total';
  if (a.defaultDurationSeconds > b.defaultDurationSeconds) return 'longer default';
  if (a.approvalsRequired < b.approvalsRequired) return 'fewer approvals';
  if (a.approvalTimeoutSeconds > b.approvalTimeoutSeconds) return 'longer approval timeout';
  if (b.ticketRequired && !a.ticketRequired) return 'ticket no longer required';
  if (!b.ticketPatterns.every((p) => a.ticketPatterns.includes(p))) return 'ticket pattern dropped';
  if (a.breakGlassAllowed && !b.breakGlassAllowed) return 'break-glass newly allowed';
  if (a.breakGlassMaxDurationSeconds > b.breakGlassMaxDurationSeconds) return 'longer break-glass';
  if (b.approvalsRequired > 0 && !a.approverGroups.every((g) => b.approverGroups.includes(g))) return 'new approver group';
  if (before.route === 'approval' && after.route !== 'approval') return `route ${before.route} -> ${after.route}`;
  return undefined;
}

describe('policy: evaluation properties', () => {
  it('evaluateRequest never throws, whatever the input', () => {
    fc.assert(
      fc.property(policyArb, fc.oneof(requestArb as fc.Arbitrary<unknown>, fc.anything(), fc.record({ requesterGroups: fc.anything(), accountId: fc.anything(), permissionSetName: fc.anything(), durationSeconds: fc.anything(), ticketId: fc.anything(), breakGlass: fc.anything() })), (p, req) => {
        const d = evaluateRequest(p, req as RequestEvaluationInput);
        assert.equal(typeof d.reason, 'string');
        assert.ok(d.reason.length > 0);
      }),
      { numRuns: 500 },
    );
  });

  it('evaluateApprover never throws and never lets the requester approve', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.string()), fc.anything(), (user, groups, terms) => {
        const d = evaluateApprover({ approverUserId: user, approverGroups: groups, requesterUserId: user, terms: terms as EffectiveTerms });
        assert.equal(d.allowed, false);
      }),
      { numRuns: 300 },
    );
  });

  it('most restrictive wins is monotonic: adding a rule that matches never loosens a decision', () => {
    let compared = 0;
    let allowedBefore = 0;
    fc.assert(
      fc.property(policyArb, fc.oneof(requestArb, likelyAllowedRequestArb), ruleArb(fc.constant('added')), (p, req, extra) => {
        const before = evaluateRequest(p, req);
        const added: PolicyRule = {
          ...extra,
          // Make the added rule match the request.
          eligibleGroups: [...extra.eligibleGroups, ...req.requesterGroups.slice(0, 1)],
          accounts: { ids: [...extra.accounts.ids, req.accountId], ous: extra.accounts.ous },
          permissionSets: [...extra.permissionSets, req.permissionSetName],
        };
        const after = evaluateRequest({ ...p, rules: [...p.rules, added] }, req);
        const matchedBefore = before.allowed ? before.terms.ruleIds.length > 0 : before.ruleIds.length > 0;
        if (!matchedBefore) return; // nothing covered the request before: a new rule may grant it
        compared++;
        if (before.allowed) allowedBefore++;
        const problem = atLeastAsRestrictive(before, after);
        assert.equal(problem, undefined, `${problem}\nbefore: ${before.reason}\nafter: ${after.reason}`);
      }),
      { numRuns: 1000 },
    );
    // The property must not hold vacuously: enough runs compare two real decisions.
    assert.ok(compared >= 100 && allowedBefore >= 20, `compared ${compared}, allowed before ${allowedBefore}`);
  });

  it('mergeRules of one rule is that rule', () => {
    fc.assert(
      fc.property(ruleArb(fc.constant('only')), (rule) => {
        const merged = mergeRules([rule]);
        assert.ok(merged.ok);
        assert.equal(merged.terms.maxDurationSeconds, rule.maxDurationSeconds);
        assert.equal(merged.terms.approvalsRequired, rule.approvalsRequired);
        assert.deepEqual(merged.terms.approverGroups, rule.approverGroups);
        assert.equal(merged.terms.breakGlassAllowed, rule.breakGlass.allowed);
      }),
    );
  });
});
