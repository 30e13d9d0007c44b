/**
 * Structured logging for the bot: one JSON line per event. Secrets, tokens and card data are never
 * passed in; callers log ids and codes only.
 */
import type { Log } from '../core/ports';
import type { LogLevel } from './config';

export type { Log };

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

const ORDER: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

export function jsonLog(level: LogLevel = 'INFO', write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Log {
  const emit = (at: LogLevel, message: string, details?: Record<string, unknown>) => {
    if (ORDER[at] < ORDER[level]) return;
    write(JSON.stringify({ level: at, time: new Date().toISOString(), service: 'jit-bot', message, ...details }));
  };
  return {
    debug: (m, d) => emit('DEBUG', m, d),
    info: (m, d) => emit('INFO', m, d),
    warn: (m, d) => emit('WARN', m, d),
    error: (m, d) => emit('ERROR', m, d),
  };
}

/** A log that records entries, for tests. */
export interface RecordingLog extends Log {
  entries: Array<{ level: LogLevel; message: string; details?: Record<string, unknown> }>;
}
export function recordingLog(): RecordingLog {
  const entries: RecordingLog['entries'] = [];
  const at = (level: LogLevel) => (message: string, details?: Record<string, unknown>) => void entries.push({ level, message, details });
  return { entries, debug: at('DEBUG'), info: at('INFO'), warn: at('WARN'), error: at('ERROR') };
}

export function errorDetails(e: unknown): Record<string, unknown> {
  if (e instanceof Error) return { error: e.name, message: e.message };
  return { error: String(e) };
}
