/**
 * Child processes for the benchmark: every part that is timed or whose memory is measured runs in
 * its own Node process (the same Node as the parent, with tsx), so that the load generator, the
 * stubs and the system under test do not share an event loop or a heap.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
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
  // BENCH_CPU_PROF_DIR=<dir>: every child writes a V8 CPU profile there when it exits (stop() lets
  // it exit by itself, so the profile is flushed), for `node --cpu-prof` analysis of a bench part.
  const profile = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  const child = fork(file, args, {
    cwd: REPO_ROOT,
    execArgv: [...(file.endsWith('.js') ? ['--enable-source-maps'] : ['--import', 'tsx']), ...profile],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Ready));
    child.once('error', reject);
    void exited.then(() => reject(new Error(`${script} exited before it was ready (code ${child.exitCode})`)));
  });
  return childHandle(child, ready, exited);
}

function childHandle<Ready>(child: ChildProcess, ready: Ready, exited: Promise<void>): Child<Ready> {
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

/** A TCP port that was free a moment ago on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Runs a built HTTP server the way production runs it (`node --enable-source-maps <file>`, e.g.
 * dist/bot/main.js): configured by `env` only (no inherited environment, no IPC handshake), on a
 * free port of 127.0.0.1 given in `portVariable`; ready when GET /healthz answers 200.
 */
export async function startServerChild(file: string, env: Record<string, string>, portVariable: string): Promise<Child<{ url: string }>> {
  const port = await freePort();
  const profile = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  const child = fork(file, [], {
    cwd: REPO_ROOT,
    execArgv: ['--enable-source-maps', ...profile],
    env: { PATH: process.env.PATH ?? '', ...env, [portVariable]: String(port) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${file} exited before it was ready (code ${child.exitCode})`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${file} did not answer ${url}/healthz within 60 s`);
    }
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return childHandle(child, { url }, exited);
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
