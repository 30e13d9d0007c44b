/**
 * JitBot with botbuilder's TestAdapter (no HTTP), and the server's authentication switch.
 */
import { strict as assert } from 'node:assert';
import { type Activity, ActivityTypes, TestAdapter } from 'botbuilder';
import { createBotApplication } from '../../bot/app';
import { JitBot } from '../../bot/teams';
import { BridgeClient } from '../../bot/bridge-client';
import { parseBotConfig } from '../../bot/config';
import { systemClock } from '../../bot/delivery';
import { EligibilityCache } from '../../bot/eligibility';
import { IdentityResolver } from '../../bot/identity';
import { silentLog } from '../../bot/log';
import { ApproverDirectory, mentionText } from '../../bot/notifications';
import { requesterSummary } from '../../cards';
import { startBot } from '../../bot/server';
import { MemoryConversationStore } from '../../bot/storage/memory';
import { staticTokenProvider } from '../../bot/token-provider';
import * as svc from '../../core/services';
import { type RealBridge, startRealBridge, TENANT_ID, USERS } from '../support/real-bridge';

const CHANNEL = '19:oncall@thread.tacv2';

describe('bot app (TestAdapter)', () => {
  let bridge: RealBridge;
  let store: MemoryConversationStore;
  let bot: JitBot;

  beforeEach(async () => {
    bridge = await startRealBridge();
    store = new MemoryConversationStore();
    const client = new BridgeClient({ baseUrl: bridge.url, tokens: staticTokenProvider(bridge.token), retryDelayMs: 1 });
    bot = new JitBot({
      bridge: client,
      eligibility: new EligibilityCache(client),
      identity: new IdentityResolver({ getMember: async (_c, id) => ({ aadObjectId: USERS.alice.aadObjectId, userPrincipalName: USERS.alice.upn, name: 'Alice', id }) }),
      store,
      approvers: new ApproverDirectory([USERS.bob.aadObjectId], store),
      clock: systemClock,
      log: silentLog,
      newClientRequestId: () => 'cr-unit-000001',
      oncallChannelId: CHANNEL,
      approverAadObjectIds: [USERS.bob.aadObjectId],
    });
  });
  afterEach(() => bridge.close());

  const base = (over: Partial<Activity> = {}): Partial<Activity> => ({
    channelId: 'msteams',
    serviceUrl: 'https://smba.example.invalid/teams/',
    from: { id: '29:alice', name: 'Alice', aadObjectId: USERS.alice.aadObjectId },
    recipient: { id: '28:bot', name: 'JIT Access' },
    conversation: { id: 'a:alice', conversationType: 'personal', tenantId: TENANT_ID, isGroup: false, name: '' },
    channelData: { tenant: { id: TENANT_ID } },
    ...over,
  });

  it('installing the bot in a personal chat stores the chat and sends the welcome card', async () => {
    const adapter = new TestAdapter((ctx) => bot.run(ctx));
    await adapter
      .send(base({ type: ActivityTypes.ConversationUpdate, membersAdded: [{ id: '28:bot', name: 'JIT Access' }] }) as Activity)
      .assertReply((a) => {
        assert.equal(a.attachments?.[0]?.contentType, 'application/vnd.microsoft.card.adaptive');
        assert.match(JSON.stringify(a.attachments?.[0]?.content), /menu\.request/);
      });
    assert.equal((await store.getUserReference(USERS.alice.aadObjectId))?.conversation?.id, 'a:alice');
  });

  it('a user joining (not the bot) gets nothing', async () => {
    const adapter = new TestAdapter((ctx) => bot.run(ctx));
    await adapter.send(base({ type: ActivityTypes.ConversationUpdate, membersAdded: [{ id: '29:someone', name: 'Someone' }] }) as Activity).startTest();
    assert.equal(adapter.activeQueue.length, 0);
  });

  it('an invoke whose action is not Action.Execute is a 400', async () => {
    const adapter = new TestAdapter((ctx) => bot.run(ctx));
    await adapter
      .send(base({ type: ActivityTypes.Invoke, name: 'adaptiveCard/action', value: { action: { type: 'Action.Submit', verb: 'approval.approve', data: {} } } }) as Activity)
      .assertReply((a) => {
        assert.equal(a.type, 'invokeResponse');
        assert.equal((a.value as { status: number }).status, 400);
      });
    assert.equal(bridge.calls.length, 0);
  });

  it('an empty typeahead query lists the first eligible accounts', async () => {
    const adapter = new TestAdapter((ctx) => bot.run(ctx));
    await adapter
      .send(base({ type: ActivityTypes.Invoke, name: 'application/search', value: { dataset: 'accounts', queryText: '' } }) as Activity)
      .assertReply((a) => {
        const body = (a.value as { body: { value: { results: Array<{ value: string }> } } }).body;
        assert.deepEqual(body.value.results.map((r) => r.value).sort(), ['111111111111', '222222222222', '333333333333']);
      });
  });
});

