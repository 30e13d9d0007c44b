/**
 * Where metric points go: CloudWatch EMF lines on AWS, a recording sink in tests, nowhere by
 * default. And the instrumentation that feeds it from committed request writes, so every edge
 * (bridge, workflow, revoke, reconcile) counts each change exactly once.
 *
 * The EMF lines are written here (they were Powertools Metrics, about 14 KB of every bundle with
 * its commons): one JSON object per line on stdout, in the embedded metric format's structure
 * (Amazon CloudWatch User Guide, "Specification: Embedded metric format",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
 * `_aws.Timestamp` in epoch milliseconds, one CloudWatchMetrics directive with the namespace, one
 * dimension set (service, stage and the point's own dimensions) and the metric's name and unit; the
 * dimension values and the metric value as top-level members.
 */
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

/** What an EMF line carries besides the point: the namespace and the dimensions on every point. */
export interface EmfOptions {
  namespace: string;
  defaultDimensions: Record<string, string>;
  now?: () => number;
  write?: (line: string) => void;
}

/**
 * One EMF line per point, written at once: points carry different dimension sets, and a point
 * written before a crash is not lost with the rest of the invocation.
 */
export class EmfMetricsSink implements MetricsSink {
  constructor(private readonly options: EmfOptions) {}

  emit(points: readonly MetricPoint[]): void {
    const now = this.options.now ?? Date.now;
    const write = this.options.write ?? ((line: string) => void process.stdout.write(line));
    for (const p of points) {
      if (!Number.isFinite(p.value)) continue;
      const dimensions = { ...this.options.defaultDimensions, ...p.dimensions };
      const line = {
        _aws: { Timestamp: now(), CloudWatchMetrics: [{ Namespace: this.options.namespace, Dimensions: [Object.keys(dimensions)], Metrics: [{ Name: p.name, Unit: p.unit }] }] },
        ...dimensions,
        [p.name]: p.value,
      };
      write(`${JSON.stringify(line)}\n`);
    }
  }
}

/** The product's EMF options for a stage: namespace TeamsJitAccess, dimensions service and stage. */
export function emfOptions(stage: string): EmfOptions {
  return { namespace: METRICS_NAMESPACE, defaultDimensions: { service: METRICS_SERVICE, stage } };
}

let awsSink: MetricsSink | undefined;

/** This process's EMF sink; the stage dimension comes from JIT_STAGE. */
export function awsMetricsSink(): MetricsSink {
  awsSink ??= new EmfMetricsSink(emfOptions(process.env.JIT_STAGE ?? 'unknown'));
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
