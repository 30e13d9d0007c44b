/**
 * Every write of a request bumps its version and carries that version's audit events in the same
 * write (the outbox): no version without its event, none with two "first" events. And the services
 * answer with outcomes (done, duplicate, already decided, already ended, rescheduled), so that the
 * edges never re-read the store to interpret an error.
 */
import { strict as assert } from 'node:assert';
import { auditEventId } from '../../core/lifecycle';
import type { StoredRequest } from '../../core/model';
import * as svc from '../../core/services';
import { actor, activeRequest, body, grant, startWorkflow, world } from '../support/core-world';

type World = ReturnType<typeof world>;

/**
 * The in-memory world with its request store watched: each create and update must add events of
 * exactly the version it writes, numbered from 0 without gaps.
 */
function watchedWorld(): World & { violations: string[]; bumps: number } {
  const w = world() as World & { violations: string[]; bumps: number };
  w.violations = [];
  w.bumps = 0;
  const check = (next: StoredRequest, before: readonly string[]) => {
    const added = (next.auditOutbox ?? []).filter((e) => !before.includes(e.eventId));
    const expected = added.map((_, i) => auditEventId(next.id, next.version, i)).sort();
    // Numbered 0..n-1 in any order: a deciding vote lists the vote (numbered after) first.
    const ids = added.map((e) => e.eventId).sort();
    if (added.length === 0) w.violations.push(`${next.id} v${next.version} (${next.state}) was written without an audit event`);
    else if (JSON.stringify(ids) !== JSON.stringify(expected)) w.violations.push(`${next.id} v${next.version}: events ${ids.join(', ')}, expected ${expected.join(', ')}`);
  };
  const create = w.requests.create.bind(w.requests);
  w.requests.create = async (request) => {
    check(request, []);
    await create(request);
  };
  const update = w.requests.update.bind(w.requests);
  w.requests.update = async (next, expectedVersion) => {
    const current = w.requests.items.get(next.id);
    await update(next, expectedVersion);
    w.bumps++;
    check(next, (current?.auditOutbox ?? []).map((e) => e.eventId));
  };
  return w;
}

/** Each version of each request has exactly one event numbered 0 in the audit sink. */
function assertOneEventPerVersion(w: World): void {
  for (const r of w.requests.items.values()) {
    const trail = w.audit.forRequest(r.id);
    for (let v = 1; v <= r.version; v++) {
      const first = trail.filter((e) => e.eventId === auditEventId(r.id, v, 0));
      assert.equal(first.length, 1, `${r.id} v${v} has ${first.length} audit events numbered 0 (trail: ${trail.map((e) => `${e.eventId} ${e.action}`).join('; ')})`);
    }
    assert.equal(trail.filter((e) => !new RegExp(`^${r.id}:v([1-9][0-9]*):`).test(e.eventId) || Number(e.eventId.split(':v')[1]!.split(':')[0]) > r.version).length, 0, `${r.id}: no event of a version never stored`);
  }
}

