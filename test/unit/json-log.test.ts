/**
 * The functions' own JSON log lines (lambdas/observability/json-log.ts) in the shape Powertools
 * Logger wrote, which the metric filters and queries read; and the composition of a function without
 * the parts it never uses (lambdas/backend.ts): using one is a clear error, never a silent no-op.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { composeWith, NO_DIRECT_NOTIFIER } from '../../lambdas/backend';
import { parseConfig } from '../../lambdas/config';
import { ENV } from '../../lambdas/contract';
import { silentLog } from '../../lambdas/http';
import { jsonLog, logLevelOf, xrayTraceId } from '../../lambdas/observability/json-log';
import { compilePolicy } from '../../core/policy/validate';

const TRACE = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

function capture(env: Record<string, string | undefined>) {
  const lines: Array<{ stream: string; line: Record<string, unknown>; raw: string }> = [];
  const log = jsonLog({ serviceName: 'teams-jit-access', persistentKeys: { function: 'bridge' }, env, now: () => Date.UTC(2030, 0, 1), write: (stream, raw) => lines.push({ stream, raw, line: JSON.parse(raw) as Record<string, unknown> }) });
  return { log, lines };
}

describe('logs: JSON lines in the shape Powertools wrote', () => {
  it('one line per entry: the standard keys first, then the function, then the details; WARN and ERROR on stderr', () => {
    const { log, lines } = capture({ _X_AMZN_TRACE_ID: TRACE });
    log.info('approved', { requestId: 'req-1', event: 'x', count: 10n });
    log.warn('slow', {});
    log.error('failed', {});
    assert.equal(lines[0]!.raw, '{"level":"INFO","message":"approved","timestamp":"2030-01-01T00:00:00.000Z","service":"teams-jit-access","sampling_rate":0,"xray_trace_id":"1-5759e988-bd862e3fe1be46a994272793","function":"bridge","requestId":"req-1","event":"x","count":"10"}\n');
    assert.deepEqual(lines.map((l) => [l.stream, l.line.level]), [['stdout', 'INFO'], ['stderr', 'WARN'], ['stderr', 'ERROR']]);
  });

  it('a detail cannot overwrite a standard key; no trace id outside Lambda', () => {
    const { log, lines } = capture({});
    log.info('kept', { message: 'not this', level: 'ERROR', timestamp: 'x', extra: 1 });
    assert.deepEqual(lines[0]!.line, { level: 'INFO', message: 'kept', timestamp: '2030-01-01T00:00:00.000Z', service: 'teams-jit-access', sampling_rate: 0, function: 'bridge', extra: 1 });
  });

  it('the level: Lambda\'s advanced logging controls first, then JIT_LOG_LEVEL, then INFO', () => {
    assert.equal(logLevelOf({}), 'INFO');
    assert.equal(logLevelOf({ JIT_LOG_LEVEL: 'debug' }), 'DEBUG');
    assert.equal(logLevelOf({ JIT_LOG_LEVEL: 'DEBUG', AWS_LAMBDA_LOG_LEVEL: 'WARN' }), 'WARN');
    assert.equal(logLevelOf({ AWS_LAMBDA_LOG_LEVEL: 'FATAL' }), 'ERROR');
    assert.equal(logLevelOf({ JIT_LOG_LEVEL: 'LOUD' }), 'INFO');
    const { log, lines } = capture({ JIT_LOG_LEVEL: 'WARN' });
    log.debug('d');
    log.info('i');
    log.warn('w');
    assert.deepEqual(lines.map((l) => l.line.message), ['w']);
    assert.equal(xrayTraceId('Parent=1;Sampled=0'), undefined);
  });
});

describe('composition: a function composed without the parts it never uses', () => {
  const cfg = parseConfig({
    [ENV.stage]: 'test',
    [ENV.awsRegion]: 'us-east-1',
    [ENV.requestsTable]: 'jit-requests',
    [ENV.ledgerTable]: 'jit-ledger',
    [ENV.auditTable]: 'jit-audit',
    [ENV.eventBusName]: 'jit-audit',
    [ENV.stateMachineArn]: 'arn:aws:states:us-east-1:111111111111:stateMachine:jit-test-approval',
    [ENV.ssoInstanceArn]: 'arn:aws:sso:::instance/ssoins-1111111111111111',
    [ENV.identityStoreId]: 'd-1111111111',
    [ENV.schedulerGroup]: 'jit-test',
    [ENV.schedulerRoleArn]: 'arn:aws:iam::111111111111:role/jit-scheduler',
    [ENV.schedulerTargetArn]: 'arn:aws:lambda:us-east-1:111111111111:function:jit-test-revoke',
    [ENV.schedulerDlqArn]: 'arn:aws:sqs:us-east-1:111111111111:jit-test-dlq',
    [ENV.botFunctionArn]: 'arn:aws:lambda:us-east-1:111111111111:function:jit-test-bot:live',
    [ENV.noticeFunctionArn]: 'arn:aws:lambda:us-east-1:111111111111:function:jit-access-test-notify',
    [ENV.botAppId]: '00000000-0000-0000-0000-000000000002',
    [ENV.entraTenantId]: '00000000-0000-0000-0000-000000000000',
    [ENV.policyJson]: compilePolicy(parse(readFileSync('sandbox/demo-policy.yaml', 'utf8'))),
  });

  it('sends its notices through the notify function; a direct send, the audit sink or the SessionDuration check is an error naming what is missing', async () => {
    const backend = composeWith(cfg, { log: () => silentLog }, {});
    assert.equal(backend.deps.notifier, NO_DIRECT_NOTIFIER);
    assert.ok(backend.deps.notices, 'notices are dispatched to the notify function');
    await assert.rejects(backend.deps.notifier.requestChanged('approval_requested', {} as never), /notify function/);
    assert.throws(() => backend.auditTableSink(), /without the audit table sink/);
    assert.throws(() => backend.checkSessionDurations(silentLog), /without the SessionDuration check/);
  });
});
