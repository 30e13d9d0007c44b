/**
 * The `reconcile` function, every 5 minutes: compares live assignments with the grant ledger
 * (revokes expired grants still live, reports drift), sends the expiring-soon notices, and
 * reminds the approvers of undecided requests or escalates them (core/services/reminders.ts: the
 * sweep is the reminders' timer, see docs/POLICY.md `reminders`).
 * All run even if another fails; the function fails if any did, so the Errors alarm fires.
 * Once per cold start it also warns about managed permission sets whose sessions outlive a
 * revocation (SessionDuration over 1 hour); that check never fails the sweep.
 */
import { notifyExpiringSoon, reconcile, remindApprovers, sweepListings } from '../../core/services';
import type { ReconcileResult } from '../../core/services/types';
import { type Log, silentLog } from '../http';
import { inInvocation } from '../observability/correlation';
import { awsMetricsSink, countFailure, type MetricsSink, noMetrics } from '../observability/emf';
import { awsDeps, awsLog, type DepsSource, lambdaBackend, resolveDeps } from '../composition';

export interface ReconcileSummary {
  actions: ReconcileResult['actions'];
  drift: number;
  expiringSoonNotified: number;
  reminded: number;
  escalated: number;
}

export interface ReconcileHandlerOptions {
  log?: Log;
  metrics?: MetricsSink;
  /** Runs on the first invocation of this handler (a cold start); its failure is logged, never thrown. */
  startupCheck?: () => Promise<unknown>;
}

export function createReconcileHandler(source: DepsSource, options: ReconcileHandlerOptions = {}): (event?: unknown) => Promise<ReconcileSummary> {
  const log = options.log ?? silentLog;
  const metrics = options.metrics ?? noMetrics;
  let startupCheck = options.startupCheck;
  return async () => {
    if (startupCheck) {
      const check = startupCheck;
      startupCheck = undefined;
      try {
        await check();
      } catch (e) {
        log.warn('startup check failed', { error: String(e) });
      }
    }
    const resolved = await resolveDeps(source);
    // One listing of the active grants for the sweep and the expiring-soon notices: the sweep's reads follow live grants.
    const deps = { ...resolved, requests: sweepListings(resolved.requests) };
    const [swept, warned, reminded] = await Promise.allSettled([reconcile(deps, {}), notifyExpiringSoon(deps, {}), remindApprovers(deps, {})]);
    if (swept.status === 'rejected') log.error('reconcile failed', { error: String(swept.reason) });
    if (warned.status === 'rejected') log.error('expiring-soon notices failed', { error: String(warned.reason) });
    if (reminded.status === 'rejected') log.error('reminders failed', { error: String(reminded.reason) });
    if (swept.status === 'rejected' || warned.status === 'rejected' || reminded.status === 'rejected') countFailure(metrics, 'reconcile_failed');
    if (swept.status === 'rejected') throw swept.reason;
    if (warned.status === 'rejected') throw warned.reason;
    if (reminded.status === 'rejected') throw reminded.reason;
    const summary: ReconcileSummary = {
      actions: swept.value.actions,
      drift: swept.value.drift.length,
      expiringSoonNotified: countOf(warned.value),
      reminded: reminded.value.reminded.length,
      escalated: reminded.value.escalated.length,
    };
    if (summary.reminded > 0 || summary.escalated > 0) log.info('approvers reminded', { reminded: reminded.value.reminded, escalated: reminded.value.escalated });
    if (summary.actions.length > 0 || summary.drift > 0) log.warn('reconcile acted', { actions: summary.actions, drift: summary.drift });
    else log.debug('reconcile: nothing to do', {});
    return summary;
  };
}

function countOf(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object' && 'notified' in value) {
    const n = (value as { notified: unknown }).notified;
    return Array.isArray(n) ? n.length : typeof n === 'number' ? n : 0;
  }
  return 0;
}

let awsHandler: ((event?: unknown) => Promise<ReconcileSummary>) | undefined;
export const handler = (event?: unknown): Promise<ReconcileSummary> => {
  if (!awsHandler) {
    const log = awsLog('reconcile');
    awsHandler = createReconcileHandler(awsDeps, { log, metrics: awsMetricsSink(), startupCheck: () => lambdaBackend().checkSessionDurations(log) });
  }
  const run = awsHandler;
  return inInvocation(() => run(event));
};