describe('core services: every version bump has its audit event', () => {
  it('walks every service path (submit and its replay, workflow start, votes, grant, extension, expiry, revoke, failure, cancel, timeout, review, reconcile)', async () => {
    const w = watchedWorld();
    // Approval route: submit, the replayed submit, validate, card, task token (twice, then a new one).
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ permissionSetName: 'Admin', ticketId: 'INC-1' }) });
    const b = body({ accountId: '111111111111' });
    const second = await svc.submitRequest(w.deps, { actor: actor('bob'), body: b });
    await svc.submitRequest(w.deps, { actor: actor('bob'), body: { ...b } });
    await svc.validateForWorkflow(w.deps, { requestId: request.id });
    await svc.postApprovalCard(w.deps, { requestId: request.id });
    await svc.recordApprovalToken(w.deps, { requestId: request.id, taskToken: 'token-1' });
    await svc.recordApprovalToken(w.deps, { requestId: request.id, taskToken: 'token-1' });
    await svc.recordApprovalToken(w.deps, { requestId: request.id, taskToken: 'token-2' });
    // Two of two approvals: one vote that does not decide, a repeated vote, the deciding one.
    await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
    await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
    await svc.castVote(w.deps, { requestId: request.id, actor: actor('dan'), decision: 'approve' });
    assert.equal((await svc.timeOutRequest(w.deps, { requestId: request.id })).outcome, 'already_decided');
    assert.equal(await grant(w, request.id), 'ACTIVE');
    await svc.extendGrant(w.deps, { requestId: request.id, actor: actor('alice'), additionalMinutes: 10 });
    await svc.notifyExpiringSoon(w.deps);
    w.clock.set(Date.parse((await w.requests.get(request.id))!.grant!.endsAt) - 60_000);
    assert.deepEqual((await svc.notifyExpiringSoon(w.deps)).notified, [request.id]);
    assert.equal((await svc.expireGrant(w.deps, { requestId: request.id })).outcome, 'rescheduled');
    w.clock.set(Date.parse((await w.requests.get(request.id))!.grant!.endsAt));
    assert.equal((await svc.expireGrant(w.deps, { requestId: request.id })).outcome, 'done');
    assert.equal((await svc.expireGrant(w.deps, { requestId: request.id })).outcome, 'duplicate');

    // Denied, cancelled (with a waiting workflow), timed out.
    await startWorkflow(w, second.request.id);
    await svc.castVote(w.deps, { requestId: second.request.id, actor: actor('carol'), decision: 'deny', reason: 'not now' });
    const toCancel = await svc.submitRequest(w.deps, { actor: actor('bob'), body: body() });
    await startWorkflow(w, toCancel.request.id);
    await svc.cancelRequest(w.deps, { requestId: toCancel.request.id, actor: actor('bob') });
    await svc.cancelRequest(w.deps, { requestId: toCancel.request.id, actor: actor('bob') });
    const toTimeOut = await svc.submitRequest(w.deps, { actor: actor('frank'), body: body() });
    await startWorkflow(w, toTimeOut.request.id);
    assert.equal((await svc.timeOutRequest(w.deps, { requestId: toTimeOut.request.id })).outcome, 'done');
    assert.equal((await svc.timeOutRequest(w.deps, { requestId: toTimeOut.request.id })).outcome, 'duplicate');

    // Auto-approved and revoked early; break-glass with its review; a failed grant (from ACTIVE and from GRANTING).
    const auto = await activeRequest(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
    await svc.revokeEarly(w.deps, { requestId: auto, actor: actor('alice') });
    const glass = await activeRequest(w, 'bob', { permissionSetName: 'PowerUser', breakGlass: true, durationMinutes: 20 });
    await svc.acknowledgeReview(w.deps, { requestId: glass, actor: actor('carol'), note: 'fine' });
    await svc.acknowledgeReview(w.deps, { requestId: glass, actor: actor('carol') });
    assert.equal((await svc.failGrant(w.deps, { requestId: glass, reason: 'test' })).outcome, 'done');
    assert.equal((await svc.failGrant(w.deps, { requestId: glass, reason: 'test' })).outcome, 'duplicate');
    const granting = await svc.submitRequest(w.deps, { actor: actor('frank'), body: body({ permissionSetName: 'ReadOnly', durationMinutes: 10 }) });
    await startWorkflow(w, granting.request.id);
    await svc.startGrant(w.deps, { requestId: granting.request.id });
    assert.equal((await svc.failGrant(w.deps, { requestId: granting.request.id, reason: 'GrantFailed' })).outcome, 'done');

    // Reconcile: a workflow that never started is started again; a stalled grant is rolled back.
    const start = w.workflow.start.bind(w.workflow);
    w.workflow.start = () => Promise.reject(new Error('Step Functions down'));
    const lost = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ accountId: '111111111111', permissionSetName: 'PowerUser' }) }).catch(() => undefined);
    assert.equal(lost, undefined);
    w.workflow.start = start;
    const stalled = await svc.submitRequest(w.deps, { actor: actor('bob'), body: body({ permissionSetName: 'ReadOnly', durationMinutes: 10 }) });
    await startWorkflow(w, stalled.request.id);
    await svc.startGrant(w.deps, { requestId: stalled.request.id });
    w.clock.set(w.clock.now() + svc.STALLED_GRANT_MS + svc.WORKFLOW_START_GRACE_MS + 60_000);
    const swept = await svc.reconcile(w.deps, {});
    assert.ok(swept.actions.some((a) => a.kind === 'restart_workflow'), JSON.stringify(swept.actions));
    assert.ok(swept.actions.some((a) => a.kind === 'fail_stalled'), JSON.stringify(swept.actions));

    assert.deepEqual(w.violations, []);
    assert.ok(w.bumps >= 40, `the walk bumped ${w.bumps} versions`);
    assertOneEventPerVersion(w);
    const actions = new Set(w.audit.events.map((e) => e.action));
    for (const a of ['request.workflow_started', 'request.approval_wait_started', 'request.approval_requested', 'request.vote', 'request.extended', 'request.expiring_soon', 'request.reviewed'] as const) {
      assert.ok(actions.has(a), `the walk wrote ${a}`);
    }
  });

  it('starting the workflow is audited without its execution ARN, and a restarted start is audited again', async () => {
    const w = watchedWorld();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    const started = w.audit.forRequest(request.id).filter((e) => e.action === 'request.workflow_started');
    assert.equal(started.length, 1);
    assert.equal(started[0]!.eventId, auditEventId(request.id, 2, 0));
    assert.doesNotMatch(JSON.stringify(started[0]), /arn:aws:states/);
    assert.equal((await w.requests.get(request.id))!.version, 2);
    assert.deepEqual(w.violations, []);
  });

  it('recording the task token is audited without the token', async () => {
    const w = watchedWorld();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await svc.validateForWorkflow(w.deps, { requestId: request.id });
    await svc.recordApprovalToken(w.deps, { requestId: request.id, taskToken: 'secret-task-token' });
    const wait = w.audit.forRequest(request.id).filter((e) => e.action === 'request.approval_wait_started');
    assert.equal(wait.length, 1);
    assert.doesNotMatch(JSON.stringify(w.audit.events), /secret-task-token/);
    assert.equal((await w.requests.get(request.id))!.taskToken, 'secret-task-token');
    assert.deepEqual(w.violations, []);
  });
});

