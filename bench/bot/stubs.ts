/**
 * Child process: the fast local stand-ins the bots talk to under load.
 * - a bridge that answers the bot's calls from precomputed bodies (the bot's own work is what is
 *   measured, not a bridge): a pending and an approved request made once by the real core services
 *   over the test world (test/support/bridge-fixtures.ts);
 * - a Bot Framework connector (replies, card updates, roster lookups).
 * Plain node:http, no framework, no recording: they must never be the bottleneck.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessRequest, Actor } from '../../core/model';
import { castVote, submitRequest } from '../../core/services';
import { type BridgeUser, testWorld, USERS } from '../../test/support/bridge-fixtures';

const actorOf = (u: BridgeUser): Actor => ({ userId: u.userId, userName: u.userName, displayName: u.displayName, aadObjectId: u.aadObjectId });

async function templates(): Promise<{ pending: AccessRequest; approved: AccessRequest }> {
  const world = testWorld();
  const body = { clientRequestId: 'cr-bench-00000001', accountId: '111111111111', permissionSetName: 'ReadOnly', durationMinutes: 60, justification: 'Investigating incident INC-1234 in payments' };
  const { request: pending } = await submitRequest(world.deps, { actor: actorOf(USERS.alice), body });
  const { request: approved } = await castVote(world.deps, { requestId: pending.id, actor: actorOf(USERS.bob), decision: 'approve' });
  return { pending, approved };
}
let pending: AccessRequest;
let approved: AccessRequest;

const members = new Map(
  Object.values(USERS).map((u) => [`29:${u.userId}`, JSON.stringify({ id: `29:${u.userId}`, aadObjectId: u.aadObjectId, name: u.displayName, userPrincipalName: u.upn, email: u.upn, givenName: u.displayName.split(' ')[0], surname: u.displayName.split(' ')[1] ?? '', userRole: 'user' })]),
);

function drain(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve(body));
  });
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

let seq = 0;
const withId = (r: object, id: string) => ({ ...r, id });

const bridge = createServer(async (req, res) => {
  const raw = await drain(req);
  const path = (req.url ?? '/').split('?')[0]!;
  const parts = path.split('/');
  if (req.method === 'POST' && path === '/requests') {
    const body = JSON.parse(raw) as { clientRequestId: string; accountId: string; permissionSetName: string; durationMinutes: number; justification: string };
    const id = `req-01J${String(++seq).padStart(23, '0')}`;
    const request = { ...withId(pending, id), clientRequestId: body.clientRequestId, accountId: body.accountId, permissionSetName: body.permissionSetName, requestedDurationSeconds: body.durationMinutes * 60, justification: body.justification };
    return send(res, 201, JSON.stringify({ request, replayed: false }));
  }
  if (req.method === 'POST' && parts[1] === 'requests' && parts[3] === 'decisions') return send(res, 200, JSON.stringify({ request: withId(approved, parts[2]!), decided: true, duplicate: false }));
  if (req.method === 'GET' && parts[1] === 'requests' && parts[2]) return send(res, 200, JSON.stringify({ request: withId(pending, parts[2]) }));
  send(res, 404, '{"error":{"code":"NOT_FOUND","message":"No such route."}}');
});

const connector = createServer(async (req, res) => {
  await drain(req);
  const parts = (req.url ?? '/').split('?')[0]!.split('/');
  if (req.method === 'GET' && parts[4] === 'members') {
    const m = members.get(decodeURIComponent(parts[5] ?? ''));
    return m ? send(res, 200, m) : send(res, 404, '{"error":{"code":"MemberNotFoundInConversation","message":"not found"}}');
  }
  if (req.method === 'POST' || req.method === 'PUT') return send(res, req.method === 'POST' ? 201 : 200, `{"id":"${++seq}"}`);
  send(res, 404, '{}');
});

async function listen(server: ReturnType<typeof createServer>): Promise<string> {
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

void (async () => {
  ({ pending, approved } = await templates());
  const bridgeUrl = await listen(bridge);
  const connectorUrl = await listen(connector);
  process.send!({ bridgeUrl, connectorUrl });
  process.on('SIGTERM', () => process.exit(0));
})();
