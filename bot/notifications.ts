/**
 * What the bot does with a backend notification (POST /api/notify, see bot/notify.ts):
 *
 * - `approval_requested`: the approval card is posted as a NEW thread in the on-call channel with
 *   the approvers @mentioned, and its activity id is stored next to the request id. Every later
 *   event re-renders that card from the request and UPDATES it in place; an older notification
 *   never overwrites a newer card (the stored `renderedVersion`), also across restarts.
 * - `break_glass_used`: an alert thread in the channel (tracked the same way, so the review
 *   acknowledgement updates it).
 * - Requester, in their 1:1 chat (the reference stored when they last talked to the bot): the
 *   status card is updated in place, and the events a person must hear about (approved, denied,
 *   timed out, active, expiring soon, expired, revoked, failed) come as a new message.
 * - Findings: deduplicated by finding id and update time (remembered for a week), sorted by
 *   severity, posted in batches of FINDINGS_PER_CARD per card. Where each finding was posted is
 *   stored (a `finding` record per finding id pointing to a `findings` record per card, which holds
 *   the findings the card shows): a newer version of a finding already in the channel (a lasting
 *   condition that changed, or was resolved) UPDATES that card in place instead of posting again;
 *   a resolution of a finding the channel never showed is not posted; a resolved finding that comes
 *   back is posted anew.
 *
 * Who is @mentioned: the configured approver list (JIT_APPROVER_AAD_IDS), with each approver's
 * Teams id and name from the conversation store when they have talked to the bot. The list is for
 * display only: the bridge decides who may vote from the policy's approver groups.
 *
 * Posting a card is claimed first (a conditional create of its record), so two deliveries of the
 * same event never post two cards; a claim older than `claimStaleMs` is taken over.
 *
 * A connector may accept a message without returning its id (the Agents Playground does when it
 * splits one activity into several messages). Such a card cannot be updated in place: it is
 * recorded without an id, and a later change posts a fresh copy instead.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Activity, ConversationReference, Mention } from 'botbuilder';
import * as cards from '../cards';
import type { FindingView, NotificationBody, NotificationEvent as NotificationEventName } from '../contract/notify';
import type { RequestView } from '../core/api';
import type { Clock } from '../core/ports';
import type { Messenger } from './connector';
import type { Log } from './log';
import { errorDetails } from './log';
import type { NotificationHandler } from './notify';
import type { CardKind, CardRecord, ConversationStore, StoredReference } from './storage/types';

export const FINDINGS_PER_CARD = 10;
export const FINDING_MEMORY_MS = 7 * 24 * 60 * 60_000;
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

  /** Roster answers are kept for an hour, failures for a minute: posting a card never waits on a slow roster twice. */
  private async member(aadObjectId: string): Promise<{ id?: string; name?: string } | undefined> {
    if (!this.roster) return undefined;
    const hit = this.fromRoster.get(aadObjectId);
    const ttl = hit?.name ? 3_600_000 : 60_000;
    if (hit && this.now() - hit.at < ttl) return hit;
    const found = await this.roster(aadObjectId).catch(() => undefined);
    const entry = { ...(found ?? {}), at: this.now() };
    this.fromRoster.set(aadObjectId, entry);
    return entry;
  }

  async refreshUserIds(): Promise<string[]> {
    return (await this.list()).map((a) => a.teamsUserId);
  }
}

export interface ChannelTarget {
  channelId: string;
  teamId: string;
  serviceUrl: string;
  tenantId?: string;
  /** The bot's Teams id (`28:<app id>`). */
  botId: string;
}

export interface TeamsNotificationsDeps {
  messenger: Messenger;
  store: ConversationStore;
  approvers: ApproverDirectory;
  channel: ChannelTarget;
  clock: Clock;
  log: Log;
  accessPortalUrl?: string;
  claimStaleMs?: number;
}

/** Another delivery is posting this card right now; the sender retries (503) and then updates it. */
export class CardBusyError extends Error {
  constructor(requestId: string, kind: CardKind) {
    super(`The ${kind} card of ${requestId} is being posted by another delivery.`);
    this.name = 'CardBusyError';
  }
}

/** Another delivery kept changing the card of this finding; the sender retries (503). */
export class FindingCardBusyError extends Error {
  constructor(findingId: string) {
    super(`The card of finding ${findingId} is being updated by another delivery.`);
    this.name = 'FindingCardBusyError';
  }
}

