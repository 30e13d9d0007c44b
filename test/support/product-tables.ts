/**
 * The product's tables as the fake DynamoDB knows them: keys and global secondary indexes taken from
 * infra/constructs/table-schemas.ts, the definitions the stack creates, so a test or benchmark runs
 * the adapters against the indexes production has (sparse ones included).
 */
import { TABLE_SCHEMAS } from '../../infra/constructs/table-schemas';
import { FakeDynamoDB, type FakeTable } from './fake-dynamodb';

export function productTable(name: keyof typeof TABLE_SCHEMAS): FakeTable {
  const schema = TABLE_SCHEMAS[name];
  return { key: schema.partitionKey, indexes: Object.fromEntries(schema.indexes.map((i) => [i.name, { partitionKey: i.partitionKey, ...(i.sortKey ? { sortKey: i.sortKey } : {}) }])) };
}

/** A fake DynamoDB with the requests and ledger tables under the given names. */
export function productDynamo(names: { requests: string; ledger: string }): FakeDynamoDB {
  return new FakeDynamoDB({ [names.requests]: productTable('requests'), [names.ledger]: productTable('ledger') });
}
