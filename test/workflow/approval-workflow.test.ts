/**
 * The approval state machine AS SYNTHESIZED from infra/ (definition pulled out of the template),
 * checked by asl-validator and executed by aws-local-stepfunctions. Every Task runs the real
 * handler (lambdas/workflow, notify, revoke) over the in-memory ports of core/memory, so these
 * tests cover definition + handlers + core services together. Wait states and retries take 0 ms;
 * the approval timeout is driven with sinon fake timers (never the wall clock).
 */
import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import { DependencyError } from '../../core/errors';
import type { MemoryWorld } from '../../core/memory';
import { assignmentKeyId, type AssignmentKey } from '../../core/model';
import * as svc from '../../core/services';
import { APPROVAL_TIMEOUT_PATH, MAX_GRANT_POLLS, STATES, TASK_FUNCTIONS } from '../../infra/constructs/approval-workflow';
import { WORKFLOW_ERRORS } from '../../contract/workflow';
import { createRevokeHandler } from '../../lambdas/revoke/handler';
import { ACCOUNTS, actor, body, PS, USERS, world } from '../support/core-world';
import { aslErrors, countTransitions, type LocalWorkflow, type LocalWorkflowOptions, statePath, withLocalWorkflow, workflowDefinition } from '../support/workflow-harness';

/** Step Functions Standard bills per transition; the approve path must stay cheap. */
const MAX_APPROVE_PATH_TRANSITIONS = 25;

interface Setup {
  w: MemoryWorld;
  flow: LocalWorkflow;
}

function setup(options: LocalWorkflowOptions & { pollsToComplete?: number } = {}): Setup {
  const { pollsToComplete, ...flowOptions } = options;
  const w = world({ pollsToComplete });
  const flow = withLocalWorkflow(w, { waitMs: 0, retryMs: 0, ...flowOptions });
  return { w, flow };
}

async function submit(w: MemoryWorld, who: keyof typeof USERS = 'alice', over: Parameters<typeof body>[0] = {}): Promise<string> {
  const { request } = await svc.submitRequest(w.deps, { actor: actor(who), body: body(over) });
  return request.id;
}

async function stateOf(w: MemoryWorld, id: string): Promise<string | undefined> {
  return (await w.requests.get(id))?.state;
}

function keyOf(who: keyof typeof USERS, permissionSetArn: string = PS.PowerUser, accountId: string = ACCOUNTS.prod): AssignmentKey {
  return { accountId, permissionSetArn, userId: USERS[who].userId };
}

