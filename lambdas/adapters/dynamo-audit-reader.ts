/**
 * The KPIs' read of the audit table, apart from its writer (lambdas/adapters/dynamo-audit.ts):
 * the bridge bundles the reader only.
 */
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { LimitExceededError } from '../../core/errors';
import type { AuditEvent } from '../../core/model';
import type { AuditReader } from '../../core/ports';
import type { DynamoAuditTableOptions } from './dynamo-audit';
import { DEFAULT_RETRY, isTransientAwsError, withRetry } from './retry';

/** More events than one KPI read holds in memory: the caller asks for a shorter period instead. */
export const MAX_AUDIT_EVENTS_READ = 100_000;

/**
 * The KPIs' read of the audit table: a paginated Scan filtered on `at` (the table is keyed by
 * request, so there is no time index to query; a week of a team's requests is a few thousand
 * small items). A Scan page stops at 1 MB before the filter applies ("Scan", Amazon DynamoDB API
 * Reference, https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Scan.html), so
 * the reader follows LastEvaluatedKey until it is absent, even past empty pages.
 */
export class DynamoAuditTableReader implements AuditReader {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly options: DynamoAuditTableOptions,
  ) {}

  async eventsSince(sinceIso: string): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await withRetry(
        { clock: this.options.clock, random: this.options.random ?? Math.random, policy: this.options.retry ?? DEFAULT_RETRY, dependency: 'DynamoDB', operation: 'Scan', isRetryable: isTransientAwsError },
        () =>
          this.doc.send(
            new ScanCommand({
              TableName: this.options.tableName,
              FilterExpression: '#at >= :since',
              ExpressionAttributeNames: { '#at': 'at' },
              ExpressionAttributeValues: { ':since': sinceIso },
              ExclusiveStartKey: startKey,
            }),
          ),
      );
      for (const item of page.Items ?? []) {
        const { pk: _pk, sk: _sk, ...event } = item as Record<string, unknown>;
        if (typeof event.eventId === 'string' && typeof event.requestId === 'string' && typeof event.at === 'string' && typeof event.action === 'string') events.push(event as unknown as AuditEvent);
      }
      if (events.length > MAX_AUDIT_EVENTS_READ) throw new LimitExceededError(`More than ${MAX_AUDIT_EVENTS_READ} audit events since ${sinceIso}: ask for a shorter period.`);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return events;
  }
}
