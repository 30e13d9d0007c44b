/** Renders docs/PERFORMANCE.md from a bench run (generated: edit this file, not the document). */
import type { BenchResults, MetricName } from './run';

const fmt = (v: number) => (Number.isFinite(v) ? String(v) : 'failed');

const EXPLAIN: Record<MetricName, (r: BenchResults) => string> = {
  bot_p99_ratio_vs_echo: (r) =>
    `p99 latency of card actions (approval.approve in the on-call channel and request.submit in a 1:1 chat, alternating) against the real express bot in test mode (authentication off, memory store), with the bridge and the Bot Framework connector stubbed by a fast local process, divided by the p99 of a bare botbuilder echo bot (CloudAdapter + ActivityHandler on the same express setup, echoing each action through the connector) under the same load in the same run. Each bot, the stubs and autocannon are separate processes. The load is 200 connections with a fixed offered rate of 400 requests/s sent in bursts, i.e. 200 clicks arriving at once; median of ${r.bot.ratioRuns.length} alternating runs (${r.bot.ratioRuns.map((x) => `${x.jitP99Ms}/${x.echoP99Ms} ms`).join(', ')}). At saturation (closed loop) the p99 of both bots, and of a bare node:http server, is dominated by the load generator's own queueing, so it is reported below but not used for the ratio.`,
  typeahead_10k_p99_ms: (r) =>
    `One keystroke of the account search: eligibilitySearchIndex(policy, groups).search(q) over ${r.typeahead.accounts.toLocaleString('en-US')} accounts, ${r.typeahead.queries} realistic queries (growing name prefixes, words, ids, misses). The index is built once per policy and group set (${r.typeahead.firstQueryMs} ms for the first query) and reused; p50 ${r.typeahead.p50Ms} ms.`,
  grant_throughput_ratio_vs_quota_min: (r) => {
    const g = r.grants.runs[0]!;
    return `${g.grants} grants through the production sso-admin adapter (its limiter and retries) against the Identity Center stand-in (${g.quotas.tps} TPS, ${g.quotas.maxOutstandingWrites} outstanding writes, completion after 1-3 s, mean ${g.quotas.meanDelayMs / 1000} s): create, then a status poll every ${r.grants.pollMs / 1000} s until done, by ${r.grants.concurrency} concurrent workers. The theoretical minimum is max(2 calls × ${g.grants} / ${g.quotas.tps} TPS, ${g.grants} × ${g.quotas.meanDelayMs / 1000} s / ${g.quotas.maxOutstandingWrites}) = ${g.minimumSeconds} s (bound by ${g.minimumBy === 'outstanding' ? 'outstanding writes' : 'TPS'}). Median of ${r.grants.runs.length} runs (${r.grants.runs.map((x) => `${x.seconds} s`).join(', ')}); ${r.grants.failures} failed grants.`;
  },
  transitions_per_approved_request: (r) =>
    `State transitions (states entered plus retries; Step Functions Standard bills each) of an approved request on the state machine synthesized from infra/, run by aws-local-stepfunctions with the real handlers: ${r.transitions.approveTypicalPath.join(' → ')}, when Identity Center is done at the first status check (2 s after the create); each further check adds 3 (WaitForGrant, CheckGrant, GrantStatus). With a slower Identity Center (3 checks) it is ${r.transitions.approveSlowIdentityCenter}, and an auto-approved request takes ${r.transitions.autoApproved}. In the sandbox run of \`approve_to_active_p99_ratio_vs_idc\` (Identity Center done in 1-3 s) the executions took ${r.approveToActive.transitions.min} to ${r.approveToActive.transitions.max} (mean ${r.approveToActive.transitions.mean}). The issue caps a typical approve at 15 (test/workflow/grant-latency.test.ts holds it for Identity Center times up to 3 s).`,
  approve_to_active_p99_ratio_vs_idc: (r) => {
    const a = r.approveToActive;
    return `The latency people feel, on the whole sandbox (sandbox/orchestrator: the real bot, bridge, the synthesized state machine run by the Step Functions stand-in with the definition's own waits, the handlers and AWS adapters against the stand-ins) with a recording Teams connector and the Identity Center stand-in completing assignments in ${a.identityCenterDelayMs.min / 1000}-${a.identityCenterDelayMs.max / 1000} s. ${a.requests} requesters each submit a PowerUser request; an approver clicks Approve through the bot (an \`adaptiveCard/action\` invoke in the channel). Measured from sending that click to the connector receiving the requester's ACTIVE notice: p50 ${a.approveToActiveP50Ms} ms, p99 ${a.approveToActiveP99Ms} ms; divided by the p99 of the stand-in's own completion time of the same ${a.requests} assignments (its operations' completesAt - createdAt, p50 ${a.identityCenterP50Ms} ms, p99 ${a.identityCenterP99Ms} ms). Click to CreateAccountAssignment took p50 ${a.clickToCreateP50Ms} ms; Identity Center done to the notice p50 ${a.completedToNoticeP50Ms} ms, p99 ${a.completedToNoticeP99Ms} ms (the wait for the next status check, CompleteGrant, the notice flush, the bot updating the channel card and then the requester's). The slowest request: ${a.slowest ? `${Math.round(a.slowest.clickToCreateMs)} ms to the create, ${Math.round(a.slowest.identityCenterMs)} ms in Identity Center, ${Math.round(a.slowest.completedToNoticeMs)} ms from done to notice` : 'not recorded'}. ${a.statusCallsPerGrant} status calls per grant (${Object.entries(a.identityCenterCalls).map(([k, v]) => `${k} ${v}`).join(', ')}; ${a.throttledBySandbox} throttled); ${a.teamsRefusals} Teams refusals; ${a.failures} requests without their notice. One request starts every ${a.spacingMs / 1000} s: each writes four times to the on-call channel, whose threads share the 60 writes per 30 s the bot paces to, and the requester's notice follows the channel's update, so faster would measure the Teams pacing rather than the grant; the part runs beside the grant runs. With ${a.requests} requests the p99 is the slowest one, so the figure moves with the machine's load: on this 2-core machine shared with six other engineers' builds, four runs measured 1.19 (load average 10), 1.48 (9), 1.67 (18) and 1.69 (15): the sandbox's steps slow down with the CPU (click to create p50 89 ms in the first, 351 ms in the last), Identity Center's timers do not. The checks themselves catch every completion within about 1.1 s (the second check, 3 s after the create, is the last one a 1-3 s Identity Center needs).`;
  },
  bridge_bundle_kb: (r) =>
    `Minified bundle of lambdas/bridge/handler.ts built by esbuild with the options NodejsFunction gets from infra/constructs/jit-function.ts (minify, CJS, ${r.bundles.externals.length ? `external ${r.bundles.externals.join(', ')}` : 'everything bundled, AWS SDK included'}, the example policy inlined). Every function's bundle and its cold init are in the table below.`,
  revoke_after_fire_p99_s: (r) =>
    `${r.revoke.grants} active grants whose expiry schedules fire as a Poisson stream (${r.revoke.firesPerSecond}/s, 40% of what 10 outstanding deletes of 2 s allow) in the Scheduler stand-in; each runs the real revoke handler over the production sso-admin and scheduler adapters pointed at the stand-ins. Measured from the schedule firing to the handler having confirmed the delete (its status poll saw SUCCEEDED and the request is EXPIRED): p50 ${r.revoke.confirmedP50S} s, max ${r.revoke.confirmedMaxS} s; the stand-in itself had completed the deletes by p99 ${r.revoke.deletedP99S} s. ${r.revoke.notRevoked} not revoked, ${r.revoke.assignmentsLeft} assignments left.`,
  bot_lambda_bundle_kb: (r) =>
    `Minified bundle of bot/lambda.ts (the stack's bot function) as \`npm run build\` and NodejsFunction build it (scripts/build.ts: CJS, minify, AWS SDK external); the echo bot on the same entry shape is ${r.botLambda.echoLambdaBundleKb} KB. Most of it is botbuilder, botframework-connector and msal-node. The budget (4,000 KB) is today's size plus about 13%: it catches the AWS SDK being bundled by mistake (the container bundle, which carries it, is about 1.4 MB larger) and every new heavy dependency, each of which lengthens the cold start.`,
  bot_lambda_cold_ratio_vs_echo: (r) =>
    `A cold start as far as our code goes: a fresh \`node --enable-source-maps\` process requires the built Lambda bundle and answers its first invoke (an Action.Execute approval through the Lambda entry, reaching the stubbed bridge and connector), divided by the same for a bare botbuilder echo bot on the same entry shape; median of ${r.botLambda.cold.jit.length} alternating runs (bot ${r.botLambda.cold.jit.map((c) => `${c.requireMs}+${c.firstInvokeMs}`).join(', ')} ms; echo ${r.botLambda.cold.echo.map((c) => `${c.requireMs}+${c.firstInvokeMs}`).join(', ')} ms as require+first invoke). Lambda's own environment start is the same for both and is not measured. Budget 3: the bot loads about 1.6× the code of the echo bot (its handlers, cards, msal, zod schemas) and its first invoke also builds the application (config, stores, msal client); beyond 3× the cold start is growing faster than the code it needs.`,
  bot_lambda_cold_first_response_ms: (r) =>
    `The same cold start in absolute terms: require of the bot's Lambda bundle plus its first invoke, median (bot ${r.botLambda.cold.jitMedianMs} ms vs echo ${r.botLambda.cold.echoMedianMs} ms). Teams gives an invoke about 15 s and retries slow ones; 3 s here leaves the rest for Lambda's environment start, the Secrets Manager read and the first Entra token in AWS, where a 1,024 MB function has less CPU than this machine. Tenants who want no cold start at all set \`botProvisionedConcurrency\` (infra/README.md).`,
  bot_lambda_warm_p99_ratio_vs_echo: (r) =>
    `p99 of ${r.botLambda.warm.invokes} warm invokes answered one after the other by the same process (one Lambda environment handles one event at a time) through the Lambda entry: bot p50/p99 ${r.botLambda.warm.jitP50Ms}/${r.botLambda.warm.jitP99Ms} ms vs echo ${r.botLambda.warm.echoP50Ms}/${r.botLambda.warm.echoP99Ms} ms. Budget 2, not the 1.5 of the express figure: each bot invoke calls the bridge and then waits for its card refreshes before answering (Lambda freezes the process as soon as it has answered, so nothing may run after the response), i.e. two to three loopback calls against the echo bot's one; at 1,000 invokes the ratio measured 1.5 here, and a shared 2-core machine moves p99s by a third between runs.`,
  bot_built_peak_rss_ratio_vs_echo: (r) =>
    `Peak RSS (VmHWM) of the production build on plain node (the express server bundle, no tsx) under ${r.botLambda.rss.connections} connections at ${r.botLambda.rss.rate} requests/s for ${r.botLambda.rss.durationS} s, against the echo bot's bundle under the same load: ${r.botLambda.rss.jitPeakMb} MB vs ${r.botLambda.rss.echoPeakMb} MB (under tsx the bot peaked at ${r.bot.peakRssMb.jit} MB against ${r.bot.peakRssMb.echo} MB, see below). Budget 1.5: the bot holds card templates, the eligibility cache and per-conversation pacing that the echo bot does not; runs here measured 1.1 to 1.4.`,
  reconcile_reads_per_live_grant_100k: (r) => {
    const x = r.reconcileReads;
    return `DynamoDB items read by one reconcile sweep (lambdas/reconcile/handler.ts: the sweep and the expiring-soon notices) divided by the ${x.live} live grants, with ${x.finished.toLocaleString('en-US')} finished requests and ${x.finishedFindings.toLocaleString('en-US')} finished findings in the tables (${Object.entries(x.tableItems).map(([t, n]) => `${t} ${n.toLocaleString('en-US')} items`).join(', ')}). The production adapters run against the fake DynamoDB with the stack's tables and indexes, which counts reads at the client as DynamoDB meters them (what a Scan or Query reads before any filter): ${x.itemsRead} items, ${x.readUnits} read units (${Object.entries(x.byTable).map(([t, b]) => `${t} ${b.items}`).join(', ')}). Deterministic: no timing.`;
  },
};

