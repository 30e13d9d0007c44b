/**
 * The workflow-side handlers (workflow, notify, revoke, reconcile, audit-writer) and the function
 * configuration, over in-memory ports: payload validation, idempotent duplicates (at-least-once
 * delivery by Step Functions, the Scheduler and EventBridge), and error NAMES that the state
 * machine's Retry/Catch match.
 */
import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import { ConcurrentModificationError, DependencyError, NotFoundError, ValidationError } from '../../core/errors';
import type { MemoryWorld } from '../../core/memory';
import { MemoryAuditSink } from '../../core/memory';
import type { AuditEvent } from '../../core/model';
import * as svc from '../../core/services';
import { STATES } from '../../infra/constructs/approval-workflow';
import { createAuditWriterHandler } from '../../lambdas/audit-writer/handler';
import { ConfigurationError, parseConfig } from '../../lambdas/config';
import { WORKFLOW_ERRORS } from '../../contract/workflow';
import { ENV } from '../../lambdas/contract';
import type { Log } from '../../lambdas/http';
import { createNotifyHandler } from '../../lambdas/notify/handler';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { createRevokeHandler, REVOKE_FAILED_EVENT } from '../../lambdas/revoke/handler';
import { toWorkflowError } from '../../lambdas/workflow/errors';
import { createWorkflowHandler } from '../../lambdas/workflow/handler';
import { REVOKE_FAILED_LOG_EVENT } from '../../infra/constructs/monitoring';
import { activeRequest, actor, body, POLICY, PS, USERS, world } from '../support/core-world';
import { workflowDefinition } from '../support/workflow-harness';
import { compilePolicy } from '../../core/policy/validate';