describe('workflow: the synthesized state machine with the real handlers', function () {
  this.timeout(60_000);

  before(function () {
    this.timeout(120_000);
    // Synthesizes once (a few seconds); every LocalWorkflow below reuses the cached definition.
    workflowDefinition();
  });

  describe('definition', () => {
    it('is valid ASL (asl-validator, paths and ARNs checked)', () => {
      assert.deepEqual(aslErrors(workflowDefinition()), []);
    });

    it('is JSONPath only and gives every Task an explicit timeout (aws-local-stepfunctions defaults to 60 s, AWS to none)', () => {
      const def = workflowDefinition();
      assert.notEqual(def.QueryLanguage, 'JSONata');
      const tasks = Object.entries(def.States).filter(([, s]) => s.Type === 'Task');
      assert.deepEqual(tasks.map(([n]) => n).sort(), Object.keys(TASK_FUNCTIONS).sort(), 'every Task is bound to a handler in the tests');
      for (const [name, state] of tasks) {
        assert.notEqual(state.QueryLanguage, 'JSONata', name);
        assert.equal(state.Assign, undefined, name);
        assert.ok(typeof state.TimeoutSeconds === 'number' || typeof state.TimeoutSecondsPath === 'string', `${name} has a timeout`);
      }
      assert.equal(def.States[STATES.requestApproval]!.TimeoutSecondsPath, APPROVAL_TIMEOUT_PATH);
      assert.ok(String(def.States[STATES.requestApproval]!.Resource).endsWith('lambda:invoke.waitForTaskToken'));
      assert.ok(typeof def.TimeoutSeconds === 'number' && def.TimeoutSeconds > 0, 'the execution as a whole is bounded');
    });

    it('retries throttling, conflicts and RetryableError with backoff and full jitter on every grant step', () => {
      const def = workflowDefinition();
      for (const name of [STATES.startGrant, STATES.checkGrant, STATES.completeGrant, STATES.failGrant, STATES.compensate]) {
        const retry = (def.States[name]!.Retry ?? []) as Array<{ ErrorEquals: string[]; BackoffRate?: number; JitterStrategy?: string; MaxAttempts?: number }>;
        const errors = retry.flatMap((r) => r.ErrorEquals);
        for (const e of ['ThrottlingException', 'ConflictException', WORKFLOW_ERRORS.retryable, 'Lambda.TooManyRequestsException']) assert.ok(errors.includes(e), `${name} retries ${e}`);
        for (const r of retry) {
          assert.ok((r.BackoffRate ?? 1) > 1, `${name} backs off`);
          assert.equal(r.JitterStrategy, 'FULL', `${name} jitters`);
        }
        const catches = (def.States[name]!.Catch ?? []) as Array<{ ErrorEquals: string[]; Next: string }>;
        if (name !== STATES.compensate) assert.ok(catches.some((c) => c.ErrorEquals.includes('States.ALL') && c.Next === STATES.compensate), `${name} compensates`);
      }
    });
  });

  describe('paths', () => {
    it('approve: one approver approves; the assignment is created, the expiry scheduled, in at most 25 transitions', async () => {
      const { w, flow } = setup();
      const id = await submit(w);
      await flow.awaitingApproval(id);
      const vote = await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
      assert.equal(vote.decided, true);
      const ex = await flow.settled(id);
      assert.equal(ex.status, 'SUCCEEDED', JSON.stringify(ex.error));
      assert.deepEqual(statePath(ex.events), [
        STATES.validate, STATES.route, STATES.postApprovalCard, STATES.requestApproval, STATES.startGrant, STATES.grantStatus,
        STATES.waitForGrant, STATES.checkGrant, STATES.grantStatus, STATES.completeGrant, STATES.granted,
      ]);
      const transitions = countTransitions(ex.events);
      assert.ok(transitions <= MAX_APPROVE_PATH_TRANSITIONS, `${transitions} transitions`);
      const stored = await w.requests.get(id);
      assert.equal(stored?.state, 'ACTIVE');
      assert.equal(stored?.decidedBy?.userId, USERS.carol.userId);
      assert.ok(w.assignments.isLive(keyOf('alice')));
      assert.equal(w.scheduler.schedules.get(id), stored?.grant?.endsAt);
      assert.deepEqual(w.notifier.eventsFor(id), ['submitted', 'approval_requested', 'approved', 'active']);
      assert.deepEqual(w.assignments.writes.map((x) => x.kind), ['create']);
      const actions = w.audit.forRequest(id).map((e) => `${e.action}:${e.toState ?? ''}`);
      for (const a of ['request.submitted:PENDING_APPROVAL', 'request.transition:APPROVED', 'request.transition:GRANTING', 'request.transition:ACTIVE']) assert.ok(actions.includes(a), a);
    });

    it('approve with a quorum of two: the first approval waits, the second resumes the workflow', async () => {
      const { w, flow } = setup();
      const id = await submit(w, 'alice', { permissionSetName: 'Admin', ticketId: 'INC-1234' });
      await flow.awaitingApproval(id);
      const first = await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
      assert.equal(first.decided, false);
      assert.equal(flow.waitingTokens().length, 1, 'still waiting after one of two approvals');
      const again = await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
      assert.equal(again.duplicate, true, 'a double click does not count twice');
      await svc.castVote(w.deps, { requestId: id, actor: actor('dan'), decision: 'approve' });
      const ex = await flow.settled(id);
      assert.equal(ex.status, 'SUCCEEDED');
      assert.equal(await stateOf(w, id), 'ACTIVE');
      assert.ok(w.assignments.isLive(keyOf('alice', PS.Admin)));
    });

    it('deny: the workflow closes without touching Identity Center and notifies the requester', async () => {
      const { w, flow } = setup();
      const id = await submit(w);
      await flow.awaitingApproval(id);
      await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'deny', reason: 'not during the freeze' });
      const ex = await flow.settled(id);
      assert.equal(ex.status, 'SUCCEEDED');
      assert.deepEqual(statePath(ex.events), [STATES.validate, STATES.route, STATES.postApprovalCard, STATES.requestApproval, STATES.closed, STATES.done]);
      assert.equal(await stateOf(w, id), 'DENIED');
      assert.deepEqual(w.assignments.writes, []);
      assert.equal(w.scheduler.schedules.size, 0);
      assert.ok(w.notifier.eventsFor(id).includes('denied'));
      assert.ok(w.audit.forRequest(id).some((e) => e.toState === 'DENIED' && e.actor.userId === USERS.carol.userId));
    });

    it('self-approval is refused and leaves the workflow waiting', async () => {
      const { w, flow } = setup();
      const id = await submit(w, 'frank');
      await flow.awaitingApproval(id);
      await assert.rejects(svc.castVote(w.deps, { requestId: id, actor: actor('frank'), decision: 'approve' }), { code: 'SELF_APPROVAL' });
      assert.equal(flow.waitingTokens().length, 1);
      await svc.cancelRequest(w.deps, { requestId: id, actor: actor('frank') });
      assert.equal((await flow.settled(id)).status, 'SUCCEEDED');
    });

    it('cancel while waiting: the requester withdraws; the wait ends as Cancelled and nothing is granted', async () => {
      const { w, flow } = setup();
      const id = await submit(w);
      await flow.awaitingApproval(id);
      await svc.cancelRequest(w.deps, { requestId: id, actor: actor('alice'), reason: 'fixed it myself' });
      const ex = await flow.settled(id);
      assert.equal(ex.status, 'SUCCEEDED');
      assert.deepEqual(statePath(ex.events), [STATES.validate, STATES.route, STATES.postApprovalCard, STATES.requestApproval, STATES.closed, STATES.done]);
      assert.equal(await stateOf(w, id), 'CANCELLED');
      assert.deepEqual(w.assignments.writes, []);
      await assert.rejects(svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' }), { code: 'ILLEGAL_TRANSITION' });
    });

    describe('approval timeout (fake timers)', () => {
      let timers: sinon.SinonFakeTimers | undefined;
      afterEach(() => {
        timers?.restore();
        timers = undefined;
      });

      it('nobody decides in time: TIMED_OUT, notified, nothing granted', async () => {
        const { w, flow } = setup();
        // Only the task timers are faked: the harness polls on setImmediate.
        timers = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
        const id = await submit(w);
        await flow.awaitingApproval(id);
        const timeoutSeconds = (await w.requests.get(id))!.terms.approvalTimeoutSeconds;
        await w.clock.advance(timeoutSeconds * 1000);
        await timers.tickAsync(timeoutSeconds * 1000);
        const ex = await flow.settled(id);
        assert.equal(ex.status, 'SUCCEEDED');
        assert.deepEqual(statePath(ex.events), [STATES.validate, STATES.route, STATES.postApprovalCard, STATES.requestApproval, STATES.timedOut, STATES.afterTimeout, STATES.done]);
        assert.equal(await stateOf(w, id), 'TIMED_OUT');
        assert.ok(w.notifier.eventsFor(id).includes('timed_out'));
        assert.deepEqual(w.assignments.writes, []);
        assert.deepEqual(flow.waitingTokens(), [], 'the timed-out token resumes nothing');
        await assert.rejects(svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' }), { code: 'ILLEGAL_TRANSITION' });
      });

      it('a vote that landed but could not resume the execution still wins at the timeout: granted', async () => {
        const { w, flow } = setup();
        timers = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
        const id = await submit(w);
        await flow.awaitingApproval(id);
        // SendTaskSuccess fails (e.g. throttled); the decision is stored anyway.
        const resume = sinon.stub(flow, 'resume').rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
        await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
        resume.restore();
        assert.equal(await stateOf(w, id), 'APPROVED');
        const timeoutSeconds = (await w.requests.get(id))!.terms.approvalTimeoutSeconds;
        await timers.tickAsync(timeoutSeconds * 1000);
        const ex = await flow.settled(id);
        assert.equal(ex.status, 'SUCCEEDED');
        assert.deepEqual(statePath(ex.events).slice(0, 7), [STATES.validate, STATES.route, STATES.postApprovalCard, STATES.requestApproval, STATES.timedOut, STATES.afterTimeout, STATES.startGrant]);
        assert.equal(await stateOf(w, id), 'ACTIVE');
      });
    });

    it('auto-approve: no approval wait, granted at once', async () => {
      const { w, flow } = setup();
      const id = await submit(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      const ex = await flow.settled(id);
      assert.equal(ex.status, 'SUCCEEDED', JSON.stringify(ex.error));
      assert.ok(!statePath(ex.events).includes(STATES.requestApproval));
      assert.deepEqual(statePath(ex.events).slice(0, 3), [STATES.validate, STATES.route, STATES.startGrant]);
      const stored = await w.requests.get(id);
      assert.equal(stored?.state, 'ACTIVE');
      assert.equal(stored?.decidedBy?.userId, 'system');
      assert.ok(w.assignments.isLive(keyOf('alice', PS.ReadOnly)));
    });

    it('break-glass: no approval, granted, a CRITICAL finding and a break_glass_used notice', async () => {
      const { w, flow } = setup();
      const id = await submit(w, 'alice', { breakGlass: true, durationMinutes: 30 });
      const ex = await flow.settled(id);
      assert.equal(ex.status, 'SUCCEEDED', JSON.stringify(ex.error));
      assert.ok(!statePath(ex.events).includes(STATES.requestApproval));
      assert.equal(await stateOf(w, id), 'ACTIVE');
      const finding = w.findings.findings.get(`jit/break-glass/${id}`);
      assert.equal(finding?.severity, 'CRITICAL');
      assert.equal(finding?.kind, 'break_glass_used');
      assert.ok(w.notifier.eventsFor(id).includes('break_glass_used'));
    });

    it('grant throttled, then succeeded: ThrottlingException and a retryable DependencyError are retried by the state machine', async () => {
      const { w, flow } = setup();
      const startCreate = sinon.stub(w.assignments, 'startCreate');
      startCreate.onCall(0).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
      startCreate.onCall(1).rejects(new DependencyError('identity-center', 'ConflictException: another operation is in progress', true));
      startCreate.callThrough();
      const id = await submit(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      const ex = await flow.settled(id);
      assert.equal(ex.status, 'SUCCEEDED', JSON.stringify(ex.error));
      const retried = ex.events.filter((e) => e.type === 'StateRetried').map((e) => e.state?.name);
      assert.deepEqual(retried, [STATES.startGrant, STATES.startGrant]);
      assert.equal(startCreate.callCount, 3);
      assert.equal(await stateOf(w, id), 'ACTIVE');
      assert.deepEqual(w.assignments.writes.map((x) => x.kind), ['create'], 'one assignment, not three');
    });

    it('grant FAILED: Identity Center reports the create as FAILED; the request FAILS and the requester is told', async () => {
      const { w, flow } = setup();
      w.assignments.failNext('create', 'Permission set is not provisioned in the account');
      const id = await submit(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      const ex = await flow.settled(id);
      assert.equal(ex.status, 'FAILED');
      assert.equal(ex.error?.name, WORKFLOW_ERRORS.grantFailed);
      assert.ok(statePath(ex.events).includes(STATES.failGrant));
      const stored = await w.requests.get(id);
      assert.equal(stored?.state, 'FAILED');
      assert.match(stored?.failureReason ?? '', /not provisioned/);
      assert.ok(!w.assignments.isLive(keyOf('alice', PS.ReadOnly)));
      assert.equal(w.scheduler.schedules.size, 0);
      assert.ok(w.notifier.eventsFor(id).includes('failed'));
      assert.equal((await w.ledger.get(keyOf('alice', PS.ReadOnly)))?.activeGrantIds.length ?? 0, 0, 'the ledger holds nothing for it');
    });

    it('grant stuck IN_PROGRESS: polling stops after the maximum and the request fails (bounded cost)', async () => {
      const { w, flow } = setup({ pollsToComplete: MAX_GRANT_POLLS + 10 });
      const id = await submit(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      const ex = await flow.settled(id);
      assert.equal(ex.status, 'FAILED');
      assert.equal(statePath(ex.events).filter((s) => s === STATES.checkGrant).length, MAX_GRANT_POLLS);
      assert.ok(statePath(ex.events).includes(STATES.pollingExhausted));
      assert.equal(await stateOf(w, id), 'FAILED');
    });

    it('crash after the grant, before CompleteGrant ran: compensation revokes; the assignment is gone and the request FAILED', async () => {
      let crashed = false;
      const { w, flow } = setup({
        interceptTask: async (state, input, next) => {
          if (state === STATES.completeGrant && !crashed) {
            crashed = true;
            throw Object.assign(new Error('Runtime exited with error: signal: killed'), { name: 'Runtime.ExitError' });
          }
          return next(input);
        },
      });
      const id = await submit(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      const ex = await flow.settled(id);
      assert.equal(ex.status, 'FAILED');
      assert.equal(ex.error?.name, WORKFLOW_ERRORS.grantFailed);
      assert.deepEqual(statePath(ex.events).slice(-2), [STATES.compensate, STATES.compensatedFailure]);
      assert.equal(await stateOf(w, id), 'FAILED');
      assert.ok(!w.assignments.isLive(keyOf('alice', PS.ReadOnly)));
      assert.deepEqual(w.assignments.writes.map((x) => x.kind), ['create', 'delete']);
      assert.equal(w.scheduler.schedules.size, 0);
      assert.ok(w.notifier.eventsFor(id).includes('failed'));
    });

    it('crash after CompleteGrant committed (the response was lost): compensation still revokes the live grant and cancels its expiry', async () => {
      const { w, flow } = setup({
        interceptTask: async (state, input, next) => {
          const out = await next(input);
          if (state === STATES.completeGrant) throw Object.assign(new Error('Task timed out after 65.00 seconds'), { name: 'Sandbox.Timedout' });
          return out;
        },
      });
      const id = await submit(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      const ex = await flow.settled(id);
      assert.equal(ex.status, 'FAILED');
      assert.equal(await stateOf(w, id), 'FAILED');
      assert.ok(!w.assignments.isLive(keyOf('alice', PS.ReadOnly)));
      assert.equal(w.scheduler.schedules.has(id), false, 'no expiry left behind');
      const states = w.audit.forRequest(id).map((e) => e.toState).filter(Boolean);
      assert.deepEqual(states.slice(-3), ['ACTIVE', 'REVOKING', 'FAILED']);
    });

    it('a pre-existing assignment is never deleted: not by the grant, not at expiry, not by compensation', async () => {
      const { w, flow } = setup();
      const key = keyOf('alice', PS.ReadOnly);
      w.assignments.preexisting(key);
      const id = await submit(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      const ex = await flow.settled(id);
      assert.equal(ex.status, 'SUCCEEDED');
      assert.equal(await stateOf(w, id), 'ACTIVE');
      assert.ok(w.audit.forRequest(id).some((e) => e.action === 'assignment.kept_external'));
      const revoke = createRevokeHandler(w.deps);
      await w.clock.advance(10 * 60_000);
      assert.equal((await revoke({ requestId: id, source: 'schedule' })).outcome, 'revoked');
      assert.equal(await stateOf(w, id), 'EXPIRED');
      assert.ok(w.assignments.isLive(key), 'still live: someone else created it');
      assert.deepEqual(w.assignments.writes, [], 'no create, no delete');

      // The same through a failure: compensation leaves it in place too.
      const { w: w2, flow: flow2 } = setup({
        interceptTask: async (state, input, next) => {
          if (state === STATES.completeGrant) throw Object.assign(new Error('boom'), { name: 'Runtime.ExitError' });
          return next(input);
        },
      });
      w2.assignments.preexisting(key);
      const id2 = await submit(w2, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      assert.equal((await flow2.settled(id2)).status, 'FAILED');
      assert.equal(await stateOf(w2, id2), 'FAILED');
      assert.ok(w2.assignments.isLive(key));
      assert.deepEqual(w2.assignments.writes, []);
    });

    it('revoke at expiry: the Scheduler fires (twice: at-least-once delivery) and the assignment is deleted exactly once', async () => {
      const { w, flow } = setup();
      const id = await submit(w);
      await flow.awaitingApproval(id);
      await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
      assert.equal((await flow.settled(id)).status, 'SUCCEEDED');
      const endsAt = (await w.requests.get(id))!.grant!.endsAt;
      const revoke = createRevokeHandler(w.deps);

      // A stale schedule firing early (before an extension's new end) re-arms instead of revoking.
      assert.equal((await revoke({ requestId: id, source: 'schedule' })).state, 'ACTIVE');
      assert.ok(w.assignments.isLive(keyOf('alice')));

      w.clock.set(Date.parse(endsAt));
      assert.equal((await revoke({ requestId: id, source: 'schedule' })).outcome, 'revoked');
      // The Scheduler's redelivery of the same invocation.
      assert.equal((await revoke({ requestId: id, source: 'schedule' })).outcome, 'duplicate');
      assert.equal(await stateOf(w, id), 'EXPIRED');
      assert.ok(!w.assignments.isLive(keyOf('alice')));
      assert.equal(w.assignments.writes.filter((x) => x.kind === 'delete').length, 1, w.assignments.writes.map((x) => `${x.kind} ${assignmentKeyId(x.key)}`).join('; '));
      assert.equal(w.notifier.eventsFor(id).filter((e) => e === 'expired').length, 1);
    });

    // Two deliveries of the same expiry at the same time: the second finds the delete under way
    // (within its lease) and fails retryably; the Scheduler's retry then finds the request EXPIRED.
    it('revoke at expiry delivered twice concurrently deletes the assignment once', async () => {
      const { w, flow } = setup();
      const id = await submit(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      assert.equal((await flow.settled(id)).status, 'SUCCEEDED');
      await w.clock.advance(10 * 60_000);
      const lines: Array<Record<string, unknown> | undefined> = [];
      const record = (_m: string, d?: Record<string, unknown>) => void lines.push(d);
      const revoke = createRevokeHandler(w.deps, { log: { debug: record, info: record, warn: record, error: record } });
      const both = await Promise.allSettled([revoke({ requestId: id, source: 'schedule' }), revoke({ requestId: id, source: 'schedule' })]);
      const retried = both.filter((r) => r.status === 'rejected').map((r) => ((r as PromiseRejectedResult).reason as Error).name);
      assert.ok(retried.every((n) => n === 'RetryableError'), retried.join(', '));
      assert.ok(!lines.some((d) => d?.event === 'revoke_failed'), 'a duplicate is not a revoke failure (no RevokeFailures alarm)');
      assert.equal((await revoke({ requestId: id, source: 'schedule' })).outcome, 'duplicate', 'the retry is a no-op');
      assert.equal(await stateOf(w, id), 'EXPIRED');
      assert.equal(w.assignments.writes.filter((x) => x.kind === 'delete').length, 1);
    });

    it('a new grant after the previous one expired creates the assignment again (the ledger forgot the old ownership)', async () => {
      const { w, flow } = setup();
      const a = await submit(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 5 });
      assert.equal((await flow.settled(a)).status, 'SUCCEEDED');
      // The same person, same access, after the first grant ended early: no overlap in open requests.
      const revoke = createRevokeHandler(w.deps);
      await w.clock.advance(5 * 60_000);
      await revoke({ requestId: a, source: 'schedule' });
      const b = await submit(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      assert.equal((await flow.settled(b)).status, 'SUCCEEDED');
      assert.ok(w.assignments.isLive(keyOf('alice', PS.ReadOnly)));
      assert.deepEqual(w.assignments.writes.map((x) => x.kind), ['create', 'delete', 'create']);
    });
  });
});
