/**
 * `application/search` (Data.Query) for the request form's account typeahead: only accounts the
 * user is eligible for, from the eligibility cache (one bridge call per user per minute typically).
 */
import { accountSearchResults } from '../../cards';
import type { ActionContext } from './types';
import { ACCOUNT_DATASET } from './render';

export const SEARCH_MAX_RESULTS = 15;

export interface SearchQuery {
  dataset?: unknown;
  queryText?: unknown;
  queryOptions?: { top?: unknown; skip?: unknown };
}

export default async function accountSearch(ctx: ActionContext, query: SearchQuery): Promise<Array<{ title: string; value: string }> | undefined> {
  if (query.dataset !== ACCOUNT_DATASET) return undefined;
  const text = typeof query.queryText === 'string' ? query.queryText : '';
  const top = typeof query.queryOptions?.top === 'number' && query.queryOptions.top > 0 ? Math.min(query.queryOptions.top, SEARCH_MAX_RESULTS) : SEARCH_MAX_RESULTS;
  const matches = await ctx.deps.eligibility.search(await ctx.actor(), text, top);
  return accountSearchResults(matches.map((m) => ({ id: m.id, name: m.name })));
}
