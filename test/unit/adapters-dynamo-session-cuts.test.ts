/**
 * The session cuts in DynamoDB (lambdas/adapters/dynamo-session-cuts.ts): items in the ledger table
 * under `sessioncut#<permission set ARN>`, compare-and-swap writes (the per-set lease depends on
 * them), a list that reads only the live ones (the sparse `byLive` index), and a ledger that never
 * mistakes them for ledger entries.
 */
import { strict as assert } from 'node:assert';
import { ConcurrentModificationError } from '../../core/errors';
import { FakeClock } from '../../core/memory';
import type { SessionCutState } from '../../core/model';
import { DynamoGrantLedger } from '../../lambdas/adapters/dynamo-ledger';
import { DynamoSessionCutStore } from '../../lambdas/adapters/dynamo-session-cuts';
import { capturingDocumentClient } from '../support/aws-capture';
import { FakeDynamoDB } from '../support/fake-dynamodb';
import { productTable } from '../support/product-tables';

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

  it('lists only live session-cut items, from the sparse live index; the ledger never lists them', async () => {
    const db = new FakeDynamoDB({ ledger: productTable('ledger') });
    const { doc, calls } = capturingDocumentClient(db.respond);
    const store = new DynamoSessionCutStore(doc, { tableName: 'ledger', clock });
    const ledger = new DynamoGrantLedger(doc, { tableName: 'ledger', clock });
    const other = 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-2222222222222222';
    await store.put(state, undefined);
    // Nothing queued or applied: the sweep has nothing to do on this permission set.
    await store.put({ ...state, permissionSetArn: other, pending: [], leaseUntil: undefined }, undefined);
    await ledger.put({ key: { accountId: '111111111111', permissionSetArn: PS, userId: 'u-1' }, ownership: 'OURS', activeGrantIds: ['req-1'], version: 1, updatedAt: '2030-01-01T00:00:00.000Z' }, undefined);
    calls.length = 0;
    assert.deepEqual((await store.list()).map((s) => s.permissionSetArn), [PS]);
    assert.deepEqual((await ledger.list()).map((e) => e.activeGrantIds), [['req-1']]);
    assert.deepEqual(calls.map((c) => [c.command, (c.input as { IndexName?: string }).IndexName]), [['QueryCommand', 'byLive'], ['QueryCommand', 'byLive']]);
    // Drained: the write that empties it takes it out of the index.
    await store.put({ ...state, pending: [], version: 2 }, 1);
    assert.deepEqual(await store.list(), []);
    assert.equal(db.items('ledger').find((i) => i.pk === `sessioncut#${PS}`)?.liveKind, undefined);
  });
});
