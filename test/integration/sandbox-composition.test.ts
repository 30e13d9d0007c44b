/**
 * The sandbox runs the backend the Lambdas run: its ports come from lambdas/composition.ts
 * composeBackend, the same function lambdaBackend() calls on AWS, with only the endpoints, the
 * clock, the log, the metrics sink and DynamoDB's place (the file-backed stores) swapped. So the
 * production pieces a hand-built wiring used to miss are there: every committed change is counted
 * in the metrics, and every Identity Center call of the process shares one limiter, which paces a
 * burst over Identity Center's 20 TPS instead of letting it run into ThrottlingException.
 */
import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import { ACTOR_HEADERS } from '../../contract/bridge';
import { SsoAdminAssignmentGateway } from '../../lambdas/adapters/sso-admin-assignments';
import { METRIC } from '../../lambdas/metrics';
import { recordingMetrics, type RecordingMetricsSink } from '../../lambdas/observability/emf';
import { DEMO_PERMISSION_SETS } from '../../sandbox/seed';
import { startSandbox, type Sandbox } from '../../sandbox/orchestrator';
import { type DemoPerson, loadDemoPeople } from '../../sandbox/seed';
import { ConnectorRecorder } from '../support/connector-recorder';

const people = loadDemoPeople();
const person = (key: string): DemoPerson => people.people.find((p) => p.key === key)!;

describe('sandbox: the backend is the Lambdas\' composition', function () {
  this.timeout(60_000);
  let connector: ConnectorRecorder;
  let sandbox: Sandbox | undefined;
  let metrics: RecordingMetricsSink;

  beforeEach(async () => {
    connector = new ConnectorRecorder();
    await connector.start();
    metrics = recordingMetrics();
    sandbox = await startSandbox({
      dataDir: false,
      ports: { bot: 0, bridge: 0, aws: 0 },
      playground: false,
      teamsServiceUrl: connector.url,
      assignmentDelayMs: { min: 5, max: 20 },
      grantPollMs: 30,
      reconcileIntervalMs: 0,
      logLevel: 'ERROR',
      log: () => undefined,
      metrics,
    });
  });
  afterEach(async () => {
    sinon.restore();
    await sandbox?.stop();
    sandbox = undefined;
    await connector.close();
  });

  const bridgeCall = async (path: string, as: DemoPerson, body?: Record<string, unknown>) =>
    fetch(`${sandbox!.urls.bridge}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await sandbox!.bridgeToken()}`, [ACTOR_HEADERS.tenantId]: people.tenantId, [ACTOR_HEADERS.aadObjectId]: as.aadObjectId, [ACTOR_HEADERS.upn]: as.upn },
      body: body ? JSON.stringify(body) : undefined,
    });

  it('the handlers run on the composed ports: the production adapters, the stores in DynamoDB\'s place only', () => {
    const s = sandbox!;
    assert.equal(s.deps, s.backend.deps);
    assert.ok(s.deps.assignments instanceof SsoAdminAssignmentGateway, 'Identity Center through the production gateway');
    // The request store is the file-backed store behind the metrics instrumentation, as the DynamoDB store is on AWS.
    assert.notEqual(s.deps.requests, s.stores.requests);
    assert.equal(s.deps.ledger, s.stores.ledger);
    assert.equal(s.deps.audit, s.stores.audit);
    // Only the endpoints are swapped: the clients of the ports the stores replace are never built.
    void s.deps.workflow;
    assert.deepEqual(s.backend.clients.built().filter((c) => ['dynamo', 'eventBridge', 'secretsManager'].includes(c)), []);
  });

  it('every committed request change is counted in the metrics, as the Lambdas count it in EMF', async () => {
    const alice = person('alice');
    const created = await bridgeCall('/requests', alice, { clientRequestId: 'metrics-0001', accountId: '111111111111', permissionSetName: 'PowerUser', durationMinutes: 2, justification: 'Look at the failing nightly job' });
    assert.equal(created.status, 201);
    const { request } = (await created.json()) as { request: { id: string } };
    const cancelled = await bridgeCall(`/requests/${request.id}/cancel`, alice, { reason: 'Fixed without access' });
    assert.equal(cancelled.status, 200);
    const outcomes = metrics.points.filter((p) => p.name === METRIC.requestsByOutcome).map((p) => p.dimensions.outcome);
    assert.deepEqual(outcomes, ['cancelled']);
    assert.equal((await sandbox!.stores.requests.get(request.id))?.state, 'CANCELLED');
  });

  it('Identity Center calls share the process\'s one limiter: a burst over 20 TPS is paced by it', async () => {
    const s = sandbox!;
    const take = sinon.spy(s.backend.limiter.bucket, 'take');
    const burst = 40;
    const started = s.clock.now();
    const lists = await Promise.all(Array.from({ length: burst }, () => s.deps.assignments.listAssignments('111111111111', DEMO_PERMISSION_SETS[0]!.arn)));
    const elapsedMs = s.clock.now() - started;
    assert.equal(lists.length, burst);
    assert.ok(take.callCount >= burst, `every call took a token of the shared limiter (${take.callCount})`);
    // The bucket holds 20 tokens and refills at 20 a second: 40 calls cannot all start within a
    // second. A lower bound only: a slower machine takes longer, never shorter.
    assert.ok(elapsedMs >= ((burst - 20) / 20) * 1000 - 50, `the burst was paced (${elapsedMs} ms)`);
  });
});
