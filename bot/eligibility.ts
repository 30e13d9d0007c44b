/**
 * The user's eligibility, cached briefly so that account typeahead stays fast: one bridge call per
 * user per minute in the common case. When the first answer holds the user's whole list (total <=
 * what came back), every keystroke after it is filtered locally.
 */
import type { EligibilityResponse } from '../core/api';
import type { ActorIdentity, BridgeClient } from './bridge-client';

type Account = EligibilityResponse['accounts'][number];

export interface AccountMatch {
  id: string;
  name: string;
  permissionSets: Account['permissionSets'];
}

export class EligibilityCache {
  private readonly entries = new Map<string, { at: number; answer: EligibilityResponse; complete: boolean; q: string }>();
  private readonly inflight = new Map<string, Promise<EligibilityResponse>>();

  constructor(
    private readonly bridge: Pick<BridgeClient, 'eligibility'>,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 2000,
  ) {}

  /** Accounts whose name or id contains `query` (case-insensitive), best matches first. */
  async search(actor: ActorIdentity, query: string, limit: number, signal?: AbortSignal): Promise<AccountMatch[]> {
    const q = query.trim().toLowerCase().slice(0, 64);
    const user = `${actor.tenantId}/${actor.aadObjectId.toLowerCase()}`;
    const full = this.fresh(`${user}|`);
    if (full?.complete) return rank(full.answer.accounts, q).slice(0, limit);
    // The bridge already filtered by its own matching rules: keep its answer, only order it.
    const answer = await this.load(`${user}|${q}`, () => this.bridge.eligibility(actor, { ...(q ? { q } : {}), limit: 50 }, { signal }), q);
    return rank(answer.accounts, '').slice(0, limit);
  }

  /** One account's entry (permission sets, durations), or undefined when not eligible. */
  async account(actor: ActorIdentity, accountId: string, signal?: AbortSignal): Promise<AccountMatch | undefined> {
    const user = `${actor.tenantId}/${actor.aadObjectId.toLowerCase()}`;
    const full = this.fresh(`${user}|`);
    if (full?.complete) return full.answer.accounts.find((a) => a.id === accountId);
    const answer = await this.load(`${user}|#${accountId}`, () => this.bridge.eligibility(actor, { accountId, limit: 1 }, { signal }), `#${accountId}`);
    return answer.accounts.find((a) => a.id === accountId);
  }

  /** The first page of the user's eligibility (for the request card). */
  async overview(actor: ActorIdentity, signal?: AbortSignal): Promise<EligibilityResponse> {
    const user = `${actor.tenantId}/${actor.aadObjectId.toLowerCase()}`;
    return this.load(`${user}|`, () => this.bridge.eligibility(actor, { limit: 50 }, { signal }), '');
  }

  private fresh(key: string) {
    const e = this.entries.get(key);
    if (e && this.now() - e.at < this.ttlMs) return e;
    if (e) this.entries.delete(key);
    return undefined;
  }

  private load(key: string, fetcher: () => Promise<EligibilityResponse>, q: string): Promise<EligibilityResponse> {
    const hit = this.fresh(key);
    if (hit) return Promise.resolve(hit.answer);
    let p = this.inflight.get(key);
    if (!p) {
      p = fetcher()
        .then((answer) => {
          if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
          this.entries.set(key, { at: this.now(), answer, complete: q === '' && answer.total <= answer.accounts.length, q });
          return answer;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }
}

function rank(accounts: Account[], q: string): Account[] {
  if (!q) return [...accounts].sort((a, b) => a.name.localeCompare(b.name));
  const scored = accounts
    .map((a) => {
      const name = a.name.toLowerCase();
      const score = name.startsWith(q) || a.id.startsWith(q) ? 0 : name.includes(q) || a.id.includes(q) ? 1 : -1;
      return { a, score };
    })
    .filter((s) => s.score >= 0);
  scored.sort((x, y) => x.score - y.score || x.a.name.localeCompare(y.a.name));
  return scored.map((s) => s.a);
}
