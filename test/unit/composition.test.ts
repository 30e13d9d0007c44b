/**
 * lambdas/composition.ts: the one place the backend's ports are built. What every caller gets
 * whatever it overrides (the Lambdas, the sandbox, the benchmarks): the requests table's indexes,
 * a request store that counts each committed change in the metrics, one Identity Center limiter
 * for every Identity Center call of the process, and AWS clients built only when a port needs one.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { ListAccountAssignmentsCommand, ListPermissionSetsCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import sinon from 'sinon';
import { parse } from 'yaml';
import * as svc from '../../core/services';
import { REQUESTS_INDEXES } from '../../lambdas/adapters/dynamo-requests';
import { composeBackend } from '../../lambdas/composition';
import { parseConfig } from '../../lambdas/config';
import { ENV } from '../../lambdas/contract';
import { METRIC } from '../../lambdas/metrics';
import { recordingMetrics } from '../../lambdas/observability/emf';
import { silentLog } from '../../lambdas/http';
import { capturingDocumentClient, ownSend } from '../support/aws-capture';
import { actor, body, world } from '../support/core-world';
import { FakeDynamoDB } from '../support/fake-dynamodb';
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

describe('composition: one backend for the Lambdas, the sandbox and the benchmarks', () => {
  const cfg = parseConfig(env);
  const quiet = () => silentLog;
  afterEach(() => sinon.restore());

  it('lists requests through the requests table\'s indexes (the stack creates them), not by scanning', async () => {
    const db = new FakeDynamoDB({ [cfg.requestsTable]: { key: 'pk', indexes: Object.fromEntries(Object.values(REQUESTS_INDEXES).map((i) => [i.name, { partitionKey: i.partitionKey, sortKey: i.sortKey }])) } });
    const { doc, calls } = capturingDocumentClient(db.respond);
    const backend = composeBackend(cfg, { clients: { dynamo: doc }, log: quiet });
    await backend.deps.requests.list({ requesterUserId: 'u-1' });
    assert.deepEqual(calls.map((c) => [c.command, (c.input as { IndexName?: string }).IndexName]), [['QueryCommand', REQUESTS_INDEXES.byRequester.name]]);
  });

  it('counts every committed request change in the metrics sink, also over a store the caller puts in DynamoDB\'s place', async () => {
    const w = world();
    const metrics = recordingMetrics();
    const backend = composeBackend(cfg, { log: quiet, metrics, clock: w.clock, overrides: w.deps });
    const { request } = await svc.submitRequest(backend.deps, { actor: actor('alice'), body: body() });
    await svc.cancelRequest(backend.deps, { requestId: request.id, actor: actor('alice'), reason: 'no longer needed' });
    assert.deepEqual(
      metrics.points.filter((p) => p.name === METRIC.requestsByOutcome).map((p) => p.dimensions.outcome),
      ['cancelled'],
    );
  });

  it('one Identity Center limiter for the process: the assignment gateway and the cold-start check take its tokens', async () => {
    // Instance stubs: another suite's class mock of SSOAdminClient lives on the prototype.
    const answer = async (command: unknown) => {
      if (command instanceof ListPermissionSetsCommand) return { PermissionSets: [] };
      if (command instanceof ListAccountAssignmentsCommand) return { AccountAssignments: [] };
      return { PermissionSet: { SessionDuration: 'PT1H' } };
    };
    const ssoAdmin = ownSend(new SSOAdminClient({ region: 'us-east-1' }));
    const ssoAdminReads = ownSend(new SSOAdminClient({ region: 'us-east-1' }));
    const sends = [sinon.stub(ssoAdmin, 'send').callsFake(answer), sinon.stub(ssoAdminReads, 'send').callsFake(answer)];
    const backend = composeBackend(cfg, { log: quiet, clients: { ssoAdmin, ssoAdminReads } });
    const take = sinon.spy(backend.limiter.bucket, 'take');
    await backend.deps.assignments.listAssignments('111111111111', cfg.policy.permissionSets[0]!.arn);
    const afterGateway = take.callCount;
    await backend.checkSessionDurations(silentLog);
    assert.equal(afterGateway, 1);
    assert.equal(take.callCount, 1 + cfg.policy.permissionSets.length, 'one token per DescribePermissionSet of the check');
    assert.equal(sends[0]!.callCount + sends[1]!.callCount, take.callCount);
  });

  it('builds an AWS client only when a port needs it: the audit-writer builds DynamoDB\'s alone, the findings function Secrets Manager\'s', () => {
    const audit = composeBackend(cfg, { log: quiet });
    audit.auditTableSink();
    assert.deepEqual(audit.clients.built(), ['dynamo']);
    const findings = composeBackend(cfg, { log: quiet });
    void findings.notifier;
    assert.deepEqual(findings.clients.built(), ['secretsManager']);
    const all = composeBackend(cfg, { log: quiet });
    void all.deps;
    assert.deepEqual(all.clients.built().sort(), ['dynamo', 'eventBridge', 'identityStore', 'lambda', 'scheduler', 'secretsManager', 'securityHub', 'sfn', 'ssoAdmin']);
    for (const b of [audit, findings, all]) b.clients.destroy();
  });
});