const CHANGES = [
  '**Grant status checks follow a backoff, not a fixed 5 s** (issue 16; contract/workflow.ts GRANT_POLL_WAITS_SECONDS, infra/constructs/approval-workflow.ts). The first status check came 5 s after the create, so access was never active sooner even when Identity Center was done in 1 s: in the sandbox run of `approve_to_active_p99_ratio_vs_idc` (40 requests, Identity Center done in 1-3 s) the approve-to-ACTIVE-notice p99 was 6,025 ms against Identity Center\'s 2,985 ms, a ratio of 2.02, and 12 transitions for every request. Now the workflow function names the next wait with each result and WaitForGrant reads it (SecondsPath): 2 s, then 1, 1, 2, 3, then every 5 s up to the old 5-minute budget. The count of checks travels in the result, so the CountPoll Pass state is gone: 3 transitions per check instead of 4. An approve is 11 transitions when Identity Center is done by the first check and 14 by the second (was 12; 17 instead of 20 for three checks). See "Approve to active" below for why the waits stay in the state machine.',
  '**Card templates are prepared once** (cards/render.ts). `new Template(json)` parses every `${...}` expression with an ANTLR parser; it was done on every render and was most of the bot\'s CPU per card action. The prepared template is now cached per template (expansion is synchronous, so sharing is safe): 2.3× the bot\'s throughput at 50 connections, p50 254 → 96 ms.',
  '**zod is imported as a namespace** (`import * as z from \'zod\'` in core/, lambdas/, cards/, bot/). The named `{ z }` import is a namespace object esbuild cannot tree-shake, so every bundle carried all of zod 4 with its 40 locales: 448 KB → 93 KB per function.',
  '**The AWS SDK is left to the Lambda runtime** (infra/constructs/jit-function.ts: `externalModules: [\'@aws-sdk/*\']`). Every function bundled every client the shared wiring imports (Security Hub alone 254 KB): about 1.3 MB each.',
  '**The bridge bundles what it uses** (issue 16): 253.3 KB → 148.6 KB. The schemas the bridge reaches (core/api.ts, contract/, core/policy/validate.ts, lambdas/config.ts) are zod/mini, one definition shared with the bot: the same checks, issues and messages (English configured once, core/zod-locale.ts), compared with the classic definitions while changing them (39 schemas, 600 generated inputs each: identical results, issues and messages), and test/unit/bridge-bundle.test.ts and lambdas-bridge.test.ts pin the messages; zod 94 → 32 KB, since classic zod carries every method of every schema and its JSON-schema converter. The JSON log lines and EMF metric lines are written by lambdas/observability (json-log.ts, emf.ts) in the shape Powertools Logger and Metrics wrote them, which were 33 KB with their commons and invoke store. The bridge composes from lambdas/backend.ts without the bot\'s notifier, the audit table sink and the SessionDuration check (its notices go through the notify function), 11 KB. Every other function lost the Powertools share too.',
  '**Reconcile reads live items only** (lambdas/adapters/dynamo-live-index.ts). The sweep scanned the whole ledger table five times (the ledger entries twice, the tracked findings twice, the session cuts once), and that table keeps every released entry and every resolved finding: 23,310 items (1,581.5 read units) per sweep with 100,000 finished requests, 233 per live grant. Every ledger-table write now sets `liveKind` only while the item is live (a held grant, an unresolved or unimported finding, a queued or applied session cut), and the sweep queries the sparse `byLive` index instead; reconcile lists the active requests once (shared with the expiring-soon notices) and reads a request on its own only when it is not among them: 204 items, 27 read units, 2.04 per live grant, the same with or without the history. The requests table was already queried by state and through the sparse outbox indexes.',
  '**No YAML parser in the functions**: the policy file is read at synth (infra/policy-file.ts) and core validates the plain object, so nothing in a function imports `yaml`. The functions receive the policy as JSON inlined at synth; the YAML parser was 112 KB of every bundle. Together: bridge 1,710 KB → 215 KB (the same size `cdk synth` produces), cold init about 87 → 30 ms.',
];

