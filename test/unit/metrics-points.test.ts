/**
 * The product metrics (lambdas/metrics.ts) from committed request changes: what an operator sees
 * on the dashboard after real lifecycles over in-memory ports and a fake clock. Exactly once per
 * change, whatever the retries, races and duplicate deliveries.
 */
import { strict as assert } from 'node:assert';
import type { MemoryWorld } from '../../core/memory';
import type { AccessRequest, AuditEvent } from '../../core/model';
import * as svc from '../../core/services';
import { FAILURE_KINDS, METRIC, type MetricPoint, metricPoints, OUTCOMES, secondsBetween } from '../../lambdas/metrics';
import { instrumentDeps, type RecordingMetricsSink, recordingMetrics } from '../../lambdas/observability/emf';
import { createRevokeHandler } from '../../lambdas/revoke/handler';
import { activeRequest, actor, body, grant, startWorkflow, world } from '../support/core-world';

function instrumented(): { w: MemoryWorld; sink: RecordingMetricsSink } {
  const w = world();
  const sink = recordingMetrics();
  w.deps = instrumentDeps(w.deps, sink);
  return { w, sink };
}

const named = (points: MetricPoint[], name: string) => points.filter((p) => p.name === name);
const outcomes = (points: MetricPoint[]) => named(points, METRIC.requestsByOutcome).map((p) => p.dimensions.outcome);
const values = (points: MetricPoint[], name: string) => named(points, name).map((p) => p.value);

