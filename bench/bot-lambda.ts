/**
 * The bot as the stack runs it, measured side by side with a bare echo bot, in one run:
 *
 * - bundle: bot/lambda.ts bundled as `npm run build` and infra do (scripts/build.ts buildBot); the
 *   cold and warm figures run that very bundle;
 * - cold init: a fresh `node` process requires the Lambda bundle and answers its first invoke
 *   (an Action.Execute card action through the Lambda entry, which reaches the stubs' bridge and
 *   connector). That is what a cold start adds before Teams' ~15 s invoke deadline; Lambda's own
 *   sandbox start is the same for both bots and not measurable here. The echo bot runs on the same
 *   entry shape (bot/lambda-entry.ts createBotLambdaHandler), bundled the same way;
 * - warm invoke p99: after the first invoke, the same process answers `warmInvokes` invokes one at
 *   a time (one Lambda environment handles one event at a time);
 * - peak RSS under load: the production build of the server exactly as `npm run build` writes it
 *   (dist/bot/main.js beside its dist/bot/aws-sdk.js, started as the Dockerfile's CMD starts it and
 *   configured from its environment only: test mode, memory store, the stubs' bridge and
 *   connector) under the same autocannon load as bench/bot-load.ts, against the echo bot's server
 *   bundled with the same options; alternating runs, each bot in a fresh process.
 *
 * Everything stays on 127.0.0.1, and every child is bounded (a timeout kills it).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
// autocannon ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<{ latency: { p99: number }; errors: number; timeouts: number; non2xx: number }>;
import { ESBUILD_TARGET } from '../infra/constructs/jit-function';
import { buildBot } from '../scripts/build';
import { cardActions } from './bot-load';
import { type Child, REPO_ROOT, startChild, startServerChild } from './lib/child';
import { median, percentile, round } from './lib/stats';
import { TENANT_ID, USERS } from '../test/support/bridge-fixtures';

export interface LambdaColdRun {
  requireMs: number;
  firstInvokeMs: number;
  totalMs: number;
}

export interface BotLambdaResult {
  botLambdaBundleKb: number;
  echoLambdaBundleKb: number;
  cold: { jit: LambdaColdRun[]; echo: LambdaColdRun[]; jitMedianMs: number; echoMedianMs: number; ratio: number };
  warm: { jitP50Ms: number; jitP99Ms: number; echoP50Ms: number; echoP99Ms: number; invokes: number; ratio: number };
  rss: { jitPeakMb: number; echoPeakMb: number; ratio: number; runs: Array<{ jitPeakMb: number; echoPeakMb: number; ratio: number }>; connections: number; rate: number; durationS: number };
  problems: string[];
}

/** The bench bots' bundles, with the options of scripts/build.ts (same target, CJS, minify, source maps, AWS SDK external for Lambda). */
async function bundle(entry: string, outfile: string, lambda: boolean): Promise<string> {
  await esbuild.build({
    bundle: true,
    platform: 'node',
    target: ESBUILD_TARGET,
    format: 'cjs',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'error',
    absWorkingDir: REPO_ROOT,
    entryPoints: [join(REPO_ROOT, entry)],
    outfile,
    ...(lambda ? { external: ['@aws-sdk/*'] } : {}),
  });
  return outfile;
}

/** An API Gateway HTTP API (payload 2.0) event carrying one activity. */
function httpApiEvent(body: string) {
  return {
    version: '2.0',
    routeKey: 'POST /api/messages',
    rawPath: '/api/messages',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST', path: '/api/messages', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' }, requestId: 'bench', routeKey: 'POST /api/messages', stage: '$default' },
    body,
    isBase64Encoded: false,
  };
}

/**
 * Runs in a fresh node: require the bundle, first invoke, then `warm` invokes one after the other.
 * Every answer must be a 200 carrying a card, or the run counts as a problem.
 */
