import assert from 'node:assert/strict';
import { IllegalTransitionError } from '../../core/errors';
import { TRANSITIONS, amend, canTransition, stateRefusal, transition, withEvent } from '../../core/lifecycle';
import { REQUEST_STATES, type RequestState, type StoredRequest, SYSTEM_ACTOR, TERMINAL_STATES } from '../../core/model';
import { POLICY, actor } from '../support/core-world';

const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);

function requestIn(state: RequestState): StoredRequest {
  return {
    id: 'req-000000000001',
    clientRequestId: 'client-00000001',
    version: 3,
    state,
    requester: actor('alice'),
    accountId: POLICY.accounts[1]!.id,
    accountName: 'prod',
    permissionSetName: 'PowerUser',
    permissionSetArn: POLICY.permissionSets[1]!.arn,
    requestedDurationSeconds: 1800,
    justification: 'Investigating an incident',
    route: 'approval',
    terms: {
      ruleIds: ['poweruser'],
      maxDurationSeconds: 3600,
      defaultDurationSeconds: 1800,
      maxTotalDurationSeconds: 14400,
      approvalsRequired: 1,
      approverGroups: ['AWS-Approvers'],
      ticketRequired: false,
      ticketPatterns: [],
      breakGlassAllowed: false,
      breakGlassMaxDurationSeconds: 0,
      approvalTimeoutSeconds: 900,
    },
    policyReason: 'Rule poweruser',
    votes: [],
    createdAt: new Date(T0).toISOString(),
    updatedAt: new Date(T0).toISOString(),
    approvalDeadline: new Date(T0 + 900_000).toISOString(),
  };
}

const LEGAL: Array<[RequestState, RequestState]> = [
  ['PENDING_APPROVAL', 'APPROVED'],
  ['PENDING_APPROVAL', 'DENIED'],
  ['PENDING_APPROVAL', 'TIMED_OUT'],
  ['PENDING_APPROVAL', 'CANCELLED'],
  ['PENDING_APPROVAL', 'FAILED'],
  ['APPROVED', 'GRANTING'],
  ['APPROVED', 'FAILED'],
  ['GRANTING', 'ACTIVE'],
  ['GRANTING', 'FAILED'],
  ['ACTIVE', 'REVOKING'],
  ['REVOKING', 'EXPIRED'],
  ['REVOKING', 'REVOKED'],
  ['REVOKING', 'FAILED'],
];

