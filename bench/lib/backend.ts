/**
 * The benchmarks' backend: lambdas/composition.ts, the Lambdas' own composition, pointed at the
 * AWS stand-ins. So a benchmark measures the production adapters with the production limiter and
 * retries, not a hand-built copy of them; what it keeps in memory it passes as port overrides.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type Backend, type CompositionOptions, composeBackend } from '../../lambdas/composition';
import { parseConfig } from '../../lambdas/config';
import { ENV } from '../../lambdas/contract';
import { silentLog } from '../../lambdas/http';
import type { AwsStandIns } from '../../sandbox/aws';
import { systemClock } from '../../runtime/clock';
import { compilePolicy } from '../../core/policy/validate';

export const BENCH_SCHEDULER_GROUP = 'jit-access-bench';
export const BENCH_REVOKE_TARGET = 'arn:aws:lambda:us-east-1:123456789012:function:jit-access-bench-revoke';

export function benchBackend(aws: AwsStandIns, options: Omit<CompositionOptions, 'clientSettings'> = {}): Backend {
  const config = parseConfig({
    ...aws.env,
    [ENV.stage]: 'bench',
    [ENV.requestsTable]: 'bench-requests',
    [ENV.ledgerTable]: 'bench-ledger',
    [ENV.auditTable]: 'bench-audit',
    [ENV.eventBusName]: 'bench-audit-bus',
    [ENV.stateMachineArn]: `arn:aws:states:${aws.region}:${aws.accountId}:stateMachine:jit-access-bench-approval`,
    [ENV.schedulerGroup]: BENCH_SCHEDULER_GROUP,
    [ENV.schedulerRoleArn]: 'arn:aws:iam::123456789012:role/jit-access-bench-scheduler',
    [ENV.schedulerTargetArn]: BENCH_REVOKE_TARGET,
    [ENV.schedulerDlqArn]: 'arn:aws:sqs:us-east-1:123456789012:jit-access-bench-dlq',
    [ENV.notifyUrl]: 'http://127.0.0.1:9/api/notify',
    [ENV.notifySecretArn]: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:jit-access-bench-notify',
    [ENV.noticeFunctionArn]: 'arn:aws:lambda:us-east-1:123456789012:function:jit-access-bench-notify',
    [ENV.botAppId]: '00000000-0000-0000-0000-000000000002',
    [ENV.entraTenantId]: '00000000-0000-0000-0000-000000000000',
    [ENV.policyJson]: compilePolicy(parseYaml(readFileSync(resolve(__dirname, '..', '..', 'sandbox', 'demo-policy.yaml'), 'utf8'))),
  });
  return composeBackend(config, { clock: systemClock, log: () => silentLog, ...options, clientSettings: aws.clientConfig });
}
