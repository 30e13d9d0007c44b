/**
 * The session cuts per permission set (core/services/session-cut.ts) in DynamoDB: items in the grant
 * ledger table, `pk` = `sessioncut#<permission set ARN>`, like the tracked findings (the functions
 * that revoke and reconcile already read and write that table: no new table or permission). Every
 * write is a compare-and-swap on `version`; the ledger adapter skips these items.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ConcurrentModificationError } from '../../core/errors';
import type { SessionCutState } from '../../core/model';
import type { Clock, SessionCutStore } from '../../core/ports';
import { isConditionalFailure } from './dynamo-requests';
import { DEFAULT_RETRY, isTransientAwsError, type RetryPolicy, withRetry } from './retry';

export const SESSION_CUT_KEY_PREFIX = 'sessioncut#';

export interface DynamoSessionCutStoreOptions {
  /** The ledger table. */
  tableName: string;
  clock: Clock;
  random?: () => number;
  retry?: RetryPolicy;
}

export class DynamoSessionCutStore implements SessionCutStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly options: DynamoSessionCutStoreOptions,
  ) {}

  async get(permissionSetArn: string): Promise<SessionCutState | undefined> {
    const out = await this.retry('GetItem', () => this.doc.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: SESSION_CUT_KEY_PREFIX + permissionSetArn }, ConsistentRead: true })));
    return out.Item ? fromItem(out.Item) : undefined;
  }

  async put(next: SessionCutState, expectedVersion: number | undefined): Promise<void> {
    const item = { ...(JSON.parse(JSON.stringify(next)) as Record<string, unknown>), pk: SESSION_CUT_KEY_PREFIX + next.permissionSetArn };
    const condition =
      expectedVersion === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : { ConditionExpression: '#version = :expected', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':expected': expectedVersion } };
    try {
      await this.retry('PutItem', () => this.doc.send(new PutCommand({ TableName: this.options.tableName, Item: item, ...condition })));
    } catch (e) {
      if (isConditionalFailure(e)) throw new ConcurrentModificationError('Session cut state', next.permissionSetArn);
      throw e;
    }
  }

  async list(): Promise<SessionCutState[]> {
    const found: SessionCutState[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.retry('Scan', () =>
        this.doc.send(
          new ScanCommand({
            TableName: this.options.tableName,
            FilterExpression: 'begins_with(pk, :prefix)',
            ExpressionAttributeValues: { ':prefix': SESSION_CUT_KEY_PREFIX },
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

function fromItem(item: Record<string, unknown>): SessionCutState {
  const { pk: _pk, ...rest } = item;
  return rest as unknown as SessionCutState;
}
