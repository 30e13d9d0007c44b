/**
 * bot/http-fetch.ts: the bridge client's transport on node:http, against a local server on port 0.
 * It must behave like `fetch(url, { redirect: 'error' })` wherever the bridge client depends on it.
 */
import { strict as assert } from 'node:assert';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import sinon from 'sinon';
import { BridgeClient, BridgeUnavailableError } from '../../bot/bridge-client';
import { httpFetch } from '../../bot/http-fetch';
import { staticTokenProvider } from '../../bot/token-provider';
import { startRealBridge, TENANT_ID, USERS } from '../support/real-bridge';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

describe('bot http transport (node:http, the bridge client default)', () => {
  let server: Server;
  let url: string;
  let handler: Handler;
  const sockets = new Set<Socket>();
  let connections = 0;

  beforeEach(async () => {
    connections = 0;
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => handler(req, body, res));
    });
    server.on('connection', (s) => {
      connections++;
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends method, headers and a UTF-8 body with its byte length, and gives status and text; connections are kept alive', async () => {
    const seen: Array<{ method?: string; headers: IncomingMessage['headers']; body: string }> = [];
    handler = (req, body, res) => {
      seen.push({ method: req.method, headers: req.headers, body });
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ echo: body }));
    };
    const body = JSON.stringify({ justification: 'Ünïcode ✓ payments' });
    for (let i = 0; i < 2; i++) {
      const res = await httpFetch(`${url}/requests?x=1`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer t' }, body });
      assert.equal(res.status, 201);
      assert.equal(res.ok, true);
      assert.deepEqual(JSON.parse(await res.text()), { echo: body });
    }
    assert.equal(seen[0]!.method, 'POST');
    assert.equal(seen[0]!.headers.authorization, 'Bearer t');
    assert.equal(seen[0]!.headers['content-length'], String(Buffer.byteLength(body)));
    assert.equal(seen[0]!.body, body);
    assert.equal(connections, 1, 'the second call reused the first connection');
  });

  it('a non-2xx answer is not ok and keeps its body', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(409, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"CONCURRENT_MODIFICATION","message":"x"}}');
    };
    const res = await httpFetch(`${url}/x`, { method: 'GET', headers: {} });
    assert.equal(res.ok, false);
    assert.equal(res.status, 409);
    assert.match(await res.text(), /CONCURRENT_MODIFICATION/);
  });

  it('a redirect is never followed: it fails like fetch with redirect "error"', async () => {
    let followed = false;
    handler = (req, _body, res) => {
      if (req.url === '/elsewhere') followed = true;
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    };
    await assert.rejects(httpFetch(`${url}/requests`, { method: 'GET', headers: {} }), (e: unknown) => e instanceof TypeError);
    assert.equal(followed, false);
  });

  it('an abort before the answer rejects with the signal reason and drops the connection', async () => {
    handler = () => undefined; // never answers
    const controller = new AbortController();
    const p = httpFetch(`${url}/hang`, { method: 'GET', headers: {}, signal: controller.signal });
    await new Promise((r) => setTimeout(r, 20));
    const reason = new Error('deadline');
    controller.abort(reason);
    await assert.rejects(p, (e: unknown) => e === reason);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(sockets.size, 0, 'the server saw the connection closed');
  });

  it('an abort while the body is read rejects text() with the signal reason', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"request":'); // and never ends
    };
    const controller = new AbortController();
    const res = await httpFetch(`${url}/slow-body`, { method: 'GET', headers: {}, signal: controller.signal });
    const reason = new Error('deadline');
    controller.abort(reason);
    await assert.rejects(res.text(), (e: unknown) => e === reason);
  });

  it('a connection cut mid-body rejects text()', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"request":');
      setTimeout(() => res.socket?.destroy(), 10);
    };
    const res = await httpFetch(`${url}/cut`, { method: 'GET', headers: {} });
    await assert.rejects(res.text(), (e: unknown) => e instanceof Error);
  });

  it('an unreachable host is a TypeError, as with fetch (the bridge client reports it as a network failure)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assert.rejects(httpFetch(`http://127.0.0.1:${port}/`, { method: 'GET', headers: {} }), (e: unknown) => e instanceof TypeError);
    const client = new BridgeClient({ baseUrl: `http://127.0.0.1:${port}`, tokens: staticTokenProvider('t'), retryDelayMs: 1 });
    await assert.rejects(client.listRequests({ aadObjectId: USERS.alice.aadObjectId, tenantId: TENANT_ID }, 'mine'), (e: unknown) => e instanceof BridgeUnavailableError && e.reason === 'network');
  });

  it('the bridge client uses it by default, not the global fetch (undici cost about 0.4 ms more CPU per call)', async () => {
    const bridge = await startRealBridge();
    const globalFetch = sinon.stub(globalThis, 'fetch').rejects(new Error('the global fetch was used'));
    try {
      const client = new BridgeClient({ baseUrl: bridge.url, tokens: staticTokenProvider(bridge.token), retryDelayMs: 1 });
      const r = await client.listRequests({ aadObjectId: USERS.alice.aadObjectId, tenantId: TENANT_ID, upn: USERS.alice.upn }, 'mine');
      assert.deepEqual(r.requests, []);
      assert.equal(globalFetch.callCount, 0);
    } finally {
      globalFetch.restore();
      await bridge.close();
    }
  });
});
