import assert from 'node:assert/strict';
import sinon from 'sinon';
import { AlreadyExistsError, LimitExceededError, NotEligibleError, OpenRequestExistsError, UnknownUserError, ValidationError } from '../../core/errors';
import * as svc from '../../core/services';
import { ACCOUNTS, actor, body, world } from '../support/core-world';

describe('core services: submit', () => {
  it('stores a pending request with the policy decision, audits it, starts its workflow and tells the requester', async () => {
    const w = world();
    const { request, replayed } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    assert.equal(replayed, false);
    assert.equal(request.state, 'PENDING_APPROVAL');
    assert.equal(request.route, 'approval');
    assert.equal(request.terms.approvalsRequired, 1);
    assert.match(request.policyReason, /poweruser/);
    assert.equal(request.requester.userId, 'u-alice');
    assert.equal(request.approvalDeadline, new Date(w.clock.now() + 900_000).toISOString());
    assert.ok(w.workflow.started.has(request.id), 'the execution is started, named after the request');
    const stored = await w.requests.get(request.id);
    assert.ok(stored?.executionArn?.endsWith(request.id));
    assert.equal(stored?.auditOutbox, undefined, 'the audit outbox was flushed');
    assert.deepEqual(w.audit.forRequest(request.id).map((e) => e.action), ['request.submitted', 'request.workflow_started'], 'each write audited: the submit, then the execution ARN');
    assert.deepEqual(w.notifier.eventsFor(request.id), ['submitted']);
  });

  it('never returns the task token or execution ARN to the caller', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    assert.equal('executionArn' in request, false);
    assert.equal('taskToken' in request, false);
    assert.equal('auditOutbox' in request, false);
  });

  it('a retried submit with the same client request id returns the same request and changes nothing', async () => {
    const w = world();
    const b = body();
    const first = await svc.submitRequest(w.deps, { actor: actor('alice'), body: b });
    const events = w.audit.events.length;
    const again = await svc.submitRequest(w.deps, { actor: actor('alice'), body: { ...b } });
    assert.equal(again.replayed, true);
    assert.equal(again.request.id, first.request.id);
    assert.equal(w.requests.items.size, 1);
    assert.equal(w.audit.events.length, events, 'the replay writes and audits nothing');
  });

  it('double-clicked submits racing each other create exactly one request', async () => {
    const w = world();
    const b = body();
    const results = await Promise.all(Array.from({ length: 10 }, () => svc.submitRequest(w.deps, { actor: actor('alice'), body: { ...b } })));
    assert.equal(new Set(results.map((r) => r.request.id)).size, 1);
    assert.equal(w.requests.items.size, 1);
    assert.equal(results.filter((r) => !r.replayed).length, 1);
  });

  it('refuses to reuse a client request id for a different request', async () => {
    const w = world();
    const b = body();
    await svc.submitRequest(w.deps, { actor: actor('alice'), body: b });
    await assert.rejects(svc.submitRequest(w.deps, { actor: actor('alice'), body: { ...b, durationMinutes: 45 } }), AlreadyExistsError);
    assert.equal(w.requests.items.size, 1);
  });

  it('the same client request id from another person is another request', async () => {
    const w = world();
    const b = body();
    await svc.submitRequest(w.deps, { actor: actor('alice'), body: b });
    await svc.submitRequest(w.deps, { actor: actor('bob'), body: { ...b } });
    assert.equal(w.requests.items.size, 2);
  });

  const refusals: Array<[string, Parameters<typeof body>[0], 'alice' | 'erin', new (...a: never[]) => Error, RegExp]> = [
    ['an unknown account', { accountId: '999999999999' }, 'alice', ValidationError, /not an account managed/],
    ['an unknown permission set', { permissionSetName: 'GodMode' }, 'alice', ValidationError, /not a permission set managed/],
    ['someone in no eligible group', {}, 'erin', NotEligibleError, /./],
    ['a duration over the maximum', { durationMinutes: 61 }, 'alice', NotEligibleError, /./],
    ['Admin without the required ticket', { permissionSetName: 'Admin' }, 'alice', NotEligibleError, /ticket/i],
    ['Admin with a ticket that does not match the pattern', { permissionSetName: 'Admin', ticketId: 'JIRA-1' }, 'alice', NotEligibleError, /ticket/i],
    ['break-glass where the rule does not allow it', { permissionSetName: 'Admin', ticketId: 'INC-1', breakGlass: true }, 'alice', NotEligibleError, /break-glass/i],
  ];
  for (const [what, over, who, type, message] of refusals) {
    it(`refuses ${what} with a clear reason and stores nothing`, async () => {
      const w = world();
      await assert.rejects(svc.submitRequest(w.deps, { actor: actor(who), body: body(over) }), (e: unknown) => e instanceof type && message.test((e as Error).message));
      assert.equal(w.requests.items.size, 0);
      assert.equal(w.audit.events.length, 0);
      assert.equal(w.workflow.started.size, 0);
    });
  }

  it('refuses a second open request for the same access, naming the first', async () => {
    const w = world();
    const first = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await assert.rejects(svc.submitRequest(w.deps, { actor: actor('alice'), body: body() }), (e: unknown) => e instanceof AlreadyExistsError && e.message.includes(first.request.id));
  });

  it('two submits for the same access racing each other (different client ids): one request, the other is refused naming it', async () => {
    const w = world();
    const results = await Promise.allSettled([svc.submitRequest(w.deps, { actor: actor('alice'), body: body() }), svc.submitRequest(w.deps, { actor: actor('alice'), body: body() })]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(w.requests.items.size, 1);
    const id = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof svc.submitRequest>>>).value.request.id;
    assert.ok(lost[0]!.reason instanceof OpenRequestExistsError, String(lost[0]!.reason));
    assert.match(lost[0]!.reason.message, new RegExp(`${id} \\(PowerUser on prod, waiting for approval\\) already exists`));
  });

  it('an ended request frees the access for a new one; an active grant does not block asking again', async () => {
    const w = world();
    const first = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await svc.cancelRequest(w.deps, { requestId: first.request.id, actor: actor('alice') });
    const second = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    assert.notEqual(second.request.id, first.request.id);
  });

  it('caps the number of open requests per person', async () => {
    const w = world();
    sinon.stub(w.requests, 'list').resolves(Array.from({ length: svc.MAX_OPEN_REQUESTS_PER_USER }, (_, i) => ({ id: `req-x${i}`, accountId: ACCOUNTS.dev, permissionSetName: 'Admin' }) as never));
    await assert.rejects(svc.submitRequest(w.deps, { actor: actor('alice'), body: body() }), LimitExceededError);
  });

  it('when the workflow cannot start, the request is kept and the retried submit starts it', async () => {
    const w = world();
    const b = body();
    const start = sinon.stub(w.workflow, 'start').rejects(new Error('sfn unavailable'));
    await assert.rejects(svc.submitRequest(w.deps, { actor: actor('alice'), body: b }), /sfn unavailable/);
    assert.equal(w.requests.items.size, 1, 'no request is ever lost');
    start.restore();
    const again = await svc.submitRequest(w.deps, { actor: actor('alice'), body: b });
    assert.equal(again.replayed, true);
    assert.ok(w.workflow.started.has(again.request.id));
  });

  it('maps a Teams identity to an Identity Center user, and refuses unknown people clearly', async () => {
    const w = world();
    const a = await svc.resolveActor(w.deps, { upn: 'ALICE@example.com', displayName: 'Alice A.' });
    assert.equal(a.userId, 'u-alice');
    assert.equal(a.displayName, 'Alice A.');
    await assert.rejects(svc.resolveActor(w.deps, { upn: 'mallory@example.com' }), (e: unknown) => e instanceof UnknownUserError && /mallory@example.com/.test((e as Error).message));
    await assert.rejects(svc.resolveActor(w.deps, {}), UnknownUserError);
  });
});

