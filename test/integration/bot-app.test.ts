/**
 * The real bot (express + CloudAdapter in test mode, i.e. anonymous) driven with real HTTP on
 * 127.0.0.1, talking to the real bridge over the in-memory world (test/support/real-bridge.ts) and
 * to a recording Bot Framework connector.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTOR_HEADERS } from '../../contract/bridge';
import { type NotificationBody } from '../../contract/notify';
import { REQUEST_STATES, type RequestState } from '../../core/model';
import { parseBotConfig } from '../../bot/config';
import { signNotification } from '../../contract/notify-signature';
import { type RunningBot, startBot } from '../../bot/server';
import { FileConversationStore } from '../../bot/storage/file';
import { MemoryConversationStore } from '../../bot/storage/memory';
import type { ConversationStore } from '../../bot/storage/types';
import { staticTokenProvider } from '../../bot/token-provider';
import { ConnectorRecorder } from '../support/connector-recorder';
import { hasLiveLink, markdownTexts } from '../support/markdown-check';
import { type BridgeUser, type RealBridge, startRealBridge, TENANT_ID, USERS } from '../support/real-bridge';

const CHANNEL = '19:oncall@thread.tacv2';
const SECRET = 'test-notify-secret-0123456789-abcdefghij';
const OTHER_TENANT = '99999999-9999-9999-9999-999999999999';
const BOT_ID = '28:jit-access-bot';

type Json = Record<string, unknown>;


/** A channel post's lead and @mentions live in its card (bot/notifications/activities.ts mentionsInCard). */
function postedMentions(activity: Json): { text: string; entities: Array<{ text: string; mentioned: { id: string; name: string } }> } {
  const card = ((activity.attachments as Json[])[0] as { content: { body: Array<{ type: string; text?: string }>; msteams?: { entities?: Array<{ text: string; mentioned: { id: string; name: string } }> } } }).content;
  assert.equal(activity.text, undefined, 'no message text beside the card');
  return { text: String(card.body[0]!.text), entities: card.msteams?.entities ?? [] };
}

