/**
 * Identity Center identity store (`AWSIdentityStore`) stand-in, read-only, loaded from a
 * directory document (sandbox/demo-directory.json by default): GetUserId (by userName, primary
 * email or ExternalId), DescribeUser, ListUsers, GetGroupId, DescribeGroup, ListGroups,
 * ListGroupMembershipsForMember, IsMemberInGroups.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type FaultKind, FaultQueue } from './faults';
import type { CustomerManagedKey } from './identity-center';
import { AwsError, compact, paginate, parseInput } from './protocol';
import type { JsonRpcService } from './service';

const RESOURCE_ID = /^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$/;
const IDENTITY_STORE_ID = /^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

const externalIdSchema = z.strictObject({ issuer: z.string().min(1).max(256), id: z.string().min(1).max(256) });

/** The directory document: who exists in Identity Center and which groups they are in. */
export const directorySchema = z.strictObject({
  identityStoreId: z.string().regex(IDENTITY_STORE_ID, 'must look like d-1234567890'),
  users: z
    .array(
      z.strictObject({
        userId: z.string().regex(RESOURCE_ID, 'must be an identity store resource id'),
        userName: z.string().min(1).max(128),
        displayName: z.string().min(1),
        givenName: z.string().min(1),
        familyName: z.string().min(1),
        email: z.string().email(),
        externalIds: z.array(externalIdSchema).default([]),
      }),
    )
    .min(1),
  groups: z.array(
    z.strictObject({
      groupId: z.string().regex(RESOURCE_ID, 'must be an identity store resource id'),
      displayName: z.string().min(1).max(1024),
      description: z.string().optional(),
      externalIds: z.array(externalIdSchema).default([]),
      /** userIds of the members. */
      members: z.array(z.string()),
    }),
  ),
});
export type DirectoryDocument = z.input<typeof directorySchema>;
export type Directory = z.output<typeof directorySchema>;