describe('metrics: points from committed request changes', () => {
  it('approval route: time to decision, grant latency and revocation lag in seconds of the fake clock', async () => {
    const { w, sink } = instrumented();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ durationMinutes: 30 }) });
    await startWorkflow(w, request.id);
    await w.clock.advance(90_000);
    await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
    await w.clock.advance(4_000);
    assert.equal(await grant(w, request.id), 'ACTIVE');
    const endsAt = Date.parse((await w.requests.get(request.id))!.grant!.endsAt);
    w.clock.set(endsAt + 20_000);
    await createRevokeHandler(w.deps)({ requestId: request.id, source: 'schedule' });

    assert.deepEqual(outcomes(sink.points), ['approved', 'expired']);
    assert.deepEqual(values(sink.points, METRIC.timeToDecision), [90]);
    assert.deepEqual(values(sink.points, METRIC.grantLatency), [4]);
    // 20 s late, plus the (fake) time spent polling Identity Center until the delete is confirmed.
    const [lag] = values(sink.points, METRIC.revocationLag);
    assert.ok(lag! >= 20 && lag! < 21, `lag ${lag}`);
    assert.deepEqual(named(sink.points, METRIC.breakGlassUses), []);
    assert.deepEqual(named(sink.points, METRIC.failuresByKind), []);
  });

  it('an auto-approved request counts as approved, without a decision time (no person decided)', async () => {
    const { w, sink } = instrumented();
    await activeRequest(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
    assert.deepEqual(outcomes(sink.points), ['approved']);
    assert.deepEqual(named(sink.points, METRIC.timeToDecision), []);
    assert.equal(named(sink.points, METRIC.grantLatency).length, 1);
  });

  it('break-glass: one use per submission, counted once even though the submit is replayed', async () => {
    const { w, sink } = instrumented();
    const b = body({ breakGlass: true, durationMinutes: 15 });
    const first = await svc.submitRequest(w.deps, { actor: actor('alice'), body: b });
    const replay = await svc.submitRequest(w.deps, { actor: actor('alice'), body: b });
    assert.equal(replay.replayed, true);
    assert.equal(first.request.route, 'break_glass');
    await startWorkflow(w, first.request.id);
    await grant(w, first.request.id);
    assert.deepEqual(values(sink.points, METRIC.breakGlassUses), [1]);
    assert.deepEqual(named(sink.points, METRIC.timeToDecision), [], 'no approver decided');
  });

  it('denied, cancelled, timed out: one outcome each; the denial has a decision time', async () => {
    const { w, sink } = instrumented();
    const denied = (await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() })).request.id;
    await startWorkflow(w, denied);
    await w.clock.advance(30_000);
    await svc.castVote(w.deps, { requestId: denied, actor: actor('carol'), decision: 'deny', reason: 'not now' });
    const cancelled = (await svc.submitRequest(w.deps, { actor: actor('bob'), body: body() })).request.id;
    await svc.cancelRequest(w.deps, { requestId: cancelled, actor: actor('bob') });
    const timedOut = (await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ accountId: '111111111111' }) })).request.id;
    await startWorkflow(w, timedOut);
    await svc.timeOutRequest(w.deps, { requestId: timedOut });
    assert.deepEqual(outcomes(sink.points).sort(), ['cancelled', 'denied', 'timed_out']);
    assert.deepEqual(values(sink.points, METRIC.timeToDecision), [30]);
  });

  it('100 approvers clicking at once: one approved, one decision time (lost compare-and-swap writes count nothing)', async () => {
    const { w, sink } = instrumented();
    const id = (await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() })).request.id;
    await startWorkflow(w, id);
    const clicks = Array.from({ length: 100 }, (_, i) => svc.castVote(w.deps, { requestId: id, actor: actor(i % 2 ? 'carol' : 'dan'), decision: 'approve' }).catch((e: Error) => e));
    await Promise.all(clicks);
    assert.deepEqual(outcomes(sink.points), ['approved']);
    assert.equal(named(sink.points, METRIC.timeToDecision).length, 1);
  });

  it('the Scheduler delivering an expiry twice: one expired, one lag', async () => {
    const { w, sink } = instrumented();
    const id = await activeRequest(w);
    w.clock.set(Date.parse((await w.requests.get(id))!.grant!.endsAt) + 3_000);
    const revoke = createRevokeHandler(w.deps);
    await revoke({ requestId: id, source: 'schedule' });
    await revoke({ requestId: id, source: 'schedule' });
    assert.deepEqual(outcomes(sink.points), ['approved', 'expired']);
    assert.equal(named(sink.points, METRIC.revocationLag).length, 1);
    assert.ok(values(sink.points, METRIC.revocationLag)[0]! >= 3);
  });

  it('early revoke: revoked, lag from the revoke click to the confirmed delete', async () => {
    const { w, sink } = instrumented();
    const id = await activeRequest(w);
    await svc.revokeEarly(w.deps, { requestId: id, actor: actor('alice'), reason: 'done' });
    assert.deepEqual(outcomes(sink.points), ['approved', 'revoked']);
    assert.equal(named(sink.points, METRIC.revocationLag).length, 1);
    assert.ok(values(sink.points, METRIC.revocationLag)[0]! >= 0);
  });

  it('a failed grant: failed outcome and FailuresByKind{kind=request_failed}', async () => {
    const { w, sink } = instrumented();
    const id = (await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ permissionSetName: 'ReadOnly', durationMinutes: 10 }) })).request.id;
    await startWorkflow(w, id);
    w.assignments.failNext('create', 'principal not found');
    assert.equal(await grant(w, id), 'FAILED');
    assert.deepEqual(outcomes(sink.points), ['approved', 'failed']);
    assert.deepEqual(named(sink.points, METRIC.failuresByKind).map((p) => p.dimensions), [{ kind: 'request_failed' }]);
  });

  it('a write whose outbox still holds an older unflushed event counts only its own events', async () => {
    const { w, sink } = instrumented();
    const id = await activeRequest(w);
    const before = sink.points.length;
    // The ACTIVE transition event stuck in the outbox (the audit sink was down), then an extension.
    const stored = (await w.requests.get(id))!;
    const stale: AuditEvent = { eventId: `${id}:v${stored.version}:0`, requestId: id, at: stored.updatedAt, actor: actor('alice'), action: 'request.transition', fromState: 'GRANTING', toState: 'ACTIVE', reason: 'x' };
    await w.requests.update({ ...stored, version: stored.version + 1, auditOutbox: [stale] }, stored.version);
    await svc.extendGrant(w.deps, { requestId: id, actor: actor('alice'), additionalMinutes: 10 });
    assert.equal(sink.points.length, before, 'neither the stale ACTIVE event nor the extension is a metric');
  });
});

