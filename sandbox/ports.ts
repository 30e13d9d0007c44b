/**
 * The sandbox's fixed ports, and a check that they are free before anything starts, so that a
 * port taken by another process gives one clear sentence instead of an EADDRINUSE stack trace.
 */
import { createServer } from 'node:net';

export interface PortNeed {
  port: number;
  /** What needs it, e.g. `bot`. */
  what: string;
  /** The environment variable that moves it, e.g. `JIT_BOT_PORT`. */
  env: string;
  /** Interface to probe: `127.0.0.1` for loopback services; `0.0.0.0` for ones that bind every interface. */
  host?: string;
}

/** Defaults; each can be moved with its environment variable. */
export const SANDBOX_PORTS = {
  bot: { port: 3978, what: 'bot', env: 'JIT_BOT_PORT' },
  aws: { port: 4599, what: 'AWS stand-ins', env: 'JIT_AWS_PORT' },
  playground: { port: 56150, what: 'Agents Playground', env: 'JIT_PLAYGROUND_PORT', host: '0.0.0.0' },
} as const satisfies Record<string, PortNeed>;

export class PortInUseError extends Error {
  constructor(readonly conflicts: ReadonlyArray<PortNeed & { reason: string }>) {
    super(conflicts.map((c) => `port ${c.port} (${c.what}) ${c.reason}: stop the other process or set ${c.env}`).join('\n'));
    this.name = 'PortInUseError';
  }
}

/** Reads `env` as a port number, or the default; throws a clear error for anything else. */
export function portFromEnv(need: PortNeed, env: NodeJS.ProcessEnv = process.env): PortNeed {
  const raw = env[need.env];
  if (raw === undefined || raw === '') return need;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`${need.env}=${raw} is not a port number (1-65535)`);
  return { ...need, port };
}

/** Whether `port` can be bound on `host` right now; the reason when it cannot. */
export function probePort(port: number, host = '127.0.0.1'): Promise<{ free: true } | { free: false; reason: string }> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') resolve({ free: false, reason: 'is already in use' });
      else if (e.code === 'EACCES') resolve({ free: false, reason: 'cannot be opened (permission denied)' });
      else resolve({ free: false, reason: `cannot be opened (${e.code ?? e.message})` });
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve({ free: true })));
  });
}

/**
 * Checks every port at once and throws PortInUseError naming each one that is taken, e.g.
 * "port 3978 (bot) is already in use: stop the other process or set JIT_BOT_PORT".
 */
export async function assertPortsFree(needs: readonly PortNeed[]): Promise<void> {
  const seen = new Map<number, PortNeed>();
  for (const need of needs) {
    const other = seen.get(need.port);
    if (other) throw new PortInUseError([{ ...need, reason: `is also configured for ${other.what}` }]);
    seen.set(need.port, need);
  }
  const results = await Promise.all(needs.map(async (need) => ({ need, result: await probePort(need.port, need.host ?? '127.0.0.1') })));
  const conflicts = results.flatMap(({ need, result }) => (result.free ? [] : [{ ...need, reason: result.reason }]));
  if (conflicts.length > 0) throw new PortInUseError(conflicts);
}

/** Turns a listen() failure into the same clear message (for the race between check and bind). */
export function explainListenError(e: unknown, need: PortNeed): Error {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') return new PortInUseError([{ ...need, reason: 'is already in use' }]);
  if (code === 'EACCES') return new PortInUseError([{ ...need, reason: 'cannot be opened (permission denied)' }]);
  return e instanceof Error ? e : new Error(String(e));
}
