/**
 * At most one open request per (requester, account, permission set), enforced by DynamoDB itself:
 * the DynamoDB request store against a fake DynamoDB that applies TransactWriteItems as AWS does
 * (test/support/fake-dynamodb.ts), driven through the core services like the bridge drives them.
 */
import { strict as assert } from 'node:assert';
import { ConcurrentModificationError, OpenRequestExistsError } from '../../core/errors';
import type { StoredRequest } from '../../core/model';
import * as svc from '../../core/services';
import { DynamoRequestStore, REQUESTS_INDEXES, openRequestKey, requestKey } from '../../lambdas/adapters/dynamo-requests';
import { assertCallsConform, capturingDocumentClient } from '../support/aws-capture';
import { FakeDynamoDB } from '../support/fake-dynamodb';
import { actor, body, grant, startWorkflow, world } from '../support/core-world';

const TABLE = 'requests';
const indexes = Object.fromEntries(Object.values(REQUESTS_INDEXES).map((i) => [i.name, { partitionKey: i.partitionKey, sortKey: i.sortKey }]));

function dynamoWorld(useIndexes: boolean) {
  const w = world();
  const db = new FakeDynamoDB({ [TABLE]: { key: 'pk', indexes } });
  const { doc, calls } = capturingDocumentClient(db.respond);
  const store = new DynamoRequestStore(doc, { tableName: TABLE, clock: w.clock, useIndexes, random: () => 0 });
  (w as { deps: typeof w.deps }).deps = { ...w.deps, requests: store };
  const guards = () => db.items(TABLE).filter((i) => i.kind === 'open_request' && i.requestId !== undefined);
  return { w, db, store, calls, guards };
}

const submit = (w: ReturnType<typeof world>, who: 'alice' | 'bob' = 'alice', over: Parameters<typeof body>[0] = {}) => svc.submitRequest(w.deps, { actor: actor(who), body: body(over) });

describe('adapters: DynamoDB request store, one open request per person and access', () => {
  for (const useIndexes of [true, false]) {
    describe(useIndexes ? 'with the table indexes' : 'listing by scan', () => {
      it('two concurrent submits for the same access: exactly one request, the other gets OpenRequestExistsError naming it', async () => {
        const { w, db, guards } = dynamoWorld(useIndexes);
        const results = await Promise.allSettled([submit(w), submit(w)]);
        const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
        assert.equal(won.length, 1, `results: ${results.map((r) => r.status).join(', ')}`);
        assert.equal(lost.length, 1);
        assert.ok(lost[0] instanceof OpenRequestExistsError, String(lost[0]));
        assert.equal(lost[0].existingRequestId, won[0]!.request.id);
        assert.match(lost[0].message, /PowerUser on prod, waiting for approval/);
        assert.equal(db.items(TABLE).filter((i) => i.kind === 'request').length, 1);
        assert.deepEqual(guards().map((g) => g.requestId), [won[0]!.request.id]);
      });

      it('other people, accounts and permission sets are not blocked', async () => {
        const { w } = dynamoWorld(useIndexes);
        await Promise.all([submit(w), submit(w, 'bob'), submit(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 })]);
      });
    });
  }

  it('the guard is released with the transition to a final state, and a new request can be made', async () => {
    const { w, guards } = dynamoWorld(true);
    const first = await submit(w);
    await svc.cancelRequest(w.deps, { requestId: first.request.id, actor: actor('alice') });
    assert.deepEqual(guards(), []);
    const second = await submit(w);
    assert.deepEqual(guards().map((g) => g.requestId), [second.request.id]);
    await startWorkflow(w, second.request.id);
    await svc.castVote(w.deps, { requestId: second.request.id, actor: actor('carol'), decision: 'deny' });
    assert.deepEqual(guards(), [], 'denied: released');
  });

  it('an active grant is not open: the guard goes with GRANTING -> ACTIVE, and later writes of that grant leave a newer open request alone', async () => {
    const { w, guards, store } = dynamoWorld(true);
    const first = await submit(w);
    await startWorkflow(w, first.request.id);
    await svc.castVote(w.deps, { requestId: first.request.id, actor: actor('carol'), decision: 'approve' });
    assert.equal(guards().length, 1, 'APPROVED is still open');
    assert.equal(await grant(w, first.request.id), 'ACTIVE');
    assert.deepEqual(guards(), []);
    const second = await submit(w);
    // The active grant is extended, then revoked, while the second request is open.
    await svc.extendGrant(w.deps, { requestId: first.request.id, actor: actor('alice'), additionalMinutes: 5 });
    await svc.revokeEarly(w.deps, { requestId: first.request.id, actor: actor('alice') });
    assert.equal((await store.get(first.request.id))?.state, 'REVOKED');
    assert.deepEqual(guards().map((g) => g.requestId), [second.request.id], 'the newer request keeps its guard');
    await assert.rejects(submit(w), OpenRequestExistsError);
  });

  it('a guard that outlived its request (a legacy record or a crash) does not block for good', async () => {
    const { w, db, guards } = dynamoWorld(true);
    const first = await submit(w);
    // Ended by something that predates guards: the record is terminal but the guard is still there.
    const table = db.tables.get(TABLE)!;
    const item = table.get(requestKey(first.request.id))!;
    table.set(requestKey(first.request.id), { ...item, state: { S: 'CANCELLED' } });
    const second = await submit(w);
    assert.deepEqual(guards().map((g) => g.requestId), [second.request.id]);
    // A guard whose request is gone altogether is removed too.
    table.delete(requestKey(second.request.id));
    const third = await submit(w);
    assert.deepEqual(guards().map((g) => g.requestId), [third.request.id]);
  });

  it('a legacy open request without a guard can still end (the release tolerates a missing guard)', async () => {
    const { w, db, store } = dynamoWorld(true);
    const first = await submit(w);
    db.tables.get(TABLE)!.delete(openRequestKey((await store.get(first.request.id))!));
    const cancelled = await svc.cancelRequest(w.deps, { requestId: first.request.id, actor: actor('alice') });
    assert.equal(cancelled.state, 'CANCELLED');
  });

  it('a lost compare-and-swap on the final transition is a ConcurrentModificationError and releases nothing', async () => {
    const { w, store, guards } = dynamoWorld(true);
    const first = await submit(w);
    const stale = (await store.get(first.request.id))!;
    await store.update({ ...stale, version: stale.version + 1, executionArn: 'arn:x' } as StoredRequest, stale.version);
    await assert.rejects(store.update({ ...stale, state: 'CANCELLED', version: stale.version + 1 }, stale.version), ConcurrentModificationError);
    assert.equal(guards().length, 1);
  });

  it('every request it sends conforms to the DynamoDB API model (botocore), guard paths included', async () => {
    const { w, db, calls } = dynamoWorld(true);
    await Promise.allSettled([submit(w), submit(w)]);
    const [open] = db.items(TABLE).filter((i) => i.kind === 'request');
    const table = db.tables.get(TABLE)!;
    table.set(requestKey(String(open!.id)), { ...table.get(requestKey(String(open!.id)))!, state: { S: 'CANCELLED' } });
    const fresh = await submit(w);
    await svc.cancelRequest(w.deps, { requestId: fresh.request.id, actor: actor('alice') });
    const commands = new Set(calls.map((c) => c.command));
    for (const c of ['TransactWriteItemsCommand', 'UpdateItemCommand', 'PutItemCommand', 'GetItemCommand', 'QueryCommand']) assert.ok(commands.has(c), c);
    const items = (calls.find((c) => c.command === 'TransactWriteItemsCommand')!.input as { TransactItems: Array<{ Put?: { ReturnValuesOnConditionCheckFailure?: string } }> }).TransactItems;
    assert.equal(items[2]!.Put?.ReturnValuesOnConditionCheckFailure, 'ALL_OLD');
    assertCallsConform('dynamodb', calls);
  });
});

