import assert from 'node:assert/strict';
import sinon from 'sinon';
import { DependencyError, ForbiddenError, LimitExceededError } from '../../core/errors';
import { assignmentKeyId } from '../../core/model';
import * as svc from '../../core/services';
import { ACCOUNTS, PS, activeRequest, actor, body, grant, startWorkflow, world } from '../support/core-world';

const aliceProdPowerUser = { accountId: ACCOUNTS.prod, permissionSetArn: PS.PowerUser, userId: 'u-alice' };

async function expireAt(w: ReturnType<typeof world>, id: string) {
  const at = (await w.requests.get(id))!.grant!.endsAt;
  w.clock.set(Date.parse(at));
  return svc.expireGrant(w.deps, { requestId: id });
}

describe('core services: a full lifecycle under a fake clock', () => {
  it('submit, approve, grant, schedule, expire: the assignment lives exactly as long as the grant', async () => {
    const w = world({ pollsToComplete: 3 });
    const t0 = w.clock.now();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ durationMinutes: 30 }) });
    await startWorkflow(w, request.id);
    w.clock.set(t0 + 120_000);
    await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
    assert.equal(await grant(w, request.id), 'ACTIVE');
    assert.ok(w.assignments.isLive(aliceProdPowerUser));
    const active = (await w.requests.get(request.id))!;
    assert.equal(active.grant?.startsAt, new Date(t0 + 120_000).toISOString());
    assert.equal(active.grant?.endsAt, new Date(t0 + 120_000 + 30 * 60_000).toISOString());
    assert.equal(w.scheduler.schedules.get(request.id), active.grant?.endsAt, 'the expiry is scheduled at the end of the grant');

    const expired = await expireAt(w, request.id);
    assert.equal(expired.outcome, 'done');
    assert.equal(expired.request.state, 'EXPIRED');
    assert.equal(w.assignments.isLive(aliceProdPowerUser), false);
    assert.deepEqual(
      w.audit.forRequest(request.id).filter((e) => e.action === 'request.transition').map((e) => e.toState),
      ['APPROVED', 'GRANTING', 'ACTIVE', 'REVOKING', 'EXPIRED'],
    );
    assert.deepEqual(w.notifier.eventsFor(request.id), ['submitted', 'approval_requested', 'approved', 'active', 'expired']);
    assert.deepEqual(w.assignments.writes.map((x) => x.kind), ['create', 'delete']);
  });

  it('a pre-existing assignment is kept at expiry and marked not ours', async () => {
    const w = world();
    w.assignments.preexisting(aliceProdPowerUser);
    const id = await activeRequest(w);
    assert.ok(w.audit.forRequest(id).some((e) => e.action === 'assignment.kept_external'));
    await expireAt(w, id);
    assert.ok(w.assignments.isLive(aliceProdPowerUser), 'never deleted');
    assert.equal(w.assignments.writes.length, 0, 'never written at all');
    assert.equal((await w.ledger.get(aliceProdPowerUser))?.ownership, 'EXTERNAL');
  });

  it('overlapping grants share one assignment, which lives until the last one ends', async () => {
    const w = world();
    const first = await activeRequest(w);
    const second = await activeRequest(w);
    assert.deepEqual(w.assignments.writes.map((x) => x.kind), ['create'], 'the second grant does not write again');
    assert.deepEqual((await w.ledger.get(aliceProdPowerUser))?.activeGrantIds, [first, second]);
    await svc.revokeEarly(w.deps, { requestId: first, actor: actor('alice') });
    assert.ok(w.assignments.isLive(aliceProdPowerUser), 'still needed by the second grant');
    await expireAt(w, second);
    assert.equal(w.assignments.isLive(aliceProdPowerUser), false);
  });

  it('a create reported FAILED by Identity Center fails the request and holds nothing', async () => {
    const w = world();
    w.assignments.failNext('create', 'The permission set is not provisioned');
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await startWorkflow(w, request.id);
    await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
    assert.equal(await grant(w, request.id), 'FAILED');
    const stored = (await w.requests.get(request.id))!;
    assert.match(stored.failureReason ?? '', /not provisioned/);
    assert.deepEqual((await w.ledger.get(aliceProdPowerUser))?.activeGrantIds ?? [], []);
    assert.equal(w.assignments.isLive(aliceProdPowerUser), false);
    assert.ok(w.notifier.eventsFor(request.id).includes('failed'));
  });

  it('a retried grant step after a crash does not create twice', async () => {
    const w = world({ pollsToComplete: 0 });
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await startWorkflow(w, request.id);
    await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
    await svc.startGrant(w.deps, { requestId: request.id });
    // The function crashed before returning: the workflow runs the step again.
    const again = await svc.startGrant(w.deps, { requestId: request.id });
    assert.equal(again.operation, undefined);
    assert.equal(w.assignments.writes.length, 1);
    assert.equal((await svc.completeGrant(w.deps, { requestId: request.id })).state, 'ACTIVE');
    assert.equal((await svc.completeGrant(w.deps, { requestId: request.id })).state, 'ACTIVE', 'completing twice is harmless');
    assert.equal(w.audit.forRequest(request.id).filter((e) => e.toState === 'ACTIVE' && e.action === 'request.transition').length, 1);
  });

  it('a failure after the grant (compensation) revokes it and ends FAILED', async () => {
    const w = world();
    const id = await activeRequest(w);
    const r = await svc.failGrant(w.deps, { requestId: id, reason: 'Notify step failed' });
    assert.equal(r.outcome, 'done');
    assert.equal(r.request.state, 'FAILED');
    assert.equal(w.assignments.isLive(aliceProdPowerUser), false);
    assert.equal(w.scheduler.schedules.has(id), false, 'the expiry schedule is cancelled');
    assert.deepEqual(w.audit.forRequest(id).filter((e) => e.action === 'request.transition').map((e) => e.toState).slice(-2), ['REVOKING', 'FAILED']);
  });

  it('a failed delete keeps the request REVOKING, raises a finding, and the retry finishes it', async () => {
    const w = world();
    const id = await activeRequest(w);
    w.assignments.failNext('delete', 'Internal failure');
    await assert.rejects(expireAt(w, id), (e: unknown) => e instanceof DependencyError && e.retryable);
    assert.equal((await w.requests.get(id))?.state, 'REVOKING');
    assert.ok(w.assignments.isLive(aliceProdPowerUser));
    const finding = w.findings.findings.get(`jit/revoke-failed/${assignmentKeyId(aliceProdPowerUser)}`);
    assert.equal(finding?.severity, 'HIGH');
    const done = await svc.expireGrant(w.deps, { requestId: id });
    assert.equal(done.outcome, 'done');
    assert.equal(done.request.state, 'EXPIRED');
    assert.equal(w.assignments.isLive(aliceProdPowerUser), false);
  });

  it('a duplicate expiry delivery revokes once', async () => {
    const w = world();
    const id = await activeRequest(w);
    await expireAt(w, id);
    const again = await svc.expireGrant(w.deps, { requestId: id });
    assert.equal(again.outcome, 'duplicate');
    assert.equal(again.request.state, 'EXPIRED');
    assert.deepEqual(w.assignments.writes.map((x) => x.kind), ['create', 'delete']);
  });

  it('an expiry that fires before the (extended) end re-arms itself and keeps the grant', async () => {
    const w = world();
    const id = await activeRequest(w);
    const before = (await w.requests.get(id))!.grant!.endsAt;
    await svc.extendGrant(w.deps, { requestId: id, actor: actor('alice'), additionalMinutes: 15 });
    w.clock.set(Date.parse(before));
    const r = await svc.expireGrant(w.deps, { requestId: id });
    assert.equal(r.outcome, 'rescheduled');
    assert.equal(r.request.state, 'ACTIVE');
    assert.equal(w.scheduler.schedules.get(id), r.request.grant?.endsAt);
    assert.ok(w.assignments.isLive(aliceProdPowerUser));
  });

  it('a new grant waits while our delete of the same assignment is under way', async () => {
    const w = world();
    const id = await activeRequest(w);
    const entry = (await w.ledger.get(aliceProdPowerUser))!;
    await w.ledger.put({ ...entry, activeGrantIds: [], deleting: true, version: entry.version + 1 }, entry.version);
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await startWorkflow(w, request.id);
    await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
    await assert.rejects(svc.startGrant(w.deps, { requestId: request.id }), svc.AssignmentBusyError);
    void id;
  });
});

