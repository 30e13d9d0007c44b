/** Pieces several verb handlers share: the request form, viewer checks, refusals shown with the current state. */
import { REQUEST_FORM_FIELDS } from '../../cards';
import type { RequestView } from '../../core/api';
import { DomainError, type FieldIssue } from '../../core/errors';
import { stateRefusal } from '../../core/lifecycle';
import type { ActorIdentity } from '../bridge-client';
import { approvalView, errorCard, requestForm, requesterView, withNotice } from './render';
import type { ActionContext, AdaptiveCard } from './types';

export type FormValues = NonNullable<Parameters<typeof requestForm>[1]['values']>;

export interface FormState {
  clientRequestId: string;
  values?: FormValues;
  errors?: FieldIssue[];
}

/** The request form for the actor's eligibility, keeping what they entered. */
export async function buildRequestForm(ctx: ActionContext, state: FormState): Promise<AdaptiveCard> {
  const actor = await ctx.actor();
  let eligibility = await ctx.deps.eligibility.overview(actor);
  const accountId = state.values?.accountId;
  // The first page may not hold an account found through typeahead: add it so its permission sets show.
  if (accountId && !eligibility.accounts.some((a) => a.id === accountId)) {
    const account = await ctx.deps.eligibility.account(actor, accountId);
    if (account) eligibility = { ...eligibility, accounts: [account, ...eligibility.accounts] };
  }
  return requestForm(eligibility, {
    clientRequestId: state.clientRequestId,
    selectedAccountId: accountId,
    selectedPermissionSet: state.values?.permissionSetName,
    values: state.values,
    errors: state.errors,
  });
}

const FORM_FIELDS = new Set<string>(Object.values(REQUEST_FORM_FIELDS));

/** Issues from the bridge name body paths (`durationMinutes`, `body.ticketId`): map them to form inputs. */
export function formIssues(issues: readonly FieldIssue[]): FieldIssue[] {
  return issues.map((i) => {
    const last = i.path.split('.').pop() ?? i.path;
    return { path: FORM_FIELDS.has(last) ? last : i.path, message: i.message };
  });
}

/** Whatever the user typed, as far as it can be shown again (raw card data, never trusted). */
export function looseFormValues(raw: unknown): FormValues {
  const d = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const text = (k: string, max: number) => (typeof d[k] === 'string' ? (d[k] as string).slice(0, max) : undefined);
  const minutes = typeof d.durationMinutes === 'number' ? d.durationMinutes : Number.parseInt(text('durationMinutes', 10) ?? '', 10);
  const values: FormValues = {};
  const accountId = text('accountId', 12);
  if (accountId && /^\d{12}$/.test(accountId)) values.accountId = accountId;
  const ps = text('permissionSetName', 32);
  if (ps) values.permissionSetName = ps;
  if (Number.isInteger(minutes) && minutes > 0) values.durationMinutes = minutes;
  const justification = text('justification', 2000);
  if (justification !== undefined) values.justification = justification;
  const ticket = text('ticketId', 256);
  if (ticket) values.ticketId = ticket;
  if (d.breakGlass === true || d.breakGlass === 'true') values.breakGlass = true;
  return values;
}

export function isRequester(actor: ActorIdentity, request: RequestView): boolean {
  return !!request.requester.aadObjectId && request.requester.aadObjectId.toLowerCase() === actor.aadObjectId.toLowerCase();
}

export function hasVoted(actor: ActorIdentity, request: RequestView): boolean {
  return request.votes.some((v) => v.approver.aadObjectId?.toLowerCase() === actor.aadObjectId.toLowerCase());
}

/** The card a viewer should see for a request: the requester's own, or the approval card. */
export async function viewFor(ctx: ActionContext, request: RequestView, o: { viewerIsApprover?: boolean } = {}): Promise<AdaptiveCard> {
  const actor = await ctx.actor();
  if (isRequester(actor, request)) return requesterView(ctx, request);
  return approvalView(ctx, request, o.viewerIsApprover ?? false);
}

/**
 * A refusal about a request (already decided, not an approver, ...): the reason on top of the
 * request's current state, read from the bridge, so the user sees what is true now. A refusal
 * because of the state is worded from the state just read (core/lifecycle.ts `stateRefusal`), one
 * natural sentence per state, whatever the server's sentence said.
 */
export async function refusalWithState(ctx: ActionContext, refusal: Error, requestId: string, view: (r: RequestView) => Promise<AdaptiveCard> | AdaptiveCard): Promise<AdaptiveCard> {
  try {
    const { request } = await ctx.deps.bridge.getRequest(await ctx.actor(), requestId);
    const reason = refusal instanceof DomainError && refusal.code === 'ILLEGAL_TRANSITION' ? stateRefusal(request) : refusal.message;
    return withNotice(await view(request), reason, 'attention');
  } catch {
    return errorCard(refusal);
  }
}
