import { strict as assert } from 'node:assert';
import * as AC from 'adaptivecards';
import fc from 'fast-check';
import {
  ALL_CARD_VERBS,
  STATIC_ACCOUNT_CHOICES_MAX,
  TEAMS_CARD_MAX_BYTES,
  accountSearchResults,
  approvalCard,
  cardActionSchemas,
  cardByteSize,
  findingsCard,
  helpCard,
  messageCard,
  requestFormCard,
  requestListCard,
  requesterCard,
  welcomeCard,
  type AdaptiveCard,
  type CardVerb,
} from '../../cards';
import type { FindingView } from '../../contract/notify';
import type { EligibilityResponse } from '../../core/api';
import { REQUEST_STATES, type AccessRequest, type Actor, type RequestState } from '../../core/model';
import { resourceLabel } from '../../cards/render';
import { cardViolation, malformedDateTimeFunction } from '../support/connector-recorder';

// ------------------------------------------------------------------------------------------------
// fixtures

const NOW = '2030-05-01T10:30:00.000Z';
const alice: Actor = { userId: 'u-alice', aadObjectId: 'aad-alice', userName: 'alice@example.com', displayName: 'Alice Example' };
const bob: Actor = { userId: 'u-bob', aadObjectId: 'aad-bob', userName: 'bob@example.com', displayName: 'Bob Approver' };
const carol: Actor = { userId: 'u-carol', aadObjectId: 'aad-carol', userName: 'carol@example.com', displayName: 'Carol Approver' };
const APPROVERS = ['29:bob', '29:carol'];
const PORTAL = 'https://d-0000000000.awsapps.com/start';

function makeRequest(state: RequestState, over: Partial<AccessRequest> = {}): AccessRequest {
  const base: AccessRequest = {
    id: 'req-01HZX0000000000000',
    clientRequestId: 'client-req-0001',
    version: 4,
    state,
    requester: alice,
    accountId: '111111111111',
    accountName: 'Payments Prod',
    permissionSetName: 'AdministratorAccess',
    permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-0000000000000000',
    requestedDurationSeconds: 3600,
    justification: 'Investigate INC-1234: payment API 5xx spike',
    ticketId: 'INC-1234',
    route: 'approval',
    terms: {
      ruleIds: ['prod-admins'],
      maxDurationSeconds: 4 * 3600,
      defaultDurationSeconds: 3600,
      maxTotalDurationSeconds: 8 * 3600,
      approvalsRequired: 2,
      approverGroups: ['oncall'],
      ticketRequired: true,
      ticketPatterns: ['^INC-\\d+$'],
      breakGlassAllowed: true,
      breakGlassMaxDurationSeconds: 3600,
      approvalTimeoutSeconds: 3600,
    },
    policyReason: 'rule prod-admins: 2 approvals from oncall',
    votes: [],
    createdAt: '2030-05-01T10:00:00.000Z',
    updatedAt: '2030-05-01T10:00:00.000Z',
    approvalDeadline: '2030-05-01T11:00:00.000Z',
  };
  const decided = { decidedAt: '2030-05-01T10:10:00.000Z', decidedBy: carol, votes: [{ approver: bob, decision: 'approve' as const, at: '2030-05-01T10:05:00.000Z' }, { approver: carol, decision: 'approve' as const, reason: 'looks right', at: '2030-05-01T10:10:00.000Z' }] };
  const grant = { grant: { startsAt: '2030-05-01T10:11:00.000Z', endsAt: '2030-05-01T11:11:00.000Z', totalSeconds: 3600, extensions: 0 } };
  const byState: Record<RequestState, Partial<AccessRequest>> = {
    PENDING_APPROVAL: { votes: [{ approver: bob, decision: 'approve', reason: 'fine by me', at: '2030-05-01T10:05:00.000Z' }] },
    APPROVED: decided,
    GRANTING: decided,
    ACTIVE: { ...decided, ...grant },
    REVOKING: { ...decided, ...grant, endedAt: '2030-05-01T10:40:00.000Z', endedBy: alice, endReason: 'done early' },
    EXPIRED: { ...decided, ...grant, endedAt: '2030-05-01T11:11:00.000Z', endedBy: { userId: 'system', userName: 'system', displayName: 'JIT Access (system)' } },
    REVOKED: { ...decided, ...grant, endedAt: '2030-05-01T10:40:00.000Z', endedBy: alice, endReason: 'done early' },
    DENIED: { decidedAt: '2030-05-01T10:06:00.000Z', decidedBy: bob, decisionReason: 'use read-only', votes: [{ approver: bob, decision: 'deny', reason: 'use read-only', at: '2030-05-01T10:06:00.000Z' }] },
    TIMED_OUT: { endedAt: '2030-05-01T11:00:00.000Z' },
    CANCELLED: { endedAt: '2030-05-01T10:03:00.000Z', endedBy: alice, endReason: 'not needed' },
    FAILED: { ...decided, endedAt: '2030-05-01T10:12:00.000Z', failureReason: 'CreateAccountAssignment failed: permission set not provisioned' },
  };
  return { ...base, ...byState[state], ...over };
}

const eligibility: EligibilityResponse = {
  user: { userId: 'u-alice', userName: 'alice@example.com', displayName: 'Alice Example' },
  accounts: [
    {
      id: '111111111111',
      name: 'Payments Prod',
      permissionSets: [
        { name: 'AdministratorAccess', maxDurationMinutes: 240, defaultDurationMinutes: 60, approvalsRequired: 2, ticketRequired: true, breakGlassAllowed: true },
        { name: 'ReadOnly', maxDurationMinutes: 480, defaultDurationMinutes: 120, approvalsRequired: 0, ticketRequired: false, breakGlassAllowed: false },
      ],
    },
    {
      id: '222222222222',
      name: 'Payments Dev',
      permissionSets: [{ name: 'ReadOnly', maxDurationMinutes: 480, defaultDurationMinutes: 120, approvalsRequired: 0, ticketRequired: false, breakGlassAllowed: false }],
    },
  ],
  total: 2,
};

const formInput = (over: Partial<Parameters<typeof requestFormCard>[0]> = {}) => ({ eligibility, clientRequestId: 'client-req-0001', searchDataset: 'aws.accounts', ...over });

// ------------------------------------------------------------------------------------------------
// card inspection helpers

type Node = Record<string, unknown>;

/** Every object in the card (elements, inlines, actions, choices), depth first. */
function nodes(card: unknown): Node[] {
  const out: Node[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      out.push(v as Node);
      Object.values(v).forEach(walk);
    }
  };
  walk(card);
  return out;
}
const ofType = (card: unknown, type: string) => nodes(card).filter((n) => n.type === type);
const executes = (card: unknown) => ofType(card, 'Action.Execute');
const verbs = (card: AdaptiveCard) => executes({ body: card.body, actions: card.actions }).map((a) => a.verb as string);
const inputById = (card: unknown, id: string) => nodes(card).find((n) => typeof n.type === 'string' && (n.type as string).startsWith('Input.') && n.id === id);
/** The text a viewer sees in plain runs (no markdown processing). */
const runText = (card: unknown) => ofType(card, 'TextRun').map((r) => r.text as string).join('\n');
/** Text that goes through the markdown renderer. */
const markdownText = (card: unknown) => [...ofType(card, 'TextBlock').map((t) => t.text as string), ...nodes(card).filter((n) => n.title !== undefined && n.value !== undefined && !('type' in n)).map((f) => `${f.title} ${f.value}`)].join('\n');
const allText = (card: unknown) => JSON.stringify(card);

/** Validates with the Adaptive Cards SDK itself: parse warnings and property validation. */
function validate(card: AdaptiveCard): string[] {
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  const parsed = new AC.AdaptiveCard();
  parsed.parse(card, context);
  const problems: string[] = [];
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    // Teams supports dynamic typeahead (choices.data) on 1.5 cards; the SDK dates it to 1.6.
    if (e.event === AC.ValidationEvent.UnsupportedProperty && /"choices\.data"/.test(e.message)) continue;
    problems.push(`parse: ${e.message}`);
  }
  for (const e of parsed.validateProperties().validationEvents) problems.push(`validate: ${e.message}`);
  return problems;
}