describe('core services: early revoke, extend, break-glass review', () => {
  it('the requester revokes early: the assignment goes, the schedule is deleted, the card says who', async () => {
    const w = world();
    const id = await activeRequest(w);
    const r = await svc.revokeEarly(w.deps, { requestId: id, actor: actor('alice'), reason: 'done' });
    assert.equal(r.state, 'REVOKED');
    assert.equal(r.endedBy?.userId, 'u-alice');
    assert.match(r.endReason ?? '', /Revoked early by Alice: done/);
    assert.equal(w.scheduler.schedules.has(id), false);
    assert.equal(w.assignments.isLive(aliceProdPowerUser), false);
  });

  it('an approver may revoke someone else’s grant; another requester may not', async () => {
    const w = world();
    const id = await activeRequest(w);
    await assert.rejects(svc.revokeEarly(w.deps, { requestId: id, actor: actor('bob') }), ForbiddenError);
    assert.equal((await svc.revokeEarly(w.deps, { requestId: id, actor: actor('dan') })).state, 'REVOKED');
  });

  it('extension moves the end and the schedule, within the maximum total', async () => {
    const w = world();
    const id = await activeRequest(w);
    const before = (await w.requests.get(id))!.grant!;
    const r = await svc.extendGrant(w.deps, { requestId: id, actor: actor('alice'), additionalMinutes: 60 });
    assert.equal(Date.parse(r.grant!.endsAt) - Date.parse(before.endsAt), 3_600_000);
    assert.equal(w.scheduler.schedules.get(id), r.grant!.endsAt);
    await assert.rejects(svc.extendGrant(w.deps, { requestId: id, actor: actor('alice'), additionalMinutes: 4 * 60 }), LimitExceededError);
    assert.equal((await w.requests.get(id))!.grant!.endsAt, r.grant!.endsAt, 'a refused extension changes nothing');
    await assert.rejects(svc.extendGrant(w.deps, { requestId: id, actor: actor('carol'), additionalMinutes: 5 }), ForbiddenError);
  });

  it('break-glass: no approval, immediate grant, a CRITICAL finding, a channel alert, and a review only an approver can acknowledge', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('frank'), body: body({ breakGlass: true, durationMinutes: 20 }) });
    assert.equal(request.route, 'break_glass');
    const flow = await startWorkflow(w, request.id);
    assert.equal(flow.token, undefined, 'no approval wait');
    assert.equal(await grant(w, request.id), 'ACTIVE');
    const finding = w.findings.findings.get(`jit/break-glass/${request.id}`);
    assert.equal(finding?.severity, 'CRITICAL');
    assert.ok(w.notifier.eventsFor(request.id).includes('break_glass_used'));
    await assert.rejects(svc.acknowledgeReview(w.deps, { requestId: request.id, actor: actor('frank') }), /own break-glass/);
    await assert.rejects(svc.acknowledgeReview(w.deps, { requestId: request.id, actor: actor('bob') }), ForbiddenError);
    const reviewed = await svc.acknowledgeReview(w.deps, { requestId: request.id, actor: actor('carol'), note: 'Incident INC-9 confirmed' });
    assert.equal(reviewed.review?.acknowledgedBy.userId, 'u-carol');
    const again = await svc.acknowledgeReview(w.deps, { requestId: request.id, actor: actor('dan') });
    assert.equal(again.review?.acknowledgedBy.userId, 'u-carol', 'acknowledged once');
  });

  it('break-glass extensions stop at the break-glass maximum', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ breakGlass: true, durationMinutes: 20 }) });
    await startWorkflow(w, request.id);
    await grant(w, request.id);
    await assert.rejects(svc.extendGrant(w.deps, { requestId: request.id, actor: actor('alice'), additionalMinutes: 15 }), LimitExceededError);
    assert.equal((await svc.extendGrant(w.deps, { requestId: request.id, actor: actor('alice'), additionalMinutes: 10 })).grant?.totalSeconds, 1800);
  });

  it('the expiring-soon notice goes out once per end time, and again after an extension', async () => {
    const w = world();
    const id = await activeRequest(w);
    const end = Date.parse((await w.requests.get(id))!.grant!.endsAt);
    w.clock.set(end - 20 * 60_000);
    assert.deepEqual((await svc.notifyExpiringSoon(w.deps)).notified, []);
    w.clock.set(end - 5 * 60_000);
    assert.deepEqual((await svc.notifyExpiringSoon(w.deps)).notified, [id]);
    assert.deepEqual((await svc.notifyExpiringSoon(w.deps)).notified, []);
    // 6 minutes left of a 31-minute grant: inside its lead time again.
    await svc.extendGrant(w.deps, { requestId: id, actor: actor('alice'), additionalMinutes: 1 });
    assert.deepEqual((await svc.notifyExpiringSoon(w.deps)).notified, [id]);
    assert.equal(w.notifier.eventsFor(id).filter((e) => e === 'expiring_soon').length, 2);
  });

  it('a grant that is still being created cannot be revoked yet, with a clear message', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await startWorkflow(w, request.id);
    await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
    await svc.startGrant(w.deps, { requestId: request.id });
    await assert.rejects(svc.revokeEarly(w.deps, { requestId: request.id, actor: actor('alice') }), /still being created/);
  });

  it('a notice that cannot be delivered never blocks a revocation', async () => {
    const w = world();
    const id = await activeRequest(w);
    sinon.stub(w.notifier, 'requestChanged').rejects(new Error('bot down'));
    assert.equal((await expireAt(w, id)).request.state, 'EXPIRED');
  });
});

