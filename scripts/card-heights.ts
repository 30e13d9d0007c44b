/**
 * `npx tsx scripts/card-heights.ts <prefix>`: renders the main cards from fixed sample states with
 * the Adaptive Cards JS renderer (the `adaptivecards` package, the renderer web clients use) in
 * headless Chromium at a phone's width (375 px), writes one PNG per card to
 * docs/screenshots/<prefix>-<card>.png and prints each card's height in CSS px as JSON.
 *
 * Why a renderer page and not the playground: the heights of two layouts are only comparable when
 * everything else is equal (width, fonts, host config, sample data); the playground's chat column
 * is desktop-wide and its chrome around a card changes with the conversation. The samples are the
 * e2e walkthrough's cards (the demo people, policy and accounts), frozen here so that "before" and
 * "after" render the same states.
 *
 * The {{DATE()}}/{{TIME()}} functions are expanded by the renderer itself in the page's time zone
 * (UTC here), as Teams does in the viewer's.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as ACModule from 'adaptivecards';
import { chromium } from 'playwright-core';
import { approvalCard, findingsCard, requestFormCard, requesterCard } from '../cards';
import type { FindingView } from '../contract/notify';
import type { EligibilityResponse } from '../core/api';
import type { AccessRequest, Actor } from '../core/model';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PHONE_WIDTH = 375;
const NOW = '2026-11-30T10:20:00.000Z';

const alice: Actor = { userId: '9067000001-00000000-0000-4000-8000-000000000001', aadObjectId: '00000000-0000-4000-8000-0000000000a1', userName: 'alice@example.com', displayName: 'Alice Adams' };
const carol: Actor = { userId: '9067000001-00000000-0000-4000-8000-000000000003', aadObjectId: '00000000-0000-4000-8000-0000000000c3', userName: 'carol@example.com', displayName: 'Carol Chen' };

const pending: AccessRequest = {
  id: 'req-01KB0000000000000000000000',
  clientRequestId: 'client-req-0001',
  version: 1,
  state: 'PENDING_APPROVAL',
  requester: alice,
  accountId: '111111111111',
  accountName: 'sandbox-dev',
  permissionSetName: 'PowerUser',
  permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1000000000000002',
  requestedDurationSeconds: 1800,
  justification: 'Deploy the hotfix for INC-1234 and watch the error rate',
  ticketId: 'INC-1234',
  route: 'approval',
  terms: {
    ruleIds: ['poweruser-one-approval'],
    maxDurationSeconds: 4 * 3600,
    defaultDurationSeconds: 3600,
    maxTotalDurationSeconds: 8 * 3600,
    approvalsRequired: 1,
    approverGroups: ['AWS-Approvers'],
    ticketRequired: true,
    ticketPatterns: ['^INC-\\d+$'],
    breakGlassAllowed: false,
    breakGlassMaxDurationSeconds: 0,
    approvalTimeoutSeconds: 3600,
  },
  policyReason: 'Rule poweruser-one-approval: 1 approval from AWS-Approvers',
  votes: [],
  createdAt: '2026-11-30T10:15:00.000Z',
  updatedAt: '2026-11-30T10:15:00.000Z',
  approvalDeadline: '2026-11-30T11:15:00.000Z',
};

const active: AccessRequest = {
  ...pending,
  version: 4,
  state: 'ACTIVE',
  decidedAt: '2026-11-30T10:18:00.000Z',
  decidedBy: carol,
  decisionReason: 'Approved in the sandbox by Carol.',
  votes: [{ approver: carol, decision: 'approve', reason: 'Approved in the sandbox by Carol.', at: '2026-11-30T10:18:00.000Z' }],
  grant: { startsAt: '2026-11-30T10:18:30.000Z', endsAt: '2026-11-30T10:48:30.000Z', totalSeconds: 1800, extensions: 0 },
  updatedAt: '2026-11-30T10:18:30.000Z',
};

const eligibility: EligibilityResponse = {
  user: { userId: alice.userId, userName: alice.userName, displayName: alice.displayName },
  accounts: [
    {
      id: '111111111111',
      name: 'sandbox-dev',
      permissionSets: [
        { name: 'ReadOnly', maxDurationMinutes: 5, defaultDurationMinutes: 5, approvalsRequired: 0, ticketRequired: false, breakGlassAllowed: false },
        { name: 'PowerUser', maxDurationMinutes: 240, defaultDurationMinutes: 60, approvalsRequired: 1, ticketRequired: true, breakGlassAllowed: false },
      ],
    },
    {
      id: '222222222222',
      name: 'sandbox-prod',
      permissionSets: [{ name: 'Admin', maxDurationMinutes: 60, defaultDurationMinutes: 30, approvalsRequired: 2, ticketRequired: true, breakGlassAllowed: true }],
    },
  ],
  total: 2,
};

const finding: FindingView = {
  id: 'jit/break-glass/req-01KB0000000000000000000001',
  severity: 'CRITICAL',
  title: 'Break-glass access used: Admin on sandbox-prod',
  resourceId: '222222222222|arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1000000000000003|9067000001-00000000-0000-4000-8000-000000000001',
  accountId: '222222222222',
  productName: 'JIT Access',
  updatedAt: '2026-11-30T10:19:00.000Z',
  link: 'https://console.aws.amazon.com/securityhub/home?region=us-east-1#/findings',
};

export const SAMPLES: Record<string, object> = {
  'request-form': requestFormCard({ eligibility, selectedAccountId: '111111111111', selectedPermissionSet: 'PowerUser', clientRequestId: 'client-req-0001', searchDataset: 'aws.accounts' }),
  'approval-card': approvalCard(pending, { approverUserIds: ['29:user-carol', '29:user-dan'], viewerIsApprover: false, now: NOW }),
  'requester-status': requesterCard(active, { now: NOW, accessPortalUrl: 'https://d-1111111111.awsapps.com/start' }),
  'finding-card': findingsCard([finding], { now: NOW }),
};

/** Host config close to Teams' light theme (Segoe UI stack, Teams' font sizes and spacing). */
const HOST_CONFIG = {
  fontFamily: "'Segoe UI', system-ui, -apple-system, 'Helvetica Neue', Arial, sans-serif",
  spacing: { small: 4, default: 8, medium: 16, large: 20, extraLarge: 24, padding: 16 },
  fontSizes: { small: 12, default: 14, medium: 14, large: 18, extraLarge: 24 },
  actions: { maxActions: 6, actionsOrientation: 'horizontal', buttonSpacing: 8, actionAlignment: 'stretch' },
};