const RUNNER = `
const events = JSON.parse(process.env.BENCH_EVENTS);
const warm = Number(process.env.BENCH_WARM);
const t0 = performance.now();
const { handler } = require(process.env.BENCH_BUNDLE);
const t1 = performance.now();
(async () => {
  const bad = [];
  const check = (r, i) => { if (r.statusCode !== 200 || !/application\\/vnd\\.microsoft\\.card\\.adaptive/.test(r.body || '')) bad.push(i + ': ' + r.statusCode + ' ' + String(r.body).slice(0, 160)); };
  check(await handler(events[0]), 0);
  const t2 = performance.now();
  const lat = [];
  for (let i = 0; i < warm; i++) {
    const s = performance.now();
    check(await handler(events[i % events.length]), i + 1);
    lat.push(performance.now() - s);
  }
  process.stdout.write('\\nBENCH_RESULT ' + JSON.stringify({ requireMs: t1 - t0, firstInvokeMs: t2 - t1, lat, bad: bad.slice(0, 5) }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

interface RunnerOutput {
  requireMs: number;
  firstInvokeMs: number;
  lat: number[];
  bad: string[];
}

function runLambda(bundleFile: string, events: unknown[], warm: number, env: Record<string, string>): Promise<RunnerOutput> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      // As Lambda runs the functions (NODE_OPTIONS=--enable-source-maps, infra/constructs/jit-function.ts).
      ['--enable-source-maps', '-e', RUNNER],
      {
        cwd: REPO_ROOT,
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
        // The AWS SDK is external in Lambda bundles (the runtime ships it): here it comes from node_modules.
        env: { PATH: process.env.PATH ?? '', NODE_PATH: join(REPO_ROOT, 'node_modules'), AWS_REGION: 'us-east-1', BENCH_BUNDLE: bundleFile, BENCH_EVENTS: JSON.stringify(events), BENCH_WARM: String(warm), ...env },
      },
      (error, stdout, stderr) => (error ? reject(new Error(`${bundleFile}: ${error.message} ${stderr.slice(0, 500)}`)) : resolve(JSON.parse(stdout.slice(stdout.lastIndexOf('BENCH_RESULT ') + 13)) as RunnerOutput)),
    );
  });
}

export async function runBotLambda(options: { coldRuns: number; warmInvokes: number; rssRuns?: number; rssDurationS: number; rssConnections: number; rssRate: number; log: (line: string) => void }): Promise<BotLambdaResult> {
  const problems: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'jit-bench-bot-lambda-'));
  const stubs = await startChild<{ bridgeUrl: string; connectorUrl: string }>('bot/stubs.ts');
  const servers: Array<Child<{ url: string }>> = [];
  try {
    // The bot exactly as `npm run build` builds it (dist/bot/lambda.js, configured from the
    // environment below: test mode, i.e. no Entra and the stubs' bridge, which takes any token), and
    // the echo bot behind the same entry shape (bot/lambda-entry.ts).
    const built = await buildBot(join(dir, 'dist'));
    const jitLambda = built.lambda;
    const echoLambda = await bundle('bench/bot/echo-lambda.ts', join(dir, 'echo-lambda.js'), true);
    const botLambdaBundleKb = round(statSync(built.lambda).size / 1024, 1);
    const echoLambdaBundleKb = round(statSync(echoLambda).size / 1024, 1);
    options.log(`  bundles: bot Lambda ${botLambdaBundleKb} KB, echo Lambda ${echoLambdaBundleKb} KB`);

    const events = cardActions(stubs.ready.connectorUrl).map((a) => httpApiEvent(a.body));
    const env = {
      JIT_BOT_MODE: 'test',
      JIT_ALLOWED_TENANT_IDS: TENANT_ID,
      JIT_BRIDGE_URL: stubs.ready.bridgeUrl,
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: '19:oncall@thread.tacv2',
      JIT_TEAMS_SERVICE_URL: stubs.ready.connectorUrl,
      JIT_ACCESS_PORTAL_URL: 'https://d-1111111111.awsapps.com/start',
      JIT_APPROVER_AAD_IDS: `${USERS.bob.aadObjectId},${USERS.carol.aadObjectId}`,
      JIT_LOG_LEVEL: 'ERROR',
    };

    // Cold runs alternate echo and jit so that drift hits both alike; the last run of each also
    // gives the warm latencies (one process, invokes one at a time).
    const cold: BotLambdaResult['cold'] = { jit: [], echo: [], jitMedianMs: 0, echoMedianMs: 0, ratio: 0 };
    const warmLat: Record<'jit' | 'echo', number[]> = { jit: [], echo: [] };
    for (let i = 0; i < options.coldRuns; i++) {
      for (const [name, file] of [['echo', echoLambda], ['jit', jitLambda]] as const) {
        const last = i === options.coldRuns - 1;
        const r = await runLambda(file, events, last ? options.warmInvokes : 0, env);
        if (r.bad.length > 0) problems.push(`${name} Lambda: ${r.bad.join('; ')}`);
        cold[name].push({ requireMs: round(r.requireMs, 1), firstInvokeMs: round(r.firstInvokeMs, 1), totalMs: round(r.requireMs + r.firstInvokeMs, 1) });
        if (last) warmLat[name] = r.lat;
      }
    }
    cold.jitMedianMs = median(cold.jit.map((c) => c.totalMs));
    cold.echoMedianMs = median(cold.echo.map((c) => c.totalMs));
    cold.ratio = round(cold.jitMedianMs / cold.echoMedianMs, 3);
    options.log(`  cold (require + first invoke), median of ${options.coldRuns}: bot ${cold.jitMedianMs} ms (require ${median(cold.jit.map((c) => c.requireMs))} + first invoke ${median(cold.jit.map((c) => c.firstInvokeMs))}), echo ${cold.echoMedianMs} ms = ${cold.ratio}`);
    const warm: BotLambdaResult['warm'] = {
      jitP50Ms: round(percentile(warmLat.jit, 50), 2),
      jitP99Ms: round(percentile(warmLat.jit, 99), 2),
      echoP50Ms: round(percentile(warmLat.echo, 50), 2),
      echoP99Ms: round(percentile(warmLat.echo, 99), 2),
      invokes: options.warmInvokes,
      ratio: 0,
    };
    warm.ratio = round(warm.jitP99Ms / warm.echoP99Ms, 3);
    options.log(`  warm invoke through the Lambda entry, ${options.warmInvokes} one at a time: bot p50 ${warm.jitP50Ms} / p99 ${warm.jitP99Ms} ms, echo p50 ${warm.echoP50Ms} / p99 ${warm.echoP99Ms} ms = ${warm.ratio}`);

    // Peak RSS under load: the production server (dist/bot/main.js, as the image runs it) vs the
    // echo bot's server bundle, both on plain node; alternating, so that drift hits both alike.
    const echoServer = await bundle('bench/bot/echo-bot.ts', join(dir, 'echo-server.js'), false);
    const serverEnv = { ...env, JIT_NOTIFY_SECRET: 'bench-notify-secret-0123456789-abcdefghij', JIT_BOT_HOST: '127.0.0.1' };
    const rss: BotLambdaResult['rss'] = { jitPeakMb: 0, echoPeakMb: 0, ratio: 0, runs: [], connections: options.rssConnections, rate: options.rssRate, durationS: options.rssDurationS };
    const bodies = cardActions(stubs.ready.connectorUrl).map((a) => a.body);
    for (let i = 0; i < (options.rssRuns ?? 3); i++) {
      const peak: Record<'jit' | 'echo', number> = { jit: 0, echo: 0 };
      for (const name of ['echo', 'jit'] as const) {
        const child = name === 'jit' ? await startServerChild(built.server, serverEnv, 'JIT_BOT_PORT') : await startChild<{ url: string }>(echoServer);
        servers.push(child);
        const r = await autocannon({
          url: `${child.ready.url}/api/messages`,
          connections: options.rssConnections,
          duration: options.rssDurationS,
          overallRate: options.rssRate,
          timeout: 10,
          requests: bodies.map((body) => ({ method: 'POST', path: '/api/messages', headers: { 'content-type': 'application/json' }, body })),
        });
        if (r.errors + r.timeouts + r.non2xx > 0) problems.push(`${name} server under load: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`);
        peak[name] = round(child.peakRssMb(), 1);
        await child.stop();
      }
      rss.runs.push({ jitPeakMb: peak.jit, echoPeakMb: peak.echo, ratio: round(peak.jit / peak.echo, 3) });
      options.log(`  peak RSS of the built server under ${options.rssConnections} connections at ${options.rssRate} req/s, run ${i + 1}: bot ${peak.jit} MB, echo ${peak.echo} MB = ${round(peak.jit / peak.echo, 3)}`);
    }
    rss.ratio = median(rss.runs.map((x) => x.ratio));
    const mid = rss.runs.find((x) => x.ratio === rss.ratio) ?? rss.runs[0]!;
    rss.jitPeakMb = mid.jitPeakMb;
    rss.echoPeakMb = mid.echoPeakMb;
    return { botLambdaBundleKb, echoLambdaBundleKb, cold, warm, rss, problems };
  } finally {
    await Promise.all([...servers.map((s) => s.stop()), stubs.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const n = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
  void runBotLambda({
    coldRuns: n('BENCH_COLD_RUNS', 3),
    warmInvokes: n('BENCH_WARM_INVOKES', 200),
    rssDurationS: n('BENCH_DURATION_S', 5),
    rssConnections: 200,
    rssRate: 400,
    log: console.log,
  }).then((r) => console.log(JSON.stringify({ ...r, cold: { ...r.cold, jit: undefined, echo: undefined } }, null, 2)));
}
