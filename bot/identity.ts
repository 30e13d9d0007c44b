/**
 * Who is acting. The actor ALWAYS comes from the authenticated activity (`from.aadObjectId`, the
 * tenant in channelData / conversation), never from card data. The Teams roster adds the UPN or
 * email, which the bridge maps to an Identity Center user. Roster answers are cached briefly: a
 * burst of clicks costs one lookup, and a renamed or removed user is picked up within minutes.
 */
import type { InboundActivity, Turn } from './activity';
import type { ActorIdentity } from './bridge-client';
import type { Log } from './log';
import { errorDetails, silentLog } from './log';

/** A member of the conversation as the Teams roster describes them. */
export interface RosterMember {
  aadObjectId?: string;
  userPrincipalName?: string;
  email?: string;
  name?: string;
}

/** The roster port: bot/teams/roster.ts asks Teams about the turn's conversation. */
export interface RosterLookup {
  getMember(turn: Turn, userId: string): Promise<RosterMember | undefined>;
}

export class UnidentifiedUserError extends Error {
  constructor() {
    super('This activity carries no Entra user id.');
    this.name = 'UnidentifiedUserError';
  }
}

/** The tenant of an activity; both places must agree when both are present. */
export function tenantOf(activity: Pick<InboundActivity, 'channelData' | 'conversation'>): string | undefined {
  const fromChannelData = (activity.channelData as { tenant?: { id?: unknown } } | undefined)?.tenant?.id;
  const fromConversation = activity.conversation?.tenantId;
  const a = typeof fromChannelData === 'string' ? fromChannelData.toLowerCase() : undefined;
  const b = typeof fromConversation === 'string' ? fromConversation.toLowerCase() : undefined;
  if (a && b && a !== b) return undefined;
  return a ?? b;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LOGIN = /^[^\s@]{1,128}@[^\s@]{1,128}$/;

export interface IdentityResolverOptions {
  ttlMs?: number;
  /** A slow roster must not eat the invoke's 15 s: after this, go on without the UPN. */
  rosterTimeoutMs?: number;
  maxEntries?: number;
  now?: () => number;
  log?: Log;
}

export class IdentityResolver {
  private readonly cache = new Map<string, { upn?: string; at: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly log: Log;
  private readonly rosterTimeoutMs: number;

  constructor(
    private readonly roster: RosterLookup,
    options: IdentityResolverOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.maxEntries = options.maxEntries ?? 5000;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? silentLog;
    this.rosterTimeoutMs = options.rosterTimeoutMs ?? 3000;
  }

  private lookup(context: Turn, userId: string): ReturnType<RosterLookup['getMember']> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the Teams roster did not answer within ${this.rosterTimeoutMs} ms`)), this.rosterTimeoutMs);
    });
    return Promise.race([this.roster.getMember(context, userId), timeout]).finally(() => clearTimeout(timer));
  }

  async actorFor(context: Turn): Promise<ActorIdentity> {
    const activity = context.activity;
    const aadObjectId = activity.from?.aadObjectId;
    const tenantId = tenantOf(activity);
    if (!aadObjectId || !GUID.test(aadObjectId) || !tenantId) throw new UnidentifiedUserError();
    const displayName = typeof activity.from.name === 'string' ? activity.from.name.slice(0, 256) : undefined;
    const key = `${tenantId}/${aadObjectId.toLowerCase()}`;
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return { aadObjectId, tenantId, upn: hit.upn, displayName };

    let upn: string | undefined;
    try {
      const member = await this.lookup(context, activity.from.id);
      // The roster must describe the same person the activity is from.
      if (member && (!member.aadObjectId || member.aadObjectId.toLowerCase() === aadObjectId.toLowerCase())) {
        const login = member.userPrincipalName || member.email;
        upn = login && LOGIN.test(login) ? login : undefined;
      }
    } catch (e) {
      // Without the UPN the bridge may still match on the object id; it decides, and says so.
      this.log.warn('roster lookup failed', { aadObjectId, ...errorDetails(e) });
      return { aadObjectId, tenantId, displayName };
    }
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { upn, at: this.now() });
    return { aadObjectId, tenantId, upn, displayName };
  }
}
