/**
 * The bot's Lambda entry (bot/lambda.ts) driven with API Gateway HTTP API (payload 2.0) events:
 * the real bot application (test mode, anonymous) against the fake bridge and a recording
 * connector, and the production configuration (authentication on) for the 401 paths.
 */
import { strict as assert } from 'node:assert';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createBotApplication } from '../../bot/app';
import { parseBotConfig } from '../../bot/config';
import { type BotLambdaTarget, LAMBDA_MESSAGES_MAX_BYTES, buildFromEnvironment, createBotLambdaHandler } from '../../bot/lambda';
import { isHttpApiEvent } from '../../bot/lambda-entry';
import type { NotificationBody, NotifyInvokeAnswer } from '../../contract/notify';
import { recordingLog } from '../../bot/log';
import { MemoryConversationStore } from '../../bot/storage/memory';
import { staticTokenProvider } from '../../bot/token-provider';
import { ConnectorRecorder } from '../support/connector-recorder';
import { type BridgeUser, type RealBridge, startRealBridge, TENANT_ID, USERS } from '../support/real-bridge';

const CHANNEL = '19:oncall@thread.tacv2';
const BOT_APP_ID = '00000000-0000-0000-0000-0000000000b0';
type Json = Record<string, unknown>;

/**
 * An HTTP API payload 2.0 event as API Gateway builds it: header names lower-cased, the body a string,
 * base64 with isBase64Encoded ("Create AWS Lambda proxy integrations for HTTP APIs in API Gateway",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
 */
export function httpApiEvent(body: string | undefined, o: { headers?: Record<string, string>; method?: string; path?: string; base64?: boolean } = {}): APIGatewayProxyEventV2 {
  const method = o.method ?? 'POST';
  const path = o.path ?? '/api/messages';
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: o.headers ?? { 'content-type': 'application/json' },
    requestContext: {
      accountId: '111111111111',
      apiId: 'api1234567',
      domainName: 'api1234567.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'api1234567',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      requestId: 'req-1',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '30/Nov/2026:10:00:00 +0000',
      timeEpoch: 0,
    },
    body: body === undefined ? undefined : o.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: !!o.base64,
  };
}

function activity(connectorUrl: string, user: BridgeUser, o: { type?: string; text?: string; name?: string; value?: unknown }): Json {
  return {
    type: o.type ?? 'message',
    id: `activity-${Math.random().toString(36).slice(2)}`,
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: connectorUrl,
    from: { id: `29:${user.userId}`, name: user.displayName, aadObjectId: user.aadObjectId },
    recipient: { id: '28:jit-access-bot', name: 'JIT Access' },
    conversation: { id: `a:personal-${user.userId}`, conversationType: 'personal', tenantId: TENANT_ID },
    channelData: { tenant: { id: TENANT_ID } },
    ...(o.text !== undefined ? { text: o.text } : {}),
    ...(o.name ? { name: o.name } : {}),
    ...(o.value !== undefined ? { value: o.value } : {}),
  };
}