/** Validates a directory: schema, unique ids and names, members that exist. */
export function parseDirectory(input: unknown, source = 'directory'): Directory {
  const parsed = directorySchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Invalid ${source}: ${issue?.path.join('.') || 'document'}: ${issue?.message}`);
  }
  const dir = parsed.data;
  const unique = (what: string, values: string[]) => {
    const seen = new Set<string>();
    for (const v of values) {
      const k = v.toLowerCase();
      if (seen.has(k)) throw new Error(`Invalid ${source}: duplicate ${what} ${v}`);
      seen.add(k);
    }
  };
  unique('user id', dir.users.map((u) => u.userId));
  unique('userName', dir.users.map((u) => u.userName));
  unique('group id', dir.groups.map((g) => g.groupId));
  unique('group displayName', dir.groups.map((g) => g.displayName));
  const userIds = new Set(dir.users.map((u) => u.userId));
  for (const g of dir.groups) for (const m of g.members) if (!userIds.has(m)) throw new Error(`Invalid ${source}: group ${g.displayName} lists unknown member ${m}`);
  return dir;
}

const storeId = z.string().min(1).max(36).regex(IDENTITY_STORE_ID, 'Member must satisfy regular expression pattern: d-[0-9a-f]{10}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}');
const resourceId = z.string().min(1).max(47).regex(RESOURCE_ID, 'Member must satisfy regular expression pattern: ([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}');
/** ExternalIdIssuer / ExternalIdIdentifier (identitystore model): 1-256 characters matching (unanchored) `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`. */
const EXTERNAL_ID_CHARS = /[\p{L}\p{M}\p{S}\p{N}\p{P}]+/u;
const externalIdPart = z.string().min(1).max(256).regex(EXTERNAL_ID_CHARS, 'Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+');
const alternateIdentifier = z.union([
  z.strictObject({ UniqueAttribute: z.strictObject({ AttributePath: z.string().min(1).max(255), AttributeValue: z.unknown() }) }),
  z.strictObject({ ExternalId: z.strictObject({ Issuer: externalIdPart, Id: externalIdPart }) }),
]);
const maxResults = z.number().int().min(1).max(100).optional();
const nextToken = z.string().min(1).max(65535).optional();
const filters = z.array(z.strictObject({ AttributePath: z.string().min(1), AttributeValue: z.string().min(1) })).max(1).optional();

type User = Directory['users'][number];
type Group = Directory['groups'][number];

export class IdentityStoreStandIn implements JsonRpcService {
  readonly targetPrefix = 'AWSIdentityStore';
  readonly jsonVersion = '1.1';
  readonly faults = new FaultQueue();
  readonly identityStoreId: string;
  private readonly users: Map<string, User>;
  private readonly groups: Map<string, Group>;

  constructor(
    readonly directory: Directory,
    /** Set when the Identity Center instance (and so its identity store) uses a customer managed key. */
    private readonly options: { customerManagedKey?: CustomerManagedKey } = {},
  ) {
    this.identityStoreId = directory.identityStoreId;
    this.users = new Map(directory.users.map((u) => [u.userId, u]));
    this.groups = new Map(directory.groups.map((g) => [g.groupId, g]));
  }

  hasUser(userId: string): boolean {
    return this.users.has(userId);
  }

  hasGroup(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  userByName(userName: string): User | undefined {
    return [...this.users.values()].find((u) => u.userName.toLowerCase() === userName.toLowerCase());
  }

  groupsOf(userId: string): Group[] {
    return [...this.groups.values()].filter((g) => g.members.includes(userId));
  }

  faultError(kind: Exclude<FaultKind, 'fail'>, operation: string, message?: string): AwsError {
    if (kind === 'throttle') return new AwsError('ThrottlingException', message ?? 'Rate exceeded', 400);
    if (kind === 'conflict') return new AwsError('ConflictException', message ?? `${operation} conflicts with another request.`, 400, { Reason: 'CONCURRENT_MODIFICATION' });
    return new AwsError('InternalServerException', message ?? 'The request processing has failed because of an unknown error.', 500);
  }

  async handle(operation: string, input: unknown): Promise<unknown> {
    const handler = this.operations[operation];
    if (!handler) throw new AwsError('UnknownOperationException', `The sandbox identity store does not implement ${operation}.`, 400);
    // With a customer managed key, reading the store needs kms:Decrypt (identitystore model:
    // AccessDeniedException Reason KMS_ACCESS_DENIED, ValidationException Reason KMS_DISABLED).
    const key = this.options.customerManagedKey;
    const access = key?.access(operation) ?? 'allowed';
    if (access === 'denied') throw new AwsError('AccessDeniedException', `${operation} needs kms:Decrypt on ${key!.keyArn}, which was denied.`, 400, { Reason: 'KMS_ACCESS_DENIED' });
    if (access === 'disabled') throw new AwsError('ValidationException', `The customer managed key ${key!.keyArn} is disabled.`, 400, { Reason: 'KMS_DISABLED' });
    return handler(input);
  }

  private readonly operations: Record<string, (input: unknown) => unknown> = {
    GetUserId: (input) => {
      const req = parseInput(z.object({ IdentityStoreId: storeId, AlternateIdentifier: alternateIdentifier }), input);
      this.checkStore(req.IdentityStoreId);
      const id = req.AlternateIdentifier;
      let user: User | undefined;
      if ('ExternalId' in id) {
        user = [...this.users.values()].find((u) => u.externalIds.some((x) => x.issuer === id.ExternalId.Issuer && x.id === id.ExternalId.Id));
      } else {
        // "For the unique attribute, the only valid paths are userName and emails.value" (GetUserId,
        // Identity Store API reference): exactly these spellings are accepted.
        const path = id.UniqueAttribute.AttributePath;
        const value = id.UniqueAttribute.AttributeValue;
        if (typeof value !== 'string') throw new AwsError('ValidationException', 'AttributeValue must be a string for this attribute path.', 400);
        if (path === 'userName') user = this.userByName(value);
        else if (path === 'emails.value') user = [...this.users.values()].find((u) => u.email.toLowerCase() === value.toLowerCase());
        else throw new AwsError('ValidationException', `Invalid AttributePath ${id.UniqueAttribute.AttributePath}: use userName or emails.value.`, 400);
      }
      if (!user) throw this.notFound('USER', undefined, 'USER not found.');
      return { UserId: user.userId, IdentityStoreId: this.identityStoreId };
    },
    DescribeUser: (input) => {
      const req = parseInput(z.object({ IdentityStoreId: storeId, UserId: resourceId }), input);
      this.checkStore(req.IdentityStoreId);
      const user = this.users.get(req.UserId);
      if (!user) throw this.notFound('USER', req.UserId, `USER ${req.UserId} not found.`);
      return this.describeUser(user);
    },
    ListUsers: (input) => {
      const req = parseInput(z.object({ IdentityStoreId: storeId, MaxResults: maxResults, NextToken: nextToken, Filters: filters }), input);
      this.checkStore(req.IdentityStoreId);
      const filter = req.Filters?.[0];
      if (filter && filter.AttributePath.toLowerCase() !== 'username') throw new AwsError('ValidationException', `Filtering on ${filter.AttributePath} is not supported: use UserName.`, 400);
      const users = [...this.users.values()].filter((u) => !filter || u.userName.toLowerCase() === filter.AttributeValue.toLowerCase());
      const { page, nextToken: next } = paginate(users, req.NextToken, req.MaxResults ?? 50);
      return compact({ Users: page.map((u) => this.describeUser(u)), NextToken: next });
    },
    GetGroupId: (input) => {
      const req = parseInput(z.object({ IdentityStoreId: storeId, AlternateIdentifier: alternateIdentifier }), input);
      this.checkStore(req.IdentityStoreId);
      const id = req.AlternateIdentifier;
      let group: Group | undefined;
      if ('ExternalId' in id) {
        group = [...this.groups.values()].find((g) => g.externalIds.some((x) => x.issuer === id.ExternalId.Issuer && x.id === id.ExternalId.Id));
      } else {
        // "For the unique attribute, the only valid path is displayName" (GetGroupId).
        if (id.UniqueAttribute.AttributePath !== 'displayName') throw new AwsError('ValidationException', `Invalid AttributePath ${id.UniqueAttribute.AttributePath}: use displayName.`, 400);
        const value = id.UniqueAttribute.AttributeValue;
        group = [...this.groups.values()].find((g) => typeof value === 'string' && g.displayName.toLowerCase() === value.toLowerCase());
      }
      if (!group) throw this.notFound('GROUP', undefined, 'GROUP not found.');
      return { GroupId: group.groupId, IdentityStoreId: this.identityStoreId };
    },
    DescribeGroup: (input) => {
      const req = parseInput(z.object({ IdentityStoreId: storeId, GroupId: resourceId }), input);
      this.checkStore(req.IdentityStoreId);
      const group = this.groups.get(req.GroupId);
      if (!group) throw this.notFound('GROUP', req.GroupId, `GROUP ${req.GroupId} not found.`);
      return this.describeGroup(group);
    },
    ListGroups: (input) => {
      const req = parseInput(z.object({ IdentityStoreId: storeId, MaxResults: maxResults, NextToken: nextToken, Filters: filters }), input);
      this.checkStore(req.IdentityStoreId);
      const filter = req.Filters?.[0];
      if (filter && filter.AttributePath.toLowerCase() !== 'displayname') throw new AwsError('ValidationException', `Filtering on ${filter.AttributePath} is not supported: use DisplayName.`, 400);
      const groups = [...this.groups.values()].filter((g) => !filter || g.displayName.toLowerCase() === filter.AttributeValue.toLowerCase());
      const { page, nextToken: next } = paginate(groups, req.NextToken, req.MaxResults ?? 50);
      return compact({ Groups: page.map((g) => this.describeGroup(g)), NextToken: next });
    },
    ListGroupMembershipsForMember: (input) => {
      const req = parseInput(z.object({ IdentityStoreId: storeId, MemberId: z.strictObject({ UserId: resourceId }), MaxResults: maxResults, NextToken: nextToken }), input);
      this.checkStore(req.IdentityStoreId);
      const userId = req.MemberId.UserId;
      if (!this.users.has(userId)) throw this.notFound('USER', userId, `USER ${userId} not found.`);
      const memberships = this.groupsOf(userId).map((g) => ({ IdentityStoreId: this.identityStoreId, MembershipId: membershipId(g.groupId, userId), GroupId: g.groupId, MemberId: { UserId: userId } }));
      const { page, nextToken: next } = paginate(memberships, req.NextToken, req.MaxResults ?? 50);
      return compact({ GroupMemberships: page, NextToken: next });
    },
    IsMemberInGroups: (input) => {
      const req = parseInput(z.object({ IdentityStoreId: storeId, MemberId: z.strictObject({ UserId: resourceId }), GroupIds: z.array(resourceId).min(1).max(100) }), input);
      this.checkStore(req.IdentityStoreId);
      const userId = req.MemberId.UserId;
      return {
        Results: req.GroupIds.map((groupId) => ({ GroupId: groupId, MemberId: { UserId: userId }, MembershipExists: this.groups.get(groupId)?.members.includes(userId) ?? false })),
      };
    },
  };

  private checkStore(id: string): void {
    if (id !== this.identityStoreId) throw this.notFound('IDENTITY_STORE', id, `Identity store ${id} does not exist.`);
  }

  private notFound(resourceType: string, resourceIdValue: string | undefined, message: string): AwsError {
    return new AwsError('ResourceNotFoundException', message, 400, compact({ ResourceType: resourceType, ResourceId: resourceIdValue }));
  }

  private describeUser(u: User) {
    return compact({
      IdentityStoreId: this.identityStoreId,
      UserId: u.userId,
      UserName: u.userName,
      DisplayName: u.displayName,
      Name: { GivenName: u.givenName, FamilyName: u.familyName, Formatted: `${u.givenName} ${u.familyName}` },
      Emails: [{ Value: u.email, Type: 'work', Primary: true }],
      ExternalIds: u.externalIds.length > 0 ? u.externalIds.map((x) => ({ Issuer: x.issuer, Id: x.id })) : undefined,
    });
  }

  private describeGroup(g: Group) {
    return compact({
      IdentityStoreId: this.identityStoreId,
      GroupId: g.groupId,
      DisplayName: g.displayName,
      Description: g.description,
      ExternalIds: g.externalIds.length > 0 ? g.externalIds.map((x) => ({ Issuer: x.issuer, Id: x.id })) : undefined,
    });
  }
}

/** A stable membership id in the identity store's resource id format. */
function membershipId(groupId: string, userId: string): string {
  const h = createHash('sha256').update(`${groupId}|${userId}`).digest('hex');
  return `${h.slice(0, 10)}-${h.slice(10, 18)}-${h.slice(18, 22)}-${h.slice(22, 26)}-${h.slice(26, 30)}-${h.slice(30, 42)}`;
}
