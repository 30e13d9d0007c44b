/**
 * The request form against the sandbox's demo policy (sandbox/demo-policy.yaml), end to end over
 * the Bot Framework protocol: the real bot (express + CloudAdapter, test mode) and the real bridge
 * (test/support/real-bridge.ts). The card's own preselected values are submitted exactly as Teams
 * submits an untouched input (its `value`), so a default the bridge refuses fails here.
 *
 * Issue 15: ReadOnly allows at most 5 minutes and the form preselected 10, so the first submit of
 * the untouched form was refused.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Policy } from '../../core/policy/types';
import { parseBotConfig } from '../../bot/config';
import { type RunningBot, startBot } from '../../bot/server';
import { MemoryConversationStore } from '../../bot/storage/memory';
import { staticTokenProvider } from '../../bot/token-provider';
import { parsePolicyText } from '../../infra/policy-file';
import { ConnectorRecorder } from '../support/connector-recorder';
import { type BridgeUser, type RealBridge, startRealBridge, TENANT_ID } from '../support/real-bridge';

type Json = Record<string, unknown>;
type Choice = { title: string; value: string };

const BOT_ID = '28:jit-access-bot';
const DEMO_POLICY = parsePolicyText(readFileSync(join(__dirname, '..', '..', 'sandbox', 'demo-policy.yaml'), 'utf8'), 'yaml').policy;
/** Alice as the demo directory has her: an engineer (placeholder ids). */
const ALICE: BridgeUser = {
  userId: 'u-alice',
  userName: 'alice@example.com',
  upn: 'alice@example.com',
  displayName: 'Alice Adams',
  aadObjectId: '00000000-0000-4000-8000-0000000000a1',
  groups: [{ groupId: 'g-engineers', displayName: 'Engineers' }],
};
const JUSTIFICATION = 'Check the deploy pipeline logs for INC-7';
/** The demo policy asks for a ticket matching (INC|CHG)-[0-9]{1,8} on Admin. */
const TICKET = 'CHG-1234';

/** Every input of a card with the value Teams would submit if the person did not touch it. */
function inputs(card: unknown): Map<string, Json> {
  const found = new Map<string, Json>();
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Json;
      if (typeof o.type === 'string' && o.type.startsWith('Input.') && typeof o.id === 'string') found.set(o.id, o);
      Object.values(o).forEach(walk);
    }
  };
  walk(card);
  return found;
}

function untouched(card: unknown): Json {
  const values: Json = {};
  for (const [id, input] of inputs(card)) values[id] = input.value === undefined ? '' : String(input.value);
  return values;
}

function actionData(card: unknown, verb: string): Json {
  const action = ((card as { actions?: Json[] }).actions ?? []).find((a) => a.verb === verb);
  assert.ok(action, `the card has a ${verb} action`);
  return (action.data ?? {}) as Json;
}

const choices = (card: unknown, id: string): Choice[] => (inputs(card).get(id)?.choices ?? []) as Choice[];

