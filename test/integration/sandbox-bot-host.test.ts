/**
 * The sandbox hosts the bot as the stack does: the Lambda handler behind an HTTP API v2 shim, and
 * the backend's notices as Lambda invokes of the bot's alias. The two stand-ins refuse what API
 * Gateway and Lambda refuse (sandbox/orchestrator/bot-server.ts names the documentation).
 */
import { strict as assert } from 'node:assert';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { BotInvokeNotifier } from '../../lambdas/adapters/bot-invoke-notifier';
import { BOT_FUNCTION_ARN, startSandbox, type Sandbox } from '../../sandbox/orchestrator';
import { LAMBDA_SYNC_PAYLOAD_BYTES, localBotInvoker, startLocalBotServer, toBotRouteEvent } from '../../sandbox/orchestrator/bot-server';
import { ConnectorRecorder } from '../support/connector-recorder';

const text = (p: unknown) => Buffer.from(p as Uint8Array).toString('utf8');
const rejectsNamed = (p: Promise<unknown>, name: string, status: number) =>
  assert.rejects(p, (e: unknown) => (e as { name?: string }).name === name && (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === status);

describe('sandbox: the bot behind the HTTP API shim (API Gateway stand-in)', () => {
  const events: APIGatewayProxyEventV2[] = [];
  const handler = (async (event: APIGatewayProxyEventV2) => {
    events.push(event);
    return { statusCode: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"ok":true}' };
  }) as never;
  let server: Awaited<ReturnType<typeof startLocalBotServer>>;
  before(async () => (server = await startLocalBotServer({ handler, port: 0 })));
  after(() => server.close());
  beforeEach(() => (events.length = 0));

  it('POST /api/messages reaches the function as a payload 2.0 event: lower-cased headers, the body as text, the route key; the answer is its result', async () => {
    const r = await fetch(`${server.url}/api/messages?x=1`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Custom': 'a' }, body: '{"type":"message"}' });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { ok: true });
    const [event] = events;
    assert.equal(event!.version, '2.0');
    assert.equal(event!.routeKey, 'POST /api/messages');
    assert.equal(event!.rawPath, '/api/messages');
    assert.equal(event!.rawQueryString, 'x=1');
    assert.equal(event!.headers['content-type'], 'application/json');
    assert.equal(event!.headers['x-custom'], 'a');
    assert.equal(event!.body, '{"type":"message"}');
    assert.equal(event!.isBase64Encoded, false);
    assert.equal(event!.requestContext.http.method, 'POST');
  });

  it('a non-text body is base64-encoded with isBase64Encoded, as API Gateway does', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const e = toBotRouteEvent({ method: 'POST', url: '/api/messages', headers: { 'content-type': 'application/octet-stream' }, body: bytes, sourceIp: '127.0.0.1' }, 0);
    assert.equal(e.isBase64Encoded, true);
    assert.deepEqual(Buffer.from(e.body!, 'base64'), bytes);
    const invalidUtf8 = toBotRouteEvent({ method: 'POST', url: '/api/messages', headers: { 'content-type': 'application/json' }, body: bytes, sourceIp: '127.0.0.1' }, 0);
    assert.equal(invalidUtf8.isBase64Encoded, true);
  });

  it('no other route reaches the function: another path or method gets API Gateway\'s 404 {"message":"Not Found"}; /api/notify does not exist', async () => {
    for (const [method, path] of [['POST', '/api/notify'], ['GET', '/api/messages'], ['PUT', '/api/messages'], ['POST', '/']] as const) {
      const r = await fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.deepEqual(await r.json(), { message: 'Not Found' });
    }
    assert.equal(events.length, 0);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
});

describe('sandbox: the backend invokes the bot (Lambda Invoke stand-in)', () => {
  const seen: unknown[] = [];
  const invoker = localBotInvoker(BOT_FUNCTION_ARN, async (event) => {
    seen.push(event);
    if ((event as { boom?: boolean }).boom) throw new TypeError('boom');
    return { status: 200, body: { status: 'delivered' } };
  });
  const invoke = (input: Partial<InvokeCommand['input']>, o?: { abortSignal?: AbortSignal }) => invoker.send(new InvokeCommand({ FunctionName: BOT_FUNCTION_ARN, InvocationType: 'RequestResponse', Payload: Buffer.from('{"a":1}'), ...input }), o);

  it('RequestResponse: the handler gets the parsed JSON (a copy) and its result comes back as the Payload with StatusCode 200', async () => {
    const out = await invoke({});
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, undefined);
    assert.deepEqual(JSON.parse(text(out.Payload)), { status: 200, body: { status: 'delivered' } });
    assert.deepEqual(seen.at(-1), { a: 1 });
  });

  it('a handler that throws is FunctionError "Unhandled" with status 200 and the error object, not a rejected call', async () => {
    const out = await invoke({ Payload: Buffer.from('{"boom":true}') });
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, 'Unhandled');
    assert.deepEqual(JSON.parse(text(out.Payload)), { errorType: 'TypeError', errorMessage: 'boom' });
  });

  it('refuses as Lambda does: another function or the unqualified one (404), a payload over 6 MB (413), a payload that is not JSON (400); DryRun runs nothing', async () => {
    const before = invoker.invocations;
    await rejectsNamed(invoke({ FunctionName: BOT_FUNCTION_ARN.replace(/:live$/, '') }), 'ResourceNotFoundException', 404);
    await rejectsNamed(invoke({ FunctionName: BOT_FUNCTION_ARN.replace(/:live$/, ':$LATEST') }), 'ResourceNotFoundException', 404);
    await rejectsNamed(invoke({ Payload: Buffer.from(`{"x":"${'a'.repeat(LAMBDA_SYNC_PAYLOAD_BYTES)}"}`) }), 'RequestTooLargeException', 413);
    await rejectsNamed(invoke({ Payload: Buffer.from('{not json') }), 'InvalidRequestContentException', 400);
    assert.equal((await invoke({ InvocationType: 'DryRun' })).StatusCode, 204);
    assert.equal(invoker.invocations, before);
  });

  it('an aborted call rejects like the SDK (AbortError)', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(invoke({}, { abortSignal: controller.signal }), (e: unknown) => (e as Error).name === 'AbortError');
  });
});

