/**
 * sandbox/act.ts (act as another demo person: the playground shows only Alice and has no
 * user-specific card views) against the whole sandbox in-process, the bridge checking the policy
 * as for a button click.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTOR_HEADERS } from '../../contract/bridge';
import type { StoredRequest } from '../../core/model';
import { act } from '../../sandbox/act';
import { SANDBOX_BOT_APP_ID, SANDBOX_BRIDGE_AUDIENCE, SANDBOX_ISSUER_KEY_FILE, createLocalIssuer, sandboxBridgeToken } from '../../sandbox/jwt-authorizer';
import { startSandbox, type Sandbox } from '../../sandbox/orchestrator';
import { type DemoPerson, loadDemoPeople } from '../../sandbox/seed';
import { ConnectorRecorder } from '../support/connector-recorder';

const people = loadDemoPeople();
const person = (key: string): DemoPerson => people.people.find((p) => p.key === key)!;

describe('sandbox/act.ts: acting as another demo person', function () {
  this.timeout(60_000);
  let connector: ConnectorRecorder;
  let sandbox: Sandbox;
  let dataDir: string;
  let seq = 0;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jit-act-'));
    connector = new ConnectorRecorder();
    await connector.start();
    sandbox = await startSandbox({ dataDir, ports: { bot: 0, bridge: 0, aws: 0 }, playground: false, teamsServiceUrl: connector.url, assignmentDelayMs: { min: 5, max: 20 }, grantPollMs: 30, reconcileIntervalMs: 0, logLevel: 'ERROR', log: () => undefined });
  });
  after(async () => {
    await sandbox?.stop();
    await connector?.close();
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });

  async function requestAs(who: DemoPerson, permissionSetName: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await fetch(`${sandbox.urls.bridge}/requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await sandbox.bridgeToken()}`, [ACTOR_HEADERS.tenantId]: people.tenantId, [ACTOR_HEADERS.aadObjectId]: who.aadObjectId, [ACTOR_HEADERS.upn]: who.upn },
      body: JSON.stringify({ clientRequestId: `act-test-${++seq}`, accountId: '111111111111', permissionSetName, durationMinutes: 2, justification: 'Check the act helper end to end', ...extra }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { request: { id: string } }).request.id;
  }

  async function run(...argv: string[]): Promise<{ code: number; text: string }> {
    const lines: string[] = [];
    const issuer = () => createLocalIssuer({ tenantId: people.tenantId, audience: SANDBOX_BRIDGE_AUDIENCE, keyFile: join(dataDir, SANDBOX_ISSUER_KEY_FILE), create: false });
    const code = await act(argv, (l) => lines.push(l), sandbox.urls.bridge, () => sandbox.bridgeToken(), issuer);
    return { code, text: lines.join('\n') };
  }

  /** act.ts as a separate process runs it: the token is signed with the key from a data folder. */
  async function run2(argv: string[], keyFile: string): Promise<{ code: number; text: string }> {
    const lines: string[] = [];
    const code = await act(argv, (l) => lines.push(l), sandbox.urls.bridge, () => sandboxBridgeToken(keyFile, { appId: SANDBOX_BOT_APP_ID, tenantId: people.tenantId }));
    return { code, text: lines.join('\n') };
  }

  const state = async (id: string) => ((await sandbox.stores.requests.get(id)) as StoredRequest).state;

  it('lists what waits for an approver, refuses a self-approval and a non-approver, and approves as Carol', async () => {
    const alices = await requestAs(person('alice'), 'PowerUser');
    const franks = await requestAs(person('frank'), 'PowerUser');

    const listed = await run('carol', 'pending');
    assert.equal(listed.code, 0);
    assert.match(listed.text, new RegExp(alices));
    assert.match(listed.text, new RegExp(franks));

    const ambiguous = await run('carol', 'approve');
    assert.equal(ambiguous.code, 2, 'two requests wait: Carol must name one');
    assert.match(ambiguous.text, /name one/);

    const self = await run('frank', 'approve', franks);
    assert.equal(self.code, 1);
    assert.match(self.text, /Frank cannot approve/);
    assert.equal(await state(franks), 'PENDING_APPROVAL');

    const erin = await run('erin', 'approve', alices);
    assert.equal(erin.code, 1, 'Erin is no approver');
    assert.equal(await state(alices), 'PENDING_APPROVAL');

    const approved = await run('carol', 'approve', alices, 'Looks', 'fine');
    assert.equal(approved.code, 0, approved.text);
    assert.match(approved.text, /Carol voted approve/);
    const deadline = performance.now() + 20_000;
    while ((await state(alices)) !== 'ACTIVE' && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await state(alices), 'ACTIVE');
    const stored = (await sandbox.stores.requests.get(alices)) as StoredRequest;
    assert.equal(stored.votes[0]?.reason, 'Looks fine');

    const denied = await run('dan', 'deny', franks);
    assert.equal(denied.code, 0, denied.text);
    assert.equal(await state(franks), 'DENIED');
  });

  it('Admin asks each approver for a fresh MFA sign-in: act.ts plays Teams SSO with the local issuer, dated by the sandbox clock', async () => {
    // The sandbox clock runs ahead of the wall clock (as after an expiry demo): the token must follow
    // it. One minute: enough to tell the clocks apart, too little to expire the grant above.
    const moved = await fetch(`${sandbox.urls.bridge}/_sandbox/clock/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ minutes: 1 }) });
    assert.equal(moved.status, 200);
    const id = await requestAs(person('bob'), 'Admin', { ticketId: 'CHG-77' });
    const weak = await run('carol', 'approve', id, '--no-mfa');
    assert.equal(weak.code, 1, weak.text);
    assert.match(weak.text, /fresh sign-in/);
    assert.match(weak.text, /Carol cannot approve .*not done with multi-factor authentication .*STEP_UP_REJECTED/s);
    assert.equal(((await sandbox.stores.requests.get(id)) as StoredRequest).votes.length, 0);

    const carol = await run('carol', 'approve', id);
    assert.equal(carol.code, 0, carol.text);
    assert.match(carol.text, /Signed Carol in with MFA/);
    const stored = (await sandbox.stores.requests.get(id)) as StoredRequest;
    assert.equal(stored.votes[0]?.stepUp?.method, 'amr');
    assert.deepEqual(stored.votes[0]?.stepUp?.values, ['mfa']);
    assert.ok(stored.votes[0]!.stepUp!.tokenAgeSeconds < 30, `dated by the sandbox clock: ${stored.votes[0]!.stepUp!.tokenAgeSeconds}s`);
    const dan = await run('dan', 'approve', id);
    assert.equal(dan.code, 0, dan.text);
    assert.match(dan.text, /\(decided\)/);
  });

  it('unknown people and verbs get the usage; a stopped sandbox a clear sentence', async () => {
    const usage = await run('mallory', 'approve');
    assert.equal(usage.code, 2);
    assert.match(usage.text, /Usage: .*People: alice \(requester\)/s);
    const fromDataFolder = await run2(['carol', 'pending'], join(dataDir, SANDBOX_ISSUER_KEY_FILE));
    assert.equal(fromDataFolder.code, 0, fromDataFolder.text);
    const missingKey = await run2(['carol', 'pending'], join(dataDir, 'nowhere', 'key.json'));
    assert.equal(missingKey.code, 1);
    assert.match(missingKey.text, /start the sandbox \(npm start\) first/);
    await assert.rejects(act(['carol', 'pending'], () => undefined, 'http://127.0.0.1:9', () => sandbox.bridgeToken()), /does not answer at http:\/\/127\.0\.0\.1:9\. Is `npm start` running\?/);
  });
});
