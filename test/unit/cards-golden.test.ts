/**
 * Byte-identity (as SHA-256 digests) of every rendered card and notification text over a fixed set of request states,
 * form inputs and findings. Taken before cards/render.ts and bot/notifications.ts were split up:
 * the split must not change one byte. Regenerate (only for an intended change) with
 * `UPDATE_GOLDEN=1 npm run test:file -- test/unit/cards-golden.test.ts` and review the diff.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  accountSearchResults,
  approvalCard,
  channelPostLead,
  findingsCard,
  helpCard,
  messageCard,
  requestFormCard,
  requestListCard,
  requesterCard,
  requesterSummary,
  welcomeCard,
} from '../../cards';
import { mentionText } from '../../bot/notifications';
import type { FindingView, NotificationEvent as NotificationEventName } from '../../contract/notify';
import type { EligibilityResponse } from '../../core/api';
import { REQUEST_STATES, type AccessRequest, type Actor, type RequestState } from '../../core/model';

const GOLDEN = join(__dirname, 'golden', 'cards.json');
const NOW = '2030-05-01T10:30:00.000Z';
const alice: Actor = { userId: 'u-alice', aadObjectId: 'aad-alice', userName: 'alice@example.com', displayName: 'Alice <b>Example</b>' };
const bob: Actor = { userId: 'u-bob', aadObjectId: 'aad-bob', userName: 'bob@example.com', displayName: 'Bob Approver' };
const carol: Actor = { userId: 'u-carol', aadObjectId: 'aad-carol', userName: 'carol@example.com', displayName: 'Carol *Approver*' };
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
    { id: '222222222222', name: 'Payments Dev', permissionSets: [{ name: 'ReadOnly', maxDurationMinutes: 480, defaultDurationMinutes: 120, approvalsRequired: 1, ticketRequired: false, breakGlassAllowed: false }] },
    { id: '333333333333', name: '333333333333', permissionSets: [{ name: '', maxDurationMinutes: 60, defaultDurationMinutes: 30, approvalsRequired: 0, ticketRequired: true, breakGlassAllowed: false }] },
  ],
  total: 3,
};
const form = (over: Partial<Parameters<typeof requestFormCard>[0]> = {}) => ({ eligibility, clientRequestId: 'client-req-0001', searchDataset: 'aws.accounts', ...over });

const finding = (id: string, severity: FindingView['severity'], over: Partial<FindingView> = {}): FindingView =>
  ({ id, title: `Finding ${id} <x>`, severity, accountId: '111111111111', updatedAt: '2030-05-01T10:00:00.000Z', ...over }) as FindingView;

function renderAll(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const variants: Array<[string, Partial<AccessRequest>]> = [
    ['', {}],
    ['.breakglass', { route: 'break_glass' } as Partial<AccessRequest>],
    ['.noticket', { ticketId: undefined, justification: 'x'.repeat(600) }],
  ];
  for (const state of REQUEST_STATES) {
    for (const [suffix, over] of variants) {
      const r = makeRequest(state, over);
      out[`approval.${state}${suffix}`] = approvalCard(r, { approverUserIds: ['29:bob', '29:carol'], viewerIsApprover: false, now: NOW, accessPortalUrl: PORTAL });
      out[`approval.viewer.${state}${suffix}`] = approvalCard(r, { approverUserIds: ['29:bob'], viewerIsApprover: true, now: NOW });
      out[`requester.${state}${suffix}`] = requesterCard(r, { now: NOW, accessPortalUrl: PORTAL });
      out[`requester.expiring.${state}${suffix}`] = requesterCard(r, { now: NOW, expiringSoon: true });
    }
  }
  out['form.default'] = requestFormCard(form());
  out['form.account'] = requestFormCard(form({ selectedAccountId: '222222222222' }));
  out['form.account-and-set'] = requestFormCard(form({ selectedAccountId: '111111111111', selectedPermissionSet: 'AdministratorAccess' }));
  out['form.set-only'] = requestFormCard(form({ selectedPermissionSet: 'ReadOnly' }));
  out['form.unknown-account'] = requestFormCard(form({ selectedAccountId: '444444444444' }));
  out['form.empty-sets-account'] = requestFormCard(form({ selectedAccountId: '333333333333' }));
  out['form.values-and-errors'] = requestFormCard(
    form({
      selectedAccountId: '111111111111',
      values: { justification: 'short', ticketId: 'ABC', durationMinutes: 600, breakGlass: true },
      errors: [
        { path: 'justification', message: 'must be at least 10 characters' },
        { path: 'ticketId', message: 'does not match' },
        { path: 'durationMinutes', message: 'must be at most 240' },
        { path: '', message: 'the policy changed' },
        { path: 'terms.x', message: 'odd' },
        { path: '(data)', message: 'bad data' },
      ],
    }),
  );
  out['form.values-only'] = requestFormCard(form({ values: { accountId: '222222222222', permissionSetName: 'ReadOnly', durationMinutes: 0, justification: 'Because **reasons**', ticketId: 'INC-1' } }));
  out['form.nan-duration'] = requestFormCard(form({ values: { durationMinutes: Number.NaN } }));
  out['form.not-eligible'] = requestFormCard(form({ eligibility: { ...eligibility, accounts: [], total: 0 } }));
  out['form.no-user'] = requestFormCard(form({ eligibility: { accounts: eligibility.accounts, total: 3 } as unknown as EligibilityResponse }));
  out['form.many'] = requestFormCard(
    form({
      eligibility: {
        ...eligibility,
        accounts: Array.from({ length: 120 }, (_, i) => ({
          id: String(100000000000 + i),
          name: `Account ${i}`,
          permissionSets: Array.from({ length: 4 }, (_, j) => ({ name: `Set${(i + j) % 150}`, maxDurationMinutes: 30 + j, defaultDurationMinutes: 15, approvalsRequired: j % 2, ticketRequired: j === 0, breakGlassAllowed: j === 3 })),
        })),
        total: 120,
      },
    }),
  );
  out['search'] = accountSearchResults([{ id: '111111111111', name: 'Payments Prod' }, { id: '222222222222', name: '' }]);
  const findings = [finding('f1', 'CRITICAL'), finding('f2', 'LOW', { status: 'RESOLVED' } as Partial<FindingView>), finding('f3', 'HIGH')];
  out['findings'] = findingsCard(findings, { now: NOW });
  out['findings.limited'] = findingsCard(Array.from({ length: 14 }, (_, i) => finding(`g${i}`, 'MEDIUM')), { now: NOW, maxItems: 10 });
  out['list'] = requestListCard([makeRequest('PENDING_APPROVAL'), makeRequest('ACTIVE'), makeRequest('DENIED')], { title: 'Your requests', now: NOW, emptyText: 'None.' });
  out['list.empty'] = requestListCard([], { title: 'Pending', now: NOW, emptyText: 'Nothing pending.' });
  out['welcome'] = welcomeCard({});
  out['welcome.approver'] = welcomeCard({ isApproverHint: true });
  out['help'] = helpCard();
  for (const tone of ['good', 'warning', 'attention', 'default'] as const) out[`message.${tone}`] = messageCard({ title: `T ${tone}`, text: 'Some *text*', tone });
  const events: NotificationEventName[] = ['submitted', 'approval_requested', 'approved', 'denied', 'timed_out', 'active', 'expiring_soon', 'expired', 'revoked', 'failed', 'cancelled'] as NotificationEventName[];
  for (const state of REQUEST_STATES) for (const e of events) out[`summary.${e}.${state}`] = requesterSummary(e, makeRequest(state));
  for (const state of REQUEST_STATES) for (const kind of ['approval', 'breakglass'] as const) out[`lead.${kind}.${state}`] = channelPostLead(kind, makeRequest(state));
  out['summary.revoked.noreason'] = requesterSummary('revoked', makeRequest('REVOKED', { endReason: undefined, endedBy: undefined }));
  out['mention.none'] = mentionText('Approvers:', []);
  out['mention.two'] = mentionText('Access request from <x>. Approvers:', [
    { aadObjectId: 'a', teamsUserId: '29:bob', name: 'Bob & <Co>' },
    { aadObjectId: 'b', teamsUserId: '8:orgid:c', name: 'Approver' },
  ]);
  return out;
}

/** One SHA-256 per card: small enough to commit, and any changed byte changes it. */
function digests(): Record<string, string> {
  return Object.fromEntries(Object.entries(renderAll()).map(([k, v]) => [k, createHash('sha256').update(JSON.stringify(v)).digest('hex')]));
}

describe('cards golden (byte-identical rendering)', () => {
  it('renders every card and notification text exactly as recorded', () => {
    const actual = digests();
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, `${JSON.stringify(actual, null, 1)}\n`);
    const expected = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, string>;
    const differing = [...new Set([...Object.keys(actual), ...Object.keys(expected)])].filter((k) => actual[k] !== expected[k]);
    assert.deepEqual(differing, [], `rendered output differs from ${GOLDEN}`);
    assert.ok(Object.keys(expected).length >= 280, 'the golden set covers every state, variant and card');
  });
});
