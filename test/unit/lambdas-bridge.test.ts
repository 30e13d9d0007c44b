/**
 * The bridge handler (lambdas/bridge) over in-memory ports: every route's happy path and status
 * codes, the caller and actor checks, and fuzzed bodies that must all be refused with a 4xx, a
 * clear error and no change to any state.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import sinon from 'sinon';
import { ACTOR_HEADERS, BRIDGE_RESPONSES, errorResponseSchema } from '../../contract/bridge';
import { cancelBodySchema, createRequestBodySchema, decisionBodySchema, eligibilityQuerySchema, extendBodySchema, listQuerySchema, reviewBodySchema, revokeBodySchema, sanitizeSearchQuery } from '../../core/api';
import type { MemoryWorld } from '../../core/memory';
import { BRIDGE_ROUTES } from '../../infra/constructs/bridge-api';
import { BRIDGE_APP_ROLE, BRIDGE_ROUTE_KEYS, type BridgeEvent, claimList, createBridgeHandler, MAX_BODY_BYTES } from '../../lambdas/bridge/handler';
import { ERROR_CATALOGUE, isDomainErrorCode } from '../../contract/errors';
import { createNotifyHandler } from '../../lambdas/notify/handler';
import { LocalAsyncInvoke } from '../../sandbox/orchestrator/async-invoke';
import { activeRequest, body, startWorkflow, USERS, world } from '../support/core-world';

const TENANT = '00000000-0000-0000-0000-000000000000';
const BOT_APP_ID = '11111111-2222-3333-4444-555555555555';
const BRIDGE_CLIENT_ID = '00000000-0000-4000-8000-0000000b71d6';
/**
 * The claims API Gateway hands the function for an Entra v2 app-only token of the bot: every value a
 * string, the `roles` array rendered `[a b]` (payload format 2.0).
 */
const V2_CLAIMS = {
  iss: `https://login.microsoftonline.com/${TENANT}/v2.0`,
  aud: BRIDGE_CLIENT_ID,
  azp: BOT_APP_ID,
  azpacr: '1',
  roles: `[${BRIDGE_APP_ROLE}]`,
  tid: TENANT,
  oid: '00000000-0000-4000-8000-0000000005b0',
  sub: '00000000-0000-4000-8000-0000000005b0',
  ver: '2.0',
  iat: '1700000000',
  nbf: '1700000000',
  exp: '1700003600',
};
const FUZZ_RUNS = 1_000;

type Who = keyof typeof USERS;

interface EventOptions {
  id?: string;
  as?: Who;
  body?: unknown;
  /** A raw body string, sent as is. */
  raw?: string;
  contentType?: string;
  headers?: Record<string, string | undefined>;
  claims?: Record<string, unknown>;
  query?: Record<string, string>;
}

function event(routeKey: string, o: EventOptions = {}): BridgeEvent {
  const [method, template] = routeKey.split(' ') as [string, string];
  const id = o.id ?? '';
  const user = USERS[o.as ?? 'alice'];
  const payload = o.raw !== undefined ? o.raw : o.body === undefined ? undefined : JSON.stringify(o.body);
  const headers: Record<string, string | undefined> = {
    authorization: 'Bearer (checked by API Gateway)',
    [ACTOR_HEADERS.tenantId]: TENANT,
    [ACTOR_HEADERS.aadObjectId]: user.aadObjectId,
    [ACTOR_HEADERS.upn]: user.upn,
    [ACTOR_HEADERS.displayName]: encodeURIComponent(user.displayName),
    ...(payload !== undefined ? { 'content-type': o.contentType ?? 'application/json' } : {}),
    ...o.headers,
  };
  return {
    version: '2.0',
    routeKey,
    rawPath: template.replace('{id}', id),
    rawQueryString: new URLSearchParams(o.query ?? {}).toString(),
    headers: Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined)),
    queryStringParameters: o.query,
    pathParameters: template.includes('{id}') ? { id } : undefined,
    body: payload,
    isBase64Encoded: false,
    requestContext: {
      accountId: '111111111111',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path: template.replace('{id}', id), protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bot' },
      requestId: 'r',
      routeKey,
      stage: '$default',
      time: '',
      timeEpoch: 0,
      authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: o.claims ?? V2_CLAIMS, scopes: [] } },
    },
  } as unknown as BridgeEvent;
}

