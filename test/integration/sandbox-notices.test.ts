/**
 * One writer of posted cards (issue 12, item 3), through the whole sandbox: a click is answered in
 * the invoke response, and the posted channel card is rendered by the notice the backend flushes
 * after the change (the notify function, on the asynchronous invoke's stand-in). Connector writes
 * are counted with the recording connector.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTOR_HEADERS } from '../../contract/bridge';
import type { StoredRequest } from '../../core/model';
import { SANDBOX_SSO_CONNECTION_NAME } from '../../sandbox/jwt-authorizer';
import { startSandbox, type Sandbox } from '../../sandbox/orchestrator';
import { PLAYGROUND_IDS } from '../../sandbox/playground';
import { type DemoPerson, loadDemoPeople } from '../../sandbox/seed';
import { ConnectorRecorder } from '../support/connector-recorder';

type Json = Record<string, unknown>;
const people = loadDemoPeople();
const person = (key: string): DemoPerson => people.people.find((p) => p.key === key)!;
const BOT_ID = '28:jit-access-sandbox-bot';
const CHANNEL = PLAYGROUND_IDS.oncallChannel;

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function actionData(card: unknown, verb: string): Json | undefined {
  let found: Json | undefined;
  const walk = (node: unknown) => {
    if (found || !node || typeof node !== 'object') return;
    const n = node as Json;
    if (n.type === 'Action.Execute' && n.verb === verb) found = (n.data ?? {}) as Json;
    for (const v of Object.values(n)) walk(v);
  };
  walk(card);
  return found;
}

describe('sandbox: one writer of posted cards', function () {
  this.timeout(60_000);
  let connector: ConnectorRecorder;
  let dataDir: string;
  let sandbox: Sandbox | undefined;
  let seq = 0;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jit-sandbox-notices-'));
    connector = new ConnectorRecorder();
    await connector.start();
    for (const p of people.people) connector.addMember({ id: p.teamsUserId, aadObjectId: p.aadObjectId, name: `${p.givenName} ${p.surname}`, userPrincipalName: p.upn, email: p.upn, tenantId: people.tenantId });
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
  });
  afterEach(async () => {
    await sandbox?.stop();
    sandbox = undefined;
    await connector.close();
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });

  function activity(user: DemoPerson, o: { type?: string; text?: string; name?: string; value?: unknown }): Json {
    return {
      type: o.type ?? 'message',
      id: `activity-${++seq}`,
      timestamp: new Date().toISOString(),
      channelId: 'msteams',
      serviceUrl: connector.url,
      from: { id: user.teamsUserId, name: `${user.givenName} ${user.surname}`, aadObjectId: user.aadObjectId },
      recipient: { id: BOT_ID, name: 'JIT Access' },
      conversation: { id: `${CHANNEL};messageid=1`, conversationType: 'channel', isGroup: true, tenantId: people.tenantId },
      channelData: { tenant: { id: people.tenantId }, channel: { id: CHANNEL }, team: { id: PLAYGROUND_IDS.team } },
      ...(o.text !== undefined ? { text: o.text } : {}),
      ...(o.name ? { name: o.name } : {}),
      ...(o.value !== undefined ? { value: o.value } : {}),
    };
  }

  async function post(act: Json): Promise<{ status: number; body: Json | undefined }> {
    const res = await fetch(sandbox!.urls.messages, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(act) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Json) : undefined };
  }

  /**
   * A click as Teams sends it. Votes on the demo's Admin requests need a fresh MFA sign-in (the demo
   * policy's stepUp): the token Teams would add after the bot's loginRequest comes with them.
   */
  async function click(user: DemoPerson, verb: string, data: Json): Promise<string> {
    const vote = verb === 'approval.approve' || verb === 'approval.deny';
    const authentication = vote ? { id: `notices-${++seq}`, connectionName: SANDBOX_SSO_CONNECTION_NAME, token: await sandbox!.userToken({ oid: user.aadObjectId, mfa: true, issuedAt: Math.floor(sandbox!.clock.now() / 1000) }) } : undefined;
    const r = await post(activity(user, { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb, data }, ...(authentication ? { authentication } : {}) } }));
    assert.equal(r.status, 200, `invoke ${verb} answered ${r.status}`);
    return JSON.stringify(r.body?.value ?? {});
  }

  const requestOf = async (id: string) => (await sandbox!.stores.requests.get(id)) as StoredRequest;
  const channelWrites = (from: number) => connector.writes().slice(from).filter((c) => (c.conversationId ?? '').startsWith(CHANNEL));

  /** A two-approval request (Admin on dev) with its approval card posted in the channel and the workflow waiting. */
  async function pendingTwoOfM(): Promise<{ id: string; cardActivityId: string }> {
    await post(activity(person('carol'), { text: '<at>JIT Access</at> help' }));
    const alice = person('alice');
    const res = await fetch(`${sandbox!.urls.bridge}/requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await sandbox!.bridgeToken()}`, [ACTOR_HEADERS.tenantId]: people.tenantId, [ACTOR_HEADERS.aadObjectId]: alice.aadObjectId, [ACTOR_HEADERS.upn]: alice.upn },
      body: JSON.stringify({ clientRequestId: `notices-${++seq}`, accountId: '111111111111', permissionSetName: 'Admin', durationMinutes: 2, justification: 'Rebuild the broken staging cluster', ticketId: 'INC-7' }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const id = ((await res.json()) as { request: { id: string } }).request.id;
    await until('the approval wait', () => sandbox!.aws.stepFunctions.waitingTasks().find((t) => t.executionName === id));
    const posted = await until('the approval card in the channel', () => connector.cards().find((c) => (c.call.conversationId ?? '').startsWith(CHANNEL) && actionData(c.card, 'approval.refresh')?.requestId === id));
    await sandbox!.notices.idle();
    const record = await until('the card record', async () => (await sandbox!.bot.application.store.getCard(id, 'approval'))?.activityId);
    assert.ok(posted);
    return { id, cardActivityId: record };
  }

  it('one click on Approve renders the channel card once: the clicker gets the card in the invoke response, the notice updates the posted one', async () => {
    const { id, cardActivityId } = await pendingTwoOfM();
    const carol = person('carol');
    const card = JSON.parse(await click(carol, 'approval.refresh', { requestId: id })) as Json;
    const approve = actionData(card, 'approval.approve');
    assert.ok(approve, 'the approver sees Approve');
    const before = connector.writes().length;

    const answer = await click(carol, 'approval.approve', approve);
    assert.match(answer, /1 of 2/, 'the clicker sees the vote counted, in the invoke response');
    await sandbox!.notices.idle();
    const writes = channelWrites(before);
    assert.deepEqual(
      writes.map((w) => [w.method, w.activityId]),
      [['PUT', cardActivityId]],
      'exactly one connector write: the notice\'s in-place update of the posted card',
    );
    assert.equal(connector.writes().length - before, 1, 'and nothing else was written');
    assert.equal((await requestOf(id)).noticeOutbox, undefined, 'the outbox is empty once flushed');
  });

  it('double clicks and two approvers at once: one decision, and the posted card is never written twice for the same change', async () => {
    const { id, cardActivityId } = await pendingTwoOfM();
    const [carol, dan] = [person('carol'), person('dan')];
    const data = { requestId: id, version: (await requestOf(id)).version };
    const before = connector.writes().length;
    await Promise.all([click(carol, 'approval.approve', data), click(carol, 'approval.approve', data), click(dan, 'approval.approve', data)]);
    await until('ACTIVE', async () => ((await requestOf(id)).state === 'ACTIVE' ? true : undefined));
    await sandbox!.notices.idle();
    const decisions = sandbox!.stores.audit.forRequest(id).filter((e) => e.action === 'request.transition' && e.toState === 'APPROVED');
    assert.equal(decisions.length, 1, 'one decision');
    const votes = sandbox!.stores.audit.forRequest(id).filter((e) => e.action === 'request.vote');
    assert.equal(votes.length, 2, 'the double click counted once');
    const puts = channelWrites(before).filter((w) => w.method === 'PUT');
    assert.ok(puts.every((w) => w.activityId === cardActivityId));
    // The changes the channel card shows: the first vote, the decision, the grant going active. Each
    // is rendered at most once (a flush that finds a newer state renders the newest only).
    assert.ok(puts.length >= 1 && puts.length <= 3, `${puts.length} updates`);
    const bodies = puts.map((w) => JSON.stringify(w.body));
    assert.equal(new Set(bodies).size, bodies.length, 'no update repeats another');
    assert.match(bodies.at(-1)!, /[Aa]ctive/, 'the card ends on the newest state');
  });
});
