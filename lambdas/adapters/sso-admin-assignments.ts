/**
 * IAM Identity Center account assignments (sso-admin). Writes are asynchronous: create/delete
 * return a request id whose status is polled with Describe*Status. Every call goes through the
 * process-wide IdentityCenterLimiter (about 20 TPS, at most 10 writes in flight) and is retried
 * on ThrottlingException, ConflictException and 5xx with full-jitter backoff on the Clock.
 */
import {
  CreateAccountAssignmentCommand,
  DeleteAccountAssignmentCommand,
  DescribeAccountAssignmentCreationStatusCommand,
  DescribeAccountAssignmentDeletionStatusCommand,
  ListAccountAssignmentsCommand,
  type SSOAdminClient,
} from '@aws-sdk/client-sso-admin';
import { DependencyError } from '../../core/errors';
import type { AssignmentKey } from '../../core/model';
import type { AssignmentGateway, AssignmentOperation, Clock } from '../../core/ports';
import { IdentityCenterLimiter } from './limiter';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry';

const DEPENDENCY = 'IAM Identity Center';

export interface SsoAdminAssignmentsOptions {
  instanceArn: string;
  clock: Clock;
  /** Shared by every gateway of the process; a new one per gateway otherwise. */
  limiter?: IdentityCenterLimiter;
  random?: () => number;
  retry?: RetryPolicy;
  /** Called before each retry, e.g. to log throttling. */
  onRetry?: (info: { operation: string; attempt: number; delayMs: number; error: unknown }) => void;
}

export class SsoAdminAssignmentGateway implements AssignmentGateway {
  private readonly limiter: IdentityCenterLimiter;
  private readonly random: () => number;

  constructor(
    private readonly client: SSOAdminClient,
    private readonly options: SsoAdminAssignmentsOptions,
  ) {
    this.limiter = options.limiter ?? new IdentityCenterLimiter(options.clock);
    this.random = options.random ?? Math.random;
  }

  async exists(key: AssignmentKey): Promise<boolean> {
    const users = await this.listAssignments(key.accountId, key.permissionSetArn);
    return users.some((k) => k.userId === key.userId);
  }

  async startCreate(key: AssignmentKey): Promise<AssignmentOperation> {
    const out = await this.retry('CreateAccountAssignment', () =>
      this.limiter.write(() => this.client.send(new CreateAccountAssignmentCommand(this.target(key)))),
    );
    return toOperation('CreateAccountAssignment', out.AccountAssignmentCreationStatus);
  }

  async startDelete(key: AssignmentKey): Promise<AssignmentOperation> {
    const out = await this.retry('DeleteAccountAssignment', () =>
      this.limiter.write(() => this.client.send(new DeleteAccountAssignmentCommand(this.target(key)))),
    );
    return toOperation('DeleteAccountAssignment', out.AccountAssignmentDeletionStatus);
  }

  async createStatus(operationId: string): Promise<AssignmentOperation> {
    const out = await this.retry('DescribeAccountAssignmentCreationStatus', () =>
      this.limiter.call(() =>
        this.client.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: this.options.instanceArn, AccountAssignmentCreationRequestId: operationId })),
      ),
    );
    return toOperation('DescribeAccountAssignmentCreationStatus', out.AccountAssignmentCreationStatus, operationId);
  }

  async deleteStatus(operationId: string): Promise<AssignmentOperation> {
    const out = await this.retry('DescribeAccountAssignmentDeletionStatus', () =>
      this.limiter.call(() =>
        this.client.send(new DescribeAccountAssignmentDeletionStatusCommand({ InstanceArn: this.options.instanceArn, AccountAssignmentDeletionRequestId: operationId })),
      ),
    );
    return toOperation('DescribeAccountAssignmentDeletionStatus', out.AccountAssignmentDeletionStatus, operationId);
  }

  async listAssignments(accountId: string, permissionSetArn: string): Promise<AssignmentKey[]> {
    const keys: AssignmentKey[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.retry('ListAccountAssignments', () =>
        this.limiter.call(() =>
          this.client.send(new ListAccountAssignmentsCommand({ InstanceArn: this.options.instanceArn, AccountId: accountId, PermissionSetArn: permissionSetArn, NextToken: token })),
        ),
      );
      for (const a of page.AccountAssignments ?? []) {
        // Group assignments are not ours to manage: the product grants to users only.
        if (a.PrincipalType === 'USER' && a.PrincipalId) keys.push({ accountId, permissionSetArn, userId: a.PrincipalId });
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    return keys;
  }

  private target(key: AssignmentKey) {
    return {
      InstanceArn: this.options.instanceArn,
      TargetId: key.accountId,
      TargetType: 'AWS_ACCOUNT' as const,
      PermissionSetArn: key.permissionSetArn,
      PrincipalType: 'USER' as const,
      PrincipalId: key.userId,
    };
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

/**
 * An asynchronous Identity Center write's status (an account assignment's, or a permission set's
 * provisioning: both answer RequestId, Status IN_PROGRESS|SUCCEEDED|FAILED and FailureReason).
 */
export function toOperation(operation: string, status: { RequestId?: string; Status?: string; FailureReason?: string } | undefined, knownId?: string): AssignmentOperation {
  const operationId = status?.RequestId ?? knownId;
  const state = status?.Status;
  if (!operationId || (state !== 'IN_PROGRESS' && state !== 'SUCCEEDED' && state !== 'FAILED')) {
    throw new DependencyError(DEPENDENCY, `${DEPENDENCY} ${operation} returned no usable status (status ${String(state)}).`, false);
  }
  const result: AssignmentOperation = { operationId, status: state };
  if (state === 'FAILED') result.failureReason = status?.FailureReason || `${DEPENDENCY} reported ${operation} as FAILED without a reason.`;
  return result;
}
