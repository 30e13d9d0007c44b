/**
 * Rendered card sizes at the worst realistic input: every free-text field at its API maximum with
 * multi-byte characters, the longest names, a quorum of approvers who all left a reason, the most
 * accounts and permission sets a form shows, full lists and findings. Teams refuses a message
 * over about 28 KB (cards/text.ts TEAMS_CARD_MAX_BYTES).
 */
import { approvalCard, cardByteSize, findingsCard, kpiCard, requesterCard, requestFormCard, requestListCard, TEAMS_CARD_MAX_BYTES } from '../cards';
import { type FindingView } from '../contract/notify';
import { LIMITS, type EligibilityResponse } from '../core/api';
import type { AccessRequest, Actor } from '../core/model';

/** `n` characters of realistic text with some multi-byte (3-byte UTF-8) characters in it. */
const text = (n: number, seed = 'Investigating incident — payments latency in eu-west-1; rollback of release 2024.11 ✓ ') => seed.repeat(Math.ceil(n / seed.length)).slice(0, n);

/**
 * A request record at the size limits, built by hand: card sizes are measured at inputs beyond what
 * any one policy produces (the longest names, 10 approvers), not at what the bridge's rules allow.
 */
function worstRequest(state: AccessRequest['state']): AccessRequest {
  const person = (i: number): Actor => ({ userId: `u-approver-${i}`, aadObjectId: `aaaaaaaa-0000-0000-0000-${String(i).padStart(12, '0')}`, userName: `${'approver.with.a.long.name'.slice(0, 20)}${i}@example.com`, displayName: text(64, 'Approver With A Rather Long Display Name ') });
  const at = '2030-01-01T10:00:00.000Z';
  const base: AccessRequest = {
    id: 'req-01J000000000000000000001',
    clientRequestId: 'seed000000000001',
    version: 1,
    state,
    requester: { userId: 'u-alice', aadObjectId: 'aaaaaaaa-0000-0000-0000-000000000001', userName: 'alice@example.com', displayName: text(64, 'Alice Requester-With-Long-Name ') },
    accountId: '111111111111',
    accountName: text(64, 'prod-payments-eu-west-1-core-platform-'),
    permissionSetName: 'AdministratorAccess-Prod-Full',
    permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111',
    requestedDurationSeconds: 3600,
    justification: text(LIMITS.justificationMax),
    ticketId: text(LIMITS.ticketMax, 'INC-1234567890-'),
    route: 'approval',
    terms: { ruleIds: ['prod-readonly'], maxDurationSeconds: 14400, defaultDurationSeconds: 3600, maxTotalDurationSeconds: 28800, approvalsRequired: 1, approverGroups: ['oncall-approvers'], ticketRequired: false, ticketPatterns: [], breakGlassAllowed: false, breakGlassMaxDurationSeconds: 0, approvalTimeoutSeconds: 3600 },
    policyReason: text(240, 'rule prod-admin: two approvals from oncall-approvers, ticket required; '),
    votes: [],
    createdAt: at,
    updatedAt: at,
    approvalDeadline: '2030-01-01T11:00:00.000Z',
    ...(state === 'ACTIVE' ? { grant: { startsAt: at, endsAt: '2030-01-01T11:00:00.000Z', totalSeconds: 3600, extensions: 0 } } : {}),
  };
  const votes = Array.from({ length: 10 }, (_, i) => ({ approver: person(i), decision: 'approve' as const, reason: text(LIMITS.reasonMax), at: base.createdAt }));
  return { ...base, votes, terms: { ...base.terms, ruleIds: Array.from({ length: 8 }, (_, i) => `rule-${'x'.repeat(40)}-${i}`), approverGroups: Array.from({ length: 10 }, (_, i) => `oncall-approvers-${'y'.repeat(40)}-${i}`) } };
}

export interface CardSize {
  card: string;
  bytes: number;
  kb: number;
}

