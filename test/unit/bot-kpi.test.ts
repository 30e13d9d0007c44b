/**
 * The bot's `kpi` command (who may see the KPIs, where) against the REAL bridge, and the weekly
 * digest's once-per-week delivery in the on-call channel.
 */
import { strict as assert } from 'node:assert';
import type { ConversationTurn, InboundActivity } from '../../bot/activity';
import { BridgeClient } from '../../bot/bridge-client';
import { parseCommand } from '../../bot/commands';
import { EligibilityCache } from '../../bot/eligibility';
import { IdentityResolver } from '../../bot/identity';
import { silentLog } from '../../bot/log';
import type { Messenger } from '../../bot/messenger';
import { ApproverDirectory, KPI_DIGEST_MEMORY_MS, KpiDigests, TeamsNotifications } from '../../bot/notifications';
import { deliverNotification } from '../../bot/notify-delivery';
import { MemoryConversationStore } from '../../bot/storage/memory';
import { staticTokenProvider } from '../../bot/token-provider';
import { BotTurns } from '../../bot/turns';
import type { AdaptiveCard } from '../../cards';
import { toKpiReportView } from '../../contract/kpi';
import type { KpiNotification } from '../../contract/notify';
import { computeKpis } from '../../core/kpi';
import { FakeClock } from '../../core/memory';
import { type RealBridge, startRealBridge, TENANT_ID, USERS } from '../support/real-bridge';
import { mixedWeek } from '../support/audit-trail';

const CHANNEL = '19:oncall@thread.tacv2';
type Who = 'alice' | 'bob' | 'mallory';

function turn(who: Who, text: string, conversation: InboundActivity['conversation'], channelData: Record<string, unknown> = {}): ConversationTurn & { replies: AdaptiveCard[] } {
  const replies: AdaptiveCard[] = [];
  const u = USERS[who];
  return {
    activity: { type: 'message', text, from: { id: `29:${who}`, name: who, aadObjectId: u.aadObjectId }, conversation, channelData: { tenant: { id: TENANT_ID }, ...channelData } } as InboundActivity,
    replies,
    reference: () => ({}),
    textWithoutMention: () => text.replace(/<at>[^<]*<\/at>\s*/g, ''),
    replyWithCard: async (card) => void replies.push(card as AdaptiveCard),
  };
}
const personal = { id: 'a:1', conversationType: 'personal' } as const;
const inChannel = (id: string) => ({ id: `${id};messageid=1`, conversationType: 'channel' }) as const;
const text = (card: AdaptiveCard) => JSON.stringify(card);
const hasCharts = (card: AdaptiveCard) => /"type":"Chart\./.test(text(card));

describe('bot: the kpi command', () => {
  let bridge: RealBridge;
  let turns: BotTurns;

  beforeEach(async () => {
    bridge = await startRealBridge();
    const client = new BridgeClient({ baseUrl: bridge.url, tokens: staticTokenProvider(bridge.token), retryDelayMs: 1 });
    const store = new MemoryConversationStore();
    turns = new BotTurns({
      bridge: client,
      eligibility: new EligibilityCache(client),
      identity: new IdentityResolver({
        getMember: async (_c, id) => {
          const u = USERS[id.slice(3) as Who];
          return u ? { aadObjectId: u.aadObjectId, userPrincipalName: u.upn, name: id, id } : undefined;
        },
      }),
      store,
      approvers: new ApproverDirectory([], store),
      clock: { now: () => bridge.world.clock.now(), sleep: async () => undefined },
      log: silentLog,
      newClientRequestId: () => 'cr-kpi-000001',
      oncallChannelId: CHANNEL,
      approverAadObjectIds: [],
    });
    await bridge.submit(USERS.alice);
    // The report covers the days before now: the request is a minute old when asked for.
    bridge.world.clock.advance(60_000);
  });
  afterEach(() => bridge.close());

  it('understands "kpi" and its variants, without taking over "status"', () => {
    for (const t of ['kpi', 'KPIs', 'show me the kpis please', 'stats', 'metrics', 'weekly digest']) assert.equal(parseCommand(t), 'kpi', t);
    assert.equal(parseCommand('status'), 'mine');
    assert.equal(parseCommand('pending approvals'), 'pending');
  });

  it('an approver in a 1:1 chat gets the KPI card with charts, computed by the bridge', async () => {
    const t = turn('bob', 'kpi', personal);
    await turns.onText(t);
    assert.equal(bridge.callsTo('GET', '/kpis').length, 1);
    const card = t.replies[0]!;
    assert.match(text(card), /Access KPIs/);
    assert.match(text(card), /"title":"Requests","value":"1"/);
    assert.ok(hasCharts(card));
  });

  it('an approver in the on-call channel (a thread in it included) gets the card', async () => {
    const t = turn('bob', '<at>JIT Access</at> kpi', inChannel(CHANNEL), { channel: { id: CHANNEL } });
    await turns.onText(t);
    assert.match(text(t.replies[0]!), /Access KPIs/);
  });

  it('a requester who approves nothing is refused by the bridge, and sees no figures', async () => {
    for (const who of ['alice', 'mallory'] as const) {
      const t = turn(who, 'kpi', personal);
      await turns.onText(t);
      assert.ok(!hasCharts(t.replies[0]!), who);
      assert.doesNotMatch(text(t.replies[0]!), /Requests/);
      assert.match(text(t.replies[0]!), /approver/i);
    }
    assert.equal(bridge.callsTo('GET', '/kpis').length, 2);
  });

  it('in another channel or a group chat the bot declines without asking the bridge (the answer would be shown to everyone there)', async () => {
    const other = turn('bob', '<at>JIT Access</at> kpi', inChannel('19:general@thread.tacv2'), { channel: { id: '19:general@thread.tacv2' } });
    await turns.onText(other);
    const group = turn('bob', '<at>JIT Access</at> kpi', { id: '19:group@thread.v2', conversationType: 'groupChat' });
    await turns.onText(group);
    for (const t of [other, group]) {
      assert.match(text(t.replies[0]!), /not shown here/);
      assert.ok(!hasCharts(t.replies[0]!));
    }
    assert.equal(bridge.callsTo('GET', '/kpis').length, 0);
  });

  it('the bridge checks the days query (1-92) and the actor like any route', async () => {
    const client = new BridgeClient({ baseUrl: bridge.url, tokens: staticTokenProvider(bridge.token), retryDelayMs: 1 });
    const bob = { aadObjectId: USERS.bob.aadObjectId, tenantId: TENANT_ID, upn: USERS.bob.upn };
    assert.equal((await client.kpis(bob, 92)).report.requests, 1);
    for (const days of [93, 0, 1.5]) {
      await assert.rejects(client.kpis(bob, days), (e: Error & { issues?: Array<{ path: string }> }) => e.name === 'ValidationError' && !!e.issues?.some((i) => i.path.includes('days')));
    }
  });
});