describe('core services: the audit trail of an assignment release', () => {
  const assignmentEvents = (w: ReturnType<typeof world>, id: string) => w.audit.forRequest(id).filter((e) => e.action.startsWith('assignment.')).map((e) => e.action);

  it('the revoke that deletes the assignment writes assignment.deleted with the final transition (outbox), once, whatever the duplicates', async () => {
    const w = world();
    const id = await activeRequest(w);
    w.clock.set(Date.parse((await w.requests.get(id))!.grant!.endsAt));
    // Two deliveries of the same expiry at once (the Scheduler is at-least-once).
    await Promise.allSettled([svc.expireGrant(w.deps, { requestId: id }), svc.expireGrant(w.deps, { requestId: id })]);
    assert.equal((await w.requests.get(id))?.state, 'EXPIRED');
    assert.deepEqual(assignmentEvents(w, id), ['assignment.created', 'assignment.deleted']);
    const trail = w.audit.forRequest(id);
    const deleted = trail.find((e) => e.action === 'assignment.deleted')!;
    const final = trail.find((e) => e.action === 'request.transition' && e.toState === 'EXPIRED')!;
    assert.equal(deleted.eventId.split(':v')[1]?.split(':')[0], final.eventId.split(':v')[1]?.split(':')[0], 'written in the same change as REVOKING -> EXPIRED');
    assert.deepEqual(deleted.details, { accountId: ACCOUNTS.prod, permissionSetArn: PS.PowerUser, userId: 'u-alice', ownership: 'OURS' });
    assert.equal((await svc.expireGrant(w.deps, { requestId: id })).outcome, 'duplicate');
    assert.deepEqual(assignmentEvents(w, id), ['assignment.created', 'assignment.deleted'], 'a late duplicate delivery writes nothing more');
  });

  it('an early revoke writes assignment.deleted too; a shared or external assignment is audited as kept', async () => {
    const w = world();
    const first = await activeRequest(w);
    const second = await activeRequest(w);
    await svc.revokeEarly(w.deps, { requestId: first, actor: actor('alice') });
    assert.deepEqual(assignmentEvents(w, first), ['assignment.created', 'assignment.kept_shared']);
    await svc.revokeEarly(w.deps, { requestId: second, actor: actor('alice') });
    assert.deepEqual(assignmentEvents(w, second), ['assignment.created', 'assignment.deleted']);

    const x = world();
    x.assignments.preexisting(aliceProdPowerUser);
    const ext = await activeRequest(x);
    await expireAt(x, ext);
    assert.deepEqual(assignmentEvents(x, ext), ['assignment.kept_external', 'assignment.kept_external']);
  });

  it('a compensation (failGrant after the grant) that deletes the assignment writes assignment.deleted', async () => {
    const w = world();
    const id = await activeRequest(w);
    await svc.failGrant(w.deps, { requestId: id, reason: 'Notify step failed' });
    assert.deepEqual(assignmentEvents(w, id), ['assignment.created', 'assignment.deleted']);
  });
});