describe('fake DynamoDB: as strict as the service on the rules the stores depend on', () => {
  const db = () => {
    const f = new FakeDynamoDB({ t: { key: 'pk', indexes: { byState: { partitionKey: 'state', sortKey: 'createdAt' } } } });
    return { f, doc: capturingDocumentClient(f.respond).doc };
  };
  const put = (pk: string, condition = true) => ({ Put: { TableName: 't', Item: { pk, v: 1 }, ...(condition ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}) } });

  it('a failed condition cancels the whole transaction: TransactionCanceledException, one reason per action in order, nothing written', async () => {
    const { f, doc } = db();
    const { TransactWriteCommand } = await import('@aws-sdk/lib-dynamodb');
    await doc.send(new TransactWriteCommand({ TransactItems: [put('a')] }));
    await assert.rejects(doc.send(new TransactWriteCommand({ TransactItems: [put('b'), put('a'), put('c')] })), (e: unknown) => {
      const err = e as Error & { CancellationReasons?: Array<{ Code: string }> };
      assert.equal(err.name, 'TransactionCanceledException');
      assert.deepEqual(err.CancellationReasons?.map((r) => r.Code), ['None', 'ConditionalCheckFailed', 'None']);
      return true;
    });
    assert.deepEqual(f.items('t').map((i) => i.pk), ['a']);
  });

  it('refuses two operations on one item in one transaction, and more than 100 actions', async () => {
    const { doc } = db();
    const { TransactWriteCommand } = await import('@aws-sdk/lib-dynamodb');
    await assert.rejects(doc.send(new TransactWriteCommand({ TransactItems: [put('a'), put('a', false)] })), /Transaction request cannot include multiple operations on one item/);
    await assert.rejects(doc.send(new TransactWriteCommand({ TransactItems: Array.from({ length: 101 }, (_, i) => put(`k${i}`)) })), /less than or equal to 100/);
  });

  it('refuses unused or undefined expression attribute names and values', async () => {
    const { doc } = db();
    const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
    await assert.rejects(doc.send(new PutCommand({ TableName: 't', Item: { pk: 'a' }, ConditionExpression: 'attribute_not_exists(pk)', ExpressionAttributeValues: { ':x': 1 } })), /ExpressionAttributeValues unused/);
    await assert.rejects(doc.send(new PutCommand({ TableName: 't', Item: { pk: 'a' }, ConditionExpression: '#v = :x', ExpressionAttributeNames: { '#v': 'v' } })), /not defined/);
  });

  it('a strongly consistent Query of a global secondary index is refused; an item without the index key is not in it', async () => {
    const { doc } = db();
    const { PutCommand, QueryCommand } = await import('@aws-sdk/lib-dynamodb');
    await doc.send(new PutCommand({ TableName: 't', Item: { pk: 'a', state: 'OPEN', createdAt: '1' } }));
    await doc.send(new PutCommand({ TableName: 't', Item: { pk: 'b', createdAt: '2' } }));
    const q = { TableName: 't', IndexName: 'byState', KeyConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': 'state' }, ExpressionAttributeValues: { ':s': 'OPEN' } };
    await assert.rejects(doc.send(new QueryCommand({ ...q, ConsistentRead: true })), /Consistent reads are not supported on global secondary indexes/);
    assert.deepEqual((await doc.send(new QueryCommand(q))).Items?.map((i) => i.pk), ['a']);
  });
});