function assertProblem(r: { statusCode?: number; headers?: Record<string, unknown>; body?: string }, status: number, code: string) {
  assert.equal(r.statusCode, status, r.body);
  assert.match(String(r.headers?.['content-type']), /^application\/problem\+json/);
  const body = JSON.parse(r.body ?? '') as Json;
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.doesNotMatch(r.body ?? '', /<html|\bat [\w.<>]+ \(|node_modules|SyntaxError|Unexpected token|AuthenticationError/i);
}

describe('bot Lambda entry: API Gateway HTTP API v2 events', function () {
  this.timeout(20_000);
  let bridge: RealBridge;
  let connector: ConnectorRecorder;
  let builds = 0;
  let handler: ReturnType<typeof createBotLambdaHandler>;

  before(async () => {
    bridge = await startRealBridge();
    connector = new ConnectorRecorder();
    await connector.start();
    for (const u of Object.values(USERS) as BridgeUser[]) connector.addMember({ id: `29:${u.userId}`, aadObjectId: u.aadObjectId, name: u.displayName, userPrincipalName: u.upn, email: u.upn });
    const config = parseBotConfig({
      JIT_BOT_MODE: 'test',
      JIT_ALLOWED_TENANT_IDS: TENANT_ID,
      JIT_BRIDGE_URL: bridge.url,
      JIT_NOTIFY_SECRET: 'test-notify-secret-0123456789-abcdefghij',
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: CHANNEL,
      JIT_TEAMS_SERVICE_URL: connector.url,
    });
    handler = createBotLambdaHandler(async () => {
      builds++;
      return createBotApplication(config, { tokens: staticTokenProvider(bridge.token), store: new MemoryConversationStore(), retry: { baseDelayMs: 1 } });
    });
  });
  after(async () => {
    await connector.close();
    await bridge.close();
  });

  const post = (act: Json) => handler(httpApiEvent(JSON.stringify(act)));

  it('a message is processed and answered through the connector; the application is built once for many invokes', async () => {
    const before = connector.cards().length;
    const r1 = await post(activity(connector.url, USERS.alice, { text: 'help' }));
    const r2 = await post(activity(connector.url, USERS.alice, { text: 'request' }));
    assert.equal(r1.statusCode, 200, r1.body);
    assert.equal(r2.statusCode, 200, r2.body);
    assert.equal(connector.cards().length, before + 2, 'two replies posted to the connector');
    assert.match(JSON.stringify(connector.cards().at(-1)), /request\.submit/);
    assert.equal(builds, 1, 'config and clients built once per cold start');
  });

  it('an adaptiveCard/action invoke answers 200 with the card in the body (not an empty 200)', async () => {
    const r = await post(activity(connector.url, USERS.alice, { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'menu.request', data: {} } } }));
    assert.equal(r.statusCode, 200, r.body);
    assert.match(String(r.headers?.['content-type']), /^application\/json/);
    const body = JSON.parse(r.body ?? '{}') as Json;
    assert.equal(body.statusCode, 200);
    assert.equal(body.type, 'application/vnd.microsoft.card.adaptive');
    assert.equal((body.value as Json).type, 'AdaptiveCard');
  });

  it('an application/search invoke answers the typeahead results; an unknown dataset is 400', async () => {
    const r = await post(activity(connector.url, USERS.alice, { type: 'invoke', name: 'application/search', value: { kind: 'search', dataset: 'accounts', queryText: 'prod', queryOptions: { top: 10, skip: 0 } } }));
    assert.equal(r.statusCode, 200, r.body);
    const body = JSON.parse(r.body ?? '{}') as Json;
    assert.equal(body.type, 'application/vnd.microsoft.search.searchResponse');
    assert.deepEqual((body.value as { results: Array<{ value: string }> }).results.map((x) => x.value).sort(), ['111111111111', '333333333333']);
    const other = await post(activity(connector.url, USERS.alice, { type: 'invoke', name: 'application/search', value: { kind: 'search', dataset: 'users', queryText: 'a' } }));
    assert.equal(other.statusCode, 400);
  });

  it('a base64-encoded body (API Gateway sets isBase64Encoded for some content) is decoded', async () => {
    const r = await handler(httpApiEvent(JSON.stringify(activity(connector.url, USERS.alice, { text: 'help' })), { base64: true }));
    assert.equal(r.statusCode, 200, r.body);
  });

  it('malformed JSON, JSON that is not an object, and a non-activity are 400 problems; nothing reaches the connector', async () => {
    const before = connector.calls.length;
    assertProblem(await handler(httpApiEvent('{"type": "message", ')), 400, 'MALFORMED_JSON');
    assertProblem(await handler(httpApiEvent('null')), 400, 'MALFORMED_JSON');
    assertProblem(await handler(httpApiEvent(undefined)), 400, 'MALFORMED_JSON');
    assertProblem(await handler(httpApiEvent('{}')), 400, 'NOT_AN_ACTIVITY');
    assertProblem(await handler(httpApiEvent('[]')), 400, 'NOT_AN_ACTIVITY');
    assert.equal(connector.calls.length, before);
  });

  it('a body over 1 MB is 413, a body that is not JSON is 415, another route 404, another method 405', async () => {
    const big = JSON.stringify({ type: 'message', text: 'x'.repeat(LAMBDA_MESSAGES_MAX_BYTES) });
    assertProblem(await handler(httpApiEvent(big)), 413, 'PAYLOAD_TOO_LARGE');
    assertProblem(await handler(httpApiEvent('hello', { headers: { 'content-type': 'text/plain' } })), 415, 'UNSUPPORTED_MEDIA_TYPE');
    assertProblem(await handler(httpApiEvent('{}', { path: '/api/notify' })), 404, 'NOT_FOUND');
    const get = await handler(httpApiEvent(undefined, { method: 'GET' }));
    assertProblem(get, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(get.headers?.allow, 'POST');
  });

  it('an invoke the bot answers 401 with a body (the step-up loginRequest) reaches Teams as it is; only the adapter\'s own 401 becomes a problem', async () => {
    const loginRequest = { statusCode: 401, type: 'application/vnd.microsoft.activity.loginRequest', value: { text: 'Sign in', connectionName: 'sso', tokenExchangeResource: { id: 'x', uri: 'api://botid-x', providerId: 'p' } } };
    const h = createBotLambdaHandler(async (): Promise<BotLambdaTarget> => ({ messages: { process: async (_req, res) => {
          res.status(401);
          res.send(loginRequest);
        } }, log: recordingLog() }));
    const answer = await h(httpApiEvent(JSON.stringify({ type: 'invoke', name: 'adaptiveCard/action' })));
    assert.equal(answer.statusCode, 401);
    assert.deepEqual(JSON.parse(answer.body ?? '{}'), loginRequest);
    const refused = createBotLambdaHandler(async (): Promise<BotLambdaTarget> => ({ messages: { process: async (_req, res) => {
          res.status(401);
          res.send('Unauthorized Access. Request is not authorized');
        } }, log: recordingLog() }));
    assertProblem(await refused(httpApiEvent(JSON.stringify({ type: 'message' }))), 401, 'UNAUTHORIZED');
  });

  it('a failed initialisation answers 503 without details, is logged, and is retried on the next invoke', async () => {
    const log = recordingLog();
    let attempts = 0;
    const flaky = createBotLambdaHandler(async () => {
      attempts++;
      if (attempts === 1) throw new Error('secret not readable yet');
      const target: BotLambdaTarget = { messages: { process: async (_req, res) => void res.status(200) }, log };
      return target;
    }, log);
    const event = () => httpApiEvent(JSON.stringify({ type: 'message' }));
    const first = await flaky(event());
    assertProblem(first, 503, 'NOT_READY');
    assert.doesNotMatch(first.body ?? '', /secret not readable/);
    assert.ok(log.entries.some((e) => e.message === 'bot initialisation failed'));
    assert.equal((await flaky(event())).statusCode, 200);
    assert.equal(attempts, 2);
  });
});