/**
 * Simulates a click the way Teams sends it: the action's data merged with the card's input values
 * (as strings), unless the action opts out of inputs.
 */
function submitted(card: AdaptiveCard, action: Node): unknown {
  const data: Record<string, unknown> = { ...(action.data as object) };
  if (action.associatedInputs === 'none') return data;
  for (const n of nodes(card)) {
    if (typeof n.type === 'string' && n.type.startsWith('Input.') && typeof n.id === 'string') {
      const fallback = n.type === 'Input.Number' ? '30' : n.type === 'Input.Text' ? 'a sufficiently long text' : n.type === 'Input.Toggle' ? 'false' : '';
      const value = n.value ?? (n.type === 'Input.ChoiceSet' ? (n.choices as Array<{ value: string }> | undefined)?.[0]?.value : fallback);
      data[n.id] = String(value ?? '');
    }
  }
  return data;
}

function assertWellFormed(card: AdaptiveCard, label: string) {
  assert.equal(card.type, 'AdaptiveCard', label);
  assert.equal(card.version, '1.5', label);
  assert.deepEqual(validate(card), [], `${label}: the Adaptive Cards SDK reports problems`);
  assert.equal(ofType(card, 'Action.Submit').length, 0, `${label}: Action.Submit is not allowed`);
  for (const v of verbs(card)) assert.ok((ALL_CARD_VERBS as readonly string[]).includes(v), `${label}: unknown verb ${v}`);
  assert.ok(cardByteSize(card) < TEAMS_CARD_MAX_BYTES, `${label}: ${cardByteSize(card)} bytes`);
  assert.deepEqual(JSON.parse(JSON.stringify(card)), card, `${label}: not plain JSON`);
  assert.equal(malformedDateTimeFunction(card), undefined, `${label}: a DATE/TIME function Teams would show raw`);
  assert.equal(cardViolation(card), undefined, `${label}: the Teams stand-in refuses it`);
}

