/**
 * The texts of reminders and escalations (core/reminders.ts): the reply in the approval card's
 * thread (its @mentions follow the lead), the escalation channel's post, and the requester's 1:1
 * line. Pure functions of the request; user-provided parts of channel text are escaped (message
 * text is markdown with `<at>` tags: cards/escape.ts). Requester lines are sent as plain text.
 */
import type { RequestView } from '../core/api';
import { escapeMessageText } from './escape';

function utc(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

function waited(r: RequestView, nowIso: string): string {
  const minutes = r.cardPostedAt ? Math.max(0, Math.round((Date.parse(nowIso) - Date.parse(r.cardPostedAt)) / 60_000)) : 0;
  return minutes >= 120 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
}

function approvals(r: RequestView): string {
  return `${r.votes.filter((v) => v.decision === 'approve').length} of ${r.terms.approvalsRequired} approvals`;
}

function groupsLabel(groups: readonly string[]): string {
  return groups.length === 0 ? '' : groups.join(' or ');
}

/** The reply in the approval card's thread; the approvers' mentions (or the tag) follow it. */
export function reminderLead(r: RequestView, nowIso: string): string {
  const n = r.reminders?.sent ?? 1;
  return `Reminder${n > 1 ? ` ${n}` : ''}: the request from ${escapeMessageText(r.requester.displayName)} for ${escapeMessageText(r.permissionSetName)} on ${escapeMessageText(r.accountName)} has waited ${waited(r, nowIso)} (${approvals(r)}). It times out at ${utc(r.approvalDeadline)}.`;
}

/** The escalation's reply in the approval card's thread (the escalation tag, if any, follows). */
export function escalationLead(r: RequestView, nowIso: string): string {
  const esc = r.reminders?.escalation;
  const groups = groupsLabel(esc?.groups ?? []);
  const who = groups ? ` Members of ${escapeMessageText(groups)} may approve it from now on.` : '';
  const where = esc?.channelId ? ' It was also posted in the escalation channel.' : '';
  return `Escalated: no decision on the request from ${escapeMessageText(r.requester.displayName)} for ${escapeMessageText(r.permissionSetName)} on ${escapeMessageText(r.accountName)} after ${waited(r, nowIso)} (${approvals(r)}).${who}${where} It still times out at ${utc(r.approvalDeadline)}.`;
}

/** The lead of the escalation channel's post (a new thread with the approval card). */
export function escalationChannelLead(r: RequestView, nowIso: string): string {
  const groups = groupsLabel(r.reminders?.escalation?.groups ?? []);
  return `Escalated access request: ${escapeMessageText(r.requester.displayName)} asks for ${escapeMessageText(r.permissionSetName)} on ${escapeMessageText(r.accountName)}, undecided after ${waited(r, nowIso)} in the on-call channel.${groups ? ` Members of ${escapeMessageText(groups)} may approve (open the card, or "pending" in your chat with the bot).` : ''} It times out at ${utc(r.approvalDeadline)}.`;
}

/** What the requester is told, in plain text, in their 1:1 chat. */
export function requesterReminderText(event: 'reminder' | 'escalated', r: RequestView, mentioned: { people: number; tag?: string }): string {
  const what = `${r.permissionSetName} on ${r.accountName} (${r.accountId})`;
  const deadline = `It times out at ${utc(r.approvalDeadline)} if nobody decides.`;
  if (event === 'escalated') {
    const esc = r.reminders?.escalation;
    const to = [groupsLabel(esc?.groups ?? []), esc?.channelId ? 'the escalation channel' : ''].filter(Boolean).join(' and ');
    return `No decision yet on your request for ${what}: it was escalated to ${to || 'the secondary approvers'}. ${deadline}`;
  }
  const whom = mentioned.tag ? `@${mentioned.tag}` : mentioned.people > 0 ? `the on-call approvers (${mentioned.people})` : 'the on-call approvers';
  return `No decision yet on your request for ${what}: reminded ${whom} in the approval thread. ${deadline}`;
}