describe('bot Lambda entry: backend notices as direct invokes (the hosted bot, over IAM)', function () {
  this.timeout(20_000);
  let bridge: RealBridge;
  let connector: ConnectorRecorder;
  let handler: ReturnType<typeof createBotLambdaHandler>;
  let seq = 0;

  before(async () => {
    bridge = await startRealBridge();
    connector = new ConnectorRecorder();
    await connector.start();
    for (const u of Object.values(USERS) as BridgeUser[]) connector.addMember({ id: `29:${u.userId}`, aadObjectId: u.aadObjectId, name: u.displayName, userPrincipalName: u.upn, email: u.upn });
    const config = parseBotConfig({
      JIT_BOT_MODE: 'test',
      JIT_ALLOWED_TENANT_IDS: TENANT_ID,
      JIT_BRIDGE_URL: bridge.url,
      JIT_NOTIFY_SECRET: 'test-notify-secret-0123456789-abcdefghij',
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: CHANNEL,
      JIT_TEAMS_SERVICE_URL: connector.url,
    });
    handler = createBotLambdaHandler(async () => createBotApplication(config, { tokens: staticTokenProvider(bridge.token), store: new MemoryConversationStore(), retry: { baseDelayMs: 1 } }));
  });
  after(async () => {
    await connector.close();
    await bridge.close();
  });

  let requestId: string | undefined;
  const notice = async (): Promise<NotificationBody> => {
    requestId ??= (await bridge.submit(USERS.alice, { permissionSetName: 'ReadOnly' })).id;
    return { kind: 'request', event: 'approval_requested', request: bridge.view(requestId), notificationId: `n-invoke-${++seq}-${requestId.slice(-6)}` };
  };
  const channelPosts = () => connector.calls.filter((c) => c.method === 'POST' && c.path === '/v3/conversations');

  it('a valid notice posts the approval card to the on-call channel and answers {status: 200}; the same notice again is 409 DUPLICATE and posts nothing', async () => {
    const body = await notice();
    const before = channelPosts().length;
    const first = (await handler(JSON.parse(JSON.stringify(body)))) as NotifyInvokeAnswer;
    assert.equal(first.status, 200, JSON.stringify(first));
    assert.deepEqual({ ...(first.body as Json), posted: undefined, updated: undefined, skipped: undefined }, { status: 'delivered', posted: undefined, updated: undefined, skipped: undefined });
    assert.equal(channelPosts().length, before + 1);
    const post = JSON.stringify(channelPosts().at(-1)!.body);
    assert.match(post, /"type":"FactSet"/);
    assert.ok(post.includes(body.kind === 'request' ? body.request.id : '?'));
    const again = (await handler(JSON.parse(JSON.stringify(body)))) as NotifyInvokeAnswer;
    assert.equal(again.status, 409);
    assert.equal((again.body as Json).code, 'DUPLICATE');
    assert.equal(channelPosts().length, before + 1);
  });

  it('a malformed notice (schema, not an object) is 400 VALIDATION with the issues, and nothing is posted or claimed', async () => {
    const before = connector.calls.length;
    const good = await notice();
    const bad = (await handler({ ...good, event: 'granted-maybe' })) as NotifyInvokeAnswer;
    assert.equal(bad.status, 400);
    assert.equal((bad.body as Json).code, 'VALIDATION');
    assert.ok(Array.isArray((bad.body as Json).issues));
    for (const payload of [null, 'approval_requested', 42, [good], {}]) {
      const r = (await handler(payload)) as NotifyInvokeAnswer;
      assert.equal(r.status, 400, JSON.stringify(payload));
    }
    assert.equal(connector.calls.length, before);
    // The refused notice's id was not claimed: the corrected notice with it is delivered.
    assert.equal(((await handler(good)) as NotifyInvokeAnswer).status, 200);
  });

  it('an HTTP API event whose body IS a notice is never taken for a direct invoke: /api/messages refuses it as no activity, /api/notify does not exist', async () => {
    const body = JSON.stringify(await notice());
    const before = connector.calls.length;
    const asMessage = await handler(httpApiEvent(body));
    assert.equal(asMessage.statusCode, 400);
    assert.equal((JSON.parse(asMessage.body ?? '{}') as Json).code, 'NOT_AN_ACTIVITY');
    const asNotify = await handler(httpApiEvent(body, { path: '/api/notify' }));
    assert.equal(asNotify.statusCode, 404);
    // Even an event that carries the notice's members at the top level is HTTP: it has API Gateway's members.
    const crafted = { ...(JSON.parse(body) as Json), ...httpApiEvent(body) };
    const r = (await handler(crafted)) as { statusCode?: number };
    assert.equal(r.statusCode, 400);
    for (const member of ['version', 'routeKey', 'rawPath', 'requestContext', 'headers', 'isBase64Encoded']) assert.equal(isHttpApiEvent({ ...(JSON.parse(body) as Json), [member]: undefined }), true, member);
    assert.equal(isHttpApiEvent(JSON.parse(body)), false);
    assert.equal(connector.calls.length, before, 'nothing posted');
  });

  it('a bot without notice delivery (the echo bot shape) answers 501, and a failed initialisation 503', async () => {
    const echo = createBotLambdaHandler(async (): Promise<BotLambdaTarget> => ({ messages: { process: async (_q, res) => void res.status(200) }, log: recordingLog() }));
    assert.equal(((await echo(await notice())) as NotifyInvokeAnswer).status, 501);
    const broken = createBotLambdaHandler(async () => Promise.reject(new Error('no secret yet')), recordingLog());
    assert.equal(((await broken(await notice())) as NotifyInvokeAnswer).status, 503);
  });
});

