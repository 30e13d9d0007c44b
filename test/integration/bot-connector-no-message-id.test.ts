/**
 * A connector that accepts a message without returning its id. The Agents Playground does this:
 * it splits an activity with text and a card into two messages and answers 202 with no body
 * (its sendToConversation: `statusCode: resIds.length === 1 ? 201 : 202`). Real Teams returns an
 * id, but the bot must not treat a delivered message as a failure: that made every requester
 * notice fail with "Teams did not return the id of the sent message" and be retried forever.
 */
import { strict as assert } from 'node:assert';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { NotificationBody } from '../../contract/notify';
import { parseBotConfig } from '../../bot/config';
import { signNotification } from '../../contract/notify-signature';
import { type RunningBot, startBot } from '../../bot/server';
import { MemoryConversationStore } from '../../bot/storage/memory';
import { staticTokenProvider } from '../../bot/token-provider';
import { type BridgeUser, type RealBridge, startRealBridge, TENANT_ID, USERS } from '../support/real-bridge';

const CHANNEL = '19:oncall@thread.tacv2';
const SECRET = 'test-notify-secret-0123456789-abcdefghij';
type Json = Record<string, unknown>;
interface Call {
  method: string;
  path: string;
  status: number;
  body: Json;
}

/** Answers proactive sends like the playground: 202 and no body when an activity becomes several messages, or always (`ids: 'never'`). */
class IdlessConnector {
  readonly calls: Call[] = [];
  ids: 'playground' | 'never' = 'playground';
  private server?: Server;
  private seq = 5000;
  url = '';

