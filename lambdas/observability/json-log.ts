/**
 * The functions' structured log lines, written by the product itself. It was Powertools Logger,
 * about 20 KB of every function bundle (with its commons and invoke store) for what follows; the
 * lines keep its shape, so the log metric filters (infra/constructs/monitoring.ts, `$.event`), Logs
 * Insights queries and the runbook read them the same:
 *
 *   {"level":"INFO","message":"...","timestamp":"<ISO 8601 UTC>","service":"teams-jit-access",
 *    "sampling_rate":0,"xray_trace_id":"1-...","function":"bridge", ...details}
 *
 * One JSON object per line, written straight to the process's streams (DEBUG and INFO to stdout,
 * WARN and ERROR to stderr), not through `console`: with the function's JSON log format the Lambda
 * runtime wraps console output in a record of its own, while a line that is already JSON is kept as
 * it is (AWS Lambda developer guide, "Configuring JSON and plain text log formats"). The level is
 * the one Lambda's advanced logging controls set (AWS_LAMBDA_LOG_LEVEL), else JIT_LOG_LEVEL, else
 * INFO, as Powertools chose it. The X-Ray trace id is the Root of `_X_AMZN_TRACE_ID`, which Lambda
 * sets per invocation.
 */
import type { Log } from '../../core/ports';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const RANK: Record<LogLevel, number> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 };
/** Lambda's application log levels (TRACE ... FATAL) onto ours. */
const LAMBDA_LEVELS: Record<string, LogLevel> = { TRACE: 'DEBUG', DEBUG: 'DEBUG', INFO: 'INFO', WARN: 'WARN', ERROR: 'ERROR', FATAL: 'ERROR' };
/** Keys every line has: a detail of the same name is dropped, as Powertools did (composition.ts renames the ones handlers use). */
const STANDARD_KEYS = new Set(['level', 'message', 'timestamp', 'service', 'sampling_rate', 'xray_trace_id']);

export function logLevelOf(env: Record<string, string | undefined>): LogLevel {
  const lambda = LAMBDA_LEVELS[(env.AWS_LAMBDA_LOG_LEVEL ?? '').toUpperCase()];
  if (lambda) return lambda;
  const own = (env.JIT_LOG_LEVEL ?? '').toUpperCase();
  return own in RANK ? (own as LogLevel) : 'INFO';
}

/** The Root of an X-Ray trace header (`Root=1-...;Parent=...;Sampled=1`). */
export function xrayTraceId(header: string | undefined): string | undefined {
  const root = header?.split(';').find((part) => part.startsWith('Root='));
  return root ? root.slice('Root='.length) : undefined;
}

export interface JsonLogOptions {
  serviceName: string;
  /** Keys on every line after the standard ones (the function's name). */
  persistentKeys?: Record<string, unknown>;
  /** Default: the process environment, read at each line (the trace id changes per invocation). */
  env?: Record<string, string | undefined>;
  now?: () => number;
  write?: (stream: 'stdout' | 'stderr', line: string) => void;
}

const writeToProcess = (stream: 'stdout' | 'stderr', line: string) => void process[stream].write(line);

/** A value JSON can hold: BigInt as text, anything unserializable as its string (a log line never throws). */
function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export function jsonLog(options: JsonLogOptions): Log {
  const env = () => options.env ?? process.env;
  const now = options.now ?? Date.now;
  const write = options.write ?? writeToProcess;
  const emit = (level: LogLevel, message: string, details: Record<string, unknown> | undefined) => {
    const e = env();
    if (RANK[level] < RANK[logLevelOf(e)]) return;
    const traceId = xrayTraceId(e._X_AMZN_TRACE_ID);
    const line: Record<string, unknown> = {
      level,
      message,
      timestamp: new Date(now()).toISOString(),
      service: options.serviceName,
      sampling_rate: 0,
      ...(traceId ? { xray_trace_id: traceId } : {}),
      ...options.persistentKeys,
    };
    for (const [k, v] of Object.entries(details ?? {})) if (!STANDARD_KEYS.has(k)) line[k] = v;
    let text: string;
    try {
      text = JSON.stringify(line, jsonReplacer);
    } catch (err) {
      text = JSON.stringify({ level, message, timestamp: line.timestamp, service: options.serviceName, ...options.persistentKeys, logError: `details not serializable: ${String(err)}` });
    }
    write(level === 'WARN' || level === 'ERROR' ? 'stderr' : 'stdout', `${text}\n`);
  };
  return {
    debug: (message, details) => emit('DEBUG', message, details),
    info: (message, details) => emit('INFO', message, details),
    warn: (message, details) => emit('WARN', message, details),
    error: (message, details) => emit('ERROR', message, details),
  };
}
