/**
 * The grant ledger in DynamoDB: one item per assignment (user, permission set, account), keyed
 * `pk` = assignmentKeyId, every write a compare-and-swap on `version`.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ConcurrentModificationError } from '../../core/errors';
import { type AssignmentKey, assignmentKeyId, type LedgerEntry } from '../../core/model';
import type { Clock, GrantLedger } from '../../core/ports';
import { FINDING_KEY_PREFIX } from './dynamo-findings-state';
import { isConditionalFailure } from './dynamo-requests';
import { SESSION_CUT_KEY_PREFIX } from './dynamo-session-cuts';
import { DEFAULT_RETRY, isTransientAwsError, type RetryPolicy, withRetry } from './retry';

export interface DynamoGrantLedgerOptions {
  tableName: string;
  clock: Clock;
  random?: () => number;
  retry?: RetryPolicy;
}

export class DynamoGrantLedger implements GrantLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly options: DynamoGrantLedgerOptions,
  ) {}

  async get(key: AssignmentKey): Promise<LedgerEntry | undefined> {
    const out = await this.retry('GetItem', () => this.doc.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: assignmentKeyId(key) }, ConsistentRead: true })));
    return out.Item ? fromItem(out.Item) : undefined;
  }

  async put(entry: LedgerEntry, expectedVersion: number | undefined): Promise<void> {
    const id = assignmentKeyId(entry.key);
    const item = { ...(JSON.parse(JSON.stringify(entry)) as Record<string, unknown>), pk: id };
    const condition =
      expectedVersion === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : { ConditionExpression: '#version = :expected', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':expected': expectedVersion } };
    try {
      await this.retry('PutItem', () => this.doc.send(new PutCommand({ TableName: this.options.tableName, Item: item, ...condition })));
    } catch (e) {
      if (isConditionalFailure(e)) throw new ConcurrentModificationError('Ledger entry', id);
      throw e;
    }
  }

  async list(): Promise<LedgerEntry[]> {
    const entries: LedgerEntry[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.retry('Scan', () => this.doc.send(new ScanCommand({ TableName: this.options.tableName, ExclusiveStartKey: startKey })));
      // The table also holds the tracked findings (dynamo-findings-state.ts): not ledger entries.
      for (const item of page.Items ?? []) if (!String(item.pk).startsWith(FINDING_KEY_PREFIX) && !String(item.pk).startsWith(SESSION_CUT_KEY_PREFIX)) entries.push(fromItem(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return entries.filter((e) => e.activeGrantIds.length > 0 || e.ownership !== undefined || e.deleting);
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

function fromItem(item: Record<string, unknown>): LedgerEntry {
  const { pk: _pk, ...entry } = item;
  const e = entry as unknown as LedgerEntry;
  return { ...e, activeGrantIds: Array.isArray(e.activeGrantIds) ? e.activeGrantIds : [] };
}
