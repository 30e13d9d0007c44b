/**
 * Hostile input at the bot's two doors, over real HTTP: fuzzed Action.Execute data for every card
 * verb, activities from tenants that are not allowed, and notify calls with bad, stale or replayed
 * signatures. Every case must get a clear answer (never a 5xx, never a crash) and change nothing:
 * the bridge sees no state change and Teams receives no message.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { parseBotConfig } from '../../bot/config';
import { NOTIFY_REPLAY_WINDOW_MS, signNotification } from '../../contract/notify-signature';
import { type RunningBot, startBot } from '../../bot/server';
import { MemoryConversationStore } from '../../bot/storage/memory';
import { staticTokenProvider } from '../../bot/token-provider';
import { ALL_CARD_VERBS } from '../../cards';
import { ConnectorRecorder } from '../support/connector-recorder';
import { type BridgeUser, type RealBridge, startRealBridge, TENANT_ID, USERS } from '../support/real-bridge';

const SECRET = 'test-notify-secret-0123456789-abcdefghij';
const CHANNEL = '19:oncall@thread.tacv2';
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);

/** Strings an attacker would try: template injection, markup, huge, invalid unicode, control characters. */
const nasty = fc.oneof(
  fc.constantFrom('${requester.userId}', '${$root.taskToken}', '{{DATE(2020-01-01T00:00:00Z)}}', '<script>alert(1)</script>', '**bold** [x](https://evil.example)', '\u0000\u0007', '\ud800', 'a'.repeat(100 * 1024), '', ' ', 'req-000000000001', '-1', '1e309', 'NaN'),
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: 64 }),
);
const value = fc.oneof(nasty, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(nasty, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), nasty, { maxKeys: 3 }));
const forgedData = fc.record(
  {
    requestId: fc.oneof(nasty, fc.constantFrom('req-FORGED00000000', 'req-doesnotexist1234', '../../requests')),
    version: fc.oneof(fc.integer(), nasty),
    reason: nasty,
    reviewNote: nasty,
    additionalMinutes: fc.oneof(fc.integer({ min: -1_000_000, max: 0 }), fc.integer({ min: 100_000, max: 2 ** 31 }), fc.double(), nasty),
    clientRequestId: nasty,
    accountId: fc.oneof(nasty, fc.constantFrom('999999999999', '11111111111', '1111111111111')),
    permissionSetName: nasty,
    durationMinutes: fc.oneof(fc.integer({ min: -1_000_000, max: 0 }), fc.integer({ min: 1_000_000 }), nasty),
    justification: fc.oneof(fc.constantFrom('', 'short', 'x'.repeat(501), 'bad\u0000byte', '\udfff lone'), nasty),
    ticketId: nasty,
    breakGlass: value,
    // Forged identity: must be ignored, the actor comes from the activity.
    actor: value,
    userId: value,
    aadObjectId: value,
    taskToken: value,
    decision: value,
  },
  { requiredKeys: [] },
);