describe('bot: the weekly digest is posted once per week', () => {
  const report = toKpiReportView(computeKpis(mixedWeek()));
  // The notify function's id for the week (lambdas/notify/handler.ts); a later retry may carry another.
  const notice = (weekId: string, n = 1): KpiNotification => ({ kind: 'kpi', weekId, report, notificationId: n === 1 ? `kpi-digest-${weekId}` : `kpi-digest-${weekId}-${n}` });
  let posted: unknown[];
  let failNext: boolean;
  const messenger: Messenger = {
    createChannelThread: async (_c, activity) => {
      if (failNext) {
        failNext = false;
        throw new Error('Teams is down');
      }
      posted.push(activity);
      return { conversationId: `${CHANNEL};messageid=${posted.length}`, activityId: String(posted.length) };
    },
    send: async () => undefined,
    update: async () => undefined,
  };
  beforeEach(() => {
    posted = [];
    failNext = false;
  });

  it('a replay of the same week posts nothing, even after the 24 h notificationId memory, and a new week posts', async () => {
    const clock = new FakeClock(Date.parse('2030-01-07T09:00:00Z'));
    const store = new MemoryConversationStore();
    const notifications = new TeamsNotifications({ messenger, store, approvers: new ApproverDirectory([], store), channel: { channelId: CHANNEL, serviceUrl: 'https://smba.example.invalid/teams/', tenantId: TENANT_ID } as never, clock, log: silentLog });
    const receiver = { store, notifications, clock, log: silentLog };
    const first = await deliverNotification(receiver, notice('2030-W01'));
    assert.equal(first.status, 200);
    assert.equal(posted.length, 1);
    // The same notice again: the notificationId is remembered for a day (409).
    assert.equal((await deliverNotification(receiver, notice('2030-W01'))).status, 409);
    // Two days later, a late retry with another notificationId: the week is still claimed.
    clock.advance(2 * 24 * 3600_000);
    const late = await deliverNotification(receiver, notice('2030-W01', 2));
    assert.equal(late.status, 200);
    assert.deepEqual(late.body, { status: 'delivered', posted: 0, updated: 0, skipped: 1 });
    assert.equal(posted.length, 1);
    const next = await deliverNotification(receiver, notice('2030-W02'));
    assert.deepEqual(next.body, { status: 'delivered', posted: 1, updated: 0, skipped: 0 });
    assert.equal(posted.length, 2);
    const card = (posted[1] as { attachments: Array<{ content: AdaptiveCard }> }).attachments[0]!.content;
    assert.match(text(card), /Weekly access KPIs \(2030-W02\)/);
  });

  it('a failed post releases the week, so the sender\'s retry posts it once', async () => {
    const clock = new FakeClock(Date.parse('2030-01-07T09:00:00Z'));
    const store = new MemoryConversationStore();
    const digests = new KpiDigests({ messenger, store, clock, log: silentLog, addresses: { channelReference: async () => ({ conversation: { id: CHANNEL } }) } });
    failNext = true;
    await assert.rejects(digests.deliver(notice('2030-W01')), /Teams is down/);
    assert.equal(posted.length, 0);
    assert.equal((await digests.deliver(notice('2030-W01'))).posted, 1);
    assert.equal((await digests.deliver(notice('2030-W01'))).skipped, 1);
    assert.equal(posted.length, 1);
    // The claim outlives a week, so last week's replay arriving late is still recognized.
    assert.ok(KPI_DIGEST_MEMORY_MS > 7 * 24 * 3600_000);
  });

  it('a malformed digest is refused by the schema and posts nothing', async () => {
    const clock = new FakeClock(Date.parse('2030-01-07T09:00:00Z'));
    const store = new MemoryConversationStore();
    const notifications = new TeamsNotifications({ messenger, store, approvers: new ApproverDirectory([], store), channel: { channelId: CHANNEL, serviceUrl: 'https://smba.example.invalid/teams/', tenantId: TENANT_ID } as never, clock, log: silentLog });
    const receiver = { store, notifications, clock, log: silentLog };
    for (const bad of [{ ...notice('2030-W99') }, { ...notice('2030-W01'), report: { ...report, requests: -1 } }, { ...notice('2030-W01'), report: { ...report, timeToDecision: { count: 1, medianSeconds: Number.NaN } } }]) {
      assert.equal((await deliverNotification(receiver, JSON.parse(JSON.stringify(bad)))).status, 400);
    }
    assert.equal(posted.length, 0);
  });
});
