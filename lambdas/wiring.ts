/**
 * Binds the core ports to AWS: SDK clients and adapters are built once per cold start (memoized)
 * from the parsed configuration. Handlers take a `DepsSource` so the same handler code runs over
 * these AWS ports, over in-memory ports (tests) or over the sandbox's local endpoints.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { AuditSink } from '../core/ports';
import type { CoreDeps } from '../core/services/types';
import type { Log } from './http';
import { currentRequestId } from './observability/correlation';
import { awsMetricsSink, instrumentDeps } from './observability/emf';
import { redactDetails } from './observability/redact';

/** Ports, or a (possibly async, possibly memoized) factory of them. */
export type DepsSource = CoreDeps | (() => CoreDeps | Promise<CoreDeps>);

export async function resolveDeps(source: DepsSource): Promise<CoreDeps> {
  return typeof source === 'function' ? await source() : source;
}

/**
 * A Powertools JSON logger; Lambda's JSON log format and the X-Ray trace id come along. Every line
 * carries the access request id of the invocation (`requestId`, see observability/correlation)
 * unless the line names its own, and passes the redaction (no tokens, secrets or JWTs).
 */
export function awsLog(functionName: string, options: { logger?: Logger } = {}): Log {
  const logger =
    options.logger ?? new Logger({ serviceName: 'teams-jit-access', logLevel: (process.env.JIT_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO', persistentKeys: { function: functionName } });
  const line = (details: Record<string, unknown> | undefined) => {
    const requestId = currentRequestId();
    return { ...(requestId ? { requestId } : {}), ...renameReservedKeys(redactDetails(details)) };
  };
  return {
    debug: (message, details) => logger.debug(message, line(details)),
    info: (message, details) => logger.info(message, line(details)),
    warn: (message, details) => logger.warn(message, line(details)),
    error: (message, details) => logger.error(message, line(details)),
  };
}

/**
 * Powertools drops detail keys that collide with its own (`message`, `level`, ...) with a warning;
 * the handlers log `message: err.message` next to `error: err.name`, so keep those as `errorMessage`.
 */
const RESERVED_LOG_KEYS: Record<string, string> = { message: 'errorMessage', level: 'detailLevel', timestamp: 'detailTimestamp', service: 'detailService', sampling_rate: 'detailSamplingRate' };
function renameReservedKeys(details: Record<string, unknown>): Record<string, unknown> {
  if (!Object.keys(details).some((k) => k in RESERVED_LOG_KEYS)) return details;
  return Object.fromEntries(Object.entries(details).map(([k, v]) => [RESERVED_LOG_KEYS[k] ?? k, v]));
}

let depsPromise: Promise<CoreDeps> | undefined;

/** The AWS-bound ports of this process, built on first use. A failed build is retried on the next invocation. */
export function awsDeps(): Promise<CoreDeps> {
  // Every committed request change is counted once, in whichever function made it (EMF metrics).
  depsPromise ??= import('./aws-deps').then(async (m) => {
    const deps = await m.buildAwsDeps();
    return instrumentDeps(deps, awsMetricsSink(), deps.log);
  }).catch((e: unknown) => {
    depsPromise = undefined;
    throw e;
  });
  return depsPromise;
}

let auditSinkPromise: Promise<AuditSink> | undefined;

/** The audit-writer's sink: the audit table, built on first use. A failed build is retried on the next invocation. */
export function awsAuditTableSink(): Promise<AuditSink> {
  auditSinkPromise ??= import('./aws-deps').then((m) => m.buildAwsAuditTableSink()).catch((e: unknown) => {
    auditSinkPromise = undefined;
    throw e;
  });
  return auditSinkPromise;
}
