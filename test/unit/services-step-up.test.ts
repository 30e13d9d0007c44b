/**
 * Step-up in core: the bridge's re-check of a voter's (and a break-glass requester's) fresh
 * sign-in against the request's rule, the actor and the clock (core/services/step-up.ts), and the
 * evidence it records on the vote and in the audit trail.
 */
import { strict as assert } from 'node:assert';
import type { StepUpClaims } from '../../core/api';
import { DomainError } from '../../core/errors';
import type { Policy, PolicyRule } from '../../core/policy/types';
import * as svc from '../../core/services';
import { checkStepUp } from '../../core/services/step-up';
import { POLICY, USERS, actor, body, startWorkflow, world } from '../support/core-world';

const TENANT = '00000000-0000-0000-0000-000000000000';
const MFA = { acrs: [], amr: ['mfa'], maxTokenAgeSeconds: 600 };
const C1 = { acrs: ['c1'], amr: [], maxTokenAgeSeconds: 300 };

function policyWith(stepUp: PolicyRule['stepUp'], ruleId = 'admin'): Policy {
  return { ...POLICY, rules: POLICY.rules.map((r) => (r.id === ruleId ? { ...r, stepUp } : r)) };
}

async function pendingAdmin(w: ReturnType<typeof world>): Promise<string> {
  const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ permissionSetName: 'Admin', ticketId: 'INC-1' }) });
  await startWorkflow(w, request.id);
  return request.id;
}

function claims(w: ReturnType<typeof world>, who: keyof typeof USERS, over: Partial<StepUpClaims> = {}): StepUpClaims {
  return { oid: USERS[who].aadObjectId!, tid: TENANT, acrs: [], amr: ['pwd', 'mfa'], iat: Math.floor(w.clock.now() / 1000) - 60, ...over };
}

