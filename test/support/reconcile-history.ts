/**
 * A reconcile sweep at scale, with its reads counted at the DynamoDB client: the real request store,
 * grant ledger, tracked findings and session cuts (lambdas/adapters) over the fake DynamoDB with the
 * tables and indexes the stack creates (test/support/product-tables.ts), the other ports in memory.
 *
 * The live grants and the cases reconcile must act on are made by the real services. The finished
 * history is made by the real services too, once per kind (expired, revoked, denied, cancelled), and
 * then copied under new ids and users into the fake's tables: the copies are the items those writes
 * leave behind (the request, its released guards, its released ledger entry), so the sweep meets
 * what 100,000 finished requests leave in DynamoDB without replaying 100,000 workflows.
 */
import type { MemoryUser } from '../../core/memory';
import { FakeClock, memoryWorld } from '../../core/memory';
import type { Actor, TrackedFinding } from '../../core/model';
import type { PermissionSetGateway } from '../../core/ports';
import * as svc from '../../core/services';
import type { CoreDeps } from '../../core/services/types';
import { DynamoFindingsState } from '../../lambdas/adapters/dynamo-findings-state';
import { DynamoGrantLedger } from '../../lambdas/adapters/dynamo-ledger';
import { DynamoRequestStore } from '../../lambdas/adapters/dynamo-requests';
import { DynamoSessionCutStore } from '../../lambdas/adapters/dynamo-session-cuts';
import { createReconcileHandler, type ReconcileSummary } from '../../lambdas/reconcile/handler';
import { type CapturedCall, capturingDocumentClient } from './aws-capture';
import { ACCOUNTS, POLICY, USERS, body, grant, startWorkflow } from './core-world';
import type { FakeDynamoDB } from './fake-dynamodb';
import { productDynamo } from './product-tables';

export const TABLES = { requests: 'jit-requests', ledger: 'jit-ledger' } as const;
const MINUTE = 60_000;

/** Identity Center's permission-set side: the sweep must not need it when no session cut is live. */
const noSessionCutCalls: PermissionSetGateway = new Proxy({} as PermissionSetGateway, {
  get: (_t, name) => () => Promise.reject(new Error(`unexpected permission set call ${String(name)}: no session cut is live`)),
});

export interface HistoryOptions {
  /** Finished requests in the tables (expired, revoked, denied, cancelled in turn). */
  finished: number;
  /** Live grants (ACTIVE, nothing to do for the sweep). */
  live: number;
  /** Tracked findings that are history (resolved drift, imported break-glass findings). */
  finishedFindings?: number;
  /** Also make one case of each thing reconcile must act on (a missed expiry, a stalled grant, an unposted card). */
  cases?: boolean;
}

export interface HistoryWorld {
  db: FakeDynamoDB;
  /** Every DynamoDB request the adapters sent (marshalled), in order. */
  calls: CapturedCall[];
  deps: CoreDeps;
  clock: FakeClock;
  liveIds: string[];
  cases: { expiredNotRevoked?: string; stalled?: string; unposted?: string };
  /** One sweep as the reconcile function runs it (reconcile and the expiring-soon notices side by side). */
  sweep(): Promise<ReconcileSummary>;
}

const liveUser = (i: number): MemoryUser => ({
  userId: `u-live-${i}`,
  userName: `live-${i}@example.com`,
  displayName: `Live ${i}`,
  upn: `live-${i}@example.com`,
  groups: [{ groupId: 'g-engineers', displayName: 'Engineers' }],
});
const actorOf = (u: MemoryUser): Actor => ({ userId: u.userId, userName: u.userName, displayName: u.displayName });

export async function historyWorld(options: HistoryOptions): Promise<HistoryWorld> {
  const clock = new FakeClock();
  const users = [...Object.values(USERS), ...Array.from({ length: options.live + 8 }, (_, i) => liveUser(i))];
  const w = memoryWorld({ policy: POLICY, users, clock });
  const db = productDynamo(TABLES);
  const { doc, calls } = capturingDocumentClient(db.respond);
  const common = { clock, random: () => 0.5 };
  const deps: CoreDeps = {
    ...w.deps,
    requests: new DynamoRequestStore(doc, { ...common, tableName: TABLES.requests, useIndexes: true }),
    ledger: new DynamoGrantLedger(doc, { ...common, tableName: TABLES.ledger }),
    findingsState: new DynamoFindingsState(doc, { ...common, tableName: TABLES.ledger }),
    sessionCuts: { gateway: noSessionCutCalls, store: new DynamoSessionCutStore(doc, { ...common, tableName: TABLES.ledger }) },
  };
  const world = { ...w, deps };
  const cases: HistoryWorld['cases'] = {};

  // The finished kinds, once each through the real services, by template users.
  const templates = await finishedTemplates(world, users.slice(-4));
  if (options.cases) {
    // A grant approved, whose workflow then died: stalled after 30 minutes.
    const stalled = (await svc.submitRequest(deps, { actor: actorOf(users.at(-5)!), body: body({ permissionSetName: 'PowerUser' }) })).request.id;
    await startWorkflow(world, stalled);
    await svc.castVote(deps, { requestId: stalled, actor: actorOf(USERS.carol), decision: 'approve' });
    cases.stalled = stalled;
    // A pending request whose approval card was never posted.
    const unposted = (await svc.submitRequest(deps, { actor: actorOf(users.at(-6)!), body: body({ permissionSetName: 'PowerUser', accountId: ACCOUNTS.dev }) })).request.id;
    // The execution validated it, then lost its post step.
    await svc.validateForWorkflow(deps, { requestId: unposted });
    cases.unposted = unposted;
  }
  await clock.advance(31 * MINUTE);
  const liveIds: string[] = [];
  for (let i = 0; i < options.live; i++) liveIds.push(await activeGrant(world, actorOf(users[Object.keys(USERS).length + i]!), 15));
  if (options.cases) cases.expiredNotRevoked = await activeGrant(world, actorOf(users.at(-7)!), 5);

  seedFinished(db, templates, options.finished);
  await seedFindings(deps, options.finishedFindings ?? 0);
  // The schedule of the short grant never fired: its end is past the grace when the sweep runs.
  await clock.advance(7 * MINUTE);
  const handler = createReconcileHandler(deps);
  return { db, calls, deps, clock, liveIds, cases, sweep: () => handler({}) };
}

