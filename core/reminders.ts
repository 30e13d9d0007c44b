/**
 * Reminders and escalation of undecided requests (docs/POLICY.md `reminders`): which step is due,
 * and who may vote once a request is escalated. Pure functions of the request and a time; the
 * sweep that acts on them is services/reminders.ts.
 *
 * Every step counts from when the approval card was posted (the approval deadline counts from
 * there too) and lies before the deadline, which reminders never move. Reminders that fell due
 * while nothing ran (a sweep that failed for a while) are not sent one by one: only the latest.
 */
import type { AccessRequest, EffectiveTerms, ReminderTerms } from './model';
import { ms } from './time';

export type ReminderStep =
  /** Reminder `number` (from 1) is due. */
  | { kind: 'remind'; number: number }
  /** The escalation is due; it stands for every reminder due by now (`number`, maybe 0). */
  | { kind: 'escalate'; number: number };

/** The number of the latest reminder due by `now`, counted from the card's post (0: none yet). */
export function remindersDue(terms: ReminderTerms, postedAt: number, deadline: number, now: number): number {
  const first = postedAt + terms.afterSeconds * 1000;
  const last = Math.min(now, deadline - 1);
  if (last < first) return 0;
  if (!terms.everySeconds) return 1;
  return 1 + Math.floor((last - first) / (terms.everySeconds * 1000));
}

/** What is due for this request now, or undefined: decided, not an approval, card not posted, past its deadline, or nothing new. */
export function dueReminderStep(request: Pick<AccessRequest, 'state' | 'route' | 'cardPostedAt' | 'approvalDeadline' | 'terms' | 'reminders'>, now: number): ReminderStep | undefined {
  const terms = request.terms.reminders;
  if (!terms || request.state !== 'PENDING_APPROVAL' || request.route !== 'approval' || !request.cardPostedAt) return undefined;
  const posted = ms(request.cardPostedAt);
  const deadline = ms(request.approvalDeadline);
  if (now >= deadline) return undefined;
  const sent = request.reminders?.sent ?? 0;
  const due = remindersDue(terms, posted, deadline, now);
  const escalation = terms.escalation;
  if (escalation && !request.reminders?.escalation && now >= posted + escalation.afterSeconds * 1000) return { kind: 'escalate', number: Math.max(sent, due) };
  if (due > sent) return { kind: 'remind', number: due };
  return undefined;
}

/**
 * The terms a vote is checked against: once escalated, the escalation groups' members are
 * approvers too. Everything else stands: the quorum, and self-approval is still refused
 * (evaluateApprover checks it first). Before the escalation, those groups approve nothing.
 */
export function approvalTerms(request: Pick<AccessRequest, 'terms' | 'reminders'>): EffectiveTerms {
  const extra = request.reminders?.escalation?.groups ?? [];
  if (extra.length === 0) return request.terms;
  return { ...request.terms, approverGroups: [...new Set([...request.terms.approverGroups, ...extra])] };
}
