import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import { ACTOR_HEADERS } from '../../contract/bridge';
import { ValidationError } from '../../core/errors';
import { type ActorIdentity, BridgeClient, BridgeRefusal, BridgeUnavailableError } from '../../bot/bridge-client';
import { staticTokenProvider } from '../../bot/token-provider';
import { type RealBridge, startRealBridge, TENANT_ID, USERS } from '../support/real-bridge';

const actorOf = (u: { aadObjectId: string; upn: string; displayName: string }): ActorIdentity => ({ aadObjectId: u.aadObjectId, tenantId: TENANT_ID, upn: u.upn, displayName: u.displayName });

const submitBody = { clientRequestId: 'cr-0000000001', accountId: '111111111111', permissionSetName: 'ReadOnly', durationMinutes: 60, justification: 'Investigating INC-42 payments latency' };

describe('bot bridge client', () => {
  let bridge: RealBridge;
  let client: BridgeClient;
  beforeEach(async () => {
    bridge = await startRealBridge();
    client = new BridgeClient({ baseUrl: `${bridge.url}/`, tokens: staticTokenProvider(bridge.token), retryDelayMs: 1 });
  });
  afterEach(() => bridge.close());

  it('sends the bearer token and the actor headers; the body never carries an actor', async () => {
    const r = await client.submitRequest({ ...actorOf(USERS.alice), displayName: 'Alice Ünïcode' }, submitBody);
    assert.equal(r.request.state, 'PENDING_APPROVAL');
    const call = bridge.callsTo('POST', '/requests')[0]!;
    assert.equal(call.headers.authorization, `Bearer ${bridge.token}`);
    assert.equal(call.headers[ACTOR_HEADERS.aadObjectId], USERS.alice.aadObjectId);
    assert.equal(call.headers[ACTOR_HEADERS.upn], USERS.alice.upn);
    assert.equal(call.headers[ACTOR_HEADERS.tenantId], TENANT_ID);
    assert.equal(decodeURIComponent(call.headers[ACTOR_HEADERS.displayName]!), 'Alice Ünïcode');
    assert.deepEqual(call.body, submitBody);
  });

  it('a repeated submit with the same clientRequestId is a replay, not a second request', async () => {
    const a = await client.submitRequest(actorOf(USERS.alice), submitBody);
    const b = await client.submitRequest(actorOf(USERS.alice), submitBody);
    assert.equal(b.request.id, a.request.id);
    assert.equal(b.replayed, true);
    assert.equal(bridge.world.requests.items.size, 1);
  });

  it('maps refusals to typed errors with the server message', async () => {
    const { request } = await client.submitRequest(actorOf(USERS.alice), submitBody);
    await assert.rejects(client.decide(actorOf(USERS.alice), request.id, { decision: 'approve' }), (e: unknown) => e instanceof BridgeRefusal && e.code === 'SELF_APPROVAL' && e.status === 403);
    await assert.rejects(client.decide(actorOf(USERS.mallory), request.id, { decision: 'approve' }), (e: unknown) => e instanceof BridgeRefusal && e.code === 'NOT_APPROVER');
    await client.decide(actorOf(USERS.bob), request.id, { decision: 'approve' });
    await assert.rejects(client.decide(actorOf(USERS.carol), request.id, { decision: 'deny' }), (e: unknown) => e instanceof BridgeRefusal && e.code === 'ILLEGAL_TRANSITION' && /This request was already approved by Bob Approver/.test(e.message));
    // Over the rule's maximum is a policy refusal with the rule's reason, not a schema issue.
    await assert.rejects(client.submitRequest(actorOf(USERS.alice), { ...submitBody, clientRequestId: 'cr-0000000002', durationMinutes: 9999 }), (e: unknown) => e instanceof BridgeRefusal && e.code === 'NOT_ELIGIBLE' && e.status === 403 && /may last at most 4h/.test(e.message));
    await assert.rejects(client.submitRequest(actorOf(USERS.alice), { ...submitBody, clientRequestId: 'cr-0000000003', accountId: '999999999999' }), (e: unknown) => e instanceof ValidationError && e.issues.some((i) => i.path === 'accountId'));
    const stranger = { aadObjectId: '99999999-0000-0000-0000-000000000009', tenantId: TENANT_ID, upn: 'nobody@example.com' };
    await assert.rejects(client.listRequests(stranger, 'mine'), (e: unknown) => e instanceof BridgeRefusal && e.code === 'UNKNOWN_USER');
  });

  it('never puts a forged request id into a URL', async () => {
    const fetchSpy = sinon.spy(fetch);
    const c = new BridgeClient({ baseUrl: bridge.url, tokens: staticTokenProvider(bridge.token), fetch: fetchSpy });
    for (const forged of ['../eligibility', 'req-abc/../../x', 'req-0000000000?x=1', '', 'req-01J0000000000000%2F']) {
      await assert.rejects(c.getRequest(actorOf(USERS.alice), forged), (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'NOT_FOUND');
    }
    assert.equal(fetchSpy.callCount, 0);
  });

  it('retries an idempotent call once on 503, and never retries extend', async () => {
    bridge.fault = 'down';
    await assert.rejects(client.listRequests(actorOf(USERS.alice), 'mine'), (e: unknown) => e instanceof BridgeUnavailableError && e.reason === 'server');
    assert.equal(bridge.calls.length, 2);
    bridge.calls.length = 0;
    await assert.rejects(client.extend(actorOf(USERS.alice), 'req-01J000000000000000000001', { additionalMinutes: 30 }), BridgeUnavailableError);
    assert.equal(bridge.calls.length, 1);
  });

  it('a 401 from the gateway is an auth problem of the bot, not of the user', async () => {
    const c = new BridgeClient({ baseUrl: bridge.url, tokens: staticTokenProvider('wrong') });
    await assert.rejects(c.listRequests(actorOf(USERS.alice), 'mine'), (e: unknown) => e instanceof BridgeUnavailableError && e.reason === 'auth');
  });

  it('gives up at the deadline when the bridge hangs (fake clock, no real waiting)', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const hanging = sinon.stub().callsFake((_url: string, init: RequestInit) => new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason))));
      const c = new BridgeClient({ baseUrl: 'http://127.0.0.1:9', tokens: staticTokenProvider(bridge.token), fetch: hanging as unknown as typeof fetch, timeoutMs: 8000 });
      const out: { settled?: unknown } = {};
      const p = c.decide(actorOf(USERS.bob), 'req-01J000000000000000000001', { decision: 'approve' }).catch((e: unknown) => (out.settled = e));
      await clock.tickAsync(7999);
      assert.equal(typeof out.settled, 'undefined');
      await clock.tickAsync(1);
      await p;
      assert.ok(out.settled instanceof BridgeUnavailableError && out.settled.reason === 'timeout', String(out.settled));
      assert.equal(hanging.callCount, 1);
    } finally {
      clock.restore();
    }
  });

  it('an outer abort (the invoke deadline) cancels the call', async () => {
    const hanging = sinon.stub().callsFake((_url: string, init: RequestInit) => new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason))));
    const c = new BridgeClient({ baseUrl: 'http://127.0.0.1:9', tokens: staticTokenProvider(bridge.token), fetch: hanging as unknown as typeof fetch });
    const outer = new AbortController();
    const p = c.getRequest(actorOf(USERS.bob), 'req-01J000000000000000000001', { signal: outer.signal });
    outer.abort(new BridgeUnavailableError('timeout', 'invoke deadline'));
    await assert.rejects(p, (e: unknown) => e instanceof BridgeUnavailableError && e.reason === 'timeout');
  });

  it('eligibility passes q and limit as query parameters', async () => {
    const r = await client.eligibility(actorOf(USERS.alice), { q: 'prod', limit: 5 });
    assert.deepEqual(r.accounts.map((a) => a.name), ['prod-analytics', 'prod-payments']);
    assert.deepEqual(bridge.callsTo('GET', '/eligibility')[0]!.query, { q: 'prod', limit: '5' });
  });
});