describe('core services: reading requests', () => {
  it('the requester and approvers see a request; anyone else gets not found', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    assert.equal((await svc.getRequest(w.deps, { requestId: request.id, actor: actor('alice') })).id, request.id);
    assert.equal((await svc.getRequest(w.deps, { requestId: request.id, actor: actor('carol') })).id, request.id);
    await assert.rejects(svc.getRequest(w.deps, { requestId: request.id, actor: actor('bob') }), /was not found/);
  });

  it('"pending" lists what this approver can still vote on, not their own requests', async () => {
    const w = world();
    const mine = await svc.submitRequest(w.deps, { actor: actor('frank'), body: body() });
    const other = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    const pendingForFrank = await svc.listRequests(w.deps, { actor: actor('frank'), view: 'pending' });
    assert.deepEqual(pendingForFrank.map((r) => r.id), [other.request.id]);
    assert.ok(!pendingForFrank.some((r) => r.id === mine.request.id));
    assert.deepEqual(await svc.listRequests(w.deps, { actor: actor('bob'), view: 'pending' }), []);
    assert.deepEqual((await svc.listRequests(w.deps, { actor: actor('alice'), view: 'mine' })).map((r) => r.id), [other.request.id]);
  });

  it('eligibility lists only what policy offers this person, searchable by name or id', async () => {
    const w = world();
    const all = await svc.eligibility(w.deps, { actor: actor('alice'), query: {} });
    assert.deepEqual(all.accounts.map((a) => a.name).sort(), ['dev', 'prod']);
    const prod = all.accounts.find((a) => a.name === 'prod')!;
    assert.deepEqual(prod.permissionSets.map((p) => p.name).sort(), ['Admin', 'PowerUser', 'ReadOnly']);
    assert.equal(prod.permissionSets.find((p) => p.name === 'Admin')!.approvalsRequired, 2);
    assert.equal(prod.permissionSets.find((p) => p.name === 'ReadOnly')!.maxDurationMinutes, 15);
    assert.deepEqual((await svc.eligibility(w.deps, { actor: actor('alice'), query: { q: 'PRO' } })).accounts.map((a) => a.id), [ACCOUNTS.prod]);
    assert.deepEqual((await svc.eligibility(w.deps, { actor: actor('alice'), query: { q: '1111' } })).accounts.map((a) => a.id), [ACCOUNTS.dev]);
    assert.equal((await svc.eligibility(w.deps, { actor: actor('erin'), query: {} })).accounts.length, 0);
  });
});
