/**
 * The product's tracked findings (core/services/findings.ts) in DynamoDB. They live in the grant
 * ledger table under their own key prefix, `pk` = `finding#<finding id>`: the functions that
 * import findings (workflow, revoke, reconcile, bridge) already read and write that table, so no
 * new table or permission is needed. Every write is a compare-and-swap on `version`. The ledger
 * adapter skips these items (lambdas/adapters/dynamo-ledger.ts).
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ConcurrentModificationError } from '../../core/errors';
import type { TrackedFinding } from '../../core/model';
import type { Clock, FindingsStateStore } from '../../core/ports';
import { isConditionalFailure } from './dynamo-requests';
import { DEFAULT_RETRY, isTransientAwsError, type RetryPolicy, withRetry } from './retry';

export const FINDING_KEY_PREFIX = 'finding#';

export interface DynamoFindingsStateOptions {
  /** The ledger table. */
  tableName: string;
  clock: Clock;
  random?: () => number;
  retry?: RetryPolicy;
}

export class DynamoFindingsState implements FindingsStateStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly options: DynamoFindingsStateOptions,
  ) {}

  async get(id: string): Promise<TrackedFinding | undefined> {
    const out = await this.retry('GetItem', () => this.doc.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: FINDING_KEY_PREFIX + id }, ConsistentRead: true })));
    return out.Item ? fromItem(out.Item) : undefined;
  }

  async put(next: TrackedFinding, expectedVersion: number | undefined): Promise<void> {
    const item = { ...(JSON.parse(JSON.stringify(next)) as Record<string, unknown>), pk: FINDING_KEY_PREFIX + next.id };
    const condition =
      expectedVersion === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : { ConditionExpression: '#version = :expected', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':expected': expectedVersion } };
    try {
      await this.retry('PutItem', () => this.doc.send(new PutCommand({ TableName: this.options.tableName, Item: item, ...condition })));
    } catch (e) {
      if (isConditionalFailure(e)) throw new ConcurrentModificationError('Tracked finding', next.id);
      throw e;
    }
  }

  async list(): Promise<TrackedFinding[]> {
    const found: TrackedFinding[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.retry('Scan', () =>
        this.doc.send(
          new ScanCommand({
            TableName: this.options.tableName,
            FilterExpression: 'begins_with(pk, :prefix)',
            ExpressionAttributeValues: { ':prefix': FINDING_KEY_PREFIX },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) found.push(fromItem(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  }

  private retry<T>(operation: string, call: () => Promise<T>): Promise<T> {
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

function fromItem(item: Record<string, unknown>): TrackedFinding {
  const { pk: _pk, ...rest } = item;
  return rest as unknown as TrackedFinding;
}
