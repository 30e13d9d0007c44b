/**
 * `npm start`: the whole product on this machine (sandbox/orchestrator), with Microsoft's Agents
 * Playground as the Teams client. Ctrl-C stops everything; state stays in the data folder until
 * `npm run sandbox:reset`.
 */
import { PortInUseError } from './ports';
import { startSandbox, type Sandbox } from './orchestrator';
import { loadDemoPeople } from './seed';

function banner(s: Sandbox): string {
  const people = loadDemoPeople().people;
  const name = (key: string) => people.find((p) => p.key === key)?.givenName ?? key;
  return `
  Teams JIT Access for AWS: sandbox is running (no AWS account, no Teams tenant)

  Open the Agents Playground   ${s.urls.playground ?? '(not started)'}
    You are ${name('alice')} (a requester). In the personal chat type:   request
    Pick PowerUser on an account, submit; the approval card appears in team "Platform",
    channel "on-call". The playground shows only ${name('alice')}, so the card carries sandbox-only
    buttons: click "Sandbox: approve as ${name('carol')}" (or deny as ${name('dan')}); the same from a terminal:
      npx tsx sandbox/act.ts carol approve        (also: pending, deny; dan, frank)
    Also try: "mine", "pending", "help"; ${name('erin')} is not eligible for anything.

  Bot            ${s.urls.messages}
  Bridge (API)   ${s.urls.bridge}
  AWS stand-ins  ${s.urls.aws}   (inspect: ${s.urls.aws}/_sandbox/assignments, /_sandbox/schedules)
  Data folder    ${s.dataDir ?? '(memory only)'}   audit log: npm run kpi -- --file ${s.dataDir ? `${s.dataDir}/audit.jsonl` : '<none>'}

  Demo durations are minutes. To see expiry now:  curl -X POST ${s.urls.bridge}/_sandbox/clock/advance -d '{"minutes":2}'
  A HIGH Security Hub finding into the channel:   npm run sandbox:finding
  The weekly KPI digest into the channel, now:    npm run sandbox:digest
  Ctrl-C stops everything; state survives. Start over: npm run sandbox:reset
`;
}

async function main(): Promise<void> {
  console.log('Starting the sandbox (synthesizing the workflow from infra/ takes a few seconds)...');
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({ playground: process.env.JIT_PLAYGROUND !== 'off' });
  } catch (e) {
    console.error(e instanceof PortInUseError ? `Cannot start the sandbox:\n${e.message}` : `Cannot start the sandbox: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
    return;
  }
  console.log(banner(sandbox));
  let stopping = false;
  const stop = async (why: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nStopping the sandbox (${why})...`);
    try {
      await sandbox.stop();
      console.log('Stopped. State is kept in the data folder.');
    } catch (e) {
      console.error(`Stopping failed: ${(e as Error).message}`);
      code = 1;
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop('Ctrl-C'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  void sandbox.playgroundExited.then(({ code }) => {
    if (!stopping) void stop(`the Agents Playground exited with code ${code}`, 1);
  });
}

void main();