describe('core services: outcomes instead of errors the edges must interpret', () => {
  it('validate: a request cancelled before its workflow started is already_ended; an auto-approval retried is a duplicate', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await svc.cancelRequest(w.deps, { requestId: request.id, actor: actor('alice') });
    const v = await svc.validateForWorkflow(w.deps, { requestId: request.id });
    assert.deepEqual([v.outcome, v.request.state], ['already_ended', 'CANCELLED']);
    const auto = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ permissionSetName: 'ReadOnly', durationMinutes: 10 }) });
    assert.equal((await svc.validateForWorkflow(w.deps, { requestId: auto.request.id })).outcome, 'done');
    assert.equal((await svc.validateForWorkflow(w.deps, { requestId: auto.request.id })).outcome, 'duplicate');
  });

  it('timeout: done once, then duplicate; after a cancellation already_ended; nothing written after the first', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await startWorkflow(w, request.id);
    assert.equal((await svc.timeOutRequest(w.deps, { requestId: request.id })).outcome, 'done');
    const writes = w.requests.writes;
    assert.equal((await svc.timeOutRequest(w.deps, { requestId: request.id })).outcome, 'duplicate');
    const other = await svc.submitRequest(w.deps, { actor: actor('bob'), body: body() });
    await svc.cancelRequest(w.deps, { requestId: other.request.id, actor: actor('bob') });
    const before = w.requests.writes;
    const r = await svc.timeOutRequest(w.deps, { requestId: other.request.id });
    assert.deepEqual([r.outcome, r.request.state], ['already_ended', 'CANCELLED']);
    assert.equal(w.requests.writes, before);
    assert.ok(writes <= before);
    assert.equal(w.notifier.eventsFor(request.id).filter((e) => e === 'timed_out').length, 1, 'one notice');
  });

  it('expiry and compensation: an early revoke then the schedule is already_ended; a failed grant then the schedule too', async () => {
    const w = world();
    const id = await activeRequest(w);
    await svc.revokeEarly(w.deps, { requestId: id, actor: actor('alice') });
    const writes = w.requests.writes;
    const e = await svc.expireGrant(w.deps, { requestId: id });
    assert.deepEqual([e.outcome, e.request.state], ['already_ended', 'REVOKED']);
    const f = await svc.failGrant(w.deps, { requestId: id, reason: 'late compensation' });
    assert.deepEqual([f.outcome, f.request.state], ['already_ended', 'REVOKED']);
    assert.equal(w.requests.writes, writes, 'nothing written');
    assert.deepEqual(w.assignments.writes.map((x) => x.kind), ['create', 'delete']);
    assert.equal(w.notifier.eventsFor(id).filter((x) => x === 'failed').length, 0);
  });

  it('early revoke of a grant another path ended meanwhile is still refused (the bridge answers 409)', async () => {
    const w = world();
    const id = await activeRequest(w);
    w.clock.set(Date.parse((await w.requests.get(id))!.grant!.endsAt));
    // The expiry lands between the revoke's check and its write.
    const cancelExpiry = w.scheduler.cancelExpiry.bind(w.scheduler);
    w.scheduler.cancelExpiry = async (requestId: string) => {
      await svc.expireGrant(w.deps, { requestId });
      await cancelExpiry(requestId);
    };
    await assert.rejects(svc.revokeEarly(w.deps, { requestId: id, actor: actor('alice') }), (e: unknown) => (e as { code?: string }).code === 'ILLEGAL_TRANSITION' && /expired: there is nothing to revoke/.test((e as Error).message));
    assert.equal((await w.requests.get(id))?.state, 'EXPIRED');
  });
});
