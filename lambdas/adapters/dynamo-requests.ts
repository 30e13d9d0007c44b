/**
 * Requests in DynamoDB (lib-dynamodb). One table, string key `pk`:
 *   request#<id>                              the request (StoredRequest + `requesterUserId`)
 *   client#<requesterUserId>#<clientRequestId> a guard that makes the bot's idempotency key unique
 *   open#<requesterUserId>#<accountId>#<permissionSetName>
 *                                             a guard held while the request is open (OPEN_STATES):
 *                                             at most one open request per person and access
 * A request and its guards are written in one transaction, so two submits with the same key, or
 * for the same access, give exactly one request. Every update is a compare-and-swap on `version`;
 * an update to a state that is not open releases the open guard (removes its holder) in the same
 * transaction. A guard left held by anything else (a legacy record, a hand edit) is noticed and
 * released by the next create that runs into it, so it never blocks for good.
 *
 * Listing uses the `byRequester` / `byState` indexes when the table has them (REQUESTS_INDEXES);
 * without them it scans with a filter, which is fine for the few thousand requests a year a team
 * makes but reads the whole table.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { AlreadyExistsError, ConcurrentModificationError, DependencyError, OpenRequestExistsError } from '../../core/errors';
import { isOpen } from '../../core/lifecycle';
import type { StoredRequest } from '../../core/model';
import type { Clock, RequestQuery, RequestStore } from '../../core/ports';
import { DEFAULT_RETRY, isTransientAwsError as isTransient, type RetryPolicy, withRetry } from './retry';

const DEPENDENCY = 'DynamoDB';

/** Attribute names owned by this adapter (infra maps indexes onto them). */
export const REQUEST_ATTRIBUTES = { key: 'pk', kind: 'kind', requesterUserId: 'requesterUserId', state: 'state', createdAt: 'createdAt', outboxPending: 'outboxPending', noticesPending: 'noticesPending' } as const;

/** The global secondary indexes listing would use (partition key, sort key). */
export const REQUESTS_INDEXES = {
  byRequester: { name: 'byRequester', partitionKey: REQUEST_ATTRIBUTES.requesterUserId, sortKey: REQUEST_ATTRIBUTES.createdAt },
  byState: { name: 'byState', partitionKey: REQUEST_ATTRIBUTES.state, sortKey: REQUEST_ATTRIBUTES.createdAt },
  /** Sparse: only requests whose audit outbox still holds events carry the key. */
  byAuditOutbox: { name: 'byAuditOutbox', partitionKey: REQUEST_ATTRIBUTES.outboxPending, sortKey: REQUEST_ATTRIBUTES.createdAt },
  /** Sparse: only requests whose notice outbox still holds notices carry the key. */
  byNoticeOutbox: { name: 'byNoticeOutbox', partitionKey: REQUEST_ATTRIBUTES.noticesPending, sortKey: REQUEST_ATTRIBUTES.createdAt },
} as const;

const OUTBOX_PENDING = 'pending';

const INTERNAL = new Set<string>([REQUEST_ATTRIBUTES.key, REQUEST_ATTRIBUTES.kind, REQUEST_ATTRIBUTES.requesterUserId, REQUEST_ATTRIBUTES.outboxPending, REQUEST_ATTRIBUTES.noticesPending]);

export const requestKey = (id: string) => `request#${id}`;
export const clientRequestKey = (requesterUserId: string, clientRequestId: string) => `client#${requesterUserId}#${clientRequestId}`;
export const openRequestKey = (r: Pick<StoredRequest, 'requester' | 'accountId' | 'permissionSetName'>) => `open#${r.requester.userId}#${r.accountId}#${r.permissionSetName}`;

export interface DynamoRequestStoreOptions {
  tableName: string;
  clock: Clock;
  /** Set when the table has REQUESTS_INDEXES; otherwise listing scans. */
  useIndexes?: boolean;
  random?: () => number;
  retry?: RetryPolicy;
}