/** The timestamps of the card's DATE functions, one per time shown. */
const datesShown = (card: unknown) => [...allText(card).matchAll(/\{\{DATE\(([^,)]+)/g)].map((m) => m[1]!);

function assertNoUnboundTemplate(card: AdaptiveCard, label: string) {
  assert.ok(!allText(card).includes('${'), `${label}: an unbound template expression was left in the card`);
}

function assertButtonsSubmitValidData(card: AdaptiveCard, label: string) {
  for (const action of executes(card)) {
    const verb = action.verb as CardVerb;
    const result = cardActionSchemas[verb].safeParse(submitted(card, action));
    assert.ok(result.success, `${label}: ${verb} submits data its schema rejects: ${JSON.stringify(result.error?.issues)}`);
  }
  // A refresh action is a click too.
  if (card.refresh) assert.ok(cardActionSchemas[card.refresh.action.verb as CardVerb].safeParse(card.refresh.action.data).success, `${label}: refresh data`);
}

// ------------------------------------------------------------------------------------------------

describe('cards: approval card (on-call channel)', () => {
  for (const state of REQUEST_STATES) {
    for (const viewerIsApprover of [true, false]) {
      it(`${state}, viewer ${viewerIsApprover ? 'is' : 'is not'} an approver: valid, refreshes for approvers, buttons only while a vote can be cast`, () => {
        const request = makeRequest(state);
        const card = approvalCard(request, { approverUserIds: APPROVERS, viewerIsApprover, now: NOW });
        const label = `approval ${state} ${viewerIsApprover}`;
        assertWellFormed(card, label);
        assertNoUnboundTemplate(card, label);
        assertButtonsSubmitValidData(card, label);
        assert.deepEqual(card.refresh, { action: { type: 'Action.Execute', verb: 'approval.refresh', data: { requestId: request.id } }, userIds: APPROVERS });
        const canVote = state === 'PENDING_APPROVAL' && viewerIsApprover;
        assert.equal(verbs(card).includes('approval.approve'), canVote);
        assert.equal(verbs(card).includes('approval.deny'), canVote);
        assert.equal(Boolean(inputById(card, 'reason')), canVote);
        for (const owned of ['request.cancel', 'grant.revoke', 'grant.extend']) assert.ok(!verbs(card).includes(owned), `${owned} belongs on the requester's card`);
        const text = allText(card);
        for (const shown of ['Alice Example', 'Payments Prod', '111111111111', 'AdministratorAccess', '1 h', 'INC-1234', 'Investigate INC-1234', 'prod-admins', 'rule prod-admins: 2 approvals from oncall']) assert.ok(text.includes(shown), `${label}: missing ${shown}`);
      });
    }
  }

  it('approve/deny carry the request id and version (for stale-card detection), and never an actor or a task token', () => {
    const card = approvalCard(makeRequest('PENDING_APPROVAL', { version: 7 }), { approverUserIds: APPROVERS, viewerIsApprover: true, now: NOW });
    for (const verb of ['approval.approve', 'approval.deny']) {
      const action = executes(card).find((a) => a.verb === verb)!;
      assert.deepEqual(action.data, { requestId: 'req-01HZX0000000000000', version: 7 });
    }
    assert.ok(!/token|actor|userId|aadObjectId/i.test(JSON.stringify(executes(card).map((a) => a.data))));
  });

  it('shows votes so far as N of M and the deadline while pending', () => {
    const card = approvalCard(makeRequest('PENDING_APPROVAL'), { approverUserIds: APPROVERS, viewerIsApprover: false, now: NOW });
    const text = allText(card);
    assert.match(text, /1 of 2 approvals/);
    assert.match(text, /Bob Approver/);
    assert.match(text, /fine by me/);
    // The deadline once: relative, then the viewer's local date and time (no second, UTC copy).
    assert.match(runText(card), /^1 of 2 approvals, deadline in 30 min\n · \{\{DATE\(2030-05-01T11:00:00Z, COMPACT\)\}\} \{\{TIME\(2030-05-01T11:00:00Z\)\}\}$/m);
    assert.doesNotMatch(text, /UTC\)/);
  });

  const finalStates: Array<[RequestState, RegExp]> = [
    ['APPROVED', /Approved by Carol Approver \(carol@example\.com\)/],
    ['ACTIVE', /Active, ends in 41 min\n · \{\{DATE\(2030-05-01T11:11:00Z, COMPACT\)\}\} \{\{TIME\(2030-05-01T11:11:00Z\)\}\}/],
    ['DENIED', /Denied by Bob Approver \(bob@example\.com\): use read-only/],
    ['TIMED_OUT', /Timed out: no decision before the deadline/],
    ['CANCELLED', /Cancelled by Alice Example \(alice@example\.com\): not needed/],
    ['REVOKED', /Revoked by Alice Example \(alice@example\.com\): done early/],
    ['EXPIRED', /Expired: access was removed/],
    ['FAILED', /Failed: CreateAccountAssignment failed: permission set not provisioned/],
  ];
  for (const [state, expected] of finalStates) {
    it(`after the decision everyone sees who and when: ${state}`, () => {
      for (const viewerIsApprover of [true, false]) {
        const card = approvalCard(makeRequest(state), { approverUserIds: APPROVERS, viewerIsApprover, now: NOW });
        assert.match(runText(card), expected);
        assert.match(runText(card), /\{\{DATE\(2030-05-01T\d\d:\d\d:00Z, COMPACT\)\}\} \{\{TIME\(2030-05-01T\d\d:\d\d:00Z\)\}\}/);
      }
    });
  }

  it('a revoked or expired grant whose live sessions were ended says so, on both cards', () => {
    const sessionsEnded = { permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111', accountId: '222222222222', userId: 'u-alice', cutoff: '2030-05-01T10:40:01Z', at: '2030-05-01T10:40:09.000Z' };
    for (const state of ['REVOKED', 'EXPIRED'] as const) {
      const request = { ...makeRequest(state), sessionsEnded };
      assert.match(runText(approvalCard(request, { approverUserIds: APPROVERS, viewerIsApprover: true, now: NOW })), /Sessions already signed in were ended \(every session issued before 10:40:01 UTC is denied\)/);
      assert.match(runText(requesterCard(request, { now: NOW })), /Sessions already signed in were ended/);
      assert.doesNotMatch(runText(approvalCard(makeRequest(state), { approverUserIds: APPROVERS, viewerIsApprover: true, now: NOW })), /Sessions already signed in/);
    }
  });

  it('limits refresh.userIds to 60 distinct ids, and omits refresh when there is nobody to refresh for', () => {
    const many = Array.from({ length: 90 }, (_, i) => `29:user-${i % 75}`);
    const card = approvalCard(makeRequest('PENDING_APPROVAL'), { approverUserIds: many, viewerIsApprover: false, now: NOW });
    assert.equal(card.refresh?.userIds.length, 60);
    assert.equal(new Set(card.refresh?.userIds).size, 60);
    assert.equal(approvalCard(makeRequest('PENDING_APPROVAL'), { approverUserIds: [], viewerIsApprover: false, now: NOW }).refresh, undefined);
  });

  it('phone first: the request is a FactSet, each time is shown once (in the viewer\'s zone, no UTC copy), the policy once', () => {
    for (const state of REQUEST_STATES) {
      for (const card of [approvalCard(makeRequest(state), { approverUserIds: APPROVERS, viewerIsApprover: true, now: NOW }), requesterCard(makeRequest(state), { now: NOW, accessPortalUrl: PORTAL })]) {
        const facts = ofType(card, 'FactSet').flatMap((f) => f.facts as Array<{ title: string; value: string }>);
        assert.deepEqual(facts.map((f) => f.title).filter((t) => t !== 'Requester'), ['Account', 'Role', 'Ticket', 'Policy', 'Requested', 'Id'], state);
        const dates = datesShown(card);
        assert.deepEqual(dates, [...new Set(dates)], `${state}: a time shown twice: ${dates.join(', ')}`);
        assert.doesNotMatch(allText(card), /UTC\)/, `${state}: no second, UTC copy of a time`);
        assert.equal(allText(card).split('prod-admins').length - 1, 1, `${state}: the rule is named once`);
        assert.equal(facts.find((f) => f.title === 'Policy')!.value, 'rule prod-admins: 2 approvals from oncall');
      }
    }
    // The core's wording ("Rule x: …") is not prefixed with the rule again; a reason that does not name it is.
    const core = makeRequest('PENDING_APPROVAL', { terms: { ...makeRequest('PENDING_APPROVAL').terms, ruleIds: ['poweruser-one-approval'] }, policyReason: 'Rule poweruser-one-approval: 1 approval from AWS-Approvers' });
    const policyOf = (r: AccessRequest) => ofType(approvalCard(r, { approverUserIds: APPROVERS, viewerIsApprover: false, now: NOW }), 'FactSet').flatMap((f) => f.facts as Array<{ title: string; value: string }>).find((f) => f.title === 'Policy')!.value;
    assert.equal(policyOf(core), 'Rule poweruser-one-approval: 1 approval from AWS-Approvers');
    assert.equal(policyOf({ ...core, policyReason: '1 approval from AWS-Approvers' }), 'Rule poweruser-one-approval: 1 approval from AWS-Approvers');
    // A stored time with milliseconds becomes an RFC 3339 time with whole seconds (the clients' DATE/TIME take no fraction).
    assert.deepEqual(datesShown(approvalCard(makeRequest('PENDING_APPROVAL', { createdAt: '2030-05-01T10:00:00.123Z' }), { approverUserIds: APPROVERS, viewerIsApprover: false, now: NOW })), ['2030-05-01T11:00:00Z', '2030-05-01T10:00:00Z', '2030-05-01T10:05:00Z']);
  });

  it('sandbox votes: only when the sandbox gives them, only while a vote can be cast, clearly labelled, with the person and decision as data', () => {
    const sandboxActions = [
      { person: 'carol', name: 'Carol', decision: 'approve' as const },
      { person: 'dan', name: 'Dan', decision: 'deny' as const },
      { person: 'erin', name: 'Erin', decision: 'approve' as const },
    ];
    for (const state of REQUEST_STATES) {
      const without = approvalCard(makeRequest(state), { approverUserIds: APPROVERS, viewerIsApprover: true, now: NOW });
      assert.ok(!verbs(without).includes('sandbox.act'), `${state}: no sandbox buttons unless the sandbox gives them`);
      assert.doesNotMatch(allText(without), /Sandbox/);
      const card = approvalCard(makeRequest(state), { approverUserIds: APPROVERS, viewerIsApprover: false, now: NOW, sandboxActions });
      assertWellFormed(card, `sandbox ${state}`);
      assertButtonsSubmitValidData(card, `sandbox ${state}`);
      const buttons = executes(card).filter((a) => a.verb === 'sandbox.act');
      if (state !== 'PENDING_APPROVAL') {
        assert.equal(buttons.length, 0, `${state}: nothing to vote on`);
        continue;
      }
      assert.deepEqual(buttons.map((b) => b.title), ['Sandbox: approve as Carol', 'Sandbox: deny as Dan', 'Sandbox: approve as Erin']);
      assert.deepEqual(buttons.map((b) => b.data), sandboxActions.map((a) => ({ requestId: 'req-01HZX0000000000000', person: a.person, decision: a.decision })));
      assert.ok(buttons.every((b) => b.associatedInputs === 'none'));
      assert.match(allText(card), /Sandbox only: vote as a demo person/);
    }
    const breakGlass = approvalCard(makeRequest('PENDING_APPROVAL', { route: 'break_glass' }), { approverUserIds: APPROVERS, viewerIsApprover: false, now: NOW, sandboxActions });
    assert.ok(!verbs(breakGlass).includes('sandbox.act'), 'break-glass has no vote');
  });

  it('the deciding vote is not repeated under the status line; a quorum\'s other votes are', () => {
    const denied = approvalCard(makeRequest('DENIED'), { approverUserIds: APPROVERS, viewerIsApprover: false, now: NOW });
    assert.equal(runText(denied).split('use read-only').length - 1, 1, 'the reason once');
    const approved = approvalCard(makeRequest('APPROVED', { decisionReason: 'looks right' }), { approverUserIds: APPROVERS, viewerIsApprover: false, now: NOW });
    assert.equal(runText(approved).split('looks right').length - 1, 1, 'Carol\'s deciding vote once');
    assert.match(runText(approved), /Approved\n by Bob Approver \(bob@example\.com\)/, 'Bob\'s vote, which decided nothing alone, is listed');
    assert.match(allText(approved), /Other votes/);
  });

  describe('break-glass', () => {
    const breakGlass = (state: RequestState, over: Partial<AccessRequest> = {}) =>
      makeRequest(state, { route: 'break_glass', votes: [], decidedBy: undefined, decidedAt: undefined, ...over });

    it('has a red banner in every state', () => {
      for (const state of REQUEST_STATES) {
        const card = approvalCard(breakGlass(state), { approverUserIds: APPROVERS, viewerIsApprover: false, now: NOW });
        const banner = card.body[0]!;
        assert.equal(banner.style, 'attention');
        assert.match(JSON.stringify(banner), /BREAK-GLASS ACCESS/);
      }
    });

    it('offers approvers review.acknowledge after the grant until a review is recorded', () => {
      const active = breakGlass('ACTIVE');
      const forApprover = approvalCard(active, { approverUserIds: APPROVERS, viewerIsApprover: true, now: NOW });
      assert.ok(verbs(forApprover).includes('review.acknowledge'));
      assert.ok(!verbs(forApprover).includes('approval.approve'), 'nothing to approve on break-glass');
      assert.ok(inputById(forApprover, 'reviewNote'));
      assertButtonsSubmitValidData(forApprover, 'break-glass ack');
      assert.ok(verbs(approvalCard(breakGlass('EXPIRED'), { approverUserIds: APPROVERS, viewerIsApprover: true, now: NOW })).includes('review.acknowledge'));
      assert.ok(!verbs(approvalCard(active, { approverUserIds: APPROVERS, viewerIsApprover: false, now: NOW })).includes('review.acknowledge'));
      assert.ok(!verbs(approvalCard(breakGlass('PENDING_APPROVAL', { grant: undefined }), { approverUserIds: APPROVERS, viewerIsApprover: true, now: NOW })).includes('review.acknowledge'));
      const reviewed = approvalCard(breakGlass('ACTIVE', { review: { acknowledgedBy: bob, at: '2030-05-01T10:20:00.000Z', note: 'pager incident P1-42' } }), { approverUserIds: APPROVERS, viewerIsApprover: true, now: NOW });
      assert.ok(!verbs(reviewed).includes('review.acknowledge'));
      assert.match(runText(reviewed), /Post-incident review acknowledged by Bob Approver \(bob@example\.com\): pager incident P1-42/);
    });
  });
});

describe('cards: requester card (1:1 chat)', () => {
  for (const state of REQUEST_STATES) {
    it(`${state}: valid, with exactly the buttons the requester can use`, () => {
      const card = requesterCard(makeRequest(state), { now: NOW, accessPortalUrl: PORTAL });
      const label = `requester ${state}`;
      assertWellFormed(card, label);
      assertNoUnboundTemplate(card, label);
      assertButtonsSubmitValidData(card, label);
      assert.equal(card.refresh, undefined);
      assert.equal(verbs(card).includes('request.cancel'), state === 'PENDING_APPROVAL');
      assert.equal(verbs(card).includes('grant.revoke'), state === 'ACTIVE');
      assert.equal(verbs(card).includes('grant.extend'), state === 'ACTIVE');
      assert.equal(ofType(card, 'Action.OpenUrl').length, state === 'ACTIVE' ? 1 : 0);
      for (const approverOnly of ['approval.approve', 'approval.deny', 'review.acknowledge']) assert.ok(!verbs(card).includes(approverOnly));
    });
  }

  it('pending: shows votes so far and lets the requester cancel (without sending any input)', () => {
    const card = requesterCard(makeRequest('PENDING_APPROVAL'), { now: NOW });
    assert.match(runText(card), /Waiting for an approver in the on-call channel: 1 of 2 approvals, deadline in 30 min/);
    const cancel = executes(card).find((a) => a.verb === 'request.cancel')!;
    assert.deepEqual(cancel.data, { requestId: 'req-01HZX0000000000000' });
    assert.equal(cancel.associatedInputs, 'none');
  });

  it('approved and denied: says who and why', () => {
    assert.match(runText(requesterCard(makeRequest('APPROVED'), { now: NOW })), /Approved by Carol Approver \(carol@example\.com\)/);
    assert.match(runText(requesterCard(makeRequest('DENIED'), { now: NOW })), /Denied by Bob Approver \(bob@example\.com\): use read-only/);
    assert.match(runText(requesterCard(makeRequest('APPROVED', { route: 'auto_approve', decidedBy: undefined }), { now: NOW })), /Approved automatically by policy/);
  });

  it('active: expiry time in local and ISO form, how to sign in, portal link, revoke and extend', () => {
    const card = requesterCard(makeRequest('ACTIVE'), { now: NOW, accessPortalUrl: PORTAL });
    assert.match(runText(card), /Active, ends in 41 min\n · \{\{DATE\(2030-05-01T11:11:00Z, COMPACT\)\}\} \{\{TIME\(2030-05-01T11:11:00Z\)\}\}/);
    assert.match(runText(card), /Sign in at the AWS access portal: account Payments Prod \(111111111111\), role AdministratorAccess/);
    assert.equal(ofType(card, 'Action.OpenUrl')[0]!.url, PORTAL);
    const extend = inputById(card, 'additionalMinutes')!;
    // 8 h total allowed, 1 h used.
    assert.equal(extend.max, 7 * 60);
    assert.equal(extend.min, 1);
    assert.equal(executes(card).find((a) => a.verb === 'grant.extend')!.style, 'default');
    assert.equal(executes(card).find((a) => a.verb === 'grant.revoke')!.associatedInputs, 'none');
  });

  it('active and expiring soon: a warning banner and an emphasized Extend', () => {
    const card = requesterCard(makeRequest('ACTIVE'), { now: '2030-05-01T11:01:00.000Z', expiringSoon: true });
    assert.match(allText(card.body[0]), /Your access expires soon \(in 10 min\)/);
    assert.equal(executes(card).find((a) => a.verb === 'grant.extend')!.style, 'positive');
    assert.match(runText(card), /ask your administrator for its address/, 'no portal configured');
  });

  it('active at the total limit: no Extend, an explanation instead', () => {
    const atLimit = makeRequest('ACTIVE', { grant: { startsAt: '2030-05-01T03:00:00.000Z', endsAt: '2030-05-01T11:00:00.000Z', totalSeconds: 8 * 3600, extensions: 3 } });
    const card = requesterCard(atLimit, { now: NOW, expiringSoon: true });
    assert.ok(!verbs(card).includes('grant.extend'));
    assert.equal(inputById(card, 'additionalMinutes'), undefined);
    assert.match(allText(card), /reached the policy's total time limit/);
    assert.ok(verbs(card).includes('grant.revoke'));
  });

  it('drops a portal link that is not http(s)', () => {
    const card = requesterCard(makeRequest('ACTIVE'), { now: NOW, accessPortalUrl: 'javascript:alert(1)' });
    assert.equal(ofType(card, 'Action.OpenUrl').length, 0);
  });
});

describe('cards: request form', () => {
  /** `n` eligible accounts, each with ReadOnly. */
  const manyAccounts = (n: number, total = n): EligibilityResponse => ({
    ...eligibility,
    accounts: Array.from({ length: n }, (_, i) => ({
      id: String(100000000000 + i),
      name: `Account ${String(i).padStart(2, '0')}`,
      permissionSets: [{ name: 'ReadOnly', maxDurationMinutes: 480, defaultDurationMinutes: 120, approvalsRequired: 0, ticketRequired: false, breakGlassAllowed: false }],
    })),
    total,
  });

  it(`account chooser: up to ${STATIC_ACCOUNT_CHOICES_MAX} eligible accounts are a plain dropdown of static choices, with no Data.Query`, () => {
    const card = requestFormCard(formInput());
    assertWellFormed(card, 'form');
    assertNoUnboundTemplate(card, 'form');
    assertButtonsSubmitValidData(card, 'form');
    const account = inputById(card, 'accountId')!;
    assert.equal(account.type, 'Input.ChoiceSet');
    assert.equal(account.style, 'compact');
    assert.equal(account['choices.data'], undefined, 'no typeahead for a short list');
    assert.equal(account.label, 'AWS account');
    assert.deepEqual(account.choices, [
      { title: 'Payments Prod (111111111111)', value: '111111111111' },
      { title: 'Payments Dev (222222222222)', value: '222222222222' },
    ]);
    assert.equal(account.value, undefined, 'among several accounts none is preselected');
    assert.equal(account.isRequired, true);
    assert.equal(ofType(card, 'Input.ChoiceSet').filter((c) => c.id === 'accountId').length, 1, 'exactly one account input');

    const atThreshold = inputById(requestFormCard(formInput({ eligibility: manyAccounts(STATIC_ACCOUNT_CHOICES_MAX) })), 'accountId')!;
    assert.equal(atThreshold['choices.data'], undefined);
    assert.equal((atThreshold.choices as unknown[]).length, STATIC_ACCOUNT_CHOICES_MAX, 'every account is offered');
  });

  it(`account chooser: above ${STATIC_ACCOUNT_CHOICES_MAX} accounts (or when the page does not hold them all), a typeahead on the search dataset with the first page as choices`, () => {
    for (const e of [manyAccounts(STATIC_ACCOUNT_CHOICES_MAX + 1), manyAccounts(3, 40)]) {
      const card = requestFormCard(formInput({ eligibility: e }));
      assertWellFormed(card, 'form typeahead');
      assertNoUnboundTemplate(card, 'form typeahead');
      assertButtonsSubmitValidData(card, 'form typeahead');
      const account = inputById(card, 'accountId')!;
      assert.equal(account.style, 'filtered');
      assert.deepEqual(account['choices.data'], { type: 'Data.Query', dataset: 'aws.accounts', count: 15 });
      assert.match(account.label as string, /type to search/);
      assert.equal((account.choices as unknown[]).length, Math.min(e.accounts.length, 15));
      assert.equal(account.value, undefined);
    }
  });

  it('one eligible account (and one permission set): both preselected, the duration at the set\'s default', () => {
    const only = { ...eligibility, accounts: [eligibility.accounts[1]!], total: 1 };
    const card = requestFormCard(formInput({ eligibility: only }));
    assertButtonsSubmitValidData(card, 'form one account');
    assert.equal(inputById(card, 'accountId')!.value, '222222222222');
    assert.equal(inputById(card, 'permissionSetName')!.value, 'ReadOnly');
    assert.equal(inputById(card, 'durationMinutes')!.value, 120);
  });

  it('without an account: every eligible permission set, labelled with its account count; none preselected; a duration valid for each', () => {
    const card = requestFormCard(formInput());
    const sets = inputById(card, 'permissionSetName')!.choices as Array<{ title: string; value: string }>;
    assert.deepEqual(sets.map((s) => s.value), ['AdministratorAccess', 'ReadOnly']);
    assert.match(sets[0]!.title, /AdministratorAccess \(1 account; up to 4 h, 2 approvals\)/);
    assert.match(sets[1]!.title, /ReadOnly \(2 accounts; up to 8 h, no approval\)/);
    assert.equal(inputById(card, 'permissionSetName')!.value, undefined, 'which privilege to ask for is the requester\'s choice');
    const duration = inputById(card, 'durationMinutes')!;
    assert.equal(duration.max, 480, 'the client check lets through the largest maximum on offer');
    assert.equal(duration.value, 60, 'the smallest default on offer: valid for AdministratorAccess (at most 240) and ReadOnly (480)');
    assert.match(duration.label as string, /each permission set's maximum is in its name/);
  });

  it('with an account selected: only that account\'s permission sets, the account preselected, policy limits on duration and ticket', () => {
    const card = requestFormCard(formInput({ selectedAccountId: '222222222222' }));
    const account = inputById(card, 'accountId')!;
    assert.equal(account.value, '222222222222');
    assert.deepEqual((account.choices as Array<{ value: string }>).map((c) => c.value), ['111111111111', '222222222222'], 'a static list keeps its order');
    assert.deepEqual((inputById(card, 'permissionSetName')!.choices as Array<{ value: string }>).map((c) => c.value), ['ReadOnly']);
    assert.equal(inputById(card, 'permissionSetName')!.value, 'ReadOnly', 'the only set is preselected');
    assert.equal(inputById(card, 'durationMinutes')!.value, 120, 'its default');
    assert.equal(inputById(card, 'breakGlass'), undefined, 'no break-glass where no eligible set allows it');
    assert.equal(inputById(card, 'ticketId')!.isRequired, false);

    const prod = requestFormCard(formInput({ selectedAccountId: '111111111111', selectedPermissionSet: 'AdministratorAccess' }));
    const duration = inputById(prod, 'durationMinutes')!;
    assert.deepEqual([duration.min, duration.max, duration.value], [1, 480, 60]);
    assert.match(duration.label as string, /at most 240 = 4 h for AdministratorAccess/);
    const ticket = inputById(prod, 'ticketId')!;
    assert.equal(ticket.isRequired, true);
    assert.match(ticket.label as string, /required; its format is checked/);
    assert.equal(inputById(prod, 'breakGlass')!.type, 'Input.Toggle');
  });

  it('the preselected duration is the selected set\'s default, never above the smallest maximum on offer (no client-side recompute in 1.5)', () => {
    const sets = (over: Array<[string, number, number]>): EligibilityResponse => ({
      ...eligibility,
      accounts: [{ id: '111111111111', name: 'Payments Prod', permissionSets: over.map(([name, defaultDurationMinutes, maxDurationMinutes]) => ({ name, defaultDurationMinutes, maxDurationMinutes, approvalsRequired: 0, ticketRequired: false, breakGlassAllowed: false })) }],
      total: 1,
    });
    // The issue's case: ReadOnly at most 5, PowerUser default 10: nothing preselected may exceed 5.
    const demo = sets([['ReadOnly', 2, 5], ['PowerUser', 10, 10]]);
    const value = (o: Partial<Parameters<typeof requestFormCard>[0]>) => inputById(requestFormCard(formInput({ eligibility: demo, ...o })), 'durationMinutes')!.value;
    assert.equal(value({}), 2);
    assert.equal(value({ selectedPermissionSet: 'ReadOnly' }), 2);
    assert.equal(value({ selectedPermissionSet: 'PowerUser' }), 5, 'PowerUser\'s default of 10 would be refused if the requester switched to ReadOnly and submitted');
    // Typed values are the requester's: kept up to the selected set's maximum.
    assert.equal(value({ selectedPermissionSet: 'PowerUser', values: { durationMinutes: 9 } }), 9);
    assert.equal(value({ selectedPermissionSet: 'ReadOnly', values: { durationMinutes: 9 } }), 5);
    // A default above its own maximum (an eligibility answer the policy schema would not produce) is capped.
    assert.equal(inputById(requestFormCard(formInput({ eligibility: sets([['ReadOnly', 30, 5]]) })), 'durationMinutes')!.value, 5);
    // The same set may have other limits on another account: the smallest on offer counts.
    const twoAccounts: EligibilityResponse = {
      ...eligibility,
      accounts: [
        { id: '111111111111', name: 'A', permissionSets: [{ name: 'ReadOnly', defaultDurationMinutes: 60, maxDurationMinutes: 60, approvalsRequired: 0, ticketRequired: false, breakGlassAllowed: false }] },
        { id: '222222222222', name: 'B', permissionSets: [{ name: 'ReadOnly', defaultDurationMinutes: 30, maxDurationMinutes: 30, approvalsRequired: 0, ticketRequired: false, breakGlassAllowed: false }] },
      ],
      total: 2,
    };
    assert.equal(inputById(requestFormCard(formInput({ eligibility: twoAccounts })), 'durationMinutes')!.value, 30);
    assert.equal(inputById(requestFormCard(formInput({ eligibility: twoAccounts, selectedAccountId: '111111111111' })), 'durationMinutes')!.value, 60);
  });

  it('an account picked through search (not in the first page of eligibility) stays selected', () => {
    const card = requestFormCard(formInput({ selectedAccountId: '333333333333' }));
    assert.equal(inputById(card, 'accountId')!.value, '333333333333');
    assert.deepEqual((inputById(card, 'accountId')!.choices as Array<{ value: string }>)[0]!.value, '333333333333');
  });

  it('justification: multiline, required, at most 500, with an error message', () => {
    const j = inputById(requestFormCard(formInput()), 'justification')!;
    assert.equal(j.isMultiline, true);
    assert.equal(j.isRequired, true);
    assert.equal(j.maxLength, 500);
    assert.ok(typeof j.errorMessage === 'string' && j.errorMessage.length > 0);
    assert.ok(new RegExp(j.regex as string).test('ten chars!'));
    assert.ok(!new RegExp(j.regex as string).test('too short'));
  });

  it('Submit and Refresh choices are Action.Execute with the client request id', () => {
    const card = requestFormCard(formInput());
    assert.deepEqual(executes(card).map((a) => [a.verb, a.data]), [
      ['request.submit', { clientRequestId: 'client-req-0001' }],
      ['request.form', { clientRequestId: 'client-req-0001', presetDurationMinutes: 60 }],
    ]);
    // A typed duration is the requester's: no preset, so Refresh choices keeps it.
    const typed = requestFormCard(formInput({ values: { durationMinutes: 45 } }));
    assert.deepEqual(executes(typed).find((a) => a.verb === 'request.form')!.data, { clientRequestId: 'client-req-0001' });
  });

  it('shows server-side validation errors on the same card: one attention line per error and the field error message', () => {
    const card = requestFormCard(
      formInput({
        selectedAccountId: '111111111111',
        values: { justification: 'short', ticketId: 'ABC', durationMinutes: 600, breakGlass: true },
        errors: [
          { path: 'justification', message: 'must be at least 10 characters' },
          { path: 'ticketId', message: 'does not match the policy pattern ^INC-\\d+$' },
          { path: 'durationMinutes', message: 'must be at most 240' },
          { path: '', message: 'the policy changed, choose again' },
        ],
      }),
    );
    assertWellFormed(card, 'form with errors');
    const attention = ofType(card, 'TextRun').filter((r) => r.color === 'Attention').map((r) => r.text);
    for (const m of ['must be at least 10 characters', 'does not match the policy pattern ^INC-\\d+$', 'must be at most 240', 'the policy changed, choose again']) assert.ok(attention.includes(m), `missing error ${m}`);
    assert.equal(inputById(card, 'justification')!.errorMessage, 'must be at least 10 characters');
    assert.equal(inputById(card, 'justification')!.value, 'short', 'what the user typed is kept');
    assert.equal(inputById(card, 'ticketId')!.value, 'ABC');
    assert.equal(inputById(card, 'durationMinutes')!.value, 480, 'out-of-range duration is clamped to the largest option');
    assert.equal(inputById(card, 'breakGlass')!.value, 'true');
  });

  it('not eligible for anything: says so and offers no submit', () => {
    const card = requestFormCard(formInput({ eligibility: { ...eligibility, accounts: [], total: 0 } }));
    assertWellFormed(card, 'form not eligible');
    assert.deepEqual(verbs(card), []);
    assert.match(allText(card), /not eligible/);
  });

  it('accountSearchResults: title and value for the application/search response', () => {
    assert.deepEqual(accountSearchResults([{ id: '111111111111', name: 'Payments Prod' }, { id: '222222222222', name: '' }]), [
      { title: 'Payments Prod (111111111111)', value: '111111111111' },
      { title: '222222222222', value: '222222222222' },
    ]);
    assert.equal(accountSearchResults(Array.from({ length: 80 }, (_, i) => ({ id: String(100000000000 + i), name: `a${i}` }))).length, 50);
  });
});

describe('cards: findings, lists, menus, messages', () => {
  const finding = (i: number, over: Partial<FindingView> = {}): FindingView => ({
    id: `f-${i}`,
    severity: (['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL'] as const)[i % 5]!,
    title: `Finding ${i}`,
    resourceId: `arn:aws:iam::111111111111:role/r${i}`,
    accountId: '111111111111',
    productName: 'Security Hub',
    updatedAt: '2030-05-01T10:00:00.000Z',
    link: `https://console.aws.amazon.com/securityhub/home#/findings?f=${i}`,
    ...over,
  });

  it('findings: severity colored, title, resource, account, product and a link each; "and N more" when truncated', () => {
    const card = findingsCard(Array.from({ length: 13 }, (_, i) => finding(i)), { now: NOW, maxItems: 5 });
    assertWellFormed(card, 'findings');
    assertNoUnboundTemplate(card, 'findings');
    const severities = ofType(card, 'TextRun').filter((r) => ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL'].includes(r.text as string));
    assert.deepEqual(severities.map((s) => [s.text, s.color]), [['CRITICAL', 'Attention'], ['HIGH', 'Attention'], ['MEDIUM', 'Warning'], ['LOW', 'Accent'], ['INFORMATIONAL', 'Default']]);
    assert.equal(ofType(card, 'Action.OpenUrl').length, 5);
    const text = allText(card);
    for (const s of ['Finding 4', 'IAM role r4', 'Security Hub']) assert.ok(text.includes(s));
    assert.ok(!text.includes('Finding 5'));
    assert.match(text, /and 8 more/);
    assert.equal(card.body[0]!.style, 'attention');
  });

  it('findings: the resource gets a human label, not the raw pipe-joined id', () => {
    const assignment = '222222222222|arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1000000000000003|9067000001-00000000-0000-4000-8000-000000000001';
    assert.equal(resourceLabel(assignment), 'Identity Center assignment of ps-1000000000000003 to user 9067000001-00000000-0000-4000-8000-000000000001');
    assert.equal(resourceLabel('AWS::::Account:111111111111'), 'AWS account 111111111111');
    assert.equal(resourceLabel('arn:aws:iam::111111111111:role/ops/deployer'), 'IAM role ops/deployer');
    assert.equal(resourceLabel('arn:aws:s3:::my-bucket'), 'S3 bucket my-bucket');
    assert.equal(resourceLabel('arn:aws:ec2:us-east-1:111111111111:instance/i-0123'), 'EC2 instance i-0123');
    assert.equal(resourceLabel('some-other-id'), 'some-other-id');
    assert.equal(resourceLabel(''), 'no resource');
    const card = findingsCard([finding(0, { resourceId: assignment })], { now: NOW });
    assertWellFormed(card, 'assignment finding');
    assert.ok(!allText(card).includes('|arn:aws:sso'), 'the raw id is not shown');
    const facts = ofType(card, 'FactSet').flatMap((f) => f.facts as Array<{ title: string; value: string }>);
    assert.deepEqual(facts.map((f) => f.title), ['Resource', 'Account', 'Source', 'Updated']);
    assert.equal(facts[3]!.value, '{{DATE(2030-05-01T10:00:00Z, COMPACT)}} {{TIME(2030-05-01T10:00:00Z)}}');
  });

  it('findings: no link button for a missing or non-http link; an empty list says so', () => {
    const card = findingsCard([finding(0, { link: undefined }), finding(1, { link: 'javascript:alert(1)' })], { now: NOW });
    assert.equal(ofType(card, 'Action.OpenUrl').length, 0);
    assertWellFormed(card, 'findings without links');
    assert.match(allText(findingsCard([], { now: NOW })), /No findings/);
  });

  it('welcome and help: menu buttons as Action.Execute', () => {
    for (const isApproverHint of [true, false]) {
      const card = welcomeCard({ isApproverHint });
      assertWellFormed(card, 'welcome');
      assert.deepEqual(verbs(card), ['menu.request', 'menu.mine', 'menu.pending', 'menu.help']);
      assertButtonsSubmitValidData(card, 'welcome');
      assert.equal(/You are an approver/.test(allText(card)), isApproverHint);
    }
    const help = helpCard();
    assertWellFormed(help, 'help');
    assert.match(allText(help), /my requests/);
    assert.ok(verbs(help).includes('menu.request'));
  });

  it('request list: one View button per request, empty text, "and N more" past 20', () => {
    const list = requestListCard(REQUEST_STATES.map((s, i) => makeRequest(s, { id: `req-0000000000${String(i).padStart(4, '0')}` })), { title: 'My requests', now: NOW, emptyText: 'Nothing yet' });
    assertWellFormed(list, 'list');
    assertNoUnboundTemplate(list, 'list');
    assertButtonsSubmitValidData(list, 'list');
    assert.equal(verbs(list).filter((v) => v === 'request.view').length, REQUEST_STATES.length);
    assert.deepEqual(executes(list)[0]!.data, { requestId: 'req-00000000000000' });
    const empty = requestListCard([], { title: 'Pending approvals', now: NOW, emptyText: 'Nothing is waiting for you' });
    assertWellFormed(empty, 'empty list');
    assert.match(runText(empty), /Nothing is waiting for you/);
    const long = requestListCard(Array.from({ length: 45 }, () => makeRequest('ACTIVE')), { title: 't', now: NOW, emptyText: '' });
    assert.equal(verbs(long).length, 20);
    assert.match(allText(long), /and 25 more/);
  });

  it('message card: tone sets the color', () => {
    for (const tone of ['good', 'warning', 'attention', 'default'] as const) {
      const card = messageCard({ title: 'Could not submit', text: 'The bridge did not answer in time.', tone });
      assertWellFormed(card, `message ${tone}`);
      assert.equal(card.body[0]!.style, tone === 'default' ? 'emphasis' : tone);
    }
  });
});

describe('cards: user text is shown as text, never as markup or template', () => {
  const INJECTIONS = ['${$root.requestId}', '${json($root)}', '**bold** _it_ [link](https://evil.example.com)', '<b>bold</b><script>alert(1)</script>', '<at>Everyone</at>', '@{concat("a")}'];
  const hostile = INJECTIONS.join(' | ');
  const hostileActor: Actor = { userId: 'u-x', userName: '[x](https://evil.example.com)', displayName: '**Mallory** ${$root.version}' };

  it('in every card, user strings appear verbatim in plain text runs and never in markdown text', () => {
    const request = makeRequest('DENIED', {
      justification: hostile,
      ticketId: '${ticket}<i>',
      accountName: '_Prod_ ${x}',
      requester: hostileActor,
      decidedBy: hostileActor,
      decisionReason: hostile,
      votes: [{ approver: hostileActor, decision: 'deny', reason: hostile, at: '2030-05-01T10:06:00.000Z' }],
      policyReason: '${policy}',
    });
    const cards = [
      approvalCard(request, { approverUserIds: APPROVERS, viewerIsApprover: true, now: NOW }),
      requesterCard(request, { now: NOW }),
      requestListCard([request], { title: '${title}', now: NOW, emptyText: '' }),
      messageCard({ title: '**t** ${x}', text: hostile, tone: 'attention' }),
    ];
    for (const card of cards) {
      assertWellFormed(card, 'hostile');
      const runs = runText(card);
      const md = markdownText(card);
      for (const s of [...INJECTIONS, '**Mallory** ${$root.version}', '_Prod_ ${x}']) {
        if (!allText(card).includes(JSON.stringify(s).slice(1, -1))) continue;
        assert.ok(runs.includes(s) || ofType(card, 'Input.Text').length > 0, `"${s}" must be in a plain run`);
        assert.ok(!md.includes(s), `"${s}" must not reach markdown text`);
      }
    }
    assert.ok(runText(cards[0]!).includes(hostile), 'the justification is shown exactly as typed');
    assert.ok(runText(cards[0]!).includes('Denied by **Mallory** ${$root.version} ([x](https://evil.example.com))'));
    assert.ok(!allText(cards[0]!).includes('"req-01HZX0000000000000 |'), 'template expressions in data are not evaluated');
  });

  it('form values and errors are kept literally too', () => {
    const card = requestFormCard(formInput({ values: { justification: hostile, ticketId: '${t}' }, errors: [{ path: 'justification', message: '**${bad}**' }] }));
    assertWellFormed(card, 'hostile form');
    assert.equal(inputById(card, 'justification')!.value, hostile);
    assert.equal(inputById(card, 'ticketId')!.value, '${t}');
    assert.ok(runText(card).includes('**${bad}**'));
    assert.ok(!markdownText(card).includes('${'));
  });

  it('the client\'s {{DATE()}} / {{TIME()}} functions in user text are neutralized', () => {
    const card = requesterCard(makeRequest('PENDING_APPROVAL', { justification: 'at {{DATE(2030-01-01T00:00:00Z, SHORT)}} and {{TIME(2030-01-01T00:00:00Z)}}' }), { now: NOW });
    const runs = runText(card);
    assert.ok(!/\{\{(DATE|TIME)\(2030-01-01/.test(runs), 'the user\'s own functions are not evaluated');
    assert.ok(runs.includes('{\u200b{DATE(2030-01-01T00:00:00Z, SHORT)}}'));
  });

  it('control characters and lone surrogates are removed', () => {
    const card = requesterCard(makeRequest('PENDING_APPROVAL', { justification: 'a\u0000b\u0007c\u001bd\ud800e\r\nf' }), { now: NOW });
    assert.ok(runText(card).includes('abcd\ufffde\nf'));
  });

  it('a 100 KB justification is truncated safely with a marker, and the card stays under the Teams limit', () => {
    const huge = '😀'.repeat(25_000) + 'x'.repeat(100_000);
    for (const card of [approvalCard(makeRequest('PENDING_APPROVAL', { justification: huge }), { approverUserIds: APPROVERS, viewerIsApprover: true, now: NOW }), requesterCard(makeRequest('ACTIVE', { justification: huge }), { now: NOW })]) {
      const run = ofType(card, 'TextRun').map((r) => r.text as string).find((t) => t.startsWith('😀'))!;
      assert.ok(run.endsWith('… [truncated]'));
      assert.equal(Array.from(run.replace('… [truncated]', '')).length, 500);
      assert.ok(run.isWellFormed(), 'never splits a surrogate pair');
      assertWellFormed(card, 'huge');
    }
  });

  it('worst realistic input: every field at its limit in 4-byte characters stays under 28 KB', () => {
    const wide = (n: number) => '𝕏'.repeat(n);
    const worstActor: Actor = { userId: 'u', userName: wide(256), displayName: wide(256) };
    const votes = Array.from({ length: 30 }, (_, i) => ({ approver: worstActor, decision: (i % 2 ? 'approve' : 'deny') as 'approve' | 'deny', reason: wide(500), at: '2030-05-01T10:06:00.000Z' }));
    const worst = makeRequest('ACTIVE', {
      route: 'break_glass',
      justification: wide(500),
      ticketId: wide(64),
      accountName: wide(256),
      requester: worstActor,
      decidedBy: worstActor,
      decisionReason: wide(500),
      policyReason: wide(2000),
      votes,
      terms: { ...makeRequest('ACTIVE').terms, ruleIds: Array.from({ length: 40 }, () => wide(64)) },
    });
    const sizes: Record<string, number> = {
      approval: cardByteSize(approvalCard(worst, { approverUserIds: Array.from({ length: 200 }, (_, i) => `29:${'x'.repeat(100)}${i}`), viewerIsApprover: true, now: NOW })),
      requester: cardByteSize(requesterCard(worst, { now: NOW, accessPortalUrl: PORTAL, expiringSoon: true })),
      list: cardByteSize(requestListCard(Array.from({ length: 100 }, () => worst), { title: wide(500), now: NOW, emptyText: '' })),
      findings: cardByteSize(findingsCard(Array.from({ length: 100 }, (_, i) => finding(i, { title: wide(1000), resourceId: wide(1000), productName: wide(500), link: `https://example.com/${'a'.repeat(1500)}` })), { now: NOW, maxItems: 1000 })),
      form: cardByteSize(
        requestFormCard(
          formInput({
            eligibility: {
              user: { userId: 'u', userName: wide(256), displayName: wide(256) },
              accounts: Array.from({ length: 50 }, (_, i) => ({ id: String(100000000000 + i), name: wide(256), permissionSets: Array.from({ length: 30 }, (_, j) => ({ name: `PS${i}-${j}-${'p'.repeat(20)}`, maxDurationMinutes: 600, defaultDurationMinutes: 60, approvalsRequired: 1, ticketRequired: true, breakGlassAllowed: true })) })),
              total: 5000,
            },
            values: { justification: wide(500), ticketId: wide(64) },
            errors: Array.from({ length: 50 }, () => ({ path: wide(100), message: wide(1000) })),
          }),
        ),
      ),
      // The plain dropdown: every eligible account as a static choice, plus a selected one from elsewhere.
      formStatic: cardByteSize(
        requestFormCard(
          formInput({
            eligibility: {
              user: { userId: 'u', userName: wide(256), displayName: wide(256) },
              accounts: Array.from({ length: STATIC_ACCOUNT_CHOICES_MAX }, (_, i) => ({ id: String(100000000000 + i), name: wide(256), permissionSets: Array.from({ length: 30 }, (_, j) => ({ name: `PS${i}-${j}-${'p'.repeat(20)}`, maxDurationMinutes: 600, defaultDurationMinutes: 60, approvalsRequired: 1, ticketRequired: true, breakGlassAllowed: true })) })),
              total: STATIC_ACCOUNT_CHOICES_MAX,
            },
            selectedAccountId: '999999999999',
            values: { justification: wide(500), ticketId: wide(64) },
            errors: Array.from({ length: 50 }, () => ({ path: wide(100), message: wide(1000) })),
          }),
        ),
      ),
    };
    for (const [name, size] of Object.entries(sizes)) assert.ok(size < TEAMS_CARD_MAX_BYTES, `${name}: ${size} bytes`);
  });

  function finding(i: number, over: Partial<FindingView>): FindingView {
    return { id: `f${i}`, severity: 'HIGH', title: 't', resourceId: 'r', accountId: '111111111111', productName: 'p', updatedAt: '2030-05-01T10:00:00.000Z', ...over };
  }
});

describe('cards: properties (fast-check)', () => {
  const text = (max: number) => fc.string({ unit: 'binary', maxLength: max });
  const iso = fc.oneof(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()), text(30));
  const actor = fc.record({ userId: text(40), userName: text(300), displayName: text(300) });
  const request = fc.record({
    id: fc.oneof(fc.constant('req-01HZX0000000000000'), text(80)),
    clientRequestId: text(80),
    version: fc.oneof(fc.nat(), fc.integer()),
    state: fc.constantFrom(...REQUEST_STATES),
    requester: actor,
    accountId: text(20),
    accountName: text(400),
    permissionSetName: text(64),
    permissionSetArn: text(100),
    requestedDurationSeconds: fc.integer({ min: -10, max: 10_000_000 }),
    justification: text(3000),
    ticketId: fc.option(text(200), { nil: undefined }),
    route: fc.constantFrom('approval', 'auto_approve', 'break_glass' as const),
    terms: fc.record({
      ruleIds: fc.array(text(100), { maxLength: 50 }),
      maxDurationSeconds: fc.nat(),
      defaultDurationSeconds: fc.nat(),
      maxTotalDurationSeconds: fc.integer({ min: -100, max: 100_000_000 }),
      approvalsRequired: fc.integer({ min: -1, max: 100 }),
      approverGroups: fc.array(text(20), { maxLength: 3 }),
      ticketRequired: fc.boolean(),
      ticketPatterns: fc.array(text(20), { maxLength: 3 }),
      breakGlassAllowed: fc.boolean(),
      breakGlassMaxDurationSeconds: fc.nat(),
      approvalTimeoutSeconds: fc.nat(),
    }),
    policyReason: text(3000),
    votes: fc.array(fc.record({ approver: actor, decision: fc.constantFrom('approve', 'deny' as const), reason: fc.option(text(1000), { nil: undefined }), at: iso }), { maxLength: 40 }),
    createdAt: iso,
    updatedAt: iso,
    approvalDeadline: iso,
    decidedAt: fc.option(iso, { nil: undefined }),
    decidedBy: fc.option(actor, { nil: undefined }),
    decisionReason: fc.option(text(1000), { nil: undefined }),
    grant: fc.option(fc.record({ startsAt: iso, endsAt: iso, totalSeconds: fc.integer({ min: -100, max: 100_000_000 }), extensions: fc.nat() }), { nil: undefined }),
    endedAt: fc.option(iso, { nil: undefined }),
    endedBy: fc.option(actor, { nil: undefined }),
    endReason: fc.option(text(1000), { nil: undefined }),
    failureReason: fc.option(text(1000), { nil: undefined }),
    review: fc.option(fc.record({ acknowledgedBy: actor, at: iso, note: fc.option(text(1000), { nil: undefined }) }), { nil: undefined }),
  }) as fc.Arbitrary<AccessRequest>;

  const check = (card: AdaptiveCard) => {
    const json = JSON.stringify(card);
    assert.deepEqual(JSON.parse(json), card);
    assert.ok(cardByteSize(card) < TEAMS_CARD_MAX_BYTES, `${cardByteSize(card)} bytes`);
    assert.deepEqual(validate(card), []);
  };

  it('approval, requester and list cards render valid JSON under the size limit for arbitrary requests', () => {
    fc.assert(
      fc.property(request, fc.boolean(), fc.boolean(), fc.option(fc.webUrl(), { nil: undefined }), (r, viewerIsApprover, expiringSoon, url) => {
        check(approvalCard(r, { approverUserIds: APPROVERS, viewerIsApprover, now: NOW, accessPortalUrl: url }));
        check(requesterCard(r, { now: NOW, expiringSoon, accessPortalUrl: url }));
        check(requestListCard([r, r, r], { title: r.accountName, now: NOW, emptyText: r.justification }));
      }),
      { numRuns: 150 },
    );
  });

  it('form, findings and message cards render valid JSON under the size limit for arbitrary input', () => {
    const permissionSet = fc.record({ name: text(64), maxDurationMinutes: fc.integer({ min: -5, max: 100_000 }), defaultDurationMinutes: fc.integer({ min: -5, max: 100_000 }), approvalsRequired: fc.integer({ min: 0, max: 5 }), ticketRequired: fc.boolean(), breakGlassAllowed: fc.boolean() });
    const eligibilityArb = fc.record({
      user: fc.record({ userId: text(40), userName: text(300), displayName: text(300) }),
      accounts: fc.array(fc.record({ id: text(20), name: text(300), permissionSets: fc.array(permissionSet, { maxLength: 8 }) }), { maxLength: 30 }),
      total: fc.nat(),
    });
    const findingArb = fc.record({ id: text(20), severity: fc.constantFrom('INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL' as const), title: text(500), resourceId: text(500), accountId: text(20), productName: text(200), updatedAt: iso, link: fc.option(fc.oneof(fc.webUrl(), text(100)), { nil: undefined }) });
    fc.assert(
      fc.property(
        eligibilityArb,
        fc.option(text(20), { nil: undefined }),
        fc.option(text(64), { nil: undefined }),
        fc.record({ justification: fc.option(text(2000), { nil: undefined }), ticketId: fc.option(text(200), { nil: undefined }), durationMinutes: fc.option(fc.integer(), { nil: undefined }), breakGlass: fc.option(fc.boolean(), { nil: undefined }) }),
        fc.array(fc.record({ path: text(40), message: text(500) }), { maxLength: 20 }),
        fc.array(findingArb, { maxLength: 40 }),
        fc.option(fc.integer({ min: -5, max: 500 }), { nil: undefined }),
        (elig, selectedAccountId, selectedPermissionSet, values, errors, findings, maxItems) => {
          const defined = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
          check(requestFormCard({ eligibility: elig, selectedAccountId, selectedPermissionSet, values: defined, errors, clientRequestId: 'client-req-0001', searchDataset: 'aws.accounts' }));
          check(findingsCard(findings, { now: NOW, maxItems }));
          check(messageCard({ title: errors[0]?.path ?? '', text: errors[0]?.message ?? '', tone: 'attention' }));
          accountSearchResults(elig.accounts);
        },
      ),
      { numRuns: 150 },
    );
  });
});
