/**
 * Structured logs an operator can follow: every line of one invocation carries the access request
 * id (`requestId`), the core services' lines too, and nothing that is a credential gets out
 * (task tokens, Authorization headers, secrets, JWTs anywhere in a message).
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import sinon from 'sinon';
import { createNotifyHandler } from '../../lambdas/notify/handler';
import { correlate, currentRequestId, inInvocation } from '../../lambdas/observability/correlation';
import { isSensitiveKey, REDACTED, redact, redactText } from '../../lambdas/observability/redact';
import { awsLog } from '../../lambdas/composition';
import * as svc from '../../core/services';
import { actor, body, world } from '../support/core-world';

const JWT = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwiYXVkIjoiYXBpOi8vaml0In0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';

/** Lines the JSON logger writes during `fn` (INFO to stdout, WARN and ERROR to stderr), parsed. */
async function captureLogLines(fn: () => Promise<void> | void): Promise<Array<Record<string, unknown>>> {
  const chunks: string[] = [];
  const record = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const stubs = [sinon.stub(process.stdout, 'write').callsFake(record), sinon.stub(process.stderr, 'write').callsFake(record)];
  try {
    await fn();
  } finally {
    for (const s of stubs) s.restore();
  }
  return chunks.join('').split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('logs: redaction', () => {
  it('drops keys that hold credentials, at any depth, and keeps ids and codes', () => {
    const out = redact({
      requestId: 'req-1',
      taskToken: 'AAAA-opaque-step-functions-token',
      headers: { Authorization: `Bearer ${JWT}`, 'content-type': 'application/json', 'x-api-key': 'k', Cookie: 'a=b' },
      nested: [{ client_secret: 's3cr3t', password: 'p', accessToken: 't', MicrosoftAppPassword: 'x', code: 'NOT_FOUND' }],
      secretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:x',
    });
    assert.deepEqual(out, { requestId: 'req-1', headers: { 'content-type': 'application/json' }, nested: [{ code: 'NOT_FOUND' }] });
  });

  it('masks JWTs and bearer credentials inside free text, e.g. an error message quoting a header', () => {
    assert.equal(redactText(`upstream said: invalid token ${JWT} (expired)`), `upstream said: invalid token ${REDACTED} (expired)`);
    assert.equal(redactText('Authorization: Bearer abcdefghijklmnop'), `Authorization: Bearer ${REDACTED}`);
    assert.equal(redactText('request req-01JABCDEF approved'), 'request req-01JABCDEF approved');
    const err = new Error(`jwt ${JWT} rejected`);
    const r = redact({ error: err }) as { error: { name: string; message: string; stack: string } };
    assert.equal(r.error.name, 'Error');
    assert.ok(!r.error.message.includes(JWT) && !r.error.stack.includes(JWT));
  });

  it('survives cycles and absurd depth', () => {
    const a: Record<string, unknown> = { id: 1 };
    a.self = a;
    assert.deepEqual(redact(a), { id: 1, self: '[Circular]' });
    let deep: Record<string, unknown> = { v: 1 };
    for (let i = 0; i < 50; i++) deep = { d: deep };
    assert.doesNotThrow(() => JSON.stringify(redact(deep)));
  });

  it('property: no JWT and no value under a sensitive key survives redaction, whatever the shape', () => {
    const secretValue = fc.constantFrom(JWT, `Bearer ${JWT}`, 'hunter2-secret-value');
    const key = fc.oneof(fc.constantFrom('taskToken', 'authorization', 'clientSecret', 'password', 'id_token', 'x-api-key'), fc.string({ maxLength: 8 }));
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, fc.string({ maxLength: 12 }), secretValue.map((v) => `msg ${v} end`), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(key, fc.oneof(tie('node'), secretValue), { maxKeys: 4 })),
    })).node;
    fc.assert(
      fc.property(tree, (value) => {
        const text = JSON.stringify(redact({ details: value }));
        assert.ok(!text.includes(JWT), text);
        assert.ok(!text.includes('hunter2-secret-value') || !/"(taskToken|authorization|clientSecret|password|id_token|x-api-key)":"hunter2/.test(text), text);
        const walk = (v: unknown): void => {
          if (Array.isArray(v)) v.forEach(walk);
          else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { assert.ok(!isSensitiveKey(k), k); walk(x); }
        };
        walk(JSON.parse(text));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('logs: requestId as the correlation key (awsLog)', () => {
  // These tests read INFO lines: CI runs with JIT_LOG_LEVEL=WARN.
  let level: string | undefined;
  before(() => {
    level = process.env.JIT_LOG_LEVEL;
    process.env.JIT_LOG_LEVEL = 'DEBUG';
  });
  after(() => {
    if (level === undefined) delete process.env.JIT_LOG_LEVEL;
    else process.env.JIT_LOG_LEVEL = level;
  });

  it('every line of an invocation carries the request id; the next invocation starts clean', async () => {
    const w = world();
    const log = awsLog('notify');
    w.deps.log = awsLog('jit-access-test-notify');
    const id = (await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() })).request.id;
    await svc.validateForWorkflow(w.deps, { requestId: id });
    sinon.stub(w.notifier, 'requestChanged').rejects(new Error('bot down'));
    const handler = createNotifyHandler(w.deps, { log });
    let lines: Array<Record<string, unknown>>;
    try {
      lines = await captureLogLines(async () => {
        await inInvocation(() => handler({ requestId: id, taskToken: 'secret-task-token-value' })).catch(() => undefined);
        await inInvocation(async () => log.info('unrelated invocation'));
      });
    } finally {
      sinon.restore();
    }
    const ofRequest = lines.filter((l) => l.message !== 'unrelated invocation');
    assert.ok(ofRequest.length >= 1, JSON.stringify(lines));
    for (const l of ofRequest) assert.equal(l.requestId, id, JSON.stringify(l));
    const next = lines.find((l) => l.message === 'unrelated invocation');
    assert.ok(next && next.requestId === undefined, 'no leak into the next invocation');
    assert.ok(!JSON.stringify(lines).includes('secret-task-token-value'));
    for (const l of lines) assert.equal(l.service, 'teams-jit-access');
    const failed = ofRequest.find((l) => l.message === 'recording the approval token failed');
    assert.match(String(failed?.errorMessage), /bot down/, 'the error message is kept (a detail named "message" would be dropped)');
  });

  it('the core services\' logger (another instance) gets the key too; a line that names its own requestId keeps it', async () => {
    const log = awsLog('reconcile');
    const coreLog = awsLog('jit-access-dev-reconcile');
    const lines = await captureLogLines(() =>
      inInvocation(async () => {
        correlate('req-outer');
        log.warn('acted', { requestId: 'req-inner' });
        await Promise.resolve();
        coreLog.info('reconcile action failed', { kind: 'revoke_expired' });
        log.warn('plain');
      }),
    );
    assert.deepEqual(lines.map((l) => l.requestId), ['req-inner', 'req-outer', 'req-outer']);
  });

  it('redaction applies in awsLog: a token passed by mistake never reaches stdout', async () => {
    const log = awsLog('bridge');
    const lines = await captureLogLines(() => log.error('unhandled error', { authorization: `Bearer ${JWT}`, error: { message: `bad ${JWT}` }, taskToken: 'tt' }));
    assert.equal(lines.length, 1);
    const text = JSON.stringify(lines[0]);
    assert.ok(!text.includes(JWT) && !text.includes('"tt"') && !text.includes('authorization'), text);
    assert.equal(lines[0]!.level, 'ERROR');
  });

  it('outside an invocation scope correlate is a no-op (tests and the sandbox call the factories directly)', () => {
    correlate('req-x');
    assert.equal(currentRequestId(), undefined);
    inInvocation(() => {
      correlate(undefined);
      assert.equal(currentRequestId(), undefined);
      correlate('req-y');
      assert.equal(currentRequestId(), 'req-y');
    });
  });
});
