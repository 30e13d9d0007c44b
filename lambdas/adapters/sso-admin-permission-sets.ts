/**
 * A permission set's inline policy and its provisioning (sso-admin), for ending live sessions
 * (core/services/session-cut.ts). ProvisionPermissionSet is asynchronous like the assignment
 * writes: it returns a request id polled with DescribePermissionSetProvisioningStatus
 * (IN_PROGRESS -> SUCCEEDED | FAILED; sso-admin API reference, "ProvisionPermissionSet").
 * Every call goes through the same process-wide IdentityCenterLimiter as the assignments (writes
 * hold a write slot) and is retried on ThrottlingException, ConflictException and 5xx.
 */
import {
  DeleteInlinePolicyFromPermissionSetCommand,
  DescribePermissionSetCommand,
  DescribePermissionSetProvisioningStatusCommand,
  GetInlinePolicyForPermissionSetCommand,
  ProvisionPermissionSetCommand,
  PutInlinePolicyToPermissionSetCommand,
  type SSOAdminClient,
} from '@aws-sdk/client-sso-admin';
import { DependencyError } from '../../core/errors';
import type { PermissionSetGateway, ProvisioningOperation } from '../../core/ports';
import { IdentityCenterLimiter } from './limiter';
import { DEFAULT_RETRY, withRetry } from './retry';
import { DEFAULT_SESSION_DURATION, durationSeconds } from './session-duration';
import { type SsoAdminAssignmentsOptions, toOperation } from './sso-admin-assignments';

const DEPENDENCY = 'IAM Identity Center';

export class SsoAdminPermissionSetGateway implements PermissionSetGateway {
  private readonly limiter: IdentityCenterLimiter;
  private readonly random: () => number;

  constructor(
    private readonly client: SSOAdminClient,
    private readonly options: SsoAdminAssignmentsOptions,
  ) {
    this.limiter = options.limiter ?? new IdentityCenterLimiter(options.clock);
    this.random = options.random ?? Math.random;
  }

  async getInlinePolicy(permissionSetArn: string): Promise<string | undefined> {
    const out = await this.retry('GetInlinePolicyForPermissionSet', () =>
      this.limiter.call(() => this.client.send(new GetInlinePolicyForPermissionSetCommand({ InstanceArn: this.options.instanceArn, PermissionSetArn: permissionSetArn }))),
    );
    // The model notes that a permission set without an inline policy answers an empty one.
    return out.InlinePolicy ? out.InlinePolicy : undefined;
  }

  async putInlinePolicy(permissionSetArn: string, document: string): Promise<void> {
    await this.retry('PutInlinePolicyToPermissionSet', () =>
      this.limiter.write(() => this.client.send(new PutInlinePolicyToPermissionSetCommand({ InstanceArn: this.options.instanceArn, PermissionSetArn: permissionSetArn, InlinePolicy: document }))),
    );
  }

  async deleteInlinePolicy(permissionSetArn: string): Promise<void> {
    await this.retry('DeleteInlinePolicyFromPermissionSet', () =>
      this.limiter.write(() => this.client.send(new DeleteInlinePolicyFromPermissionSetCommand({ InstanceArn: this.options.instanceArn, PermissionSetArn: permissionSetArn }))),
    );
  }

  async startProvision(permissionSetArn: string, accountId: string): Promise<ProvisioningOperation> {
    // One account, not ALL_PROVISIONED_ACCOUNTS: the least blast radius (docs/SECURITY.md).
    const out = await this.retry('ProvisionPermissionSet', () =>
      this.limiter.write(() =>
        this.client.send(new ProvisionPermissionSetCommand({ InstanceArn: this.options.instanceArn, PermissionSetArn: permissionSetArn, TargetType: 'AWS_ACCOUNT', TargetId: accountId })),
      ),
    );
    return toOperation('ProvisionPermissionSet', out.PermissionSetProvisioningStatus);
  }

  async provisionStatus(operationId: string): Promise<ProvisioningOperation> {
    const out = await this.retry('DescribePermissionSetProvisioningStatus', () =>
      this.limiter.call(() =>
        this.client.send(new DescribePermissionSetProvisioningStatusCommand({ InstanceArn: this.options.instanceArn, ProvisionPermissionSetRequestId: operationId })),
      ),
    );
    return toOperation('DescribePermissionSetProvisioningStatus', out.PermissionSetProvisioningStatus, operationId);
  }

  async sessionDurationSeconds(permissionSetArn: string): Promise<number> {
    const out = await this.retry('DescribePermissionSet', () =>
      this.limiter.call(() => this.client.send(new DescribePermissionSetCommand({ InstanceArn: this.options.instanceArn, PermissionSetArn: permissionSetArn }))),
    );
    const duration = out.PermissionSet?.SessionDuration ?? DEFAULT_SESSION_DURATION;
    const seconds = durationSeconds(duration);
    if (seconds === undefined || seconds <= 0) throw new DependencyError(DEPENDENCY, `${permissionSetArn} has an unrecognized SessionDuration ${duration}.`, false);
    return seconds;
  }

  private retry<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return withRetry(
      {
        clock: this.options.clock,
        random: this.random,
        policy: this.options.retry ?? DEFAULT_RETRY,
        dependency: DEPENDENCY,
        operation,
        onRetry: this.options.onRetry ? (info) => this.options.onRetry!({ operation, ...info }) : undefined,
      },
      call,
    );
  }
}