export function renderPerformanceDoc(r: BenchResults): string {
  const rows = (Object.keys(r.metrics) as MetricName[]).map((name) => `| \`${name}\` | ${fmt(r.metrics[name])} | ≤ ${r.budgets[name]} | ${r.pass[name] ? 'pass' : '**FAIL**'} |`);
  const level = (name: 'jit' | 'echo') => r.bot.levels[name].map((l) => `| ${name === 'jit' ? 'JIT bot' : 'echo bot'} | ${l.connections} | ${l.p50Ms} | ${l.p99Ms} | ${l.throughputRps} | ${l.errors + l.non2xx} |`);
  return `# Performance

Generated by \`npm run bench\` (bench/run.ts) on ${r.ranAt.slice(0, 10)}: ${r.machine.cpus} CPUs (${r.machine.cpuModel}), ${r.machine.memoryGb} GB, Node ${r.machine.node}; the run took ${r.durationS} s. Everything runs locally: no AWS account, no Teams tenant. The raw figures are in bench/results.json. The test suite (\`npm test\`) has no timing assertions; budgets live only here, and the bench exits non-zero when one is missed.

| metric | value | budget | result |
|---|---|---|---|
${rows.join('\n')}

## What each figure is

${(Object.keys(EXPLAIN) as MetricName[]).map((name) => `- **\`${name}\`**: ${EXPLAIN[name](r)}`).join('\n')}

