/**
 * `application/search` (Data.Query) for the request form's account typeahead: only accounts the
 * user is eligible for, from the eligibility cache (one bridge call per user per minute typically).
 *
 * The query is typed by a person and may hold anything: control characters, bidirectional
 * controls, lone surrogates, thousands of characters. It is sanitized before it reaches the bridge
 * (core/api.ts `sanitizeSearchQuery`, the same rules the bridge validates with); a query that holds
 * nothing searchable finds nothing, and a query the bridge still refuses (VALIDATION) finds nothing
 * too: a typeahead answers with no results, never with "try again".
 */
import { accountSearchResults } from '../../cards';
import { sanitizeSearchQuery } from '../../core/api';
import { DomainError } from '../../core/errors';
import type { ActionContext } from './types';
import { ACCOUNT_DATASET } from './render';

/**
 * Teams shows at most 15 options in a dynamic typeahead's dropdown ("Typeahead search in Adaptive
 * Cards", learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/dynamic-search).
 * The form only uses the typeahead above STATIC_ACCOUNT_CHOICES_MAX (cards/render.ts) accounts.
 */
export const SEARCH_MAX_RESULTS = 15;

export interface SearchQuery {
  dataset?: unknown;
  queryText?: unknown;
  queryOptions?: { top?: unknown; skip?: unknown };
}

export default async function accountSearch(ctx: ActionContext, query: SearchQuery): Promise<Array<{ title: string; value: string }> | undefined> {
  if (query.dataset !== ACCOUNT_DATASET) return undefined;
  const raw = typeof query.queryText === 'string' ? query.queryText : '';
  const text = sanitizeSearchQuery(raw);
  // Only control characters (or only blanks that were not blank before): nothing to look for.
  if (text === '' && raw.trim() !== '') return [];
  const top = typeof query.queryOptions?.top === 'number' && query.queryOptions.top > 0 ? Math.min(query.queryOptions.top, SEARCH_MAX_RESULTS) : SEARCH_MAX_RESULTS;
  let matches;
  try {
    matches = await ctx.deps.eligibility.search(await ctx.actor(), text, top);
  } catch (e) {
    if (e instanceof DomainError && e.code === 'VALIDATION') {
      ctx.deps.log.warn('account search query refused by the bridge', { length: raw.length });
      return [];
    }
    throw e;
  }
  return accountSearchResults(matches.map((m) => ({ id: m.id, name: m.name })));
}