interface Parsed {
  status: number;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function setup(): { w: MemoryWorld; call: (routeKey: string, o?: EventOptions) => Promise<Parsed> } {
  const w = world();
  const handler = createBridgeHandler(w.deps, { botAppId: BOT_APP_ID, tenantId: TENANT, audience: BRIDGE_CLIENT_ID });
  return {
    w,
    call: async (routeKey, o) => {
      const r = await handler(event(routeKey, o));
      assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(r.headers['cache-control'], 'no-store');
      const parsed = JSON.parse(r.body) as Parsed['body'];
      assertContract(routeKey, r.statusCode, parsed);
      return { status: r.statusCode, body: parsed };
    },
  };
}

/**
 * Every answer of every test here is held to contract/bridge.ts, the schemas the bot parses with:
 * a success matches its route's schema with nothing left over (a field the schema does not know
 * would be dropped by the bot), an error matches the error body, and a domain code has the error
 * catalogue's status.
 */
function assertContract(routeKey: string, status: number, body: unknown): void {
  if (status >= 200 && status < 300) {
    const schema = BRIDGE_RESPONSES[routeKey as keyof typeof BRIDGE_RESPONSES];
    assert.ok(schema, `no response schema for ${routeKey}`);
    const parsed = schema.safeParse(body);
    assert.ok(parsed.success, `${routeKey} ${status}: the answer does not match contract/bridge.ts: ${parsed.error?.message}`);
    assert.deepEqual(parsed.data, body, `${routeKey} ${status}: the answer has fields contract/bridge.ts does not know`);
    return;
  }
  const parsed = errorResponseSchema.safeParse(body);
  assert.ok(parsed.success, `${routeKey} ${status}: the error body does not match contract/bridge.ts`);
  assert.deepEqual(parsed.data, body);
  const code = parsed.data.error.code;
  if (isDomainErrorCode(code)) assert.equal(status, ERROR_CATALOGUE[code].status, `${code} answered with ${status}`);
}

/** Everything a request could change: a refused request must leave all of it as it was. */
function snapshot(w: MemoryWorld): string {
  return JSON.stringify({
    requests: [...w.requests.items.entries()],
    writes: w.requests.writes,
    ledger: [...w.ledger.entries.entries()],
    audit: w.audit.events.length,
    notices: w.notifier.events.length,
    assignments: w.assignments.writes.length,
    schedules: [...w.scheduler.schedules.entries()],
    started: [...w.workflow.started.keys()],
    resumed: w.workflow.resumed.length,
  });
}

function assertError(r: Parsed, status: number, code?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(typeof r.body.error?.code, 'string');
  assert.ok(String(r.body.error?.message).length > 5, 'a message a person can read');
  if (code) assert.equal(r.body.error.code, code);
}

/** A submitted request waiting for approvers (token recorded like the workflow does). */
async function pending(w: MemoryWorld, who: Who = 'alice', over: Parameters<typeof body>[0] = {}): Promise<string> {
  const handler = createBridgeHandler(w.deps, { botAppId: BOT_APP_ID, tenantId: TENANT, audience: BRIDGE_CLIENT_ID });
  const r = await handler(event('POST /requests', { as: who, body: body(over) }));
  assert.equal(r.statusCode, 201, r.body);
  const id = (JSON.parse(r.body) as { request: { id: string } }).request.id;
  await startWorkflow(w, id);
  return id;
}

describe('lambdas/bridge: routes over in-memory ports', () => {
  it('dispatches exactly the routes API Gateway has, and contract/bridge.ts has an answer schema for each', () => {
    assert.deepEqual([...BRIDGE_ROUTE_KEYS].sort(), BRIDGE_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    assert.deepEqual(Object.keys(BRIDGE_RESPONSES).sort(), [...BRIDGE_ROUTE_KEYS].sort());
  });

  describe('POST /requests', () => {
    it('201 creates the request for the actor from the headers and starts its workflow; the same submit again is a 200 replay', async () => {
      const { w, call } = setup();
      const b = body();
      const created = await call('POST /requests', { body: b });
      assert.equal(created.status, 201);
      assert.equal(created.body.replayed, false);
      const request = created.body.request;
      assert.equal(request.requester.userId, USERS.alice.userId);
      assert.equal(request.state, 'PENDING_APPROVAL');
      assert.equal(request.taskToken, undefined);
      assert.equal(request.executionArn, undefined);
      assert.ok(w.workflow.started.has(request.id));

      const replay = await call('POST /requests', { body: b });
      assert.equal(replay.status, 200);
      assert.equal(replay.body.replayed, true);
      assert.equal(replay.body.request.id, request.id);
      assert.equal(w.requests.items.size, 1);
    });

    it('409 when the client request id is reused for a different request, or the same access is already open', async () => {
      const { call } = setup();
      const b = body();
      assert.equal((await call('POST /requests', { body: b })).status, 201);
      assertError(await call('POST /requests', { body: { ...b, justification: 'A different reason entirely' } }), 409, 'ALREADY_EXISTS');
      assertError(await call('POST /requests', { body: body() }), 409, 'ALREADY_EXISTS');
    });

    it('400 with field issues for an invalid body; a body field "actor" is refused (the actor comes from the headers only)', async () => {
      const { w, call } = setup();
      const before = snapshot(w);
      const r = await call('POST /requests', { body: { ...body(), durationMinutes: 0, accountId: '12' } });
      assertError(r, 400, 'VALIDATION');
      const paths = (r.body.error.issues as Array<{ path: string }>).map((i) => i.path).sort();
      assert.deepEqual(paths, ['accountId', 'durationMinutes']);

      const forged = await call('POST /requests', { as: 'alice', body: { ...body(), actor: { userId: USERS.carol.userId } } });
      assertError(forged, 400, 'VALIDATION');
      assert.match(JSON.stringify(forged.body.error.issues), /actor/);
      assert.equal(snapshot(w), before);
    });

    it('the 400 names each bad field with a readable message (zod/mini schemas with the English messages classic zod gave)', async () => {
      const { call } = setup();
      const r = await call('POST /requests', { body: { ...body(), durationMinutes: 1.5, justification: 'short', ticketId: 7, extra: true } });
      assertError(r, 400, 'VALIDATION');
      assert.deepEqual(r.body.error.issues, [
        { path: 'durationMinutes', message: 'Invalid input: expected int, received number' },
        { path: 'justification', message: 'Too small: expected string to have >=10 characters' },
        { path: 'ticketId', message: 'Invalid input: expected string, received number' },
        { path: '(body)', message: 'Unrecognized key: "extra"' },
      ]);
      const q = await call('GET /eligibility', { query: { limit: '51' } });
      assertError(q, 400, 'VALIDATION');
      assert.deepEqual(q.body.error.issues, [{ path: 'limit', message: 'Too big: expected number to be <=50' }]);
      const v = await call('GET /requests', { query: { view: 'all' } });
      assert.deepEqual(v.body.error.issues, [{ path: 'view', message: 'Invalid option: expected one of "mine"|"pending"' }]);
    });

    it('403 when the policy does not make the actor eligible (contractor; break-glass where not allowed)', async () => {
      const { w, call } = setup();
      const before = snapshot(w);
      assertError(await call('POST /requests', { as: 'erin', body: body() }), 403, 'NOT_ELIGIBLE');
      assertError(await call('POST /requests', { body: body({ permissionSetName: 'ReadOnly', durationMinutes: 10, breakGlass: true }) }), 403, 'NOT_ELIGIBLE');
      assert.equal(snapshot(w), before);
    });

    it('400 for an unknown account or permission set', async () => {
      const { call } = setup();
      assertError(await call('POST /requests', { body: body({ accountId: '333333333333' }) }), 400, 'VALIDATION');
      assertError(await call('POST /requests', { body: body({ permissionSetName: 'Billing' }) }), 400, 'VALIDATION');
    });

    it('413 for a body over 16 KB and 415 for a body that is not JSON, before anything is looked up', async () => {
      const { w, call } = setup();
      const findUser = sinon.spy(w.directory, 'findUser');
      const before = snapshot(w);
      assertError(await call('POST /requests', { raw: JSON.stringify({ ...body(), justification: 'x'.repeat(MAX_BODY_BYTES) }) }), 413, 'PAYLOAD_TOO_LARGE');
      assertError(await call('POST /requests', { raw: 'accountId=1', contentType: 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      assertError(await call('POST /requests', { raw: '{"accountId": ', contentType: 'application/json; charset=utf-8' }), 400, 'VALIDATION');
      assert.equal(findUser.callCount, 0);
      assert.equal(snapshot(w), before);
    });
  });

  describe('the caller and the actor', () => {
    it('403 for a token of another app or another tenant, checked before the actor is even looked up', async () => {
      const { w, call } = setup();
      const findUser = sinon.spy(w.directory, 'findUser');
      assertError(await call('POST /requests', { body: body(), claims: { ...V2_CLAIMS, azp: '99999999-9999-9999-9999-999999999999' } }), 403, 'FORBIDDEN');
      const { azp: _azp, ...noAzp } = V2_CLAIMS;
      assertError(await call('POST /requests', { body: body(), claims: noAzp }), 403, 'FORBIDDEN');
      assertError(await call('POST /requests', { body: body(), claims: { ...V2_CLAIMS, tid: '99999999-9999-9999-9999-999999999999' } }), 403, 'FORBIDDEN');
      const { tid: _tid, ...noTid } = V2_CLAIMS;
      assertError(await call('POST /requests', { body: body(), claims: noTid }), 403, 'FORBIDDEN');
      assert.equal(findUser.callCount, 0);
      assert.equal(w.requests.items.size, 0);
      assert.equal((await call('GET /requests', { query: { view: 'mine' } })).status, 200);
    });

    describe('the Entra v2 token: what API Gateway does not check (ver, azp, roles, tid), the bridge checks itself', () => {
      it('403 for a v1-shaped token (iss sts.windows.net, ver 1.0, appid without azp), even with the right app id', async () => {
        const { w, call } = setup();
        const { azp: _azp, azpacr: _azpacr, ...rest } = V2_CLAIMS;
        const v1 = { ...rest, iss: `https://sts.windows.net/${TENANT}/`, ver: '1.0', appid: BOT_APP_ID, appidacr: '1' };
        const r = await call('POST /requests', { body: body(), claims: v1 });
        assertError(r, 403, 'FORBIDDEN');
        assert.match(r.body.error.message, /Entra v2 access tokens/);
        // Each v1 trait alone is enough to refuse.
        assertError(await call('GET /requests', { query: { view: 'mine' }, claims: { ...V2_CLAIMS, ver: '1.0' } }), 403, 'FORBIDDEN');
        assertError(await call('GET /requests', { query: { view: 'mine' }, claims: { ...V2_CLAIMS, iss: `https://sts.windows.net/${TENANT}/` } }), 403, 'FORBIDDEN');
        assertError(await call('GET /requests', { query: { view: 'mine' }, claims: { ...rest, appid: BOT_APP_ID } }), 403, 'FORBIDDEN');
        assertError(await call('GET /requests', { query: { view: 'mine' }, claims: { ...V2_CLAIMS, iss: 'https://login.microsoftonline.com/99999999-9999-9999-9999-999999999999/v2.0' } }), 403, 'FORBIDDEN');
        assert.equal(w.requests.items.size, 0);
      });

      it('403 for an api:// audience or another app\'s client id', async () => {
        const { call } = setup();
        for (const aud of ['api://jit-bridge', `api://${BRIDGE_CLIENT_ID}`, '99999999-9999-9999-9999-999999999999']) {
          const r = await call('GET /requests', { query: { view: 'mine' }, claims: { ...V2_CLAIMS, aud } });
          assertError(r, 403, 'FORBIDDEN');
          assert.match(r.body.error.message, /audience must be the bridge app's client id/, aud);
        }
      });

      it('403 without the Bridge.Invoke app role; the role is read from API Gateway\'s "[a b]" rendering, a JSON array or a native array', async () => {
        const { call } = setup();
        const { roles: _roles, ...noRoles } = V2_CLAIMS;
        assertError(await call('GET /requests', { query: { view: 'mine' }, claims: noRoles }), 403, 'FORBIDDEN');
        assertError(await call('GET /requests', { query: { view: 'mine' }, claims: { ...V2_CLAIMS, roles: '[Other.Role]' } }), 403, 'FORBIDDEN');
        for (const roles of [`[Other.Role ${BRIDGE_APP_ROLE}]`, JSON.stringify([BRIDGE_APP_ROLE]), [BRIDGE_APP_ROLE], BRIDGE_APP_ROLE]) {
          assert.equal((await call('GET /requests', { query: { view: 'mine' }, claims: { ...V2_CLAIMS, roles } })).status, 200, JSON.stringify(roles));
        }
        assert.deepEqual(claimList('[a b  c]'), ['a', 'b', 'c']);
        assert.deepEqual(claimList(undefined), []);
      });
    });

    it('403 when the actor headers name another tenant; 400 when they name nobody or are malformed', async () => {
      const { call } = setup();
      assertError(await call('GET /requests', { query: { view: 'mine' }, headers: { [ACTOR_HEADERS.tenantId]: '99999999-9999-9999-9999-999999999999' } }), 403, 'FORBIDDEN');
      assertError(await call('GET /requests', { query: { view: 'mine' }, headers: { [ACTOR_HEADERS.tenantId]: undefined } }), 403, 'FORBIDDEN');
      assertError(await call('GET /requests', { query: { view: 'mine' }, headers: { [ACTOR_HEADERS.aadObjectId]: undefined, [ACTOR_HEADERS.upn]: undefined } }), 400, 'VALIDATION');
      assertError(await call('GET /requests', { query: { view: 'mine' }, headers: { [ACTOR_HEADERS.aadObjectId]: 'not-a-guid' } }), 400, 'VALIDATION');
    });

    it(`${ERROR_CATALOGUE.UNKNOWN_USER.status} (UNKNOWN_USER, per contract/errors.ts) when no Identity Center user matches the actor`, async () => {
      const { call } = setup();
      const r = await call('POST /requests', {
        body: body(),
        headers: { [ACTOR_HEADERS.aadObjectId]: '00000000-0000-4000-8000-00000000abcd', [ACTOR_HEADERS.upn]: 'mallory@example.com' },
      });
      assertError(r, ERROR_CATALOGUE.UNKNOWN_USER.status, 'UNKNOWN_USER');
    });

    it('acts as the user the headers name, whatever the body says, and shows the header display name', async () => {
      const { call } = setup();
      const r = await call('POST /requests', { as: 'bob', body: body(), headers: { [ACTOR_HEADERS.displayName]: encodeURIComponent('Bob Ø. Builder') } });
      assert.equal(r.status, 201);
      assert.equal(r.body.request.requester.userId, USERS.bob.userId);
      assert.equal(r.body.request.requester.displayName, 'Bob Ø. Builder');
    });
  });

  describe('GET /requests/{id} and GET /requests', () => {
    it('200 for the requester and the approvers; 404 for anyone else, for an unknown id and for a forged id', async () => {
      const { w, call } = setup();
      const id = await pending(w);
      const own = await call('GET /requests/{id}', { id });
      assert.equal(own.status, 200);
      assert.equal(own.body.request.id, id);
      assert.ok(!JSON.stringify(own.body).includes('taskToken') && !JSON.stringify(own.body).includes(`token-${id}`), 'the task token never leaves the server');
      assert.equal((await call('GET /requests/{id}', { id, as: 'carol' })).status, 200);
      assertError(await call('GET /requests/{id}', { id, as: 'bob' }), 404, 'NOT_FOUND');
      assertError(await call('GET /requests/{id}', { id: 'req-000000009999' }), 404, 'NOT_FOUND');
      assertError(await call('GET /requests/{id}', { id: '../admin' }), 404, 'NOT_FOUND');
      assertError(await call('GET /requests/{id}', { id: `${id}' OR 1=1` }), 404, 'NOT_FOUND');
    });

    it('lists mine for the requester and pending for approvers (not for the requester themself)', async () => {
      const { w, call } = setup();
      const id = await pending(w, 'frank');
      const mine = await call('GET /requests', { as: 'frank', query: { view: 'mine' } });
      assert.deepEqual(mine.body.requests.map((r: { id: string }) => r.id), [id]);
      assert.deepEqual((await call('GET /requests', { as: 'frank', query: { view: 'pending' } })).body.requests, [], 'frank may approve, but not his own request');
      assert.deepEqual((await call('GET /requests', { as: 'carol', query: { view: 'pending' } })).body.requests.map((r: { id: string }) => r.id), [id]);
      assertError(await call('GET /requests', { query: { view: 'all' } }), 400, 'VALIDATION');
      assertError(await call('GET /requests', {}), 400, 'VALIDATION');
    });

    it('GET /eligibility lists what the actor may request', async () => {
      const { call } = setup();
      const r = await call('GET /eligibility', { query: { q: 'prod' } });
      assert.equal(r.status, 200);
      assert.equal(r.body.user.userId, USERS.alice.userId);
      assert.deepEqual(r.body.accounts.map((a: { name: string }) => a.name), ['prod']);
      assert.deepEqual((await call('GET /eligibility', { as: 'erin' })).body.accounts, []);
      assertError(await call('GET /eligibility', { query: { limit: '0' } }), 400, 'VALIDATION');
    });

    it('GET /eligibility: a query with control characters (tab, newline, C1, bidirectional controls too) or invalid unicode is a 400 naming q, never a 500', async () => {
      const { w, call } = setup();
      const before = snapshot(w);
      for (const q of ['\u0000', 'pr\u0007od', '\tprod', 'prod\n', 'prod\u0085', '\u202eprod', 'prod\u2066', '\u001b[31mprod', 'prod\ud800', 'x'.repeat(65)]) {
        const r = await call('GET /eligibility', { query: { q } });
        assertError(r, 400, 'VALIDATION');
        assert.equal(r.body.error.issues[0].path, 'q', JSON.stringify(q));
        assert.match(r.body.error.issues[0].message, /control characters|valid unicode|64/, JSON.stringify(q));
      }
      assert.equal(snapshot(w), before);
      // What the bot sends after sanitizing always passes.
      for (const raw of ['\u0000prod\u0007', '\tprod\n', '\u202eprod\u0085', `prod ${'\ud83d\ude00'.repeat(40)}`, 'prod\ud800']) {
        const q = sanitizeSearchQuery(raw);
        assert.equal((await call('GET /eligibility', { query: { q } })).status, 200, JSON.stringify(q));
        assert.ok(q.length <= 64 && q.isWellFormed());
      }
    });
  });

  describe('POST /requests/{id}/decisions', () => {
    it('200: an approver decides; the workflow is resumed once; a second click is a duplicate; a late vote is 409', async () => {
      const { w, call } = setup();
      const id = await pending(w);
      const r = await call('POST /requests/{id}/decisions', { id, as: 'carol', body: { decision: 'approve', reason: 'on call, looks fine' } });
      assert.equal(r.status, 200);
      assert.equal(r.body.decided, true);
      assert.equal(r.body.request.state, 'APPROVED');
      assert.deepEqual(w.workflow.resumed.map((x) => x.outcome), [{ approved: true, approvedBy: USERS.carol.userId }]);
      const again = await call('POST /requests/{id}/decisions', { id, as: 'carol', body: { decision: 'approve' } });
      assert.equal(again.status, 200);
      assert.equal(again.body.duplicate, true);
      assert.equal(w.workflow.resumed.length, 1);
      assertError(await call('POST /requests/{id}/decisions', { id, as: 'dan', body: { decision: 'deny' } }), 409, 'ILLEGAL_TRANSITION');
    });

    it('answers a vote without waiting on the bot: the notice is queued for the notify function, whose flush the silent bot holds up instead', async () => {
      const { w, call } = setup();
      const id = await pending(w);
      // Lambda's asynchronous invoke (the sandbox's stand-in) of the real notify handler; the bot takes the notice and never answers.
      const notices = new LocalAsyncInvoke(() => undefined);
      notices.bind(createNotifyHandler(w.deps));
      w.deps.notices = notices;
      let botCalls = 0;
      w.notifier.requestChanged = () => {
        botCalls++;
        return new Promise<void>(() => undefined);
      };
      let answer: Awaited<ReturnType<typeof call>> | undefined;
      void call('POST /requests/{id}/decisions', { id, as: 'carol', body: { decision: 'approve' } }).then((r) => (answer = r));
      for (let i = 0; i < 50 && !answer; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      assert.ok(answer, 'the bridge answered');
      assert.equal(answer.status, 200);
      assert.equal(answer.body.decided, true);
      assert.deepEqual((await w.requests.get(id))!.noticeOutbox?.map((n) => n.event), ['approved'], 'the notice waits in the outbox, committed with the vote');
      for (let i = 0; i < 50 && botCalls === 0; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      assert.equal(botCalls, 1, 'the flush runs after the answer, in the notify function (which the silent bot now holds)');
      notices.stop();
    });

    it('a quorum of two: the first approval is recorded, the second decides', async () => {
      const { w, call } = setup();
      const id = await pending(w, 'alice', { permissionSetName: 'Admin', ticketId: 'INC-77' });
      const first = await call('POST /requests/{id}/decisions', { id, as: 'carol', body: { decision: 'approve' } });
      assert.equal(first.body.decided, false);
      assert.equal(first.body.request.state, 'PENDING_APPROVAL');
      assert.equal(w.workflow.resumed.length, 0);
      const second = await call('POST /requests/{id}/decisions', { id, as: 'dan', body: { decision: 'approve' } });
      assert.equal(second.body.decided, true);
      assert.equal(second.body.request.state, 'APPROVED');
    });

    it('403 for self-approval and for someone who is not an approver; 404 for an unknown request', async () => {
      const { w, call } = setup();
      const id = await pending(w, 'frank');
      const before = snapshot(w);
      assertError(await call('POST /requests/{id}/decisions', { id, as: 'frank', body: { decision: 'approve' } }), 403, 'SELF_APPROVAL');
      assertError(await call('POST /requests/{id}/decisions', { id, as: 'bob', body: { decision: 'approve' } }), 403, 'NOT_APPROVER');
      assert.equal(snapshot(w), before);
      assertError(await call('POST /requests/{id}/decisions', { id: 'req-000000009999', as: 'carol', body: { decision: 'approve' } }), 404, 'NOT_FOUND');
    });
  });

  describe('POST /requests/{id}/cancel, /revoke, /extend, /review', () => {
    it('cancel: 200 for the requester (resumes the wait as Cancelled), 403 for anyone else', async () => {
      const { w, call } = setup();
      const id = await pending(w);
      assertError(await call('POST /requests/{id}/cancel', { id, as: 'bob', body: {} }), 403, 'FORBIDDEN');
      const r = await call('POST /requests/{id}/cancel', { id, body: { reason: 'not needed' } });
      assert.equal(r.status, 200);
      assert.equal(r.body.request.state, 'CANCELLED');
      assert.equal(w.workflow.resumed[0]?.outcome.approved, false);
    });

    it('revoke: 200 for the requester or an approver of an active grant; 403 for others; 409 when nothing is active', async () => {
      const { w, call } = setup();
      const id = await activeRequest(w);
      assertError(await call('POST /requests/{id}/revoke', { id, as: 'erin', body: {} }), 403, 'FORBIDDEN');
      const r = await call('POST /requests/{id}/revoke', { id, as: 'carol', body: { reason: 'incident closed' } });
      assert.equal(r.status, 200);
      assert.equal(r.body.request.state, 'REVOKED');
      assert.equal(w.assignments.live.size, 0);
      assertError(await call('POST /requests/{id}/revoke', { id, body: {} }), 409, 'ILLEGAL_TRANSITION');
    });

    it('extend: 200 moves the end and the schedule; 403 for another user; 422 past the maximum total', async () => {
      const { w, call } = setup();
      const id = await activeRequest(w);
      const endsAt = (await w.requests.get(id))!.grant!.endsAt;
      assertError(await call('POST /requests/{id}/extend', { id, as: 'carol', body: { additionalMinutes: 15 } }), 403, 'FORBIDDEN');
      const r = await call('POST /requests/{id}/extend', { id, body: { additionalMinutes: 15 } });
      assert.equal(r.status, 200);
      assert.ok(r.body.request.grant.endsAt > endsAt);
      assert.equal(w.scheduler.schedules.get(id), r.body.request.grant.endsAt);
      assertError(await call('POST /requests/{id}/extend', { id, body: { additionalMinutes: 24 * 60 } }), 422, 'LIMIT_EXCEEDED');
    });

    it('review: 200 for an approver of a break-glass grant; 403 for the requester; 400 for a normal request', async () => {
      const { w, call } = setup();
      const id = await activeRequest(w, 'alice', { breakGlass: true });
      assertError(await call('POST /requests/{id}/review', { id, body: {} }), 403, 'FORBIDDEN');
      const r = await call('POST /requests/{id}/review', { id, as: 'carol', body: { note: 'postmortem PM-12 done' } });
      assert.equal(r.status, 200);
      assert.equal(r.body.request.review.acknowledgedBy.userId, USERS.carol.userId);
      const normal = await activeRequest(w, 'bob');
      assertError(await call('POST /requests/{id}/review', { id: normal, as: 'carol', body: {} }), 400, 'VALIDATION');
    });
  });

  describe('routing', () => {
    it('404 for an unknown route; events without a routeKey (the sandbox) are matched on method and path', async () => {
      const { w } = setup();
      const handler = createBridgeHandler(w.deps, { botAppId: BOT_APP_ID, tenantId: TENANT, audience: BRIDGE_CLIENT_ID });
      const unknown = await handler(event('DELETE /requests/{id}', { id: 'req-000000000001' }));
      assert.equal(unknown.statusCode, 404);
      const raw = event('GET /requests', { query: { view: 'mine' } });
      const plain = { ...raw, routeKey: '$default' } as BridgeEvent;
      assert.equal((await handler(plain)).statusCode, 200);
    });

    it('answers a thrown unexpected error with a bare 500 (no message, no stack)', async () => {
      const { w, call } = setup();
      sinon.stub(w.directory, 'findUser').rejects(new Error('socket hang up at 10.0.0.12:443'));
      const r = await call('GET /requests', { query: { view: 'mine' } });
      assert.equal(r.status, 500);
      assert.ok(!JSON.stringify(r.body).includes('10.0.0.12'));
    });
  });

  describe('fuzzing: every invalid body or query is a 4xx with a clear error and changes nothing', function () {
    this.timeout(120_000);

    /** Bodies that are near-valid (one field broken, or an extra key like "actor") and arbitrary JSON. */
    const bodyLike = (valid: Record<string, unknown>) =>
      fc.oneof(
        fc.anything({ maxDepth: 2 }),
        fc.dictionary(fc.string({ maxLength: 12 }), fc.anything({ maxDepth: 1 }), { maxKeys: 5 }),
        fc.record({ key: fc.constantFrom(...Object.keys(valid), 'actor', 'userId', '__proto__', 'constructor'), value: fc.anything({ maxDepth: 1 }) }).map(({ key, value }) => {
          const out: Record<string, unknown> = { ...valid };
          Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
          return out;
        }),
      );

    const routes = [
      { key: 'POST /requests', schema: createRequestBodySchema, valid: () => body() as Record<string, unknown> },
      { key: 'POST /requests/{id}/decisions', schema: decisionBodySchema, valid: () => ({ decision: 'approve', reason: 'ok' }) },
      { key: 'POST /requests/{id}/revoke', schema: revokeBodySchema, valid: () => ({ reason: 'done' }) },
      { key: 'POST /requests/{id}/extend', schema: extendBodySchema, valid: () => ({ additionalMinutes: 15 }) },
      { key: 'POST /requests/{id}/cancel', schema: cancelBodySchema, valid: () => ({ reason: 'done' }) },
      { key: 'POST /requests/{id}/review', schema: reviewBodySchema, valid: () => ({ note: 'done' }) },
    ] as const;

    for (const route of routes) {
      it(`${route.key}: ${FUZZ_RUNS} invalid bodies`, async () => {
        const { w, call } = setup();
        const id = await pending(w);
        const before = snapshot(w);
        const statuses = new Map<number, number>();
        await fc.assert(
          fc.asyncProperty(
            fc.oneof(
              // Judged as it arrives: JSON drops undefined members, and no body at all reads as {}.
              { weight: 4, arbitrary: bodyLike(route.valid()).filter((b) => !route.schema.safeParse(onTheWire(b)).success).map((b) => ({ raw: JSON.stringify(b) ?? '' })) },
              { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !isJson(s)).map((raw) => ({ raw })) },
            ),
            fc.constantFrom<Who>('alice', 'carol'),
            async (input, as) => {
              const r = await call(route.key, { id, as, ...input });
              statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
              assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${JSON.stringify(r.body)}`);
              assert.equal(r.body.error.code, 'VALIDATION');
              assert.ok(Array.isArray(r.body.error.issues) && r.body.error.issues.length > 0, 'names what is wrong');
              for (const issue of r.body.error.issues as Array<{ path: string; message: string }>) assert.ok(issue.path && issue.message);
              assert.equal(snapshot(w), before);
            },
          ),
          { numRuns: FUZZ_RUNS },
        );
        assert.deepEqual([...statuses.entries()], [[400, FUZZ_RUNS]]);
      });
    }

    it(`GET /requests and GET /eligibility: ${FUZZ_RUNS} invalid queries each`, async () => {
      const { w, call } = setup();
      await pending(w);
      const before = snapshot(w);
      for (const route of [
        { key: 'GET /requests', schema: listQuerySchema },
        { key: 'GET /eligibility', schema: eligibilityQuerySchema },
      ]) {
        await fc.assert(
          fc.asyncProperty(
            fc.dictionary(fc.constantFrom('view', 'q', 'accountId', 'limit', 'actor', 'x'), fc.string({ maxLength: 80 }), { maxKeys: 4 }).filter((q) => !route.schema.safeParse(q).success),
            async (query) => {
              const r = await call(route.key, { query });
              assertError(r, 400, 'VALIDATION');
              assert.equal(snapshot(w), before);
            },
          ),
          { numRuns: FUZZ_RUNS },
        );
      }
    });

    it(`GET /requests/{id} and POST /requests/{id}/decisions: ${FUZZ_RUNS} forged ids are 404 and change nothing`, async () => {
      const { w, call } = setup();
      const id = await pending(w);
      const before = snapshot(w);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.string({ maxLength: 60 }), fc.stringMatching(/^req-[0-9A-Za-z]{10,40}$/), fc.constant(`${id}x`), fc.constant(id.toUpperCase())).filter((s) => s !== id),
          fc.boolean(),
          async (forged, vote) => {
            const r = vote
              ? await call('POST /requests/{id}/decisions', { id: forged, as: 'carol', body: { decision: 'approve' } })
              : await call('GET /requests/{id}', { id: forged });
            assertError(r, 404, 'NOT_FOUND');
            assert.equal(snapshot(w), before);
          },
        ),
        { numRuns: FUZZ_RUNS },
      );
    });
  });
});

function onTheWire(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? {} : (JSON.parse(text) as unknown);
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}
