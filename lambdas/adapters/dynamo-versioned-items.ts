/**
 * Small records the product keeps in the grant ledger table under their own key prefix
 * (`pk` = `<prefix><id>`): the tracked findings and the session cuts. The functions that need them
 * already read and write that table, so they need no new table or permission; the ledger adapter
 * lists only its own kind (lambdas/adapters/dynamo-ledger.ts). Every write is a compare-and-swap on
 * `version`; `get` reads consistently. `list` reads the live records only, from the table's sparse
 * `byLive` index (dynamo-live-index.ts): never the history a full scan would read.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConcurrentModificationError } from '../../core/errors';
import type { Clock } from '../../core/ports';
import { LIVE_ATTRIBUTE, type LiveKind, queryLive, withLiveKind } from './dynamo-live-index';
import { isConditionalFailure } from './dynamo-requests';
import { DEFAULT_RETRY, isTransientAwsError, type RetryPolicy, withRetry } from './retry';

export interface DynamoVersionedItemsOptions {
  /** The ledger table. */
  tableName: string;
  clock: Clock;
  random?: () => number;
  retry?: RetryPolicy;
}

export class DynamoVersionedItems<T extends { version: number }> {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly options: DynamoVersionedItemsOptions,
    /** The key prefix, the record's id, its name in a conflict error, and its partition of the live index with what makes it live. */
    private readonly kind: { prefix: string; idOf: (record: T) => string; name: string; liveKind: LiveKind; isLive: (record: T) => boolean },
  ) {}

  async get(id: string): Promise<T | undefined> {
    const out = await this.retry('GetItem', () => this.doc.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: this.kind.prefix + id }, ConsistentRead: true })));
    return out.Item ? fromItem<T>(out.Item) : undefined;
  }

  async put(next: T, expectedVersion: number | undefined): Promise<void> {
    const id = this.kind.idOf(next);
    const item = withLiveKind({ ...(JSON.parse(JSON.stringify(next)) as Record<string, unknown>), pk: this.kind.prefix + id }, this.kind.liveKind, this.kind.isLive(next));
    const condition =
      expectedVersion === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : { ConditionExpression: '#version = :expected', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':expected': expectedVersion } };
    try {
      await this.retry('PutItem', () => this.doc.send(new PutCommand({ TableName: this.options.tableName, Item: item, ...condition })));
    } catch (e) {
      if (isConditionalFailure(e)) throw new ConcurrentModificationError(this.kind.name, id);
      throw e;
    }
  }

  async list(): Promise<T[]> {
    const items = await queryLive(this.doc, this.options.tableName, this.kind.liveKind, (operation, call) => this.retry(operation, call));
    // The index is eventually consistent: a record that stopped being live a moment ago may still be in it.
    return items.map((i) => fromItem<T>(i)).filter((r) => this.kind.isLive(r));
  }

  private retry<R>(operation: string, call: () => Promise<R>): Promise<R> {
    return withRetry(
      {
        clock: this.options.clock,
        random: this.options.random ?? Math.random,
        policy: this.options.retry ?? { ...DEFAULT_RETRY, maxAttempts: 4 },
        dependency: 'DynamoDB',
        operation,
        isRetryable: (e) => !isConditionalFailure(e) && isTransientAwsError(e),
      },
      call,
    );
  }
}

function fromItem<T>(item: Record<string, unknown>): T {
  const { pk: _pk, [LIVE_ATTRIBUTE]: _live, ...rest } = item;
  return rest as unknown as T;
}
