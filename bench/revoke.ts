/**
 * Child process: revocation at expiry in the sandbox. N grants are made ACTIVE first (over the
 * in-memory stores, as the sandbox keeps DynamoDB's place in memory) and their assignments exist in
 * the Identity Center stand-in; their expiry schedules are created in the Scheduler stand-in
 * through the production adapter. Then the schedules fire (Scheduler stand-in fire-on-demand) as
 * a Poisson stream, each one running the REAL revoke handler over the production sso-admin and
 * scheduler adapters pointed at the stand-ins (1-3 s asynchronous deletes, 20 TPS, 10
 * outstanding writes). Measured per grant: from the schedule firing to the stand-in completing
 * the delete, and to the handler having confirmed it (its status poll saw SUCCEEDED and the
 * request is EXPIRED): the latter is the metric.
 *
 * Usage: tsx bench/revoke.ts [grants] [firesPerSecond]
 */
import { FakeClock, type MemoryUser, memoryWorld } from '../core/memory';
import type { Policy } from '../core/policy/types';
import * as svc from '../core/services';
import { scheduleName } from '../lambdas/adapters/scheduler-expiry';
import { createRevokeHandler } from '../lambdas/revoke/handler';
import type { RevokePayload } from '../contract/workflow';
import { startAwsStandIns } from '../sandbox/aws';
import { DEMO_ACCOUNTS, DEMO_PERMISSION_SETS } from '../sandbox/seed';
import { grant, startWorkflow } from '../test/support/core-world';
import { principal } from './grants';
import { BENCH_REVOKE_TARGET, BENCH_SCHEDULER_GROUP, benchBackend } from './lib/backend';
import { reply } from './lib/child';
import { percentile, round } from './lib/stats';

const GROUP = BENCH_SCHEDULER_GROUP;
const TARGET = BENCH_REVOKE_TARGET;

export interface RevokeRunResult {
  grants: number;
  firesPerSecond: number;
  confirmedP50S: number;
  confirmedP99S: number;
  confirmedMaxS: number;
  deletedP99S: number;
  notRevoked: number;
  handlerErrors: number;
  assignmentsLeft: number;
  calls: Record<string, number>;
  seconds: number;
}

function benchPolicy(): Policy {
  return {
    version: 1,
    accounts: DEMO_ACCOUNTS.map((a) => ({ id: a.id, name: a.name, ouPath: [...a.ouPath] })),
    permissionSets: DEMO_PERMISSION_SETS.map((p) => ({ name: p.name, arn: p.arn })),
    rules: [
      {
        id: 'bench-auto',
        description: 'auto-approved access for the benchmark',
        eligibleGroups: ['Engineers'],
        accounts: { ids: DEMO_ACCOUNTS.map((a) => a.id), ous: [] },
        permissionSets: DEMO_PERMISSION_SETS.map((p) => p.name),
        maxDurationSeconds: 3600,
        defaultDurationSeconds: 1800,
        maxTotalDurationSeconds: 7200,
        approverGroups: [],
        approvalsRequired: 0,
        ticket: { required: false },
        breakGlass: { allowed: false, maxDurationSeconds: 0 },
        approvalTimeoutSeconds: 3600,
      },
    ],
  };
}

