import assert from 'node:assert/strict';
import sinon from 'sinon';
import { assignmentKeyId } from '../../core/model';
import * as svc from '../../core/services';
import { ACCOUNTS, PS, activeRequest, actor, body, world } from '../support/core-world';

const alicePower = { accountId: ACCOUNTS.prod, permissionSetArn: PS.PowerUser, userId: 'u-alice' };

describe('core services: reconcile', () => {
  it('does nothing on a healthy system', async () => {
    const w = world();
    await activeRequest(w);
    const r = await svc.reconcile(w.deps, {});
    assert.deepEqual(r, { actions: [], drift: [] });
  });

  it('revokes a grant whose expiry schedule never fired, but only after the grace period', async () => {
    const w = world();
    const id = await activeRequest(w);
    w.scheduler.schedules.clear();
    const end = Date.parse((await w.requests.get(id))!.grant!.endsAt);
    w.clock.set(end + 30_000);
    assert.deepEqual((await svc.reconcile(w.deps, {})).actions, []);
    w.clock.set(end + svc.EXPIRY_GRACE_MS + 1);
    const r = await svc.reconcile(w.deps, {});
    assert.deepEqual(r.actions.map((a) => a.kind), ['revoke_expired']);
    assert.equal((await w.requests.get(id))?.state, 'EXPIRED');
    assert.equal(w.assignments.isLive(alicePower), false);
  });

  it('reports an assignment on a managed permission set that nobody granted, and does not delete it', async () => {
    const w = world();
    const rogue = { accountId: ACCOUNTS.dev, permissionSetArn: PS.Admin, userId: 'u-bob' };
    w.assignments.preexisting(rogue);
    const r = await svc.reconcile(w.deps, {});
    assert.equal(r.drift.length, 1);
    assert.equal(r.drift[0]?.kind, 'assignment_drift');
    assert.equal(r.drift[0]?.id, `jit/drift/${assignmentKeyId(rogue)}`);
    assert.ok(w.findings.findings.has(r.drift[0]!.id), 'published to Security Hub');
    assert.ok(w.assignments.isLive(rogue), 'never deleted');
    assert.equal(w.assignments.writes.length, 0);
  });

  it('an external assignment that a grant covered is not drift after the grant ends', async () => {
    const w = world();
    w.assignments.preexisting(alicePower);
    const id = await activeRequest(w);
    await svc.revokeEarly(w.deps, { requestId: id, actor: actor('alice') });
    assert.deepEqual((await svc.reconcile(w.deps, {})).drift, []);
    assert.ok(w.assignments.isLive(alicePower));
  });

  it('re-creates the assignment of an active grant that someone deleted outside JIT access', async () => {
    const w = world({ pollsToComplete: 0 });
    await activeRequest(w);
    w.assignments.live.clear();
    const r = await svc.reconcile(w.deps, {});
    assert.deepEqual(r.actions.map((a) => a.kind), ['recreate_missing']);
    assert.ok(w.assignments.isLive(alicePower));
  });

  it('finishes a delete that was interrupted', async () => {
    const w = world();
    const id = await activeRequest(w);
    // The revoke function crashed after marking the entry deleting, before Identity Center was called.
    const e = (await w.ledger.get(alicePower))!;
    await w.ledger.put({ ...e, activeGrantIds: [], deleting: true, deleteLeaseUntil: new Date(w.clock.now() + svc.DELETE_LEASE_MS).toISOString(), version: e.version + 1 }, e.version);
    const stored = (await w.requests.get(id))!;
    await w.requests.update({ ...stored, state: 'EXPIRED', version: stored.version + 1 }, stored.version);
    // Within the lease the deleter may still be at work: reconcile leaves it alone.
    assert.deepEqual((await svc.reconcile(w.deps, {})).actions, []);
    assert.ok(w.assignments.isLive(alicePower));
    w.clock.set(w.clock.now() + svc.DELETE_LEASE_MS + 1);
    const r = await svc.reconcile(w.deps, {});
    assert.deepEqual(r.actions.map((a) => a.kind), ['delete_orphaned']);
    assert.equal(w.assignments.isLive(alicePower), false);
    assert.equal((await w.ledger.get(alicePower))?.deleting, undefined);
  });

  it('releases a ledger entry held by a request that already ended', async () => {
    const w = world();
    const id = await activeRequest(w);
    const stored = (await w.requests.get(id))!;
    await w.requests.update({ ...stored, state: 'REVOKED', version: stored.version + 1 }, stored.version);
    const r = await svc.reconcile(w.deps, {});
    assert.deepEqual(r.actions.map((a) => a.kind), ['release_stale']);
    assert.equal(w.assignments.isLive(alicePower), false);
  });

  it('restarts the workflow of a request whose start was lost', async () => {
    const w = world();
    sinon.stub(w.workflow, 'start').onFirstCall().rejects(new Error('sfn down')).callThrough();
    await assert.rejects(svc.submitRequest(w.deps, { actor: actor('alice'), body: body() }));
    assert.deepEqual((await svc.reconcile(w.deps, {})).actions, [], 'not before the grace period');
    w.clock.set(w.clock.now() + svc.WORKFLOW_START_GRACE_MS + 1);
    const r = await svc.reconcile(w.deps, {});
    assert.deepEqual(r.actions.map((a) => a.kind), ['restart_workflow']);
    const [stored] = await w.requests.list({});
    assert.ok(stored?.executionArn);
  });

  it('posts the approval card of a pending request whose card was never posted, once; the deadline counts from that post', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await svc.validateForWorkflow(w.deps, { requestId: request.id });
    // The workflow's post failed (bot down) and the execution was lost: nobody else posts it.
    const down = sinon.stub(w.notifier, 'requestChanged').rejects(new Error('bot down'));
    await assert.rejects(svc.postApprovalCard(w.deps, { requestId: request.id }), /could not be posted yet/);
    w.clock.set(w.clock.now() + svc.CARD_POST_GRACE_MS + 1);
    // Still down: a sweep that only failed reports it (the reconcile errors alarm); the request stays pending for the next one.
    await assert.rejects(svc.reconcile(w.deps, {}), /could not be posted yet/);
    assert.equal((await w.requests.get(request.id))?.state, 'PENDING_APPROVAL');
    down.restore();
    w.clock.set(w.clock.now() + 5 * 60_000);
    const r = await svc.reconcile(w.deps, {});
    assert.deepEqual(r.actions.map((a) => a.kind), ['post_approval_card']);
    const stored = (await w.requests.get(request.id))!;
    assert.equal(stored.cardPostedAt, new Date(w.clock.now()).toISOString());
    assert.equal(stored.approvalDeadline, new Date(w.clock.now() + stored.terms.approvalTimeoutSeconds * 1000).toISOString());
    assert.deepEqual(w.notifier.eventsFor(request.id).filter((e) => e === 'approval_requested'), ['approval_requested']);
    // Posted: the next sweep, and the workflow's own (late) attempt, post nothing more.
    assert.deepEqual((await svc.reconcile(w.deps, {})).actions, []);
    const late = await svc.postApprovalCard(w.deps, { requestId: request.id });
    assert.equal(late.posted, false);
    assert.equal(late.approvalTimeoutSeconds, stored.terms.approvalTimeoutSeconds);
    assert.deepEqual(w.notifier.eventsFor(request.id).filter((e) => e === 'approval_requested'), ['approval_requested']);
  });

  it('never posts a card for a request that needs no approval, or one that is no longer pending', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await svc.cancelRequest(w.deps, { requestId: request.id, actor: actor('alice') });
    w.clock.set(w.clock.now() + svc.CARD_POST_GRACE_MS + 1);
    assert.equal((await svc.postApprovalCard(w.deps, { requestId: request.id })).posted, false);
    assert.deepEqual((await svc.reconcile(w.deps, {})).actions, []);
    assert.ok(!w.notifier.eventsFor(request.id).includes('approval_requested'));
  });

  it('audit events survive an audit outage: they stay in the outbox and reconcile flushes them', async () => {
    const w = world();
    const append = sinon.stub(w.audit, 'append').rejects(new Error('EventBridge down'));
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    // The submit and the workflow's start, each write with its event.
    assert.deepEqual((await w.requests.get(request.id))?.auditOutbox?.map((e) => e.action), ['request.submitted', 'request.workflow_started']);
    append.restore();
    const r = await svc.reconcile(w.deps, {});
    assert.deepEqual(r.actions.map((a) => a.kind), ['flush_audit']);
    assert.deepEqual(w.audit.forRequest(request.id).map((e) => e.action), ['request.submitted', 'request.workflow_started']);
    assert.equal((await w.requests.get(request.id))?.auditOutbox, undefined);
  });

  it('rolls back a grant whose workflow stalled, releasing what it held and telling the requester', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await svc.validateForWorkflow(w.deps, { requestId: request.id });
    await svc.recordApprovalToken(w.deps, { requestId: request.id, taskToken: 't' });
    await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
    await svc.startGrant(w.deps, { requestId: request.id });
    // The execution was aborted here: nobody polls the create or completes the grant.
    w.clock.set(w.clock.now() + 10 * 60_000);
    assert.deepEqual((await svc.reconcile(w.deps, {})).actions.filter((a) => a.kind === 'fail_stalled'), []);
    w.clock.set(w.clock.now() + svc.STALLED_GRANT_MS);
    const r = await svc.reconcile(w.deps, {});
    assert.deepEqual(r.actions.map((a) => a.kind), ['fail_stalled']);
    assert.equal((await w.requests.get(request.id))?.state, 'FAILED');
    assert.deepEqual((await w.ledger.get(alicePower))?.activeGrantIds ?? [], []);
    assert.ok(w.notifier.eventsFor(request.id).includes('failed'));
  });

  it('flushes the outbox of a request that already ended (its final event could not be appended)', async () => {
    const w = world();
    const id = await activeRequest(w);
    const append = sinon.stub(w.audit, 'append').rejects(new Error('EventBridge down'));
    await svc.revokeEarly(w.deps, { requestId: id, actor: actor('alice') });
    assert.equal((await w.requests.get(id))?.state, 'REVOKED');
    assert.ok(((await w.requests.get(id))?.auditOutbox?.length ?? 0) > 0);
    append.restore();
    const r = await svc.reconcile(w.deps, {});
    assert.deepEqual(r.actions.map((a) => a.kind), ['flush_audit']);
    assert.deepEqual(w.audit.forRequest(id).filter((e) => e.action === 'request.transition').map((e) => e.toState).slice(-2), ['REVOKING', 'REVOKED']);
    assert.equal((await w.requests.get(id))?.auditOutbox, undefined);
  });

  it('one failing account does not stop the sweep of the others', async () => {
    const w = world();
    const rogue = { accountId: ACCOUNTS.dev, permissionSetArn: PS.Admin, userId: 'u-bob' };
    w.assignments.preexisting(rogue);
    const list = sinon.stub(w.assignments, 'listAssignments').callThrough();
    list.withArgs(ACCOUNTS.prod, sinon.match.any).rejects(new Error('AccessDenied'));
    const r = await svc.reconcile(w.deps, {});
    assert.equal(r.drift.length, 1);
  });
});
