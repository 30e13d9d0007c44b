/**
 * The bot's one door to cards/: every handler renders through here, so a change in the cards' API
 * is a change to this file. Also turns errors into the card the user sees: refusals keep their
 * server reason under the error catalogue's title (contract/errors.ts), an unreachable bridge
 * says "try again", and nothing internal leaks.
 */
import type { EligibilityResponse, RequestView } from '../../core/api';
import { ERROR_CATALOGUE } from '../../contract/errors';
import { DomainError, ValidationError } from '../../core/errors';
import * as cards from '../../cards';
import type { RequestFormInput } from '../../cards';
import { BridgeRefusal, BridgeUnavailableError } from '../bridge-client';
import { UnidentifiedUserError } from '../identity';
import type { ActionContext, AdaptiveCard } from './types';

export type Tone = 'good' | 'warning' | 'attention' | 'default';

const iso = (ms: number) => new Date(ms).toISOString();

export function messageCard(title: string, text: string, tone: Tone = 'default'): AdaptiveCard {
  return cards.messageCard({ title, text, tone });
}

/**
 * Puts a visible notice (a refusal reason, a warning) at the top of an already rendered card. The
 * text is plain (it may quote display names or a server message): it is markdown-escaped here,
 * once, because a TextBlock renders markdown.
 */
export function withNotice(card: AdaptiveCard, text: string, tone: Tone = 'attention'): AdaptiveCard {
  const color = tone === 'default' ? undefined : tone;
  return { ...card, body: [{ type: 'TextBlock', text: cards.escapeMarkdown(text), wrap: true, weight: 'Bolder', ...(color ? { color } : {}) }, ...card.body] };
}

export async function approvalView(ctx: ActionContext, request: RequestView, viewerIsApprover: boolean): Promise<AdaptiveCard> {
  const approverUserIds = await ctx.deps.approvers.refreshUserIds();
  const sandboxActions = ctx.deps.sandbox?.actionsFor(request);
  return cards.approvalCard(request, { approverUserIds, viewerIsApprover, now: iso(ctx.now), accessPortalUrl: ctx.deps.accessPortalUrl, ...(sandboxActions ? { sandboxActions } : {}) });
}

export function requesterView(ctx: ActionContext, request: RequestView, expiringSoon = false): AdaptiveCard {
  return cards.requesterCard(request, { now: iso(ctx.now), accessPortalUrl: ctx.deps.accessPortalUrl, expiringSoon });
}

export function requestForm(eligibility: EligibilityResponse, o: Omit<RequestFormInput, 'eligibility' | 'searchDataset'>): AdaptiveCard {
  return cards.requestFormCard({ eligibility, searchDataset: ACCOUNT_DATASET, ...o });
}

export function requestList(requests: RequestView[], title: string, emptyText: string, now: number): AdaptiveCard {
  return cards.requestListCard(requests, { title, now: iso(now), emptyText });
}

export const welcome = (isApproverHint?: boolean): AdaptiveCard => cards.welcomeCard({ isApproverHint });
export const help = (): AdaptiveCard => cards.helpCard();

/** The Data.Query dataset of the account typeahead. */
export const ACCOUNT_DATASET = 'accounts';

/** The card for an error a handler did not turn into something better itself. */
export function errorCard(e: unknown, o: { retrySafe?: boolean } = {}): AdaptiveCard {
  if (e instanceof BridgeUnavailableError) {
    const again = o.retrySafe === false
      ? 'It may or may not have been done: check "my requests" before you try again.'
      : 'Nothing is lost: please try again in a moment.';
    const why = e.reason === 'timeout' ? 'The access service did not answer in time.' : 'The access service is not reachable right now.';
    return messageCard('Please try again', `${why} ${again}`, 'warning');
  }
  if (e instanceof UnidentifiedUserError) {
    return messageCard('Who are you?', 'Teams did not say which Entra user you are, so nothing was done. Use the app from your Teams work account.', 'attention');
  }
  if (e instanceof ValidationError) {
    const details = e.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    return messageCard('Not valid', details ? `${e.message} ${details}` : e.message, 'attention');
  }
  if (e instanceof BridgeRefusal || e instanceof DomainError) {
    return messageCard(ERROR_CATALOGUE[e.code]?.title ?? 'Not possible', e.message, 'attention');
  }
  return messageCard('Something went wrong', 'The bot could not do that. Nothing was changed; please try again, and tell your platform team if it keeps happening.', 'attention');
}

/** Refusals that are about the request's state or the viewer's rights, after which the current state is worth showing. */
export function isRefusalAboutRequest(e: unknown): e is BridgeRefusal {
  return e instanceof BridgeRefusal && ERROR_CATALOGUE[e.code]?.aboutRequestState === true;
}