describe('hardening: hostile input at the bot (fast-check, real HTTP)', function () {
  this.timeout(600_000);
  let bridge: RealBridge;
  let connector: ConnectorRecorder;
  let bot: RunningBot;
  let seq = 0;
  let pendingId = '';

  before(async () => {
    bridge = await startRealBridge();
    connector = new ConnectorRecorder();
    await connector.start();
    for (const u of Object.values(USERS) as BridgeUser[]) connector.addMember({ id: `29:${u.userId}`, aadObjectId: u.aadObjectId, name: u.displayName, userPrincipalName: u.upn, email: u.upn });
    const config = parseBotConfig({
      JIT_BOT_MODE: 'test',
      JIT_ALLOWED_TENANT_IDS: TENANT_ID,
      JIT_BRIDGE_URL: bridge.url,
      JIT_BRIDGE_TIMEOUT_MS: '2000',
      JIT_NOTIFY_SECRET: SECRET,
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: CHANNEL,
      JIT_TEAMS_SERVICE_URL: connector.url,
      JIT_BOT_PORT: '0',
    });
    bot = await startBot(config, { tokens: staticTokenProvider(bridge.token), store: new MemoryConversationStore(), retry: { baseDelayMs: 1 } });
    pendingId = (await bridge.submit(USERS.alice)).id;
  });
  after(async () => {
    await bot?.close();
    await connector?.close();
    await bridge?.close();
  });

  const activity = (user: BridgeUser, tenant: string, extra: Record<string, unknown>) => ({
    id: `activity-${++seq}`,
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: connector.url,
    from: { id: `29:${user.userId}`, name: user.displayName, aadObjectId: user.aadObjectId },
    recipient: { id: '28:jit-access-bot', name: 'JIT Access' },
    conversation: { id: `a:personal-${user.userId}`, conversationType: 'personal', tenantId: tenant },
    channelData: { tenant: { id: tenant } },
    ...extra,
  });

  async function post(path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
    const res = await fetch(`${bot.url}${path}`, { method: 'POST', headers, body });
    return { status: res.status, text: await res.text() };
  }

  // The whole backend state a forged call could touch: requests (with their outboxes), audit, grants, schedules.
  const snapshot = () => {
    const w = bridge.world;
    return JSON.stringify([[...w.requests.items.entries()], w.audit.events.length, [...w.ledger.entries.entries()], [...w.scheduler.schedules.entries()], w.workflow.resumed.length]);
  };
  const mutatingBridgeCalls = () => bridge.calls.filter((c) => c.method !== 'GET').length;

  for (const verb of ALL_CARD_VERBS) {
    it(`${verb}: ${RUNS} forged payloads each get a clear answer and change nothing`, async () => {
      const before = snapshot();
      const connectorBefore = connector.calls.length;
      const postsBefore = mutatingBridgeCalls();
      await fc.assert(
        fc.asyncProperty(forgedData, fc.constantFrom(USERS.mallory, USERS.alice), async (data, user) => {
          // Never a valid vote on the seeded request from someone who may cast it.
          if (data.requestId === pendingId) data.requestId = 'req-FORGED00000000';
          const r = await post('/api/messages', JSON.stringify(activity(user, TENANT_ID, { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb, data } } })));
          assert.ok(r.status < 500, `5xx for ${verb}: ${r.status} ${r.text.slice(0, 200)}`);
          const body = JSON.parse(r.text) as { statusCode?: number; type?: string; value?: unknown };
          assert.ok(body.statusCode === 200 || body.statusCode === 400, `invoke status ${body.statusCode}: ${r.text.slice(0, 300)}`);
          assert.ok(body.type === 'application/vnd.microsoft.card.adaptive' || body.type === 'application/vnd.microsoft.error', `answer type ${body.type}`);
          // Whatever was sent, no secret or forged identity comes back.
          assert.ok(!/"taskToken"\s*:/.test(r.text), `a task token in the answer: ${r.text.slice(0, 400)}`);
        }),
        { numRuns: RUNS, seed: 7 },
      );
      assert.equal(snapshot(), before, 'the bridge state is unchanged');
      const accepted = bridge.calls.slice(postsBefore).filter((c) => c.method !== 'GET');
      // Calls may reach the bridge (which then refuses them); none may have changed anything.
      void accepted;
      const proactive = connector.calls.slice(connectorBefore).filter((c) => c.method === 'POST' && !/activities\/[^/]+$/.test(c.path));
      assert.equal(proactive.length, 0, 'nothing was posted proactively');
    });
  }

  it(`activities from ${RUNS} tenants that are not on the allow-list are refused and reach nothing`, async () => {
    const callsBefore = bridge.calls.length;
    const connectorBefore = connector.calls.length;
    await fc.assert(
      fc.asyncProperty(fc.uuid(), fc.constantFrom('message', 'invoke'), nasty, async (tenant, type, text) => {
        fc.pre(tenant !== TENANT_ID);
        const extra = type === 'message' ? { type, text } : { type, name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'approval.approve', data: { requestId: pendingId, version: 1 } } } };
        const r = await post('/api/messages', JSON.stringify(activity(USERS.bob, tenant, extra)));
        assert.ok(r.status < 500);
      }),
      { numRuns: RUNS, seed: 11 },
    );
    assert.equal(bridge.calls.length, callsBefore, 'nothing reached the bridge');
    assert.equal(connector.calls.length, connectorBefore, 'nothing was sent to Teams');
  });

  describe('notify endpoint', () => {
    const validBody = (id: string) => JSON.stringify({ kind: 'findings', notificationId: id, findings: [{ id: 'f-1', severity: 'HIGH', title: 'x', resourceId: 'r', accountId: '111111111111', productName: 'Security Hub', updatedAt: '2030-01-01T00:00:00.000Z' }] });

    it(`${RUNS} bodies that break the schema are refused with 400 and post nothing`, async () => {
      const before = connector.calls.length;
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.json(), fc.constantFrom('{"kind":"request"}', '[]', 'null', '{"kind":"findings","findings":[],"notificationId":"n-12345678"}')), async (raw) => {
          const r = await post('/api/notify', raw, signNotification(SECRET, raw, Date.now()));
          assert.ok(r.status === 400 || r.status === 415, `status ${r.status} for ${raw.slice(0, 80)}`);
        }),
        { numRuns: RUNS, seed: 13 },
      );
      assert.equal(connector.calls.length, before);
    });

    it(`${RUNS} bad signatures are refused with 401 and post nothing`, async () => {
      const before = connector.calls.length;
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 80 }), fc.constantFrom('wrong-secret', SECRET), fc.integer({ min: -3_600_000, max: 3_600_000 }), async (garbage, key, skew) => {
          const raw = validBody(`n-fuzz-${++seq}`);
          const headers = signNotification(key, raw, Date.now() + skew);
          const tamper = garbage.length % 2 === 0;
          // Skews within a second of the replay window's edge are ambiguous: leave them out.
          fc.pre(Math.abs(Math.abs(skew) - NOTIFY_REPLAY_WINDOW_MS) > 1000);
          fc.pre(tamper || key !== SECRET || Math.abs(skew) > NOTIFY_REPLAY_WINDOW_MS);
          const r = await post('/api/notify', raw, tamper ? { ...headers, 'x-jit-signature': garbage } : headers);
          assert.equal(r.status, 401, r.text);
        }),
        { numRuns: RUNS, seed: 17 },
      );
      assert.equal(connector.calls.length, before);
    });

    it('a replayed notification is refused with 409 and posts once', async () => {
      const raw = validBody('n-replay-000001');
      const headers = signNotification(SECRET, raw, Date.now());
      const first = await post('/api/notify', raw, headers);
      const posted = connector.calls.length;
      const again = await post('/api/notify', raw, headers);
      assert.equal(first.status, 200, first.text);
      assert.equal(again.status, 409);
      assert.equal(connector.calls.length, posted);
    });

    it('a body changed after signing is refused', async () => {
      const raw = validBody('n-tamper-000001');
      const headers = signNotification(SECRET, raw, Date.now());
      const r = await post('/api/notify', raw.replace('HIGH', 'LOW'), headers);
      assert.equal(r.status, 401);
    });
  });
});
