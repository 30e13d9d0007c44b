/**
 * buildDeps: the AWS ports from one parsed configuration, with single ports replaceable (the
 * sandbox keeps its stores in memory) and one Identity Center limiter for the whole process.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { MemoryRequestStore } from '../../core/memory';
import { BotNotifier } from '../../lambdas/adapters/bot-notifier';
import { DynamoRequestStore } from '../../lambdas/adapters/dynamo-requests';
import { EventBridgeAuditSink } from '../../lambdas/adapters/eventbridge-audit';
import { SsoAdminAssignmentGateway } from '../../lambdas/adapters/sso-admin-assignments';
import { arnParts, buildDeps, createAwsClients } from '../../lambdas/composition';
import { parseConfig } from '../../lambdas/config';
import { ENV } from '../../lambdas/contract';
import { compilePolicy } from '../../core/policy/validate';

const env = {
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
  [ENV.notifyUrl]: 'https://bot.example.com/api/notify',
  [ENV.notifySecretArn]: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:jit-test/notify-hmac-AbCdEf',
  [ENV.noticeFunctionArn]: 'arn:aws:lambda:us-east-1:111111111111:function:jit-access-test-notify',
  [ENV.botAppId]: '00000000-0000-0000-0000-000000000002',
  [ENV.entraTenantId]: '00000000-0000-0000-0000-000000000000',
  [ENV.policyJson]: compilePolicy(parse(readFileSync('sandbox/demo-policy.yaml', 'utf8'))),
};

describe('adapters: buildDeps', () => {
  const cfg = parseConfig(env);

  it('binds every port to its AWS adapter, with clients pointed where the caller says', async () => {
    const clients = createAwsClients(cfg, { endpoint: 'http://127.0.0.1:4599', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const deps = buildDeps(cfg, clients);
    assert.ok(deps.requests instanceof DynamoRequestStore);
    assert.ok(deps.assignments instanceof SsoAdminAssignmentGateway);
    assert.ok(deps.audit instanceof EventBridgeAuditSink);
    assert.ok(deps.notifier instanceof BotNotifier);
    assert.equal(deps.policy(), cfg.policy);
    assert.match(deps.ids.requestId(), /^req-[0-9A-Za-z]{10,40}$/);
    const endpoint = await clients.ssoAdmin.config.endpoint!();
    assert.equal(endpoint.hostname, '127.0.0.1');
    // The gateway owns Identity Center retries; the SDK must not multiply them.
    assert.equal(await clients.ssoAdmin.config.maxAttempts(), 1);
  });

  it('single ports can be replaced (the sandbox keeps DynamoDB in memory)', () => {
    const store = new MemoryRequestStore();
    const deps = buildDeps(cfg, createAwsClients(cfg), { overrides: { requests: store } });
    assert.equal(deps.requests, store);
  });

  it('the product account comes from the state machine ARN (Security Hub product ARN)', () => {
    assert.deepEqual(arnParts(cfg.stateMachineArn), { partition: 'aws', region: 'us-east-1', accountId: '111111111111' });
  });
});
