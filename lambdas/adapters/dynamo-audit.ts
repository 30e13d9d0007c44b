/**
 * The append-only audit table (written by the audit-writer function from the audit bus). Keyed by
 * request (`pk`) and event id (`sk`); a put is conditional on the event being new, so at-least-once
 * delivery and replays store each event exactly once and never overwrite one.
 */
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../../core/model';
import type { AuditSink, Clock } from '../../core/ports';
import { isConditionalFailure } from './dynamo-requests';
import { DEFAULT_RETRY, isTransientAwsError, type RetryPolicy, withRetry } from './retry';

export interface DynamoAuditTableOptions {
  tableName: string;
  clock: Clock;
  random?: () => number;
  retry?: RetryPolicy;
}

export class DynamoAuditTableSink implements AuditSink {
  /** Events that were already stored (replays), for logs and tests. */
  duplicates = 0;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly options: DynamoAuditTableOptions,
  ) {}

  async append(events: readonly AuditEvent[]): Promise<void> {
    for (const event of events) {
      const item = { ...(JSON.parse(JSON.stringify(event)) as Record<string, unknown>), pk: `request#${event.requestId}`, sk: event.eventId };
      try {
        await withRetry(
          {
            clock: this.options.clock,
            random: this.options.random ?? Math.random,
            policy: this.options.retry ?? { ...DEFAULT_RETRY, maxAttempts: 4 },
            dependency: 'DynamoDB',
            operation: 'PutItem',
            isRetryable: (e) => !isConditionalFailure(e) && isTransientAwsError(e),
          },
          () => this.doc.send(new PutCommand({ TableName: this.options.tableName, Item: item, ConditionExpression: 'attribute_not_exists(eventId)' })),
        );
      } catch (e) {
        if (isConditionalFailure(e)) {
          this.duplicates++;
          continue;
        }
        throw e;
      }
    }
  }
}
