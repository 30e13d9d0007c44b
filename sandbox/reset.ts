/**
 * `npm run sandbox:reset`: deletes the sandbox's data folder (requests, grants, assignments,
 * schedules, findings, executions, conversations) so that the next `npm start` begins from the
 * demo seed. It refuses while the sandbox runs, and deletes only a folder the sandbox created.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, parse, resolve } from 'node:path';
import { DEFAULT_DATA_DIR, SANDBOX_DATA_MARKER } from './aws/persistence';

export type ResetOutcome = { kind: 'removed' | 'absent'; dir: string };

export class ResetRefusedError extends Error {
  override name = 'ResetRefusedError';
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function resetSandboxData(dataDir = process.env.JIT_SANDBOX_DATA_DIR ?? DEFAULT_DATA_DIR, cwd = process.cwd()): ResetOutcome {
  const dir = resolve(cwd, dataDir);
  if (!existsSync(dir)) return { kind: 'absent', dir };
  if (dir === parse(dir).root || dir === resolve(homedir()) || dir === resolve(cwd)) throw new ResetRefusedError(`Refusing to delete ${dir}: it is not a sandbox data folder.`);
  const entries = readdirSync(dir);
  if (entries.length > 0 && !entries.includes(SANDBOX_DATA_MARKER)) throw new ResetRefusedError(`Refusing to delete ${dir}: it has no ${SANDBOX_DATA_MARKER} marker, so the sandbox did not create it.`);
  const endpoints = join(dir, 'endpoints.json');
  if (existsSync(endpoints)) {
    const pid = Number((JSON.parse(readFileSync(endpoints, 'utf8')) as { pid?: unknown }).pid);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid)) throw new ResetRefusedError(`The sandbox is running (process ${pid}). Stop it with Ctrl-C first, then run \`npm run sandbox:reset\` again.`);
  }
  rmSync(dir, { recursive: true, force: true });
  return { kind: 'removed', dir };
}

if (require.main === module) {
  try {
    const outcome = resetSandboxData();
    console.log(
      outcome.kind === 'removed'
        ? `Sandbox reset: deleted ${outcome.dir} (requests, grants, assignments, schedules, findings, executions, conversations).\nThe next \`npm start\` begins again from the demo seed.`
        : `Sandbox reset: nothing to delete (${outcome.dir} does not exist). The next \`npm start\` begins from the demo seed.`,
    );
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  }
}