  async start(): Promise<void> {
    const app = express();
    app.use(express.json({ limit: '1mb' }));
    const record = (req: express.Request, status: number) => this.calls.push({ method: req.method, path: req.path, status, body: (req.body ?? {}) as Json });
    app.post('/v3/conversations/:id/activities', (req, res) => {
      const body = req.body as { text?: string; attachments?: unknown[] };
      const messages = (body.text ? 1 : 0) + (body.attachments?.length ?? 0);
      if (this.ids === 'never' || messages > 1) {
        record(req, 202);
        return void res.status(202).send();
      }
      record(req, 201);
      res.status(201).json({ id: String(this.seq++) });
    });
    app.post('/v3/conversations/:id/activities/:replyToId', (req, res) => {
      record(req, 201);
      res.status(201).json({ id: String(this.seq++) });
    });
    app.put('/v3/conversations/:id/activities/:activityId', (req, res) => {
      record(req, 200);
      res.status(200).json({ id: req.params.activityId });
    });
    app.get('/v3/conversations/:id/members/:userId', (req, res) => {
      const u = (Object.values(USERS) as BridgeUser[]).find((x) => `29:${x.userId}` === req.params.userId);
      record(req, u ? 200 : 404);
      if (!u) return void res.status(404).json({ error: { code: 'MemberNotFoundInConversation', message: 'no' } });
      res.json({ id: req.params.userId, aadObjectId: u.aadObjectId, name: u.displayName, userPrincipalName: u.upn, email: u.upn, givenName: u.displayName.split(' ')[0], surname: '', userRole: 'user' });
    });
    app.use((req, res) => {
      record(req, 404);
      res.status(404).json({ error: { code: 'NotFound', message: `${req.method} ${req.path}` } });
    });
    await new Promise<void>((resolve) => {
      this.server = app.listen(0, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/`;
  }

  proactive(): Call[] {
    return this.calls.filter((c) => c.method === 'POST' && /^\/v3\/conversations\/[^/]+\/activities$/.test(c.path));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections?.();
  }
}

describe('bot: a connector that returns no message id', function () {
  this.timeout(20_000);
  let bridge: RealBridge;
  let connector: IdlessConnector;
  let bot: RunningBot;
  let store: MemoryConversationStore;
  let n = 0;

  beforeEach(async () => {
    bridge = await startRealBridge();
    connector = new IdlessConnector();
    await connector.start();
    store = new MemoryConversationStore();
    const config = parseBotConfig({
      JIT_BOT_MODE: 'test',
      JIT_ALLOWED_TENANT_IDS: TENANT_ID,
      JIT_BRIDGE_URL: bridge.url,
      JIT_NOTIFY_SECRET: SECRET,
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: CHANNEL,
      JIT_TEAMS_SERVICE_URL: connector.url,
      JIT_BOT_PORT: '0',
    });
    bot = await startBot(config, { tokens: staticTokenProvider(bridge.token), store, retry: { baseDelayMs: 1 } });
    // Alice has talked to the bot, so her 1:1 reference is known.
    const hello = {
      type: 'message',
      id: 'activity-1',
      channelId: 'msteams',
      serviceUrl: connector.url,
      from: { id: `29:${USERS.alice.userId}`, name: USERS.alice.displayName, aadObjectId: USERS.alice.aadObjectId },
      recipient: { id: '28:jit-access-bot', name: 'JIT Access' },
      conversation: { id: 'a:personal-alice', conversationType: 'personal', tenantId: TENANT_ID },
      channelData: { tenant: { id: TENANT_ID } },
      text: 'hello',
    };
    const res = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hello) });
    assert.ok(res.status < 300);
    assert.ok(await store.getUserReference(USERS.alice.aadObjectId));
  });
  afterEach(async () => {
    await bot.close();
    await connector.close();
    await bridge.close();
  });

  async function notify(event: 'submitted' | 'active' | 'denied' | 'revoked', id: string): Promise<Response> {
    const body: NotificationBody = { kind: 'request', event, request: bridge.view(id), notificationId: `n-${event}-${++n}` };
    const raw = JSON.stringify(body);
    return fetch(`${bot.url}/api/notify`, { method: 'POST', headers: signNotification(SECRET, raw, Date.now()), body: raw });
  }


  it('the requester notice (text + card: two messages, 202, no id) is delivered once and acknowledged, not retried', async () => {
    const req = await bridge.submit(USERS.alice);
    await bridge.moveTo(req.id, 'DENIED');
    const res = await notify('denied', req.id);
    assert.equal(res.status, 200, 'a delivered message is a success');
    const sent = connector.proactive().filter((c) => c.status === 202);
    assert.equal(sent.length, 1, 'sent once, no retries');
    assert.match(String(sent[0]!.body.text), /was denied/);
  });

  it('a tracked card posted without an id is posted again on the next change instead of updated, and not for a stale one', async () => {
    connector.ids = 'never';
    const req = await bridge.submit(USERS.alice);
    assert.equal((await notify('submitted', req.id)).status, 200);
    const record = await store.getCard(req.id, 'status');
    assert.ok(record, 'the card is tracked');
    assert.equal(record.activityId, undefined);
    assert.equal(record.conversationId, 'a:personal-alice');
    assert.equal(connector.proactive().length, 1);

    // The same version again (a replayed event): nothing new.
    assert.equal((await notify('submitted', req.id)).status, 200);
    assert.equal(connector.proactive().length, 1);

    await bridge.moveTo(req.id, 'REVOKED');
    assert.equal((await notify('revoked', req.id)).status, 200);
    assert.equal(connector.calls.filter((c) => c.method === 'PUT').length, 0, 'nothing to update in place');
    const after = connector.proactive();
    assert.equal(after.length, 3, 'a fresh status card plus the "revoked" notice');
    assert.ok(after.slice(1).some((c) => !c.body.text && JSON.stringify(c.body).includes('AdaptiveCard')), 'the fresh status card');
    assert.equal((await store.getCard(req.id, 'status'))!.renderedVersion, bridge.view(req.id).version);
  });

  it('with an id the status card is still updated in place', async () => {
    const req = await bridge.submit(USERS.alice);
    assert.equal((await notify('submitted', req.id)).status, 200);
    const record = await store.getCard(req.id, 'status');
    assert.ok(record?.activityId, 'a card alone is one message: the playground returns its id');
    await bridge.moveTo(req.id, 'ACTIVE');
    assert.equal((await notify('active', req.id)).status, 200);
    const put = connector.calls.filter((c) => c.method === 'PUT');
    assert.equal(put.length, 1);
    assert.ok(put[0]!.path.endsWith(`/activities/${record.activityId}`));
  });
});
