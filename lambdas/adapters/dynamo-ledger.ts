/**
 * The grant ledger in DynamoDB: one item per assignment (user, permission set, account), keyed
 * `pk` = assignmentKeyId, every write a compare-and-swap on `version`. A live entry
 * (isLiveLedgerEntry) is also in the table's sparse `byLive` index, which is what reconcile lists:
 * the write that releases an entry's last grant takes it out (dynamo-live-index.ts).
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConcurrentModificationError } from '../../core/errors';
import { type AssignmentKey, assignmentKeyId, isLiveLedgerEntry, type LedgerEntry } from '../../core/model';
import type { Clock, GrantLedger } from '../../core/ports';
import { isConditionalFailure } from './dynamo-requests';
import { LIVE_ATTRIBUTE, LIVE_KIND, queryLive, withLiveKind } from './dynamo-live-index';
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
    const item = withLiveKind({ ...(JSON.parse(JSON.stringify(entry)) as Record<string, unknown>), pk: id }, LIVE_KIND.ledgerEntry, isLiveLedgerEntry(entry));
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
    const items = await queryLive(this.doc, this.options.tableName, LIVE_KIND.ledgerEntry, (operation, call) => this.retry(operation, call));
    // The index is eventually consistent: an entry released a moment ago may still be in it.
    return items.map(fromItem).filter(isLiveLedgerEntry);
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
  const { pk: _pk, [LIVE_ATTRIBUTE]: _live, ...entry } = item;
  const e = entry as unknown as LedgerEntry;
  return { ...e, activeGrantIds: Array.isArray(e.activeGrantIds) ? e.activeGrantIds : [] };
}
