/**
 * Least-privilege statements for the product's roles. Every action is spelled out (no `*` in any
 * action) and scoped to the narrowest resources the service authorization reference allows.
 */
import type { Stack} from 'aws-cdk-lib';
import { Arn, ArnFormat, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { IConstruct } from 'constructs';
import type { Policy } from '../../core/policy/types';

/**
 * Past this many accounts the per-account ARNs would crowd the 10 KB inline-policy limit of a
 * role, so the statements fall back to `account/*` (still bound to the instance and the managed
 * permission sets, which IAM checks on the same request).
 */
export const MAX_ACCOUNT_ARNS = 100;

export interface IdentityCenterScope {
  instanceArn: string;
  policy: Policy;
}

function ssoArn(stack: Stack, resource: string): string {
  return `arn:${stack.partition}:sso:::${resource}`;
}

export function identityCenterResources(stack: Stack, scope: IdentityCenterScope): { instance: string; permissionSets: string[]; accounts: string[]; accountWildcard: boolean } {
  const accountIds = [...new Set(scope.policy.accounts.map((a) => a.id))].sort();
  const accountWildcard = accountIds.length > MAX_ACCOUNT_ARNS;
  return {
    instance: scope.instanceArn,
    permissionSets: [...new Set(scope.policy.permissionSets.map((p) => p.arn))].sort(),
    accounts: accountWildcard ? [ssoArn(stack, 'account/*')] : accountIds.map((id) => ssoArn(stack, `account/${id}`)),
    accountWildcard,
  };
}

/**
 * sso-admin: create/delete an assignment needs the instance, the permission set and the account
 * (arn:aws:sso:::account/<id>) on one request; the status calls are authorized on the instance.
 */
export function identityCenterStatements(stack: Stack, scope: IdentityCenterScope, opts: { write: boolean }): iam.PolicyStatement[] {
  const r = identityCenterResources(stack, scope);
  const statements = [
    new iam.PolicyStatement({
      sid: 'IdentityCenterListAssignments',
      actions: ['sso:ListAccountAssignments'],
      resources: [r.instance, ...r.permissionSets, ...r.accounts],
    }),
  ];
  if (opts.write) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'IdentityCenterWriteAssignments',
        actions: ['sso:CreateAccountAssignment', 'sso:DeleteAccountAssignment'],
        resources: [r.instance, ...r.permissionSets, ...r.accounts],
      }),
      new iam.PolicyStatement({
        sid: 'IdentityCenterAssignmentStatus',
        actions: ['sso:DescribeAccountAssignmentCreationStatus', 'sso:DescribeAccountAssignmentDeletionStatus'],
        resources: [r.instance],
      }),
    );
  }
  return statements;
}

/** identitystore: user and group ids are not known at deploy time, so those ARNs end in `/*` (bound to our store by the store ARN on the same request). */
export function identityStoreStatements(stack: Stack, identityStoreId: string): iam.PolicyStatement[] {
  const store = `arn:${stack.partition}:identitystore::${stack.account}:identitystore/${identityStoreId}`;
  const all = (kind: string) => `arn:${stack.partition}:identitystore:::${kind}/*`;
  return [
    new iam.PolicyStatement({
      sid: 'IdentityStoreRead',
      actions: ['identitystore:GetUserId', 'identitystore:DescribeUser', 'identitystore:ListGroupMembershipsForMember', 'identitystore:DescribeGroup'],
      resources: [store, all('user'), all('group'), all('membership')],
    }),
  ];
}

export const IDENTITY_STORE_WILDCARD_REASON =
  'Identity Store users, groups and memberships are looked up by id at run time (GetUserId, ListGroupMembershipsForMember, DescribeGroup); the service authorization reference requires the user/*, group/* and membership/* resource types beside the identity store ARN, which pins the calls to our store.';

export function schedulerStatements(stack: Stack, groupName: string, schedulerRole: iam.IRole): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'ExpirySchedules',
      actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
      resources: [
        Arn.format({ service: 'scheduler', resource: 'schedule', resourceName: `${groupName}/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack),
      ],
    }),
    new iam.PolicyStatement({
      sid: 'PassSchedulerRole',
      actions: ['iam:PassRole'],
      resources: [schedulerRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    }),
  ];
}

export const SCHEDULE_WILDCARD_REASON =
  'One schedule per request, named after the request id, so schedule names are only known at run time; the ARN is pinned to this stack\'s schedule group.';

export function securityHubStatement(stack: Stack): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ImportFindings',
    actions: ['securityhub:BatchImportFindings'],
    // The default product ARN of this account: findings are imported as a custom integration.
    resources: [`arn:${stack.partition}:securityhub:${stack.region}:${stack.account}:product/${stack.account}/default`],
  });
}

/**
 * Resolving the workflow of the product's own findings whose condition is gone (reconcile only):
 * BatchImportFindings cannot change Workflow after creation, BatchUpdateFindings can; its resource
 * is this account's hub.
 */
export function securityHubResolveStatement(stack: Stack): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ResolveOwnFindings',
    actions: ['securityhub:BatchUpdateFindings'],
    resources: [`arn:${stack.partition}:securityhub:${stack.region}:${stack.account}:hub/default`],
  });
}

/**
 * Data-plane use of the tables' customer-managed key. DynamoDB decrypts the table key with the
 * caller's own permissions on reads and writes alike (what CDK's grantWriteData grants, minus the
 * `ReEncrypt*` / `GenerateDataKey*` wildcards).
 */
export function kmsTableKeyStatement(key: kms.IKey): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'TableKey',
    actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:DescribeKey'],
    resources: [key.keyArn],
  });
}

export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
