/**
 * The bot's side of reminders and escalation (bot/notifications/reminders.ts), over real HTTP to a
 * recording connector as strict as Teams (mentions whose tag is missing from the text, rate limits,
 * sizes): the reply lands in the approval card's thread; Teams tags are mentioned when the policy
 * names one; people are capped; approvers who voted are not nagged; an escalation channel gets a
 * copy of the approval card that later changes update in place; many reminders at once stay within
 * the per-thread limits because they go through the bot's pacer.
 */
import { strict as assert } from 'node:assert';
import type { NotificationBody } from '../../contract/notify';
import { signNotification } from '../../contract/notify-signature';
import type { AccessRequest } from '../../core/model';
import { parseBotConfig } from '../../bot/config';
import { REMINDER_MENTION_CAP } from '../../bot/notifications/reminders';
import { type RunningBot, startBot } from '../../bot/server';
import { MemoryConversationStore } from '../../bot/storage/memory';
import { staticTokenProvider } from '../../bot/token-provider';
import { ConnectorRecorder, type RecordedConnectorCall } from '../support/connector-recorder';
import { type BridgeUser, type RealBridge, startRealBridge, TENANT_ID, USERS } from '../support/real-bridge';

const CHANNEL = '19:oncall@thread.tacv2';
const ESCALATION_CHANNEL = '19:escalations@thread.tacv2';
const SECRET = 'test-notify-secret-0123456789-abcdefghij';
const BOT_ID = '28:jit-access-bot';
const LEADS_TAG = { id: 'MjQzMmYzYzEtZDk2Ny00ZDM4LTk3MTEtNmM5MGQ5M2E0NTZh', name: 'Platform Leads' };

type Entity = { type: string; text: string; mentioned: { id: string; name: string; type?: string } };

