/**
 * Key schemas of the tables. The adapters in lambdas/adapters own the attribute names; this file
 * maps them onto table definitions so that a renamed key breaks the type check, not production.
 */
import { LEDGER_INDEXES } from '../../lambdas/adapters/dynamo-live-index';
import { REQUESTS_INDEXES } from '../../lambdas/adapters/dynamo-requests';

export interface TableSchema {
  constructId: string;
  partitionKey: string;
  sortKey?: string;
  ttlAttribute?: string;
  indexes: Array<{ name: string; partitionKey: string; sortKey?: string }>;
}

export const TABLE_SCHEMAS: Record<'requests' | 'ledger' | 'audit' | 'conversations', TableSchema> = {
  // Listing ("mine", "pending", reconcile's sweep) queries these instead of scanning.
  requests: {
    constructId: 'RequestsTable',
    partitionKey: 'pk',
    indexes: Object.values(REQUESTS_INDEXES).map((i) => ({ name: i.name, partitionKey: i.partitionKey, sortKey: i.sortKey })),
  },
  // Sparse: only live items (held grants, open findings, queued session cuts) carry its key;
  // reconcile queries it instead of scanning the table's history (lambdas/adapters/dynamo-live-index.ts).
  ledger: { constructId: 'LedgerTable', partitionKey: 'pk', indexes: Object.values(LEDGER_INDEXES).map((i) => ({ name: i.name, partitionKey: i.partitionKey })) },
  audit: { constructId: 'AuditTable', partitionKey: 'pk', sortKey: 'sk', indexes: [] },
  // bot/storage/dynamodb.ts: one string key `pk`, TTL on `ttl` (epoch seconds).
  conversations: { constructId: 'ConversationsTable', partitionKey: 'pk', ttlAttribute: 'ttl', indexes: [] },
};