describe('bot Lambda entry: production configuration (Bot Framework authentication on)', function () {
  this.timeout(20_000);
  // A hand-made client rather than aws-sdk-client-mock: another file mocks the class for its whole
  // run, and two sinon wraps of the same `send` conflict.
  const calls: GetSecretValueCommand[] = [];
  const secretValue = JSON.stringify({ MicrosoftAppId: BOT_APP_ID, MicrosoftAppTenantId: TENANT_ID, MicrosoftAppPassword: 'client-secret-value' });
  const secretsManager = {
    send: async (command: GetSecretValueCommand) => {
      calls.push(command);
      if (command.input.SecretId !== SECRET_ARN) throw Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' });
      return { SecretString: secretValue };
    },
  } as unknown as SecretsManagerClient;
  const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:jit-access-dev/bot-credentials-AbCdEf';
  const env = {
    JIT_BOT_CREDENTIALS_SECRET_ARN: SECRET_ARN,
    MicrosoftAppType: 'SingleTenant',
    JIT_ALLOWED_TENANT_IDS: TENANT_ID,
    JIT_BRIDGE_URL: 'https://api1234567.execute-api.us-east-1.amazonaws.com',
    JIT_BRIDGE_SCOPE: '00000000-0000-0000-0000-0000000000a1/.default',
    JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
    JIT_ONCALL_CHANNEL_ID: CHANNEL,
    JIT_BOT_STORE: 'dynamodb',
    JIT_BOT_STORE_TABLE: 'jit-access-dev-conversations',
  };
  afterEach(() => (calls.length = 0));

  it('reads the credentials from Secrets Manager, needs no HMAC key in the environment, and turns authentication on', async () => {
    const built = await buildFromEnvironment(env, { log: recordingLog(), store: new MemoryConversationStore() }, { secretsManager });
    assert.equal(built.config.authenticationEnabled, true);
    assert.equal(built.config.credentialSource, 'secrets-manager');
    assert.equal(built.config.app?.id, BOT_APP_ID);
    assert.ok(Buffer.byteLength(built.config.notifySecret) >= 32, 'a random key nobody holds: the hosted bot has no /api/notify door');
    assert.equal(calls.length, 1);
    assert.ok(calls[0] instanceof GetSecretValueCommand);
  });

  it('a missing or malformed Authorization header is 401 (problem), and the bot never runs', async () => {
    // A turn that ran would at least store the conversation reference: count every store call.
    let ran = 0;
    const memory = new MemoryConversationStore();
    const store = new Proxy(memory, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          ran++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const h = createBotLambdaHandler(async () => buildFromEnvironment(env, { log: recordingLog(), store }, { secretsManager }));
    const act = JSON.stringify(activity('https://smba.trafficmanager.net/teams/', USERS.alice, { text: 'help' }));
    assertProblem(await h(httpApiEvent(act)), 401, 'UNAUTHORIZED');
    assertProblem(await h(httpApiEvent(act, { headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-token' } })), 401, 'UNAUTHORIZED');
    // (A well-formed JWT makes botframework-connector fetch the Bot Framework's OpenID metadata, which
    // needs the network: that path is botbuilder's own and is not re-tested here.)
    assert.equal(ran, 0);
  });
});