describe('bot: reminders and escalation posts', function () {
  this.timeout(30_000);
  let bridge: RealBridge;
  let connector: ConnectorRecorder;
  let bot: RunningBot;
  let seq = 0;

  const start = async (approvers: string) => {
    const config = parseBotConfig({
      JIT_BOT_MODE: 'test',
      JIT_ALLOWED_TENANT_IDS: TENANT_ID,
      JIT_BRIDGE_URL: bridge.url,
      JIT_NOTIFY_SECRET: SECRET,
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: CHANNEL,
      JIT_TEAMS_SERVICE_URL: connector.url,
      JIT_APPROVER_AAD_IDS: approvers,
      JIT_BOT_PORT: '0',
    });
    bot = await startBot(config, { tokens: staticTokenProvider(bridge.token), store: new MemoryConversationStore(), retry: { baseDelayMs: 1 } });
  };

  beforeEach(async () => {
    bridge = await startRealBridge();
    connector = new ConnectorRecorder();
    await connector.start();
    for (const u of Object.values(USERS) as BridgeUser[]) connector.addMember({ id: `29:${u.userId}`, aadObjectId: u.aadObjectId, name: u.displayName, userPrincipalName: u.upn, email: u.upn });
    await start(`${USERS.bob.aadObjectId},${USERS.carol.aadObjectId}`);
    // Alice's 1:1 chat with the bot: where she is told.
    const hello = { type: 'message', id: `a-${++seq}`, channelId: 'msteams', serviceUrl: connector.url, from: { id: `29:${USERS.alice.userId}`, name: USERS.alice.displayName, aadObjectId: USERS.alice.aadObjectId }, recipient: { id: BOT_ID, name: 'JIT Access' }, conversation: { id: 'a:personal-alice', conversationType: 'personal', tenantId: TENANT_ID }, channelData: { tenant: { id: TENANT_ID } }, text: 'help' };
    assert.equal((await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hello) })).status, 200);
  });
  afterEach(async () => {
    await bot.close();
    await connector.close();
    await bridge.close();
  });

  async function notify(event: NotificationBody extends infer B ? (B extends { kind: 'request'; event: infer E } ? E : never) : never, request: AccessRequest): Promise<void> {
    const body: NotificationBody = { kind: 'request', event, request, notificationId: `n-${event}-${++seq}` };
    const raw = JSON.stringify(body);
    const res = await fetch(`${bot.url}/api/notify`, { method: 'POST', headers: signNotification(SECRET, raw, Date.now()), body: raw });
    assert.equal(res.status, 200, await res.text());
  }

  /** A pending request whose approval card is posted; returns its view and the card's thread. */
  async function posted(terms: AccessRequest['terms']['reminders'], over: Parameters<RealBridge['submit']>[1] = {}): Promise<{ view: AccessRequest; thread: string }> {
    const req = await bridge.submit(USERS.alice, over);
    const view: AccessRequest = { ...bridge.view(req.id), cardPostedAt: new Date().toISOString(), terms: { ...bridge.view(req.id).terms, ...(terms ? { reminders: terms } : {}) } };
    await notify('approval_requested', view);
    const create = connector.writes().find((c) => c.path === '/v3/conversations' && JSON.stringify(c.body).includes(req.id));
    assert.ok(create, 'the approval card thread');
    return { view, thread: create.conversationId! };
  }

  const next = (v: AccessRequest, over: Partial<AccessRequest>): AccessRequest => ({ ...v, version: v.version + 1, ...over });
  const replies = (thread: string): RecordedConnectorCall[] => connector.writes().filter((c) => c.method === 'POST' && c.conversationId === thread && c.path.endsWith('/activities'));
  const entities = (c: RecordedConnectorCall) => (c.body?.entities ?? []) as Entity[];
  const toAlice = () => connector.writes().filter((c) => c.conversationId === 'a:personal-alice' && typeof c.body?.text === 'string').map((c) => String(c.body!.text));

  it('mentions the approvers who can still decide: not the requester, not those who voted', async () => {
    const { view, thread } = await posted({ afterSeconds: 900 });
    const bobVoted = { approver: { userId: USERS.bob.userId, userName: USERS.bob.userName, displayName: USERS.bob.displayName, aadObjectId: USERS.bob.aadObjectId }, decision: 'approve' as const, at: new Date().toISOString() };
    await notify('reminder', next(view, { votes: [bobVoted], reminders: { sent: 1, lastAt: new Date().toISOString() } }));
    const [reply] = replies(thread);
    assert.ok(reply);
    assert.deepEqual(entities(reply).map((e) => e.mentioned.name), [USERS.carol.displayName]);
    assert.equal(entities(reply)[0]!.mentioned.id, `29:${USERS.carol.userId}`);
    assert.ok(String(reply.body?.text).includes(entities(reply)[0]!.text));
    assert.ok(toAlice().some((t) => /reminded the on-call approvers \(1\) in the approval thread/.test(t)), toAlice().join(' | '));
    assert.deepEqual(connector.refusals(), []);
  });

  it('mentions the Teams tag instead of people when the policy names one', async () => {
    const { view, thread } = await posted({ afterSeconds: 900, tag: { id: 'b25jYWxs', name: 'On-call <AWS>' } });
    await notify('reminder', next(view, { reminders: { sent: 1, lastAt: new Date().toISOString() } }));
    const [reply] = replies(thread);
    assert.deepEqual(entities(reply!), [{ type: 'mention', text: '<at>On-call &lt;AWS&gt;</at>', mentioned: { id: 'b25jYWxs', name: 'On-call <AWS>', type: 'tag' } }]);
    assert.ok(toAlice().some((t) => t.includes('reminded @On-call <AWS>')));
    assert.deepEqual(connector.refusals(), []);
  });

  it(`caps the people mentioned at ${REMINDER_MENTION_CAP} and says how many more`, async () => {
    await bot.close();
    const many = Array.from({ length: 25 }, (_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`);
    await start([USERS.alice.aadObjectId, ...many].join(','));
    const { view, thread } = await posted({ afterSeconds: 900 });
    await notify('reminder', next(view, { reminders: { sent: 1, lastAt: new Date().toISOString() } }));
    const [reply] = replies(thread);
    assert.equal(entities(reply!).length, REMINDER_MENTION_CAP);
    assert.ok(!entities(reply!).some((e) => e.mentioned.id.includes(USERS.alice.aadObjectId) || e.mentioned.id === `29:${USERS.alice.userId}`), 'never the requester');
    assert.match(String(reply!.body?.text), / and 5 more$/);
    // Looking up 25 approvers in the roster meets its 14-per-second limit (a GET the sender retries); no write is refused.
    assert.deepEqual(connector.refusals().filter((c) => c.method !== 'GET'), []);
  });

  it('escalation to a channel: a copy of the approval card with the tag mentioned; later changes update it in place', async () => {
    const terms = { afterSeconds: 900, escalation: { afterSeconds: 2700, groups: ['platform-leads'], channelId: ESCALATION_CHANNEL, tag: LEADS_TAG } };
    const { view, thread } = await posted(terms);
    const escalated = next(view, { reminders: { sent: 3, lastAt: new Date().toISOString(), escalation: { at: new Date().toISOString(), groups: ['platform-leads'], channelId: ESCALATION_CHANNEL } } });
    await notify('escalated', escalated);
    const created = connector.writes().filter((c) => c.path === '/v3/conversations' && (c.body?.channelData as { channel?: { id?: string } } | undefined)?.channel?.id === ESCALATION_CHANNEL);
    assert.equal(created.length, 1, 'one new thread in the escalation channel');
    const activity = created[0]!.body?.activity as { text?: string; attachments: Array<{ content: { body: Array<{ text?: string }>; msteams?: { entities?: Entity[] } } }> };
    // The lead and its mentions are in the card (bot/notifications/activities.ts mentionsInCard).
    assert.equal(activity.text, undefined);
    assert.match(String(activity.attachments[0]!.content.body[0]!.text), /^Escalated access request: Alice Requester asks for/);
    assert.deepEqual((activity.attachments[0]!.content.msteams?.entities ?? []).map((e) => e.mentioned), [{ ...LEADS_TAG, type: 'tag' }]);
    assert.ok(JSON.stringify(activity.attachments[0]!.content).includes('approval.refresh'), 'the approval card');
    const [reply] = replies(thread).filter((c) => String(c.body?.text).startsWith('Escalated: '));
    assert.ok(reply, 'the escalation is said in the original thread too');
    assert.match(String(reply.body?.text), /Members of platform-leads may approve it from now on\. It was also posted in the escalation channel\./);
    assert.ok(toAlice().some((t) => /escalated to platform-leads and the escalation channel/.test(t)), toAlice().join(' | '));

    // Decided: the escalation channel's card is updated in place, and nothing more is posted there.
    await notify('approved', next(escalated, { state: 'APPROVED', decidedAt: new Date().toISOString() }));
    const escalationThread = created[0]!.conversationId!;
    assert.equal(connector.writes().filter((c) => c.method === 'PUT' && c.conversationId === escalationThread).length, 1);
    assert.deepEqual(connector.refusals(), []);
  });

  it('reminders for many requests at once stay within Teams\' per-thread limits (the pacer holds them)', async () => {
    const views: AccessRequest[] = [];
    const kinds = [
      { accountId: '111111111111', permissionSetName: 'ReadOnly' },
      { accountId: '111111111111', permissionSetName: 'AdministratorAccess', ticketId: 'INC-1' },
      { accountId: '222222222222', permissionSetName: 'PowerUser' },
      { accountId: '333333333333', permissionSetName: 'ReadOnly' },
    ];
    for (const k of kinds) views.push((await posted({ afterSeconds: 900 }, k)).view);
    await Promise.all(views.map((v) => notify('reminder', next(v, { reminders: { sent: 1, lastAt: new Date().toISOString() } }))));
    assert.equal(connector.writes().filter((c) => c.method === 'POST' && c.path.endsWith('/activities') && (c.conversationId ?? '').startsWith(`${CHANNEL};messageid=`)).length, 4);
    assert.deepEqual(connector.refusals(), [], 'no 429 from the connector');
  });
});
