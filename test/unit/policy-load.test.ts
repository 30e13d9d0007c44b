/**
 * Loading the policy file: what a security team writes is what is enforced, and every mistake is
 * reported with the rule (index and id) and the field, before anything is deployed.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { PolicyError } from '../../core/errors';
import { formatDuration, parseIsoDuration, parsePolicyDuration, toIsoDuration } from '../../core/policy/duration';
import { validatePolicy } from '../../core/policy/validate';
import { parsePolicyText, policyFormatOf, POLICY_MAX_BYTES, readPolicyDocument } from '../../infra/policy-file';
import { evaluateRequest, eligibleEntries } from '../../core/policy/evaluate';
import type { Policy } from '../../core/policy/types';
import { DEMO_PERMISSION_SETS } from '../../sandbox/seed';

const ROOT = join(__dirname, '..', '..');

type Doc = {
  version: unknown;
  accounts: Array<Record<string, unknown>>;
  permissionSets: Array<Record<string, unknown>>;
  rules: Array<Record<string, unknown>>;
  [key: string]: unknown;
};

function baseDoc(): Doc {
  return {
    version: 1,
    accounts: [
      { id: '111111111111', name: 'dev', ouPath: ['r-ab12', 'ou-ab12-11111111'] },
      { id: '222222222222', name: 'prod', ouPath: ['r-ab12', 'ou-ab12-22222222'] },
    ],
    permissionSets: [
      { name: 'ReadOnly', arn: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111' },
      { name: 'Admin', arn: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-2222222222222222' },
    ],
    rules: [
      {
        id: 'ro-all',
        eligibleGroups: ['Engineering'],
        accounts: { ous: ['r-ab12'] },
        permissionSets: ['ReadOnly'],
        maxDuration: 'PT8H',
        approvers: { required: 0 },
      },
      {
        id: 'prod-admin',
        description: 'Admin on prod',
        eligibleGroups: ['SRE'],
        accounts: { ids: ['222222222222'] },
        permissionSets: ['Admin'],
        defaultDuration: 'PT30M',
        maxDuration: 'PT2H',
        maxTotalDuration: 'PT4H',
        approvers: { groups: ['AWS-Approvers'], required: 2 },
        approvalTimeout: 'PT15M',
        ticket: { required: true, pattern: 'INC-[0-9]+' },
        breakGlass: { allowed: true, maxDuration: 'PT1H' },
      },
    ],
  };
}

const yamlOf = (doc: unknown) => toYaml(doc);

/** What synth, preflight and the sandbox run: the edge reads the text, core validates the document. */
const parsePolicy = (text: string, opts: { format: 'yaml' | 'json' }): Policy => parsePolicyText(text, opts.format).policy;

function policyError(text: string, format: 'yaml' | 'json' = 'yaml'): PolicyError {
  try {
    parsePolicy(text, { format });
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw new Error(`expected PolicyError, got ${(e as Error).name}: ${(e as Error).message}`, { cause: e });
  }
  throw new Error('expected the policy to be rejected');
}

