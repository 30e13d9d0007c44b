/**
 * The `audit-writer` function: every event on the audit bus goes to the append-only audit table.
 * Replays (EventBridge delivers at least once) are absorbed by the sink's conditional put.
 */
import * as z from 'zod';
import type { AuditEvent } from '../../core/model';
import type { AuditSink } from '../../core/ports';
import { type Log, silentLog } from '../http';
import { WorkflowError } from '../workflow/errors';
import { correlate, inInvocation } from '../observability/correlation';
import { awsMetricsSink, countFailure, type MetricsSink, noMetrics } from '../observability/emf';
import { awsAuditTableSink, awsLog } from '../composition';

const actorSchema = z.object({ userId: z.string().min(1), userName: z.string(), displayName: z.string(), aadObjectId: z.string().optional() });
export const auditEventSchema = z.object({
  eventId: z.string().min(1).max(256),
  requestId: z.string().min(1).max(64),
  at: z.iso.datetime({ offset: true }),
  actor: actorSchema,
  action: z.string().min(1).max(64),
  fromState: z.string().optional(),
  toState: z.string().optional(),
  reason: z.string().max(8192),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
});

export const auditBusEventSchema = z.object({
  source: z.string(),
  'detail-type': z.string(),
  detail: auditEventSchema,
});

export interface AuditWriterResult {
  eventId: string;
}

export function createAuditWriterHandler(sink: AuditSink | (() => AuditSink | Promise<AuditSink>), options: { log?: Log; metrics?: MetricsSink } = {}): (event: unknown) => Promise<AuditWriterResult> {
  const log = options.log ?? silentLog;
  const metrics = options.metrics ?? noMetrics;
  return async (raw) => {
    const parsed = auditBusEventSchema.safeParse(raw);
    if (!parsed.success) {
      // Not retryable: the rule's dead-letter queue keeps the event for inspection.
      countFailure(metrics, 'audit_write');
      log.error('invalid audit event', { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
      throw new WorkflowError('InvalidAuditEvent', 'The audit event does not match the schema.');
    }
    const event = parsed.data.detail as AuditEvent;
    correlate(event.requestId);
    try {
      const target = typeof sink === 'function' ? await sink() : sink;
      await target.append([event]);
    } catch (e) {
      countFailure(metrics, 'audit_write');
      throw e;
    }
    log.debug('audit event stored', { eventId: event.eventId, requestId: event.requestId, action: event.action });
    return { eventId: event.eventId };
  };
}

let awsHandler: ((event: unknown) => Promise<AuditWriterResult>) | undefined;
export const handler = (event: unknown): Promise<AuditWriterResult> => {
  awsHandler ??= createAuditWriterHandler(awsAuditTableSink, { log: awsLog('audit-writer'), metrics: awsMetricsSink() });
  const run = awsHandler;
  return inInvocation(() => run(event));
};
