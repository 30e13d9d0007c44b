/**
 * The management-account rule of policy validation (core/policy/management-account.ts): a policy
 * may not reach the organization's management account, by id or through an OU, unless the
 * operator opted in.
 */
import { strict as assert } from 'node:assert';
import { validatePolicy } from '../../core/policy/validate';
import { managementAccountIssues, rulesTargetingManagementAccount } from '../../core/policy/management-account';

const PS = 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111';

function policy(rules: Array<Record<string, unknown>>) {
  return validatePolicy(
    {
      version: 1,
      accounts: [
        { id: '111111111111', name: 'management', ouPath: ['r-ab12'] },
        { id: '222222222222', name: 'workloads', ouPath: ['r-ab12', 'ou-ab12-22222222'] },
      ],
      permissionSets: [{ name: 'ReadOnly', arn: PS }],
      rules: rules.map((r) => ({ eligibleGroups: ['Engineering'], permissionSets: ['ReadOnly'], maxDuration: 'PT1H', approvers: { required: 0 }, ...r })),
    },
  );
}

describe('policy: the organization management account', () => {
  it('finds rules that reach it by id and by an OU on its path, and not rules on other OUs', () => {
    const p = policy([
      { id: 'by-id', accounts: { ids: ['111111111111'] } },
      { id: 'by-root', accounts: { ous: ['r-ab12'] } },
      { id: 'workloads-only', accounts: { ous: ['ou-ab12-22222222'] } },
    ]);
    assert.deepEqual(rulesTargetingManagementAccount(p, '111111111111'), ['by-id', 'by-root']);
  });

  it('refuses a policy that lists it, naming the rule, the account entry and the targeting rules', () => {
    const p = policy([{ id: 'by-root', accounts: { ous: ['r-ab12'] } }]);
    const issues = managementAccountIssues(p, { managementAccountId: '111111111111', allowed: false });
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.path, 'accounts[0] (id "111111111111")');
    assert.match(issues[0]!.message, /^rule management-account: account 111111111111 \(management\) is the organization's management account/);
    assert.match(issues[0]!.message, /targeted by rule "by-root"/);
  });

  it('refuses it even when no rule targets it yet (the accounts list is what rules may reach)', () => {
    const p = policy([{ id: 'workloads-only', accounts: { ous: ['ou-ab12-22222222'] } }]);
    const issues = managementAccountIssues(p, { managementAccountId: '111111111111', allowed: false });
    assert.equal(issues.length, 1);
    assert.doesNotMatch(issues[0]!.message, /targeted by/);
  });

  it('accepts it with the explicit opt-in, and any policy that does not list it', () => {
    const p = policy([{ id: 'by-id', accounts: { ids: ['111111111111'] } }]);
    assert.deepEqual(managementAccountIssues(p, { managementAccountId: '111111111111', allowed: true }), []);
    assert.deepEqual(managementAccountIssues(p, { managementAccountId: '999999999999', allowed: false }), []);
  });
});
