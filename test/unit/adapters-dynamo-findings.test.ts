/**
 * The tracked findings in DynamoDB (lambdas/adapters/dynamo-findings-state.ts): items in the ledger
 * table under `finding#`, compare-and-swap writes, a scan that reads only them, and a ledger that
 * never mistakes them for ledger entries.
 */
import { strict as assert } from 'node:assert';
import { ConcurrentModificationError } from '../../core/errors';
import { FakeClock } from '../../core/memory';
import type { TrackedFinding } from '../../core/model';
import { DynamoFindingsState } from '../../lambdas/adapters/dynamo-findings-state';
import { DynamoGrantLedger } from '../../lambdas/adapters/dynamo-ledger';
import { marshall } from '@aws-sdk/util-dynamodb';
import { capturingDocumentClient } from '../support/aws-capture';

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

  it('lists only finding items, across pages; the ledger skips them', async () => {
    const ledgerItem = { pk: '111111111111|arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111|u-1', key: { accountId: '111111111111', permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111', userId: 'u-1' }, activeGrantIds: ['req-1'], version: 1, updatedAt: '2030-01-01T00:00:00.000Z' };
    // A finding item that happens to carry ledger-like attributes must still not be a ledger entry.
    const findingItem = { ...tracked, pk: `finding#${tracked.id}`, activeGrantIds: ['x'] };
    const { doc, calls } = capturingDocumentClient((command, input) => {
      if (command !== 'ScanCommand') return {};
      const m = (items: Array<Record<string, unknown>>) => items.map((i) => marshall(i, { removeUndefinedValues: true }));
      const filtered = (input.FilterExpression as string | undefined)?.startsWith('begins_with');
      if (!input.ExclusiveStartKey) return { Items: m(filtered ? [] : [ledgerItem]), LastEvaluatedKey: { pk: { S: 'page-2' } } };
      return { Items: m([findingItem]) };
    });
    const state = new DynamoFindingsState(doc, { tableName: 'ledger', clock });
    const list = await state.list();
    assert.deepEqual(list.map((t) => t.id), [tracked.id]);
    assert.deepEqual((calls[0]!.input as { ExpressionAttributeValues: Record<string, unknown> }).ExpressionAttributeValues[':prefix'], { S: 'finding#' });
    const ledger = new DynamoGrantLedger(doc, { tableName: 'ledger', clock });
    assert.deepEqual((await ledger.list()).map((e) => e.activeGrantIds), [['req-1']]);
  });
});
