/**
 * The organization's management account is special for IAM Identity Center:
 * - from a delegated administrator, permission sets provisioned to the management account cannot
 *   be managed (IAM Identity Center User Guide, "Delegated administration");
 * - from the management account itself, Identity Center provisions the AWSReservedSSO_ roles and
 *   the AWSSSO_ SAML provider there with the CALLER's IAM permissions (its service-linked role
 *   policy, AWSSSOServiceRolePolicy, excludes the management account with
 *   `aws:PrincipalOrgMasterAccountId`).
 * So a policy that targets it is refused unless the operator opted in; the opt-in also grants
 * those IAM permissions (infra/constructs/permissions.ts, managementAccountProvisioningStatements).
 */
import type { FieldIssue } from '../errors';
import { ruleCoversAccount } from './evaluate';
import type { Policy } from './types';

export interface ManagementAccountSettings {
  managementAccountId: string;
  /** The operator's explicit opt-in (context key `allowManagementAccount`). */
  allowed: boolean;
}

/** The rule name operators see in errors and docs. */
export const MANAGEMENT_ACCOUNT_RULE = 'management-account';

/** The rules that cover the management account (by id or by an OU on its path). */
export function rulesTargetingManagementAccount(policy: Policy, managementAccountId: string): string[] {
  const account = policy.accounts.find((a) => a.id === managementAccountId);
  if (!account) return [];
  return policy.rules.filter((rule) => ruleCoversAccount(rule, account)).map((rule) => rule.id);
}

/**
 * Issues (empty when fine) for a policy that lists the management account without the opt-in.
 * Listing it is enough: the accounts list is what every rule may target, by id or by OU.
 */
export function managementAccountIssues(policy: Policy, settings: ManagementAccountSettings): FieldIssue[] {
  if (settings.allowed) return [];
  const index = policy.accounts.findIndex((a) => a.id === settings.managementAccountId);
  if (index < 0) return [];
  const account = policy.accounts[index]!;
  const rules = rulesTargetingManagementAccount(policy, settings.managementAccountId);
  const targeting = rules.length > 0 ? ` It is targeted by ${rules.map((id) => `rule "${id}"`).join(', ')}.` : '';
  return [
    {
      path: `accounts[${index}] (id ${JSON.stringify(account.id)})`,
      message:
        `rule ${MANAGEMENT_ACCOUNT_RULE}: account ${account.id} (${account.name}) is the organization's management account (context key managementAccountId) and the policy may not grant access to it.` +
        `${targeting} Remove it from the policy, or deploy in the management account with -c allowManagementAccount=true (see infra/README.md, "Where to deploy").`,
    },
  ];
}