describe('core lifecycle: transition', () => {
  it('the transition table is exactly the documented lifecycle', () => {
    const table = REQUEST_STATES.flatMap((from) => TRANSITIONS[from].map((to) => `${from}->${to}`)).sort();
    assert.deepEqual(table, LEGAL.map(([a, b]) => `${a}->${b}`).sort());
  });

  it('terminal states have no way out', () => {
    for (const s of TERMINAL_STATES) assert.deepEqual(TRANSITIONS[s], [], s);
  });

  describe('every legal transition', () => {
    for (const [from, to] of LEGAL) {
      it(`${from} -> ${to}: bumps the version and emits exactly one audit event with actor, time, states and reason`, () => {
        const current = requestIn(from);
        const { next, events } = transition(current, to, { actor: actor('carol'), now: T0 + 5000, reason: 'because' });
        assert.equal(next.state, to);
        assert.equal(next.version, current.version + 1);
        assert.equal(next.updatedAt, new Date(T0 + 5000).toISOString());
        assert.equal(events.length, 1);
        const e = events[0]!;
        assert.equal(e.requestId, current.id);
        assert.equal(e.action, 'request.transition');
        assert.equal(e.fromState, from);
        assert.equal(e.toState, to);
        assert.equal(e.reason, 'because');
        assert.equal(e.actor.userId, actor('carol').userId);
        assert.equal(e.at, next.updatedAt);
        assert.equal(e.eventId, `${current.id}:v${next.version}:0`);
        assert.equal(current.state, from, 'the input record is not mutated');
      });
    }
  });

  describe('every illegal transition is a typed error', () => {
    for (const from of REQUEST_STATES) {
      for (const to of REQUEST_STATES) {
        if (LEGAL.some(([a, b]) => a === from && b === to)) continue;
        it(`${from} -> ${to} throws IllegalTransitionError`, () => {
          assert.equal(canTransition(from, to), false);
          assert.throws(
            () => transition(requestIn(from), to, { actor: actor('carol'), now: T0, reason: 'x' }),
            (e: unknown) => e instanceof IllegalTransitionError && e.code === 'ILLEGAL_TRANSITION' && e.from === from && e.to === to && e.message.length > 10,
          );
        });
      }
    }
  });

  it('patches travel with the transition (decision fields are set in the same write)', () => {
    const { next } = transition(requestIn('PENDING_APPROVAL'), 'APPROVED', { actor: actor('carol'), now: T0, reason: 'ok', patch: { decidedBy: actor('carol'), decisionReason: 'ok' } });
    assert.equal(next.decidedBy?.userId, actor('carol').userId);
    assert.equal(next.decisionReason, 'ok');
  });

  it('amend audits a change that is not a change of state, and withEvent numbers extra events', () => {
    const change = withEvent(amend(requestIn('ACTIVE'), 'request.extended', { actor: actor('alice'), now: T0, reason: 'more time' }), { actor: actor('alice'), action: 'request.vote', reason: 'extra' });
    assert.equal(change.next.state, 'ACTIVE');
    assert.equal(change.next.version, 4);
    assert.deepEqual(change.events.map((e) => [e.action, e.eventId]), [
      ['request.extended', 'req-000000000001:v4:0'],
      ['request.vote', 'req-000000000001:v4:1'],
    ]);
  });
});

describe('lifecycle: state refusals read naturally for every state', () => {
  const carol = { userId: 'u-carol', userName: 'carol@example.com', displayName: 'Carol Chen' };
  const table: Record<RequestState, string> = {
    PENDING_APPROVAL: 'This request is still waiting for approval.',
    APPROVED: 'This request was already approved by Carol Chen.',
    GRANTING: 'This request is already approved; its access is being granted.',
    ACTIVE: 'This request is already active.',
    REVOKING: "This request's access is already being revoked.",
    EXPIRED: 'This request has expired.',
    REVOKED: 'This request was revoked by Carol Chen.',
    DENIED: 'This request was denied by Carol Chen.',
    TIMED_OUT: 'This request timed out before anyone decided.',
    CANCELLED: 'This request was cancelled by Carol Chen.',
    FAILED: 'This request failed: its access could not be granted.',
  };
  for (const state of REQUEST_STATES) {
    it(`${state}: ${table[state]}`, () => {
      assert.equal(stateRefusal({ state, decidedBy: carol, endedBy: carol }), table[state]);
    });
  }

  it('names nobody when nobody is known, and says "by policy" for an automatic approval (never "by JIT Access (system)")', () => {
    assert.equal(stateRefusal({ state: 'DENIED' }), 'This request was denied.');
    assert.equal(stateRefusal({ state: 'APPROVED', decidedBy: SYSTEM_ACTOR }), 'This request was already approved by policy.');
    assert.equal(stateRefusal({ state: 'REVOKED', endedBy: SYSTEM_ACTOR }), 'This request was revoked.');
  });

  it('an illegal transition from a final state says what happened and what can no longer be done', () => {
    for (const [from, to, text] of [
      ['EXPIRED', 'REVOKED', 'This request has expired. It can no longer be revoked.'],
      ['DENIED', 'APPROVED', 'This request was denied by Carol Chen. It can no longer be approved.'],
      ['PENDING_APPROVAL', 'EXPIRED', 'A request that is waiting for approval cannot expire.'],
    ] as Array<[RequestState, RequestState, string]>) {
      const r: StoredRequest = { ...requestIn(from), decidedBy: { ...carol } };
      assert.throws(() => transition(r, to, { actor: SYSTEM_ACTOR, now: 0, reason: 'test' }), (e: unknown) => e instanceof IllegalTransitionError && e.message === text);
    }
  });
});
