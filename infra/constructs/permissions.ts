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
export function identityCenterStatements(stack: Stack, scope: IdentityCenterScope, opts: { write: boolean; sessionCut?: boolean }): iam.PolicyStatement[] {
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
  if (opts.write && opts.sessionCut) statements.push(...sessionCutStatements(r));
  return statements;
}

/**
 * Ending live sessions (core/services/session-cut.ts): the managed permission sets' inline policy
 * and SessionDuration, and their provisioning. Resource types from the Service Authorization
 * Reference (cfn-lint's bundled Policies.json, service `sso`): Get/Put/DeleteInlinePolicy… and
 * DescribePermissionSet take Instance and PermissionSet; ProvisionPermissionSet takes Account,
 * Instance and PermissionSet; DescribePermissionSetProvisioningStatus takes Instance only.
 */
function sessionCutStatements(r: ReturnType<typeof identityCenterResources>): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'IdentityCenterSessionCutInlinePolicy',
      actions: ['sso:GetInlinePolicyForPermissionSet', 'sso:PutInlinePolicyToPermissionSet', 'sso:DeleteInlinePolicyFromPermissionSet', 'sso:DescribePermissionSet'],
      resources: [r.instance, ...r.permissionSets],
    }),
    new iam.PolicyStatement({
      sid: 'IdentityCenterSessionCutProvision',
      actions: ['sso:ProvisionPermissionSet'],
      resources: [r.instance, ...r.permissionSets, ...r.accounts],
    }),
    new iam.PolicyStatement({
      sid: 'IdentityCenterSessionCutProvisionStatus',
      actions: ['sso:DescribePermissionSetProvisioningStatus'],
      resources: [r.instance],
    }),
  ];
}

/**
 * The identity store ARN. Its account is the account that OWNS the Identity Center instance (the
 * organization's management account), not necessarily the stack's: in a delegated-administrator
 * deployment a store ARN with the stack's account matches nothing and every lookup is denied.
 * Identity store ids are globally unique, so without a known owner `*` in the account field
 * still names exactly one store (Service Authorization Reference, identitystore resource type
 * `arn:${Partition}:identitystore::${Account}:identitystore/${IdentityStoreId}`).
 */
export function identityStoreArn(stack: Stack, identityStoreId: string, ownerAccountId: string | undefined): string {
  return `arn:${stack.partition}:identitystore::${ownerAccountId ?? '*'}:identitystore/${identityStoreId}`;
}

/** identitystore: user and group ids are not known at deploy time, so those ARNs end in `/*` (bound to our store by the store ARN on the same request). */
export function identityStoreStatements(stack: Stack, identityStoreId: string, ownerAccountId?: string): iam.PolicyStatement[] {
  const store = identityStoreArn(stack, identityStoreId, ownerAccountId);
  const all = (kind: string) => `arn:${stack.partition}:identitystore:::${kind}/*`;
  return [
    new iam.PolicyStatement({
      sid: 'IdentityStoreRead',
      actions: ['identitystore:GetUserId', 'identitystore:DescribeUser', 'identitystore:ListGroupMembershipsForMember', 'identitystore:DescribeGroup'],
      resources: [store, all('user'), all('group'), all('membership')],
    }),
  ];
}

export const IDENTITY_STORE_ANY_OWNER_REASON =
  'The identity store belongs to the account that owns the Identity Center instance (the management account), which is not the stack account in a delegated-administrator deployment; identity store ids are globally unique, so `*` in the account field still names exactly this store. Pass -c managementAccountId to pin the owner.';

/**
 * A customer managed KMS key on the Identity Center instance: Identity Center and the identity
 * store decrypt with the CALLER's permissions, so every function that calls them needs
 * kms:Decrypt on the key, and only through those services, for this instance and this store
 * (IAM Identity Center User Guide, "Baseline KMS key and IAM policy statements" and "Advanced KMS
 * key policy statements": kms:ViaService sso.*.amazonaws.com / identitystore.*.amazonaws.com,
 * encryption context aws:sso:instance-arn / aws:identitystore:identitystore-arn).
 * The functions only read the directory and create/delete assignments, so Decrypt is all they
 * need (Encrypt and GenerateDataKeyWithoutPlaintext in the baseline are for writing users and
 * groups, DescribeKey for the console).
 */