describe('sandbox: the started sandbox runs the production bot entry', function () {
  this.timeout(60_000);
  let connector: ConnectorRecorder;
  let sandbox: Sandbox | undefined;
  before(async () => {
    connector = new ConnectorRecorder();
    await connector.start();
    sandbox = await startSandbox({ dataDir: false, ports: { bot: 0, bridge: 0, aws: 0 }, playground: false, teamsServiceUrl: connector.url, reconcileIntervalMs: 0, logLevel: 'ERROR', log: () => undefined });
  });
  after(async () => {
    await sandbox?.stop();
    await connector.close();
  });

  it('the backend sends notices as Lambda invokes of the bot alias (no notify URL, no key); the bot answers them through its Lambda handler', async () => {
    const s = sandbox!;
    assert.equal(s.config.botFunctionArn, BOT_FUNCTION_ARN);
    assert.equal(s.config.notifyUrl, undefined);
    assert.ok(s.backend.notifier instanceof BotInvokeNotifier);
    // A findings notice through the composed sender reaches the channel via the handler's direct-invoke door.
    const before = connector.calls.length;
    await s.backend.notifier.send({
      kind: 'findings',
      notificationId: 'findings.sandbox-invoke-test',
      findings: [{ id: 'finding-1', severity: 'HIGH', title: 'A finding', resourceId: 'arn:aws:iam::111111111111:role/x', accountId: '111111111111', productName: 'Security Hub', updatedAt: '2026-01-01T00:00:00.000Z' }],
    });
    assert.ok(connector.calls.length > before, 'posted to the channel');
    const posted = connector.calls.length;
    // The same notice again is a duplicate, which the sender counts as delivered: nothing is posted twice.
    await s.backend.notifier.send({
      kind: 'findings',
      notificationId: 'findings.sandbox-invoke-test',
      findings: [{ id: 'finding-1', severity: 'HIGH', title: 'A finding', resourceId: 'arn:aws:iam::111111111111:role/x', accountId: '111111111111', productName: 'Security Hub', updatedAt: '2026-01-01T00:00:00.000Z' }],
    });
    assert.equal(connector.calls.length, posted);
    // The messaging endpoint is the HTTP API route; the notify door does not exist.
    assert.equal((await fetch(`${s.urls.bot}/api/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 404);
    assert.equal(s.urls.messages, `${s.urls.bot}/api/messages`);
  });
});
