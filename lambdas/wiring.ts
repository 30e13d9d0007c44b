/**
 * Binds the core ports to AWS: SDK clients and adapters are built once per cold start (memoized)
 * from the parsed configuration. Handlers take a `DepsSource` so the same handler code runs over
 * these AWS ports, over in-memory ports (tests) or over the sandbox's local endpoints.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { AuditSink } from '../core/ports';
import type { CoreDeps } from '../core/services/types';
import type { Log } from './http';

/** Ports, or a (possibly async, possibly memoized) factory of them. */
export type DepsSource = CoreDeps | (() => CoreDeps | Promise<CoreDeps>);

export async function resolveDeps(source: DepsSource): Promise<CoreDeps> {
  return typeof source === 'function' ? await source() : source;
}

/** A Powertools JSON logger; Lambda's JSON log format and the X-Ray trace id come along. */
export function awsLog(functionName: string): Log {
  const logger = new Logger({ serviceName: 'teams-jit-access', logLevel: (process.env.JIT_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO', persistentKeys: { function: functionName } });
  return {
    debug: (message, details) => logger.debug(message, details ?? {}),
    info: (message, details) => logger.info(message, details ?? {}),
    warn: (message, details) => logger.warn(message, details ?? {}),
    error: (message, details) => logger.error(message, details ?? {}),
  };
}

let depsPromise: Promise<CoreDeps> | undefined;

/** The AWS-bound ports of this process, built on first use. A failed build is retried on the next invocation. */
export function awsDeps(): Promise<CoreDeps> {
  depsPromise ??= import('./aws-deps').then((m) => m.buildAwsDeps()).catch((e: unknown) => {
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
