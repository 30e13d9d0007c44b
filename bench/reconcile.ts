/**
 * reconcile_reads_per_live_grant_100k: the DynamoDB items one reconcile sweep reads, divided by the
 * live grants, with 100,000 finished requests in the tables. The sweep runs as the reconcile
 * function runs it (lambdas/reconcile/handler.ts) over the production adapters, against the fake
 * DynamoDB with the stack's tables and indexes, which counts reads as DynamoDB meters them (items a
 * Scan or Query reads before any filter, and read units): test/support/reconcile-history.ts.
 * Deterministic (no timing), so one run is enough.
 */
import { round } from './lib/stats';
import { historyWorld } from '../test/support/reconcile-history';

export interface ReconcileReadsResult {
  finished: number;
  finishedFindings: number;
  live: number;
  /** Items in each table when the sweep ran (history included). */
  tableItems: Record<string, number>;
  itemsRead: number;
  readUnits: number;
  byTable: Record<string, { items: number; readUnits: number }>;
  /** Actions and drift of the sweep: none expected (every live grant is healthy). */
  actions: number;
  drift: number;
  readsPerLiveGrant: number;
  seedSeconds: number;
}

export async function runReconcileReads(options: { finished: number; live: number; finishedFindings: number }): Promise<ReconcileReadsResult> {
  const started = performance.now();
  const h = await historyWorld({ finished: options.finished, live: options.live, finishedFindings: options.finishedFindings });
  const seedSeconds = round((performance.now() - started) / 1000, 1);
  h.db.resetReads();
  const summary = await h.sweep();
  return {
    ...options,
    tableItems: Object.fromEntries([...h.db.tables].map(([name, items]) => [name, items.size])),
    itemsRead: h.db.reads.items,
    readUnits: h.db.reads.readUnits,
    byTable: Object.fromEntries(h.db.reads.byTable),
    actions: summary.actions.length,
    drift: summary.drift,
    readsPerLiveGrant: round(h.db.reads.items / options.live, 2),
    seedSeconds,
  };
}

if (require.main === module) {
  const finished = Number(process.argv[2] ?? 100_000);
  void runReconcileReads({ finished, live: 100, finishedFindings: 2_000 }).then((r) => console.log(JSON.stringify(r, null, 2)));
}
