/**
 * `npm run bench`: every performance figure of the product, measured locally (no AWS, no Teams)
 * in one run, compared with its budget. Writes bench/results.json and docs/PERFORMANCE.md, prints
 * a table, and exits non-zero when a budget is missed. Budgets live here, never in timed tests.
 *
 * Order: CPU-bound parts first, one at a time (bundles, typeahead, transitions, cards, the bot
 * under load); then the Identity Center parts, which mostly wait on the stand-ins' delays, in
 * parallel child processes (three grant runs, the revoke run).
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ApproveToActiveResult } from './approve-to-active';
import { runBotLambda } from './bot-lambda';
import { runBotLoad } from './bot-load';
import type { BurstResult } from './burst';
import { runBundles } from './bundles';
import { runCardSizes } from './cards';
import { runReconcileReads } from './reconcile';
import type { GrantsRunResult } from './grants';
import { REPO_ROOT, runChild } from './lib/child';
import { median, round } from './lib/stats';
import { renderPerformanceDoc } from './report';
import type { RevokeRunResult } from './revoke';
import { runTransitions } from './transitions';
import { runTypeahead } from './typeahead';

export const BUDGETS = {
  bot_p99_ratio_vs_echo: { max: 1.3, unit: '×' },
  typeahead_10k_p99_ms: { max: 10, unit: 'ms' },
  grant_throughput_ratio_vs_quota_min: { max: 1.3, unit: '×' },
  transitions_per_approved_request: { max: 25, unit: '' },
  approve_to_active_p99_ratio_vs_idc: { max: 1.3, unit: '×' },
  bridge_bundle_kb: { max: 150, unit: 'KB' },
  revoke_after_fire_p99_s: { max: 10, unit: 's' },
  // The hosted bot (bench/bot-lambda.ts); why these numbers: bench/report.ts, EXPLAIN.
  bot_lambda_bundle_kb: { max: 4000, unit: 'KB' },
  bot_lambda_cold_ratio_vs_echo: { max: 3, unit: '×' },
  bot_lambda_cold_first_response_ms: { max: 3000, unit: 'ms' },
  bot_lambda_warm_p99_ratio_vs_echo: { max: 2, unit: '×' },
  bot_rss_ratio_vs_echo: { max: 1.3, unit: '×' },
  reconcile_reads_per_live_grant_100k: { max: 3, unit: '' },
  burst_100_ratio_vs_rate_min: { max: 1.2, unit: '×' },
} as const;
export type MetricName = keyof typeof BUDGETS;

const GRANTS = 500;
const GRANT_RUNS = 3;
const GRANT_CONCURRENCY = 16;
const GRANT_POLL_MS = 1000;
const REVOKES = 200;
const REVOKE_FIRES_PER_SECOND = 2;

const log = (line: string) => console.log(line);

async function main(): Promise<void> {
  const started = performance.now();
  const quick = process.argv.includes('--quick');
  log(`bench: ${cpus().length} CPUs, Node ${process.version}${quick ? ' (quick)' : ''}`);

  log('bundles: esbuild with the options of infra/constructs/jit-function.ts, cold init in fresh processes');
  const bundles = await runBundles({ coldRuns: 3 });
  for (const b of bundles.bundles) log(`  ${b.name.padEnd(12)} ${String(b.kb).padStart(8)} KB  cold init ${b.coldInitMs} ms  (${b.largest.map(([k, v]) => `${k} ${v}`).join(', ')})`);

  log('typeahead: one account search over 10,000 accounts');
  const typeahead = runTypeahead();
  log(`  p50 ${typeahead.p50Ms} ms, p99 ${typeahead.p99Ms} ms over ${typeahead.queries} queries; first query (builds the index) ${typeahead.firstQueryMs} ms`);

  log('transitions: approve path of the synthesized state machine');
  const transitions = await runTransitions();
  log(`  approve ${transitions.approveTypical} (${transitions.approveTypicalPath.join(' > ')}); slow Identity Center ${transitions.approveSlowIdentityCenter}; auto-approved ${transitions.autoApproved}`);

  log('cards: worst realistic input');
  const cards = runCardSizes();
  for (const c of cards.cards) log(`  ${c.card}: ${c.kb} KB`);

  log('reconcile: DynamoDB items one sweep reads, 100 live grants among 100,000 finished requests (counted at the client)');
  const reconcileReads = await runReconcileReads({ finished: 100_000, live: 100, finishedFindings: 2_000 });
  log(`  ${reconcileReads.itemsRead} items (${reconcileReads.readUnits} read units) for ${reconcileReads.live} live grants; ${reconcileReads.actions} actions`);

  log('bot: autocannon against the real bot and a bare echo bot');
  const bot = await runBotLoad({ durationS: quick ? 3 : 5, warmupS: 2, ratioRuns: 3, levels: [1, 50, 200], ratioConnections: 200, ratioRate: 400, log });
  log(`  peak RSS: bot ${bot.peakRssMb.jit} MB, echo ${bot.peakRssMb.echo} MB`);

  log('bot on Lambda: the built bundle through the Lambda entry and the built server, against a bare echo bot on the same entry');
  const botLambda = await runBotLambda({ coldRuns: quick ? 3 : 5, warmInvokes: 1000, rssDurationS: quick ? 3 : 5, rssConnections: 200, rssRate: 400, log });

  log(`Identity Center: ${GRANT_RUNS} x ${GRANTS} grants and ${REVOKES} expiries, in parallel child processes (about 2 minutes)`);
  const grantCount = quick ? 100 : GRANTS;
  const revokeCount = quick ? 50 : REVOKES;
  const [revoke, approveToActive, ...grantRuns] = await Promise.all([
    runChild<RevokeRunResult>('revoke.ts', [String(revokeCount), String(REVOKE_FIRES_PER_SECOND)]),
    runChild<ApproveToActiveResult>('approve-to-active.ts', quick ? ['20'] : []),
    ...Array.from({ length: GRANT_RUNS }, () => runChild<GrantsRunResult>('grants.ts', [String(grantCount), String(GRANT_CONCURRENCY), String(GRANT_POLL_MS)])),
  ]);
  log('burst: 100 requesters submit within 10 s; the approval cards against Teams\' per-conversation windows (alone: it is timed against the rate limits)');
  const burst = await runChild<BurstResult>('burst.ts', ['100', '10']);
  log(`  burst: ${burst.seconds} s (minimum ${burst.minimumSeconds} s) = ${burst.ratio}; lost ${burst.lost}, duplicates ${burst.duplicateCards}, 429s ${burst.throttled}, channel updates ${burst.channelUpdates}`);
  for (const g of grantRuns) log(`  grants: ${g.seconds} s for ${g.grants} (minimum ${g.minimumSeconds} s by ${g.minimumBy}) = ${g.ratio}; failures ${g.failures}; calls ${JSON.stringify(g.calls)}`);
  log(`  approve to active: p99 ${approveToActive.approveToActiveP99Ms} ms vs Identity Center p99 ${approveToActive.identityCenterP99Ms} ms = ${approveToActive.ratio}; transitions ${JSON.stringify(approveToActive.transitions)}; failures ${approveToActive.failures}`);
  log(`  revoke: p50 ${revoke.confirmedP50S} s, p99 ${revoke.confirmedP99S} s (stand-in deleted: p99 ${revoke.deletedP99S} s); not revoked ${revoke.notRevoked}; left ${revoke.assignmentsLeft}`);

  const grantRatio = median(grantRuns.map((g) => g.ratio));
  const grantFailures = grantRuns.reduce((s, g) => s + g.failures, 0);
  const bridge = bundles.bundles.find((b) => b.name === 'bridge')!;
  const metrics: Record<MetricName, number> = {
    bot_p99_ratio_vs_echo: bot.ratio,
    typeahead_10k_p99_ms: typeahead.p99Ms,
    // A failed grant is a missed budget whatever the time.
    grant_throughput_ratio_vs_quota_min: grantFailures > 0 ? Number.POSITIVE_INFINITY : grantRatio,
    transitions_per_approved_request: transitions.approveTypical,
    approve_to_active_p99_ratio_vs_idc: approveToActive.failures > 0 || !(approveToActive.ratio > 0) ? Number.POSITIVE_INFINITY : approveToActive.ratio,
    bridge_bundle_kb: bridge.kb,
    revoke_after_fire_p99_s: revoke.notRevoked > 0 || revoke.assignmentsLeft > 0 ? Number.POSITIVE_INFINITY : revoke.confirmedP99S,
    // A wrong answer from either bot is a missed budget whatever the time.
    bot_lambda_bundle_kb: botLambda.botLambdaBundleKb,
    bot_lambda_cold_ratio_vs_echo: botLambda.problems.length > 0 ? Number.POSITIVE_INFINITY : botLambda.cold.ratio,
    bot_lambda_cold_first_response_ms: botLambda.problems.length > 0 ? Number.POSITIVE_INFINITY : botLambda.cold.jitMedianMs,
    bot_lambda_warm_p99_ratio_vs_echo: botLambda.problems.length > 0 ? Number.POSITIVE_INFINITY : botLambda.warm.ratio,
    bot_rss_ratio_vs_echo: botLambda.problems.length > 0 ? Number.POSITIVE_INFINITY : botLambda.rss.ratio,
    // An action in a healthy world means the scenario is wrong, not fast.
    reconcile_reads_per_live_grant_100k: reconcileReads.actions > 0 || reconcileReads.drift > 0 ? Number.POSITIVE_INFINITY : reconcileReads.readsPerLiveGrant,
    // Infinity (something lost) crosses the child's JSON channel as null: anything but a number fails.
    burst_100_ratio_vs_rate_min: typeof burst.ratio === 'number' && Number.isFinite(burst.ratio) ? burst.ratio : Number.POSITIVE_INFINITY,
  };
  const verdicts = (Object.keys(BUDGETS) as MetricName[]).map((name) => ({ name, value: metrics[name], budget: BUDGETS[name].max, pass: metrics[name] <= BUDGETS[name].max }));
  const results = {
    metrics,
    budgets: Object.fromEntries(verdicts.map((v) => [v.name, v.budget])),
    pass: Object.fromEntries(verdicts.map((v) => [v.name, v.pass])),
    ranAt: new Date().toISOString(),
    durationS: round((performance.now() - started) / 1000, 1),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: round(totalmem() / 2 ** 30, 1), node: process.version, quick },
    bot,
    botLambda,
    typeahead,
    grants: { runs: grantRuns, medianRatio: grantRatio, failures: grantFailures, concurrency: GRANT_CONCURRENCY, pollMs: GRANT_POLL_MS },
    transitions,
    approveToActive,
    bundles,
    revoke,
    cards,
    reconcileReads,
    burst,
  };
  writeFileSync(join(REPO_ROOT, 'bench', 'results.json'), `${JSON.stringify(results, (_k, v: unknown) => (v === Number.POSITIVE_INFINITY ? 'Infinity' : v), 2)}\n`);
  writeFileSync(join(REPO_ROOT, 'docs', 'PERFORMANCE.md'), renderPerformanceDoc(results));

  log('');
  log(`${'metric'.padEnd(38)} ${'value'.padStart(10)} ${'budget'.padStart(8)}  result`);
  for (const v of verdicts) log(`${v.name.padEnd(38)} ${String(v.value).padStart(10)} ${`<= ${v.budget}`.padStart(8)}  ${v.pass ? 'pass' : 'FAIL'}`);
  log(`(${results.durationS} s; bench/results.json and docs/PERFORMANCE.md written)`);
  if (verdicts.some((v) => !v.pass)) process.exitCode = 1;
}

export type BenchResults = {
  metrics: Record<MetricName, number>;
  budgets: Record<string, number>;
  pass: Record<string, boolean>;
  ranAt: string;
  durationS: number;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; quick: boolean };
  bot: Awaited<ReturnType<typeof runBotLoad>>;
  botLambda: Awaited<ReturnType<typeof runBotLambda>>;
  typeahead: ReturnType<typeof runTypeahead>;
  grants: { runs: GrantsRunResult[]; medianRatio: number; failures: number; concurrency: number; pollMs: number };
  transitions: Awaited<ReturnType<typeof runTransitions>>;
  approveToActive: ApproveToActiveResult;
  bundles: Awaited<ReturnType<typeof runBundles>>;
  revoke: RevokeRunResult;
  cards: ReturnType<typeof runCardSizes>;
  reconcileReads: Awaited<ReturnType<typeof runReconcileReads>>;
  burst: BurstResult;
};

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