export class DynamoRequestStore implements RequestStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly options: DynamoRequestStoreOptions,
  ) {}

  async get(id: string): Promise<StoredRequest | undefined> {
    const out = await this.retry('GetItem', () => this.doc.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: requestKey(id) }, ConsistentRead: true })));
    return out.Item ? fromItem(out.Item) : undefined;
  }

  async findByClientRequestId(requesterUserId: string, clientRequestId: string): Promise<StoredRequest | undefined> {
    const out = await this.retry('GetItem', () =>
      this.doc.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: clientRequestKey(requesterUserId, clientRequestId) }, ConsistentRead: true })),
    );
    const requestId = out.Item?.requestId;
    return typeof requestId === 'string' ? this.get(requestId) : undefined;
  }

  async create(request: StoredRequest): Promise<void> {
    const guardKey = clientRequestKey(request.requester.userId, request.clientRequestId);
    const open = isOpen(request.state);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.retry('TransactWriteItems', () =>
          this.doc.send(
            new TransactWriteCommand({
              TransactItems: [
                { Put: { TableName: this.options.tableName, Item: toItem(request), ConditionExpression: 'attribute_not_exists(pk)' } },
                {
                  Put: {
                    TableName: this.options.tableName,
                    Item: { pk: guardKey, kind: 'client_request', requestId: request.id, createdAt: request.createdAt },
                    ConditionExpression: 'attribute_not_exists(pk)',
                  },
                },
                ...(open
                  ? [
                      {
                        Put: {
                          TableName: this.options.tableName,
                          Item: { pk: openRequestKey(request), kind: 'open_request', requestId: request.id, createdAt: request.createdAt },
                          // A released guard stays as an item without a holder (nothing is ever deleted).
                          ConditionExpression: 'attribute_not_exists(#requestId)',
                          ExpressionAttributeNames: { '#requestId': 'requestId' },
                          // The holder's id comes back with the cancellation: no second read to name it.
                          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
                        },
                      },
                    ]
                  : []),
              ],
            }),
          ),
        );
        return;
      } catch (e) {
        const reasons = cancellationReasons(e);
        if (reasons?.[0] === 'ConditionalCheckFailed') throw new AlreadyExistsError('Request', request.id);
        if (reasons?.[1] === 'ConditionalCheckFailed') throw new AlreadyExistsError('Client request', request.clientRequestId);
        if (reasons?.[2] === 'ConditionalCheckFailed') {
          const holder = cancellationItemRequestId(e, 2) ?? (await this.openGuardHolder(request));
          if (attempt >= 3) throw new OpenRequestExistsError(holder ?? 'unknown');
          if (holder === undefined) continue; // released meanwhile
          const current = await this.get(holder);
          if (current && isOpen(current.state)) throw new OpenRequestExistsError(holder);
          // The guard outlived its request (a legacy record, a hand edit): remove it and try again.
          await this.dropStaleOpenGuard(request, holder);
          continue;
        }
        throw e;
      }
    }
  }

  private async openGuardHolder(request: StoredRequest): Promise<string | undefined> {
    const out = await this.retry('GetItem', () => this.doc.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: openRequestKey(request) }, ConsistentRead: true })));
    return typeof out.Item?.requestId === 'string' ? out.Item.requestId : undefined;
  }

  /** Releases an open guard only if it still names the request it named when it was found stale. */
  private async dropStaleOpenGuard(request: StoredRequest, holder: string): Promise<void> {
    try {
      await this.retry('UpdateItem', () => this.doc.send(new UpdateCommand(releaseGuard(this.options.tableName, openRequestKey(request), holder, '#requestId = :id'))));
    } catch (e) {
      // Someone else replaced it meanwhile: the retried create finds out whose it is.
      if (!isConditionalFailure(e)) throw e;
    }
  }

  async update(next: StoredRequest, expectedVersion: number): Promise<void> {
    // Same contract as the in-memory store: a version that does not follow is a lost race too.
    if (next.version !== expectedVersion + 1) throw new ConcurrentModificationError('Request', next.id);
    const put = {
      TableName: this.options.tableName,
      Item: toItem(next),
      ConditionExpression: 'attribute_exists(pk) AND #version = :expected',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':expected': expectedVersion },
    };
    if (!isOpen(next.state)) {
      // Leaving the open states releases the guard, in the same transaction; a guard released
      // before, or missing (a record older than guards), is fine.
      try {
        await this.retry('TransactWriteItems', () =>
          this.doc.send(
            new TransactWriteCommand({
              TransactItems: [
                { Put: put },
                { Update: releaseGuard(this.options.tableName, openRequestKey(next), next.id, 'attribute_not_exists(#requestId) OR #requestId = :id') },
              ],
            }),
          ),
        );
        return;
      } catch (e) {
        const reasons = cancellationReasons(e);
        if (reasons?.[0] === 'ConditionalCheckFailed') throw new ConcurrentModificationError('Request', next.id);
        // The guard is held by a newer open request for the same access: not ours to release.
        if (reasons?.[1] !== 'ConditionalCheckFailed') throw e;
      }
    }
    try {
      await this.retry('PutItem', () => this.doc.send(new PutCommand(put)));
    } catch (e) {
      if (isConditionalFailure(e)) throw new ConcurrentModificationError('Request', next.id);
      throw e;
    }
  }

  async clearAuditOutbox(id: string, version: number): Promise<void> {
    await this.clearOutbox(id, version, 'auditOutbox', REQUEST_ATTRIBUTES.outboxPending);
  }

  async clearNoticeOutbox(id: string, version: number): Promise<void> {
    await this.clearOutbox(id, version, 'noticeOutbox', REQUEST_ATTRIBUTES.noticesPending);
  }

  private async clearOutbox(id: string, version: number, outbox: 'auditOutbox' | 'noticeOutbox', pending: string): Promise<void> {
    try {
      await this.retry('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: { pk: requestKey(id) },
            UpdateExpression: 'REMOVE #outbox, #pending',
            ConditionExpression: 'attribute_exists(pk) AND #version = :version',
            ExpressionAttributeNames: { '#outbox': outbox, '#pending': pending, '#version': 'version' },
            ExpressionAttributeValues: { ':version': version },
          }),
        ),
      );
    } catch (e) {
      // A newer write carried the outbox forward (or the request is gone): nothing to clear here.
      if (isConditionalFailure(e)) return;
      throw e;
    }
  }

  async list(query: RequestQuery): Promise<StoredRequest[]> {
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    let found: StoredRequest[];
    if (this.options.useIndexes && query.withAuditOutbox) {
      found = await this.queryIndex(REQUESTS_INDEXES.byAuditOutbox.name, '#p = :p', { '#p': REQUEST_ATTRIBUTES.outboxPending }, { ':p': OUTBOX_PENDING }, Number.POSITIVE_INFINITY);
      found = found.filter((r) => (!query.requesterUserId || r.requester.userId === query.requesterUserId) && (!query.states || query.states.includes(r.state)) && (!query.withNoticeOutbox || (r.noticeOutbox?.length ?? 0) > 0));
    } else if (this.options.useIndexes && query.withNoticeOutbox) {
      found = await this.queryIndex(REQUESTS_INDEXES.byNoticeOutbox.name, '#p = :p', { '#p': REQUEST_ATTRIBUTES.noticesPending }, { ':p': OUTBOX_PENDING }, Number.POSITIVE_INFINITY);
      found = found.filter((r) => (!query.requesterUserId || r.requester.userId === query.requesterUserId) && (!query.states || query.states.includes(r.state)));
    } else if (this.options.useIndexes && query.requesterUserId) {
      // With a state filter applied afterwards, the page budget cannot stop at `limit` items.
      const budget = query.states ? Number.POSITIVE_INFINITY : limit;
      found = await this.queryIndex(REQUESTS_INDEXES.byRequester.name, '#p = :p', { '#p': REQUEST_ATTRIBUTES.requesterUserId }, { ':p': query.requesterUserId }, budget);
      if (query.states) found = found.filter((r) => query.states!.includes(r.state));
    } else if (this.options.useIndexes && query.states && query.states.length > 0) {
      found = [];
      for (const state of query.states) found.push(...(await this.queryIndex(REQUESTS_INDEXES.byState.name, '#p = :p', { '#p': REQUEST_ATTRIBUTES.state }, { ':p': state }, limit)));
    } else {
      found = await this.scan(query);
    }
    // Newest first, like every list the bot shows.
    found.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    return Number.isFinite(limit) ? found.slice(0, limit) : found;
  }

  private async queryIndex(index: string, condition: string, names: Record<string, string>, values: Record<string, unknown>, limit: number): Promise<StoredRequest[]> {
    const items: StoredRequest[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.options.tableName,
        IndexName: index,
        KeyConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        ExclusiveStartKey: startKey,
      };
      const page = await this.retry('Query', () => this.doc.send(new QueryCommand(input)));
      for (const item of page.Items ?? []) items.push(fromItem(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey && items.length < limit);
    return items;
  }

  private async scan(query: RequestQuery): Promise<StoredRequest[]> {
    const names: Record<string, string> = { '#kind': REQUEST_ATTRIBUTES.kind };
    const values: Record<string, unknown> = { ':request': 'request' };
    const filters = ['#kind = :request'];
    if (query.requesterUserId) {
      names['#requester'] = REQUEST_ATTRIBUTES.requesterUserId;
      values[':requester'] = query.requesterUserId;
      filters.push('#requester = :requester');
    }
    if (query.withAuditOutbox) {
      names['#pending'] = REQUEST_ATTRIBUTES.outboxPending;
      filters.push('attribute_exists(#pending)');
    }
    if (query.withNoticeOutbox) {
      names['#notices'] = REQUEST_ATTRIBUTES.noticesPending;
      filters.push('attribute_exists(#notices)');
    }
    if (query.states && query.states.length > 0) {
      names['#state'] = REQUEST_ATTRIBUTES.state;
      const placeholders = query.states.map((s, i) => {
        values[`:s${i}`] = s;
        return `:s${i}`;
      });
      filters.push(`#state IN (${placeholders.join(', ')})`);
    }
    const items: StoredRequest[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.retry('Scan', () =>
        this.doc.send(
          new ScanCommand({
            TableName: this.options.tableName,
            FilterExpression: filters.join(' AND '),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) items.push(fromItem(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  private retry<T>(operation: string, call: () => Promise<T>): Promise<T> {
    // A failed condition is an answer, not contention: never retried.
    return withRetry(
      {
        clock: this.options.clock,
        random: this.options.random ?? Math.random,
        policy: this.options.retry ?? { ...DEFAULT_RETRY, maxAttempts: 4 },
        dependency: DEPENDENCY,
        operation,
        isRetryable: (e) => !isConditionalFailure(e) && cancellationReasons(e) === undefined && isTransient(e),
      },
      call,
    );
  }
}

/**
 * Releasing a guard removes its holder and keeps the item (no role may delete items): the next
 * create's `attribute_not_exists(requestId)` then succeeds. On a missing guard (a record older than
 * guards) the update leaves a holderless guard, which is the same as released.
 */
function releaseGuard(tableName: string, key: string, requestId: string, condition: string) {
  return {
    TableName: tableName,
    Key: { pk: key },
    UpdateExpression: 'SET #kind = :kind REMOVE #requestId',
    ConditionExpression: condition,
    ExpressionAttributeNames: { '#kind': REQUEST_ATTRIBUTES.kind, '#requestId': 'requestId' },
    ExpressionAttributeValues: { ':kind': 'open_request', ':id': requestId },
  };
}

/** Plain JSON: drops undefined members, which DynamoDB's marshaller refuses by default. */
function toItem(request: StoredRequest): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(request)) as Record<string, unknown>;
  const pending = (request.auditOutbox?.length ?? 0) > 0 ? { [REQUEST_ATTRIBUTES.outboxPending]: OUTBOX_PENDING } : {};
  const notices = (request.noticeOutbox?.length ?? 0) > 0 ? { [REQUEST_ATTRIBUTES.noticesPending]: OUTBOX_PENDING } : {};
  return { ...plain, pk: requestKey(request.id), kind: 'request', requesterUserId: request.requester.userId, ...pending, ...notices };
}

function fromItem(item: Record<string, unknown>): StoredRequest {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!INTERNAL.has(k)) out[k] = v;
  return out as unknown as StoredRequest;
}

function rootOf(e: unknown): unknown {
  return e instanceof DependencyError && (e as { cause?: unknown }).cause ? (e as { cause?: unknown }).cause : e;
}

export function isConditionalFailure(e: unknown): boolean {
  const root = rootOf(e);
  return root instanceof Error && root.name === 'ConditionalCheckFailedException';
}

/** The `requestId` of the old item a cancelled transaction returned for action `index` (ALL_OLD). */
function cancellationItemRequestId(e: unknown, index: number): string | undefined {
  const root = rootOf(e) as { CancellationReasons?: Array<{ Item?: Record<string, unknown> }> };
  const v = root.CancellationReasons?.[index]?.Item?.requestId as unknown;
  // The low-level error is not unmarshalled by the DocumentClient: { S: '...' }.
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { S?: unknown }).S === 'string') return (v as { S: string }).S;
  return undefined;
}

/** The per-item reasons of a cancelled transaction, or undefined for any other error. */
export function cancellationReasons(e: unknown): Array<string | undefined> | undefined {
  const root = rootOf(e);
  if (!(root instanceof Error) || root.name !== 'TransactionCanceledException') return undefined;
  const reasons = (root as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
  return reasons.map((r) => r.Code);
}

