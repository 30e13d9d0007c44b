/**
 * The Identity Center identity store as the Directory port. A Teams user maps to an Identity
 * Center user by userName (the UPN) or by ExternalId (the Entra object id that SCIM provisioning
 * wrote), as configured; no fallback from one to the other, because the operator chose what to
 * trust. Group memberships are cached briefly: policy checks ask for them on every request.
 */
import {
  DescribeGroupCommand,
  DescribeUserCommand,
  GetUserIdCommand,
  type IdentitystoreClient,
  ListGroupMembershipsForMemberCommand,
} from '@aws-sdk/client-identitystore';
import type { Clock, Directory, DirectoryGroup, DirectoryUser } from '../../core/ports';
import { DEFAULT_RETRY, isTransientAwsError, type RetryPolicy, withRetry } from './retry';
import { TtlCache } from './ttl-cache';

const DEPENDENCY = 'IAM Identity Center identity store';

/** The issuer Identity Center records on users provisioned over SCIM (the externalId attribute). */
export const DEFAULT_EXTERNAL_ID_ISSUER = 'https://scim.aws.com';

export interface IdentityStoreDirectoryOptions {
  identityStoreId: string;
  userMatch: 'userName' | 'externalId';
  clock: Clock;
  externalIdIssuer?: string;
  random?: () => number;
  retry?: RetryPolicy;
  /** How long a user's group list is reused. */
  membershipTtlMs?: number;
  /** How long a group's display name is reused. */
  groupTtlMs?: number;
}

export class IdentityStoreDirectory implements Directory {
  private readonly memberships: TtlCache<DirectoryGroup[]>;
  private readonly groups: TtlCache<DirectoryGroup>;
  private readonly random: () => number;

  constructor(
    private readonly client: IdentitystoreClient,
    private readonly options: IdentityStoreDirectoryOptions,
  ) {
    this.memberships = new TtlCache(options.clock, options.membershipTtlMs ?? 60_000);
    this.groups = new TtlCache(options.clock, options.groupTtlMs ?? 10 * 60_000);
    this.random = options.random ?? Math.random;
  }

  async findUser(login: { upn?: string; aadObjectId?: string }): Promise<DirectoryUser | undefined> {
    const alternate =
      this.options.userMatch === 'externalId'
        ? login.aadObjectId
          ? { ExternalId: { Issuer: this.options.externalIdIssuer ?? DEFAULT_EXTERNAL_ID_ISSUER, Id: login.aadObjectId } }
          : undefined
        : login.upn
          ? { UniqueAttribute: { AttributePath: 'userName', AttributeValue: login.upn } }
          : undefined;
    if (!alternate) return undefined;
    const found = await this.call('GetUserId', () => this.client.send(new GetUserIdCommand({ IdentityStoreId: this.options.identityStoreId, AlternateIdentifier: alternate })));
    if (!found?.UserId) return undefined;
    const userId = found.UserId;
    const user = await this.call('DescribeUser', () => this.client.send(new DescribeUserCommand({ IdentityStoreId: this.options.identityStoreId, UserId: userId })));
    if (!user) return undefined;
    const userName = user.UserName ?? login.upn ?? userId;
    const fullName = [user.Name?.GivenName, user.Name?.FamilyName].filter(Boolean).join(' ');
    return { userId, userName, displayName: user.DisplayName || user.Name?.Formatted || fullName || userName };
  }

  async groupsOf(userId: string): Promise<DirectoryGroup[]> {
    const cached = this.memberships.get(userId);
    if (cached) return cached;
    const groupIds: string[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.call('ListGroupMembershipsForMember', () =>
        this.client.send(new ListGroupMembershipsForMemberCommand({ IdentityStoreId: this.options.identityStoreId, MemberId: { UserId: userId }, NextToken: token })),
      );
      if (!page) break;
      for (const m of page.GroupMemberships ?? []) if (m.GroupId) groupIds.push(m.GroupId);
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    const groups: DirectoryGroup[] = [];
    for (const groupId of [...new Set(groupIds)]) {
      const group = await this.group(groupId);
      if (group) groups.push(group);
    }
    this.memberships.set(userId, groups);
    return groups;
  }

  private async group(groupId: string): Promise<DirectoryGroup | undefined> {
    const cached = this.groups.get(groupId);
    if (cached) return cached;
    const out = await this.call('DescribeGroup', () => this.client.send(new DescribeGroupCommand({ IdentityStoreId: this.options.identityStoreId, GroupId: groupId })));
    // Deleted between the listing and now: it grants nothing any more.
    if (!out) return undefined;
    const group = { groupId, displayName: out.DisplayName ?? groupId };
    this.groups.set(groupId, group);
    return group;
  }

  /** Retries transient failures; ResourceNotFoundException means "no such user/group" and becomes undefined. */
  private async call<T>(operation: string, send: () => Promise<T>): Promise<T | undefined> {
    try {
      return await withRetry({ clock: this.options.clock, random: this.random, policy: this.options.retry ?? { ...DEFAULT_RETRY, maxAttempts: 4 }, dependency: DEPENDENCY, operation, isRetryable: isTransientAwsError }, send);
    } catch (e) {
      // withRetry wraps non-retryable SDK errors in a DependencyError whose cause is the original.
      if (isNotFound((e as { cause?: unknown }).cause)) return undefined;
      throw e;
    }
  }
}

function isNotFound(e: unknown): boolean {
  return e instanceof Error && e.name === 'ResourceNotFoundException';
}