describe('policy: parsePolicy (valid files)', () => {
  it('normalizes ISO durations to seconds and friendly blocks to the policy model', () => {
    const p = parsePolicy(yamlOf(baseDoc()), { format: 'yaml' });
    const admin = p.rules[1]!;
    assert.deepEqual(admin, {
      id: 'prod-admin',
      description: 'Admin on prod',
      eligibleGroups: ['SRE'],
      accounts: { ids: ['222222222222'], ous: [] },
      permissionSets: ['Admin'],
      maxDurationSeconds: 7200,
      defaultDurationSeconds: 1800,
      maxTotalDurationSeconds: 14_400,
      approverGroups: ['AWS-Approvers'],
      approvalsRequired: 2,
      ticket: { required: true, pattern: 'INC-[0-9]+' },
      breakGlass: { allowed: true, maxDurationSeconds: 3600 },
      approvalTimeoutSeconds: 900,
      endSessionsAtExpiry: true,
    });
  });

  it('endSessionsAtExpiry: on by default for a rule granting an admin permission set, off otherwise, and explicit wins', () => {
    const doc = baseDoc();
    const p = parsePolicy(yamlOf(doc), { format: 'yaml' });
    assert.equal(p.rules[0]!.endSessionsAtExpiry, false, 'ReadOnly: off by default');
    assert.equal(p.rules[1]!.endSessionsAtExpiry, true, 'Admin: on by default');
    (doc.rules[0] as Record<string, unknown>).endSessionsAtExpiry = true;
    (doc.rules[1] as Record<string, unknown>).endSessionsAtExpiry = false;
    const q = parsePolicy(yamlOf(doc), { format: 'yaml' });
    assert.equal(q.rules[0]!.endSessionsAtExpiry, true);
    assert.equal(q.rules[1]!.endSessionsAtExpiry, false);
  });

  it('endSessionsAtExpiry must be a boolean, named with the rule', () => {
    const doc = baseDoc();
    (doc.rules[1] as Record<string, unknown>).endSessionsAtExpiry = 'yes';
    const err = policyError(yamlOf(doc));
    assert.ok(err.issues.some((i) => i.path === 'rules[1] (id "prod-admin").endSessionsAtExpiry' && /true or false/.test(i.message)), err.message);
  });

  it('applies the documented defaults', () => {
    const ro = parsePolicy(yamlOf(baseDoc()), { format: 'yaml' }).rules[0]!;
    assert.equal(ro.defaultDurationSeconds, 3600, 'default duration: 1h, or the max if shorter');
    assert.equal(ro.maxTotalDurationSeconds, 8 * 3600, 'max total: the max duration (no extension beyond it)');
    assert.equal(ro.approvalTimeoutSeconds, 3600);
    assert.deepEqual(ro.ticket, { required: false });
    assert.deepEqual(ro.breakGlass, { allowed: false, maxDurationSeconds: 0 });
    assert.equal(ro.description, '');
    const doc = baseDoc();
    doc.rules[0]!.maxDuration = 'PT20M';
    doc.rules[1]!.breakGlass = { allowed: true };
    delete doc.rules[1]!.defaultDuration;
    doc.rules[1]!.maxDuration = 'PT40M';
    const p = parsePolicy(yamlOf(doc), { format: 'yaml' });
    assert.equal(p.rules[0]!.defaultDurationSeconds, 1200, 'default is capped by a shorter max');
    assert.equal(p.rules[1]!.breakGlass.maxDurationSeconds, 2400, 'break-glass max defaults to min(1h, max)');
  });

  it('reads JSON and YAML the same way', () => {
    assert.deepEqual(parsePolicy(JSON.stringify(baseDoc()), { format: 'json' }), parsePolicy(yamlOf(baseDoc()), { format: 'yaml' }));
  });

  it('accepts an unquoted 12-digit account id from YAML', () => {
    const text = yamlOf(baseDoc()).replace(/'111111111111'|"111111111111"/g, '111111111111');
    assert.match(text, /id: 111111111111/);
    assert.equal(parsePolicy(text, { format: 'yaml' }).accounts[0]!.id, '111111111111');
  });

  it('both shipped policies parse: infra/policy.example.yaml and sandbox/demo-policy.yaml', () => {
    for (const file of ['infra/policy.example.yaml', 'sandbox/demo-policy.yaml']) {
      const p = parsePolicy(readFileSync(join(ROOT, file), 'utf8'), { format: 'yaml' });
      assert.ok(p.rules.length >= 3, file);
      assert.ok(p.accounts.every((a) => ['111111111111', '222222222222'].includes(a.id)), `${file} uses placeholder accounts only`);
    }
  });

  it('the sandbox demo policy gives the demo people the documented access', () => {
    const p = parsePolicy(readFileSync(join(ROOT, 'sandbox/demo-policy.yaml'), 'utf8'), { format: 'yaml' });
    const req = (groups: string[], accountId: string, ps: string, minutes: number, extra: { ticketId?: string; breakGlass?: boolean } = {}) =>
      evaluateRequest(p, { requesterUserId: 'u', requesterGroups: groups, accountId, permissionSetName: ps, durationSeconds: minutes * 60, breakGlass: false, ...extra });
    const ro = req(['Engineers'], '222222222222', 'ReadOnly', 5);
    assert.ok(ro.allowed && ro.route === 'auto_approve', ro.reason);
    assert.equal(req(['Engineers'], '111111111111', 'ReadOnly', 6).allowed, false, 'read-only is short');
    const pu = req(['Engineers'], '111111111111', 'PowerUser', 10);
    assert.ok(pu.allowed && pu.route === 'approval' && pu.terms.approvalsRequired === 1 && pu.terms.approverGroups.includes('AWS-Approvers'), pu.reason);
    assert.ok(pu.allowed && pu.terms.maxTotalDurationSeconds === 30 * 60 && pu.terms.approvalTimeoutSeconds === 15 * 60);
    const admin = req(['Engineers'], '111111111111', 'Admin', 2, { ticketId: 'INC-42' });
    assert.ok(admin.allowed && admin.terms.approvalsRequired === 2, admin.reason);
    const bg = req(['Engineers'], '222222222222', 'Admin', 5, { ticketId: 'INC-42', breakGlass: true });
    assert.ok(bg.allowed && bg.route === 'break_glass', bg.reason);
    assert.equal(req(['Contractors'], '111111111111', 'ReadOnly', 1).allowed, false);
    assert.deepEqual(eligibleEntries(p, ['Contractors']), []);
    assert.deepEqual(eligibleEntries(p, ['AWS-Approvers']), [], 'approvers alone cannot request');
  });

  it('the sandbox demo policy uses the ARNs of the sandbox Identity Center stand-in', () => {
    const p = parsePolicy(readFileSync(join(ROOT, 'sandbox/demo-policy.yaml'), 'utf8'), { format: 'yaml' });
    for (const ps of p.permissionSets) assert.equal(ps.arn, DEMO_PERMISSION_SETS.find((d) => d.name === ps.name)?.arn, ps.name);
  });
});

