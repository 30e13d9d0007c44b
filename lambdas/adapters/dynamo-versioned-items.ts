/**
 * Small records the product keeps in the grant ledger table under their own key prefix
 * (`pk` = `<prefix><id>`): the tracked findings and the session cuts. The functions that need them
 * already read and write that table, so they need no new table or permission; the ledger adapter
 * skips these items (lambdas/adapters/dynamo-ledger.ts). Every write is a compare-and-swap on
 * `version`; reads are consistent.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ConcurrentModificationError } from '../../core/errors';
import type { Clock } from '../../core/ports';
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
    /** The key prefix, the record's id, and its name in a conflict error. */
    private readonly kind: { prefix: string; idOf: (record: T) => string; name: string },
  ) {}

  async get(id: string): Promise<T | undefined> {
    const out = await this.retry('GetItem', () => this.doc.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: this.kind.prefix + id }, ConsistentRead: true })));
    return out.Item ? fromItem<T>(out.Item) : undefined;
  }

  async put(next: T, expectedVersion: number | undefined): Promise<void> {
    const id = this.kind.idOf(next);
    const item = { ...(JSON.parse(JSON.stringify(next)) as Record<string, unknown>), pk: this.kind.prefix + id };
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
    const found: T[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.retry('Scan', () =>
        this.doc.send(
          new ScanCommand({
            TableName: this.options.tableName,
            FilterExpression: 'begins_with(pk, :prefix)',
            ExpressionAttributeValues: { ':prefix': this.kind.prefix },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) found.push(fromItem<T>(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
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
  const { pk: _pk, ...rest } = item;
  return rest as unknown as T;
}
