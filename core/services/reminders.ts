/**
 * Reminding the approvers of undecided requests, and escalating them (core/reminders.ts says what
 * is due). Run by the reconcile sweep: each due step is one compare-and-swap write of the request,
 * with its audit event and its notice in the same write (the outboxes), so a step is taken once
 * however often the sweep runs or is replayed, and a request decided meanwhile gets nothing: the
 * write re-reads the request and loses to the decision. The bot posts the reminder only while the
 * request it is handed is still undecided, and once per reminder number (bot/notifications).
 */
import { amend } from '../lifecycle';
import type { ReminderState, StoredRequest } from '../model';
import { SYSTEM_ACTOR } from '../model';
import { dueReminderStep } from '../reminders';
import { humanDuration, iso, ms } from '../time';
import { announce, commit, load, withRetry } from './context';
import type { CoreDeps } from './types';

export interface ReminderSweep {
  reminded: Array<{ requestId: string; number: number }>;
  escalated: string[];
}

export async function remindApprovers(deps: CoreDeps, _input: object = {}): Promise<ReminderSweep> {
  const out: ReminderSweep = { reminded: [], escalated: [] };
  const now = deps.clock.now();
  for (const r of await deps.requests.list({ states: ['PENDING_APPROVAL'] })) {
    if (!dueReminderStep(r, now)) continue;
    try {
      const done = await remindOne(deps, r.id, now);
      if (!done) continue;
      if (done.kind === 'escalate') out.escalated.push(r.id);
      else out.reminded.push({ requestId: r.id, number: done.number });
    } catch (e) {
      deps.log?.warn('reminder failed; the next sweep tries again', { requestId: r.id, error: String(e) });
    }
  }
  return out;
}

/** One due step of one request, written once (undefined: nothing due any more, decided, or done by a concurrent sweep). */
export async function remindOne(deps: CoreDeps, requestId: string, now: number): Promise<{ kind: 'remind' | 'escalate'; number: number } | undefined> {
  const next = await withRetry(async (): Promise<{ request: StoredRequest; kind: 'remind' | 'escalate'; number: number } | undefined> => {
    const c = await load(deps, requestId);
    const step = dueReminderStep(c, now);
    if (!step) return undefined;
    const waited = humanDuration((now - ms(c.cardPostedAt!)) / 1000);
    const votes = `${c.votes.filter((v) => v.decision === 'approve').length} of ${c.terms.approvalsRequired} approvals`;
    if (step.kind === 'escalate') {
      const esc = c.terms.reminders!.escalation!;
      const to = [...esc.groups, ...(esc.channelId ? [`channel ${esc.channelId}`] : [])].join(', ');
      const state: ReminderState = { sent: step.number, lastAt: iso(now), escalation: { at: iso(now), groups: esc.groups, ...(esc.channelId ? { channelId: esc.channelId } : {}) } };
      const change = amend(c, 'request.escalated', {
        actor: SYSTEM_ACTOR,
        now,
        reason: `No decision after ${waited} (${votes}): escalated to ${to}. Its members may approve from now on; the deadline stays ${c.approvalDeadline}.`,
        patch: { reminders: state },
        details: { groups: esc.groups.join(', '), channelId: esc.channelId, approvalDeadline: c.approvalDeadline },
      });
      return { request: await commit(deps, c, change, ['escalated']), kind: 'escalate', number: step.number };
    }
    const state: ReminderState = { ...(c.reminders ?? {}), sent: step.number, lastAt: iso(now) };
    const change = amend(c, 'request.reminded', {
      actor: SYSTEM_ACTOR,
      now,
      reason: `Reminder ${step.number}: no decision after ${waited} (${votes}); the approvers were reminded. The deadline stays ${c.approvalDeadline}.`,
      patch: { reminders: state },
      details: { reminder: step.number, approvalDeadline: c.approvalDeadline },
    });
    return { request: await commit(deps, c, change, ['reminder']), kind: 'remind', number: step.number };
  });
  if (!next) return undefined;
  await announce(deps, next.request);
  return { kind: next.kind, number: next.number };
}
