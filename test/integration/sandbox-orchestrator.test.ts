/**
 * The whole sandbox in-process (sandbox/orchestrator) on ephemeral 127.0.0.1 ports, with a fast
 * Identity Center and a recording Bot Framework connector in place of the Agents Playground:
 * activities are POSTed to the bot's /api/messages as the playground would, and what the bot
 * sends back (replies, channel posts, in-place updates) is read from the recorder. Everything in
 * between is production code: bot, bridge handler, synthesized workflow, handlers, AWS adapters
 * over the SDK against the stand-ins.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTOR_HEADERS } from '../../contract/bridge';
import type { StoredRequest } from '../../core/model';
import { startSandbox, type Sandbox } from '../../sandbox/orchestrator';
import { PLAYGROUND_IDS } from '../../sandbox/playground';
import { PortInUseError } from '../../sandbox/ports';
import { type DemoPerson, loadDemoPeople } from '../../sandbox/seed';
import { ConnectorRecorder } from '../support/connector-recorder';
import { type SandboxActivityOptions, sandboxActivity } from '../support/sandbox-activity';

type Json = Record<string, unknown>;
const people = loadDemoPeople();
const person = (key: string): DemoPerson => people.people.find((p) => p.key === key)!;

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The data of the first action with `verb` anywhere in a card. */
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