async function activeGrant(world: { deps: CoreDeps } & Parameters<typeof grant>[0], who: Actor, minutes: number): Promise<string> {
  const { request } = await svc.submitRequest(world.deps, { actor: who, body: body({ permissionSetName: 'ReadOnly', durationMinutes: minutes }) });
  const flow = await startWorkflow(world, request.id);
  if (flow.route !== 'auto_approve') throw new Error(`expected auto-approval, got ${flow.route}`);
  const state = await grant(world, request.id);
  if (state !== 'ACTIVE') throw new Error(`expected ACTIVE, got ${state}`);
  return request.id;
}

interface Template {
  requestId: string;
  userId: string;
  clientRequestId: string;
  /** The raw (marshalled) items the finished request left, per table. */
  items: Array<{ table: string; pk: string; item: Record<string, unknown> }>;
}

/** One finished request of each kind, made by the real services, and the items it left. */
async function finishedTemplates(world: { deps: CoreDeps } & Parameters<typeof grant>[0], owners: MemoryUser[]): Promise<Template[]> {
  // Without session cuts: a cut queued by the early revoke would stay live here (no Identity Center).
  const deps: CoreDeps = { ...world.deps, sessionCuts: undefined };
  world = { ...world, deps };
  const made: Array<{ id: string; userId: string }> = [];
  const [a, b, c, d] = owners.map(actorOf) as [Actor, Actor, Actor, Actor];
  made.push({ id: await activeGrant(world, a, 5), userId: a.userId });
  await world.clock.advance(6 * MINUTE);
  await svc.expireGrant(deps, { requestId: made[0]!.id });
  made.push({ id: await activeGrant(world, b, 5), userId: b.userId });
  await svc.revokeEarly(deps, { requestId: made[1]!.id, actor: b });
  const denied = (await svc.submitRequest(deps, { actor: c, body: body({ permissionSetName: 'PowerUser' }) })).request.id;
  await startWorkflow(world, denied);
  await svc.castVote(deps, { requestId: denied, actor: actorOf(USERS.carol), decision: 'deny' });
  made.push({ id: denied, userId: c.userId });
  const cancelled = (await svc.submitRequest(deps, { actor: d, body: body({ permissionSetName: 'PowerUser' }) })).request.id;
  await startWorkflow(world, cancelled);
  await svc.cancelRequest(deps, { requestId: cancelled, actor: d });
  made.push({ id: cancelled, userId: d.userId });
  const templates: Template[] = [];
  for (const m of made) {
    const r = await deps.requests.get(m.id);
    if (!r || !['EXPIRED', 'REVOKED', 'DENIED', 'CANCELLED'].includes(r.state)) throw new Error(`template ${m.id} did not finish (${r?.state})`);
    templates.push({ requestId: m.id, userId: m.userId, clientRequestId: r.clientRequestId, items: [] });
  }
  return templates;
}

/** Copies each template's items (every item that names its request or its user) under new ids and users. */
function seedFinished(db: FakeDynamoDB, templates: Template[], count: number): void {
  for (const t of templates) {
    for (const table of [TABLES.requests, TABLES.ledger]) {
      for (const [pk, item] of db.tables.get(table)!) {
        const text = JSON.stringify(item);
        if (pk.startsWith('sessioncut#') || pk.startsWith('finding#')) continue;
        if (text.includes(`"${t.requestId}"`) || text.includes(`"${t.userId}"`) || pk.endsWith(`|${t.userId}`) || pk.includes(`#${t.userId}#`)) t.items.push({ table, pk, item });
      }
    }
  }
  // 100,000 requests by 5,000 people: each person's released ledger entries are shared by their requests.
  const people = Math.min(5_000, Math.max(1, count));
  for (let i = 0; i < count; i++) {
    const t = templates[i % templates.length]!;
    const requestId = `req-H${String(i).padStart(12, '0')}`;
    const userId = `u-hist-${i % people}`;
    for (const { table, item } of t.items) {
      const text = JSON.stringify(item).replaceAll(t.requestId, requestId).replaceAll(t.clientRequestId, `hist-${i}`).replaceAll(t.userId, userId);
      const copy = JSON.parse(text) as Record<string, { S?: string }>;
      db.tables.get(table)!.set(copy.pk!.S!, copy as never);
    }
  }
}

/** Findings that are history: resolved drift and imported break-glass findings. */
async function seedFindings(deps: CoreDeps, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const drift = i % 2 === 0;
    const id = drift ? `jit/drift/${ACCOUNTS.prod}|ps|u-hist-${i}` : `jit/break-glass/req-H${i}`;
    const t: TrackedFinding = {
      id,
      finding: { id, kind: drift ? 'assignment_drift' : 'break_glass_used', severity: 'HIGH', title: 'history', description: 'history', accountId: ACCOUNTS.prod, resourceId: id, at: '2025-06-01T00:00:00.000Z', ...(drift ? { resolved: true } : {}) },
      fingerprint: 'history',
      imported: true,
      failedAttempts: 0,
      version: 1,
      updatedAt: '2025-06-01T00:00:00.000Z',
    };
    await deps.findingsState.put(t, undefined);
  }
}
