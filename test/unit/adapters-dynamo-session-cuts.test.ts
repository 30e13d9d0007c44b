/**
 * The session cuts in DynamoDB (lambdas/adapters/dynamo-session-cuts.ts): items in the ledger table
 * under `sessioncut#<permission set ARN>`, compare-and-swap writes (the per-set lease depends on
 * them), a scan that reads only them, and a ledger that never mistakes them for ledger entries.
 */
import { strict as assert } from 'node:assert';
import { marshall } from '@aws-sdk/util-dynamodb';
import { ConcurrentModificationError } from '../../core/errors';
import { FakeClock } from '../../core/memory';
import type { SessionCutState } from '../../core/model';
import { DynamoGrantLedger } from '../../lambdas/adapters/dynamo-ledger';
import { DynamoSessionCutStore } from '../../lambdas/adapters/dynamo-session-cuts';
import { capturingDocumentClient } from '../support/aws-capture';

const NS = 'com.amazonaws.dynamodb.v20120810#';
const conditionFailed = { status: 400, body: { __type: `${NS}ConditionalCheckFailedException`, message: 'The conditional request failed' } };
const PS = 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111';
const state: SessionCutState = {
  permissionSetArn: PS,
  pending: [{ requestId: 'req-1', userId: 'u-1', accountId: '111111111111', cutoff: '2030-01-01T00:00:01Z', queuedAt: '2030-01-01T00:00:00.500Z' }],
  applied: [],
  leaseUntil: '2030-01-01T00:03:00.000Z',
  failedAttempts: 0,
  version: 1,
  updatedAt: '2030-01-01T00:00:00.500Z',
};

describe('adapters: DynamoDB session cuts (in the ledger table)', () => {
  const clock = new FakeClock();

  it('writes under sessioncut#<arn> with compare-and-swap, and reads back what it wrote', async () => {
    let stored: Record<string, unknown> | undefined;
    const { doc, calls } = capturingDocumentClient((command, input) => {
      if (command === 'PutItemCommand') {
        stored = input.Item as Record<string, unknown>;
        return {};
      }
      return { Item: stored };
    });
    const store = new DynamoSessionCutStore(doc, { tableName: 'ledger', clock });
    await store.put(state, undefined);
    await store.put({ ...state, version: 2 }, 1);
    assert.deepEqual(stored?.pk, { S: `sessioncut#${PS}` });
    assert.deepEqual(calls.map((c) => (c.input as { ConditionExpression?: string }).ConditionExpression), ['attribute_not_exists(pk)', '#version = :expected']);
    assert.deepEqual(await store.get(PS), { ...state, version: 2 });
  });

  it('a lost race (two callers taking the lease) is a ConcurrentModificationError', async () => {
    const { doc } = capturingDocumentClient(() => conditionFailed);
    const store = new DynamoSessionCutStore(doc, { tableName: 'ledger', clock });
    await assert.rejects(store.put(state, undefined), ConcurrentModificationError);
    await assert.rejects(store.put(state, 3), ConcurrentModificationError);
  });

  it('lists only session-cut items; the ledger skips them', async () => {
    const ledgerItem = { pk: `111111111111|${PS}|u-1`, key: { accountId: '111111111111', permissionSetArn: PS, userId: 'u-1' }, activeGrantIds: ['req-1'], version: 1, updatedAt: '2030-01-01T00:00:00.000Z' };
    const cutItem = { ...state, pk: `sessioncut#${PS}`, activeGrantIds: ['x'] };
    const { doc, calls } = capturingDocumentClient((command, input) => {
      if (command !== 'ScanCommand') return {};
      const m = (items: Array<Record<string, unknown>>) => items.map((i) => marshall(i, { removeUndefinedValues: true }));
      const filtered = (input.FilterExpression as string | undefined)?.startsWith('begins_with');
      return { Items: m(filtered ? [cutItem] : [ledgerItem, cutItem]) };
    });
    const store = new DynamoSessionCutStore(doc, { tableName: 'ledger', clock });
    assert.deepEqual((await store.list()).map((s) => s.permissionSetArn), [PS]);
    assert.deepEqual((calls[0]!.input as { ExpressionAttributeValues: Record<string, unknown> }).ExpressionAttributeValues[':prefix'], { S: 'sessioncut#' });
    const ledger = new DynamoGrantLedger(doc, { tableName: 'ledger', clock });
    assert.deepEqual((await ledger.list()).map((e) => e.activeGrantIds), [['req-1']]);
  });
});
