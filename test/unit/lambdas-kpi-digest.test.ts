import { strict as assert } from 'node:assert';
import { notificationBodySchema, type NotificationBody } from '../../contract/notify';
import { FakeClock } from '../../core/memory';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DynamoAuditTableReader } from '../../lambdas/adapters/dynamo-audit-reader';
import { createNotifyHandler } from '../../lambdas/notify/handler';
import { assertCallsConform, capturingDocumentClient } from '../support/aws-capture';
import { world } from '../support/core-world';
import { T0, iso, mixedWeek } from '../support/audit-trail';

describe('notify function: the weekly KPI digest (kpi_digest)', () => {
  const setup = async () => {
    const w = world({ clock: new FakeClock(T0 + 30 * 24 * 3600_000) });
    await w.audit.append(mixedWeek());
    const sent: NotificationBody[] = [];
    let fail = false;
    const sender = {
      send: async (body: NotificationBody) => {
        if (fail) throw new Error('the bot is unreachable');
        sent.push(notificationBodySchema.parse(body));
      },
    };
    return { w, sent, sender, failNext: () => void (fail = true) };
  };

  it('sends the week before the scheduled time as one kpi notice, named after the week', async () => {
    const { w, sent, sender } = await setup();
    const handler = createNotifyHandler(w.deps, { sender });
    const r = await handler({ action: 'kpi_digest', scheduledTime: iso(6 * 24 * 3600) });
    assert.equal(r.requests, 9);
    assert.equal(sent.length, 1);
    const body = sent[0]!;
    assert.ok(body.kind === 'kpi');
    assert.equal(body.weekId, r.weekId);
    assert.equal(body.notificationId, `kpi-digest-${r.weekId}`);
    assert.equal(body.report.breakGlassUnreviewed, 1);
  });

  it('a retry of the same firing (same scheduled time, whatever the clock says) sends the same week and id', async () => {
    const { w, sent, sender } = await setup();
    const handler = createNotifyHandler(w.deps, { sender });
    await handler({ action: 'kpi_digest', scheduledTime: iso(6 * 24 * 3600) });
    w.clock.advance(3 * 3600_000);
    await handler({ action: 'kpi_digest', scheduledTime: iso(6 * 24 * 3600) });
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[1], sent[0]);
  });

  it('a bad payload, a missing sender and an unreachable bot are errors (the schedule retries), never a silent success', async () => {
    const { w, sent, sender, failNext } = await setup();
    const handler = createNotifyHandler(w.deps, { sender });
    for (const bad of [{ action: 'kpi_digest' }, { action: 'kpi_digest', scheduledTime: '<aws.scheduler.scheduled-time>' }, { action: 'kpi_digest', scheduledTime: iso(0), extra: 1 }]) {
      await assert.rejects(handler(bad as never), (e: Error) => e.name === 'InvalidPayload');
    }
    await assert.rejects(createNotifyHandler(w.deps, {})({ action: 'kpi_digest', scheduledTime: iso(0) }), (e: Error) => e.name === 'InvalidPayload');
    failNext();
    await assert.rejects(handler({ action: 'kpi_digest', scheduledTime: iso(0) }), /unreachable/);
    assert.equal(sent.length, 0);
  });
});

describe('the audit table reader (DynamoAuditTableReader)', () => {
  it('Scans with the at >= since filter, follows LastEvaluatedKey past empty pages, strips the keys; every call conforms to the DynamoDB model', async () => {
    const events = mixedWeek().slice(0, 3);
    const item = (i: number) => marshall({ ...events[i]!, pk: `request#${events[i]!.requestId}`, sk: events[i]!.eventId }, { removeUndefinedValues: true });
    // Page 2 is empty (the 1 MB page limit applies before the filter): the reader must go on.
    const pages = [{ Items: [item(0), item(1)], LastEvaluatedKey: { pk: { S: 'a' }, sk: { S: 'b' } } }, { Items: [], LastEvaluatedKey: { pk: { S: 'c' }, sk: { S: 'd' } } }, { Items: [item(2)] }];
    let page = 0;
    const { doc, calls } = capturingDocumentClient(() => pages[page++]!);
    const read = await new DynamoAuditTableReader(doc, { tableName: 'jit-access-test-AuditTable-1A2B3C', clock: new FakeClock() }).eventsSince('2030-01-01T00:00:00.000Z');
    assert.deepEqual(read, events.map((e) => JSON.parse(JSON.stringify(e))));
    assert.equal(calls.length, 3);
    const input = (i: number) => calls[i]!.input as Record<string, unknown>;
    assert.equal(input(0).FilterExpression, '#at >= :since');
    assert.deepEqual(input(1).ExclusiveStartKey, { pk: { S: 'a' }, sk: { S: 'b' } });
    assert.deepEqual(input(2).ExclusiveStartKey, { pk: { S: 'c' }, sk: { S: 'd' } });
    assert.deepEqual(assertCallsConform('dynamodb', calls), []);
  });
});