export function ssoKmsStatements(stack: Stack, opts: { keyArn: string; instanceArn: string; identityStoreId: string; identityStoreOwnerAccountId?: string }): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'IdentityCenterKeyViaSso',
      actions: ['kms:Decrypt'],
      resources: [opts.keyArn],
      conditions: {
        StringLike: { 'kms:ViaService': 'sso.*.amazonaws.com' },
        StringEquals: { 'kms:EncryptionContext:aws:sso:instance-arn': opts.instanceArn },
      },
    }),
    new iam.PolicyStatement({
      sid: 'IdentityCenterKeyViaIdentityStore',
      actions: ['kms:Decrypt'],
      resources: [opts.keyArn],
      conditions: {
        StringLike: {
          'kms:ViaService': 'identitystore.*.amazonaws.com',
          'kms:EncryptionContext:aws:identitystore:identitystore-arn': identityStoreArn(stack, opts.identityStoreId, opts.identityStoreOwnerAccountId),
        },
      },
    }),
  ];
}

/**
 * Only with `allowManagementAccount` (the stack runs in the management account): there Identity
 * Center creates, updates and deletes the AWSReservedSSO_ roles and the AWSSSO_ SAML provider with
 * the caller's permissions, because its service-linked role (AWSSSOServiceRolePolicy) is
 * excluded from the management account (`aws:PrincipalOrgMasterAccountId`). The actions are the
 * role and SAML-provider actions of that policy, scoped to the paths Identity Center uses, in the
 * management account only.
 */
export function managementAccountProvisioningStatements(stack: Stack, managementAccountId: string): iam.PolicyStatement[] {
  const iamArn = (resource: string) => `arn:${stack.partition}:iam::${managementAccountId}:${resource}`;
  return [
    new iam.PolicyStatement({
      sid: 'ManagementAccountSsoRoles',
      actions: [
        'iam:AttachRolePolicy',
        'iam:CreateRole',
        'iam:DeleteRole',
        'iam:DeleteRolePermissionsBoundary',
        'iam:DeleteRolePolicy',
        'iam:DetachRolePolicy',
        'iam:GetRole',
        'iam:ListAttachedRolePolicies',
        'iam:ListRolePolicies',
        'iam:PutRolePermissionsBoundary',
        'iam:PutRolePolicy',
        'iam:UpdateAssumeRolePolicy',
        'iam:UpdateRole',
        'iam:UpdateRoleDescription',
      ],
      resources: [iamArn(MANAGEMENT_ACCOUNT_ROLE_PATH)],
    }),
    new iam.PolicyStatement({
      sid: 'ManagementAccountSsoSamlProvider',
      actions: ['iam:CreateSAMLProvider', 'iam:DeleteSAMLProvider', 'iam:GetSAMLProvider', 'iam:UpdateSAMLProvider'],
      resources: [iamArn(MANAGEMENT_ACCOUNT_SAML_PROVIDER)],
    }),
  ];
}

export const MANAGEMENT_ACCOUNT_ROLE_PATH = 'role/aws-reserved/sso.amazonaws.com/*';
export const MANAGEMENT_ACCOUNT_SAML_PROVIDER = 'saml-provider/AWSSSO_*_DO_NOT_DELETE';
export const MANAGEMENT_ACCOUNT_REASON =
  'allowManagementAccount: in the management account Identity Center provisions permission sets with the caller\'s IAM permissions. Role and SAML-provider names are generated by Identity Center per permission set, so the ARNs are scoped to its reserved path (role/aws-reserved/sso.amazonaws.com/*) and its AWSSSO_*_DO_NOT_DELETE provider, in the management account only.';

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
