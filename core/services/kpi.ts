/**
 * The KPIs on demand (the bot's `kpi` command through the bridge's GET /kpis). The numbers are
 * core/kpi.ts computeKpis over the audit trail, exactly what `npm run kpi` and the weekly digest show.
 *
 * Who may see them: the approvers, i.e. members of an approver group of any policy rule. They are
 * the on-call team that already sees every request's card in the on-call channel, so the aggregate
 * tells them nothing they could not count; a requester who approves nothing would learn how often
 * others use break-glass and on which permission sets, which is not theirs to see.
 */
import { computeKpis, digestPeriod, type KpiReport } from '../kpi';
import { DependencyError, NotApproverError } from '../errors';
import type { Actor } from '../model';
import { groupNamesAndIds } from './requests';
import type { CoreDeps } from './types';

const DAY_MS = 24 * 60 * 60 * 1000;
export const KPI_DEFAULT_DAYS = 7;

/** Whether the actor is in an approver group of at least one rule of the current policy. */
export async function isAnyApprover(deps: CoreDeps, actor: Actor): Promise<boolean> {
  const approverGroups = new Set(deps.policy().rules.flatMap((r) => r.approverGroups));
  if (approverGroups.size === 0) return false;
  const groups = await groupNamesAndIds(deps, actor.userId);
  return groups.some((g) => approverGroups.has(g));
}

export async function kpiReport(deps: CoreDeps, input: { actor: Actor; days?: number }): Promise<KpiReport> {
  if (!(await isAnyApprover(deps, input.actor))) throw new NotApproverError('Only approvers (members of an approver group of the policy) may see the access KPIs.');
  if (!deps.auditReader) throw new DependencyError('audit trail', 'The audit trail cannot be read by this deployment.', false);
  const days = input.days ?? KPI_DEFAULT_DAYS;
  const until = deps.clock.now();
  const since = until - days * DAY_MS;
  const sinceIso = new Date(since).toISOString();
  const events = await deps.auditReader.eventsSince(sinceIso);
  return computeKpis(events, { since: sinceIso, until: new Date(until).toISOString(), top: 0 });
}

/**
 * The weekly digest's figures: the DIGEST_DAYS days before the schedule's scheduled time (core/kpi.ts
 * digestPeriod), named by the ISO week they start in. No authorization: only the schedule calls it.
 */
export async function weeklyKpiDigest(deps: Pick<CoreDeps, 'auditReader'>, input: { scheduledTime: string }): Promise<{ weekId: string; report: KpiReport }> {
  if (!deps.auditReader) throw new DependencyError('audit trail', 'The audit trail cannot be read by this deployment.', false);
  const period = digestPeriod(Date.parse(input.scheduledTime));
  const events = await deps.auditReader.eventsSince(period.since);
  return { weekId: period.weekId, report: computeKpis(events, { since: period.since, until: period.until, top: 0 }) };
}
