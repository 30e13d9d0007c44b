/**
 * The bot's HTTP doors answer malformed or oversized bodies with an RFC 9457 problem
 * (application/problem+json, 400 or 413) before any authentication, and never with express's HTML
 * error page, a stack trace or a file path, whatever NODE_ENV says. Real HTTP on port 0.
 */
import { strict as assert } from 'node:assert';
import { parseBotConfig } from '../../bot/config';
import { NOTIFY_MAX_BODY } from '../../bot/notify';
import { signNotification } from '../../contract/notify-signature';
import { MESSAGES_MAX_BODY, type RunningBot, startBot } from '../../bot/server';
import { MemoryConversationStore } from '../../bot/storage/memory';
import { staticTokenProvider } from '../../bot/token-provider';
import { type RealBridge, startRealBridge, TENANT_ID } from '../support/real-bridge';

const SECRET = 'test-notify-secret-0123456789-abcdefghij';

describe('bot HTTP: problem details for bad bodies, no internals (real HTTP)', () => {
  let bridge: RealBridge;
  let bot: RunningBot;
  const savedEnv = process.env.NODE_ENV;

  before(async () => {
    // express shows stacks on its default error page unless its env is production: prove NODE_ENV does not matter.
    process.env.NODE_ENV = 'development';
    bridge = await startRealBridge();
    const config = parseBotConfig({
      JIT_BOT_MODE: 'test',
      JIT_ALLOWED_TENANT_IDS: TENANT_ID,
      JIT_BRIDGE_URL: bridge.url,
      JIT_NOTIFY_SECRET: SECRET,
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: '19:oncall@thread.tacv2',
      JIT_TEAMS_SERVICE_URL: 'http://127.0.0.1:9/',
      JIT_BOT_PORT: '0',
    });
    bot = await startBot(config, { tokens: staticTokenProvider(bridge.token), store: new MemoryConversationStore() });
  });
  after(async () => {
    if (savedEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = savedEnv;
    await bot?.close();
    await bridge?.close();
  });

  async function send(path: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }, method = 'POST') {
    const res = await fetch(`${bot.url}${path}`, { method, headers, ...(method === 'GET' ? {} : { body }) });
    return { status: res.status, type: res.headers.get('content-type') ?? '', poweredBy: res.headers.get('x-powered-by'), text: await res.text() };
  }

  function assertProblem(r: Awaited<ReturnType<typeof send>>, status: number, code: string) {
    assert.equal(r.status, status, r.text);
    assert.match(r.type, /^application\/problem\+json/);
    assert.equal(r.poweredBy, null, 'no x-powered-by');
    const body = JSON.parse(r.text) as Record<string, unknown>;
    assert.equal(body.status, status);
    assert.equal(body.code, code);
    assert.equal(body.type, 'about:blank');
    assert.equal(typeof body.title, 'string');
    assert.ok(String(body.detail).length > 5);
    assert.doesNotMatch(r.text, /<html|<pre|\bat [\w.<>]+ \(|node_modules|\.ts:\d+|\.js:\d+/i, 'no HTML, stack frames or source locations');
    assert.ok(!r.text.includes(process.cwd()), 'no absolute path');
    assert.doesNotMatch(r.text, /SyntaxError|Unexpected token|PayloadTooLargeError|body-parser|raw-body/, 'no library messages');
  }

  const sizeOf = (limit: string) => Number.parseInt(limit, 10) * (limit.endsWith('mb') ? 1024 * 1024 : 1024);

  it('/api/messages: malformed JSON is 400', async () => {
    assertProblem(await send('/api/messages', '{"type": "message", '), 400, 'MALFORMED_JSON');
    assertProblem(await send('/api/messages', '{"a":1}}'), 400, 'MALFORMED_JSON');
    assertProblem(await send('/api/messages', 'null'), 400, 'MALFORMED_JSON');
  });

  it('/api/messages: a body that is not a JSON activity object is 400 or 415, never botbuilder\'s HTML or a 500', async () => {
    assertProblem(await send('/api/messages', '{}'), 400, 'NOT_AN_ACTIVITY');
    assertProblem(await send('/api/messages', '[]'), 400, 'NOT_AN_ACTIVITY');
    assertProblem(await send('/api/messages', '{"type": 7}'), 400, 'NOT_AN_ACTIVITY');
    assertProblem(await send('/api/messages', 'hello', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    assertProblem(await send('/api/messages', '', {}), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('/api/messages: a body over the limit is 413', async () => {
    assertProblem(await send('/api/messages', Buffer.alloc(sizeOf(MESSAGES_MAX_BODY) + 1, 0x20)), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('/api/notify: a body over the limit is 413, before the signature is even checked', async () => {
    assertProblem(await send('/api/notify', Buffer.alloc(sizeOf(NOTIFY_MAX_BODY) + 1, 0x20)), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('/api/notify: malformed JSON is 401 without a signature, 400 with a valid one', async () => {
    assertProblem(await send('/api/notify', '{"kind":'), 401, 'UNAUTHORIZED');
    const raw = '{"kind": "request", ';
    assertProblem(await send('/api/notify', raw, signNotification(SECRET, raw, Date.now())), 400, 'VALIDATION');
  });

  it('an unsupported content encoding is 415 and an unknown route 404, both as problems', async () => {
    assertProblem(await send('/api/messages', '{}', { 'content-type': 'application/json', 'content-encoding': 'x-unknown' }), 415, 'UNSUPPORTED_ENCODING');
    assertProblem(await send('/nope', '', {}, 'GET'), 404, 'NOT_FOUND');
  });
});