describe('sandbox orchestrator (whole product in-process)', function () {
  this.timeout(60_000);
  let connector: ConnectorRecorder;
  let dataDir: string;
  let sandbox: Sandbox | undefined;
  let seq = 0;

  const boot = () =>
    startSandbox({
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

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jit-sandbox-'));
    connector = new ConnectorRecorder();
    await connector.start();
    for (const p of people.people) connector.addMember({ id: p.teamsUserId, aadObjectId: p.aadObjectId, name: `${p.givenName} ${p.surname}`, userPrincipalName: p.upn, email: p.upn, tenantId: people.tenantId });
  });
  afterEach(async () => {
    await sandbox?.stop();
    sandbox = undefined;
    await connector.close();
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });

  function activity(user: DemoPerson, o: SandboxActivityOptions): Json {
    return sandboxActivity({ id: `activity-${++seq}`, serviceUrl: connector.url, tenantId: people.tenantId }, user, o);
  }

  async function post(act: Json): Promise<{ status: number; body: Json | undefined }> {
    const res = await fetch(sandbox!.urls.messages, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(act) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Json) : undefined };
  }

  const say = (user: DemoPerson, text: string, where: 'personal' | 'channel' = 'personal') => post(activity(user, { text, where }));
  async function click(user: DemoPerson, verb: string, data: Json, where: 'personal' | 'channel') {
    const r = await post(activity(user, { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb, data } }, where }));
    assert.equal(r.status, 200, `invoke ${verb} answered ${r.status}`);
    return JSON.stringify(r.body?.value ?? {});
  }

  const cardsIn = (conversationPrefix: string) => connector.cards().filter((c) => (c.call.conversationId ?? '').startsWith(conversationPrefix));
  const requestOf = async (id: string) => (await sandbox!.stores.requests.get(id)) as StoredRequest;
  const onlyRequest = async () => until('a stored request', async () => (await sandbox!.stores.requests.list({}))[0]);
  const bridgeCall = async (path: string, as: DemoPerson, body?: Json) =>
    fetch(`${sandbox!.urls.bridge}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await sandbox!.bridgeToken()}`, [ACTOR_HEADERS.tenantId]: people.tenantId, [ACTOR_HEADERS.aadObjectId]: as.aadObjectId, [ACTOR_HEADERS.upn]: as.upn },
      body: body ? JSON.stringify(body) : undefined,
    });

  it('main path through the bot: request in 1:1 -> approval card in on-call -> approve -> ACTIVE with the assignment live -> expiry fires the real revoke -> EXPIRED, assignment gone, cards updated', async () => {
    sandbox = await boot();
    assert.deepEqual(sandbox.sessionDurationWarnings, [], 'the demo permission sets keep sessions for one hour at most (checked at startup)');
    const alice = person('alice');
    const carol = person('carol');

    // The approver uses the bot in the channel once, so that its reference is known (as in Teams).
    await say(carol, `<at>JIT Access</at> help`, 'channel');
    const form = await say(alice, 'request');
    assert.equal(form.status, 200);
    const formCard = cardsIn('a:personal-alice').at(-1)!.card;
    const submit = actionData(formCard, 'request.submit');
    assert.ok(submit?.clientRequestId, 'the request form carries a client request id');

    const answer = await click(alice, 'request.submit', { ...submit, accountId: '111111111111', permissionSetName: 'PowerUser', durationMinutes: '2', justification: 'Fix the broken deploy pipeline (INC-7)' }, 'personal');
    assert.doesNotMatch(answer, /"verb":"request\.submit"/, `the submission was accepted: ${answer.slice(0, 300)}`);
    const request = await onlyRequest();
    assert.equal(request.permissionSetName, 'PowerUser');

    // The channel card is the same for everyone; an approver's client refreshes it (refresh.userIds)
    // into the card with the vote buttons, as Teams does.
    const channelCard = await until('the approval card in the on-call channel', () => cardsIn(PLAYGROUND_IDS.oncallChannel).map((c) => c.card).find((c) => actionData(c, 'approval.refresh')?.requestId === request.id));
    assert.equal((await requestOf(request.id)).state, 'PENDING_APPROVAL');
    // The card is posted (PostApprovalCard) before the approval wait stores its token: wait for it.
    const token = await until('the approval wait stores its task token', async () => (await requestOf(request.id)).taskToken);
    assert.equal(token.startsWith('sbx1.'), true, 'the task token stays on the server');
    assert.doesNotMatch(JSON.stringify(channelCard), /sbx1\./, 'no task token on the card');
    const approvalCard = JSON.parse(await click(carol, 'approval.refresh', { requestId: request.id }, 'channel')) as Json;
    assert.ok(actionData(approvalCard, 'approval.approve'), 'the approver sees Approve');

    const approved = await click(carol, 'approval.approve', actionData(approvalCard, 'approval.approve')!, 'channel');
    assert.doesNotMatch(approved, /"verb":"approval\.approve"/, 'the approver sees a decided card');
    const active = await until('ACTIVE', async () => ((await requestOf(request.id)).state === 'ACTIVE' ? requestOf(request.id) : undefined));
    const key = { accountId: '111111111111', permissionSetArn: active.permissionSetArn, principalId: active.requester.userId };
    assert.equal(sandbox.aws.identityCenter.hasAssignment(key), true, 'the assignment is live in the Identity Center stand-in');
    assert.equal(sandbox.aws.scheduler.list().filter((s) => s.name === request.id).length, 1, 'the expiry is scheduled');
    await until('the requester told it is active', () => cardsIn('a:personal-alice').some((c) => /active/i.test(JSON.stringify(c.card)) && JSON.stringify(c.card).includes(request.id.slice(-6))) || undefined);

    const writesBefore = connector.writes().length;
    sandbox.clock.advance(2 * 60_000);
    const expired = await until('EXPIRED', async () => ((await requestOf(request.id)).state === 'EXPIRED' ? requestOf(request.id) : undefined));
    assert.equal(expired.state, 'EXPIRED');
    assert.equal(sandbox.aws.identityCenter.hasAssignment(key), false, 'the assignment is gone');
    // The Scheduler records an invocation when the target returns (after the notices).
    await until('the schedule invocation', () => sandbox!.aws.scheduler.invocations().find((i) => i.name === request.id && i.ok));
    assert.equal(sandbox.aws.scheduler.invocations().filter((i) => i.name === request.id).length, 1, 'the Scheduler fired the revoke target once');
    await until('the requester and the channel told', () => {
      const later = connector.writes().slice(writesBefore);
      const toAlice = later.some((c) => (c.conversationId ?? '').startsWith('a:personal-alice'));
      const toChannel = later.some((c) => (c.conversationId ?? '').startsWith(PLAYGROUND_IDS.oncallChannel));
      return (toAlice && toChannel) || undefined;
    });
    const actions = sandbox.stores.audit.forRequest(request.id).map((e) => e.action);
    assert.ok(actions.length >= 5, `audit trail: ${actions.join(', ')}`);
  });

  it('state survives a restart: a request pending approval before the stop is approved after it and granted', async () => {
    sandbox = await boot();
    const bob = person('bob');
    const dan = person('dan');
    const created = await bridgeCall('/requests', bob, { clientRequestId: 'restart-0001', accountId: '222222222222', permissionSetName: 'PowerUser', durationMinutes: 3, justification: 'Rotate the production TLS certificate' });
    assert.equal(created.status, 201);
    const id = ((await created.json()) as { request: { id: string } }).request.id;
    await until('the approval wait', () => sandbox!.aws.stepFunctions.waitingTasks().find((t) => t.executionName === id));
    await sandbox.stop();

    sandbox = await boot();
    assert.equal((await requestOf(id)).state, 'PENDING_APPROVAL', 'the request is still pending after the restart');
    await until('the approval wait again', () => sandbox!.aws.stepFunctions.waitingTasks().find((t) => t.executionName === id));
    const decided = await bridgeCall(`/requests/${id}/decisions`, dan, { decision: 'approve' });
    assert.equal(decided.status, 200, await decided.clone().text());
    await until('ACTIVE after the restart', async () => ((await requestOf(id)).state === 'ACTIVE' ? true : undefined));
    const r = await requestOf(id);
    assert.equal(sandbox.aws.identityCenter.hasAssignment({ accountId: '222222222222', permissionSetArn: r.permissionSetArn, principalId: r.requester.userId }), true);
  });

  it('an early revoke through the bridge ends the live sessions in the Identity Center stand-in (issue 14), and a later session is not blocked', async () => {
    sandbox = await boot();
    const bob = person('bob');
    const dan = person('dan');
    const created = await bridgeCall('/requests', bob, { clientRequestId: 'cut-0001', accountId: '222222222222', permissionSetName: 'PowerUser', durationMinutes: 5, justification: 'Investigate the failing health checks' });
    assert.equal(created.status, 201, await created.clone().text());
    const id = ((await created.json()) as { request: { id: string } }).request.id;
    await until('the approval wait', () => sandbox!.aws.stepFunctions.waitingTasks().find((t) => t.executionName === id));
    assert.equal((await bridgeCall(`/requests/${id}/decisions`, dan, { decision: 'approve' })).status, 200);
    await until('ACTIVE', async () => ((await requestOf(id)).state === 'ACTIVE' ? true : undefined));
    const r = await requestOf(id);
    const session = sandbox.clock.now();
    const probe = (issuedAt: number) => sandbox!.aws.identityCenter.wouldDenySession({ accountId: '222222222222', permissionSetArn: r.permissionSetArn, userId: r.requester.userId, issuedAt });
    assert.equal(probe(session), false);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    const revoked = await bridgeCall(`/requests/${id}/revoke`, bob, { reason: 'done' });
    assert.equal(revoked.status, 200, await revoked.clone().text());
    const view = ((await revoked.json()) as { request: { state: string; sessionsEnded?: { cutoff: string } } }).request;
    assert.equal(view.state, 'REVOKED');
    assert.ok(view.sessionsEnded, 'the bridge answers with the request that records the ended sessions');
    assert.equal(probe(session), true, 'the session issued during the grant is denied');
    assert.equal(probe(Date.parse(view.sessionsEnded.cutoff) + 1000), false, 'a session issued after the cutoff is not');
    assert.ok(sandbox.stores.audit.forRequest(id).some((e) => e.action === 'sessions.ended'));
  });

  it('the bridge is the real handler: a forged tenant, self-approval and a non-approver are refused with their status codes', async () => {
    sandbox = await boot();
    const frank = person('frank');
    const erin = person('erin');
    const created = await bridgeCall('/requests', frank, { clientRequestId: 'self-0001', accountId: '111111111111', permissionSetName: 'PowerUser', durationMinutes: 2, justification: 'Check the staging queue consumers' });
    assert.equal(created.status, 201);
    const id = ((await created.json()) as { request: { id: string } }).request.id;
    const self = await bridgeCall(`/requests/${id}/decisions`, frank, { decision: 'approve' });
    assert.equal(self.status, 403);
    assert.match(((await self.json()) as { error: { code: string } }).error.code, /SELF_APPROVAL/);
    const outsider = await bridgeCall(`/requests/${id}/decisions`, erin, { decision: 'approve' });
    assert.equal(outsider.status, 403);
    const token = await sandbox.bridgeToken();
    const forged = await fetch(`${sandbox.urls.bridge}/requests`, { headers: { authorization: `Bearer ${token}`, [ACTOR_HEADERS.tenantId]: '99999999-9999-9999-9999-999999999999', [ACTOR_HEADERS.upn]: frank.upn } });
    assert.equal(forged.status, 403);
    // The bridge admits only tokens the JWT authorizer would: none, garbage or a tampered one get API Gateway's 401.
    const [h, p, sig] = token.split('.') as [string, string, string];
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), azp: 'someone-else' })).toString('base64url')}.${sig}`;
    for (const authorization of [undefined, 'Bearer sandbox-token', `Bearer ${tampered}`]) {
      const r = await fetch(`${sandbox.urls.bridge}/requests?view=mine`, { headers: { ...(authorization ? { authorization } : {}), [ACTOR_HEADERS.tenantId]: people.tenantId, [ACTOR_HEADERS.upn]: frank.upn } });
      assert.equal(r.status, 401, String(authorization));
    }
    assert.equal((await requestOf(id)).state, 'PENDING_APPROVAL');
  });

  it('a taken port stops the start with an error naming the port and what needs it, and leaves nothing running', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(
        startSandbox({ dataDir, ports: { bot: port, bridge: 0, aws: 0 }, playground: false, teamsServiceUrl: connector.url, reconcileIntervalMs: 0, log: () => undefined }),
        (e: unknown) => e instanceof PortInUseError && new RegExp(`port ${port} \\(bot\\) is already in use`).test(e.message) && /JIT_BOT_PORT/.test(e.message),
      );
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
    // Nothing was left listening: a full start on the same data folder works.
    sandbox = await boot();
    assert.equal((await fetch(`${sandbox.urls.bot}/healthz`)).status, 200);
  });
});
