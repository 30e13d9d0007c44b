/**
 * The channel card's sandbox votes ("Sandbox: approve as Carol", verb `sandbox.act`) exist only in
 * sandbox mode. The real bot over HTTP against the real bridge: in any other mode the sandbox
 * acting given to createBotApplication is dropped, so a forged `sandbox.act` invoke is refused
 * before anything is called and changes nothing; in sandbox mode the click becomes one call of the
 * sandbox acting (sandbox/click-act.ts, which runs `sandbox:act`'s own function; its bridge path is
 * tested in sandbox-act.test.ts and, clicked in the UI, by the e2e suite).
 */
import { strict as assert } from 'node:assert';
import { parseBotConfig } from '../../bot/config';
import type { SandboxActing } from '../../bot/handlers';
import { SANDBOX_ONLY_TEXT } from '../../bot/handlers/sandbox-act';
import { type RunningBot, startBot } from '../../bot/server';
import { MemoryConversationStore } from '../../bot/storage/memory';
import { staticTokenProvider } from '../../bot/token-provider';
import { ConnectorRecorder } from '../support/connector-recorder';
import { type BridgeUser, type RealBridge, startRealBridge, TENANT_ID, USERS } from '../support/real-bridge';

type Json = Record<string, unknown>;
const CHANNEL = '19:oncall@thread.tacv2';

/** Records what the bot asks of the sandbox. */
function recordingActing(result: { ok: boolean; lines: string[] }) {
  const calls: Array<[string, string, string]> = [];
  let offered = 0;
  const acting: SandboxActing = {
    actionsFor: () => {
      offered++;
      return [{ person: 'carol', name: 'Carol', decision: 'approve' }];
    },
    act: async (person, decision, requestId) => {
      calls.push([person, decision, requestId]);
      return result;
    },
  };
  return { acting, calls, offered: () => offered };
}