function recordingLog(): Log & { lines: Array<{ level: string; message: string; details?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; details?: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, details?: Record<string, unknown>) => void lines.push({ level, message, details });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function rejectsNamed(p: Promise<unknown>, name: string, message?: RegExp): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof Error);
    assert.equal(e.name, name, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected a rejection named ${name}`);
}

async function submitted(w: MemoryWorld, over: Parameters<typeof body>[0] = {}, who: keyof typeof USERS = 'alice'): Promise<string> {
  return (await svc.submitRequest(w.deps, { actor: actor(who), body: body(over) })).request.id;
}

/** Every error name a Task state retries or catches by name, from the synthesized definition. */
function matchedErrors(state: string): { retried: Set<string>; caught: Set<string> } {
  const s = workflowDefinition().States[state]!;
  const retried = new Set(((s.Retry ?? []) as Array<{ ErrorEquals: string[] }>).flatMap((r) => r.ErrorEquals));
  const caught = new Set(((s.Catch ?? []) as Array<{ ErrorEquals: string[] }>).flatMap((c) => c.ErrorEquals));
  return { retried, caught };
}

describe('lambdas: workflow-side handlers over in-memory ports', function () {
  this.timeout(60_000);

  describe('error names for Step Functions (toWorkflowError)', () => {
    it('maps lost races and retryable dependency failures to RetryableError, which every grant Task retries', () => {
      const retryable = [
        new ConcurrentModificationError('Request', 'req-1'),
        new DependencyError('identity-center', 'ConflictException', true),
        Object.assign(new Error('Service Unavailable'), { $metadata: { httpStatusCode: 503 } }),
        Object.assign(new Error('socket reset'), { $retryable: {} }),
      ];
      for (const e of retryable) assert.equal(toWorkflowError(e).name, WORKFLOW_ERRORS.retryable, e.message);
      for (const state of [STATES.validate, STATES.startGrant, STATES.checkGrant, STATES.completeGrant, STATES.failGrant, STATES.compensate]) {
        assert.ok(matchedErrors(state).retried.has(WORKFLOW_ERRORS.retryable), state);
      }
    });

    it('keeps ThrottlingException / ConflictException / TooManyRequestsException by name (retried as such)', () => {
      for (const name of ['ThrottlingException', 'ConflictException', 'TooManyRequestsException']) {
        const mapped = toWorkflowError(Object.assign(new Error('slow down'), { name }));
        assert.equal(mapped.name, name);
        assert.ok(matchedErrors(STATES.startGrant).retried.has(name), `StartGrant retries ${name}`);
      }
    });

    it('gives permanent failures their domain name: not retried, caught by States.ALL (compensation or RecordFailure)', () => {
      const permanent = [new DependencyError('identity-center', 'AccessDeniedException', false), new NotFoundError('Request', 'req-1'), new ValidationError('bad')];
      for (const e of permanent) {
        const mapped = toWorkflowError(e);
        assert.equal(mapped.name, e.name);
        assert.ok(!matchedErrors(STATES.startGrant).retried.has(mapped.name), mapped.name);
      }
      assert.ok(matchedErrors(STATES.startGrant).caught.has('States.ALL'));
      const plain = new TypeError('x is undefined');
      assert.equal(toWorkflowError(plain), plain);
      assert.equal(toWorkflowError('a string').message, 'a string');
    });

    it('the approval wait catches Denied and Cancelled by the names the core resumes with', () => {
      const { caught } = matchedErrors(STATES.requestApproval);
      assert.ok(caught.has(WORKFLOW_ERRORS.denied) && caught.has(WORKFLOW_ERRORS.cancelled) && caught.has('States.Timeout'));
      assert.ok(matchedErrors(STATES.validate).caught.has(WORKFLOW_ERRORS.cancelled));
    });
  });

  describe('workflow handler', () => {
    it('refuses a malformed payload as InvalidPayload (a definition bug: not retried)', async () => {
      const w = world();
      const handler = createWorkflowHandler(w.deps);
      for (const bad of [{}, { action: 'explode', requestId: 'req-1' }, { action: 'validate' }, { action: 'check_grant', requestId: 'req-1' }, { action: 'validate', requestId: 'x'.repeat(65) }]) {
        await rejectsNamed(handler(bad as never), 'InvalidPayload');
      }
      assert.ok(!matchedErrors(STATES.startGrant).retried.has('InvalidPayload'));
    });

    it('validate routes approval, auto-approve and break-glass, with a positive integer approval timeout', async () => {
      const w = world();
      const handler = createWorkflowHandler(w.deps);
      const approval = await submitted(w);
      const auto = await submitted(w, { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      const glass = await submitted(w, { breakGlass: true }, 'bob');
      assert.deepEqual(await handler({ action: 'validate', requestId: approval }), { requestId: approval, route: 'approval', approvalTimeoutSeconds: 900 });
      assert.equal(((await handler({ action: 'validate', requestId: auto })) as { route: string }).route, 'auto_approve');
      assert.equal(((await handler({ action: 'validate', requestId: glass })) as { route: string }).route, 'break_glass');
      // Step Functions retried it (the response was lost): same answer, no second approval.
      assert.equal(((await handler({ action: 'validate', requestId: auto })) as { route: string }).route, 'auto_approve');
      assert.equal(w.audit.forRequest(auto).filter((e) => e.toState === 'APPROVED').length, 1);
      // Past the deadline the timeout is still a valid TimeoutSecondsPath (>= 1).
      await w.clock.advance(3600_000);
      assert.equal(((await handler({ action: 'validate', requestId: approval })) as { approvalTimeoutSeconds: number }).approvalTimeoutSeconds, 1);
    });

    it('validate of a request cancelled before its workflow started throws Cancelled (the Validate Catch closes it)', async () => {
      const w = world();
      const id = await submitted(w);
      await svc.cancelRequest(w.deps, { requestId: id, actor: actor('alice') });
      await rejectsNamed(createWorkflowHandler(w.deps)({ action: 'validate', requestId: id }), WORKFLOW_ERRORS.cancelled);
    });

    it('validate of an unknown request is NotFoundError (not retried)', async () => {
      await rejectsNamed(createWorkflowHandler(world().deps)({ action: 'validate', requestId: 'req-000000000404' }), 'NotFoundError');
    });

    it('start_grant, check_grant and complete_grant shape the results GrantStatus reads; a retried start_grant leaves one live assignment', async () => {
      const w = world();
      const handler = createWorkflowHandler(w.deps);
      const id = await submitted(w, { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      await handler({ action: 'validate', requestId: id });
      const started = (await handler({ action: 'start_grant', requestId: id })) as { status: string; operationId: string };
      assert.deepEqual(started, { requestId: id, status: 'IN_PROGRESS', operationId: started.operationId, polls: 0, waitSeconds: 2 }, 'the first check after the backoff schedule\'s first wait');
      const retried = (await handler({ action: 'start_grant', requestId: id })) as { status: string };
      assert.ok(['IN_PROGRESS', 'SUCCEEDED'].includes(retried.status));
      const checked = await handler({ action: 'check_grant', requestId: id, operationId: started.operationId, polls: 0 });
      assert.deepEqual(checked, { requestId: id, status: 'SUCCEEDED', operationId: started.operationId, polls: 1 }, 'no wait once done');
      assert.deepEqual(await handler({ action: 'complete_grant', requestId: id }), { requestId: id, state: 'ACTIVE' });
      assert.deepEqual(await handler({ action: 'complete_grant', requestId: id }), { requestId: id, state: 'ACTIVE' }, 'a retry changes nothing');
      assert.equal(w.assignments.live.size, 1);
      assert.equal(w.notifier.eventsFor(id).filter((e) => e === 'active').length, 1);
    });

    it('check_grant of a FAILED create always carries failureReason (FailGrant reads $.grant.failureReason)', async () => {
      const w = world();
      const handler = createWorkflowHandler(w.deps);
      const id = await submitted(w, { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      await handler({ action: 'validate', requestId: id });
      const started = (await handler({ action: 'start_grant', requestId: id })) as { operationId: string };
      // Identity Center may report FAILED without a reason.
      sinon.stub(w.assignments, 'createStatus').resolves({ operationId: started.operationId, status: 'FAILED' });
      const checked = (await handler({ action: 'check_grant', requestId: id, operationId: started.operationId, polls: 0 })) as { status: string; failureReason?: string };
      assert.equal(checked.status, 'FAILED');
      assert.ok(checked.failureReason && checked.failureReason.length > 0);
      assert.deepEqual(await handler({ action: 'fail_grant', requestId: id, error: WORKFLOW_ERRORS.grantFailed, cause: checked.failureReason }), { requestId: id, state: 'FAILED' });
    });

    it('start_grant throttled by Identity Center surfaces as ThrottlingException; a lost race as RetryableError', async () => {
      const w = world();
      const handler = createWorkflowHandler(w.deps);
      const id = await submitted(w, { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      await handler({ action: 'validate', requestId: id });
      const stub = sinon.stub(w.assignments, 'startCreate').rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
      await rejectsNamed(handler({ action: 'start_grant', requestId: id }), 'ThrottlingException');
      stub.restore();
      const other = await submitted(w, { permissionSetName: 'ReadOnly', durationMinutes: 10 }, 'bob');
      const update = sinon.stub(w.requests, 'update').rejects(new ConcurrentModificationError('Request', other));
      await rejectsNamed(handler({ action: 'validate', requestId: other }), WORKFLOW_ERRORS.retryable);
      update.restore();
    });

    it('timed_out after a vote won the race returns APPROVED (AfterTimeout grants it)', async () => {
      const w = world();
      const handler = createWorkflowHandler(w.deps);
      const id = await submitted(w);
      await handler({ action: 'validate', requestId: id });
      await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
      assert.deepEqual(await handler({ action: 'timed_out', requestId: id }), { requestId: id, state: 'APPROVED' });
      const late = await submitted(w, {}, 'bob');
      await handler({ action: 'validate', requestId: late });
      assert.deepEqual(await handler({ action: 'timed_out', requestId: late }), { requestId: late, state: 'TIMED_OUT' });
      assert.deepEqual(await handler({ action: 'timed_out', requestId: late }), { requestId: late, state: 'TIMED_OUT' }, 'a retry is harmless');
    });

    it('fail_grant of a request that already failed answers FAILED; of one that ended another way it is refused (the Catch takes it)', async () => {
      const w = world();
      const handler = createWorkflowHandler(w.deps);
      const id = await activeRequest(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      assert.deepEqual(await handler({ action: 'fail_grant', requestId: id, error: 'States.Timeout' }), { requestId: id, state: 'FAILED' });
      assert.deepEqual(await handler({ action: 'fail_grant', requestId: id }), { requestId: id, state: 'FAILED' });
      const revoked = await activeRequest(w, 'bob', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      await svc.revokeEarly(w.deps, { requestId: revoked, actor: actor('bob') });
      await assert.rejects(handler({ action: 'fail_grant', requestId: revoked }), (e: unknown) => (e as Error).name === 'IllegalTransitionError' && /revoked/.test((e as Error).message));
      assert.equal((await w.requests.get(revoked))?.state, 'REVOKED');
    });

    it('closed reports the request state and changes nothing', async () => {
      const w = world();
      const id = await submitted(w);
      const before = w.requests.writes;
      assert.deepEqual(await createWorkflowHandler(w.deps)({ action: 'closed', requestId: id, error: 'Denied', cause: 'no' }), { requestId: id, state: 'PENDING_APPROVAL' });
      assert.equal(w.requests.writes, before);
    });
  });

  describe('notify handler (the approval wait)', () => {
    it('stores the task token server-side and asks the approvers; a retried delivery stores it once', async () => {
      const w = world();
      const log = recordingLog();
      const handler = createNotifyHandler(w.deps, { log });
      const id = await submitted(w);
      await svc.validateForWorkflow(w.deps, { requestId: id });
      const token = 'AQB8AAAAKgAAAAMAAAAA'.repeat(10);
      assert.deepEqual(await handler({ requestId: id, taskToken: token }), { requestId: id, recorded: true });
      await handler({ requestId: id, taskToken: token });
      assert.equal((await w.requests.get(id))?.taskToken, token);
      assert.equal(w.audit.forRequest(id).filter((e) => e.action === 'request.approval_requested').length, 1);
      assert.ok(w.notifier.eventsFor(id).includes('approval_requested'));
      assert.ok(!JSON.stringify(log.lines).includes(token), 'the token (a bearer credential) is never logged');
      assert.ok(!JSON.stringify(w.notifier.events).includes(token), 'nor sent to the bot');
    });

    it('answers the wait at once when the request was decided or cancelled before the token arrived', async () => {
      const w = world();
      const handler = createNotifyHandler(w.deps);
      const approved = await submitted(w);
      await svc.validateForWorkflow(w.deps, { requestId: approved });
      await svc.castVote(w.deps, { requestId: approved, actor: actor('carol'), decision: 'approve' });
      await handler({ requestId: approved, taskToken: 'token-a' });
      const cancelled = await submitted(w, {}, 'bob');
      await svc.cancelRequest(w.deps, { requestId: cancelled, actor: actor('bob') });
      await handler({ requestId: cancelled, taskToken: 'token-c' });
      assert.deepEqual(
        w.workflow.resumed.map((r) => [r.taskToken, r.outcome.approved ? 'approved' : r.outcome.error]),
        [['token-a', 'approved'], ['token-c', WORKFLOW_ERRORS.cancelled]],
      );
    });

    it('a failed card post is RetryableError (the approvers must see it); a bad payload is InvalidPayload', async () => {
      const w = world();
      const handler = createNotifyHandler(w.deps);
      const id = await submitted(w);
      sinon.stub(w.notifier, 'requestChanged').rejects(new Error('bot unavailable'));
      await rejectsNamed(handler({ requestId: id, taskToken: 't' }), WORKFLOW_ERRORS.retryable);
      assert.ok(matchedErrors(STATES.requestApproval).retried.has(WORKFLOW_ERRORS.retryable));
      await rejectsNamed(handler({ requestId: id } as never), 'InvalidPayload');
      await rejectsNamed(handler({ requestId: id, taskToken: 'x'.repeat(1025) }), 'InvalidPayload');
    });
  });

  describe('notify handler (PostApprovalCard)', () => {
    it('posts the card once and returns the approval wait counted from the post; the bot down is RetryableError, which the state retries', async () => {
      const w = world();
      const handler = createNotifyHandler(w.deps);
      const id = await submitted(w);
      await svc.validateForWorkflow(w.deps, { requestId: id });
      const down = sinon.stub(w.notifier, 'requestChanged').rejects(new Error('bot unavailable'));
      await rejectsNamed(handler({ action: 'post_approval_card', requestId: id }), WORKFLOW_ERRORS.retryable);
      assert.ok(matchedErrors(STATES.postApprovalCard).retried.has(WORKFLOW_ERRORS.retryable));
      down.restore();
      w.clock.set(w.clock.now() + 7 * 60_000);
      const timeout = (await w.requests.get(id))!.terms.approvalTimeoutSeconds;
      assert.deepEqual(await handler({ action: 'post_approval_card', requestId: id }), { requestId: id, approvalTimeoutSeconds: timeout, posted: true });
      w.clock.set(w.clock.now() + 60_000);
      assert.deepEqual(await handler({ action: 'post_approval_card', requestId: id }), { requestId: id, approvalTimeoutSeconds: timeout - 60, posted: false });
      assert.equal(w.notifier.eventsFor(id).filter((e) => e === 'approval_requested').length, 1);
      await rejectsNamed(handler({ action: 'post_approval_card' } as never), 'InvalidPayload');
    });
  });

  describe('revoke handler (Scheduler target and compensation)', () => {
    it('the Scheduler delivers twice: one revocation, one delete, one notice; the second is a duplicate', async () => {
      const w = world();
      const handler = createRevokeHandler(w.deps);
      const id = await activeRequest(w);
      w.clock.set(Date.parse((await w.requests.get(id))!.grant!.endsAt));
      assert.deepEqual(await handler({ requestId: id, source: 'schedule' }), { requestId: id, outcome: 'revoked', state: 'EXPIRED' });
      assert.deepEqual(await handler({ requestId: id, source: 'schedule' }), { requestId: id, outcome: 'duplicate', state: 'EXPIRED' });
      assert.equal(w.assignments.writes.filter((x) => x.kind === 'delete').length, 1);
      assert.equal(w.notifier.eventsFor(id).filter((e) => e === 'expired').length, 1);
    });

    it('maps the core outcome only: a stale schedule is rescheduled, one after an early revoke a duplicate, with no store read of its own', async () => {
      const w = world();
      const handler = createRevokeHandler(w.deps);
      const id = await activeRequest(w);
      const before = (await w.requests.get(id))!.grant!.endsAt;
      await svc.extendGrant(w.deps, { requestId: id, actor: actor('alice'), additionalMinutes: 15 });
      w.clock.set(Date.parse(before));
      assert.deepEqual(await handler({ requestId: id, source: 'schedule' }), { requestId: id, outcome: 'rescheduled', state: 'ACTIVE' });
      await svc.revokeEarly(w.deps, { requestId: id, actor: actor('alice') });
      const reads = sinon.spy(w.requests, 'get');
      const readsOf = async (run: () => Promise<unknown>) => {
        reads.resetHistory();
        await run();
        return reads.callCount;
      };
      const expiry = await readsOf(() => svc.expireGrant(w.deps, { requestId: id }));
      assert.equal(await readsOf(async () => assert.deepEqual(await handler({ requestId: id, source: 'schedule' }), { requestId: id, outcome: 'duplicate', state: 'REVOKED' })), expiry, 'the handler reads only what the core service reads');
      const rollback = await readsOf(() => svc.failGrant(w.deps, { requestId: id, reason: 'x' }));
      assert.equal(await readsOf(async () => assert.deepEqual(await handler({ requestId: id, source: 'compensation' }), { requestId: id, outcome: 'duplicate', state: 'REVOKED' })), rollback);
      reads.restore();
    });

    it('a schedule for a request that no longer exists succeeds as not_found (retrying cannot help)', async () => {
      assert.deepEqual(await createRevokeHandler(world().deps)({ requestId: 'req-000000000404', source: 'schedule' }), { requestId: 'req-000000000404', outcome: 'not_found' });
    });

    it('compensation rolls back a live grant to FAILED with the cause, and is idempotent', async () => {
      const w = world();
      const handler = createRevokeHandler(w.deps);
      const id = await activeRequest(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      const r = await handler({ requestId: id, source: 'compensation', cause: 'CompleteGrant crashed' });
      assert.equal(r.state, 'FAILED');
      assert.match((await w.requests.get(id))?.failureReason ?? '', /Rolled back: CompleteGrant crashed/);
      assert.equal(w.assignments.live.size, 0);
      assert.equal((await handler({ requestId: id, source: 'compensation' })).state, 'FAILED');
    });

    it('a failed delete logs event=revoke_failed (the RevokeFailures alarm) and rethrows as RetryableError for the Scheduler to retry', async () => {
      const w = world();
      const log = recordingLog();
      const handler = createRevokeHandler(w.deps, { log });
      const id = await activeRequest(w);
      w.clock.set(Date.parse((await w.requests.get(id))!.grant!.endsAt));
      w.assignments.failNext('delete', 'AccessDeniedException');
      await rejectsNamed(handler({ requestId: id, source: 'schedule' }), WORKFLOW_ERRORS.retryable);
      assert.equal(REVOKE_FAILED_EVENT, REVOKE_FAILED_LOG_EVENT, 'the handler logs what the metric filter counts');
      assert.ok(log.lines.some((l) => l.level === 'error' && l.details?.event === REVOKE_FAILED_EVENT && l.details?.requestId === id));
      assert.ok([...w.findings.findings.values()].some((f) => f.kind === 'revoke_failed'), 'a Security Hub finding too');
      // The retry succeeds.
      assert.equal((await handler({ requestId: id, source: 'schedule' })).state, 'EXPIRED');
      assert.ok(!w.assignments.isLive({ accountId: (await w.requests.get(id))!.accountId, permissionSetArn: PS.PowerUser, userId: USERS.alice.userId }));
    });

    it('refuses a malformed payload as InvalidPayload and logs it as a revoke failure', async () => {
      const log = recordingLog();
      const handler = createRevokeHandler(world().deps, { log });
      for (const bad of [{}, { requestId: 'req-1' }, { requestId: 'req-1', source: 'cron' }, { requestId: '', source: 'schedule' }]) {
        await rejectsNamed(handler(bad as never), 'InvalidPayload');
      }
      assert.equal(log.lines.filter((l) => l.details?.event === REVOKE_FAILED_EVENT).length, 4);
    });
  });

  describe('reconcile handler', () => {
    it('revokes a grant whose schedule never fired and sends expiring-soon notices', async () => {
      const w = world();
      const handler = createReconcileHandler(w.deps);
      const stale = await activeRequest(w, 'alice', { permissionSetName: 'ReadOnly', durationMinutes: 10 });
      w.scheduler.schedules.clear(); // the schedule was lost
      await w.clock.advance(12 * 60_000);
      const soon = await activeRequest(w, 'bob', { durationMinutes: 30 });
      await w.clock.advance(28 * 60_000);
      const summary = await handler({});
      assert.deepEqual(summary.actions.map((a) => [a.kind, a.requestIds]), [['revoke_expired', [stale]]]);
      assert.equal(summary.drift, 0);
      assert.equal(summary.expiringSoonNotified, 1);
      assert.equal((await w.requests.get(stale))?.state, 'EXPIRED');
      assert.ok(w.notifier.eventsFor(soon).includes('expiring_soon'));
      const again = await handler({});
      assert.deepEqual(again, { actions: [], drift: 0, expiringSoonNotified: 0, reminded: 0, escalated: 0 }, 'idempotent');
    });

    it('reports an assignment nobody granted as drift, without deleting it', async () => {
      const w = world();
      const key = { accountId: POLICY.accounts[1]!.id, permissionSetArn: PS.Admin, userId: USERS.erin.userId };
      w.assignments.preexisting(key);
      const summary = await createReconcileHandler(w.deps)({});
      assert.equal(summary.drift, 1);
      assert.ok(w.assignments.isLive(key));
      assert.deepEqual(w.assignments.writes, []);
    });

    it('still sends the notices when the sweep fails, then fails the invocation (the Errors alarm fires)', async () => {
      const w = world();
      const log = recordingLog();
      const soon = await activeRequest(w, 'bob', { durationMinutes: 30 });
      await w.clock.advance(28 * 60_000);
      sinon.stub(w.ledger, 'list').rejects(new DependencyError('dynamodb', 'ProvisionedThroughputExceededException', true));
      await assert.rejects(createReconcileHandler(w.deps, { log })({}), /ProvisionedThroughputExceeded/);
      assert.ok(w.notifier.eventsFor(soon).includes('expiring_soon'));
      assert.ok(log.lines.some((l) => l.level === 'error' && l.message === 'reconcile failed'));
    });
  });

  describe('audit-writer handler', () => {
    const event = (over: Partial<AuditEvent> = {}) => ({
      version: '0',
      id: 'e1',
      source: 'jit.access',
      'detail-type': 'JIT Access Audit Event',
      account: '111111111111',
      time: '2026-01-01T09:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: {
        eventId: 'req-000000000001:v2:0',
        requestId: 'req-000000000001',
        at: '2026-01-01T09:00:00.000Z',
        actor: { userId: 'u-carol', userName: 'carol@example.com', displayName: 'Carol' },
        action: 'request.transition',
        fromState: 'PENDING_APPROVAL',
        toState: 'APPROVED',
        reason: 'Approved by Carol.',
        details: { decision: 'approve' },
        ...over,
      },
    });

    it('stores an event once however often EventBridge delivers it', async () => {
      const sink = new MemoryAuditSink();
      const handler = createAuditWriterHandler(sink);
      assert.deepEqual(await handler(event()), { eventId: 'req-000000000001:v2:0' });
      await handler(event());
      await handler(event());
      assert.equal(sink.events.length, 1);
      assert.equal(sink.events[0]?.toState, 'APPROVED');
      await handler(event({ eventId: 'req-000000000001:v3:0', toState: 'GRANTING', fromState: 'APPROVED' }));
      assert.equal(sink.events.length, 2);
    });

    it('stores what the services emit (the real events of a whole grant round-trip through the schema)', async () => {
      const w = world();
      await activeRequest(w);
      const sink = new MemoryAuditSink();
      const handler = createAuditWriterHandler(async () => sink);
      for (const e of w.audit.events) await handler({ ...event(), detail: JSON.parse(JSON.stringify(e)) as unknown });
      assert.equal(sink.events.length, w.audit.events.length);
    });

    it('refuses an event that does not match the schema as InvalidAuditEvent (dead-lettered, never half-written)', async () => {
      const sink = new MemoryAuditSink();
      const handler = createAuditWriterHandler(sink);
      for (const bad of [{}, { ...event(), detail: { ...event().detail, eventId: '' } }, { ...event(), detail: { ...event().detail, at: 'yesterday' } }, { ...event(), detail: { ...event().detail, actor: {} } }]) {
        await rejectsNamed(handler(bad), 'InvalidAuditEvent');
      }
      assert.equal(sink.events.length, 0);
    });

    it('lets a sink failure through so that EventBridge retries the delivery', async () => {
      const sink = new MemoryAuditSink();
      sinon.stub(sink, 'append').rejects(new DependencyError('DynamoDB', 'PutItem throttled', true));
      await assert.rejects(createAuditWriterHandler(sink)(event()), /throttled/);
    });
  });

  describe('function configuration (lambdas/config.ts)', () => {
    const env = (): Record<string, string> => ({
      [ENV.stage]: 'test',
      [ENV.awsRegion]: 'us-east-1',
      [ENV.requestsTable]: 'jit-requests',
      [ENV.ledgerTable]: 'jit-ledger',
      [ENV.auditTable]: 'jit-audit',
      [ENV.eventBusName]: 'jit-audit',
      [ENV.stateMachineArn]: 'arn:aws:states:us-east-1:111111111111:stateMachine:jit-access-test-approval',
      [ENV.ssoInstanceArn]: 'arn:aws:sso:::instance/ssoins-0000000000000000',
      [ENV.identityStoreId]: 'd-0000000000',
      [ENV.schedulerGroup]: 'jit-access-test',
      [ENV.schedulerRoleArn]: 'arn:aws:iam::111111111111:role/scheduler',
      [ENV.schedulerTargetArn]: 'arn:aws:lambda:us-east-1:111111111111:function:jit-access-test-revoke',
      [ENV.schedulerDlqArn]: 'arn:aws:sqs:us-east-1:111111111111:jit-access-test-dlq',
      [ENV.notifyUrl]: 'https://bot.example.com/api/notify',
      [ENV.notifySecretArn]: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:jit',
      [ENV.noticeFunctionArn]: 'arn:aws:lambda:us-east-1:111111111111:function:jit-access-test-notify',
      [ENV.botAppId]: '11111111-2222-3333-4444-555555555555',
      [ENV.entraTenantId]: '00000000-0000-0000-0000-000000000000',
      [ENV.policyJson]: compilePolicy({
        version: 1,
        accounts: [{ id: '111111111111', name: 'dev', ouPath: ['r-ab12'] }],
        permissionSets: [{ name: 'ReadOnly', arn: PS.ReadOnly }],
        rules: [{ id: 'ro', eligibleGroups: ['Engineers'], accounts: { ids: ['111111111111'] }, permissionSets: ['ReadOnly'], defaultDuration: 'PT1H', maxDuration: 'PT1H', approvers: { required: 0 } }],
      }),
    });

    it('parses a complete environment, with defaults', () => {
      const c = parseConfig(env());
      assert.equal(c.userMatch, 'userName');
      assert.equal(c.findingsMinSeverity, 'HIGH');
      assert.equal(c.policy.rules.length, 1);
    });

    it('names every missing or malformed variable, and a bad policy', () => {
      const { [ENV.requestsTable]: _drop, ...missing } = env();
      assert.throws(() => parseConfig(missing), (e: unknown) => e instanceof ConfigurationError && e.message.includes(`${ENV.requestsTable} is not set`));
      assert.throws(() => parseConfig({ ...env(), [ENV.stateMachineArn]: 'jit-approval' }), new RegExp(`${ENV.stateMachineArn} must be an states ARN`));
      assert.throws(() => parseConfig({ ...env(), [ENV.policyJson]: '{"version":1}' }), (e: unknown) => e instanceof ConfigurationError && e.message.includes(ENV.policyJson));
    });

    it('takes the policy only as compiled at synth: a raw policy document is refused with the reason, not half-trusted', () => {
      const raw = JSON.stringify({
        version: 1,
        accounts: [{ id: '111111111111', name: 'dev' }],
        permissionSets: [{ name: 'ReadOnly', arn: PS.ReadOnly }],
        rules: [{ id: 'ro', eligibleGroups: ['Engineers'], accounts: { ids: ['111111111111'] }, permissionSets: ['ReadOnly'], defaultDuration: 'PT1H', maxDuration: 'PT1H', approvers: { required: 0 } }],
      });
      assert.throws(
        () => parseConfig({ ...env(), [ENV.policyJson]: raw }),
        (e: unknown) => e instanceof ConfigurationError && e.message.includes(`${ENV.policyJson} is not a compiled policy`) && /rules\.0|accounts\.0/.test(e.message),
      );
      // What infra inlines parses back to exactly what the validator produced.
      const compiled = parseConfig(env()).policy;
      assert.equal(compilePolicy(JSON.parse(JSON.stringify({ version: 1, accounts: [{ id: '111111111111', name: 'dev', ouPath: ['r-ab12'] }], permissionSets: [{ name: 'ReadOnly', arn: PS.ReadOnly }], rules: [{ id: 'ro', eligibleGroups: ['Engineers'], accounts: { ids: ['111111111111'] }, permissionSets: ['ReadOnly'], defaultDuration: 'PT1H', maxDuration: 'PT1H', approvers: { required: 0 } }] }))), JSON.stringify(compiled));
    });

    it('matching users by externalId needs the issuer; with it, the issuer is kept', () => {
      assert.throws(() => parseConfig({ ...env(), [ENV.userMatch]: 'externalId' }), new RegExp(`${ENV.externalIdIssuer} is not set`));
      assert.equal(parseConfig({ ...env(), [ENV.userMatch]: 'externalId', [ENV.externalIdIssuer]: 'https://scim.example.com/i' }).externalIdIssuer, 'https://scim.example.com/i');
    });

    it('the bridge audience (JIT_BRIDGE_AUDIENCE) is the bridge app\'s client id: a GUID is kept, an api:// URI is refused', () => {
      assert.equal(parseConfig({ ...env(), [ENV.bridgeAudience]: '00000000-0000-4000-8000-0000000b71d6' }).bridgeAudience, '00000000-0000-4000-8000-0000000b71d6');
      assert.throws(() => parseConfig({ ...env(), [ENV.bridgeAudience]: 'api://jit-bridge' }), new RegExp(`${ENV.bridgeAudience} must be the bridge app's client id`));
    });
  });
});