interface BadCase {
  name: string;
  edit?: (doc: Doc) => void;
  text?: string;
  format?: 'yaml' | 'json';
  path: RegExp;
  message: RegExp;
}

const rule = (doc: Doc, i: number) => doc.rules[i]!;
const BAD: BadCase[] = [
  { name: 'a duration that is not ISO 8601', edit: (d) => (rule(d, 1).maxDuration = '1h'), path: /^rules\[1\] \(id "prod-admin"\)\.maxDuration$/, message: /must be an ISO 8601 duration like PT1H/ },
  { name: 'a duration in seconds as a number', edit: (d) => (rule(d, 1).maxDuration = 3600), path: /^rules\[1\] \(id "prod-admin"\)\.maxDuration$/, message: /ISO 8601/ },
  { name: 'a zero duration', edit: (d) => (rule(d, 0).maxDuration = 'PT0M'), path: /^rules\[0\] \(id "ro-all"\)\.maxDuration$/, message: /at least 1 minute/ },
  { name: 'a duration over a week', edit: (d) => (rule(d, 0).maxDuration = 'P8D'), path: /rules\[0\] \(id "ro-all"\)\.maxDuration/, message: /at most 7 days/ },
  { name: 'months in a duration', edit: (d) => (rule(d, 0).maxDuration = 'P1M'), path: /rules\[0\].*\.maxDuration/, message: /years and months have no fixed length/ },
  { name: 'a fractional duration', edit: (d) => (rule(d, 0).maxDuration = 'PT1.5H'), path: /rules\[0\].*\.maxDuration/, message: /whole numbers/ },
  { name: 'a duration that is not whole minutes', edit: (d) => (rule(d, 0).maxDuration = 'PT90S'), path: /rules\[0\].*\.maxDuration/, message: /whole minutes/ },
  { name: 'an approval timeout over a week', edit: (d) => (rule(d, 1).approvalTimeout = 'P30D'), path: /^rules\[1\] \(id "prod-admin"\)\.approvalTimeout$/, message: /at most 7 days/ },
  { name: 'a default longer than the max', edit: (d) => (rule(d, 1).defaultDuration = 'PT3H'), path: /^rules\[1\] \(id "prod-admin"\)\.defaultDuration$/, message: /must not be longer than maxDuration \(PT3H > PT2H\)/ },
  { name: 'a max total shorter than the max', edit: (d) => (rule(d, 1).maxTotalDuration = 'PT1H'), path: /^rules\[1\] \(id "prod-admin"\)\.maxTotalDuration$/, message: /must be at least maxDuration/ },
  { name: 'a break-glass max longer than the max', edit: (d) => (rule(d, 1).breakGlass = { allowed: true, maxDuration: 'PT3H' }), path: /^rules\[1\] \(id "prod-admin"\)\.breakGlass\.maxDuration$/, message: /must not be longer than maxDuration/ },
  { name: 'a break-glass max on a rule that does not allow break-glass', edit: (d) => (rule(d, 1).breakGlass = { allowed: false, maxDuration: 'PT1H' }), path: /breakGlass\.maxDuration$/, message: /breakGlass\.allowed is false/ },
  { name: 'more than 10 approvals', edit: (d) => (rule(d, 1).approvers = { groups: ['A'], required: 11 }), path: /^rules\[1\] \(id "prod-admin"\)\.approvers\.required$/, message: /at most 10/ },
  { name: 'a fractional approval count', edit: (d) => (rule(d, 1).approvers = { groups: ['A'], required: 1.5 }), path: /approvers\.required$/, message: /whole number/ },
  { name: 'a negative approval count', edit: (d) => (rule(d, 1).approvers = { groups: ['A'], required: -1 }), path: /approvers\.required$/, message: /0 \(auto-approve\) or more/ },
  { name: 'approvals without approver groups', edit: (d) => (rule(d, 1).approvers = { groups: [], required: 2 }), path: /^rules\[1\] \(id "prod-admin"\)\.approvers\.groups$/, message: /must name at least one group when approvers\.required is 2/ },
  { name: 'no approvers block at all (auto-approve must be explicit)', edit: (d) => delete rule(d, 0).approvers, path: /^rules\[0\] \(id "ro-all"\)\.approvers$/, message: /is required \(write approvers: \{ required: 0 \}/ },
  { name: 'a duplicate rule id', edit: (d) => (rule(d, 1).id = 'ro-all'), path: /^rules\[1\] \(id "ro-all"\)\.id$/, message: /duplicate rule id "ro-all" \(also rules\[0\]\)/ },
  { name: 'a duplicate account id', edit: (d) => (d.accounts[1]!.id = '111111111111'), path: /^accounts\[1\] \(id "111111111111"\)\.id$/, message: /duplicate account id/ },
  { name: 'a duplicate permission set name', edit: (d) => (d.permissionSets[1]!.name = 'ReadOnly'), path: /^permissionSets\[1\] \(name "ReadOnly"\)\.name$/, message: /duplicate permission set name/ },
  { name: 'a duplicate permission set ARN', edit: (d) => (d.permissionSets[1]!.arn = d.permissionSets[0]!.arn), path: /^permissionSets\[1\] \(name "Admin"\)\.arn$/, message: /duplicate permission set ARN/ },
  { name: 'a rule naming an unknown permission set', edit: (d) => (rule(d, 1).permissionSets = ['Admin', 'Adnim']), path: /^rules\[1\] \(id "prod-admin"\)\.permissionSets\[1\]$/, message: /permission set "Adnim" is not in the permissionSets list \(known: ReadOnly, Admin\)/ },
  { name: 'a rule naming an unknown account', edit: (d) => (rule(d, 1).accounts = { ids: ['333333333333'] }), path: /^rules\[1\] \(id "prod-admin"\)\.accounts\.ids\[0\]$/, message: /account 333333333333 is not in the accounts list/ },
  { name: 'a malformed OU id', edit: (d) => (rule(d, 0).accounts = { ous: ['ou-xyz'] }), path: /^rules\[0\] \(id "ro-all"\)\.accounts\.ous\[0\]$/, message: /organizational unit id like ou-ab12-11111111 or a root id like r-ab12/ },
  { name: 'a rule with no accounts', edit: (d) => (rule(d, 0).accounts = {}), path: /^rules\[0\] \(id "ro-all"\)\.accounts$/, message: /at least one account id \(ids\) or organizational unit \(ous\)/ },
  { name: 'a typo in a rule field', edit: (d) => (rule(d, 1).aproverGroups = ['Oops']), path: /^rules\[1\] \(id "prod-admin"\)\.aproverGroups$/, message: /unknown field: did you mean approvers\.groups\?/ },
  { name: 'an unknown field with no near match lists the allowed fields', edit: (d) => (rule(d, 1).owner = 'me'), path: /\.owner$/, message: /unknown field \(allowed here: id, description, eligibleGroups/ },
  { name: 'a short unknown key is not mistaken for another short key', edit: (d) => (rule(d, 1).ou = ['ou-ab12-11111111']), path: /\.ou$/, message: /did you mean accounts\.ous\?/ },
  { name: 'a field from another format (approverGroups)', edit: (d) => (rule(d, 0).approverGroups = ['X']), path: /^rules\[0\] \(id "ro-all"\)\.approverGroups$/, message: /did you mean approvers\.groups\?/ },
  { name: 'a typo inside approvers', edit: (d) => (rule(d, 1).approvers = { group: ['A'], required: 1 }), path: /\.approvers\.group$/, message: /did you mean groups\?/ },
  { name: 'a typo at the top level', edit: (d) => (d.rule = []), path: /^rule$/, message: /did you mean rules\?/ },
  { name: 'a ticket pattern that does not compile', edit: (d) => (rule(d, 1).ticket = { required: true, pattern: 'INC-(' }), path: /^rules\[1\] \(id "prod-admin"\)\.ticket\.pattern$/, message: /not a valid regular expression/ },
  { name: 'an absurdly long ticket pattern', edit: (d) => (rule(d, 1).ticket = { required: true, pattern: 'A'.repeat(201) }), path: /ticket\.pattern$/, message: /at most 200 characters/ },
  { name: 'a ticket pattern with catastrophic backtracking', edit: (d) => (rule(d, 1).ticket = { required: true, pattern: '(a+)+b' }), path: /ticket\.pattern$/, message: /exponential time/ },
  { name: 'ticket without required', edit: (d) => (rule(d, 1).ticket = { pattern: 'X' }), path: /^rules\[1\] \(id "prod-admin"\)\.ticket\.required$/, message: /is required/ },
  { name: 'an 11-digit account id', edit: (d) => (d.accounts[0]!.id = '11111111111'), path: /^accounts\[0\] \(id "11111111111"\)\.id$/, message: /12-digit AWS account id/ },
  { name: 'an account id that lost its leading zero to YAML', text: yamlOf(baseDoc()).replace(/'111111111111'|"111111111111"/, '011111111111'), path: /^accounts\[0\] \(id "11111111111"\)\.id$/, message: /unquoted numbers lose leading zeros/ },
  { name: 'a malformed permission set ARN', edit: (d) => (d.permissionSets[0]!.arn = 'arn:aws:iam::111111111111:role/Admin'), path: /^permissionSets\[0\] \(name "ReadOnly"\)\.arn$/, message: /must be a permission set ARN/ },
  { name: 'a rule with no eligible groups', edit: (d) => (rule(d, 0).eligibleGroups = []), path: /^rules\[0\] \(id "ro-all"\)\.eligibleGroups$/, message: /at least one group/ },
  { name: 'a rule without eligibleGroups', edit: (d) => delete rule(d, 0).eligibleGroups, path: /^rules\[0\] \(id "ro-all"\)\.eligibleGroups$/, message: /is required/ },
  { name: 'an empty group name', edit: (d) => (rule(d, 0).eligibleGroups = ['  ']), path: /^rules\[0\] \(id "ro-all"\)\.eligibleGroups\[0\]$/, message: /must not be empty/ },
  { name: 'a rule id with spaces', edit: (d) => (rule(d, 0).id = 'read only'), path: /^rules\[0\] \(id "read only"\)\.id$/, message: /letters, digits/ },
  { name: 'a list where a mapping belongs', edit: (d) => (rule(d, 1).approvers = ['AWS-Approvers']), path: /^rules\[1\] \(id "prod-admin"\)\.approvers$/, message: /must be a mapping/ },
  { name: 'a boolean written as text', edit: (d) => (rule(d, 1).breakGlass = { allowed: 'yes' }), path: /breakGlass\.allowed$/, message: /must be true or false/ },
  { name: 'another version', edit: (d) => (d.version = 2), path: /^version$/, message: /must be 1/ },
  { name: 'no rules', edit: (d) => (d.rules = []), path: /^rules$/, message: /at least one rule/ },
  { name: 'a YAML syntax error', text: 'version: 1\naccounts:\n  - id: "1"\n   name: x\n', path: /^\(file\)$/, message: /YAML syntax error at line \d+, column \d+/ },
  { name: 'a duplicate YAML key (the later one must not silently win)', text: 'version: 1\nrules: []\nrules: []\n', path: /^\(file\)$/, message: /YAML syntax error at line 3.*unique/ },
  { name: 'two YAML documents in one file', text: 'version: 1\n---\nversion: 1\n', path: /^\(file\)$/, message: /YAML syntax error/ },
  { name: 'a duplicate JSON key (JSON.parse would keep the later one)', text: '{"version": 1,\n "rules": [{"id": "strict"}],\n "rules": []}', format: 'json', path: /^\(file\)$/, message: /duplicate key "rules" at line 3/ },
  { name: 'a duplicate JSON key in a nested object, escapes included', text: '{"version": 1, "rules": [{"id": "a\\"b", "x": {"id": 1}, "id": "c"}]}', format: 'json', path: /^\(file\)$/, message: /duplicate key "id"/ },
  { name: 'a JSON syntax error', text: '{"version": 1,', format: 'json', path: /^\(file\)$/, message: /JSON syntax error/ },
  { name: 'an empty file', text: '   \n', path: /^\(file\)$/, message: /is empty/ },
  { name: 'a list at the top level', text: '- version: 1\n', path: /^\(policy\)$/, message: /must be a mapping/ },
];

describe('policy: parsePolicy (bad files name the rule and the field)', () => {
  it('has at least 20 bad-file cases', () => assert.ok(BAD.length >= 20, String(BAD.length)));

  for (const c of BAD) {
    it(c.name, () => {
      let text = c.text;
      if (text === undefined) {
        const doc = baseDoc();
        c.edit!(doc);
        text = c.format === 'json' ? JSON.stringify(doc) : yamlOf(doc);
      }
      const err = policyError(text, c.format);
      assert.equal(err.code, 'POLICY_INVALID');
      const issue = err.issues.find((i) => c.path.test(i.path) && c.message.test(i.message));
      assert.ok(issue, `no issue at ${c.path} matching ${c.message}; got:\n${err.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
      assert.match(err.message, /^Invalid policy: /);
      assert.ok(err.message.includes(`${issue.path}: ${issue.message}`), 'the message carries every issue');
    });
  }

  it('reports every problem at once, in every rule', () => {
    const doc = baseDoc();
    rule(doc, 0).maxDuration = '8 hours';
    rule(doc, 1).approvers = { groups: [], required: 1 };
    rule(doc, 1).unknownThing = true;
    const err = policyError(yamlOf(doc));
    assert.ok(err.issues.some((i) => i.path === 'rules[0] (id "ro-all").maxDuration'));
    assert.ok(err.issues.some((i) => i.path === 'rules[1] (id "prod-admin").unknownThing'));
  });

  it('the example in the brief reads as documented', () => {
    const doc = baseDoc();
    rule(doc, 1).maxDuration = 'four hours';
    const err = policyError(yamlOf(doc));
    assert.ok(err.message.includes('rules[1] (id "prod-admin").maxDuration: must be an ISO 8601 duration like PT1H'), err.message);
  });

  it('property: 1,000 random and mutated documents give a Policy or a PolicyError, never another error', () => {
    const valid = baseDoc();
    const paths: Array<Array<string | number>> = [
      [],
      ['version'],
      ['accounts'],
      ['accounts', 0],
      ['accounts', 0, 'id'],
      ['accounts', 0, 'ouPath'],
      ['permissionSets', 1, 'arn'],
      ['rules'],
      ['rules', 0],
      ['rules', 1, 'maxDuration'],
      ['rules', 1, 'approvers'],
      ['rules', 1, 'approvers', 'required'],
      ['rules', 1, 'ticket', 'pattern'],
      ['rules', 1, 'breakGlass'],
      ['rules', 1, 'accounts', 'ids'],
      ['rules', 0, 'eligibleGroups', 0],
    ];
    const mutated = fc.record({ path: fc.constantFrom(...paths), value: fc.anything({ withNullPrototype: true, withObjectString: true }) }).map(({ path, value }) => {
      const doc = structuredClone(valid) as unknown as Record<PropertyKey, unknown>;
      if (path.length === 0) return value;
      let cur: Record<PropertyKey, unknown> = doc;
      for (const seg of path.slice(0, -1)) cur = cur[seg] as Record<PropertyKey, unknown>;
      cur[path[path.length - 1]!] = value;
      return doc;
    });
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('{', '[', '*a', '&a [*a, *a]', '!!binary x', 'version: !!int x', '? [a]\n: 1', 'a: &x 1\nb: *y', '%YAML 1.1\n---\na: 1', '\t- x', 'version: 1\nrules: [{id: a}]'),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
      fc.anything().map((v) => {
        try {
          return toYaml(v) ?? '';
        } catch {
          return 'x';
        }
      }),
      mutated.map((v) => {
        try {
          return toYaml(v) ?? '';
        } catch {
          return 'x';
        }
      }),
      mutated.map((v) => {
        try {
          return JSON.stringify(v) ?? 'null';
        } catch {
          return 'null';
        }
      }),
    );
    let parsed = 0;
    fc.assert(
      fc.property(text, fc.constantFrom('yaml' as const, 'json' as const), (t, format) => {
        try {
          const p: Policy = parsePolicy(t, { format });
          assert.equal(p.version, 1);
          parsed++;
        } catch (e) {
          assert.ok(e instanceof PolicyError, `${(e as Error).name}: ${(e as Error).message}\ninput: ${String(t).slice(0, 200)}`);
          assert.ok(e.issues.length > 0);
        }
      }),
      { numRuns: 1000 },
    );
    assert.ok(parsed >= 0);
  });
});

describe('policy: core validates a document, the edge reads the file', () => {
  it('validatePolicy takes the plain object and gives the Policy the file gives', () => {
    assert.deepEqual(validatePolicy(baseDoc()), parsePolicy(yamlOf(baseDoc()), { format: 'yaml' }));
  });

  it('validatePolicy names the rule and the field, with the messages the file gets', () => {
    const doc = baseDoc();
    rule(doc, 1).maxDuration = 'four hours';
    rule(doc, 0).aproverGroups = ['x'];
    let err: unknown;
    try {
      validatePolicy(doc);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof PolicyError);
    assert.ok(err.message.includes('rules[1] (id "prod-admin").maxDuration: must be an ISO 8601 duration like PT1H'), err.message);
    assert.ok(err.issues.some((i) => i.path === 'rules[0] (id "ro-all").aproverGroups' && /did you mean/.test(i.message)), err.message);
    assert.deepEqual(err.issues, policyError(yamlOf(doc)).issues, 'the same issues from the object and from the file');
  });

  it('validatePolicy does not change the document it checks', () => {
    const doc = baseDoc();
    const before = structuredClone(doc);
    validatePolicy(doc);
    assert.deepEqual(doc, before);
  });

  it('the edge keeps the line and column of a YAML syntax error', () => {
    assert.throws(
      () => readPolicyDocument('version: 1\naccounts:\n  - id: "1"\n   name: x\n', 'yaml'),
      (e: unknown) => e instanceof PolicyError && e.issues[0]!.path === '(file)' && /^YAML syntax error at line 4, column \d+: /.test(e.issues[0]!.message),
    );
  });

  it('the edge refuses oversized text before parsing, and knows the formats by file name', () => {
    assert.throws(() => readPolicyDocument(' '.repeat(POLICY_MAX_BYTES + 1), 'json'), (e: unknown) => e instanceof PolicyError && /larger than/.test(e.message));
    assert.equal(policyFormatOf('p.YML'), 'yaml');
    assert.equal(policyFormatOf('dir.json/p.yaml'), 'yaml');
    assert.equal(policyFormatOf('p.json'), 'json');
    assert.equal(policyFormatOf('p.toml'), undefined);
  });

  it('core/ reads no file format: no YAML parser and no file reads in core', () => {
    const files = execFileSync('git', ['ls-files', 'core'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter((f) => f.endsWith('.ts'));
    assert.ok(files.length > 10);
    for (const f of files) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      assert.doesNotMatch(text, /from ['"](yaml|node:fs|fs)['"]/, f);
    }
  });
});

describe('policy: ISO 8601 durations', () => {
  const GOOD: Array<[string, number]> = [
    ['PT15M', 900],
    ['PT1H', 3600],
    ['PT1H30M', 5400],
    ['P1D', 86_400],
    ['P1DT2H', 93_600],
    ['P1W', 604_800],
    ['PT45S', 45],
    ['pt2m', 120],
  ];
  for (const [text, seconds] of GOOD) it(`${text} is ${seconds}s`, () => assert.deepEqual(parseIsoDuration(text), { ok: true, seconds }));

  for (const text of ['', 'P', 'PT', 'P1DT', '1h', 'PT-1H', 'PT1H1H', 'P1Y', 'PT1.5H', 'PT1M P', 'PT9999999H', 'T1H']) {
    it(`"${text}" is rejected`, () => assert.equal(parseIsoDuration(text).ok, false));
  }

  it('policy bounds: at least a minute, at most a week, whole minutes', () => {
    assert.equal(parsePolicyDuration('PT1M').ok, true);
    assert.equal(parsePolicyDuration('P7D').ok, true);
    assert.equal(parsePolicyDuration('PT59S').ok, false);
    assert.equal(parsePolicyDuration('P7DT1M').ok, false);
    assert.equal(parsePolicyDuration('PT61S').ok, false);
  });

  it('formats for people and round-trips through ISO', () => {
    assert.equal(formatDuration(5400), '1h 30m');
    assert.equal(formatDuration(86_400), '1d');
    assert.equal(formatDuration(0), '0m');
    assert.equal(toIsoDuration(5400), 'PT1H30M');
    assert.equal(toIsoDuration(90_000), 'P1DT1H');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 * 24 * 60 }), (m) => {
        assert.deepEqual(parseIsoDuration(toIsoDuration(m * 60)), { ok: true, seconds: m * 60 });
      }),
    );
  });
});