describe('bot notifications text', () => {
  it('mentions escape names: they are text, not markup', () => {
    const m = mentionText('Approvers:', [{ aadObjectId: 'x', teamsUserId: '29:x', name: 'Eve <script>' }]);
    assert.equal(m.text, 'Approvers: <at>Eve &lt;script&gt;</at>');
    assert.equal((m.entities![0] as unknown as { text: string }).text, '<at>Eve &lt;script&gt;</at>');
    assert.deepEqual(mentionText('Approvers:', []).entities, []);
  });

  it('the requester summary says who decided and why', async () => {
    const bridge = await startRealBridge();
    try {
      const { id } = await bridge.submit(USERS.alice);
      await svc.castVote(bridge.world.deps, { requestId: id, actor: bridge.actorOf(USERS.bob), decision: 'deny', reason: 'use staging' });
      const text = requesterSummary('denied', bridge.view(id));
      assert.equal(text, 'Your request for ReadOnly on prod-payments (111111111111) was denied by Bob Approver: "use staging".');
    } finally {
      await bridge.close();
    }
  });
});

describe('bot server authentication', () => {
  const production = () =>
    parseBotConfig({
      JIT_BOT_MODE: 'production',
      MicrosoftAppId: '11111111-2222-3333-4444-555555555555',
      MicrosoftAppType: 'SingleTenant',
      MicrosoftAppTenantId: '00000000-0000-0000-0000-000000000000',
      MicrosoftAppPassword: 'placeholder-secret',
      JIT_ALLOWED_TENANT_IDS: '00000000-0000-0000-0000-000000000000',
      JIT_BRIDGE_URL: 'https://bridge.example.invalid',
      JIT_BRIDGE_SCOPE: 'api://bridge-app/.default',
      JIT_NOTIFY_SECRET: 'x'.repeat(32),
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: CHANNEL,
      JIT_BOT_STORE_TABLE: 'jit-bot-store',
      JIT_BOT_PORT: '0',
    });

  it('in production an activity without a Bot Framework token is refused with 401 before the bot runs', async () => {
    const bridge = await startRealBridge();
    const running = await startBot(production(), { store: new MemoryConversationStore(), tokens: staticTokenProvider(bridge.token) });
    try {
      const res = await fetch(`${running.url}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'message', text: 'request', channelId: 'msteams', serviceUrl: 'https://smba.example.invalid/', from: { id: '29:x', aadObjectId: USERS.alice.aadObjectId }, recipient: { id: '28:bot' }, conversation: { id: 'a:x', tenantId: '00000000-0000-0000-0000-000000000000' } }),
      });
      assert.equal(res.status, 401);
      assert.equal(bridge.calls.length, 0);
    } finally {
      await running.close();
      await bridge.close();
    }
  });

  it('test mode is explicitly anonymous: the adapter is built without an app registration', async () => {
    const app = await createBotApplication(
      parseBotConfig({ JIT_BOT_MODE: 'test', JIT_ALLOWED_TENANT_IDS: TENANT_ID, JIT_BRIDGE_URL: 'http://127.0.0.1:9', JIT_NOTIFY_SECRET: 'x'.repeat(32), JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2', JIT_ONCALL_CHANNEL_ID: CHANNEL }),
      { tokens: staticTokenProvider('t') },
    );
    assert.ok(app.messages);
    assert.equal(app.store instanceof MemoryConversationStore, true);
  });
});
