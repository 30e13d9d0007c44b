/**
 * End to end through Microsoft's Agents Playground: the whole sandbox (sandbox/orchestrator) with
 * the playground as the Teams client, watched in headless Chromium. Every step leaves a
 * screenshot in test-artifacts/e2e/.
 *
 * What goes through the UI and what does not (honestly): the current user (Alice) types in the
 * UI, and the approvers' votes are clicks in the UI on the channel card's sandbox buttons
 * ("Sandbox: approve as Carol"; sandbox mode only), which vote as that person through
 * `sandbox:act`'s path. Carol's first step-up vote still goes through the playground's own
 * conversation API, to show the bot's loginRequest answer; form submissions and Alice's own card
 * buttons are sent the same way (the same `adaptiveCard/action` invoke the UI sends); Frank's own
 * request, whose 1:1 chat the playground does not have, goes straight to the bridge. Expiry is reached by moving the
 * sandbox clock forward, which makes the Scheduler stand-in fire the revoke schedule.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ACTOR_HEADERS } from '../../contract/bridge';
import type { StoredRequest } from '../../core/model';
import { triggerDigest } from '../../sandbox/digest';
import { startSandbox, type Sandbox } from '../../sandbox/orchestrator';
import { SANDBOX_BRIDGE_AUDIENCE, SANDBOX_ISSUER_KEY_FILE, SANDBOX_SSO_CONNECTION_NAME, createLocalIssuer } from '../../sandbox/jwt-authorizer';
import { PLAYGROUND_IDS } from '../../sandbox/playground';
import { type DemoPerson, loadDemoPeople } from '../../sandbox/seed';
import { actionData, type Json, PlaygroundDriver, until } from './playground-driver';

const people = loadDemoPeople();
const person = (key: string): DemoPerson => people.people.find((p) => p.key === key)!;
const alice = person('alice');
const carol = person('carol');
const dan = person('dan');
const frank = person('frank');
const BOT_ID = 'jit-access-sandbox-bot';
const PERSONAL = PLAYGROUND_IDS.personalChat;
const CHANNEL = PLAYGROUND_IDS.oncallChannel;
// JIT_E2E_PORT_OFFSET lets two checkouts on one machine run the suite at once without colliding.
const PORT_OFFSET = Number(process.env.JIT_E2E_PORT_OFFSET ?? 0);
const PORTS = { bot: 3988 + PORT_OFFSET, bridge: 3989 + PORT_OFFSET, aws: 4609 + PORT_OFFSET, playground: 56160 + PORT_OFFSET };

describe('end to end through the Agents Playground', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let pg: PlaygroundDriver;
  let dataDir: string;
  let seq = 0;

  before(async function () {
    this.timeout(120_000);
    dataDir = await mkdtemp(join(tmpdir(), 'jit-e2e-'));
    sandbox = await startSandbox({ dataDir, ports: PORTS, playground: true, assignmentDelayMs: { min: 100, max: 300 }, grantPollMs: 200, reconcileIntervalMs: 0, logLevel: 'ERROR', log: () => undefined });
    pg = new PlaygroundDriver(sandbox.urls.playground!, BOT_ID, resolve('test-artifacts', 'e2e'));
    await pg.start();
    // The approvers have used the bot in the channel once (as in a real team), so its reference is known.
    await pg.say(carol.teamsUserId, CHANNEL, 'help', true);
    await pg.waitForCard('the help card in the channel', CHANNEL, () => true);
  });
  after(async () => {
    await pg?.stop();
    await sandbox?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });

  const stored = async (id: string) => (await sandbox.stores.requests.get(id)) as StoredRequest;
  const waitState = (id: string, state: string, timeoutMs = 30_000) => until(`${id} ${state}`, async () => ((await stored(id))?.state === state ? stored(id) : undefined), timeoutMs);
  const newest = async (before: Set<string>) => until('the new request', async () => (await sandbox.stores.requests.list({})).find((r) => !before.has(r.id)));
  const ids = async () => new Set((await sandbox.stores.requests.list({})).map((r) => r.id));
  const live = (r: StoredRequest) => sandbox.aws.identityCenter.hasAssignment({ accountId: r.accountId, permissionSetArn: r.permissionSetArn, principalId: r.requester.userId });

  /** Alice asks for access: "request" typed in the UI (first time) or sent as her, then the form submitted. */
  async function aliceRequests(fields: Json, viaUi = false): Promise<StoredRequest> {
    const mark = pg.messages.length;
    if (viaUi) {
      await pg.open('Personal Chat');
      await pg.typeInUi('request');
    } else {
      await pg.say(alice.teamsUserId, PERSONAL, 'request');
    }
    const form = await pg.waitForCard('the request form', PERSONAL, (c) => !!actionData(c, 'request.submit'), mark);
    if (viaUi) await pg.screenshot('alice-request-form');
    const before = await ids();
    const data = { ...actionData(form.card, 'request.submit'), clientRequestId: `e2e-${Date.now()}-${++seq}`, ...fields };
    await pg.click(alice.teamsUserId, PERSONAL, form.message.messageId, 'request.submit', data);
    return newest(before);
  }

  async function channelCardFor(id: string, after = 0) {
    return pg.waitForCard(`the channel card of ${id}`, CHANNEL, (c) => JSON.stringify(c).includes(id), after);
  }

  async function vote(who: DemoPerson, id: string, decision: 'approve' | 'deny', o: { stepUp?: boolean } = {}): Promise<string> {
    const { message } = await channelCardFor(id);
    const r = await stored(id);
    const conversation = message.postConversationId ?? message.conversationId;
    const verb = `approval.${decision}`;
    const data = { requestId: id, version: r.version };
    if (!o.stepUp) return JSON.stringify(await pg.click(who.teamsUserId, conversation, message.messageId, verb, data));
    // Step-up (the demo policy's Admin rules): the bot answers the plain click with a 401
    // loginRequest, which the playground reports as the bot's error; nothing is recorded. Teams
    // would then get an SSO token and re-send the action with it: the sandbox's local issuer plays
    // Entra, dated by the sandbox clock (the main path moved it forward).
    const votesBefore = r.votes.length;
    const first = await pg.click(who.teamsUserId, conversation, message.messageId, verb, data).then(
      (answer) => JSON.stringify(answer),
      (e: unknown) => (e as Error).message,
    );
    assert.match(first, /401/, `the first click is answered 401: ${first.slice(0, 400)}`);
    // The playground reports a bot's non-2xx invoke answer as its own error, with the bot's body in innerHttpError.
    if (/innerHttpError/.test(first)) assert.match(first, /application\/vnd\.microsoft\.activity\.loginRequest/);
    assert.equal((await stored(id)).votes.length, votesBefore, 'nothing recorded without the sign-in');
    const issuer = await createLocalIssuer({ tenantId: people.tenantId, audience: SANDBOX_BRIDGE_AUDIENCE, keyFile: join(dataDir, SANDBOX_ISSUER_KEY_FILE), create: false });
    const token = await issuer.mintUser({ oid: who.aadObjectId, mfa: true, issuedAt: Math.floor(sandbox.clock.now() / 1000) });
    const answer = await pg.click(who.teamsUserId, conversation, message.messageId, verb, data, { id: `e2e-${++seq}`, connectionName: SANDBOX_SSO_CONNECTION_NAME, token });
    const text = JSON.stringify(answer);
    assert.match(text, /verified with MFA/, `the vote counted with its sign-in: ${text.slice(0, 400)}`);
    return text;
  }

  it('main path: PowerUser asked in 1:1, approved in on-call, active, live in Identity Center, revoked at expiry, cards updated', async () => {
    await pg.screenshot('welcome');
    const request = await aliceRequests({ accountId: '111111111111', permissionSetName: 'PowerUser', durationMinutes: '2', justification: 'Fix the broken deploy pipeline (INC-7)' }, true);
    await pg.screenshot('alice-submitted');
    await channelCardFor(request.id);
    await pg.open('Platform - on-call');
    await pg.screenshot('approval-card-in-on-call');
    assert.equal((await stored(request.id)).state, 'PENDING_APPROVAL');

    const approvedMark = pg.messages.length;
    // Carol approves by a click in the UI: the channel card's sandbox button (sandbox:act's path).
    await pg.clickInUi('Sandbox: approve as Carol', request.id);
    const active = await waitState(request.id, 'ACTIVE');
    assert.equal(active.votes[0]?.approver.userName, carol.upn, 'the vote is Carol\'s');
    assert.equal(live(active), true, 'the assignment exists in the Identity Center stand-in');
    await pg.waitForCard('Alice told it is active', PERSONAL, (c) => /active/i.test(JSON.stringify(c)), approvedMark);
    await pg.screenshot('channel-after-approval');
    await pg.open('Personal Chat');
    await pg.screenshot('alice-sees-active');

    const mark = pg.messages.length;
    sandbox.clock.advance(2 * 60_000 + 1000);
    const expired = await waitState(request.id, 'EXPIRED');
    assert.equal(live(expired), false, 'the assignment was revoked');
    await until('Alice and the channel told', () => {
      const later = pg.messages.slice(mark);
      return (later.some((m) => m.conversationId === PERSONAL) && later.some((m) => m.conversationId.startsWith(CHANNEL) || m.postConversationId?.startsWith(CHANNEL))) || undefined;
    });
    await pg.waitForCard('Alice told it expired', PERSONAL, (c, m) => /has expired/i.test(m.text ?? '') || (JSON.stringify(c).includes(request.id) && /expired/i.test(JSON.stringify(c))), mark);
    const channelCard = await pg.waitForCard('the channel card updated to expired', CHANNEL, (c, m) => m.action === 'updateMessage' && JSON.stringify(c).includes(request.id) && /expired/i.test(JSON.stringify(c)), mark);
    assert.equal(actionData(channelCard.card, 'approval.approve'), undefined, 'no Approve button left on an expired request');
    await pg.screenshot('alice-sees-expired');
    await pg.open('Platform - on-call');
    await pg.screenshot('channel-card-expired');
  });

  it('deny: the approver denies, nothing is granted, Alice is told', async () => {
    const request = await aliceRequests({ accountId: '222222222222', permissionSetName: 'PowerUser', durationMinutes: '2', justification: 'Look at the production incident logs' });
    const mark = pg.messages.length;
    await channelCardFor(request.id);
    await pg.open('Platform - on-call');
    await pg.clickInUi('Sandbox: deny as Dan', request.id);
    const denied = await waitState(request.id, 'DENIED');
    assert.equal(denied.decidedBy?.userName, dan.upn);
    assert.equal(live(denied), false);
    await pg.waitForCard('Alice told it was denied', PERSONAL, (c) => /denied/i.test(JSON.stringify(c)), mark);
    await pg.open('Personal Chat');
    await pg.screenshot('alice-sees-denied');
  });

  it('self-approval is refused: Frank cannot approve his own request, Carol can', async () => {
    const res = await fetch(`${sandbox.urls.bridge}/requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await sandbox.bridgeToken()}`, [ACTOR_HEADERS.tenantId]: people.tenantId, [ACTOR_HEADERS.aadObjectId]: frank.aadObjectId, [ACTOR_HEADERS.upn]: frank.upn },
      body: JSON.stringify({ clientRequestId: `e2e-frank-${Date.now()}`, accountId: '111111111111', permissionSetName: 'PowerUser', durationMinutes: 2, justification: 'Restart the staging workers' }),
    });
    assert.equal(res.status, 201);
    const id = ((await res.json()) as { request: { id: string } }).request.id;
    // The card offers Frank's own vote to show the policy's refusal, clicked in the UI.
    await channelCardFor(id);
    await pg.open('Platform - on-call');
    const answer = await pg.clickInUi('Sandbox: approve as Frank', id);
    assert.match(answer, /own|yourself|self/i, `Frank is told why: ${answer.slice(0, 300)}`);
    assert.equal((await stored(id)).state, 'PENDING_APPROVAL');
    assert.equal((await stored(id)).votes.length, 0, 'nothing recorded');
    await pg.screenshot('self-approval-refused', /own|yourself|self/i);
    await pg.clickInUi('Sandbox: approve as Carol', id);
    await waitState(id, 'ACTIVE');
  });

  it('two-approver quorum: Admin needs Carol and Dan, each with a fresh MFA sign-in (step-up)', async () => {
    const request = await aliceRequests({ accountId: '111111111111', permissionSetName: 'Admin', durationMinutes: '2', justification: 'Apply the IAM boundary change', ticketId: 'CHG-1234' });
    await vote(carol, request.id, 'approve', { stepUp: true });
    await until('the first vote recorded', async () => ((await stored(request.id)).votes.length === 1 ? true : undefined));
    assert.equal((await stored(request.id)).state, 'PENDING_APPROVAL', 'one approval of two is not enough');
    assert.equal((await stored(request.id)).votes[0]?.stepUp?.method, 'amr', 'Carol\'s vote carries her MFA sign-in');
    await pg.open('Platform - on-call');
    await pg.screenshot('quorum-one-of-two');
    // Dan by a click in the UI: sandbox:act's path signs him in with MFA from the local issuer.
    await pg.clickInUi('Sandbox: approve as Dan', request.id);
    const active = await waitState(request.id, 'ACTIVE');
    assert.equal(active.votes[1]?.stepUp?.method, 'amr', 'Dan\'s vote carries his MFA sign-in');
    assert.equal(live(active), true);
    await pg.screenshot('quorum-two-of-two-active');
  });

  it('break-glass: production Admin at once, a CRITICAL finding in the channel', async () => {
    const mark = pg.messages.length;
    const request = await aliceRequests({ accountId: '222222222222', permissionSetName: 'Admin', durationMinutes: '5', justification: 'Production outage, customers down', ticketId: 'INC-999', breakGlass: 'true' });
    const active = await waitState(request.id, 'ACTIVE');
    assert.equal(active.route, 'break_glass');
    assert.equal(live(active), true);
    // The alert card (it mentions the finding) and the Security Hub finding itself, posted by the findings handler.
    await pg.waitForCard('the break-glass alert in the channel', CHANNEL, (c) => JSON.stringify(c).includes(request.id) && /break-glass/i.test(JSON.stringify(c)), mark, 30_000);
    const finding = await pg.waitForCard('the CRITICAL Security Hub finding in the channel', CHANNEL, (c) => /Security Hub: \d+ finding/.test(JSON.stringify(c)) && /"CRITICAL"/.test(JSON.stringify(c)) && JSON.stringify(c).includes(encodeURIComponent(encodeURIComponent(`jit/break-glass/${request.id}`))), mark, 30_000);
    assert.match(JSON.stringify(finding.card), /Break-glass access used: Admin on sandbox-prod/);
    const imported = sandbox.aws.securityHub.list().find((f) => f.finding.Id.includes(request.id));
    assert.equal(imported?.finding.Severity?.Label, 'CRITICAL', 'the finding is stored in the Security Hub stand-in');
    await pg.open('Platform - on-call');
    await pg.screenshot('break-glass-finding-in-channel', /Security Hub: \d+ finding/);
  });

  it('early revoke: Alice ends her access before it expires', async () => {
    const request = await aliceRequests({ accountId: '111111111111', permissionSetName: 'ReadOnly', durationMinutes: '5', justification: 'Read the cost explorer reports' });
    const active = await waitState(request.id, 'ACTIVE');
    assert.equal(live(active), true);
    const status = await pg.waitForCard('the status card with Revoke', PERSONAL, (c) => actionData(c, 'grant.revoke')?.requestId === request.id);
    await pg.click(alice.teamsUserId, PERSONAL, status.message.messageId, 'grant.revoke', { requestId: request.id });
    const revoked = await waitState(request.id, 'REVOKED');
    assert.equal(live(revoked), false);
    await pg.open('Personal Chat');
    await pg.screenshot('early-revoke');
  });

  it('extend: Alice adds minutes to an active grant and the expiry moves', async () => {
    const request = await aliceRequests({ accountId: '222222222222', permissionSetName: 'ReadOnly', durationMinutes: '2', justification: 'Read the production dashboards' });
    const active = await waitState(request.id, 'ACTIVE');
    const status = await pg.waitForCard('the status card with Extend', PERSONAL, (c) => actionData(c, 'grant.extend')?.requestId === request.id);
    await pg.click(alice.teamsUserId, PERSONAL, status.message.messageId, 'grant.extend', { ...actionData(status.card, 'grant.extend'), requestId: request.id, additionalMinutes: '2' });
    const extended = await until('the later end', async () => {
      const r = await stored(request.id);
      return Date.parse(r.grant!.endsAt) > Date.parse(active.grant!.endsAt) ? r : undefined;
    });
    assert.equal(Date.parse(extended.grant!.endsAt) - Date.parse(active.grant!.endsAt), 2 * 60_000);
    assert.equal(extended.state, 'ACTIVE');
    await pg.open('Personal Chat');
    await pg.screenshot('extended');
  });
  it('weekly KPI digest: sandbox:digest posts the KPI card with its charts in the on-call channel, once per week', async () => {
    const mark = pg.messages.length;
    const isDigest = (c: Json) => /Weekly access KPIs/.test(JSON.stringify(c));
    // What `npm run sandbox:digest` does: the weekly schedule's firing, now, through the notify function.
    const first = await triggerDigest(sandbox.urls.bridge);
    assert.ok(first.requests >= 5, `the week's requests are counted: ${JSON.stringify(first)}`);
    const digest = await pg.waitForCard('the KPI digest in the on-call channel', CHANNEL, isDigest, mark, 30_000);
    const text = JSON.stringify(digest.card);
    for (const chart of ['Chart.Donut', 'Chart.VerticalBar', 'Chart.Gauge', 'Chart.HorizontalBar']) assert.ok(text.includes(`"type":"${chart}"`), `${chart} on the card`);
    // The break-glass step above left a grant whose post-incident review nobody acknowledged.
    assert.match(text, /"title":"Break-glass uses","value":"[1-9]\d*"/);
    assert.match(text, /"title":"Open post-incident reviews","value":"[1-9]\d*"/);
    // A replay of the same week is answered, and posts nothing.
    const again = await triggerDigest(sandbox.urls.bridge);
    assert.equal(again.weekId, first.weekId);
    await pg.open('Platform - on-call');
    await pg.screenshot('kpi-digest', /Requests by outcome|Weekly access KPIs/);
    assert.equal(pg.messages.slice(mark).filter((m) => m.cards.some(isDigest)).length, 1, 'one digest per week');
  });
});