/** The store key of a finding's pointer (finding ids are up to 512 characters of anything). */
export function findingRecordId(findingId: string): string {
  return `f-${createHash('sha256').update(findingId).digest('hex').slice(0, 40)}`;
}

const NEW_MESSAGE_EVENTS: ReadonlySet<NotificationEventName> = new Set(['approved', 'denied', 'timed_out', 'active', 'expiring_soon', 'expired', 'revoked', 'failed']);
const SEVERITY_ORDER: Record<FindingView['severity'], number> = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3, INFORMATIONAL: 4 };

type Outcome = { posted: number; updated: number; skipped: number };

interface TrackedCard {
  kind: CardKind;
  /** Post when no card exists yet; otherwise only update an existing one. */
  create: boolean;
  /** Where to post: a new channel thread, or a message in a conversation. */
  target: () => Promise<{ reference: StoredReference; thread: boolean } | undefined>;
  activity: () => Promise<Partial<Activity>>;
  extra?: () => Promise<Partial<CardRecord>>;
}

export class TeamsNotifications implements NotificationHandler {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly claimStaleMs: number;

  constructor(private readonly deps: TeamsNotificationsDeps) {
    this.claimStaleMs = deps.claimStaleMs ?? 60_000;
  }

  async handle(body: NotificationBody): Promise<Outcome> {
    if (body.kind === 'findings') return this.findings(body.findings);
    return this.requestChanged(body.event, body.request);
  }

