/**
 * Bot latency under load: autocannon on 127.0.0.1 against the real express bot (test mode,
 * authentication off) and against a bare botbuilder echo bot, same express setup, same load, same
 * run. Each bot, the stubs (bridge + connector) and the load generator run in separate processes.
 *
 * Two kinds of load. The 1 / 50 / 200 connection levels are closed loops (each connection sends
 * its next request as soon as the previous answer arrives): they give the saturation throughput,
 * and their p99 at saturation is mostly the load generator's own queueing (a bare node:http server
 * shows the same tail). The ratio is measured at 200 connections with a fixed offered load
 * (`ratioRate` requests per second over all connections, sent in bursts), so both bots get exactly
 * the same work and the p99 says how long the slowest of 200 simultaneous clicks waits.
 *
 * The load is Action.Execute invokes, alternating approval.approve (an approver in the on-call
 * channel) and request.submit (a requester in their 1:1 chat, replying to the form message).
 */
// autocannon ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;
import { type Child, startChild } from './lib/child';
import { median, round } from './lib/stats';
import { TENANT_ID, USERS } from '../test/support/bridge-fixtures';

interface AutocannonResult {
  latency: { p50: number; p99: number; average: number; max: number };
  requests: { average: number; total: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}

export interface LoadLevel {
  connections: number;
  p50Ms: number;
  p99Ms: number;
  throughputRps: number;
  errors: number;
  non2xx: number;
}

export interface BotLoadResult {
  ratioRuns: Array<{ jitP99Ms: number; echoP99Ms: number; ratio: number; jitP50Ms: number; echoP50Ms: number }>;
  ratio: number;
  levels: { jit: LoadLevel[]; echo: LoadLevel[] };
  peakRssMb: { jit: number; echo: number };
  rssAfterLoadMb: { jit: number; echo: number };
  problems: string[];
}

const CHANNEL = '19:oncall@thread.tacv2';
const BOT_ID = '28:jit-access-bot';

function activity(connectorUrl: string, user: (typeof USERS)[keyof typeof USERS], where: 'personal' | 'channel', verb: string, data: Record<string, unknown>, replyToId?: string) {
  return {
    type: 'invoke',
    name: 'adaptiveCard/action',
    id: `bench-${verb}`,
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: connectorUrl,
    from: { id: `29:${user.userId}`, name: user.displayName, aadObjectId: user.aadObjectId },
    recipient: { id: BOT_ID, name: 'JIT Access' },
    conversation: where === 'personal' ? { id: `a:personal-${user.userId}`, conversationType: 'personal', tenantId: TENANT_ID } : { id: `${CHANNEL};messageid=777`, conversationType: 'channel', isGroup: true, tenantId: TENANT_ID },
    channelData: { tenant: { id: TENANT_ID }, ...(where === 'channel' ? { channel: { id: CHANNEL }, team: { id: '19:team@thread.tacv2' } } : {}) },
    value: { action: { type: 'Action.Execute', verb, data } },
    ...(replyToId ? { replyToId } : {}),
  };
}

export function cardActions(connectorUrl: string): Array<{ verb: string; body: string }> {
  const approve = activity(connectorUrl, USERS.bob, 'channel', 'approval.approve', { requestId: 'req-01J0000000000000000000BENCH', version: 1, reason: 'on call, looks fine' }, 'approval-card-1');
  const submit = activity(
    connectorUrl,
    USERS.alice,
    'personal',
    'request.submit',
    { clientRequestId: 'cr-bench-00000001', accountId: '111111111111', permissionSetName: 'ReadOnly', durationMinutes: '60', justification: 'Investigating INC-42 payment latency in production' },
    'form-message-1',
  );
  return [
    { verb: 'approval.approve', body: JSON.stringify(approve) },
    { verb: 'request.submit', body: JSON.stringify(submit) },
  ];
}

async function load(url: string, bodies: string[], connections: number, durationS: number, overallRate?: number): Promise<AutocannonResult> {
  return autocannon({
    url: `${url}/api/messages`,
    connections,
    duration: durationS,
    ...(overallRate ? { overallRate } : {}),
    pipelining: 1,
    timeout: 10,
    requests: bodies.map((body) => ({ method: 'POST', path: '/api/messages', headers: { 'content-type': 'application/json' }, body })),
  });
}

const level = (connections: number, r: AutocannonResult): LoadLevel => ({
  connections,
  p50Ms: r.latency.p50,
  p99Ms: r.latency.p99,
  throughputRps: round(r.requests.average, 0),
  errors: r.errors + r.timeouts,
  non2xx: r.non2xx,
});

/** One request of each kind, checked, before any load: a broken setup must not pass for fast. */
async function preflight(name: string, url: string, actions: Array<{ verb: string; body: string }>, problems: string[]): Promise<void> {
  for (const a of actions) {
    const res = await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: a.body });
    const text = await res.text();
    if (res.status !== 200) problems.push(`${name} ${a.verb}: HTTP ${res.status} ${text.slice(0, 200)}`);
    else if (name === 'jit' && !/approved|submitted|pending|waiting/i.test(text)) problems.push(`${name} ${a.verb}: unexpected card ${text.slice(0, 300)}`);
  }
}