export async function runRevoke(count: number, firesPerSecond: number): Promise<RevokeRunResult> {
  const users: MemoryUser[] = Array.from({ length: count }, (_, i) => ({
    userId: principal(100_000 + i),
    userName: `user${i}@example.com`,
    displayName: `User ${i}`,
    upn: `user${i}@example.com`,
    aadObjectId: `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`,
    groups: [{ groupId: 'g-engineers', displayName: 'Engineers' }],
  }));
  // The grants are made three hours ago (fake clock), for 30 minutes: all have ended by now.
  const w = memoryWorld({ policy: benchPolicy(), users, clock: new FakeClock(Date.now() - 3 * 3600_000) });
  const aws = await startAwsStandIns({ port: 0, dataDir: false, identityCenter: { principalExists: () => true }, scheduler: { scheduleGroups: [GROUP] }, log: () => undefined });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const u = users[i]!;
    const { request } = await svc.submitRequest(w.deps, {
      actor: { userId: u.userId, userName: u.userName, displayName: u.displayName },
      body: { clientRequestId: `bench-${String(i).padStart(8, '0')}`, accountId: DEMO_ACCOUNTS[i % DEMO_ACCOUNTS.length]!.id, permissionSetName: DEMO_PERMISSION_SETS[i % DEMO_PERMISSION_SETS.length]!.name, durationMinutes: 30, justification: 'Benchmark grant that expires' },
    });
    await startWorkflow(w, request.id);
    if ((await grant(w, request.id)) !== 'ACTIVE') throw new Error(`grant ${request.id} did not become ACTIVE`);
    const stored = (await w.requests.get(request.id))!;
    aws.identityCenter.seedAssignment({ accountId: stored.accountId, permissionSetArn: stored.permissionSetArn, principalId: u.userId });
    ids.push(request.id);
  }

  // The Lambdas' composition (lambdas/composition.ts) on the wall clock: Identity Center and the
  // Scheduler through the production adapters at the stand-ins; everything else the in-memory world's.
  const { clock: _fakeClock, assignments: _a, scheduler: _s, ...inMemory } = w.deps;
  const backend = benchBackend(aws, { overrides: inMemory });
  const deps = backend.deps;
  const revoke = createRevokeHandler(deps);
  aws.scheduler.registerTarget(TARGET, (input) => revoke(input as RevokePayload));
  // The schedules exist as the grant step created them; they are not due (a day ahead) and are fired on demand.
  const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString();
  for (const id of ids) await deps.scheduler.scheduleExpiry(id, tomorrow);

  const firedAt = new Map<string, number>();
  const deletedAt = new Map<string, number>();
  const confirmedAt = new Map<string, number>();
  const userToRequest = new Map(ids.map((id, i) => [users[i]!.userId, id]));
  let handlerErrors = 0;
  aws.identityCenter.onOperationCompleted((op) => {
    if (op.kind === 'delete' && op.status === 'SUCCEEDED') deletedAt.set(userToRequest.get(op.principalId)!, performance.now());
  });
  const done = new Promise<void>((resolve) => {
    aws.scheduler.onInvocation((inv) => {
      const id = (ids.find((x) => scheduleName(x) === inv.name))!;
      if (inv.ok) confirmedAt.set(id, performance.now());
      else handlerErrors++;
      if (confirmedAt.size + handlerErrors >= count) resolve();
    });
  });

  aws.identityCenter.resetStats();
  const started = performance.now();
  // Poisson arrivals: exponential gaps with mean 1/rate.
  for (const id of ids) {
    firedAt.set(id, performance.now());
    aws.scheduler.fireNow(scheduleName(id), GROUP);
    await new Promise((r) => setTimeout(r, (-Math.log(1 - Math.random()) / firesPerSecond) * 1000));
  }
  await Promise.race([done, new Promise((r) => setTimeout(r, 120_000))]);
  const seconds = (performance.now() - started) / 1000;
  await aws.scheduler.idle();

  const confirmed = ids.filter((id) => confirmedAt.has(id)).map((id) => (confirmedAt.get(id)! - firedAt.get(id)!) / 1000);
  const deleted = ids.filter((id) => deletedAt.has(id)).map((id) => (deletedAt.get(id)! - firedAt.get(id)!) / 1000);
  let notRevoked = 0;
  for (const id of ids) if ((await w.requests.get(id))?.state !== 'EXPIRED') notRevoked++;
  const ours = new Set(users.map((u) => u.userId));
  const assignmentsLeft = aws.identityCenter.listAssignments().filter((a) => ours.has(a.principalId)).length;
  const calls = aws.identityCenter.stats().calls;
  backend.clients.destroy();
  await aws.stop();
  return {
    grants: count,
    firesPerSecond,
    confirmedP50S: round(percentile(confirmed, 50), 2),
    confirmedP99S: round(percentile(confirmed, 99), 2),
    confirmedMaxS: round(Math.max(...confirmed), 2),
    deletedP99S: round(percentile(deleted, 99), 2),
    notRevoked: notRevoked + (count - confirmed.length),
    handlerErrors,
    assignmentsLeft,
    calls,
    seconds: round(seconds, 1),
  };
}

if (require.main === module) {
  const [count = '200', rate = '2'] = process.argv.slice(2);
  void runRevoke(Number(count), Number(rate)).then(reply, (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