  /** After a card action changed a request: bring the posted cards up to date now, without waiting for the backend. */
  refreshPostedCards(request: RequestView): void {
    const p = this.withLock(request.id, async () => {
      const out = zero();
      for (const kind of ['approval', 'breakglass', 'status'] as const) await this.upsert(request, this.trackedFor(kind, request, false), out);
      return out;
    }).catch((e: unknown) => this.deps.log.warn('could not refresh posted cards', { requestId: request.id, ...errorDetails(e) }));
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** Resolves when background refreshes have finished (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  private async requestChanged(event: NotificationEventName, request: RequestView): Promise<Outcome> {
    return this.withLock(request.id, async () => {
      const out = zero();
      await this.upsert(request, this.trackedFor('approval', request, event === 'approval_requested'), out);
      await this.upsert(request, this.trackedFor('breakglass', request, event === 'break_glass_used'), out);
      await this.upsert(request, this.trackedFor('status', request, event === 'submitted'), out);
      if (NEW_MESSAGE_EVENTS.has(event)) await this.tellRequester(event, request, out);
      return out;
    });
  }

  private trackedFor(kind: CardKind, request: RequestView, create: boolean): TrackedCard {
    if (kind === 'status') {
      return {
        kind,
        create,
        target: async () => {
          const reference = await this.requesterReference(request);
          return reference ? { reference, thread: false } : undefined;
        },
        activity: async () => cardActivity(this.requesterCard(request, false)),
      };
    }
    return {
      kind,
      create,
      target: async () => ({ reference: await this.channelReference(), thread: true }),
      activity: async () => {
        const approvers = await this.deps.approvers.list();
        const card = cards.approvalCard(request, { approverUserIds: approvers.map((a) => a.teamsUserId), viewerIsApprover: false, now: this.nowIso(), accessPortalUrl: this.deps.accessPortalUrl });
        const lead =
          kind === 'breakglass'
            ? `Break-glass access was used by ${cards.escapeMessageText(request.requester.displayName)} on ${cards.escapeMessageText(request.accountName)} (${cards.escapeMessageText(request.accountId)}). A post-incident review is needed:`
            : `Access request from ${cards.escapeMessageText(request.requester.displayName)} for ${cards.escapeMessageText(request.permissionSetName)} on ${cards.escapeMessageText(request.accountName)}. Approvers:`;
        return { ...cardActivity(card), ...mentionText(lead, approvers) };
      },
      extra: async () => ({ approverUserIds: await this.deps.approvers.refreshUserIds() }),
    };
  }

  private async tellRequester(event: NotificationEventName, request: RequestView, out: Outcome): Promise<void> {
    const reference = await this.requesterReference(request);
    if (!reference) {
      this.deps.log.warn('no 1:1 conversation with the requester; they must open a chat with the bot first', { requestId: request.id, event });
      out.skipped++;
      return;
    }
    await this.deps.messenger.send(reference, { ...cardActivity(this.requesterCard(request, event === 'expiring_soon')), text: requesterSummary(event, request), textFormat: 'plain' });
    out.posted++;
  }

  private requesterCard(request: RequestView, expiringSoon: boolean) {
    return cards.requesterCard(request, { now: this.nowIso(), accessPortalUrl: this.deps.accessPortalUrl, expiringSoon });
  }

  private async requesterReference(request: RequestView): Promise<StoredReference | undefined> {
    const aad = request.requester.aadObjectId;
    return aad ? this.deps.store.getUserReference(aad) : undefined;
  }

  /** The stored reference of the on-call channel (it has the tenant's real serviceUrl), or one built from config. */
  async channelReference(): Promise<StoredReference> {
    const c = this.deps.channel;
    const stored = await this.deps.store.getChannelReference();
    if (stored?.conversation?.id?.split(';')[0] === c.channelId && stored.serviceUrl) return stored;
    return {
      channelId: 'msteams',
      serviceUrl: c.serviceUrl,
      bot: { id: c.botId, name: '' },
      conversation: { id: c.channelId, isGroup: true, conversationType: 'channel', name: '', ...(c.tenantId ? { tenantId: c.tenantId } : {}) },
    } as Partial<ConversationReference>;
  }

  /** Posts (when `t.create`) or updates in place one tracked card of a request. Callers hold the request's lock. */
  private async upsert(request: RequestView, t: TrackedCard, out: Outcome): Promise<void> {
    const { store, clock } = this.deps;
    for (let attempt = 0; attempt < 4; attempt++) {
      const now = clock.now();
      const record = await store.getCard(request.id, t.kind);
      if (!record) {
        if (!t.create) return;
        const claimed: CardRecord = { requestId: request.id, kind: t.kind, renderedVersion: -1, claimId: randomUUID(), claimedAt: now, updatedAt: now };
        if (!(await store.createCard(claimed))) continue;
        return this.postClaimed(request, t, claimed, out);
      }
      if (record.activityId && record.conversationId) {
        if (request.version <= record.renderedVersion) {
          out.skipped++;
          return;
        }
        // Update Teams first, then the record: a failed update is retried by the sender's retry.
        await this.deps.messenger.update(await this.recordReference(record), record.activityId, cardOnly(await t.activity()));
        const next: CardRecord = { ...record, renderedVersion: request.version, updatedAt: now, ...(t.extra ? await t.extra() : {}) };
        if (await store.updateCard(next, record)) {
          out.updated++;
          return;
        }
        continue;
      }
      const postedWithoutId = !!record.conversationId && record.renderedVersion >= 0;
      if (!t.create && !postedWithoutId) return;
      if (postedWithoutId && request.version <= record.renderedVersion) {
        out.skipped++;
        return;
      }
      if (record.claimId && record.claimedAt !== undefined && now - record.claimedAt < this.claimStaleMs) throw new CardBusyError(request.id, t.kind);
      const claimed: CardRecord = { ...record, claimId: randomUUID(), claimedAt: now, updatedAt: now };
      if (!(await store.updateCard(claimed, record))) continue;
      return this.postClaimed(request, t, claimed, out);
    }
    throw new CardBusyError(request.id, t.kind);
  }

  private async postClaimed(request: RequestView, t: TrackedCard, claimed: CardRecord, out: Outcome): Promise<void> {
    const { store, messenger, clock } = this.deps;
    const released: CardRecord = { ...claimed, claimId: undefined, claimedAt: undefined };
    try {
      const target = await t.target();
      if (!target) {
        await store.updateCard(released, claimed);
        out.skipped++;
        return;
      }
      const activity = await t.activity();
      let conversationId: string;
      let activityId: string | undefined;
      if (target.thread) ({ conversationId, activityId } = await messenger.createChannelThread(target.reference, activity));
      else {
        conversationId = target.reference.conversation?.id ?? '';
        activityId = await messenger.send(target.reference, activity);
        if (!activityId) this.deps.log.info('the connector returned no message id; the card will be posted again instead of updated', { requestId: request.id, kind: t.kind });
      }
      const posted: CardRecord = {
        ...released,
        conversationId,
        activityId,
        serviceUrl: target.reference.serviceUrl,
        renderedVersion: request.version,
        updatedAt: clock.now(),
        ...(t.extra ? await t.extra() : {}),
      };
      if (!(await store.updateCard(posted, claimed))) this.deps.log.warn('a posted card lost its claim; a duplicate may exist', { requestId: request.id, kind: t.kind });
      out.posted++;
    } catch (e) {
      await store.updateCard(released, claimed).catch(() => undefined);
      throw e;
    }
  }

  /** Where an update goes. The bot's account is the one Teams addressed it by (learned from the channel), else the configured id. */
  private async recordReference(record: CardRecord): Promise<StoredReference> {
    const tenantId = this.deps.channel.tenantId;
    const learnedBot = (await this.deps.store.getChannelReference().catch(() => undefined))?.bot;
    return {
      channelId: 'msteams',
      serviceUrl: record.serviceUrl ?? this.deps.channel.serviceUrl,
      bot: learnedBot?.id ? learnedBot : { id: this.deps.channel.botId, name: '' },
      conversation: { id: record.conversationId!, isGroup: record.kind !== 'status', conversationType: record.kind === 'status' ? 'personal' : 'channel', name: '', ...(tenantId ? { tenantId } : {}) },
    } as Partial<ConversationReference>;
  }

  /** Findings are handled one delivery at a time in this process: an update re-renders a shared card. */
  private findings(findings: FindingView[]): Promise<Outcome> {
    return this.withLock('findings', () => this.deliverFindings(findings));
  }

  private async deliverFindings(findings: FindingView[]): Promise<Outcome> {
    const { store, clock } = this.deps;
    const out = zero();
    const now = clock.now();
    const latest = new Map<string, FindingView>();
    for (const f of findings) {
      const seen = latest.get(f.id);
      if (!seen || seen.updatedAt < f.updatedAt) latest.set(f.id, f);
    }
    const fresh: Array<{ finding: FindingView; key: string }> = [];
    for (const finding of latest.values()) {
      const key = `finding-${createHash('sha256').update(`${finding.id}\n${finding.updatedAt}`).digest('hex').slice(0, 40)}`;
      if (await store.claimNotification(key, now, now + FINDING_MEMORY_MS)) fresh.push({ finding, key });
      else out.skipped++;
    }
    out.skipped += findings.length - latest.size;
    fresh.sort((a, b) => SEVERITY_ORDER[a.finding.severity] - SEVERITY_ORDER[b.finding.severity] || a.finding.updatedAt.localeCompare(b.finding.updatedAt));
    const done = new Set<string>();
    try {
      // A finding already on a card (a lasting condition that changed, or resolved) updates that card in place.
      const toPost: typeof fresh = [];
      for (const item of fresh) {
        const placed = await this.updateFindingInPlace(item.finding);
        if (placed === 'post') {
          toPost.push(item);
          continue;
        }
        out[placed === 'updated' ? 'updated' : 'skipped']++;
        done.add(item.key);
      }
      for (let i = 0; i < toPost.length; i += FINDINGS_PER_CARD) {
        const batch = toPost.slice(i, i + FINDINGS_PER_CARD);
        await this.postFindingsCard(batch.map((b) => b.finding));
        for (const b of batch) done.add(b.key);
        out.posted++;
      }
    } catch (e) {
      // What was not delivered is forgotten, so the sender's retry delivers it (and only it).
      await Promise.all(fresh.filter((b) => !done.has(b.key)).map((b) => store.releaseNotification(b.key).catch(() => undefined)));
      throw e;
    }
    return out;
  }

  /**
   * `updated`: the card that shows this finding now shows this version. `skipped`: nothing to show (an
   * older version than the card's, or a resolution of a finding the channel never saw). `post`: a new
   * card (never posted, posted without a message id, or a resolved condition that came back).
   */
  private async updateFindingInPlace(f: FindingView): Promise<'updated' | 'skipped' | 'post'> {
    const { store, clock, messenger } = this.deps;
    const resolved = f.status === 'RESOLVED';
    const pointer = await store.getCard(findingRecordId(f.id), 'finding');
    if (!pointer) return resolved ? 'skipped' : 'post';
    const at = Date.parse(f.updatedAt);
    if (at <= pointer.renderedVersion) return 'skipped';
    for (let attempt = 0; attempt < 4; attempt++) {
      const card = pointer.cardId ? await store.getCard(pointer.cardId, 'findings') : undefined;
      const shown = card?.findings?.find((v) => v.id === f.id);
      if (!card?.activityId || !card.conversationId || !card.findings || !shown) return resolved ? 'skipped' : 'post';
      if (shown.status === 'RESOLVED' && !resolved) return 'post';
      if (Date.parse(shown.updatedAt) >= at) return 'skipped';
      const views = card.findings.map((v) => (v.id === f.id ? f : v));
      const activity = cardActivity(cards.findingsCard(views, { now: this.nowIso(), maxItems: FINDINGS_PER_CARD }));
      // Teams first, then the record: a failed update is retried by the sender's retry.
      await messenger.update(await this.recordReference(card), card.activityId, cardOnly(activity));
      if (!(await store.updateCard({ ...card, findings: views, renderedVersion: card.renderedVersion + 1, updatedAt: clock.now() }, card))) continue;
      const moved = await store.updateCard({ ...pointer, renderedVersion: at, updatedAt: clock.now() }, pointer);
      if (!moved) this.deps.log.info('a finding pointer changed meanwhile', { findingId: f.id });
      return 'updated';
    }
    throw new FindingCardBusyError(f.id);
  }

  /** One new channel thread for a batch; then where each finding is, so that later versions update it. */
  private async postFindingsCard(views: FindingView[]): Promise<void> {
    const { store, clock, messenger } = this.deps;
    const channel = await this.channelReference();
    const card = cards.findingsCard(views, { now: this.nowIso(), maxItems: FINDINGS_PER_CARD });
    const { conversationId, activityId } = await messenger.createChannelThread(channel, cardActivity(card));
    // Posted: from here on a failure must not release the claims (the retry would post a duplicate).
    try {
      const now = clock.now();
      let cardId: string | undefined;
      if (activityId) {
        cardId = `fc-${createHash('sha256').update(`${conversationId}\n${activityId}`).digest('hex').slice(0, 40)}`;
        await store.createCard({ requestId: cardId, kind: 'findings', conversationId, activityId, serviceUrl: channel.serviceUrl, renderedVersion: 0, updatedAt: now, findings: views });
      }
      for (const f of views) {
        const next: CardRecord = { requestId: findingRecordId(f.id), kind: 'finding', renderedVersion: Date.parse(f.updatedAt), updatedAt: now, ...(cardId ? { cardId } : {}) };
        const existing = await store.getCard(next.requestId, 'finding');
        if (existing ? !(await store.updateCard(next, existing)) : !(await store.createCard(next))) this.deps.log.info('a finding pointer changed meanwhile', { findingId: f.id });
      }
    } catch (e) {
      this.deps.log.warn('a posted findings card was not recorded; a later update of its findings posts a new card', errorDetails(e));
    }
  }

  private withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }

  private nowIso(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }
}

function zero(): Outcome {
  return { posted: 0, updated: 0, skipped: 0 };
}

/**
 * An update carries the card alone. The @mention lead of a channel post did its job when the post
 * was created; a connector may refuse an update that is text plus a card (the Agents Playground
 * does: "Activity resulted into multiple skype activities").
 */
function cardOnly(activity: Partial<Activity>): Partial<Activity> {
  const { text: _text, textFormat: _format, entities: _mentions, ...rest } = activity;
  return rest;
}

function cardActivity(card: cards.AdaptiveCard): Partial<Activity> {
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] };
}

/**
 * `lead <at>Bob</at>, <at>Carol</at>` with one mention entity per approver. `lead` is message text
 * whose user-provided parts the caller escaped (cards.escapeMessageText); names in `<at>` tags are
 * XML-escaped only: Teams shows them as the mention, and the tag must equal the entity's text.
 */
export function mentionText(lead: string, approvers: readonly Approver[]): Pick<Activity, 'text' | 'entities'> {
  if (approvers.length === 0) return { text: lead.replace(/:$/, '.'), entities: [] };
  const entities: Mention[] = approvers.map((a) => {
    const tag = `<at>${cards.escapeXml(a.name)}</at>`;
    return { type: 'mention', text: tag, mentioned: { id: a.teamsUserId, name: a.name } } as Mention;
  });
  return { text: `${lead} ${entities.map((m) => m.text).join(', ')}`, entities };
}

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
