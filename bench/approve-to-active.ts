/**
 * Child process: the latency people feel, "Approve" to "your access is active", on the whole
 * sandbox (sandbox/orchestrator startSandbox on ports 0: the real bot, bridge, synthesized state
 * machine run by the Step Functions stand-in with the definition's own waits, handlers, adapters
 * over the SDK) with a recording Teams connector in the playground's place and the Identity
 * Center stand-in completing assignments in 1-3 s.
 *
 * N requesters (bench people added to the demo directory) each say hello to the bot (so that it
 * can reach them), submit a PowerUser request through the bridge, and an approver clicks Approve
 * on the approval card through the bot (an `adaptiveCard/action` invoke in the channel, as Teams
 * sends it). The clock starts when that click is sent and stops when the connector receives the
 * requester's ACTIVE notice. Side by side, in the same run, the Identity Center stand-in's own
 * completion time of the same assignments (its operations' completesAt - createdAt): the ratio of
 * the two p99s is the metric.
 *
 * Requests are started one every `spacingMs`, so that a few are in flight at any time, well below
 * Identity Center's 20 TPS and 10 outstanding writes, and below the Teams rate the bot paces the
 * on-call channel to: each request writes there four times (the approval card, its first update,
 * its "approved" and its "active" updates), every thread of the channel shares the channel's 60
 * writes per 30 s (bot/delivery.ts paceKey), and the requester's ACTIVE notice is sent after the
 * channel's update. At 2.4 s apart the channel gets 50 writes per 30 s, so its queue stays empty
 * and the figure measures the grant, not the Teams pacing (that is the burst bench's subject).
 * That makes the part about 100 s long; it mostly waits, so bench/run.ts runs it beside the
 * Identity Center grant runs, which take as long.
 *
 * Usage: tsx bench/approve-to-active.ts [requests] [spacingMs]
 */
import { ACTOR_HEADERS } from '../contract/bridge';
import type { StoredRequest } from '../core/model';
import { startSandbox } from '../sandbox/orchestrator';
import { type DemoPeople, type DemoPerson, loadDemoPeople } from '../sandbox/seed';
import { ConnectorRecorder } from '../test/support/connector-recorder';
import { type SandboxActivityOptions, sandboxActivity } from '../test/support/sandbox-activity';
import { reply } from './lib/child';
import { percentile, round } from './lib/stats';

type Json = Record<string, unknown>;
const ACCOUNT = '111111111111';
export const IDC_DELAY_MS = { min: 1000, max: 3000 };
export const APPROVE_TO_ACTIVE_REQUESTS = 40;
export const APPROVE_TO_ACTIVE_SPACING_MS = 2400;

export interface ApproveToActiveResult {
  requests: number;
  spacingMs: number;
  identityCenterDelayMs: { min: number; max: number };
  /** Click sent -> the requester's ACTIVE notice at the connector. */
  approveToActiveP50Ms: number;
  approveToActiveP99Ms: number;
  approveToActiveMaxMs: number;
  /** The Identity Center stand-in's own completion time of the same assignments. */
  identityCenterP50Ms: number;
  identityCenterP99Ms: number;
  ratio: number;
  /** Click -> CreateAccountAssignment (bot, bridge, SendTaskSuccess, StartGrant). */
  clickToCreateP50Ms: number;
  /** Identity Center done -> the ACTIVE notice (status wait, CompleteGrant, notice flush, bot). */
  completedToNoticeP50Ms: number;
  completedToNoticeP99Ms: number;
  /** Where the slowest request's time went: click to create, Identity Center's own time, done to notice. */
  slowest: { clickToCreateMs: number; identityCenterMs: number; completedToNoticeMs: number };
  /** State transitions per execution, as the Step Functions stand-in counted them. */
  transitions: { min: number; max: number; mean: number };
  statusCallsPerGrant: number;
  identityCenterCalls: Record<string, number>;
  throttledBySandbox: number;
  teamsRefusals: number;
  failures: number;
}

/** The demo directory plus `count` engineers who may request PowerUser (keys of letters only, as the schema wants). */
export function benchPeople(count: number): DemoPeople {
  const people = loadDemoPeople();
  const letters = (i: number) => String.fromCharCode(97 + Math.floor(i / 26)) + String.fromCharCode(97 + (i % 26));
  const extra: DemoPerson[] = Array.from({ length: count }, (_, i) => {
    const n = String(100 + i).padStart(12, '0');
    return {
      key: `bench${letters(i)}`,
      role: 'requester',
      playground: 'user',
      givenName: 'Bench',
      surname: `Requester ${i + 1}`,
      upn: `bench.${i + 1}@example.com`,
      aadObjectId: `00000000-0000-4000-8000-${n}`,
      teamsUserId: `29:bench-${i + 1}`,
      identityStoreUserId: `9067000001-00000000-0000-4000-8000-${n}`,
      groups: ['engineers'],
    } as DemoPerson;
  });
  return { ...people, people: [...people.people, ...extra] };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 10): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The data of the first Action.Execute with `verb` anywhere in a card. */
