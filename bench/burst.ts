/**
 * Child process: an incident burst. 100 distinct requesters submit the request form
 * (`request.submit` invokes from their 1:1 chats) within 10 s, against the whole product as the
 * sandbox runs it (sandbox/orchestrator: the real bot Lambda handler, bridge, state machine and
 * notify function over the AWS stand-ins), with the Teams connector played by the recording
 * stand-in (test/support/connector-recorder.ts), which enforces Teams' per bot per conversation
 * windows and answers 429 with Retry-After beyond them.
 *
 * Measured from the first submit until every approval card is in the on-call channel (the
 * recorder accepted the thread) and every requester has their confirmation (the invoke response
 * carrying their request's status card, which Teams shows in place of the form in their 1:1 chat),
 * divided by the least time Teams' limits allow for the same submits (bench/lib/rate-minimum.ts).
 *
 * Teams' limits ("Optimize your bot with rate limiting and best practices in Microsoft Teams",
 * learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit):
 *   - per bot per thread: send to conversation 7/1 s, 8/2 s, 60/30 s, 1800/3600 s; create
 *     conversation (a new channel thread, as an approval card is) the same;
 *   - per thread for all bots: 14/1 s, 16/2 s (never binding for one bot);
 *   - per app per tenant: 30 requests per second over every call.
 * The channel is ONE conversation: its 100 posts are bound by 60/30 s and 8/2 s. Each confirmation
 * is an invoke response in its requester's own chat, not a connector call, so it is bound only by
 * when its submit arrived.
 *
 * Nothing may be lost: a missing or duplicated card, or a requester without a confirmation, makes
 * the figure Infinity. Every 429 the recorder answered is counted, and each must have been retried
 * (the card it refused arrived in the end).
 *
 * Usage: tsx bench/burst.ts [requesters] [spreadSeconds]
 */
import { writeFileSync } from 'node:fs';
import type { Directory } from '../sandbox/aws/identity-store';
import { startSandbox } from '../sandbox/orchestrator';
import { PLAYGROUND_IDS } from '../sandbox/playground';
import { demoDirectory, loadDemoPeople } from '../sandbox/seed';
import { ConnectorRecorder, TEAMS_SEND_LIMITS } from '../test/support/connector-recorder';
import { reply } from './lib/child';
import { type RateMinimum, rateMinimum, type Window } from './lib/rate-minimum';
import { round } from './lib/stats';

/** Teams' per app per tenant limit (same page): 30 requests per second. */
export const TEAMS_PER_APP_PER_TENANT: readonly Window[] = [{ seconds: 1, max: 30 }];

export interface BurstResult {
  requesters: number;
  spreadSeconds: number;
  /** From the first submit until the last card and the last confirmation. */
  seconds: number;
  cardsDoneSeconds: number;
  confirmationsDoneSeconds: number;
  minimumSeconds: number;
  minimumBy: string;
  bounds: RateMinimum['bounds'];
  ratio: number;
  cards: number;
  confirmations: number;
  lost: number;
  duplicateCards: number;
  /** 429s the connector stand-in answered (each one was retried by the bot if nothing was lost). */
  throttled: number;
  /** Card updates in the channel during the burst (each spends the channel's budget like a post). */
  channelUpdates: number;
  /** Writes to the requesters' 1:1 chats (status card posts or updates; the confirmation itself is the invoke response). */
  chatWrites: number;
  /** Submits answered "submit again" (the bridge did not answer in time) and sent again by the requester. */
  resubmits: number;
  /** Other refusals (size, card, unknown activity): a defect whatever the time. */
  otherRefusals: number;
  /** Peak connector calls in any 1 s (Teams' per app per tenant limit is 30). */
  peakCallsPerSecond: number;
  /** Confirmation latency per requester (invoke round trip), p50/max in ms. */
  confirmationP50Ms: number;
  confirmationMaxMs: number;
  problems: string[];
}

const CHANNEL = PLAYGROUND_IDS.oncallChannel;
const BOT_ID = '28:jit-access-sandbox-bot';

interface Requester {
  key: string;
  upn: string;
  aadObjectId: string;
  teamsUserId: string;
  identityStoreUserId: string;
  conversationId: string;
}

const hex = (i: number, width: number) => i.toString(16).padStart(width, '0');

function requesters(count: number): Requester[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `burst${i}`,
    upn: `burst${i}@example.com`,
    aadObjectId: `00000000-0000-4000-8000-b000${hex(i, 8)}`,
    teamsUserId: `29:burst-${i}`,
    identityStoreUserId: `9067000002-00000000-0000-4000-8000-b000${hex(i, 8)}`,
    conversationId: `a:burst-personal-${i}`,
  }));
}

