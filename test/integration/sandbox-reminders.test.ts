/**
 * Reminders and escalation through the whole sandbox (issue 15, item 1), against its clock: the
 * demo policy's PowerUser rule reminds after 5 minutes (every 5) and escalates to Platform-Leads
 * after 10, within its 15-minute approval timeout. The clock is moved forward and the reconcile
 * function (the reminders' timer, as on AWS) is run; the recording connector (as strict as Teams
 * on mentions, rate limits and sizes) sees the reply in the approval card's thread with real
 * @mentions, and the requester's 1:1 line. Votes go through the bridge, which re-checks who may
 * approve: Platform-Leads only once escalated, never the requester.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTOR_HEADERS } from '../../contract/bridge';
import { toRequestView, type StoredRequest } from '../../core/model';
import { startSandbox, type Sandbox } from '../../sandbox/orchestrator';
import { PLAYGROUND_IDS } from '../../sandbox/playground';
import { type DemoPerson, loadDemoPeople } from '../../sandbox/seed';
import { ConnectorRecorder, type RecordedConnectorCall } from '../support/connector-recorder';

type Json = Record<string, unknown>;
const people = loadDemoPeople();
const person = (key: string): DemoPerson => people.people.find((p) => p.key === key)!;
const nameOf = (p: DemoPerson) => `${p.givenName} ${p.surname}`;
const BOT_ID = '28:jit-access-sandbox-bot';
const CHANNEL = PLAYGROUND_IDS.oncallChannel;
const MIN = 60_000;

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sandbox: reminders and escalation (against the sandbox clock)', function () {
  this.timeout(60_000);
  let connector: ConnectorRecorder;
  let dataDir: string;
  let sandbox: Sandbox;
  let seq = 0;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jit-sandbox-reminders-'));
    connector = new ConnectorRecorder();
    await connector.start();
    for (const p of people.people) connector.addMember({ id: p.teamsUserId, aadObjectId: p.aadObjectId, name: nameOf(p), userPrincipalName: p.upn, email: p.upn, tenantId: people.tenantId });
    sandbox = await startSandbox({
      dataDir,
      ports: { bot: 0, bridge: 0, aws: 0 },
      playground: false,
      teamsServiceUrl: connector.url,
      assignmentDelayMs: { min: 5, max: 20 },
      grantPollMs: 30,
      reconcileIntervalMs: 0,
      logLevel: 'ERROR',
      log: () => undefined,
    });
    // Alice talks to the bot in her 1:1 chat (where she is told), Carol in the channel (the bot learns it).
    await message(person('alice'), { id: `a:chat-alice`, conversationType: 'personal' }, 'help');
    await message(person('carol'), { id: `${CHANNEL};messageid=1`, conversationType: 'channel', isGroup: true }, '<at>JIT Access</at> help');
  });
  afterEach(async () => {
    await sandbox.stop();
    await connector.close();
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });

  async function message(user: DemoPerson, conversation: Json, text: string): Promise<void> {
    const act = {
      type: 'message',
      id: `activity-${++seq}`,
      timestamp: new Date().toISOString(),
      channelId: 'msteams',
      serviceUrl: connector.url,
      from: { id: user.teamsUserId, name: nameOf(user), aadObjectId: user.aadObjectId },
      recipient: { id: BOT_ID, name: 'JIT Access' },
      conversation: { ...conversation, tenantId: people.tenantId },
      channelData: { tenant: { id: people.tenantId }, ...(conversation.conversationType === 'channel' ? { channel: { id: CHANNEL }, team: { id: PLAYGROUND_IDS.team } } : {}) },
      text,
    };
    const res = await fetch(sandbox.urls.messages, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(act) });
    assert.ok(res.status < 300, `message answered ${res.status}`);
  }

  async function bridge(who: DemoPerson, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
    const res = await fetch(`${sandbox.urls.bridge}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await sandbox.bridgeToken()}`, [ACTOR_HEADERS.tenantId]: people.tenantId, [ACTOR_HEADERS.aadObjectId]: who.aadObjectId, [ACTOR_HEADERS.upn]: who.upn },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Json };
  }

  const vote = (who: DemoPerson, id: string, decision: 'approve' | 'deny') => bridge(who, 'POST', `/requests/${encodeURIComponent(id)}/decisions`, { decision });

  /** Alice's PowerUser request on dev, its approval card posted in a new channel thread. */
  async function pending(): Promise<{ id: string; thread: string }> {
    const res = await bridge(person('alice'), 'POST', '/requests', { clientRequestId: `remind-${++seq}`, accountId: '111111111111', permissionSetName: 'PowerUser', durationMinutes: 2, justification: 'Restart the stuck deployment' });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const id = (res.json.request as { id: string }).id;
    await until('the approval wait', () => sandbox.aws.stepFunctions.waitingTasks().find((t) => t.executionName === id));
    const thread = await until('the card record', async () => (await sandbox.bot.application.store.getCard(id, 'approval'))?.conversationId);
    await sandbox.notices.idle();
    return { id, thread };
  }

  /** Moves the sandbox clock and runs the reconcile function (EventBridge's rate(5 minutes) on AWS) once. */
  async function later(ms: number): Promise<void> {
    sandbox.clock.advance(ms);
    await sandbox.reconcile();
    await sandbox.notices.idle();
  }

  const threadPosts = (thread: string): RecordedConnectorCall[] => connector.writes().filter((c) => c.method === 'POST' && c.conversationId === thread && c.path.endsWith('/activities'));
  const toAlice = (): string[] => connector.writes().filter((c) => c.conversationId === 'a:chat-alice' && typeof c.body?.text === 'string').map((c) => String(c.body!.text));
  const stored = async (id: string) => (await sandbox.stores.requests.get(id)) as StoredRequest;
  const audits = (id: string) => sandbox.stores.audit.forRequest(id).map((e) => e.action);

  it('reminds the approvers in the card thread with real @mentions, tells the requester, and audits it; once per reminder', async () => {
    const { id, thread } = await pending();
    const deadline = (await stored(id)).approvalDeadline;
    await later(4 * MIN);
    assert.equal(threadPosts(thread).length, 0, 'nothing before the reminder interval');

    await later(2 * MIN);
    const [reply, ...more] = threadPosts(thread);
    assert.ok(reply, 'a reply in the approval thread');
    assert.equal(more.length, 0);
    const text = String(reply.body?.text);
    assert.match(text, /^Reminder: the request from Alice Adams for PowerUser on sandbox-dev has waited 6 min \(0 of 1 approvals\)/);
    const entities = reply.body?.entities as Array<{ type: string; text: string; mentioned: { id: string; name: string } }>;
    const approvers = ['carol', 'dan', 'frank'].map(person);
    assert.deepEqual(entities.map((e) => e.mentioned.name).sort(), approvers.map(nameOf).sort(), 'the configured approvers, not the requester');
    for (const e of entities) {
      assert.equal(e.type, 'mention');
      assert.ok(text.includes(e.text), `${e.text} is in the text`);
      assert.match(e.mentioned.id, /^29:/, 'a Teams id, as the roster gives it');
    }
    assert.deepEqual(connector.refusals(), [], 'nothing the connector (as strict as Teams) refused');
    await until('the requester told', () => toAlice().find((t) => /reminded the on-call approvers \(3\)/.test(t)));
    assert.ok(audits(id).includes('request.reminded'));
    assert.equal((await stored(id)).approvalDeadline, deadline, 'the deadline does not move');

    // The sweep runs again (and again): reminder 1 is not posted twice.
    await later(30_000);
    await sandbox.reconcile();
    await sandbox.notices.idle();
    assert.equal(threadPosts(thread).length, 1);
    assert.equal(audits(id).filter((a) => a === 'request.reminded').length, 1);

    // A replayed notice of the same reminder (a new notice id, as after a retry with a new version) posts nothing.
    const view = toRequestView(await stored(id));
    const answer = (await sandbox.bot.handler({ kind: 'request', event: 'reminder', request: view, notificationId: `replay-${id}-1` })) as { status: number };
    assert.equal(answer.status, 200);
    assert.equal(threadPosts(thread).length, 1, 'claimed once per reminder number');
  });

  it('escalates to Platform-Leads: the thread and the requester are told, a lead may then approve, a non-member may not', async () => {
    const { id, thread } = await pending();
    const bob = person('bob');
    assert.equal((await vote(bob, id, 'approve')).status, 403, 'a Platform-Lead before the escalation');

    await later(6 * MIN);
    await later(5 * MIN);
    const escalation = threadPosts(thread).find((c) => /^Escalated: /.test(String(c.body?.text)));
    assert.ok(escalation, `an escalation reply; thread: ${threadPosts(thread).map((c) => c.body?.text).join(' | ')}`);
    assert.match(String(escalation.body?.text), /Members of Platform-Leads may approve it from now on\. It still times out at /);
    await until('the requester told of the escalation', () => toAlice().find((t) => /escalated to Platform-Leads/.test(t)));
    const r = await stored(id);
    assert.deepEqual(r.reminders?.escalation?.groups, ['Platform-Leads']);
    assert.ok(audits(id).includes('request.escalated'));
    assert.deepEqual(connector.refusals(), []);

    const erin = await vote(person('erin'), id, 'approve');
    assert.equal(erin.status, 403, 'still not an approver');
    const alice = await vote(person('alice'), id, 'approve');
    assert.equal(alice.status, 403, 'never the requester');
    assert.equal((alice.json.error as { code?: string } | undefined)?.code ?? alice.json.code, 'SELF_APPROVAL');
    const approved = await vote(bob, id, 'approve');
    assert.equal(approved.status, 200, JSON.stringify(approved.json));
    assert.equal((await until('approved', async () => ((await stored(id)).state !== 'PENDING_APPROVAL' ? await stored(id) : undefined))).decidedBy?.displayName, nameOf(bob));
  });

  it('no reminder after a decision: the sweep writes none, and a reminder notice that arrives late is dropped by the bot', async () => {
    const { id, thread } = await pending();
    const decided = await vote(person('carol'), id, 'deny');
    assert.equal(decided.status, 200);
    await sandbox.notices.idle();
    const before = threadPosts(thread).length;
    await later(6 * MIN);
    await later(5 * MIN);
    assert.equal(threadPosts(thread).length, before, 'no reminder in the thread');
    assert.ok(!audits(id).includes('request.reminded'));

    // A reminder notice racing the decision: written while pending, delivered after the card showed the denial.
    const now = toRequestView(await stored(id));
    const stale = { ...now, state: 'PENDING_APPROVAL' as const, version: now.version - 1, reminders: { sent: 1, lastAt: now.updatedAt } };
    const answer = (await sandbox.bot.handler({ kind: 'request', event: 'reminder', request: stale, notificationId: `race-${id}` })) as { status: number };
    assert.equal(answer.status, 200);
    assert.equal(threadPosts(thread).length, before, 'a stale pending view is not posted after the decision');
    const decidedView = { ...now, reminders: { sent: 1, lastAt: now.updatedAt } };
    await sandbox.bot.handler({ kind: 'request', event: 'reminder', request: decidedView, notificationId: `late-${id}` });
    assert.equal(threadPosts(thread).length, before, 'nor is a decided one');
  });
});
