/**
 * The production build (scripts/build.ts, `npm run build`) and the Dockerfile. No Docker engine
 * runs here, so the built bundle is run the way the image's CMD runs it: `node dist/bot/main.js`,
 * copied into an empty directory (no node_modules, no sources, no tsx), on an ephemeral port on
 * 127.0.0.1. The Lambda bundle is required in a fresh node and invoked with HTTP API events.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { build, type BuildOutput } from '../../scripts/build';
import { LAMBDA_ENTRIES } from '../../lambdas/contract';

const ROOT = join(__dirname, '..', '..');
const TENANT = '00000000-0000-0000-0000-000000000001';
/** Test-mode bot env (authentication off, memory store), as the sandbox runs it; nothing listens on the bridge port. */
const BOT_ENV = {
  JIT_BOT_MODE: 'test',
  JIT_ALLOWED_TENANT_IDS: TENANT,
  JIT_BRIDGE_URL: 'http://127.0.0.1:9',
  JIT_NOTIFY_SECRET: 'test-notify-secret-0123456789-abcdefghij',
  JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
  JIT_ONCALL_CHANNEL_ID: '19:oncall@thread.tacv2',
  JIT_TEAMS_SERVICE_URL: 'http://127.0.0.1:9/',
  JIT_BOT_HOST: '127.0.0.1',
  JIT_BOT_PORT: '0',
};