export async function runBotLoad(options: { durationS: number; warmupS: number; ratioRuns: number; levels: number[]; ratioConnections: number; ratioRate: number; log: (line: string) => void }): Promise<BotLoadResult> {
  const problems: string[] = [];
  const stubs = await startChild<{ bridgeUrl: string; connectorUrl: string }>('bot/stubs.ts');
  const bots: Record<'jit' | 'echo', Child<{ url: string }>> = {
    jit: await startChild<{ url: string }>('bot/jit-bot.ts', [stubs.ready.bridgeUrl, stubs.ready.connectorUrl]),
    echo: await startChild<{ url: string }>('bot/echo-bot.ts'),
  };
  try {
    const actions = cardActions(stubs.ready.connectorUrl);
    const bodies = actions.map((a) => a.body);
    for (const name of ['jit', 'echo'] as const) {
      await preflight(name, bots[name].ready.url, actions, problems);
      // JIT compilation, connection pools and caches warm up before anything counts.
      await load(bots[name].ready.url, bodies, options.ratioConnections, options.warmupS);
    }
    const levels: BotLoadResult['levels'] = { jit: [], echo: [] };
    for (const connections of options.levels) {
      for (const name of ['echo', 'jit'] as const) {
        const r = await load(bots[name].ready.url, bodies, connections, options.durationS);
        levels[name].push(level(connections, r));
        options.log(`  ${name.padEnd(4)} ${String(connections).padStart(3)} connections: p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ${Math.round(r.requests.average)} req/s, errors ${r.errors + r.timeouts}, non-2xx ${r.non2xx}`);
      }
    }
    // The ratio: alternate echo and jit so that drift (thermal, other tenants) hits both alike.
    const ratioRuns: BotLoadResult['ratioRuns'] = [];
    for (let i = 0; i < options.ratioRuns; i++) {
      const echo = await load(bots.echo.ready.url, bodies, options.ratioConnections, options.durationS, options.ratioRate);
      const jit = await load(bots.jit.ready.url, bodies, options.ratioConnections, options.durationS, options.ratioRate);
      for (const [name, r] of [['echo', echo], ['jit', jit]] as const) if (r.errors + r.timeouts + r.non2xx > 0) problems.push(`${name} run ${i + 1}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`);
      ratioRuns.push({ jitP99Ms: jit.latency.p99, echoP99Ms: echo.latency.p99, ratio: round(jit.latency.p99 / echo.latency.p99, 3), jitP50Ms: jit.latency.p50, echoP50Ms: echo.latency.p50 });
      options.log(`  ratio run ${i + 1}: jit p99 ${jit.latency.p99} ms / echo p99 ${echo.latency.p99} ms = ${round(jit.latency.p99 / echo.latency.p99, 3)}`);
    }
    return {
      ratioRuns,
      ratio: median(ratioRuns.map((r) => r.ratio)),
      levels,
      peakRssMb: { jit: round(bots.jit.peakRssMb(), 1), echo: round(bots.echo.peakRssMb(), 1) },
      rssAfterLoadMb: { jit: round(bots.jit.rssMb(), 1), echo: round(bots.echo.rssMb(), 1) },
      problems,
    };
  } finally {
    await Promise.all([bots.jit.stop(), bots.echo.stop(), stubs.stop()]);
  }
}

if (require.main === module) {
  void runBotLoad({ durationS: Number(process.env.BENCH_DURATION_S ?? 5), warmupS: 2, ratioRuns: 3, levels: [1, 50, 200], ratioConnections: 200, ratioRate: 400, log: console.log }).then((r) => console.log(JSON.stringify(r, null, 2)));
}