export async function measure(prefix: string, outDir = join(__dirname, '..', 'docs', 'screenshots', 'cards')): Promise<Record<string, number>> {
  mkdirSync(outDir, { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.JIT_CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const heights: Record<string, number> = {};
  try {
    const page = await (await browser.newContext({ viewport: { width: PHONE_WIDTH, height: 800 }, deviceScaleFactor: 1, timezoneId: 'UTC', locale: 'en-US' })).newPage();
    const acDir = join(__dirname, '..', 'node_modules', 'adaptivecards', 'dist');
    await page.setContent(`<!doctype html><html><head><style>${readFileSync(join(acDir, 'adaptivecards.css'), 'utf8')} body{margin:0;background:#fff} #card{width:${PHONE_WIDTH}px;border:1px solid #e0e0e0;box-sizing:border-box}</style></head><body><div id="card"></div></body></html>`);
    await page.addScriptTag({ path: join(acDir, 'adaptivecards.js') });
    for (const [name, card] of Object.entries(SAMPLES)) {
      heights[name] = await page.evaluate(
        ([json, hostConfig]) => {
          const AC = (globalThis as unknown as { AdaptiveCards: typeof ACModule }).AdaptiveCards;
          // Bold and italics only (the Commonmark subset the cards use); text is HTML-escaped first.
          AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
            const esc = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
            // Bold, then CommonMark's backslash escapes (a backslash before punctuation shows the punctuation).
            result.outputHtml = esc
              .replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>')
              .replace(/\\([!-/:-@[-`{-~])/g, '$1')
              .replace(/\n/g, '<br>');
            result.didProcess = true;
          };
          const ac = new AC.AdaptiveCard();
          ac.hostConfig = new AC.HostConfig(hostConfig);
          ac.parse(json);
          // Runs in the page; the project's type library has no DOM.
          const host = (globalThis as unknown as { document: { getElementById(id: string): { replaceChildren(e: unknown): void; getBoundingClientRect(): { height: number } } } }).document.getElementById('card');
          host.replaceChildren(ac.render()!);
          return Math.round(host.getBoundingClientRect().height);
        },
        [card, HOST_CONFIG] as const,
      );
      await page.locator('#card').screenshot({ path: join(outDir, `${prefix}-${name}.png`) });
    }
  } finally {
    await browser.close();
  }
  return heights;
}

if (require.main === module) {
  const prefix = process.argv[2] ?? 'after';
  measure(prefix).then(
    (h) => console.log(JSON.stringify(h)),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