async function refusal(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('step-up: the bridge re-checks the sign-in that comes with a vote', () => {
  it('a vote without a sign-in on a step-up rule is STEP_UP_REQUIRED and records nothing', async () => {
    const w = world({ policy: policyWith({ approve: MFA }) });
    const id = await pendingAdmin(w);
    const before = await w.requests.get(id);
    const e = await refusal(svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' }));
    assert.equal(e.code, 'STEP_UP_REQUIRED');
    assert.match(e.message, /multi-factor authentication, within the last 10 min/);
    const after = await w.requests.get(id);
    assert.equal(after!.votes.length, 0);
    assert.equal(after!.version, before!.version, 'nothing written');
  });

  it('a deny needs it too: a hijacked Teams session must not be able to block access either', async () => {
    const w = world({ policy: policyWith({ approve: MFA }) });
    const id = await pendingAdmin(w);
    const e = await refusal(svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'deny' }));
    assert.equal(e.code, 'STEP_UP_REQUIRED');
    assert.equal((await w.requests.get(id))!.state, 'PENDING_APPROVAL');
  });

  it('refuses another user\'s sign-in, a stale one, one from the future and one without MFA, recording nothing', async () => {
    const w = world({ policy: policyWith({ approve: MFA }) });
    const id = await pendingAdmin(w);
    const vote = (c: StepUpClaims) => refusal(svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve', stepUp: c }));
    const foreign = await vote(claims(w, 'dan'));
    assert.equal(foreign.code, 'STEP_UP_REJECTED');
    assert.match(foreign.message, /another user/);
    const stale = await vote(claims(w, 'carol', { iat: Math.floor(w.clock.now() / 1000) - 11 * 60 }));
    assert.equal(stale.code, 'STEP_UP_REJECTED');
    assert.match(stale.message, /11 min old.*at most 10 min old/);
    const future = await vote(claims(w, 'carol', { iat: Math.floor(w.clock.now() / 1000) + 3600 }));
    assert.match(future.message, /future/);
    const weak = await vote(claims(w, 'carol', { amr: ['pwd'] }));
    assert.equal(weak.code, 'STEP_UP_REJECTED');
    assert.match(weak.message, /not done with multi-factor authentication \(its amr claim holds pwd\)/);
    const noAmr = await vote(claims(w, 'carol', { amr: [] }));
    assert.match(noAmr.message, /only in v1\.0 access tokens/, 'says why a v2-only tenant never satisfies amr');
    assert.equal((await w.requests.get(id))!.votes.length, 0);
    assert.equal(w.audit.events.filter((e) => e.requestId === id && e.action === 'request.vote').length, 0);
  });

  it('an authentication context rule names the missing context, and says what a tenant without it must set up', async () => {
    const w = world({ policy: policyWith({ approve: C1 }) });
    const id = await pendingAdmin(w);
    const none = await refusal(svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve', stepUp: claims(w, 'carol') }));
    assert.equal(none.code, 'STEP_UP_REJECTED');
    assert.match(none.message, /authentication context c1 \(its acrs claim is missing\)/);
    assert.match(none.message, /Conditional Access policy targets that authentication context/);
    const other = await refusal(svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve', stepUp: claims(w, 'carol', { acrs: ['c2'] }) }));
    assert.match(other.message, /holds only c2/);
  });

  it('a valid sign-in counts: the vote and the audit event carry the evidence, and quorum still needs two', async () => {
    const w = world({ policy: policyWith({ approve: MFA }) });
    const id = await pendingAdmin(w);
    const first = await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve', stepUp: claims(w, 'carol') });
    assert.equal(first.decided, false);
    const iat = Math.floor(w.clock.now() / 1000) - 60;
    assert.deepEqual(first.request.votes[0]!.stepUp, { method: 'amr', values: ['mfa'], tokenIssuedAt: new Date(iat * 1000).toISOString(), tokenAgeSeconds: 60 });
    const second = await svc.castVote(w.deps, { requestId: id, actor: actor('dan'), decision: 'approve', stepUp: claims(w, 'dan', { acrs: ['c1'] }) });
    assert.equal(second.decided, true);
    assert.equal(second.request.state, 'APPROVED');
    const votes = w.audit.events.filter((e) => e.requestId === id && e.action === 'request.vote');
    assert.equal(votes.length, 2);
    for (const v of votes) {
      assert.equal(v.details?.stepUpMethod, 'amr');
      assert.equal(v.details?.stepUpValues, 'mfa');
      assert.equal(v.details?.stepUpTokenAgeSeconds, 60);
    }
  });

  it('a rule without step-up ignores a sign-in that comes anyway (and records none)', async () => {
    const w = world();
    const id = await pendingAdmin(w);
    const r = await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve', stepUp: claims(w, 'carol') });
    assert.equal(r.request.votes[0]!.stepUp, undefined);
  });

  it('the requirement is taken from the request as submitted: a later policy change does not change it', async () => {
    const w = world({ policy: policyWith({ approve: MFA }) });
    const id = await pendingAdmin(w);
    (w.deps as { policy: () => Policy }).policy = () => POLICY;
    const e = await refusal(svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' }));
    assert.equal(e.code, 'STEP_UP_REQUIRED');
  });

  it('break-glass under a rule that asks for step-up: refused without a sign-in, accepted with one, audited', async () => {
    const w = world({ policy: policyWith({ breakGlass: MFA }, 'poweruser') });
    const bg = body({ breakGlass: true });
    const e = await refusal(svc.submitRequest(w.deps, { actor: actor('alice'), body: bg }));
    assert.equal(e.code, 'STEP_UP_REQUIRED');
    assert.match(e.message, /To use break-glass/);
    assert.equal((await w.requests.list({ requesterUserId: USERS.alice.userId })).length, 0, 'no request stored');
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: { ...bg, stepUp: claims(w, 'alice') } });
    assert.equal(request.route, 'break_glass');
    const submitted = w.audit.events.find((x) => x.requestId === request.id && x.action === 'request.submitted') ?? (await w.requests.get(request.id))!.auditOutbox?.find((x) => x.action === 'request.submitted');
    assert.equal(submitted?.details?.stepUpMethod, 'amr');
    // The same rule without break-glass needs no sign-in.
    const normal = await svc.submitRequest(w.deps, { actor: actor('bob'), body: body() });
    assert.equal(normal.request.route, 'approval');
  });

  it('merged rules: every required value adds up and the shortest age wins', () => {
    const claimsOf = (over: Partial<StepUpClaims>): StepUpClaims => ({ oid: USERS.carol.aadObjectId!, tid: TENANT, acrs: [], amr: [], iat: 1000, ...over });
    const req = { acrs: ['c1'], amr: ['mfa'], maxTokenAgeSeconds: 300 };
    const base = { requirement: req, actor: actor('carol'), now: 1_100_000, what: 'vote' };
    assert.throws(() => checkStepUp({ ...base, claims: claimsOf({ acrs: ['c1'] }) }), /multi-factor/);
    assert.throws(() => checkStepUp({ ...base, claims: claimsOf({ amr: ['mfa'] }) }), /c1/);
    assert.deepEqual(checkStepUp({ ...base, claims: claimsOf({ acrs: ['c1'], amr: ['mfa'] }) }), { method: 'acrs', values: ['c1', 'mfa'], tokenIssuedAt: new Date(1_000_000).toISOString(), tokenAgeSeconds: 100 });
  });
});