describe('metrics: metricPoints (pure)', () => {
  const request = (over: Partial<AccessRequest> = {}): AccessRequest =>
    ({ id: 'req-1', route: 'approval', createdAt: '2026-01-01T09:00:00.000Z', ...over }) as AccessRequest;
  const transition = (toState: AuditEvent['toState'], at: string, userId = 'u-carol'): AuditEvent => ({
    eventId: 'req-1:v2:0',
    requestId: 'req-1',
    at,
    actor: { userId, userName: userId, displayName: userId },
    action: 'request.transition',
    toState,
    reason: 'r',
  });

  it('every outcome and failure kind is a fixed, low-cardinality dimension value', () => {
    const states = { APPROVED: 'approved', DENIED: 'denied', TIMED_OUT: 'timed_out', CANCELLED: 'cancelled', EXPIRED: 'expired', REVOKED: 'revoked', FAILED: 'failed' } as const;
    for (const [state, outcome] of Object.entries(states)) {
      const points = metricPoints({ kind: 'committed', event: transition(state as AuditEvent['toState'], '2026-01-01T09:01:00.000Z'), request: request() });
      assert.deepEqual(outcomes(points), [outcome]);
      assert.ok(OUTCOMES.includes(outcome));
    }
    for (const kind of FAILURE_KINDS) assert.deepEqual(metricPoints({ kind: 'failure', failure: kind }), [{ name: METRIC.failuresByKind, unit: 'Count', value: 1, dimensions: { kind } }]);
    for (const p of metricPoints({ kind: 'committed', event: transition('EXPIRED', '2026-01-01T10:00:00.000Z'), request: request({ grant: { startsAt: 'a', endsAt: '2026-01-01T09:59:00.000Z', totalSeconds: 1, extensions: 0 } }) })) {
      assert.ok(Object.keys(p.dimensions).every((k) => k === 'outcome' || k === 'kind'), 'never an id as a dimension');
    }
  });

  it('intermediate states, votes, extensions and notices are not metrics', () => {
    for (const toState of ['PENDING_APPROVAL', 'GRANTING', 'REVOKING'] as const) {
      assert.deepEqual(metricPoints({ kind: 'committed', event: transition(toState, '2026-01-01T09:01:00.000Z'), request: request() }), []);
    }
    for (const action of ['request.vote', 'request.extended', 'request.expiring_soon', 'request.approval_requested', 'assignment.created'] as const) {
      assert.deepEqual(metricPoints({ kind: 'committed', event: { ...transition('APPROVED', '2026-01-01T09:01:00.000Z'), action }, request: request() }), []);
    }
  });

  it('a schedule that fires a little early is a lag of 0, not negative; missing or broken times give no point', () => {
    const early = metricPoints({ kind: 'committed', event: transition('EXPIRED', '2026-01-01T09:59:57.000Z'), request: request({ grant: { startsAt: 'a', endsAt: '2026-01-01T10:00:00.000Z', totalSeconds: 1, extensions: 0 } }) });
    assert.deepEqual(values(early, METRIC.revocationLag), [0]);
    assert.deepEqual(values(metricPoints({ kind: 'committed', event: transition('EXPIRED', '2026-01-01T10:00:00.000Z'), request: request() }), METRIC.revocationLag), []);
    assert.deepEqual(values(metricPoints({ kind: 'committed', event: transition('ACTIVE', '2026-01-01T10:00:00.000Z'), request: request({ decidedAt: 'not a date' }) }), METRIC.grantLatency), []);
    assert.equal(secondsBetween(undefined, '2026-01-01T10:00:00.000Z'), undefined);
    assert.equal(secondsBetween('2026-01-01T10:00:00.000Z', '2026-01-01T10:00:01.500Z'), 1.5);
  });
});
