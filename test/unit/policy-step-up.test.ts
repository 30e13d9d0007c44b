/** The policy's step-up keys (docs/POLICY.md `stepUp`): validation with errors that name rule and field, and merging. */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicyError } from '../../core/errors';
import { evaluateRequest } from '../../core/policy/evaluate';
import { validatePolicy } from '../../core/policy/validate';
import { parsePolicyText } from '../../infra/policy-file';

function doc(stepUp: unknown, over: Record<string, unknown> = {}) {
  return {
    version: 1,
    accounts: [{ id: '222222222222', name: 'prod' }],
    permissionSets: [{ name: 'Admin', arn: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-2222222222222222' }],
    rules: [
      {
        id: 'prod-admin',
        eligibleGroups: ['SRE'],
        accounts: { ids: ['222222222222'] },
        permissionSets: ['Admin'],
        maxDuration: 'PT2H',
        approvers: { groups: ['AWS-Approvers'], required: 2 },
        breakGlass: { allowed: true, maxDuration: 'PT1H' },
        ...(stepUp === undefined ? {} : { stepUp }),
        ...over,
      },
    ],
  };
}

function issues(d: unknown): string[] {
  try {
    validatePolicy(d);
  } catch (e) {
    if (e instanceof PolicyError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  throw new Error('expected the policy to be refused');
}

describe('policy: stepUp keys', () => {
  it('normalizes amr: mfa and an authentication context, with the default and a given token age', () => {
    const p = validatePolicy(doc({ approve: { amr: 'mfa' }, breakGlass: { acrs: 'c1', maxTokenAgeMinutes: 5 } }));
    assert.deepEqual(p.rules[0]!.stepUp, { approve: { acrs: [], amr: ['mfa'], maxTokenAgeSeconds: 600 }, breakGlass: { acrs: ['c1'], amr: [], maxTokenAgeSeconds: 300 } });
  });

  it('a rule without stepUp normalizes exactly as before (no key)', () => {
    assert.equal('stepUp' in validatePolicy(doc(undefined)).rules[0]!, false);
  });

  it('refuses both or neither of acrs and amr, other amr values, context ids outside c1..c99 and silly ages, naming rule and field', () => {
    assert.deepEqual(issues(doc({ approve: { acrs: 'c1', amr: 'mfa' } })), ['rules[0] (id "prod-admin").stepUp.approve: must name exactly one of acrs (an authentication context such as c1) or amr: mfa']);
    assert.deepEqual(issues(doc({ approve: { maxTokenAgeMinutes: 5 } })), ['rules[0] (id "prod-admin").stepUp.approve: must name exactly one of acrs (an authentication context such as c1) or amr: mfa']);
    assert.match(issues(doc({ approve: { amr: 'pwd' } }))[0]!, /stepUp\.approve\.amr: must be mfa/);
    for (const bad of ['c0', 'c100', 'C1', 'urn:c1', 'c01']) assert.match(issues(doc({ approve: { acrs: bad } }))[0]!, /stepUp\.approve\.acrs: must be a Conditional Access authentication context id, c1 to c99/, bad);
    assert.match(issues(doc({ approve: { amr: 'mfa', maxTokenAgeMinutes: 0 } }))[0]!, /maxTokenAgeMinutes: must be at least 1/);
    assert.match(issues(doc({ approve: { amr: 'mfa', maxTokenAgeMinutes: 1441 } }))[0]!, /maxTokenAgeMinutes: must be at most 1440/);
    assert.match(issues(doc({ approve: { amr: 'mfa', maxTokenAgeMinutes: 2.5 } }))[0]!, /must be a whole number/);
  });

  it('refuses unknown keys with a hint, and step-up where it can never apply', () => {
    assert.match(issues(doc({ aprove: { amr: 'mfa' } }))[0]!, /stepUp\.aprove: unknown field: did you mean approve\?/);
    assert.match(issues(doc({ approve: { amr: 'mfa', maxTokenAge: 5 } }))[0]!, /unknown field: did you mean maxTokenAgeMinutes\?/);
    assert.match(issues(doc({ approve: { amr: 'mfa' } }, { approvers: { required: 0 } }))[0]!, /stepUp\.approve: is set but approvers\.required is 0/);
    assert.match(issues(doc({ breakGlass: { amr: 'mfa' } }, { breakGlass: { allowed: false } }))[0]!, /stepUp\.breakGlass: is set but breakGlass\.allowed is false/);
  });

  it('merging: the most restrictive wins (values add up, the shortest age applies), and the terms carry it', () => {
    const d = doc({ approve: { amr: 'mfa', maxTokenAgeMinutes: 30 } });
    d.rules.push({ ...d.rules[0]!, id: 'prod-admin-ctx', stepUp: { approve: { acrs: 'c2', maxTokenAgeMinutes: 5 } } } as (typeof d.rules)[number]);
    const decision = evaluateRequest(validatePolicy(d), { requesterUserId: 'u', requesterGroups: ['SRE'], accountId: '222222222222', permissionSetName: 'Admin', durationSeconds: 3600, breakGlass: false });
    assert.equal(decision.allowed, true);
    assert.deepEqual(decision.allowed && decision.terms.stepUp, { approve: { acrs: ['c2'], amr: ['mfa'], maxTokenAgeSeconds: 300 } });
  });

  it('the sandbox demo policy asks every Admin approver for MFA within 10 minutes', () => {
    const text = readFileSync(join(__dirname, '..', '..', 'sandbox', 'demo-policy.yaml'), 'utf8');
    const policy = parsePolicyText(text, 'yaml').policy;
    const admin = policy.rules.filter((r) => r.permissionSets.includes('Admin'));
    assert.ok(admin.length >= 1);
    for (const r of admin) assert.deepEqual(r.stepUp?.approve, { acrs: [], amr: ['mfa'], maxTokenAgeSeconds: 600 }, r.id);
    for (const r of policy.rules.filter((x) => !x.permissionSets.includes('Admin'))) assert.equal(r.stepUp, undefined, r.id);
  });
});
