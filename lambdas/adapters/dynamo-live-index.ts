/**
 * The ledger table's sparse index of the items reconcile must look at. The table keeps history for
 * good (an entry released by its last grant, a resolved and imported finding), and a scan of it grew
 * with every request ever granted. Instead, every write of an item sets `liveKind` (its kind) while
 * the item is live and leaves it out once it is not, in the same PutItem: DynamoDB writes an item
 * into a global secondary index only when it carries the index's key attributes, so the index holds
 * the live items only (Amazon DynamoDB Developer Guide, "Take advantage of sparse indexes",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-indexes-general-sparse-indexes.html).
 * The sweep queries one partition per kind; its reads follow live grants, not history.
 *
 * A global secondary index is read eventually consistently only: an item written a moment before a
 * sweep may be missed (or seen in its former state) by that sweep. Every action of the sweep re-reads
 * its item consistently before it writes, so a stale index only moves the action to the next sweep.
 */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';

/** The attribute the index is keyed on; present only while the item is live. */
export const LIVE_ATTRIBUTE = 'liveKind';

/** The index (partition key only, projection ALL). infra/constructs/table-schemas.ts creates it. */
export const LEDGER_INDEXES = {
  byLive: { name: 'byLive', partitionKey: LIVE_ATTRIBUTE },
} as const;

/** The kinds of item in the ledger table: the index's partitions. */
export const LIVE_KIND = { ledgerEntry: 'ledger', finding: 'finding', sessionCut: 'sessioncut' } as const;
export type LiveKind = (typeof LIVE_KIND)[keyof typeof LIVE_KIND];

/** The item with `liveKind` set when live, and without it otherwise (a Put replaces the whole item). */
export function withLiveKind(item: Record<string, unknown>, kind: LiveKind, live: boolean): Record<string, unknown> {
  const { [LIVE_ATTRIBUTE]: _old, ...rest } = item;
  return live ? { ...rest, [LIVE_ATTRIBUTE]: kind } : rest;
}

/** Every live item of one kind, across pages. */
export async function queryLive(
  doc: DynamoDBDocumentClient,
  tableName: string,
  kind: LiveKind,
  retry: <T>(operation: string, call: () => Promise<T>) => Promise<T>,
): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await retry('Query', () =>
      doc.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: LEDGER_INDEXES.byLive.name,
          KeyConditionExpression: '#live = :kind',
          ExpressionAttributeNames: { '#live': LIVE_ATTRIBUTE },
          ExpressionAttributeValues: { ':kind': kind },
          ExclusiveStartKey: startKey,
        }),
      ),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}
