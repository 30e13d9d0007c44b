/**
 * Who is @mentioned on channel cards: the configured approver list (JIT_APPROVER_AAD_IDS), with
 * each approver's Teams id and name from the conversation store when they have talked to the bot,
 * else from the on-call team's roster. The list is for display (and the approval card's
 * refresh.userIds) only: the bridge decides who may vote from the policy's approver groups.
 */
import type { ConversationStore } from '../storage/types';

/** Teams shows a user-specific view to at most 60 users. */
export const MAX_REFRESH_USERS = 60;

export interface Approver {
  aadObjectId: string;
  /** The id Teams knows the user by in this bot's conversations, or their MRI. */
  teamsUserId: string;
  name: string;
}

/** Looks a team member up by Entra object id (the Teams roster of the on-call team). */
export type TeamRoster = (aadObjectId: string) => Promise<{ id?: string; name?: string } | undefined>;

export class ApproverDirectory {
  private readonly fromRoster = new Map<string, { id?: string; name?: string; at: number }>();
  private readonly lookups = new Map<string, Promise<{ id?: string; name?: string; at: number }>>();

  constructor(
    private readonly aadObjectIds: readonly string[],
    private readonly store: Pick<ConversationStore, 'getUserReference'>,
    /** For approvers who never chatted with the bot: their name for the @mention. */
    private readonly roster?: TeamRoster,
    private readonly now: () => number = Date.now,
  ) {}

  async list(): Promise<Approver[]> {
    return Promise.all(
      this.aadObjectIds.slice(0, MAX_REFRESH_USERS).map(async (aadObjectId) => {
        const ref = await this.store.getUserReference(aadObjectId).catch(() => undefined);
        const user = ref?.user?.name ? ref.user : await this.member(aadObjectId);
        return { aadObjectId, teamsUserId: user?.id || `8:orgid:${aadObjectId}`, name: user?.name || 'Approver' };
      }),
    );
  }

  /**
   * Roster answers are kept for an hour, failures for a minute: posting a card never waits on a
   * slow roster twice. Cards rendered at the same moment (a burst of requests) share one lookup
   * per approver, and a failed lookup never replaces a name already known: the cards would flip
   * between the approver's Teams id and `8:orgid:` in refresh.userIds, and each flip is a card
   * update in the channel, whose writes all the burst's approval cards share.
   */
  private member(aadObjectId: string): Promise<{ id?: string; name?: string } | undefined> {
    if (!this.roster) return Promise.resolve(undefined);
    const hit = this.fromRoster.get(aadObjectId);
    const ttl = hit?.name ? 3_600_000 : 60_000;
    if (hit && this.now() - hit.at < ttl) return Promise.resolve(hit);
    const inFlight = this.lookups.get(aadObjectId);
    if (inFlight) return inFlight;
    const lookup = this.roster(aadObjectId)
      .catch(() => undefined)
      .then((found) => {
        const known = this.fromRoster.get(aadObjectId);
        const entry = found?.name || !known?.name ? { ...(found ?? {}), at: this.now() } : { ...known, at: this.now() - 3_600_000 + 60_000 };
        this.fromRoster.set(aadObjectId, entry);
        return entry;
      })
      .finally(() => this.lookups.delete(aadObjectId));
    this.lookups.set(aadObjectId, lookup);
    return lookup;
  }

  async refreshUserIds(): Promise<string[]> {
    return (await this.list()).map((a) => a.teamsUserId);
  }
}
