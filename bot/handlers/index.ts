/**
 * Verb -> handler. One file per verb; the dispatcher in bot/turns.ts knows only this table.
 * Typed as the mapped ActionHandlerTable, with no cast: a missing verb, an unknown verb or a handler
 * filed under another verb's key is a compile error (test/types/verb-completeness.ts and
 * test/unit/bot-verb-completeness.test.ts prove it).
 */
import type { z } from 'zod';
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
import sandboxAct from './sandbox-act';
import type { ActionHandler } from './types';

/** Exactly one handler per card verb, each filed under its own verb. */
export type ActionHandlerTable = { readonly [V in CardVerb]: ActionHandler<z.ZodType, V> };

export const ACTION_HANDLERS: ActionHandlerTable = {
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
  'sandbox.act': sandboxAct,
};

export function handlerFor(verb: unknown): ActionHandler | undefined {
  return typeof verb === 'string' && Object.hasOwn(ACTION_HANDLERS, verb) ? ACTION_HANDLERS[verb as CardVerb] : undefined;
}

export { default as accountSearch } from './account-search';
export type { ActionContext, ActionHandler, HandlerDeps, SandboxActing } from './types';