export function runCardSizes(): { cards: CardSize[]; limitBytes: number } {
  const now = '2030-01-01T10:30:00.000Z';
  const approverUserIds = Array.from({ length: 60 }, (_, i) => `29:1${'a'.repeat(100)}${i}`);
  const eligibility: EligibilityResponse = {
    user: { userId: 'u-alice', userName: 'alice@example.com', displayName: 'Alice' },
    accounts: Array.from({ length: 50 }, (_, i) => ({
      id: String(111_111_111_111 + i),
      name: text(64, `prod-account-with-a-long-name-${i}-`),
      permissionSets: Array.from({ length: 30 }, (_, j) => ({ name: `PermissionSet-Number-${String(j).padStart(2, '0')}-Long`, maxDurationMinutes: 480, defaultDurationMinutes: 60, approvalsRequired: 2, ticketRequired: true, breakGlassAllowed: true })),
    })),
    total: 10_000,
  };
  const findings: FindingView[] = Array.from({ length: 50 }, (_, i) => ({ id: `f-${i}`, severity: 'CRITICAL', title: text(256, 'IAM role with administrative privileges assumed outside business hours '), resourceId: `arn:aws:iam::111111111111:role/${'r'.repeat(200)}`, accountId: '111111111111', productName: 'GuardDuty', updatedAt: now, link: `https://console.aws.amazon.com/securityhub/home#/findings?search=${'x'.repeat(300)}` }));
  const cards: Array<[string, unknown]> = [
    ['approval (pending, 10 votes with reasons, approver view)', approvalCard(worstRequest('PENDING_APPROVAL'), { approverUserIds, viewerIsApprover: true, now, accessPortalUrl: 'https://d-1111111111.awsapps.com/start' })],
    ['approval (approved)', approvalCard(worstRequest('APPROVED'), { approverUserIds, viewerIsApprover: false, now })],
    ['approval (pending, sandbox mode: 4 sandbox vote buttons)', approvalCard(worstRequest('PENDING_APPROVAL'), { approverUserIds, viewerIsApprover: true, now, sandboxActions: Array.from({ length: 4 }, (_, i) => ({ person: `person${'x'.repeat(20)}`.slice(0, 32), name: text(64, `Demo Person ${i} `), decision: i % 2 ? ('deny' as const) : ('approve' as const) })) })],
    ['requester status (active)', requesterCard(worstRequest('ACTIVE'), { now, accessPortalUrl: 'https://d-1111111111.awsapps.com/start', expiringSoon: true })],
    ['request form (50 accounts x 30 permission sets, all errors)', requestFormCard({ eligibility, clientRequestId: 'cr-bench-00000001', searchDataset: 'accounts', selectedAccountId: eligibility.accounts[0]!.id, values: { justification: text(LIMITS.justificationMax), ticketId: text(LIMITS.ticketMax) }, errors: Array.from({ length: 20 }, (_, i) => ({ path: `field${i}`, message: text(200) })) })],
    ['request list (50 requests)', requestListCard(Array.from({ length: 50 }, () => worstRequest('PENDING_APPROVAL')), { title: 'Pending approvals', now, emptyText: 'Nothing pending.' })],
    ['findings (50 critical)', findingsCard(findings, { now })],
    // Every chart present, every outcome non-zero, counts and durations at their widest.
    [
      'KPI digest (all charts, every outcome, 7-digit counts)',
      kpiCard(
        {
          window: { since: '2029-12-25T10:30:00.000Z', until: now },
          requests: 8_888_888,
          byState: { PENDING_APPROVAL: 1_111_111, ACTIVE: 1_111_111, EXPIRED: 1_111_111, REVOKED: 1_111_111, DENIED: 1_111_111, TIMED_OUT: 1_111_111, CANCELLED: 1_111_111, FAILED: 1_111_111 },
          timeToDecision: { count: 9_999_999, medianSeconds: 86_399.99, p90Seconds: 604_799.99, p99Seconds: 604_799.99, maxSeconds: 604_799.99 },
          revocationLag: { count: 9_999_999, medianSeconds: 3599.99, p90Seconds: 3599.99, p99Seconds: 3599.99, maxSeconds: 3599.99, unknown: 9_999_999, sloSeconds: 60, pass: false },
          breakGlass: 9_999_999,
          breakGlassUnreviewed: 9_999_999,
        },
        { kind: 'weekly', weekId: '2029-W52' },
      ),
    ],
  ];
  return { cards: cards.map(([card, json]) => ({ card, bytes: cardByteSize(json as never), kb: Math.round((cardByteSize(json as never) / 1024) * 10) / 10 })), limitBytes: TEAMS_CARD_MAX_BYTES };
}

if (require.main === module) console.log(runCardSizes());