/** The demo directory plus the burst's requesters, all Engineers (eligible for PowerUser with one approval). */
function burstDirectory(people: Requester[]): Directory {
  const base = demoDirectory();
  const users = [
    ...base.users,
    ...people.map((p, i) => ({ userId: p.identityStoreUserId, userName: p.upn, displayName: `Burst Requester ${i}`, givenName: 'Burst', familyName: `Requester${i}`, email: p.upn, externalIds: [] })),
  ];
  const groups = base.groups.map((g) => (g.displayName === 'Engineers' ? { ...g, members: [...g.members, ...people.map((p) => p.identityStoreUserId)] } : g));
  return { ...base, users, groups };
}

function findRequestIds(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => findRequestIds(n, into));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (k === 'requestId' && typeof v === 'string') into.add(v);
      else findRequestIds(v, into);
    }
  }
  return into;
}

export async function runBurst(count = 100, spreadSeconds = 10): Promise<BurstResult> {
  const people = loadDemoPeople();
  const burst = requesters(count);
  const connector = new ConnectorRecorder();
  await connector.start();
  for (const p of people.people) connector.addMember({ id: p.teamsUserId, aadObjectId: p.aadObjectId, name: `${p.givenName} ${p.surname}`, userPrincipalName: p.upn, email: p.upn, tenantId: people.tenantId });
  for (const [i, p] of burst.entries()) {
    connector.addMember({ id: p.teamsUserId, aadObjectId: p.aadObjectId, name: `Burst Requester${i}`, userPrincipalName: p.upn, email: p.upn, tenantId: people.tenantId });
    // The form each requester submits is a message the bot posted in their chat earlier.
    connector.knowActivity(p.conversationId, `form-${i}`);
  }
  const sandbox = await startSandbox({
    dataDir: false,
    ports: { bot: 0, bridge: 0, aws: 0 },
    playground: false,
    teamsServiceUrl: connector.url,
    directory: burstDirectory(burst),
    reconcileIntervalMs: 0,
    logLevel: (process.env.BURST_LOG as 'WARN' | undefined) ?? 'ERROR',
    log: () => undefined,
  });
  const problems: string[] = [];
  try {
    const origin = Date.now();
    const submits: number[] = [];
    let resubmits = 0;
    const confirmations = new Map<number, { at: number; requestId: string; latencyMs: number }>();
    const submitOne = async (p: Requester, i: number) => {
      const at = origin + Math.round((i * spreadSeconds * 1000) / count);
      await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
      const sentAt = Date.now();
      submits[i] = sentAt;
      const activity = {
        type: 'invoke',
        name: 'adaptiveCard/action',
        id: `burst-${i}`,
        timestamp: new Date(sentAt).toISOString(),
        channelId: 'msteams',
        serviceUrl: connector.url,
        from: { id: p.teamsUserId, name: `Burst Requester${i}`, aadObjectId: p.aadObjectId },
        recipient: { id: BOT_ID, name: 'JIT Access' },
        conversation: { id: p.conversationId, conversationType: 'personal', tenantId: people.tenantId },
        channelData: { tenant: { id: people.tenantId } },
        replyToId: `form-${i}`,
        value: {
          action: {
            type: 'Action.Execute',
            verb: 'request.submit',
            data: { clientRequestId: `burst-client-${hex(i, 8)}`, accountId: '111111111111', permissionSetName: 'PowerUser', durationMinutes: '5', justification: `Incident INC-4242: requester ${i} checks the payment service` },
          },
        },
      };
      // A bridge that did not answer in time gives the form back with "Nothing is lost: submit
      // again" (or "please try again in a moment"); the same clientRequestId makes it still one
      // request. The requester does what the card says, a second later; `resubmits` counts it.
      for (let attempt = 1; attempt <= 3; attempt++) {
        const res = await fetch(sandbox.urls.messages, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
        const text = await res.text();
        const doneAt = Date.now();
        if (res.status !== 200) return void problems.push(`requester ${i}: invoke answered ${res.status}`);
        const body = JSON.parse(text) as { statusCode?: number; value?: unknown };
        const ids = [...findRequestIds(body.value)];
        if (body.statusCode === 200 && ids.length === 1) return void confirmations.set(i, { at: doneAt, requestId: ids[0]!, latencyMs: doneAt - sentAt });
        if (!/submit again|try again/.test(text) || attempt === 3) return void problems.push(`requester ${i}: no status card in the invoke response (${text.slice(0, 300)})`);
        resubmits++;
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    await Promise.all(burst.map((p, i) => submitOne(p, i)));
    const expected = new Set([...confirmations.values()].map((c) => c.requestId));

    // Every approval card in the channel: a thread the recorder accepted, naming its request.
    const cardsOf = () => connector.cards().filter((c) => c.call.path === '/v3/conversations' && (c.call.conversationId ?? '').startsWith(CHANNEL));
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const seen = new Set(cardsOf().flatMap((c) => [...findRequestIds(c.card)]));
      if ([...expected].every((id) => seen.has(id))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Let retries still in flight land (a duplicate would show now).
    await new Promise((r) => setTimeout(r, 2000));
    await sandbox.notices.idle();

    const firstCard = new Map<string, number>();
    let duplicateCards = 0;
    for (const c of cardsOf()) {
      for (const id of findRequestIds(c.card)) {
        if (!expected.has(id)) continue;
        if (firstCard.has(id)) duplicateCards++;
        else firstCard.set(id, c.call.at);
      }
    }
    const lost = count - confirmations.size + [...expected].filter((id) => !firstCard.has(id)).length;
    const throttled = connector.calls.filter((c) => c.status === 429).length;
    const channelUpdates = connector.writes().filter((c) => c.method === 'PUT' && (c.conversationId ?? '').startsWith(CHANNEL)).length;
    const chatWrites = connector.writes().filter((c) => (c.conversationId ?? '').startsWith('a:')).length;
    const otherRefusals = connector.refusals().filter((c) => c.status !== 429).length;
    for (const r of connector.refusals().filter((c) => c.status !== 429).slice(0, 5)) problems.push(`refused: ${r.method} ${r.path}: ${r.refusedBy}`);
    const times = connector.calls.map((c) => c.at).sort((a, b) => a - b);
    let peakCallsPerSecond = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! >= 1000) j++;
      peakCallsPerSecond = Math.max(peakCallsPerSecond, i - j + 1);
    }

    const start = Math.min(...submits);
    // BURST_TRACE=<file>: every connector call and confirmation, for looking into a slow run.
    if (process.env.BURST_TRACE) writeFileSync(process.env.BURST_TRACE, JSON.stringify({ start, submits, confirmations: [...confirmations.entries()], calls: connector.calls.map((c) => ({ method: c.method, path: c.path, status: c.status, at: c.at - start, conversationId: c.conversationId, ...(process.env.BURST_TRACE_BODIES ? { body: c.body } : {}) })) }));
    const cardsDone = Math.max(...firstCard.values()) - start;
    const confirmationsDone = Math.max(...[...confirmations.values()].map((c) => c.at)) - start;
    const elapsed = Math.max(cardsDone, confirmationsDone);
    // Each approval card can be posted once its request exists: not before its submit arrived.
    const cardRelease = [...confirmations.entries()].map(([i]) => submits[i]!);
    const minimum = rateMinimum(
      [
        { name: 'approval cards in the on-call channel (one conversation: 7/1 s, 8/2 s, 60/30 s, 1800/h)', releaseMs: cardRelease, windows: TEAMS_SEND_LIMITS },
        // One invoke response per requester, in their own chat: no connector call, so only the submit time bounds it.
        { name: 'confirmations (invoke responses, each in its own chat)', releaseMs: [Math.max(...submits)], windows: [] },
      ],
      { name: 'per app per tenant (30/s over the channel posts)', windows: TEAMS_PER_APP_PER_TENANT },
      start,
    );
    const latencies = [...confirmations.values()].map((c) => c.latencyMs).sort((a, b) => a - b);
    const ratio = lost > 0 || duplicateCards > 0 || otherRefusals > 0 ? Number.POSITIVE_INFINITY : round(elapsed / minimum.minimumMs, 3);
    return {
      requesters: count,
      spreadSeconds,
      seconds: round(elapsed / 1000, 2),
      cardsDoneSeconds: round(cardsDone / 1000, 2),
      confirmationsDoneSeconds: round(confirmationsDone / 1000, 2),
      minimumSeconds: round(minimum.minimumMs / 1000, 2),
      minimumBy: minimum.boundBy,
      bounds: minimum.bounds.map((b) => ({ name: b.name, lastSendMs: Math.round(b.lastSendMs) })),
      ratio,
      cards: firstCard.size,
      confirmations: confirmations.size,
      lost,
      duplicateCards,
      throttled,
      channelUpdates,
      chatWrites,
      resubmits,
      otherRefusals,
      peakCallsPerSecond,
      confirmationP50Ms: latencies[Math.floor(latencies.length / 2)] ?? Number.NaN,
      confirmationMaxMs: latencies.at(-1) ?? Number.NaN,
      problems,
    };
  } finally {
    await sandbox.stop();
    await connector.close();
  }
}

if (require.main === module) {
  const [count = '100', spread = '10'] = process.argv.slice(2);
  void runBurst(Number(count), Number(spread)).then(
    (r) => {
      reply(r);
      // Run alone (no parent): executions still waiting for approval would keep the process up.
      if (!process.send) process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