describe('sandbox votes on the channel card: sandbox mode only', function () {
  this.timeout(20_000);
  let bridge: RealBridge;
  let connector: ConnectorRecorder;
  let bot: RunningBot | undefined;
  let seq = 0;

  beforeEach(async () => {
    bridge = await startRealBridge();
    connector = new ConnectorRecorder();
    await connector.start();
    for (const u of Object.values(USERS) as BridgeUser[]) connector.addMember({ id: `29:${u.userId}`, aadObjectId: u.aadObjectId, name: u.displayName, userPrincipalName: u.upn, email: u.upn });
  });
  afterEach(async () => {
    await bot?.close();
    bot = undefined;
    await connector.close();
    await bridge.close();
  });

  const start = async (mode: 'test' | 'sandbox' | 'production', acting: SandboxActing) => {
    const config = parseBotConfig({
      JIT_BOT_MODE: mode,
      JIT_ALLOWED_TENANT_IDS: TENANT_ID,
      JIT_BRIDGE_URL: bridge.url,
      JIT_NOTIFY_SECRET: 'test-notify-secret-0123456789-abcdefghij',
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: CHANNEL,
      JIT_TEAMS_SERVICE_URL: connector.url,
      JIT_APPROVER_AAD_IDS: `${USERS.bob.aadObjectId},${USERS.carol.aadObjectId}`,
      JIT_BOT_PORT: '0',
      JIT_BOT_STORE: 'memory',
    });
    bot = await startBot(config, { tokens: staticTokenProvider(bridge.token), store: new MemoryConversationStore(), retry: { baseDelayMs: 1 }, sandboxActing: acting });
  };

  async function click(user: BridgeUser, verb: string, data: Json) {
    const activity = {
      type: 'invoke',
      name: 'adaptiveCard/action',
      id: `activity-${++seq}`,
      timestamp: new Date().toISOString(),
      channelId: 'msteams',
      serviceUrl: connector.url,
      from: { id: `29:${user.userId}`, name: user.displayName, aadObjectId: user.aadObjectId },
      recipient: { id: '28:jit-access-bot', name: 'JIT Access' },
      conversation: { id: `${CHANNEL};messageid=777`, conversationType: 'channel', isGroup: true, tenantId: TENANT_ID },
      channelData: { tenant: { id: TENANT_ID }, channel: { id: CHANNEL }, team: { id: '19:team@thread.tacv2' } },
      replyToId: 'card-777',
      value: { action: { type: 'Action.Execute', verb, data } },
    };
    const res = await fetch(`${bot!.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
    const text = await res.text();
    return { status: res.status, text };
  }

  it('not in sandbox mode: a forged "sandbox.act" invoke is refused before any call, changes nothing, and no card offers the buttons', async () => {
    const request = await bridge.submit(USERS.alice, { permissionSetName: 'AdministratorAccess', ticketId: 'INC-42' });
    assert.equal(request.state, 'PENDING_APPROVAL');
    const recorded = recordingActing({ ok: true, lines: ['should never run'] });
    await start('test', recorded.acting);
    const callsBefore = bridge.calls.length;
    const votesBefore = bridge.view(request.id).votes.length;
    for (const [person, decision] of [['carol', 'approve'], ['dan', 'deny']] as const) {
      const answer = await click(USERS.alice, 'sandbox.act', { requestId: request.id, person, decision });
      assert.equal(answer.status, 200);
      assert.ok(answer.text.includes(SANDBOX_ONLY_TEXT), answer.text.slice(0, 300));
    }
    assert.deepEqual(recorded.calls, [], 'the sandbox acting was never called');
    assert.equal(bridge.calls.length, callsBefore, 'the bridge was never called');
    assert.equal(bridge.view(request.id).state, 'PENDING_APPROVAL');
    assert.equal(bridge.view(request.id).votes.length, votesBefore);
    // The card a real approver sees (approval.refresh) has no sandbox buttons: they were never asked for.
    const refreshed = await click(USERS.carol, 'approval.refresh', { requestId: request.id });
    assert.doesNotMatch(refreshed.text, /sandbox\.act|Sandbox:/);
    assert.equal(recorded.offered(), 0);
  });

  it('production config: the forged invoke is refused (no Bot Framework token) and the sandbox acting handed in is never used', async () => {
    const recorded = recordingActing({ ok: true, lines: ['should never run'] });
    const config = parseBotConfig({
      JIT_ALLOWED_TENANT_IDS: TENANT_ID,
      JIT_BRIDGE_URL: 'https://bridge.example.com/prod/',
      JIT_NOTIFY_SECRET: 'test-notify-secret-0123456789-abcdefghij',
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: CHANNEL,
      MicrosoftAppId: '00000000-0000-0000-0000-00000000000a',
      MicrosoftAppPassword: 'app-secret',
      MicrosoftAppType: 'SingleTenant',
      MicrosoftAppTenantId: TENANT_ID,
      JIT_BRIDGE_SCOPE: 'api://00000000-0000-0000-0000-00000000000b/.default',
      JIT_BOT_STORE_TABLE: 'jit-bot-store',
      JIT_BOT_HOST: '127.0.0.1',
      JIT_BOT_PORT: '0',
    });
    assert.equal(config.mode, 'production');
    bot = await startBot(config, { tokens: staticTokenProvider('unused'), store: new MemoryConversationStore(), sandboxActing: recorded.acting });
    const answer = await click(USERS.alice, 'sandbox.act', { requestId: 'req-01KB0000000000000000000000', person: 'carol', decision: 'approve' });
    assert.ok(answer.status === 401 || answer.status === 403, `refused: ${answer.status}`);
    assert.deepEqual(recorded.calls, []);
    assert.equal(recorded.offered(), 0);
  });

  it('in sandbox mode: the click is one call of sandbox:act\'s path as that person, and the card says what happened', async () => {
    const request = await bridge.submit(USERS.alice, { permissionSetName: 'AdministratorAccess', ticketId: 'INC-42' });
    const recorded = recordingActing({ ok: false, lines: ['Erin cannot approve: not an approver of this request (NOT_AN_APPROVER)'] });
    await start('sandbox', recorded.acting);
    const answer = await click(USERS.alice, 'sandbox.act', { requestId: request.id, person: 'erin', decision: 'approve' });
    assert.equal(answer.status, 200);
    assert.deepEqual(recorded.calls, [['erin', 'approve', request.id]]);
    assert.match(answer.text, /Erin cannot approve/);
    assert.match(answer.text, /"verb":"sandbox\.act"/, 'the card keeps its sandbox buttons for the next try');
    assert.ok(!answer.text.includes(SANDBOX_ONLY_TEXT));
  });

  it('the data is checked like any card action: an unknown person key or decision is refused before the sandbox is asked', async () => {
    const request = await bridge.submit(USERS.alice, { permissionSetName: 'AdministratorAccess', ticketId: 'INC-42' });
    const recorded = recordingActing({ ok: true, lines: [] });
    await start('sandbox', recorded.acting);
    for (const data of [{ requestId: request.id, person: 'Carol; rm', decision: 'approve' }, { requestId: request.id, person: 'carol', decision: 'escalate' }]) {
      const answer = await click(USERS.alice, 'sandbox.act', data);
      assert.equal(answer.status, 200);
    }
    assert.deepEqual(recorded.calls, []);
  });
});