describe('production build: esbuild bundles run on plain node', function () {
  this.timeout(180_000);
  let out: BuildOutput;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jit-build-'));
    out = await build(join(dir, 'dist'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('builds the bot (server and Lambda entries) and every backend function, with source maps', () => {
    assert.ok(out.files['bot/main.js']! > 0 && out.files['bot/lambda.js']! > 0, JSON.stringify(out.files));
    for (const name of Object.keys(LAMBDA_ENTRIES)) assert.ok(out.files[`lambdas/${name}.js`], name);
    for (const f of Object.keys(out.files)) assert.ok(existsSync(join(out.outDir, `${f}.map`)), `${f}.map`);
    // The Lambda runtime ships the AWS SDK; the container bundle must not need node_modules.
    assert.match(readFileSync(out.botLambda, 'utf8'), /require\("@aws-sdk\/client-secrets-manager"\)/);
    assert.doesNotMatch(readFileSync(out.botServer, 'utf8'), /[^[]require\("@aws-sdk\//, 'only an error message names a require of the SDK');
  });

  it('the container\'s AWS SDK is a chunk beside main.js, not part of it: main.js requires it only when the configuration needs a client', () => {
    const main = readFileSync(out.botServer, 'utf8');
    const chunk = readFileSync(out.botServerSdk, 'utf8');
    // DescribeEndpoints: an operation of the DynamoDB client (endpoint discovery) that no code of ours names.
    assert.match(chunk, /DescribeEndpoints/);
    assert.doesNotMatch(main, /DescribeEndpoints/);
    for (const p of ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-secrets-manager']) assert.ok(main.includes(`require("./aws-sdk.js")[${JSON.stringify(p)}]`), p);
    assert.ok(out.botServerSdk.endsWith(join('bot', 'aws-sdk.js')));
  });

  it('node dist/bot/main.js, alone in an empty directory, answers /healthz and a malformed POST with a 400 problem, and stops on SIGTERM', async () => {
    // Without aws-sdk.js beside it: a bot with the memory store and no credentials secret never requires it.
    await runImage('image', [], BOT_ENV);
  });

  it('with the DynamoDB store, main.js requires aws-sdk.js beside it and starts (no node_modules)', async () => {
    await runImage('image-dynamodb', [out.botServerSdk], { ...BOT_ENV, JIT_BOT_STORE: 'dynamodb', JIT_BOT_STORE_TABLE: 'jit-conversations', AWS_REGION: 'us-east-1' });
  });

  /** Copies main.js (and `extra` files) into an empty directory and runs it as the image's CMD does. */
  async function runImage(name: string, extra: string[], env: Record<string, string>): Promise<void> {
    const app = join(dir, name, 'dist', 'bot');
    mkdirSync(app, { recursive: true });
    for (const f of [out.botServer, ...extra]) {
      copyFileSync(f, join(app, basename(f)));
      copyFileSync(`${f}.map`, join(app, `${basename(f)}.map`));
    }
    const child: ChildProcess = spawn(process.execPath, ['--enable-source-maps', 'dist/bot/main.js'], {
      cwd: join(dir, name),
      env: { PATH: process.env.PATH ?? '', NODE_PATH: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          stdout += d.toString();
          const m = /"message":"bot listening","url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stdout);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`the bundle exited with ${code}: ${stderr}`)));
        setTimeout(() => reject(new Error(`no "bot listening" line within 60 s: ${stdout} ${stderr}`)), 60_000).unref();
      });
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });
      const bad = await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":' });
      assert.equal(bad.status, 400);
      assert.match(bad.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(((await bad.json()) as { code: string }).code, 'MALFORMED_JSON');
    } finally {
      const exited = new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
      child.kill('SIGTERM');
      assert.equal(await exited, 0, 'clean shutdown on SIGTERM');
    }
  }

  it('dist/bot/lambda.js exports the handler; required in a fresh node it answers HTTP API events with the entry\'s problems (malformed JSON, not an activity: 400)', () => {
    const script = `
      const { handler } = require(${JSON.stringify(out.botLambda)});
      const ev = (body) => ({ version: '2.0', rawPath: '/api/messages', headers: { 'content-type': 'application/json' }, requestContext: { http: { method: 'POST', path: '/api/messages' } }, body, isBase64Encoded: false });
      (async () => {
        const bad = await handler(ev('{"type":'));
        const notActivity = await handler(ev('{}'));
        process.stdout.write(JSON.stringify({ type: typeof handler, bad, notActivity }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const text = execFileSync(process.execPath, ['-e', script], {
      // Externals (the AWS SDK) come from the Lambda runtime there, from the repository here.
      env: { PATH: process.env.PATH ?? '', NODE_PATH: join(ROOT, 'node_modules'), AWS_REGION: 'us-east-1', ...BOT_ENV },
      encoding: 'utf8',
    });
    const r = JSON.parse(text) as { type: string; bad: { statusCode: number; body: string }; notActivity: { statusCode: number; body: string } };
    assert.equal(r.type, 'function');
    assert.equal(r.bad.statusCode, 400);
    assert.equal((JSON.parse(r.bad.body) as { code: string }).code, 'MALFORMED_JSON');
    assert.equal(r.notActivity.statusCode, 400);
  });
});

describe('Dockerfile: non-root, health-checked, node on the built bundle', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  // Instructions, with line continuations joined and comments dropped.
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const of = (name: string) => instructions.filter((l) => l.toUpperCase().startsWith(`${name} `));
  const jsonArgs = (line: string) => JSON.parse(line.slice(line.indexOf('['))) as string[];

  it('starts from an official Node.js image whose major is the Lambda runtime\'s (the bundle\'s esbuild target)', () => {
    const [from] = of('FROM');
    assert.ok(from);
    const major = /^FROM\s+node:(\d+)(-slim|-bookworm-slim|-alpine)?(@sha256:[0-9a-f]{64})?\s*$/i.exec(from);
    assert.ok(major, from);
    const target = /ESBUILD_TARGET = 'node(\d+)'/.exec(readFileSync(join(ROOT, 'infra/constructs/jit-function.ts'), 'utf8'))?.[1];
    assert.equal(major[1], target);
  });

  it('runs as a non-root user, set before CMD', () => {
    const users = of('USER');
    assert.ok(users.length > 0, 'a USER instruction');
    const last = users.at(-1)!.split(/\s+/)[1]!;
    assert.ok(!['root', '0', '0:0', 'root:root'].includes(last), `USER ${last}`);
    assert.ok(instructions.indexOf(users.at(-1)!) < instructions.indexOf(of('CMD')[0]!), 'USER before CMD');
  });

  it('has a HEALTHCHECK against the bot\'s GET /healthz', () => {
    const [hc] = of('HEALTHCHECK');
    assert.ok(hc);
    assert.match(hc, /\/healthz/);
    assert.doesNotMatch(hc, /\bcurl\b|\bwget\b/, 'the slim image has neither');
    assert.match(readFileSync(join(ROOT, 'bot/server.ts'), 'utf8'), /app\.get\('\/healthz'/);
  });

  it('CMD runs node on the built dist/bot/main.js (the file npm run build writes), in exec form; no tsx anywhere', () => {
    const cmd = of('CMD');
    assert.equal(cmd.length, 1);
    const args = jsonArgs(cmd[0]!);
    assert.equal(args[0], 'node');
    assert.equal(args.at(-1), 'dist/bot/main.js');
    assert.doesNotMatch(instructions.join('\n'), /\btsx\b|ts-node|\.ts\b/, 'no instruction runs or copies TypeScript');
    assert.ok(of('COPY').some((c) => c.includes('dist/bot/main.js')), 'the bundle is copied into the image');
    assert.ok(of('COPY').some((c) => c.includes('dist/bot/aws-sdk.js')), 'and the AWS SDK chunk it requires for the DynamoDB store and the credentials secret');
    assert.match(readFileSync(join(ROOT, 'scripts/build.ts'), 'utf8'), /join\(outDir, 'bot', 'main\.js'\)/, 'the build writes that file');
  });

  it('.dockerignore keeps everything but the bundle out of the build context (no .env, no node_modules, no sources)', () => {
    const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    assert.equal(lines[0], '*');
    assert.deepEqual(lines.slice(1).sort(), ['!dist/bot/aws-sdk.js', '!dist/bot/aws-sdk.js.map', '!dist/bot/main.js', '!dist/bot/main.js.map']);
  });
});
