/**
 * The backend's one composition root. Every place that runs the backend builds its ports here:
 *
 *   the Lambda functions   lambdaBackend(): config from the environment, AWS endpoints, JSON log
 *                          lines and EMF metrics; built once per cold start (clients included)
 *   the sandbox            composeBackend(config, {clientSettings: the stand-ins' endpoint, clock:
 *                          the time-travel clock, stores: the file-backed DynamoDB stand-ins, ...})
 *   the benchmarks         composeBackend(config, {clientSettings, overrides: in-memory ports})
 *
 * What every caller gets, whatever it overrides: one Identity Center limiter for the process, the
 * request store instrumented for metrics, the requests table's indexes, the notifier's function
 * budget. Overrides swap where things go (endpoints, clock, log, metrics sink, stores), never how
 * the product behaves.
 *
 * The machinery is lambdas/backend.ts; this module adds the parts only some functions use (the
 * bot's notifier, the audit table sink, the SessionDuration check). The bridge composes from
 * backend.ts alone (awsPortsWithoutNotifier), so that it does not bundle them.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { AuditSink, Notifier } from '../core/ports';
import type { CoreDeps } from '../core/services/types';
import { BotNotifier, FUNCTION_NOTIFIER, type NotificationSender, SecretsManagerSecret } from './adapters/bot-notifier';
import { BotInvokeNotifier, INVOKE_NOTIFIER } from './adapters/bot-invoke-notifier';
import { DynamoAuditTableSink } from './adapters/dynamo-audit';
import { checkSessionDurations } from './adapters/session-duration';
import { systemClock } from './adapters/system';
import { type AwsClients, type Backend, type BackendParts, type BuildDepsOptions, buildPorts, type CompositionOptions, composeWith, lambdaBackendWith } from './backend';
import type { LambdaConfig } from './config';

export * from './backend';

/**
 * How notices reach the bot: a Lambda invoke of the hosted bot's alias over IAM when
 * cfg.botFunctionArn is set (the stack with hostBot), else the HMAC-signed POST to a self-hosted
 * bot's /api/notify. Either way one send is bounded (test/infra checks the worst case against the
 * functions' timeouts).
 */
export function buildNotifier(cfg: LambdaConfig, clients: Pick<AwsClients, 'secretsManager'>, options: BuildDepsOptions = {}): Notifier & NotificationSender {
  const clock = options.clock ?? systemClock;
  if (cfg.botFunctionArn) {
    return new BotInvokeNotifier({
      functionArn: cfg.botFunctionArn,
      // One attempt per send from the SDK: the notifier retries within its budget itself.
      lambda: options.botInvoker ?? new LambdaClient({ region: cfg.region, maxAttempts: 1 }),
      clock,
      region: cfg.region,
      random: options.random,
      ...INVOKE_NOTIFIER,
    });
  }
  if (!cfg.notifyUrl || !cfg.notifySecretArn) throw new Error('buildNotifier: no way to reach the bot (lambdas/config.ts refuses such a configuration)');
  const secretArn = cfg.notifySecretArn;
  return new BotNotifier({
    url: cfg.notifyUrl,
    // Read lazily: the sandbox passes its key and never builds a Secrets Manager client.
    secret: options.notifySecret ?? new SecretsManagerSecret(clients.secretsManager, secretArn, clock),
    clock,
    region: cfg.region,
    random: options.random,
    fetch: options.fetch,
    // Notices sit on the bridge's request path, and one send must fit every function's timeout
    // (test/infra checks notifierWorstCaseMs against them): a small budget. A bot outage longer
    // than a send is the approval workflow's to wait out (PostApprovalCard's retrier), not ours.
    ...FUNCTION_NOTIFIER,
  });
}

/** Every part: what the sandbox, the benchmarks and all functions but the bridge compose. */
export const ALL_PARTS: BackendParts = {
  notifier: buildNotifier,
  auditTableSink: (clients, cfg, clock) => new DynamoAuditTableSink(clients.dynamo, { tableName: cfg.auditTable, clock }),
  checkSessionDurations,
};

/**
 * The core ports bound to AWS, before instrumentation. An overridden port's AWS client is never
 * built (the clients are lazy), so the sandbox needs no DynamoDB stand-in.
 */
export function buildDeps(cfg: LambdaConfig, clients: AwsClients, options: BuildDepsOptions = {}): CoreDeps {
  return buildPorts(cfg, clients, options, buildNotifier);
}

export function composeBackend(cfg: LambdaConfig, options: CompositionOptions = {}): Backend {
  return composeWith(cfg, options, ALL_PARTS);
}

/** This function's backend, with every part (see lambdaBackendWith). */
export function lambdaBackend(): Backend {
  return lambdaBackendWith(ALL_PARTS);
}

/** The AWS-bound ports of this process (a DepsSource for the handlers). */
export async function awsDeps(): Promise<CoreDeps> {
  return lambdaBackend().deps;
}

/** The audit-writer's sink: the audit table (only the DynamoDB client is built). */
export async function awsAuditTableSink(): Promise<AuditSink> {
  return lambdaBackend().auditTableSink();
}

/** The findings function's only port: the notices to the bot (only the Lambda client, or the Secrets Manager one for a self-hosted bot, is built). */
export async function awsNotificationSender(): Promise<NotificationSender> {
  return lambdaBackend().notifier;
}
