/**
 * `npm run sandbox:digest`: posts the weekly KPI digest into the running sandbox's on-call channel
 * now, the way the weekly EventBridge Scheduler schedule does in AWS
 * (infra/constructs/kpi-digest-schedule.ts): the notify function gets `{action: 'kpi_digest',
 * scheduledTime}` (the sandbox clock's now), reads the audit log, and sends the week's KPIs to the
 * bot, which posts the card once per ISO week. A second run in the same week posts nothing.
 */
import { SandboxNotRunningError } from './finding';

/** The bridge's default port (sandbox/orchestrator BRIDGE_PORT; importing it would load the whole sandbox). */
export const defaultBridgeUrl = () => `http://127.0.0.1:${process.env.JIT_BRIDGE_PORT ?? '3979'}`;

export async function triggerDigest(bridgeUrl: string = defaultBridgeUrl()): Promise<{ weekId: string; requests: number }> {
  let res: Response;
  try {
    res = await fetch(`${bridgeUrl}/_sandbox/digest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  } catch (e) {
    throw new SandboxNotRunningError(`nothing answers on ${bridgeUrl} (${(e as Error).message})`);
  }
  const body = (await res.json().catch(() => ({}))) as { weekId?: unknown; requests?: unknown; error?: { message?: string } };
  if (!res.ok) throw new Error(`The digest failed (${res.status}): ${body.error?.message ?? 'no details'}`);
  if (typeof body.weekId !== 'string' || typeof body.requests !== 'number') throw new Error(`The sandbox answered without a digest (${JSON.stringify(body).slice(0, 200)}); is it still starting?`);
  return { weekId: body.weekId, requests: body.requests };
}

async function main(): Promise<void> {
  const r = await triggerDigest();
  console.log(`Sent the KPI digest for week ${r.weekId} (${r.requests} requests) to the on-call channel.
The bot posts one digest per week: running this again in the same week posts nothing.`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  });
}
