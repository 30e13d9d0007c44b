/**
 * The plain message texts that go with notification cards: the requester's 1:1 summary of an
 * event, and the lead line of a channel post (before the approvers' @mentions). Pure functions of
 * the request; user-provided parts of a channel lead are escaped (it is rendered as message text).
 */
import type { NotificationEvent as NotificationEventName } from '../contract/notify';
import type { RequestView } from '../core/api';
import { escapeMessageText } from './escape';

/** The requester's text for an event they must hear about (sent as plain text with their card). */
export function requesterSummary(event: NotificationEventName, r: RequestView): string {
  const what = `${r.permissionSetName} on ${r.accountName} (${r.accountId})`;
  const by = r.decidedBy ? ` by ${r.decidedBy.displayName}` : '';
  const why = r.decisionReason ? `: "${r.decisionReason}"` : '';
  switch (event) {
    case 'approved':
      return `Your request for ${what} was approved${by}${why}.`;
    case 'denied':
      return `Your request for ${what} was denied${by}${why}.`;
    case 'timed_out':
      return `Your request for ${what} timed out without a decision.`;
    case 'active':
      return `Your access to ${what} is active${r.grant ? ` until ${r.grant.endsAt}` : ''}.`;
    case 'expiring_soon':
      return `Your access to ${what} expires soon${r.grant ? ` (${r.grant.endsAt})` : ''}. You can extend it.`;
    case 'expired':
      return `Your access to ${what} has expired.`;
    case 'revoked':
      return `Your access to ${what} was revoked${r.endedBy ? ` by ${r.endedBy.displayName}` : ''}${r.endReason ? `: "${r.endReason}"` : ''}.`;
    case 'failed':
      return `Your access to ${what} could not be granted${r.failureReason ? `: ${r.failureReason}` : ''}.`;
    default:
      return `Your request for ${what} is now ${r.state.toLowerCase().replace(/_/g, ' ')}.`;
  }
}

/** The lead of the channel post of an approval or break-glass card; the approvers' mentions follow it. */
export function channelPostLead(kind: 'approval' | 'breakglass', request: RequestView): string {
  return kind === 'breakglass'
    ? `Break-glass access was used by ${escapeMessageText(request.requester.displayName)} on ${escapeMessageText(request.accountName)} (${escapeMessageText(request.accountId)}). A post-incident review is needed:`
    : `Access request from ${escapeMessageText(request.requester.displayName)} for ${escapeMessageText(request.permissionSetName)} on ${escapeMessageText(request.accountName)}. Approvers:`;
}
