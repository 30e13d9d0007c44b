/**
 * The product's own findings with memory (core/services/findings.ts), on the fake clock: a lasting
 * drift condition is imported once, updated only when it changes and resolved when it goes away;
 * a finding Security Hub refused (a break-glass one above all) is kept and imported again by
 * reconcile with the same content.
 */
import assert from 'node:assert/strict';
import { assignmentKeyId } from '../../core/model';
import * as svc from '../../core/services';
import { ACCOUNTS, PS, POLICY, actor, body, grant, startWorkflow, world } from '../support/core-world';

const rogue = { accountId: ACCOUNTS.dev, permissionSetArn: PS.Admin, userId: 'u-bob' };
const driftId = `jit/drift/${assignmentKeyId(rogue)}`;
const FIVE_MINUTES = 5 * 60_000;

describe('core services: findings are imported once per condition (issue 11, items 3 and 4)', () => {
  it('three sweeps over a lasting drift import it once', async () => {
    const w = world();
    w.assignments.preexisting(rogue);
    for (let i = 0; i < 3; i++) {
      const r = await svc.reconcile(w.deps, {});
      assert.deepEqual(r.drift.map((f) => f.id), [driftId], 'every sweep still reports it');
      w.clock.advance(FIVE_MINUTES);
    }
    assert.equal(w.findings.imports.length, 1);
    assert.equal(w.findings.imports[0]?.resolved, undefined);
  });

  it('a change of the drift (the account renamed in the policy) is one update of the same finding, CreatedAt kept', async () => {
    let policy = POLICY;
    const w = world({ policy: POLICY });
    w.deps.policy = () => policy;
    w.assignments.preexisting(rogue);
    await svc.reconcile(w.deps, {});
    w.clock.advance(FIVE_MINUTES);
    policy = { ...POLICY, accounts: POLICY.accounts.map((a) => (a.id === ACCOUNTS.dev ? { ...a, name: 'dev-renamed' } : a)) };
    await svc.reconcile(w.deps, {});
    w.clock.advance(FIVE_MINUTES);
    await svc.reconcile(w.deps, {});
    assert.equal(w.findings.imports.length, 2);
    const [first, second] = w.findings.imports;
    assert.equal(second?.id, first?.id);
    assert.match(second?.title ?? '', /dev-renamed/);
    assert.equal(second?.createdAt, first?.at, 'CreatedAt is when the condition was first seen');
    assert.notEqual(second?.at, first?.at);
  });

  it('drift that goes away is resolved once (archived), and drift that comes back is a fresh finding', async () => {
    const w = world();
    w.assignments.preexisting(rogue);
    await svc.reconcile(w.deps, {});
    w.clock.advance(FIVE_MINUTES);
    w.assignments.live.delete(assignmentKeyId(rogue));
    await svc.reconcile(w.deps, {});
    w.clock.advance(FIVE_MINUTES);
    await svc.reconcile(w.deps, {});
    assert.deepEqual(w.findings.imports.map((f) => [f.id, f.resolved === true]), [[driftId, false], [driftId, true]]);
    assert.equal(w.findings.findings.get(driftId)?.resolved, true);

    w.clock.advance(FIVE_MINUTES);
    w.assignments.preexisting(rogue);
    await svc.reconcile(w.deps, {});
    const reopened = w.findings.imports[2];
    assert.equal(reopened?.resolved, undefined);
    assert.equal(reopened?.createdAt, reopened?.at, 'a new occurrence starts anew');
  });

  it('a failed listing proves nothing: drift of that account and permission set is not resolved', async () => {
    const w = world();
    w.assignments.preexisting(rogue);
    await svc.reconcile(w.deps, {});
    w.assignments.live.delete(assignmentKeyId(rogue));
    const list = w.assignments.listAssignments.bind(w.assignments);
    w.assignments.listAssignments = async (accountId, ps) => {
      if (accountId === rogue.accountId && ps === rogue.permissionSetArn) throw new Error('ThrottlingException');
      return list(accountId, ps);
    };
    await svc.reconcile(w.deps, {}).catch(() => undefined);
    assert.equal(w.findings.imports.length, 1, 'not resolved while unseen');
  });

  it('a drift finding Security Hub refused is imported again by the next sweep with the same UpdatedAt', async () => {
    const w = world();
    w.assignments.preexisting(rogue);
    w.findings.refuse = () => 'InternalException';
    await svc.reconcile(w.deps, {});
    assert.equal(w.findings.imports.length, 0);
    const kept = await w.deps.findingsState.get(driftId);
    assert.equal(kept?.imported, false);
    assert.equal(kept?.failedAttempts, 1);
    w.findings.refuse = undefined;
    w.clock.advance(FIVE_MINUTES);
    await svc.reconcile(w.deps, {});
    w.clock.advance(FIVE_MINUTES);
    await svc.reconcile(w.deps, {});
    assert.equal(w.findings.imports.length, 1);
    assert.equal(w.findings.imports[0]?.at, kept?.finding.at, 'the same content as the refused import');
    assert.equal((await w.deps.findingsState.get(driftId))?.imported, true);
  });

  it('a refused break-glass finding is not lost: the grant goes on, and reconcile imports it', async () => {
    const w = world();
    w.findings.refuse = (f) => (f.kind === 'break_glass_used' ? 'InvalidInput: AwsAccountId' : undefined);
    const { request } = await svc.submitRequest(w.deps, { actor: actor('frank'), body: body({ breakGlass: true, durationMinutes: 20 }) });
    await startWorkflow(w, request.id);
    assert.equal(await grant(w, request.id), 'ACTIVE');
    const id = `jit/break-glass/${request.id}`;
    assert.equal(w.findings.findings.has(id), false);
    assert.equal((await w.deps.findingsState.get(id))?.imported, false);
    assert.ok(w.notifier.eventsFor(request.id).includes('break_glass_used'), 'the channel alert still goes out');

    // Nothing else to do in this sweep: the refusal fails the invocation (reconcile-Errors) besides the metric.
    await assert.rejects(svc.reconcile(w.deps, {}), /rejected 1 of 1/);
    assert.equal(w.findings.findings.has(id), false, 'still refused');
    assert.equal((await w.deps.findingsState.get(id))?.failedAttempts, 2);
    w.findings.refuse = undefined;
    await svc.reconcile(w.deps, {});
    assert.equal(w.findings.findings.get(id)?.severity, 'CRITICAL');
    assert.equal((await w.deps.findingsState.get(id))?.imported, true);
    await svc.reconcile(w.deps, {});
    assert.equal(w.findings.imports.filter((f) => f.id === id).length, 1, 'imported once');
  });
});

describe('core services: findings when the findings store fails', () => {
  it('a break-glass finding is still imported when it cannot be remembered', async () => {
    const w = world();
    w.deps.findingsState.put = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };
    const { request } = await svc.submitRequest(w.deps, { actor: actor('frank'), body: body({ breakGlass: true, durationMinutes: 20 }) });
    await startWorkflow(w, request.id);
    assert.equal(await grant(w, request.id), 'ACTIVE');
    assert.equal(w.findings.findings.get(`jit/break-glass/${request.id}`)?.severity, 'CRITICAL');
  });
});
