/**
 * The `reconcile` function, every 5 minutes: compares live assignments with the grant ledger
 * (revokes expired grants still live, reports drift) and sends the expiring-soon notices.
 * Both run even if the other fails; the function fails if either did, so the Errors alarm fires.
 */
import { notifyExpiringSoon, reconcile } from '../../core/services';
import type { ReconcileResult } from '../../core/services/types';
import { type Log, silentLog } from '../http';
import { awsDeps, awsLog, type DepsSource, resolveDeps } from '../wiring';

export interface ReconcileSummary {
  actions: ReconcileResult['actions'];
  drift: number;
  expiringSoonNotified: number;
}

export function createReconcileHandler(source: DepsSource, options: { log?: Log } = {}): (event?: unknown) => Promise<ReconcileSummary> {
  const log = options.log ?? silentLog;
  return async () => {
    const deps = await resolveDeps(source);
    const [swept, warned] = await Promise.allSettled([reconcile(deps, {}), notifyExpiringSoon(deps, {})]);
    if (swept.status === 'rejected') log.error('reconcile failed', { error: String(swept.reason) });
    if (warned.status === 'rejected') log.error('expiring-soon notices failed', { error: String(warned.reason) });
    if (swept.status === 'rejected') throw swept.reason;
    if (warned.status === 'rejected') throw warned.reason;
    const summary: ReconcileSummary = {
      actions: swept.value.actions,
      drift: swept.value.drift.length,
      expiringSoonNotified: countOf(warned.value),
    };
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
  awsHandler ??= createReconcileHandler(awsDeps, { log: awsLog('reconcile') });
  return awsHandler(event);
};
