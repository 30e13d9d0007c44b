/**
 * Key schemas of the tables. The adapters in lambdas/aws own the attribute names; this file maps
 * them onto table definitions so that a renamed key breaks the type check, not production.
 */
export interface TableSchema {
  constructId: string;
  partitionKey: string;
  sortKey?: string;
  ttlAttribute?: string;
  indexes: Array<{ name: string; partitionKey: string; sortKey?: string }>;
}

export const TABLE_SCHEMAS: Record<'requests' | 'ledger' | 'audit' | 'conversations', TableSchema> = {
  requests: {
    constructId: 'RequestsTable',
    partitionKey: 'pk',
    indexes: [],
  },
  ledger: { constructId: 'LedgerTable', partitionKey: 'pk', indexes: [] },
  audit: { constructId: 'AuditTable', partitionKey: 'pk', sortKey: 'sk', indexes: [] },
  // bot/storage/dynamodb.ts: one string key `pk`, TTL on `ttl` (epoch seconds).
  conversations: { constructId: 'ConversationsTable', partitionKey: 'pk', ttlAttribute: 'ttl', indexes: [] },
};