describe('bot app over HTTP (test mode)', function () {
  this.timeout(20_000);
  let bridge: RealBridge;
  let connector: ConnectorRecorder;
  let bot: RunningBot;
  let store: ConversationStore;
  let seq = 0;

  const config = (over: Record<string, string> = {}) =>
    parseBotConfig({
      JIT_BOT_MODE: 'test',
      JIT_ALLOWED_TENANT_IDS: TENANT_ID,
      JIT_BRIDGE_URL: bridge.url,
      JIT_BRIDGE_TIMEOUT_MS: '600',
      JIT_NOTIFY_SECRET: SECRET,
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: CHANNEL,
      JIT_TEAMS_SERVICE_URL: connector.url,
      JIT_ACCESS_PORTAL_URL: 'https://d-1111111111.awsapps.com/start',
      JIT_APPROVER_AAD_IDS: `${USERS.bob.aadObjectId},${USERS.carol.aadObjectId}`,
      JIT_BOT_PORT: '0',
      ...over,
    });

  const start = async (s: ConversationStore = store) => {
    let n = 0;
    bot = await startBot(config(), { tokens: staticTokenProvider(bridge.token), store: s, retry: { baseDelayMs: 1 }, newClientRequestId: () => `cr-test-${String(++n).padStart(4, '0')}` });
  };

  beforeEach(async () => {
    bridge = await startRealBridge();
    connector = new ConnectorRecorder();
    await connector.start();
    for (const u of Object.values(USERS) as BridgeUser[]) connector.addMember({ id: `29:${u.userId}`, aadObjectId: u.aadObjectId, name: u.displayName, userPrincipalName: u.upn, email: u.upn });
    store = new MemoryConversationStore();
    await start();
  });
  afterEach(async () => {
    await bot.close();
    await connector.close();
    await bridge.close();
  });

  function activity(user: BridgeUser, o: { type?: string; text?: string; name?: string; value?: unknown; where?: 'personal' | 'channel'; tenant?: string; replyToId?: string; entities?: unknown[] }): Json {
    const tenant = o.tenant ?? TENANT_ID;
    const where = o.where ?? 'personal';
    return {
      type: o.type ?? 'message',
      id: `activity-${++seq}`,
      timestamp: new Date().toISOString(),
      channelId: 'msteams',
      serviceUrl: connector.url,
      from: { id: `29:${user.userId}`, name: user.displayName, aadObjectId: user.aadObjectId },
      recipient: { id: BOT_ID, name: 'JIT Access' },
      conversation:
        where === 'personal'
          ? { id: `a:personal-${user.userId}`, conversationType: 'personal', tenantId: tenant }
          : { id: `${CHANNEL};messageid=777`, conversationType: 'channel', isGroup: true, tenantId: tenant },
      channelData: { tenant: { id: tenant }, ...(where === 'channel' ? { channel: { id: CHANNEL }, team: { id: '19:team@thread.tacv2' } } : {}) },
      ...(o.text !== undefined ? { text: o.text } : {}),
      ...(o.name ? { name: o.name } : {}),
      ...(o.value !== undefined ? { value: o.value } : {}),
      ...(o.replyToId ? { replyToId: o.replyToId } : {}),
      ...(o.entities ? { entities: o.entities } : {}),
    };
  }

  async function send(act: Json): Promise<{ status: number; body: Json | undefined }> {
    const res = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(act) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Json) : undefined };
  }

  const say = (user: BridgeUser, text: string, where: 'personal' | 'channel' = 'personal', entities?: unknown[]) => send(activity(user, { text, where, entities }));

  async function click(user: BridgeUser, verb: string, data: Json, o: { where?: 'personal' | 'channel'; replyToId?: string; tenant?: string } = {}) {
    const r = await send(activity(user, { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb, data } }, ...o }));
    return { status: r.status, body: r.body, card: (r.body?.value ?? {}) as Json, text: JSON.stringify(r.body?.value ?? {}) };
  }

  /** The last card the bot sent into a conversation (reply or proactive). */
  const lastCard = () => {
    const all = connector.cards();
    return all[all.length - 1];
  };

  const verbs = (card: unknown): string[] => [...JSON.stringify(card).matchAll(/"verb":"([a-z.]+)"/g)].map((m) => m[1]!);

  async function notify(body: NotificationBody): Promise<Response> {
    const raw = JSON.stringify(body);
    return fetch(`${bot.url}/api/notify`, { method: 'POST', headers: signNotification(SECRET, raw, Date.now()), body: raw });
  }

  let notificationSeq = 0;
  const requestNotification = (event: NotificationBody & { kind: 'request' } extends infer T ? T extends { event: infer E } ? E : never : never, id: string): NotificationBody => ({
    kind: 'request',
    event,
    request: bridge.view(id),
    notificationId: `n-${event}-${++notificationSeq}-${id.slice(-6)}`,
  });

  const BREAK_GLASS = { accountId: '222222222222', permissionSetName: 'PowerUser', breakGlass: true };
  const submitData = { clientRequestId: 'cr-form-0001', accountId: '111111111111', permissionSetName: 'ReadOnly', durationMinutes: '60', justification: 'Investigating INC-42 payment latency' };

  describe('messages', () => {
    it('health check answers', async () => {
      const res = await fetch(`${bot.url}/healthz`);
      assert.equal(res.status, 200);
    });

    it('"request" in 1:1 answers with the request form for the user\'s eligibility, and stores their chat', async () => {
      const r = await say(USERS.alice, 'I need access please');
      assert.equal(r.status, 200);
      const { call, card } = lastCard()!;
      assert.equal(call.conversationId, 'a:personal-u-alice');
      assert.ok(verbs(card).includes('request.submit'));
      assert.ok(JSON.stringify(card).includes('cr-test-0001'), 'the form carries a fresh clientRequestId');
      assert.equal(bridge.callsTo('GET', '/eligibility')[0]!.headers[ACTOR_HEADERS.aadObjectId], USERS.alice.aadObjectId);
      assert.equal(bridge.callsTo('GET', '/eligibility')[0]!.headers[ACTOR_HEADERS.upn], USERS.alice.upn, 'the UPN comes from the roster');
      const ref = await store.getUserReference(USERS.alice.aadObjectId);
      assert.equal(ref?.conversation?.id, 'a:personal-u-alice');
    });

    it('"my requests", "pending", "help", a greeting and unknown text', async () => {
      const seeded = await bridge.submit(USERS.alice);
      await say(USERS.alice, 'my requests');
      assert.ok(JSON.stringify(lastCard()!.card).includes('prod-payments'));
      await say(USERS.bob, 'pending');
      assert.ok(JSON.stringify(lastCard()!.card).includes(seeded.id) || JSON.stringify(lastCard()!.card).includes('prod-payments'));
      assert.deepEqual(bridge.callsTo('GET', '/requests').map((c) => c.query.view), ['mine', 'pending']);
      await say(USERS.alice, 'help');
      const helpCard = lastCard()!.card;
      assert.ok(verbs(helpCard).includes('menu.request'));
      await say(USERS.alice, 'hello');
      const welcome = lastCard()!.card;
      assert.notDeepEqual(welcome, helpCard);
      await say(USERS.alice, 'what is the weather like');
      assert.deepEqual(lastCard()!.card, helpCard, 'unknown text gets help');
    });

    it('in the channel an @mention works the same way (the mention is stripped)', async () => {
      const mention = { type: 'mention', text: '<at>JIT Access</at>', mentioned: { id: BOT_ID, name: 'JIT Access' } };
      await say(USERS.alice, '<at>JIT Access</at> my requests', 'channel', [mention]);
      assert.equal(bridge.callsTo('GET', '/requests')[0]?.query.view, 'mine');
      assert.equal(lastCard()!.call.conversationId, `${CHANNEL};messageid=777`);
      const channel = await store.getChannelReference();
      assert.equal(channel?.conversation?.id, CHANNEL, 'the on-call channel reference is remembered without the thread suffix');
    });

    it('an unknown Entra user gets a clear message', async () => {
      const people = bridge.world.directory.users;
      people.splice(people.findIndex((u) => u.aadObjectId === USERS.alice.aadObjectId), 1);
      await say(USERS.alice, 'request');
      assert.match(JSON.stringify(lastCard()!.card), /No IAM Identity Center user matches alice@example\.com/);
    });

    it('activities from a tenant that is not allowed are refused and nothing reaches the bridge', async () => {
      const m = await send(activity(USERS.mallory, { text: 'request', tenant: OTHER_TENANT }));
      assert.equal(m.status, 200);
      const i = await click(USERS.mallory, 'approval.approve', { requestId: 'req-01J000000000000000000001', version: 1 }, { tenant: OTHER_TENANT });
      assert.equal(i.status, 403);
      // A conversation tenant that contradicts channelData is refused too.
      const mixed = activity(USERS.alice, { text: 'request' });
      (mixed.conversation as Json).tenantId = OTHER_TENANT;
      await send(mixed);
      assert.equal(bridge.calls.length, 0);
      assert.equal(connector.writes().length, 0);
      assert.equal(await store.getUserReference(USERS.mallory.aadObjectId), undefined);
    });
  });

  describe('card actions', () => {
    it('request.submit creates the request with the activity\'s actor and tracks the card; a duplicate submit is idempotent', async () => {
      const first = await click(USERS.alice, 'request.submit', submitData, { replyToId: 'form-msg-1' });
      assert.equal(first.status, 200);
      assert.equal(first.body?.type, 'application/vnd.microsoft.card.adaptive');
      assert.match(first.text, /Waiting for approval/);
      const second = await click(USERS.alice, 'request.submit', submitData, { replyToId: 'form-msg-1' });
      assert.match(second.text, /Waiting for approval/);
      assert.equal(bridge.world.requests.items.size, 1, 'the retry did not create a second request');
      const posts = bridge.callsTo('POST', '/requests');
      assert.equal(posts.length, 2);
      for (const c of posts) assert.equal(c.headers[ACTOR_HEADERS.aadObjectId], USERS.alice.aadObjectId);
      assert.deepEqual(posts[0]!.body, { ...submitData, durationMinutes: 60 });
      const id = [...bridge.world.requests.items.keys()][0]!;
      const tracked = await store.getCard(id, 'status');
      assert.equal(tracked?.activityId, 'form-msg-1');
    });

    it('validation errors from the bridge come back on the same form with the values kept', async () => {
      const r = await click(USERS.alice, 'request.submit', { ...submitData, permissionSetName: 'AdministratorAccess' });
      assert.ok(verbs(r.card).includes('request.submit'), 'still the form');
      assert.match(r.text, /Rule payments-admin requires a ticket id matching/);
      assert.ok(r.text.includes('Investigating INC-42 payment latency'), 'the justification is kept');
      assert.ok(r.text.includes('cr-form-0001'), 'the same clientRequestId, so a corrected submit stays idempotent');
      assert.equal(bridge.world.requests.items.size, 0);
    });

    it('a form with missing fields is shown again with the problems, and nothing is submitted', async () => {
      const r = await click(USERS.alice, 'request.submit', { ...submitData, justification: 'short' });
      assert.ok(verbs(r.card).includes('request.submit'));
      assert.match(r.text, /at least 10 characters/);
      assert.equal(bridge.callsTo('POST', '/requests').length, 0);
    });

    it('request.form re-renders the form for a chosen account', async () => {
      const r = await click(USERS.alice, 'request.form', { clientRequestId: 'cr-form-0002', accountId: '222222222222' });
      assert.ok(r.text.includes('PowerUser'));
      assert.ok(r.text.includes('cr-form-0002'));
    });

    it('approve: the approver comes from the activity, card data cannot name another actor', async () => {
      const req = await bridge.submit(USERS.alice);
      // Mallory puts Bob's identity into the card data: it is dropped, the bridge hears Mallory.
      const forged = await click(USERS.mallory, 'approval.approve', { requestId: req.id, version: 1, approver: USERS.bob.aadObjectId, aadObjectId: USERS.bob.aadObjectId, decision: 'deny' });
      assert.equal(forged.status, 200);
      assert.match(forged.text, /Not an approver/);
      // Mallory may not read the request (the bridge answers NOT_FOUND): the refusal shows nothing of it.
      assert.doesNotMatch(forged.text, /Waiting for approval|INC-1234/, 'an outsider learns nothing about the request');
      const sent = bridge.callsTo('POST', `/requests/${req.id}/decisions`);
      assert.equal(sent.length, 1);
      assert.equal(sent[0]!.headers[ACTOR_HEADERS.aadObjectId], USERS.mallory.aadObjectId);
      assert.deepEqual(sent[0]!.body, { decision: 'approve' }, 'the decision comes from the verb, not the data');
      assert.equal(bridge.view(req.id).votes.length, 0);

      const ok = await click(USERS.bob, 'approval.approve', { requestId: req.id, version: 1, reason: 'on call, looks fine' });
      assert.match(ok.text, /Approved/);
      assert.ok(!verbs(ok.card).includes('approval.approve'), 'no buttons after the decision');
      const decisions = bridge.callsTo('POST', `/requests/${req.id}/decisions`);
      assert.equal(decisions.at(-1)!.headers[ACTOR_HEADERS.aadObjectId], USERS.bob.aadObjectId);
      assert.deepEqual(decisions.at(-1)!.body, { decision: 'approve', reason: 'on call, looks fine' });
    });

    it('the requester approving their own request is refused', async () => {
      const req = await bridge.submit(USERS.bob);
      const r = await click(USERS.bob, 'approval.approve', { requestId: req.id, version: 1 });
      assert.match(r.text, /cannot approve your own request/);
      assert.equal(bridge.view(req.id).state, 'PENDING_APPROVAL');
    });

    it('a double click on approve counts one vote; a late deny sees "was already approved by Bob Approver"', async () => {
      const req = await bridge.submit(USERS.alice);
      const [a, b] = await Promise.all([click(USERS.bob, 'approval.approve', { requestId: req.id, version: 1 }), click(USERS.bob, 'approval.approve', { requestId: req.id, version: 1 })]);
      assert.equal(bridge.view(req.id).votes.length, 1);
      assert.match(a.text + b.text, /already counted/);
      assert.match(b.text, /Approved/);
      const late = await click(USERS.carol, 'approval.deny', { requestId: req.id, version: 1, reason: 'no' });
      assert.match(late.text, /This request was already approved by Bob Approver\./);
      assert.match(late.text, /Approved/);
      assert.equal(bridge.view(req.id).state, 'APPROVED');
    });

    describe('a late vote is refused with one natural sentence for every state (never "was already active by ...")', () => {
      // Carol (shown as Carol Chen) decides, revokes; only the requester can cancel.
      const carol = () => bridge.actorOf(USERS.carol, 'Carol Chen');
      const cases: Array<[RequestState, string]> = [
        ['APPROVED', 'This request was already approved by Carol Chen.'],
        ['GRANTING', 'This request is already approved; its access is being granted.'],
        ['ACTIVE', 'This request is already active.'],
        ['REVOKING', 'This request\'s access is already being revoked.'],
        ['EXPIRED', 'This request has expired.'],
        ['REVOKED', 'This request was revoked by Carol Chen.'],
        ['DENIED', 'This request was denied by Carol Chen.'],
        ['TIMED_OUT', 'This request timed out before anyone decided.'],
        ['CANCELLED', 'This request was cancelled by Alice Requester.'],
        ['FAILED', 'This request failed: its access could not be granted.'],
      ];
      it('covers every state but the pending one', () => {
        assert.deepEqual(cases.map((c) => c[0]).sort(), REQUEST_STATES.filter((s) => s !== 'PENDING_APPROVAL').sort());
      });
      for (const [state, sentence] of cases) {
        it(`${state}: "${sentence}"`, async () => {
          const req = await bridge.submit(USERS.alice);
          await bridge.moveTo(req.id, state, carol());
          const late = await click(USERS.bob, 'approval.approve', { requestId: req.id, version: 1 });
          const notice = ((late.card.body as Json[])[0] as { text: string }).text;
          assert.equal(notice, sentence);
          assert.doesNotMatch(late.text, /was already (active|expired|granting|revoking|timed out|failed|cancelled|revoked|denied) by/);
        });
      }
    });

    it('deny takes the decision from the verb and shows who denied', async () => {
      const req = await bridge.submit(USERS.alice);
      const r = await click(USERS.carol, 'approval.deny', { requestId: req.id, version: 1, reason: 'use staging' });
      assert.match(r.text, /Denied/);
      assert.match(r.text, /Carol Approver/);
      assert.equal(bridge.view(req.id).state, 'DENIED');
    });

    it('approval.refresh gives approvers the buttons, the requester a read-only view and an outsider nothing of the request', async () => {
      const req = await bridge.submit(USERS.alice);
      const approver = await click(USERS.bob, 'approval.refresh', { requestId: req.id }, { where: 'channel' });
      assert.ok(verbs(approver.card).includes('approval.approve'));
      // Only the requester and the rule's approvers may read a request: an outsider gets "not found", not a view.
      const outsider = await click(USERS.mallory, 'approval.refresh', { requestId: req.id }, { where: 'channel' });
      assert.ok(!verbs(outsider.card).includes('approval.approve'));
      assert.match(outsider.text, /Request not found/);
      assert.doesNotMatch(outsider.text, /INC-1234/);
      const requester = await click(USERS.alice, 'approval.refresh', { requestId: req.id }, { where: 'channel' });
      assert.ok(!verbs(requester.card).includes('approval.approve'));
    });

    it('grant.revoke, grant.extend, request.cancel, request.view, review.acknowledge and the menu verbs', async () => {
      const active = await bridge.submit(USERS.alice);
      await bridge.moveTo(active.id, 'ACTIVE');
      const ext = await click(USERS.alice, 'grant.extend', { requestId: active.id, additionalMinutes: '30' });
      assert.equal(bridge.view(active.id).grant!.extensions, 1);
      assert.ok(verbs(ext.card).includes('grant.revoke'));
      const rev = await click(USERS.alice, 'grant.revoke', { requestId: active.id });
      assert.match(rev.text, /Revoked/);
      assert.equal(bridge.view(active.id).state, 'REVOKED');
      const again = await click(USERS.alice, 'grant.revoke', { requestId: active.id });
      assert.match(again.text, /This request was revoked by Alice Requester\./);

      const pending = await bridge.submit(USERS.alice);
      const cancel = await click(USERS.alice, 'request.cancel', { requestId: pending.id });
      assert.match(cancel.text, /Cancelled/);
      const view = await click(USERS.alice, 'request.view', { requestId: pending.id });
      assert.match(view.text, /Cancelled/);

      const bg = await bridge.submit(USERS.alice, BREAK_GLASS);
      await bridge.moveTo(bg.id, 'ACTIVE');
      const ack = await click(USERS.bob, 'review.acknowledge', { requestId: bg.id, reviewNote: 'reviewed with the requester' });
      assert.equal(bridge.view(bg.id).review?.acknowledgedBy.userId, USERS.bob.userId);
      assert.equal(ack.status, 200);

      assert.ok(verbs((await click(USERS.alice, 'menu.request', {})).card).includes('request.submit'));
      assert.match((await click(USERS.alice, 'menu.mine', {})).text, /prod-payments/);
      assert.equal((await click(USERS.bob, 'menu.pending', {})).status, 200);
      assert.ok(verbs((await click(USERS.alice, 'menu.help', {})).card).includes('menu.request'));
    });

    it('an unknown verb is a 400 error response and nothing is called', async () => {
      const r = await click(USERS.bob, 'approval.approveAll', { requestId: 'req-01J000000000000000000001' });
      assert.equal(r.status, 400);
      assert.equal(r.body?.type, 'application/vnd.microsoft.error');
      assert.equal(bridge.calls.length, 0);
    });

    it('a forged request id only reaches what the bridge allows for the real actor', async () => {
      const bobs = await bridge.submit(USERS.bob);
      // Alice edits the card data to cancel Bob's request: the bridge refuses, nothing changes.
      const r = await click(USERS.alice, 'request.cancel', { requestId: bobs.id });
      assert.match(r.text, /Only the requester can cancel/);
      assert.equal(bridge.view(bobs.id).state, 'PENDING_APPROVAL');
      const traversal = await click(USERS.alice, 'request.cancel', { requestId: '../eligibility' });
      assert.match(traversal.text, /cannot be used|not valid/);
    });

    it('the bridge down or hanging: a clear "try again" card within the deadline, and the retry is idempotent', async () => {
      bridge.fault = 'down';
      const down = await click(USERS.alice, 'request.submit', submitData);
      assert.match(down.text, /try again|submit again/i);
      bridge.fault = 'hang';
      const hung = await click(USERS.bob, 'approval.approve', { requestId: 'req-01J000000000000000000001', version: 1 });
      assert.equal(hung.status, 200);
      assert.match(hung.text, /did not answer in time/);
      assert.match(hung.text, /try again/i);
      bridge.fault = undefined;
      const retry = await click(USERS.alice, 'request.submit', submitData);
      assert.match(retry.text, /Waiting for approval/);
      assert.equal(bridge.world.requests.items.size, 1);
    });

    it('account typeahead answers with the user\'s eligible accounts only', async () => {
      const r = await send(activity(USERS.alice, { type: 'invoke', name: 'application/search', value: { kind: 'search', dataset: 'accounts', queryText: 'prod', queryOptions: { top: 10, skip: 0 } } }));
      assert.equal(r.status, 200);
      assert.equal(r.body?.type, 'application/vnd.microsoft.search.searchResponse');
      const results = (r.body?.value as { results: Array<{ title: string; value: string }> }).results;
      assert.deepEqual(results.map((x) => x.value).sort(), ['111111111111', '333333333333']);
      const other = await send(activity(USERS.alice, { type: 'invoke', name: 'application/search', value: { kind: 'search', dataset: 'users', queryText: 'a' } }));
      assert.equal(other.status, 400);
    });

    it('account typeahead: control characters, bidirectional controls, lone surrogates and huge queries are sanitized before the bridge, never a 500', async () => {
      const search = async (queryText: string) => {
        const r = await send(activity(USERS.alice, { type: 'invoke', name: 'application/search', value: { kind: 'search', dataset: 'accounts', queryText, queryOptions: { top: 10, skip: 0 } } }));
        assert.equal(r.status, 200, `${JSON.stringify(queryText)}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body?.type, 'application/vnd.microsoft.search.searchResponse');
        return (r.body?.value as { results: Array<{ value: string }> }).results.map((x) => x.value).sort();
      };
      const prod = ['111111111111', '333333333333'];
      assert.deepEqual(await search('\u0000pr\u0007od\u001b'), []);
      assert.deepEqual(await search('\u0000prod\u0007'), prod);
      assert.deepEqual(await search('\tprod\n'), prod);
      assert.deepEqual(await search('\u202eprod\u0085'), prod);
      assert.deepEqual(await search('prod\ud800'), []);
      assert.deepEqual(await search(`prod${' '.repeat(10)}${'x'.repeat(5000)}`), []);
      assert.deepEqual(await search('\u0001\u0002\u0003'), [], 'nothing searchable finds nothing (not every account)');
      const sent = bridge.calls.filter((c) => c.path === '/eligibility').map((c) => String(c.query.q ?? ''));
      for (const q of sent) assert.doesNotMatch(q, /[\p{Cc}\u202a-\u202e]/u, JSON.stringify(q));
    });
  });

  describe('notifications', () => {
    it('a display name [click](https://evil.example.com) gives no live link: not in the channel post text, not in any card TextBlock; mentions still work', async () => {
      const evil = { ...bridge.actorOf(USERS.alice), displayName: '[click](https://evil.example.com)' };
      // This test's policy names the account with markdown characters.
      const policy = bridge.world.deps.policy();
      bridge.world.deps.policy = () => ({ ...policy, accounts: policy.accounts.map((a) => (a.id === '111111111111' ? { ...a, name: 'prod_*payments*' } : a)) });
      const req = await bridge.submit(evil, { permissionSetName: 'ReadOnly' });
      const before = connector.calls.length;
      assert.equal((await notify(requestNotification('approval_requested', req.id))).status, 200);
      const create = connector.calls.slice(before).find((c) => c.method === 'POST' && c.path === '/v3/conversations')!;
      const posted = create.body!.activity as Json;
      const { text, entities } = postedMentions(posted);
      assert.ok(text.includes('\\[click\\]\\(https://evil.example.com\\)'), text);
      assert.equal(hasLiveLink(text), false, text);
      assert.ok(text.includes('prod\\_\\*payments\\*'), text);
      // The mention tags are intact and equal to their entities' text.
      assert.ok(entities.length > 0);
      for (const e of entities) assert.ok(text.includes(e.text) && /^<at>[^<>]+<\/at>$/.test(e.text), e.text);
      const card = ((posted.attachments as Json[])[0] as { content: unknown }).content;
      for (const t of markdownTexts(card)) assert.equal(hasLiveLink(t), false, t);
      // A refusal naming the decider is a TextBlock too: escaped there.
      const decided = await bridge.submit(USERS.alice, { accountId: '222222222222', permissionSetName: 'PowerUser' });
      await bridge.moveTo(decided.id, 'DENIED', bridge.actorOf(USERS.carol, '[click](https://evil.example.com)'));
      const late = await click(USERS.bob, 'approval.approve', { requestId: decided.id, version: 1 });
      const notice = ((late.card.body as Json[])[0] as { text: string }).text;
      assert.equal(notice, 'This request was denied by \\[click\\]\\(https://evil.example.com\\).');
      for (const t of markdownTexts(late.card)) assert.equal(hasLiveLink(t), false, t);
    });

    it('approvers who never chatted with the bot are named from the on-call team roster', async () => {
      const req = await bridge.submit(USERS.alice);
      assert.equal((await notify(requestNotification('approval_requested', req.id))).status, 200);
      const create = connector.calls.find((c) => c.method === 'POST' && c.path === '/v3/conversations')!;
      const { entities } = postedMentions(create.body!.activity as Json);
      assert.deepEqual(entities.map((e) => [e.mentioned.id, e.mentioned.name]), [
        [`29:${USERS.bob.userId}`, USERS.bob.displayName],
        [`29:${USERS.carol.userId}`, USERS.carol.displayName],
      ]);
      assert.ok(connector.calls.some((c) => c.method === 'GET' && c.path.includes('/members/')), 'the roster was asked');
    });

    it('approval_requested posts a new channel thread with approvers @mentioned; later events update it in place', async () => {
      await say(USERS.bob, 'hi'); // Bob's Teams id and name become known
      // Carol never chatted with the bot and the team roster does not know her: mentioned by object id.
      connector.members.delete(USERS.carol.aadObjectId);
      const req = await bridge.submit(USERS.alice);
      let res = await notify(requestNotification('approval_requested', req.id));
      assert.equal(res.status, 200);
      const create = connector.calls.find((c) => c.method === 'POST' && c.path === '/v3/conversations')!;
      const { text, entities } = postedMentions(create.body!.activity as Json);
      assert.deepEqual(entities.map((e) => e.mentioned.id), [`29:${USERS.bob.userId}`, `8:orgid:${USERS.carol.aadObjectId}`]);
      assert.match(text, /<at>Bob Approver<\/at>/);
      assert.equal((create.body!.channelData as Json & { channel: { id: string } }).channel.id, CHANNEL);
      const record = (await store.getCard(req.id, 'approval'))!;
      assert.equal(record.activityId, create.activityId);
      assert.deepEqual(record.approverUserIds, [`29:${USERS.bob.userId}`, `8:orgid:${USERS.carol.aadObjectId}`]);

      // A redelivery of the same event (new notification id) does not post twice.
      await notify(requestNotification('approval_requested', req.id));
      assert.equal(connector.calls.filter((c) => c.path === '/v3/conversations').length, 1);

      await click(USERS.bob, 'approval.approve', { requestId: req.id, version: 1 }, { where: 'channel' });
      // The click answers its clicker only: the posted card is the notice's to update.
      assert.equal(connector.calls.filter((c) => c.method === 'PUT').length, 0);
      res = await notify(requestNotification('approved', req.id));
      assert.equal(res.status, 200);
      const updates = connector.calls.filter((c) => c.method === 'PUT');
      assert.equal(updates.length, 1, 'one in-place update for version 2, however many events carry it');
      assert.equal(updates[0]!.activityId, record.activityId);
      assert.match(JSON.stringify(updates[0]!.body), /Approved/);
    });

    it('requester updates go to their 1:1 chat: status card in place plus a message for what they must know', async () => {
      await say(USERS.alice, 'hello');
      // The form the click came from was posted by the bot earlier (Teams updates only posted messages).
      connector.knowActivity('a:personal-u-alice', 'form-msg-9');
      await click(USERS.alice, 'request.submit', submitData, { replyToId: 'form-msg-9' });
      const id = [...bridge.world.requests.items.keys()][0]!;
      const before = connector.writes().length;
      const { grant } = await bridge.moveTo(id, 'ACTIVE');
      const res = await notify(requestNotification('active', id));
      assert.equal(res.status, 200);
      const writes = connector.writes().slice(before);
      const put = writes.find((w) => w.method === 'PUT')!;
      assert.equal(put.activityId, 'form-msg-9');
      const message = writes.find((w) => w.method === 'POST')!;
      assert.equal(message.conversationId, 'a:personal-u-alice');
      assert.ok(String(message.body!.text).includes(`is active until ${grant!.endsAt}`), String(message.body!.text));
      assert.ok(JSON.stringify(message.body).includes('d-1111111111.awsapps.com/start'), 'how to sign in');
      assert.ok(verbs(message.body).includes('grant.revoke'));

      await notify(requestNotification('expiring_soon', id));
      const soon = connector.writes().at(-1)!;
      assert.ok(verbs(soon.body).includes('grant.extend'));
    });

    it('break_glass_used posts an alert in the channel', async () => {
      const bg = await bridge.submit(USERS.alice, BREAK_GLASS);
      await bridge.moveTo(bg.id, 'ACTIVE');
      await notify(requestNotification('break_glass_used', bg.id));
      const create = connector.calls.find((c) => c.path === '/v3/conversations')!;
      assert.match(postedMentions(create.body!.activity as Json).text, /Break-glass access was used by Alice Requester/);
      assert.ok(await store.getCard(bg.id, 'breakglass'));
    });

    it('findings are posted batched, most severe first, and deduplicated', async () => {
      const finding = (i: number, severity: 'LOW' | 'CRITICAL') => ({ id: `arn:aws:securityhub:eu-west-1:111111111111:finding/${i}`, severity, title: `Finding ${i}`, resourceId: 'arn:aws:iam::111111111111:role/x', accountId: '111111111111', productName: 'Security Hub', updatedAt: '2030-01-01T10:00:00.000Z' });
      const many = Array.from({ length: 12 }, (_, i) => finding(i, i === 11 ? 'CRITICAL' : 'LOW'));
      let res = await notify({ kind: 'findings', findings: many, notificationId: 'findings-0001' });
      assert.equal(res.status, 200);
      const cards = connector.cards();
      assert.equal(cards.length, 2, '12 findings in 2 cards');
      assert.ok(JSON.stringify(cards[0]!.card).indexOf('Finding 11') >= 0, 'the critical one comes first');
      res = await notify({ kind: 'findings', findings: [finding(3, 'LOW'), finding(11, 'CRITICAL')], notificationId: 'findings-0002' });
      assert.equal(res.status, 200);
      assert.equal(connector.cards().length, 2, 'already posted findings are not posted again');
    });

    it('after a restart over the same file store, the same posted card is updated', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'jit-bot-store-'));
      try {
        await bot.close();
        const file = join(dir, 'store.json');
        await start(await FileConversationStore.open(file));
        const req = await bridge.submit(USERS.alice);
        await notify(requestNotification('approval_requested', req.id));
        const posted = connector.calls.find((c) => c.path === '/v3/conversations')!;
        await bot.close();
        await start(await FileConversationStore.open(file));
        await bridge.moveTo(req.id, 'TIMED_OUT');
        const res = await notify(requestNotification('timed_out', req.id));
        assert.equal(res.status, 200);
        const put = connector.calls.find((c) => c.method === 'PUT')!;
        assert.equal(put.activityId, posted.activityId);
        assert.equal(put.conversationId, posted.conversationId);
        assert.match(JSON.stringify(put.body), /Timed out/);
        assert.equal(connector.calls.filter((c) => c.path === '/v3/conversations').length, 1);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('a Teams failure while posting answers 503 so the sender retries, and the retry posts once', async () => {
      const req = await bridge.submit(USERS.alice);
      connector.script((m, p) => m === 'POST' && p === '/v3/conversations', { status: 403, body: { error: { code: 'BotNotInConversationRoster', message: 'no' } } });
      const body = requestNotification('approval_requested', req.id);
      const first = await notify(body);
      assert.equal(first.status, 503);
      const again = await notify(body);
      assert.equal(again.status, 200);
      assert.equal(connector.calls.filter((c) => c.path === '/v3/conversations' && c.status < 300).length, 1);
    });
  });
});