## Bot latency and throughput (closed loop)

Each connection sends its next card action as soon as the previous one is answered, for ${r.machine.quick ? 3 : 5} s after a warm-up; the same machine runs the load generator and the stubs, so these are lower bounds on what the bot can do. Peak RSS under load: JIT bot ${r.bot.peakRssMb.jit} MB, echo bot ${r.bot.peakRssMb.echo} MB (VmHWM of the child process, which includes the tsx loader).

| bot | connections | p50 ms | p99 ms | requests/s | errors |
|---|---|---|---|---|---|
${[...level('jit'), ...level('echo')].join('\n')}

Ratio runs (200 connections, 400 requests/s offered): ${r.bot.ratioRuns.map((x) => `JIT p50/p99 ${x.jitP50Ms}/${x.jitP99Ms} ms vs echo ${x.echoP50Ms}/${x.echoP99Ms} ms (${x.ratio})`).join('; ')}.${r.bot.problems.length ? `\n\nProblems seen: ${r.bot.problems.join('; ')}` : ''}

## Lambda bundles and cold init

Cold init is \`require()\` of the bundle in a fresh \`node --enable-source-maps\` process (median of 3); the handlers create their AWS clients on the first invocation, which is not included.

| function | bundle KB | cold init ms | largest parts (KB) |
|---|---|---|---|
${r.bundles.bundles.map((b) => `| ${b.name} | ${b.kb} | ${b.coldInitMs} | ${b.largest.map(([k, v]) => `${k} ${v}`).join(', ')} |`).join('\n')}

## Rendered card sizes at the worst realistic input

Every free-text field at its API maximum with multi-byte characters, ten votes with reasons, sixty approvers to refresh for, full lists. Teams' limit is ${r.cards.limitBytes.toLocaleString('en-US')} bytes.

| card | bytes | KB |
|---|---|---|
${r.cards.cards.map((c) => `| ${c.card} | ${c.bytes} | ${c.kb} |`).join('\n')}

## Identity Center runs

| run | seconds | minimum s | ratio | failures | calls | refused: TPS / outstanding |
|---|---|---|---|---|---|---|
${r.grants.runs.map((g, i) => `| grants ${i + 1} | ${g.seconds} | ${g.minimumSeconds} | ${g.ratio} | ${g.failures} | ${Object.entries(g.calls).map(([k, v]) => `${k} ${v}`).join(', ')} | ${g.throttledBySandbox} / ${g.outstandingRejected} |`).join('\n')}
| revoke | ${r.revoke.seconds} | | | ${r.revoke.notRevoked} | ${Object.entries(r.revoke.calls).map(([k, v]) => `${k} ${v}`).join(', ')} | |

The adapter's limiter holds a write slot only while a create call is in flight (Identity Center's outstanding count lasts until the operation completes, which the client cannot see), so with more workers than the 10 slots some creates are refused with "too many requests processing" and retried with jittered backoff; those retries are what keeps the slots full and the ratio close to 1.

## Approve to active: where the grant waits for Identity Center

Identity Center's assignment writes are asynchronous: CreateAccountAssignment answers IN_PROGRESS and only DescribeAccountAssignmentCreationStatus tells when it is done. Status calls count against the collective 20 TPS of every Identity Center API ("IAM Identity Center quotas", throttle limits; the stand-in's token bucket counts them too), and at most 10 assignment writes are outstanding. A grant that checks at most once a second therefore uses at most 10 status calls a second across all grants, half the quota, leaving the rest for the creates (at most 5 a second at 2 s each), revocations and reconcile. Checking every 0.5 s would take the whole quota. The grant throughput runs above poll every second from the first one, at least as often as the product's schedule, so their ratio also bounds the product's; in the approve-to-active run the grants made ${r.approveToActive.statusCallsPerGrant} status calls each. Both designs below check once a second at most, and both catch a 1-3 s completion at the same moment (checks 2, 3 s after the create against 1, 2, 3 s: Identity Center is never done before 1 s).

| design | transitions, approve (done by check 1 / 2) | Lambda time per grant | what it costs | chosen |
|---|---|---|---|---|
| fixed 5 s Wait, then CheckGrant (before) | 12 / 16 | about 0.1 s per check | access never ACTIVE before 5 s | no |
| backoff Wait in the state machine (2, 1, 1, 2, 3, then 5 s; SecondsPath) | 11 / 14 | about 0.1 s per check | 3 transitions per check ($0.025 per 1,000) | **yes** |
| bounded poll inside StartGrant (1 s sleeps up to about 10 s, then the Wait loop) | 8 / 8 | about 2 s more per grant (Identity Center's own time), 512 MB: about 1 GB-s, $0.0000167 | holds a workflow function instance for the whole wait | no |

Polling inside the function would save 3 to 6 transitions (about $0.0001 per approved request) for about $0.00002 of Lambda time, but the workflow function has a reserved concurrency of 5 (RUNBOOK: the 10 Identity Center writers of workflow + revoke + reconcile). An instance that sleeps through Identity Center's 1-3 s holds one of the 5 slots for it, so about 5 / 2.3 s = 2 grant starts a second fit before Lambda throttles (Validate, CompleteGrant and FailGrant share the slots); throttled invokes are retried by the state machine 4 times and then compensated. A Wait state costs nothing while it waits and holds no concurrency, so incident bursts keep the grant rate Identity Center allows (about 5 a second). Both keep the approve within the issue's 15 transitions; the latency is the same; the state machine keeps the burst headroom, so the waits stay there.

## What was changed to meet the budgets

${CHANGES.map((c) => `- ${c}`).join('\n')}
`;
}
