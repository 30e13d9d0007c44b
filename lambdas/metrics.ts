/**
 * The product's metrics, computed in one pure function from what happened: a request change that
 * was committed (its audit event together with the request as written), or a failure at an edge.
 * Emitted as CloudWatch EMF (lambdas/observability/emf.ts) in the namespace below, with the
 * dimensions `service` and `stage` on every point plus at most one low-cardinality dimension
 * (`outcome` or `kind`). infra/constructs/monitoring.ts graphs and alarms on exactly these names.
 */
import type { AccessRequest, AuditEvent, RequestState } from '../core/model';
import { SYSTEM_ACTOR } from '../core/model';

export const METRICS_NAMESPACE = 'TeamsJitAccess';
/** The `service` dimension of every point (one value: graphs and alarms need no per-function sums). */
export const METRICS_SERVICE = 'teams-jit-access';

export const METRIC = {
  requestsByOutcome: 'RequestsByOutcome',
  timeToDecision: 'TimeToDecisionSeconds',
  grantLatency: 'GrantLatencySeconds',
  revocationLag: 'RevocationLagSeconds',
  failuresByKind: 'FailuresByKind',
  breakGlassUses: 'BreakGlassUses',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export const OUTCOMES = ['approved', 'denied', 'timed_out', 'cancelled', 'expired', 'revoked', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * What failed. A fixed list: a dimension value per error message would make one metric per
 * message (cost, and alarms that never match).
 */
export const FAILURE_KINDS = [
  /** A request ended FAILED (grant failed, rolled back, stalled). */
  'request_failed',
  /** The revoke function could not revoke (it retries; RevokeFailures alarms too). */
  'revoke_failed',
  /** A workflow step threw (retried by the state machine before the request fails). */
  'workflow_step',
  /** The approval card could not be posted / the task token not stored. */
  'approval_notice',
  /** A flush of a request's notice outbox failed (the asynchronous invoke retries; reconcile is the backstop). */
  'notice_flush',
  /** The reconcile sweep or its expiring-soon notices failed. */
  'reconcile_failed',
  /** A findings card could not be sent to the channel. */
  'findings_delivery',
  /** An audit event could not be stored. */
  'audit_write',
  /** Security Hub did not import a break-glass finding (alarm BreakGlassFindingNotImported; reconcile retries). */
  'breakglass_finding',
  /** Security Hub did not import another product finding (drift, failed revocation; reconcile retries). */
  'finding_import',
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export type MetricUnitName = 'Count' | 'Seconds';

export interface MetricPoint {
  name: MetricName;
  unit: MetricUnitName;
  value: number;
  /** Besides service and stage: `outcome` or `kind`, never an id. */
  dimensions: Record<string, string>;
}

export type MetricInput =
  /** A write of `request` that carried `event` (one of the audit events of that write). */
  | { kind: 'committed'; event: AuditEvent; request: AccessRequest }
  | { kind: 'failure'; failure: FailureKind };

const OUTCOME_OF: Partial<Record<RequestState, Outcome>> = {
  APPROVED: 'approved',
  DENIED: 'denied',
  TIMED_OUT: 'timed_out',
  CANCELLED: 'cancelled',
  EXPIRED: 'expired',
  REVOKED: 'revoked',
  FAILED: 'failed',
};

/** Seconds from `from` to `to` (ISO strings), never negative; undefined when either is missing or invalid. */
export function secondsBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const a = Date.parse(from);
  const b = Date.parse(to);
  if (Number.isNaN(a) || Number.isNaN(b)) return undefined;
  return Math.max(0, (b - a) / 1000);
}

const count = (name: MetricName, dimensions: Record<string, string> = {}): MetricPoint => ({ name, unit: 'Count', value: 1, dimensions });
const seconds = (name: MetricName, value: number): MetricPoint => ({ name, unit: 'Seconds', value, dimensions: {} });

/**
 * The metric points of one thing that happened. Pure: the same input gives the same points, so the
 * caller decides exactly-once (a committed compare-and-swap write happens once).
 * - RequestsByOutcome{outcome}: every transition into APPROVED or a terminal state.
 * - TimeToDecisionSeconds: submitted -> APPROVED/DENIED by a person (auto-approval is not a decision time).
 * - GrantLatencySeconds: decided -> ACTIVE.
 * - RevocationLagSeconds: grant end -> EXPIRED (from the grant's endsAt), or early revoke asked -> REVOKED.
 * - FailuresByKind{kind}: FAILED transitions (request_failed) and edge failures.
 * - BreakGlassUses: each break-glass submission (it is granted without approval).
 */
export function metricPoints(input: MetricInput): MetricPoint[] {
  if (input.kind === 'failure') return [count(METRIC.failuresByKind, { kind: input.failure })];
  const { event, request } = input;
  if (event.action === 'request.submitted') {
    const route = typeof event.details?.route === 'string' ? event.details.route : request.route;
    return route === 'break_glass' ? [count(METRIC.breakGlassUses)] : [];
  }
  if (event.action !== 'request.transition' || !event.toState) return [];
  const points: MetricPoint[] = [];
  const outcome = OUTCOME_OF[event.toState];
  if (outcome) points.push(count(METRIC.requestsByOutcome, { outcome }));
  switch (event.toState) {
    case 'APPROVED':
    case 'DENIED': {
      if (event.actor.userId === SYSTEM_ACTOR.userId) break;
      const s = secondsBetween(request.createdAt, event.at);
      if (s !== undefined) points.push(seconds(METRIC.timeToDecision, s));
      break;
    }
    case 'ACTIVE': {
      const s = secondsBetween(request.decidedAt, event.at);
      if (s !== undefined) points.push(seconds(METRIC.grantLatency, s));
      break;
    }
    case 'EXPIRED': {
      const s = secondsBetween(request.grant?.endsAt, event.at);
      if (s !== undefined) points.push(seconds(METRIC.revocationLag, s));
      break;
    }
    case 'REVOKED': {
      const s = secondsBetween(request.revocation?.at, event.at);
      if (s !== undefined) points.push(seconds(METRIC.revocationLag, s));
      break;
    }
    case 'FAILED':
      points.push(count(METRIC.failuresByKind, { kind: 'request_failed' }));
      break;
    default:
      break;
  }
  return points;
}
