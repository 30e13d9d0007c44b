/** Verb -> handler. One file per verb; the dispatcher in bot/app.ts knows only this table. */
import type { CardVerb } from '../../cards';
import approvalApprove from './approval-approve';
import approvalDeny from './approval-deny';
import approvalRefresh from './approval-refresh';
import grantExtend from './grant-extend';
import grantRevoke from './grant-revoke';
import menuHelp from './menu-help';
import menuMine from './menu-mine';
import menuPending from './menu-pending';
import menuRequest from './menu-request';
import requestCancel from './request-cancel';
import requestForm from './request-form';
import requestSubmit from './request-submit';
import requestView from './request-view';
import reviewAcknowledge from './review-acknowledge';
import type { ActionHandler } from './types';

export const ACTION_HANDLERS: Readonly<Record<CardVerb, ActionHandler>> = {
  'request.form': requestForm,
  'request.submit': requestSubmit,
  'request.cancel': requestCancel,
  'request.view': requestView,
  'approval.approve': approvalApprove,
  'approval.deny': approvalDeny,
  'approval.refresh': approvalRefresh,
  'review.acknowledge': reviewAcknowledge,
  'grant.revoke': grantRevoke,
  'grant.extend': grantExtend,
  'menu.request': menuRequest,
  'menu.mine': menuMine,
  'menu.pending': menuPending,
  'menu.help': menuHelp,
} as Record<CardVerb, ActionHandler>;

export function handlerFor(verb: unknown): ActionHandler | undefined {
  return typeof verb === 'string' && Object.hasOwn(ACTION_HANDLERS, verb) ? ACTION_HANDLERS[verb as CardVerb] : undefined;
}

export { default as accountSearch } from './account-search';
export type { ActionContext, ActionHandler, HandlerDeps } from './types';
