/**
 * Child processes for the benchmark: every part that is timed or whose memory is measured runs in
 * its own Node process (the same Node as the parent, with tsx), so that the load generator, the
 * stubs and the system under test do not share an event loop or a heap.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export const BENCH_DIR = join(__dirname, '..');
export const REPO_ROOT = join(BENCH_DIR, '..');

export interface Child<Ready> {
  process: ChildProcess;
  ready: Ready;
  /** Peak resident set size (VmHWM) of the child so far, in MB. */
  peakRssMb(): number;
  /** Current resident set size (VmRSS), in MB. */
  rssMb(): number;
  stop(): Promise<void>;
}

function procStatusMb(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): number {
  if (!pid) return Number.NaN;
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Forks `script` (a .ts file under bench/, or the absolute path of a built .js) and waits for its first IPC message. */
export async function startChild<Ready>(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<Child<Ready>> {
  // A built bundle (an absolute .js path) runs on plain node, as in production (source maps on,
  // as the Dockerfile and the Lambda functions run it); a bench .ts script runs under tsx.
  const file = isAbsolute(script) ? script : join(BENCH_DIR, script);
  const child = fork(file, args, {
    cwd: REPO_ROOT,
    execArgv: file.endsWith('.js') ? ['--enable-source-maps'] : ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Ready));
    child.once('error', reject);
    void exited.then(() => reject(new Error(`${script} exited before it was ready (code ${child.exitCode})`)));
  });
  return {
    process: child,
    ready,
    peakRssMb: () => procStatusMb(child.pid, 'VmHWM'),
    rssMb: () => procStatusMb(child.pid, 'VmRSS'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000).unref());
      if ((await Promise.race([exited.then(() => 'exited' as const), timeout])) === 'timeout') child.kill('SIGKILL');
    },
  };
}

/** Runs `script` to completion in a child and returns the one result it sends over IPC. */
export async function runChild<Result>(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<Result> {
  const child = fork(join(BENCH_DIR, script), args, {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise<Result>((resolve, reject) => {
    let result: Result | undefined;
    let got = false;
    child.on('message', (m) => {
      result = m as Result;
      got = true;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (got) resolve(result as Result);
      else reject(new Error(`${script} ${args.join(' ')} exited with code ${code} without a result`));
    });
  });
}

/** For child scripts: send the result to the parent and exit. */
export function reply(message: unknown): void {
  if (!process.send) {
    console.log(JSON.stringify(message, null, 2));
    return;
  }
  process.send(message as object, () => process.exit(0));
}