function actionData(card: unknown, verb: string): Json | undefined {
  let found: Json | undefined;
  const walk = (node: unknown) => {
    if (found || !node || typeof node !== 'object') return;
    const n = node as Json;
    if (n.type === 'Action.Execute' && n.verb === verb) found = (n.data ?? {}) as Json;
    for (const v of Object.values(n)) walk(v);
  };
  walk(card);
  return found;
}

export async function runApproveToActive(count: number, spacingMs: number): Promise<ApproveToActiveResult> {
  const people = benchPeople(count);
  const connector = new ConnectorRecorder();
  await connector.start();
  for (const p of people.people) connector.addMember({ id: p.teamsUserId, aadObjectId: p.aadObjectId, name: `${p.givenName} ${p.surname}`, userPrincipalName: p.upn, email: p.upn, tenantId: people.tenantId });
  const sandbox = await startSandbox({
    dataDir: false,
    ports: { bot: 0, bridge: 0, aws: 0 },
    playground: false,
    teamsServiceUrl: connector.url,
    assignmentDelayMs: IDC_DELAY_MS,
    reconcileIntervalMs: 0,
    logLevel: 'ERROR',
    log: () => undefined,
    people,
  });
  let seq = 0;
  const activity = (user: DemoPerson, o: SandboxActivityOptions): Json => sandboxActivity({ id: `bench-activity-${++seq}`, serviceUrl: connector.url, tenantId: people.tenantId }, user, o);
  const post = async (act: Json): Promise<Json | undefined> => {
    const res = await fetch(sandbox.urls.messages, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(act) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`the bot answered ${res.status} to ${String(act.type)} ${String(act.name ?? act.text)}: ${text.slice(0, 300)}`);
    return text ? (JSON.parse(text) as Json) : undefined;
  };
  const click = async (user: DemoPerson, verb: string, data: Json) => {
    const body = await post(activity(user, { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb, data } }, where: 'channel' }));
    return body?.value;
  };
  const requestOf = async (id: string) => (await sandbox.stores.requests.get(id)) as StoredRequest;
  const approver = people.people.find((p) => p.key === 'carol')!;
  const requesters = people.people.filter((p) => p.key.startsWith('bench'));

  type Sample = { requestId: string; principalId: string; clickAt: number; activeAt: number };
  const samples: Sample[] = [];
  let failures = 0;
  try {
    // The approver and each requester have talked to the bot once (Teams: the bot can then reach them).
    await post(activity(approver, { text: '<at>JIT Access</at> help', where: 'channel' }));
    for (const r of requesters) await post(activity(r, { text: 'help', where: 'personal' }));
    const bridgeToken = await sandbox.bridgeToken();

    const one = async (r: DemoPerson, i: number): Promise<void> => {
      const created = await fetch(`${sandbox.urls.bridge}/requests`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bridgeToken}`, [ACTOR_HEADERS.tenantId]: people.tenantId, [ACTOR_HEADERS.aadObjectId]: r.aadObjectId, [ACTOR_HEADERS.upn]: r.upn },
        body: JSON.stringify({ clientRequestId: `bench-a2a-${String(i).padStart(4, '0')}`, accountId: ACCOUNT, permissionSetName: 'PowerUser', durationMinutes: 10, justification: 'Benchmark: approve to active latency' }),
      });
      if (created.status !== 201) throw new Error(`submit answered ${created.status}: ${await created.text()}`);
      const id = ((await created.json()) as { request: { id: string } }).request.id;
      // The approval wait has stored its token: the approver's click can resume it.
      await until(`${id}'s approval wait`, async () => (await requestOf(id)).taskToken || undefined);
      const card = await click(approver, 'approval.refresh', { requestId: id });
      const approve = actionData(card, 'approval.approve');
      if (!approve) throw new Error(`${id}: the approver's card has no Approve: ${JSON.stringify(card).slice(0, 300)}`);
      const writesBefore = connector.calls.length;
      const clickAt = Date.now();
      await click(approver, 'approval.approve', approve);
      const personal = `a:personal-${r.key}`;
      const notice = await until(`${id}'s ACTIVE notice`, () =>
        connector.calls.slice(writesBefore).find((c) => c.method !== 'GET' && c.status < 300 && (c.conversationId ?? '').startsWith(personal) && isActiveNotice(c.body, id)),
      );
      const request = await requestOf(id);
      if (request.state !== 'ACTIVE') throw new Error(`${id} is ${request.state} after its ACTIVE notice`);
      samples.push({ requestId: id, principalId: request.requester.userId, clickAt, activeAt: notice.at });
    };
    await Promise.all(
      requesters.map(async (r, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * spacingMs));
        try {
          await one(r, i);
        } catch (e) {
          failures++;
          console.error(`approve-to-active: ${r.key}: ${(e as Error).message}`);
        }
      }),
    );

    const ops = sandbox.aws.identityCenter.listOperations({ kind: 'create' });
    const opOf = (s: Sample) => ops.find((o) => o.principalId === s.principalId && o.accountId === ACCOUNT);
    const latency = samples.map((s) => s.activeAt - s.clickAt);
    const idc = samples.map((s) => opOf(s)).filter((o) => o !== undefined).map((o) => Date.parse(o.completesAt) - Date.parse(o.createdAt));
    const clickToCreate = samples.map((s) => Date.parse(opOf(s)?.createdAt ?? '') - s.clickAt).filter(Number.isFinite);
    const completedToNotice = samples.map((s) => s.activeAt - Date.parse(opOf(s)?.completesAt ?? '')).filter(Number.isFinite);
    const executions = samples.map((s) => sandbox.aws.stepFunctions.execution(s.requestId)).filter((e) => e !== undefined);
    const transitions = executions.map((e) => e.transitions);
    const stats = sandbox.aws.identityCenter.stats();
    const worst = samples.reduce<Sample | undefined>((w, s) => (!w || s.activeAt - s.clickAt > w.activeAt - w.clickAt ? s : w), undefined);
    const worstOp = worst && opOf(worst);
    const slowest = {
      clickToCreateMs: worst && worstOp ? Date.parse(worstOp.createdAt) - worst.clickAt : Number.NaN,
      identityCenterMs: worstOp ? Date.parse(worstOp.completesAt) - Date.parse(worstOp.createdAt) : Number.NaN,
      completedToNoticeMs: worst && worstOp ? worst.activeAt - Date.parse(worstOp.completesAt) : Number.NaN,
    };
    const p99 = (v: number[]) => round(percentile(v, 99), 0);
    const p50 = (v: number[]) => round(percentile(v, 50), 0);
    return {
      requests: count,
      spacingMs,
      identityCenterDelayMs: IDC_DELAY_MS,
      approveToActiveP50Ms: p50(latency),
      approveToActiveP99Ms: p99(latency),
      approveToActiveMaxMs: round(Math.max(...latency), 0),
      identityCenterP50Ms: p50(idc),
      identityCenterP99Ms: p99(idc),
      // A lost or late notice is a missed budget whatever the ratio (bench/run.ts checks `failures`).
      ratio: round(percentile(latency, 99) / percentile(idc, 99), 3),
      clickToCreateP50Ms: p50(clickToCreate),
      completedToNoticeP50Ms: p50(completedToNotice),
      completedToNoticeP99Ms: p99(completedToNotice),
      slowest,
      transitions: { min: Math.min(...transitions), max: Math.max(...transitions), mean: round(transitions.reduce((a, b) => a + b, 0) / Math.max(1, transitions.length), 2) },
      statusCallsPerGrant: round((stats.calls.DescribeAccountAssignmentCreationStatus ?? 0) / Math.max(1, samples.length), 2),
      identityCenterCalls: stats.calls,
      throttledBySandbox: stats.throttled,
      teamsRefusals: connector.refusals().length,
      failures,
    };
  } finally {
    await sandbox.stop();
    await connector.close();
  }
}

/** The requester's notice that the access is active: a card or text naming the request as active. */
function isActiveNotice(body: unknown, requestId: string): boolean {
  const text = JSON.stringify(body ?? {});
  return text.includes(requestId) && /"(state|status)":"ACTIVE"|is active|Access is active/i.test(text);
}

if (require.main === module) {
  const [count = String(APPROVE_TO_ACTIVE_REQUESTS), spacingMs = String(APPROVE_TO_ACTIVE_SPACING_MS)] = process.argv.slice(2);
  void runApproveToActive(Number(count), Number(spacingMs)).then(reply, (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
