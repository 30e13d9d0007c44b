/**
 * The DynamoDB stores' races: compare-and-swap conflicts, two submits with one idempotency key,
 * duplicate audit events from at-least-once delivery, and throttling.
 */
import { strict as assert } from 'node:assert';
import { AlreadyExistsError, ConcurrentModificationError } from '../../core/errors';
import { FakeClock } from '../../core/memory';
import type { AuditEvent, StoredRequest } from '../../core/model';
import { DynamoAuditTableSink } from '../../lambdas/adapters/dynamo-audit';
import { DynamoGrantLedger } from '../../lambdas/adapters/dynamo-ledger';
import { DynamoRequestStore } from '../../lambdas/adapters/dynamo-requests';
import { marshall } from '@aws-sdk/util-dynamodb';
import { capturingDocumentClient } from '../support/aws-capture';
import { activeRequest, world } from '../support/core-world';

const NS = 'com.amazonaws.dynamodb.v20120810#';
const conditionFailed = { status: 400, body: { __type: `${NS}ConditionalCheckFailedException`, message: 'The conditional request failed' } };
const cancelled = (codes: string[]) => ({
  status: 400,
  body: { __type: `${NS}TransactionCanceledException`, message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`, CancellationReasons: codes.map((Code) => ({ Code })) },
});
const throttled = { status: 400, body: { __type: `${NS}ProvisionedThroughputExceededException`, message: 'Rate of requests exceeds the allowed throughput.' } };

async function request(): Promise<StoredRequest> {
  const w = world();
  return (await w.requests.get(await activeRequest(w)))!;
}

describe('adapters: DynamoDB stores', () => {
  const clock = new FakeClock();
  const table = 'requests';

  it('a stored request reads back as it was written: no table attributes, no undefined members', async () => {
    const r = await request();
    let stored: Record<string, unknown> | undefined;
    const { doc, calls } = capturingDocumentClient((command, input) => {
      if (command === 'TransactWriteItemsCommand') {
        stored = ((input.TransactItems as Array<{ Put: { Item: Record<string, unknown> } }>)[0]!.Put.Item);
        return {};
      }
      return { Item: stored };
    });
    const store = new DynamoRequestStore(doc, { tableName: table, clock });
    await store.create({ ...r, ticketId: undefined });
    assert.deepEqual(await store.get(r.id), JSON.parse(JSON.stringify({ ...r, ticketId: undefined })));
    assert.equal(calls[1]!.input && (calls[1]!.input as { ConsistentRead?: boolean }).ConsistentRead, true);
  });

  it('two submits with the same idempotency key: the loser gets AlreadyExistsError naming the client request', async () => {
    const r = await request();
    const { doc } = capturingDocumentClient(() => cancelled(['None', 'ConditionalCheckFailed']));
    await assert.rejects(new DynamoRequestStore(doc, { tableName: table, clock }).create(r), (e: unknown) => e instanceof AlreadyExistsError && /Client request/.test(e.message));
  });

  it('a request id that is taken: AlreadyExistsError naming the request', async () => {
    const r = await request();
    const { doc } = capturingDocumentClient(() => cancelled(['ConditionalCheckFailed', 'None']));
    await assert.rejects(new DynamoRequestStore(doc, { tableName: table, clock }).create(r), (e: unknown) => e instanceof AlreadyExistsError && e.message.includes(r.id));
  });

  it('a lost compare-and-swap is a ConcurrentModificationError, and is never retried blindly', async () => {
    // An open request is written with PutItem; one that leaves the open states in a transaction
    // that also releases its open-request guard (a failed condition there cancels the transaction).
    for (const r of [{ ...(await request()), state: 'PENDING_APPROVAL' as const }, await request()]) {
      const { doc, calls } = capturingDocumentClient((command) => (command === 'TransactWriteItemsCommand' ? cancelled(['ConditionalCheckFailed', 'None']) : conditionFailed));
      const store = new DynamoRequestStore(doc, { tableName: table, clock });
      await assert.rejects(store.update({ ...r, version: r.version + 1 }, r.version), ConcurrentModificationError);
      assert.equal(calls.length, 1);
      const wire = calls[0]!.input as { TransactItems?: Array<{ Put: unknown }> };
      const input = (wire.TransactItems ? wire.TransactItems[0]!.Put : wire) as { ConditionExpression: string; ExpressionAttributeValues: Record<string, unknown> };
      assert.match(input.ConditionExpression, /#version = :expected/);
      assert.deepEqual(input.ExpressionAttributeValues[':expected'], { N: String(r.version) });
    }
  });

  it('a version that does not follow the expected one is refused before writing', async () => {
    const r = await request();
    const { doc, calls } = capturingDocumentClient(() => ({}));
    await assert.rejects(new DynamoRequestStore(doc, { tableName: table, clock }).update({ ...r, version: r.version + 2 }, r.version), ConcurrentModificationError);
    assert.equal(calls.length, 0);
  });

  it('clearing the audit outbox after a newer write is a no-op, not an error', async () => {
    const { doc } = capturingDocumentClient(() => conditionFailed);
    await new DynamoRequestStore(doc, { tableName: table, clock }).clearAuditOutbox('req-000000000001', 3);
  });

  it('a request with audit events in its outbox is findable by the sparse index until the outbox is cleared', async () => {
    const r = { ...(await request()), state: 'GRANTING' as const };
    const event = { eventId: `${r.id}:v9:0`, requestId: r.id, at: r.updatedAt, actor: r.requester, action: 'request.transition', fromState: 'REVOKING', toState: 'EXPIRED', reason: 'x' } as AuditEvent;
    let written: Record<string, unknown> | undefined;
    const { doc, calls } = capturingDocumentClient((command, input) => {
      if (/Put/.test(command)) written = input.Item as Record<string, unknown>;
      if (/Query/.test(command)) return { Items: [marshalled({ ...r, auditOutbox: [event] })] };
      return {};
    });
    const store = new DynamoRequestStore(doc, { tableName: table, clock, useIndexes: true });
    await store.update({ ...r, version: r.version + 1, auditOutbox: [event] }, r.version);
    assert.equal(JSON.stringify(written).includes('"outboxPending":{"S":"pending"}') || JSON.stringify(written).includes('"outboxPending":"pending"'), true, JSON.stringify(written).slice(0, 200));
    await store.update({ ...r, version: r.version + 2 }, r.version + 1);
    assert.equal(JSON.stringify(written).includes('outboxPending'), false, 'an empty outbox leaves the index');
    const found = await store.list({ withAuditOutbox: true });
    assert.deepEqual(found.map((x) => x.id), [r.id]);
    const query = calls.find((c) => /Query/.test(c.command))!.input as { IndexName?: string };
    assert.equal(query.IndexName, 'byAuditOutbox');
    await store.clearAuditOutbox(r.id, r.version + 2);
    const clear = calls.at(-1)!.input as { UpdateExpression: string };
    assert.match(clear.UpdateExpression, /REMOVE #outbox, #pending/);
  });

  it('a request with notices in its outbox is findable by its own sparse index until that outbox is cleared; the audit outbox is left alone', async () => {
    const r = { ...(await request()), state: 'APPROVED' as const };
    const notices = [{ event: 'approved' as const, version: r.version + 1 }];
    let written: Record<string, unknown> | undefined;
    const { doc, calls } = capturingDocumentClient((command, input) => {
      if (/Put/.test(command)) written = input.Item as Record<string, unknown>;
      if (/Query/.test(command)) return { Items: [marshalled({ ...r, noticeOutbox: notices })] };
      return {};
    });
    const store = new DynamoRequestStore(doc, { tableName: table, clock, useIndexes: true });
    await store.update({ ...r, version: r.version + 1, noticeOutbox: notices }, r.version);
    assert.match(JSON.stringify(written), /"noticesPending":(\{"S":)?"pending"/);
    assert.doesNotMatch(JSON.stringify(written), /outboxPending/, 'the audit index is not touched by notices');
    await store.update({ ...r, version: r.version + 2 }, r.version + 1);
    assert.doesNotMatch(JSON.stringify(written), /noticesPending/, 'an empty outbox leaves the index');
    const found = await store.list({ withNoticeOutbox: true });
    assert.deepEqual(found.map((x) => x.id), [r.id]);
    const query = calls.find((c) => /Query/.test(c.command))!.input as { IndexName?: string };
    assert.equal(query.IndexName, 'byNoticeOutbox');
    await store.clearNoticeOutbox(r.id, r.version + 2);
    const clear = calls.at(-1)!.input as { UpdateExpression: string; ConditionExpression: string; ExpressionAttributeNames: Record<string, string> };
    assert.match(clear.UpdateExpression, /REMOVE #outbox, #pending/);
    assert.deepEqual([clear.ExpressionAttributeNames['#outbox'], clear.ExpressionAttributeNames['#pending']], ['noticeOutbox', 'noticesPending']);
    assert.match(clear.ConditionExpression, /#version = :version/, 'only if no newer write carried the notices forward');
  });

  it('throttled reads are retried', async () => {
    let n = 0;
    const { doc } = capturingDocumentClient(() => (++n <= 2 ? throttled : {}));
    assert.equal(await new DynamoRequestStore(doc, { tableName: table, clock: new FakeClock(), random: () => 0 }).get('req-000000000001'), undefined);
    assert.equal(n, 3);
  });

  it('listing without indexes scans every page, filters, and returns newest first up to the limit', async () => {
    const r = await request();
    const item = (id: string, createdAt: string) => marshalled({ ...r, id, createdAt });
    const pages = [{ Items: [item('req-a00000000001', '2026-01-01T09:00:00.000Z')], LastEvaluatedKey: { pk: { S: 'x' } } }, { Items: [item('req-a00000000002', '2026-01-01T10:00:00.000Z'), item('req-a00000000003', '2026-01-01T08:00:00.000Z')] }];
    let page = 0;
    const { doc, calls } = capturingDocumentClient(() => pages[page++]!);
    const found = await new DynamoRequestStore(doc, { tableName: table, clock }).list({ requesterUserId: r.requester.userId, states: ['ACTIVE'], limit: 2 });
    assert.deepEqual(found.map((x) => x.id), ['req-a00000000002', 'req-a00000000001']);
    assert.equal(calls.length, 2);
    assert.match((calls[0]!.input as { FilterExpression: string }).FilterExpression, /#kind = :request AND #requester = :requester AND #state IN \(:s0\)/);
  });

  it('ledger: creating an entry that exists, or replacing a stale version, is a ConcurrentModificationError', async () => {
    const { doc, calls } = capturingDocumentClient(() => conditionFailed);
    const ledger = new DynamoGrantLedger(doc, { tableName: 'ledger', clock });
    const entry = { key: { accountId: '111111111111', permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111', userId: 'u-1' }, activeGrantIds: ['req-1'], version: 2, updatedAt: '2026-01-01T09:00:00.000Z' };
    await assert.rejects(ledger.put(entry, undefined), ConcurrentModificationError);
    await assert.rejects(ledger.put(entry, 1), ConcurrentModificationError);
    assert.deepEqual(calls.map((c) => (c.input as { ConditionExpression: string }).ConditionExpression), ['attribute_not_exists(pk)', '#version = :expected']);
  });

  it('audit table: a replayed event is ignored (stored once, never overwritten), new ones are written', async () => {
    const seen = new Set<string>();
    const { doc, calls } = capturingDocumentClient((_c, input) => {
      const id = ((input.Item as Record<string, { S: string }>).eventId!).S;
      if (seen.has(id)) return conditionFailed;
      seen.add(id);
      return {};
    });
    const sink = new DynamoAuditTableSink(doc, { tableName: 'audit', clock });
    const w = world();
    await activeRequest(w);
    const events: AuditEvent[] = w.audit.events;
    await sink.append(events);
    await sink.append(events);
    assert.equal(seen.size, events.length);
    assert.equal(sink.duplicates, events.length);
    assert.equal(calls.length, events.length * 2);
    assert.ok(calls.every((c) => (c.input as { ConditionExpression: string }).ConditionExpression === 'attribute_not_exists(eventId)'));
  });
});

function marshalled(value: Record<string, unknown>): Record<string, unknown> {
  return marshall({ ...value, pk: `request#${String(value.id)}`, kind: 'request' }, { removeUndefinedValues: true });
}