describe('request form: the untouched form submits under the demo policy (bot over HTTP, real bridge)', function () {
  this.timeout(30_000);
  let bridge: RealBridge;
  let connector: ConnectorRecorder;
  let bot: RunningBot;
  let seq = 0;

  async function start(policy: Policy) {
    bridge = await startRealBridge({ policy, users: [ALICE] });
    connector = new ConnectorRecorder();
    await connector.start();
    connector.addMember({ id: `29:${ALICE.userId}`, aadObjectId: ALICE.aadObjectId, name: ALICE.displayName, userPrincipalName: ALICE.upn, email: ALICE.upn });
    const config = parseBotConfig({
      JIT_BOT_MODE: 'test',
      JIT_ALLOWED_TENANT_IDS: TENANT_ID,
      JIT_BRIDGE_URL: bridge.url,
      JIT_BRIDGE_TIMEOUT_MS: '2000',
      JIT_NOTIFY_SECRET: 'test-notify-secret-0123456789-abcdefghij',
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: '19:oncall@thread.tacv2',
      JIT_TEAMS_SERVICE_URL: connector.url,
      JIT_BOT_PORT: '0',
    });
    let n = 0;
    bot = await startBot(config, { tokens: staticTokenProvider(bridge.token), store: new MemoryConversationStore(), retry: { baseDelayMs: 1 }, newClientRequestId: () => `cr-form-${String(++n).padStart(4, '0')}` });
  }

  afterEach(async () => {
    await bot?.close();
    await connector?.close();
    await bridge?.close();
  });

  function activity(o: { type?: string; text?: string; name?: string; value?: unknown }): Json {
    return {
      type: o.type ?? 'message',
      id: `activity-${++seq}`,
      timestamp: new Date().toISOString(),
      channelId: 'msteams',
      serviceUrl: connector.url,
      from: { id: `29:${ALICE.userId}`, name: ALICE.displayName, aadObjectId: ALICE.aadObjectId },
      recipient: { id: BOT_ID, name: 'JIT Access' },
      conversation: { id: `a:personal-${ALICE.userId}`, conversationType: 'personal', tenantId: TENANT_ID },
      channelData: { tenant: { id: TENANT_ID } },
      ...(o.text !== undefined ? { text: o.text } : {}),
      ...(o.name ? { name: o.name } : {}),
      ...(o.value !== undefined ? { value: o.value } : {}),
    };
  }

  async function send(act: Json): Promise<Json | undefined> {
    const res = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(act) });
    assert.equal(res.status, 200);
    const text = await res.text();
    return text ? (JSON.parse(text) as Json) : undefined;
  }

  /** "request" in the 1:1 chat: the fresh form, as the connector received it. */
  async function freshForm(): Promise<Json> {
    await send(activity({ text: 'request' }));
    const cards = connector.cards();
    return cards[cards.length - 1]!.card as Json;
  }

  /** An Action.Execute click: the action's data merged with the card's inputs, as Teams sends it. */
  async function click(verb: string, data: Json): Promise<Json> {
    const body = await send(activity({ type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb, data } } }));
    return (body?.value ?? {}) as Json;
  }

  /** Submits and expects a request to be created, not the form back with an error. */
  async function submitAccepted(label: string, data: Json): Promise<void> {
    const before = bridge.world.requests.items.size;
    const answer = await click('request.submit', { ...data, clientRequestId: `cr-submit-${String(++seq).padStart(4, '0')}` });
    const shown = JSON.stringify(answer);
    assert.equal(bridge.world.requests.items.size, before + 1, `${label}: the bridge created the request; the bot answered ${shown.slice(0, 600)}`);
    assert.ok(!shown.includes('"verb":"request.submit"'), `${label}: not the form again`);
  }

  const needsTicket = (set: string) => set === 'Admin';

  it('fresh form: for every account and permission set the requester picks, the preselected duration is accepted at the first submit', async () => {
    await start(DEMO_POLICY);
    const form = await freshForm();
    const accounts = choices(form, 'accountId');
    const sets = choices(form, 'permissionSetName');
    assert.deepEqual(accounts.map((c) => c.value), ['111111111111', '222222222222']);
    assert.deepEqual(sets.map((c) => c.value), ['ReadOnly', 'PowerUser', 'Admin']);
    const values = untouched(form);
    for (const account of accounts) {
      for (const set of sets) {
        await submitAccepted(`${account.value} ${set.value}`, { ...values, accountId: account.value, permissionSetName: set.value, justification: JUSTIFICATION, ...(needsTicket(set.value) ? { ticketId: TICKET } : {}) });
      }
    }
    assert.equal(values.durationMinutes, '2', 'the demo policy\'s default (PT2M), valid for ReadOnly (at most PT5M)');
  });

  it('after "Refresh choices": each account and permission set is preselected with a duration the bridge accepts untouched', async () => {
    await start(DEMO_POLICY);
    const form = await freshForm();
    for (const account of choices(form, 'accountId')) {
      for (const set of choices(form, 'permissionSetName')) {
        const refreshed = await click('request.form', { ...untouched(form), ...actionData(form, 'request.form'), accountId: account.value, permissionSetName: set.value });
        const values = untouched(refreshed);
        assert.equal(values.accountId, account.value);
        assert.equal(values.permissionSetName, set.value);
        await submitAccepted(`refreshed ${account.value} ${set.value}`, { ...values, ...actionData(refreshed, 'request.submit'), justification: JUSTIFICATION, ...(needsTicket(set.value) ? { ticketId: TICKET } : {}) });
      }
    }
  });

  it('a preselected duration follows the chosen set\'s default on refresh; a typed one is kept', async () => {
    // ReadOnly's default lowered to PT1M: the fresh form preselects 1, PowerUser's default is PT2M.
    const policy: Policy = { ...DEMO_POLICY, rules: DEMO_POLICY.rules.map((r) => (r.id === 'readonly-auto' ? { ...r, defaultDurationSeconds: 60 } : r)) };
    await start(policy);
    const form = await freshForm();
    assert.equal(untouched(form).durationMinutes, '1');
    const pick = { accountId: '111111111111', permissionSetName: 'PowerUser' };
    const preset = await click('request.form', { ...untouched(form), ...actionData(form, 'request.form'), ...pick });
    assert.equal(untouched(preset).durationMinutes, '2', 'PowerUser\'s default replaces the untouched preselection');
    const typed = await click('request.form', { ...untouched(form), ...actionData(form, 'request.form'), ...pick, durationMinutes: '1', presetDurationMinutes: 7 });
    assert.equal(untouched(typed).durationMinutes, '1', 'a duration that differs from the preset was chosen by the requester');
    const forgedPreset = await click('request.form', { ...untouched(form), clientRequestId: 'cr-forged-0001', ...pick, presetDurationMinutes: 'lots' });
    assert.equal(untouched(forgedPreset).durationMinutes, '1', 'an unusable preset is ignored, not an error');
  });

  it('the static account dropdown is only a convenience: an account outside it is still refused by the bridge, and nothing is created', async () => {
    await start(DEMO_POLICY);
    const form = await freshForm();
    const account = inputs(form).get('accountId')!;
    assert.equal(account.style, 'compact', 'two accounts: a plain dropdown');
    assert.equal(account['choices.data'], undefined);
    const answer = await click('request.submit', { ...untouched(form), clientRequestId: 'cr-forged-0002', accountId: '333333333333', permissionSetName: 'ReadOnly', justification: JUSTIFICATION });
    assert.equal(bridge.world.requests.items.size, 0);
    assert.match(JSON.stringify(answer), /333333333333 is not an account managed by JIT access/);
  });
});
