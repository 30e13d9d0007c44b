/**
 * Child process: N grants against the Identity Center stand-in (sandbox/aws: 20 TPS, 10
 * outstanding writes, 1-3 s asynchronous completion) through the production sso-admin adapter
 * (lambdas/adapters/sso-admin-assignments.ts with its process-wide limiter and retries, composed by
 * lambdas/composition.ts as in the Lambdas), each
 * grant being CreateAccountAssignment then DescribeAccountAssignmentCreationStatus polls until it
 * leaves IN_PROGRESS. The grants are worked by a pool of `concurrency` workers (the grant
 * function's concurrency); a retryable failure is retried after a pause, as the state machine's
 * Retry does. The time is compared with the minimum the stand-in's quotas allow.
 *
 * Usage: tsx bench/grants.ts [grants] [concurrency] [pollMs]
 */
import { isDomainError } from '../core/errors';
import type { AssignmentKey } from '../core/model';
import type { AssignmentOperation } from '../core/ports';
import { startAwsStandIns } from '../sandbox/aws';
import { DEMO_ACCOUNTS, DEMO_PERMISSION_SETS } from '../sandbox/seed';
import { benchBackend } from './lib/backend';
import { reply } from './lib/child';
import { round } from './lib/stats';

export interface GrantsRunResult {
  grants: number;
  concurrency: number;
  pollMs: number;
  seconds: number;
  minimumSeconds: number;
  minimumBy: 'tps' | 'outstanding';
  ratio: number;
  failures: number;
  workflowRetries: number;
  calls: Record<string, number>;
  throttledBySandbox: number;
  outstandingRejected: number;
  maxOutstanding: number;
  quotas: { tps: number; maxOutstandingWrites: number; meanDelayMs: number };
}

/** A deterministic principal id in Identity Center's format. */
export const principal = (i: number) => `${String(i).padStart(8, '0')}-0000-4000-8000-${String(i).padStart(12, '0')}`;

export function grantKeys(count: number, offset = 0): AssignmentKey[] {
  return Array.from({ length: count }, (_, i) => ({
    accountId: DEMO_ACCOUNTS[i % DEMO_ACCOUNTS.length]!.id,
    permissionSetArn: DEMO_PERMISSION_SETS[i % DEMO_PERMISSION_SETS.length]!.arn,
    userId: principal(offset + i),
  }));
}

export async function runGrants(count: number, concurrency: number, pollMs: number): Promise<GrantsRunResult> {
  const aws = await startAwsStandIns({ port: 0, dataDir: false, identityCenter: { principalExists: () => true }, log: () => undefined });
  // The Lambdas' composition (lambdas/composition.ts): the production gateway with the process's one limiter.
  const backend = benchBackend(aws);
  const gateway = backend.deps.assignments;
  const keys = grantKeys(count);
  let next = 0;
  let failures = 0;
  let workflowRetries = 0;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function grant(key: AssignmentKey): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        let op: AssignmentOperation = await gateway.startCreate(key);
        while (op.status === 'IN_PROGRESS') {
          await sleep(pollMs);
          op = await gateway.createStatus(op.operationId);
        }
        if (op.status === 'FAILED') failures++;
        return;
      } catch (e) {
        const retryable = isDomainError(e) && (e as { retryable?: boolean }).retryable === true;
        if (!retryable || attempt >= 6) {
          failures++;
          return;
        }
        workflowRetries++;
        await sleep(Math.random() * 2000 * 2 ** (attempt - 1));
      }
    }
  }

  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < keys.length) await grant(keys[next++]!);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const stats = aws.identityCenter.stats();
  const quotas = aws.identityCenter.quotas();
  const tps = quotas.rateLimit === false ? Number.POSITIVE_INFINITY : quotas.rateLimit.tps;
  const meanDelayMs = (quotas.assignmentDelayMs.min + quotas.assignmentDelayMs.max) / 2;
  // Each grant needs at least one create and one status call; each write holds one of the
  // outstanding slots for the asynchronous delay.
  const byTps = (2 * count) / tps;
  const byOutstanding = (count * meanDelayMs) / 1000 / quotas.maxOutstandingWrites;
  const minimumSeconds = Math.max(byTps, byOutstanding);
  backend.clients.destroy();
  await aws.stop();
  return {
    grants: count,
    concurrency,
    pollMs,
    seconds: round(seconds, 2),
    minimumSeconds: round(minimumSeconds, 2),
    minimumBy: byTps >= byOutstanding ? 'tps' : 'outstanding',
    ratio: round(seconds / minimumSeconds, 3),
    failures: failures + stats.failed.create,
    workflowRetries,
    calls: stats.calls,
    throttledBySandbox: stats.throttled,
    outstandingRejected: stats.outstandingRejected,
    maxOutstanding: stats.maxOutstanding,
    quotas: { tps, maxOutstandingWrites: quotas.maxOutstandingWrites, meanDelayMs },
  };
}

if (require.main === module) {
  const [count = '500', concurrency = '12', pollMs = '1000'] = process.argv.slice(2);
  void runGrants(Number(count), Number(concurrency), Number(pollMs)).then(reply, (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
