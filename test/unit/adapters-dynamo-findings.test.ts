/**
 * The tracked findings in DynamoDB (lambdas/adapters/dynamo-findings-state.ts): items in the ledger
 * table under `finding#`, compare-and-swap writes, a list that reads only the live ones (the sparse
 * `byLive` index), and a ledger that never mistakes them for ledger entries.
 */
import { strict as assert } from 'node:assert';
import { ConcurrentModificationError } from '../../core/errors';
import { FakeClock } from '../../core/memory';
import type { TrackedFinding } from '../../core/model';
import { DynamoFindingsState } from '../../lambdas/adapters/dynamo-findings-state';
import { DynamoGrantLedger } from '../../lambdas/adapters/dynamo-ledger';
import { capturingDocumentClient } from '../support/aws-capture';
import { FakeDynamoDB } from '../support/fake-dynamodb';
import { productTable } from '../support/product-tables';

const NS = 'com.amazonaws.dynamodb.v20120810#';
const conditionFailed = { status: 400, body: { __type: `${NS}ConditionalCheckFailedException`, message: 'The conditional request failed' } };

const tracked: TrackedFinding = {
  id: 'jit/drift/111111111111|arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111|u-1',
  finding: { id: 'jit/drift/x', kind: 'assignment_drift', severity: 'HIGH', title: 't', description: 'd', accountId: '111111111111', resourceId: 'r', at: '2030-01-01T00:00:00.000Z' },
  fingerprint: '[]',
  imported: false,
  failedAttempts: 0,
  version: 1,
  updatedAt: '2030-01-01T00:00:00.000Z',
};

describe('adapters: DynamoDB tracked findings (in the ledger table)', () => {
  const clock = new FakeClock();

  it('writes under finding#<id> with compare-and-swap, and reads back what it wrote', async () => {
    let stored: Record<string, unknown> | undefined;
    const { doc, calls } = capturingDocumentClient((command, input) => {
      if (command === 'PutItemCommand') {
        stored = input.Item as Record<string, unknown>;
        return {};
      }
      return { Item: stored };
    });
    const state = new DynamoFindingsState(doc, { tableName: 'ledger', clock });
    await state.put(tracked, undefined);
    await state.put({ ...tracked, imported: true, version: 2 }, 1);
    assert.deepEqual(stored?.pk, { S: `finding#${tracked.id}` });
    assert.deepEqual(calls.map((c) => (c.input as { ConditionExpression?: string }).ConditionExpression), ['attribute_not_exists(pk)', '#version = :expected']);
    assert.deepEqual(await state.get(tracked.id), { ...tracked, imported: true, version: 2 });
  });

  it('a lost race is a ConcurrentModificationError', async () => {
    const { doc } = capturingDocumentClient(() => conditionFailed);
    const state = new DynamoFindingsState(doc, { tableName: 'ledger', clock });
    await assert.rejects(state.put(tracked, undefined), ConcurrentModificationError);
    await assert.rejects(state.put(tracked, 3), ConcurrentModificationError);
  });

  it('lists only live findings (unimported, or unresolved drift) from the sparse live index; the ledger never lists them', async () => {
    const db = new FakeDynamoDB({ ledger: productTable('ledger') });
    const { doc, calls } = capturingDocumentClient(db.respond);
    const state = new DynamoFindingsState(doc, { tableName: 'ledger', clock });
    const ledger = new DynamoGrantLedger(doc, { tableName: 'ledger', clock });
    const resolved = { ...tracked, id: 'jit/drift/gone', finding: { ...tracked.finding, resolved: true }, imported: true };
    const breakGlass = { ...tracked, id: 'jit/break-glass/req-1', finding: { ...tracked.finding, kind: 'break_glass_used' as const }, imported: true };
    await state.put({ ...tracked, imported: true }, undefined);
    await state.put(resolved, undefined);
    await state.put(breakGlass, undefined);
    await state.put({ ...breakGlass, id: 'jit/break-glass/req-2' }, undefined);
    await state.put({ ...breakGlass, id: 'jit/break-glass/req-2', imported: false, version: 2 }, 1);
    await ledger.put({ key: { accountId: '111111111111', permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111', userId: 'u-1' }, activeGrantIds: ['req-1'], version: 1, updatedAt: '2030-01-01T00:00:00.000Z' }, undefined);
    calls.length = 0;
    assert.deepEqual((await state.list()).map((t) => t.id).sort(), ['jit/break-glass/req-2', tracked.id]);
    assert.deepEqual((await ledger.list()).map((e) => e.activeGrantIds), [['req-1']]);
    assert.deepEqual(calls.map((c) => [c.command, (c.input as { IndexName?: string }).IndexName]), [['QueryCommand', 'byLive'], ['QueryCommand', 'byLive']]);
  });
});
