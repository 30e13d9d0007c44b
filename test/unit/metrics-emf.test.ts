/**
 * EMF output as CloudWatch reads it (namespace, dimension sets, units), and the failure counts the
 * handlers emit at the edges: what the dashboard and the alarms in infra/constructs/monitoring.ts
 * are built on.
 */
import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import { createAuditWriterHandler } from '../../lambdas/audit-writer/handler';
import { createFindingsHandler } from '../../lambdas/findings/handler';
import { METRIC, METRICS_NAMESPACE, METRICS_SERVICE, type MetricPoint } from '../../lambdas/metrics';
import { createNotifyHandler } from '../../lambdas/notify/handler';
import { countFailure, EmfMetricsSink, emfOptions, recordingMetrics } from '../../lambdas/observability/emf';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { createRevokeHandler } from '../../lambdas/revoke/handler';
import { createWorkflowHandler } from '../../lambdas/workflow/handler';
import * as svc from '../../core/services';
import { METRICS_NAMESPACE as INFRA_NAMESPACE } from '../../infra/constructs/monitoring';
import { activeRequest, actor, body, world } from '../support/core-world';

/** Runs `fn` with stdout captured (the EMF lines go to process.stdout). */
function captureStdout(fn: () => void): string[] {
  const chunks: string[] = [];
  const stub = sinon.stub(process.stdout, 'write').callsFake((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  try {
    fn();
  } finally {
    stub.restore();
  }
  return chunks.join('').split('\n').filter((l) => l.trim().length > 0);
}

describe('metrics: EMF lines', () => {
  it('one EMF line per point: namespace TeamsJitAccess, dimensions service+stage(+outcome|kind), the right unit', () => {
    const sink = new EmfMetricsSink(emfOptions('prod'));
    const points: MetricPoint[] = [
      { name: METRIC.requestsByOutcome, unit: 'Count', value: 1, dimensions: { outcome: 'expired' } },
      { name: METRIC.revocationLag, unit: 'Seconds', value: 12.5, dimensions: {} },
      { name: METRIC.failuresByKind, unit: 'Count', value: 1, dimensions: { kind: 'revoke_failed' } },
    ];
    const lines = captureStdout(() => sink.emit(points)).map((l) => JSON.parse(l) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(lines.length, 3);
    const [outcome, lag, failure] = lines;
    for (const l of lines) {
      assert.equal(l._aws.CloudWatchMetrics[0].Namespace, METRICS_NAMESPACE);
      assert.equal(l.service, METRICS_SERVICE);
      assert.equal(l.stage, 'prod');
      assert.equal(typeof l._aws.Timestamp, 'number');
    }
    assert.deepEqual(outcome!._aws.CloudWatchMetrics[0].Dimensions, [['service', 'stage', 'outcome']]);
    assert.deepEqual(outcome!._aws.CloudWatchMetrics[0].Metrics, [{ Name: 'RequestsByOutcome', Unit: 'Count' }]);
    assert.equal(outcome!.outcome, 'expired');
    assert.equal(outcome!.RequestsByOutcome, 1);
    assert.deepEqual(lag!._aws.CloudWatchMetrics[0].Dimensions, [['service', 'stage']], 'the outcome dimension does not leak into the next point');
    assert.deepEqual(lag!._aws.CloudWatchMetrics[0].Metrics, [{ Name: 'RevocationLagSeconds', Unit: 'Seconds' }]);
    assert.equal(lag!.RevocationLagSeconds, 12.5);
    assert.equal(failure!.kind, 'revoke_failed');
    assert.equal(METRICS_NAMESPACE, INFRA_NAMESPACE, 'infra graphs the namespace the functions write');
  });

  it('emits nothing for no points, and skips a non-finite value instead of writing a broken line', () => {
    const sink = new EmfMetricsSink(emfOptions('dev'));
    assert.deepEqual(captureStdout(() => sink.emit([])), []);
    assert.deepEqual(captureStdout(() => sink.emit([{ name: METRIC.grantLatency, unit: 'Seconds', value: Number.NaN, dimensions: {} }])), []);
  });

  it('countFailure never throws, even when the sink does (a metric is not worth a failed invocation)', () => {
    assert.doesNotThrow(() => countFailure({ emit: () => { throw new Error('stdout closed'); } }, 'revoke_failed'));
  });
});

describe('metrics: failures counted at the edges', () => {
  const kinds = (points: MetricPoint[]) => points.filter((p) => p.name === METRIC.failuresByKind).map((p) => p.dimensions.kind);

  it('revoke: a failed delete and a malformed payload are revoke_failed; a duplicate delivery is not a failure', async () => {
    const w = world();
    const metrics = recordingMetrics();
    const revoke = createRevokeHandler(w.deps, { metrics });
    const id = await activeRequest(w);
    w.clock.set(Date.parse((await w.requests.get(id))!.grant!.endsAt));
    w.assignments.failNext('delete', 'AccessDeniedException');
    await assert.rejects(revoke({ requestId: id, source: 'schedule' }));
    await assert.rejects(revoke({ requestId: id } as never));
    await revoke({ requestId: id, source: 'schedule' });
    await revoke({ requestId: id, source: 'schedule' });
    assert.deepEqual(kinds(metrics.points), ['revoke_failed', 'revoke_failed']);
  });

  it('workflow: a throttled step is workflow_step; a request cancelled before its workflow started is not a failure', async () => {
    const w = world();
    const metrics = recordingMetrics();
    const handler = createWorkflowHandler(w.deps, { metrics });
    const cancelled = (await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() })).request.id;
    await svc.cancelRequest(w.deps, { requestId: cancelled, actor: actor('alice') });
    await assert.rejects(handler({ action: 'validate', requestId: cancelled }), { name: 'Cancelled' });
    assert.deepEqual(kinds(metrics.points), []);
    const id = (await svc.submitRequest(w.deps, { actor: actor('bob'), body: body({ permissionSetName: 'ReadOnly', durationMinutes: 10 }) })).request.id;
    await handler({ action: 'validate', requestId: id });
    w.assignments.failNext('create', 'ThrottlingException');
    await handler({ action: 'start_grant', requestId: id }).catch(() => undefined);
    await assert.rejects(handler({ action: 'validate', requestId: 'req-000000009999' }));
    assert.ok(kinds(metrics.points).length >= 1 && kinds(metrics.points).every((k) => k === 'workflow_step'));
  });

  it('notify: an approval card that cannot be posted is approval_notice', async () => {
    const w = world();
    const metrics = recordingMetrics();
    const id = (await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() })).request.id;
    await svc.validateForWorkflow(w.deps, { requestId: id });
    sinon.stub(w.notifier, 'requestChanged').rejects(new Error('bot down'));
    try {
      await assert.rejects(createNotifyHandler(w.deps, { metrics })({ requestId: id, taskToken: 'token-1' }));
    } finally {
      sinon.restore();
    }
    assert.deepEqual(kinds(metrics.points), ['approval_notice']);
  });

  it('reconcile: a failed sweep is reconcile_failed; a clean sweep counts nothing', async () => {
    const w = world();
    const metrics = recordingMetrics();
    await createReconcileHandler(w.deps, { metrics })();
    assert.deepEqual(kinds(metrics.points), []);
    sinon.stub(w.ledger, 'list').rejects(new Error('table gone'));
    try {
      await assert.rejects(createReconcileHandler(w.deps, { metrics })());
    } finally {
      sinon.restore();
    }
    assert.deepEqual(kinds(metrics.points), ['reconcile_failed']);
  });

  it('audit-writer: an unstorable or malformed event is audit_write', async () => {
    const metrics = recordingMetrics();
    const failing = createAuditWriterHandler({ append: () => Promise.reject(new Error('KMS denied')) }, { metrics });
    const event = {
      source: 'jit.access',
      'detail-type': 'JIT Access Audit Event',
      detail: { eventId: 'req-1:v1:0', requestId: 'req-1', at: '2026-01-01T09:00:00.000Z', actor: { userId: 'u', userName: 'u', displayName: 'U' }, action: 'request.submitted', reason: 'r' },
    };
    await assert.rejects(failing(event));
    await assert.rejects(failing({ detail: {} }));
    assert.deepEqual(kinds(metrics.points), ['audit_write', 'audit_write']);
  });

  it('findings: a card the bot refuses is findings_delivery', async () => {
    const metrics = recordingMetrics();
    const handler = createFindingsHandler({ send: () => Promise.reject(new Error('401')) }, { minSeverity: 'HIGH', metrics });
    const finding = { Id: 'f-1', ProductArn: 'arn:aws:securityhub:eu-west-1::product/aws/guardduty', AwsAccountId: '111111111111', Title: 'x', UpdatedAt: '2026-01-01T09:00:00.000Z', Severity: { Label: 'HIGH' } };
    await assert.rejects(handler({ source: 'aws.securityhub', 'detail-type': 'Security Hub Findings - Imported', detail: { findings: [finding] } }));
    assert.deepEqual(kinds(metrics.points), ['findings_delivery']);
  });
});
