import assert from 'node:assert/strict';
import sinon from 'sinon';
import { DependencyError, ForbiddenError, IllegalTransitionError, NotApproverError, SelfApprovalError } from '../../core/errors';
import type { MemoryUser } from '../../core/memory';
import * as svc from '../../core/services';
import type { USERS } from '../support/core-world';
import { actor, body, startWorkflow, world } from '../support/core-world';

async function pending(w: ReturnType<typeof world>, over = {}, who: keyof typeof USERS = 'alice') {
  const { request } = await svc.submitRequest(w.deps, { actor: actor(who), body: body(over) });
  const flow = await startWorkflow(w, request.id);
  return { id: request.id, token: flow.token };
}

describe('core services: approval', () => {
  it('auto-approve rules are approved by the system at validation, with the policy reason', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ permissionSetName: 'ReadOnly', durationMinutes: 10 }) });
    const v = await svc.validateForWorkflow(w.deps, { requestId: request.id });
    assert.equal(v.route, 'auto_approve');
    const stored = await w.requests.get(request.id);
    assert.equal(stored?.state, 'APPROVED');
    assert.equal(stored?.decidedBy?.userId, 'system');
    assert.match(stored?.decisionReason ?? '', /Auto-approved/);
  });

  it('the approval wait keeps its task token server-side and asks the approvers', async () => {
    const w = world();
    const { id, token } = await pending(w);
    assert.equal((await w.requests.get(id))?.taskToken, token);
    assert.deepEqual(w.notifier.eventsFor(id), ['submitted', 'approval_requested']);
    const posted = w.notifier.events.find((e) => e.event === 'approval_requested')!.request;
    assert.equal('taskToken' in posted, false, 'the token never reaches a card');
  });

  it('if the approval card cannot be posted, the step fails so that the workflow retries it', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await svc.validateForWorkflow(w.deps, { requestId: request.id });
    sinon.stub(w.notifier, 'requestChanged').rejects(new Error('bot down'));
    await assert.rejects(svc.recordApprovalToken(w.deps, { requestId: request.id, taskToken: 't1' }), (e: unknown) => e instanceof DependencyError && e.retryable);
  });

  it('one approval from an approver approves a 1-of-M request and resumes the workflow', async () => {
    const w = world();
    const { id, token } = await pending(w);
    const r = await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve', reason: 'ok for INC-42' });
    assert.equal(r.decided, true);
    assert.equal(r.request.state, 'APPROVED');
    assert.equal(r.request.decidedBy?.userId, 'u-carol');
    assert.deepEqual(w.workflow.resumed, [{ taskToken: token, outcome: { approved: true, approvedBy: 'u-carol' } }]);
    const actions = w.audit.forRequest(id).map((e) => `${e.action}:${e.toState}`);
    assert.deepEqual(actions.slice(-2), ['request.vote:PENDING_APPROVAL', 'request.transition:APPROVED']);
    assert.ok(w.notifier.eventsFor(id).includes('approved'));
  });

  it('self-approval never counts, even for someone in the approver group', async () => {
    const w = world();
    const { id } = await pending(w, {}, 'frank');
    await assert.rejects(svc.castVote(w.deps, { requestId: id, actor: actor('frank'), decision: 'approve' }), SelfApprovalError);
    const stored = await w.requests.get(id);
    assert.equal(stored?.state, 'PENDING_APPROVAL');
    assert.equal(stored?.votes.length, 0);
  });

  it('someone outside the approver groups cannot vote', async () => {
    const w = world();
    const { id } = await pending(w);
    await assert.rejects(svc.castVote(w.deps, { requestId: id, actor: actor('bob'), decision: 'approve' }), NotApproverError);
    await assert.rejects(svc.castVote(w.deps, { requestId: id, actor: actor('erin'), decision: 'deny' }), NotApproverError);
    assert.equal((await w.requests.get(id))?.votes.length, 0);
  });

  it('a 2-of-M request needs two different approvers; a repeat click by the first is a no-op', async () => {
    const w = world();
    const { id } = await pending(w, { permissionSetName: 'Admin', ticketId: 'INC-7' });
    const first = await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
    assert.equal(first.decided, false);
    assert.equal(first.request.state, 'PENDING_APPROVAL');
    const repeat = await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
    assert.equal(repeat.duplicate, true);
    assert.equal((await w.requests.get(id))?.votes.length, 1);
    const second = await svc.castVote(w.deps, { requestId: id, actor: actor('dan'), decision: 'approve' });
    assert.equal(second.decided, true);
    assert.equal(second.request.state, 'APPROVED');
    assert.deepEqual(w.notifier.eventsFor(id).filter((e) => e === 'vote_recorded' || e === 'approved'), ['vote_recorded', 'approved']);
  });

  it('one deny decides, whatever the quorum', async () => {
    const w = world();
    const { id, token } = await pending(w, { permissionSetName: 'Admin', ticketId: 'INC-7' });
    await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
    const r = await svc.castVote(w.deps, { requestId: id, actor: actor('dan'), decision: 'deny', reason: 'not during the freeze' });
    assert.equal(r.request.state, 'DENIED');
    assert.equal(r.request.decisionReason, 'not during the freeze', 'the approver’s words, shown on cards after who decided');
    assert.deepEqual(w.workflow.resumed.at(-1), { taskToken: token, outcome: { approved: false, error: 'Denied', cause: 'Denied by Dan: not during the freeze' } });
    assert.equal(w.audit.forRequest(id).at(-1)?.reason, 'Denied by Dan: not during the freeze');
  });

  it('after the decision, another approver is told who decided, in a sentence that reads naturally', async () => {
    const w = world();
    const { id } = await pending(w);
    await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
    await assert.rejects(svc.castVote(w.deps, { requestId: id, actor: actor('dan'), decision: 'deny' }), (e: unknown) => e instanceof IllegalTransitionError && (e as Error).message === 'This request was already approved by Carol.');
  });

  it('a late vote on a request in any other state gets the wording of that state, never "was already active by ..."', async () => {
    const w = world();
    const { id } = await pending(w);
    const stored = (await w.requests.get(id))!;
    for (const [state, expected] of [
      ['ACTIVE', 'This request is already active.'],
      ['EXPIRED', 'This request has expired.'],
      ['TIMED_OUT', 'This request timed out before anyone decided.'],
    ] as const) {
      const current = (await w.requests.get(id))!;
      await w.requests.update({ ...stored, state, version: current.version + 1 }, current.version);
      await assert.rejects(svc.castVote(w.deps, { requestId: id, actor: actor('dan'), decision: 'approve' }), (e: unknown) => e instanceof IllegalTransitionError && (e as Error).message === expected);
    }
  });

  it('100 approvers clicking the same card at once give exactly one decision', async () => {
    const approvers: MemoryUser[] = Array.from({ length: 100 }, (_, i) => ({
      userId: `u-approver-${i}`,
      userName: `approver${i}@example.com`,
      displayName: `Approver ${i}`,
      upn: `approver${i}@example.com`,
      groups: [{ groupId: 'g-aws-approvers', displayName: 'AWS-Approvers' }],
    }));
    const w = world();
    w.directory.users.push(...approvers);
    const { id } = await pending(w);
    const results = await Promise.allSettled(
      approvers.map((a, i) => svc.castVote(w.deps, { requestId: id, actor: { userId: a.userId, userName: a.userName, displayName: a.displayName }, decision: i % 2 ? 'approve' : 'deny' })),
    );
    const decided = results.filter((r) => r.status === 'fulfilled' && r.value.decided);
    assert.equal(decided.length, 1);
    const refused = results.filter((r) => r.status === 'rejected');
    assert.ok(refused.every((r) => (r as PromiseRejectedResult).reason instanceof IllegalTransitionError));
    assert.equal(w.workflow.resumed.length, 1);
    const decisions = w.audit.forRequest(id).filter((e) => e.action === 'request.transition' && e.fromState === 'PENDING_APPROVAL');
    assert.equal(decisions.length, 1);
  });

  it('votes after the approval deadline are refused; the timeout then closes the request', async () => {
    const w = world();
    const { id } = await pending(w);
    w.clock.set(w.clock.now() + 901_000);
    await assert.rejects(svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' }), /approval window/);
    const r = await svc.timeOutRequest(w.deps, { requestId: id });
    assert.equal(r.outcome, 'done');
    assert.equal(r.request.state, 'TIMED_OUT');
    assert.match(w.audit.forRequest(id).at(-1)!.reason, /No decision within 15 min/);
    assert.ok(w.notifier.eventsFor(id).includes('timed_out'));
  });

  it('a timeout racing a decision loses: the approved request stays approved', async () => {
    const w = world();
    const { id } = await pending(w);
    await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
    const writes = w.requests.writes;
    const r = await svc.timeOutRequest(w.deps, { requestId: id });
    assert.equal(r.outcome, 'already_decided');
    assert.equal(r.request.state, 'APPROVED');
    assert.equal((await w.requests.get(id))?.state, 'APPROVED');
    assert.equal(w.requests.writes, writes, 'nothing written');
    assert.ok(!w.notifier.eventsFor(id).includes('timed_out'));
  });

  it('the requester can cancel while pending; the waiting workflow is told; nobody else can cancel', async () => {
    const w = world();
    const { id, token } = await pending(w);
    await assert.rejects(svc.cancelRequest(w.deps, { requestId: id, actor: actor('carol') }), ForbiddenError);
    const r = await svc.cancelRequest(w.deps, { requestId: id, actor: actor('alice'), reason: 'fixed it myself' });
    assert.equal(r.state, 'CANCELLED');
    assert.deepEqual(w.workflow.resumed, [{ taskToken: token, outcome: { approved: false, error: 'Cancelled', cause: 'Cancelled by Alice: fixed it myself' } }]);
    await assert.rejects(svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' }), IllegalTransitionError);
  });

  it('a decision made before the task token arrived is handed to the workflow as soon as it does', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await svc.validateForWorkflow(w.deps, { requestId: request.id });
    await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
    assert.equal(w.workflow.resumed.length, 0);
    await svc.recordApprovalToken(w.deps, { requestId: request.id, taskToken: 'late-token' });
    assert.deepEqual(w.workflow.resumed, [{ taskToken: 'late-token', outcome: { approved: true, approvedBy: 'u-carol' } }]);
  });

  it('a cancellation before the approval wait began ends the wait at once', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await svc.cancelRequest(w.deps, { requestId: request.id, actor: actor('alice') });
    const v = await svc.validateForWorkflow(w.deps, { requestId: request.id });
    assert.equal(v.outcome, 'already_ended');
    assert.equal(v.request.state, 'CANCELLED');
    await svc.recordApprovalToken(w.deps, { requestId: request.id, taskToken: 't' });
    assert.equal(w.workflow.resumed[0]?.outcome.approved, false);
  });

  it('when resuming the workflow fails, the decision still stands (the timeout step picks it up)', async () => {
    const w = world();
    const { id } = await pending(w);
    sinon.stub(w.workflow, 'resume').rejects(new Error('TaskTimedOut'));
    const r = await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
    assert.equal(r.request.state, 'APPROVED');
    assert.equal((await w.requests.get(id))?.state, 'APPROVED');
  });

  it('forged or unknown request ids are not found and change nothing', async () => {
    const w = world();
    await assert.rejects(svc.castVote(w.deps, { requestId: 'req-doesnotexist00', actor: actor('carol'), decision: 'approve' }), /was not found/);
    assert.equal(w.audit.events.length, 0);
  });
});
