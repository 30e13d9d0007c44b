/**
 * Where metric points go: CloudWatch EMF lines through Powertools Metrics on AWS, a recording sink
 * in tests, nowhere by default. And the instrumentation that feeds it from committed request
 * writes, so every edge (bridge, workflow, revoke, reconcile) counts each change exactly once.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AuditEvent, StoredRequest } from '../../core/model';
import type { RequestStore } from '../../core/ports';
import type { CoreDeps } from '../../core/services/types';
import type { Log } from '../http';
import { type FailureKind, METRICS_NAMESPACE, METRICS_SERVICE, type MetricPoint, metricPoints } from '../metrics';

export interface MetricsSink {
  emit(points: readonly MetricPoint[]): void;
}

export const noMetrics: MetricsSink = { emit() {} };

export interface RecordingMetricsSink extends MetricsSink {
  points: MetricPoint[];
}

export function recordingMetrics(): RecordingMetricsSink {
  const points: MetricPoint[] = [];
  return { points, emit: (p) => void points.push(...p) };
}

/** Counts a failure at an edge. Never throws: metrics must not change what a handler does. */
export function countFailure(sink: MetricsSink, failure: FailureKind): void {
  try {
    sink.emit(metricPoints({ kind: 'failure', failure }));
  } catch {
    // A metric is not worth a failed invocation.
  }
}

/**
 * One EMF line per point, flushed at once: points carry different dimension sets, and a point
 * written before a crash is not lost with the rest of the invocation.
 */
export class PowertoolsMetricsSink implements MetricsSink {
  constructor(private readonly metrics: Metrics) {}

  emit(points: readonly MetricPoint[]): void {
    for (const p of points) {
      if (!Number.isFinite(p.value)) continue;
      for (const [name, value] of Object.entries(p.dimensions)) this.metrics.addDimension(name, value);
      this.metrics.addMetric(p.name, p.unit === 'Seconds' ? MetricUnit.Seconds : MetricUnit.Count, p.value);
      this.metrics.publishStoredMetrics();
    }
  }
}

export function powertoolsMetrics(stage: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE, defaultDimensions: { stage } });
}

let awsSink: MetricsSink | undefined;

/** This process's EMF sink; the stage dimension comes from JIT_STAGE. */
export function awsMetricsSink(): MetricsSink {
  awsSink ??= new PowertoolsMetricsSink(powertoolsMetrics(process.env.JIT_STAGE ?? 'unknown'));
  return awsSink;
}

/** The audit events that a write of `next` added: the outbox may still hold older events that a failed flush left behind. */
function eventsOfWrite(next: StoredRequest): AuditEvent[] {
  const prefix = `${next.id}:v${next.version}:`;
  return (next.auditOutbox ?? []).filter((e) => e.eventId.startsWith(prefix));
}

/**
 * A RequestStore that reports the metrics of every write that succeeded. A write that lost its
 * compare-and-swap throws before anything is counted, so racing writers count one change once.
 */
export function instrumentRequestStore(store: RequestStore, sink: MetricsSink, log?: Pick<Log, 'warn'>): RequestStore {
  const observe = (written: StoredRequest) => {
    try {
      for (const event of eventsOfWrite(written)) sink.emit(metricPoints({ kind: 'committed', event, request: written }));
    } catch (e) {
      log?.warn('metrics for a request change were not emitted', { requestId: written.id, error: String(e) });
    }
  };
  return {
    get: (id) => store.get(id),
    findByClientRequestId: (userId, clientRequestId) => store.findByClientRequestId(userId, clientRequestId),
    list: (query) => store.list(query),
    clearAuditOutbox: (id, version) => store.clearAuditOutbox(id, version),
    clearNoticeOutbox: (id, version) => store.clearNoticeOutbox(id, version),
    create: async (request) => {
      await store.create(request);
      observe(request);
    },
    update: async (next, expectedVersion) => {
      await store.update(next, expectedVersion);
      observe(next);
    },
  };
}

/** The ports with their request store instrumented. */
export function instrumentDeps(deps: CoreDeps, sink: MetricsSink, log?: Pick<Log, 'warn'>): CoreDeps {
  return { ...deps, requests: instrumentRequestStore(deps.requests, sink, log) };
}
