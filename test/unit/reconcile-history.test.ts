/**
 * The reconcile sweep at scale: its DynamoDB reads follow the live grants, not the finished history
 * (counted at the client by the fake DynamoDB, as DynamoDB meters them), and it still finds every
 * live case it must act on when 100,000-style history fills the tables. The ledger table's sparse
 * `byLive` index is what makes that hold: a finished grant leaves it in the write that finishes it.
 * test/support/reconcile-history.ts builds the world; bench/reconcile.ts runs the same at 100,000.
 */
import { strict as assert } from 'node:assert';
import { LIVE_ATTRIBUTE } from '../../lambdas/adapters/dynamo-live-index';
import * as svc from '../../core/services';
import { historyWorld, TABLES } from '../support/reconcile-history';

describe('reconcile at scale: reads follow live grants, not history', function () {
  this.timeout(120_000);

  it('reads the same items with 0 or 4,000 finished requests in the tables, at most 3 per live grant', async () => {
    const reads: number[] = [];
    for (const finished of [0, 4_000]) {
      const h = await historyWorld({ finished, live: 20, finishedFindings: finished / 10 });
      h.db.resetReads();
      const summary = await h.sweep();
      assert.deepEqual(summary.actions, [], 'healthy live grants: nothing to do');
      assert.ok(!h.calls.some((c) => c.command === 'ScanCommand' && (c.input as { TableName?: string }).TableName === TABLES.ledger), 'the ledger table is never scanned');
      reads.push(h.db.reads.items);
    }
    assert.equal(reads[1], reads[0], `items read with history ${reads[1]} vs without ${reads[0]}: the sweep reads history`);
    assert.ok(reads[0]! <= 3 * 20, `${reads[0]} items read for 20 live grants`);
  });

  it('still finds every live case among 4,000 finished requests: a missed expiry, a stalled grant, an unposted card', async () => {
    const h = await historyWorld({ finished: 4_000, live: 10, finishedFindings: 400, cases: true });
    const summary = await h.sweep();
    const acted = Object.fromEntries(summary.actions.map((a) => [a.requestIds[0], a.kind]));
    assert.deepEqual(acted, { [h.cases.expiredNotRevoked!]: 'revoke_expired', [h.cases.stalled!]: 'fail_stalled', [h.cases.unposted!]: 'post_approval_card' });
    assert.equal((await h.deps.requests.get(h.cases.expiredNotRevoked!))?.state, 'EXPIRED');
    assert.equal((await h.deps.requests.get(h.cases.stalled!))?.state, 'FAILED');
    assert.ok((await h.deps.requests.get(h.cases.unposted!))?.cardPostedAt);
    for (const id of h.liveIds) assert.equal((await h.deps.requests.get(id))?.state, 'ACTIVE');
    // The next sweep has nothing left to do.
    assert.deepEqual((await h.sweep()).actions, []);
  });

  it('a finished grant leaves the live index in the same write that finishes it', async () => {
    const h = await historyWorld({ finished: 0, live: 2 });
    const id = h.liveIds[0]!;
    const before = (await h.deps.ledger.list()).map((e) => e.activeGrantIds);
    assert.deepEqual(before.flat().sort(), [...h.liveIds].sort());
    h.calls.length = 0;
    await h.clock.advance(20 * 60_000);
    await svc.expireGrant(h.deps, { requestId: id });
    const ledgerPuts = h.calls.filter((c) => c.command === 'PutItemCommand' && (c.input as { TableName: string }).TableName === TABLES.ledger).map((c) => (c.input as { Item: Record<string, unknown> }).Item);
    // Released, then live while our delete is under way, then history: each PutItem says which.
    assert.deepEqual(
      ledgerPuts.map((i) => [JSON.stringify(i.activeGrantIds) === JSON.stringify({ L: [] }), (i.deleting as { BOOL?: boolean } | undefined)?.BOOL === true, i[LIVE_ATTRIBUTE] !== undefined]),
      [[true, true, true], [true, false, false]],
      'the write that ends the delete takes the entry out of the index',
    );
    // Still in the table (history is kept), no longer in the index.
    assert.ok(h.db.items(TABLES.ledger).some((i) => JSON.stringify(i.activeGrantIds) === '[]' && i[LIVE_ATTRIBUTE] === undefined));
    assert.deepEqual((await h.deps.ledger.list()).map((e) => e.activeGrantIds), [[h.liveIds[1]]]);
    assert.deepEqual((await h.deps.requests.list({ states: ['ACTIVE'] })).map((r) => r.id), [h.liveIds[1]]);
  });
});
