/**
 * The one writer of a request's posted cards (approval and break-glass threads in the on-call
 * channel, the requester's status card in their 1:1 chat) and of the requester's event messages.
 *
 * - `approval_requested`: the approval card is posted as a NEW thread in the on-call channel with
 *   the approvers @mentioned, and its activity id is stored next to the request id. Every later
 *   event re-renders that card from the request and UPDATES it in place; an older notification
 *   never overwrites a newer card (the stored `renderedVersion`), also across restarts.
 * - `break_glass_used`: an alert thread in the channel (tracked the same way, so the review
 *   acknowledgement updates it).
 * - `reminder` / `escalated`: a reply in the approval card's thread with @mentions, and a line to
 *   the requester (./reminders.ts); an escalation to another channel posts a copy of the approval
 *   card there (tracked as `escalation`, updated in place like the original).
 * - Requester, in their 1:1 chat (the reference stored when they last talked to the bot): the
 *   status card is updated in place, and the events a person must hear about (approved, denied,
 *   timed out, active, expiring soon, expired, revoked, failed) come as a new message.
 *
 * Posting a card is claimed first (a conditional create of its record), so two deliveries of the
 * same event never post two cards; a claim older than `claimStaleMs` is taken over.
 *
 * A connector may accept a message without returning its id (the Agents Playground does when it
 * splits one activity into several messages). Such a card cannot be updated in place: it is
 * recorded without an id, and a later change posts a fresh copy instead.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as cards from '../../cards';
import type { SandboxCardAction } from '../../cards';
import type { NotificationEvent as NotificationEventName } from '../../contract/notify';
import type { RequestView } from '../../core/api';
import type { Clock } from '../../core/ports';
import type { OutboundActivity } from '../activity';
import type { Log } from '../log';
import type { Messenger } from '../messenger';
import type { CardKind, CardRecord, ConversationStore, StoredReference } from '../storage/types';
import { cardActivity, mentionsInCard, mentionText } from './activities';
import type { CardAddresses } from './addresses';
import type { Approver, ApproverDirectory } from './approvers';
import type { Outcome } from './outcome';
import { isReminderEvent, ReminderPosts } from './reminders';

export interface PostedCardsDeps {
  messenger: Messenger;
  store: ConversationStore;
  approvers: ApproverDirectory;
  addresses: CardAddresses;
  clock: Clock;
  log: Log;
  accessPortalUrl?: string;
  claimStaleMs: number;
  /** Sandbox mode only: the "Sandbox: approve as …" buttons for the channel card. */
  sandboxActions?: (request: RequestView) => SandboxCardAction[];
}

/** Another delivery is posting this card right now; the sender retries (503) and then updates it. */
export class CardBusyError extends Error {
  constructor(requestId: string, kind: CardKind) {
    super(`The ${kind} card of ${requestId} is being posted by another delivery.`);
    this.name = 'CardBusyError';
  }
}

/**
 * What a card update would show, as a short digest: equal digests, nothing to write. Teams renders
 * `{{DATE()}}`/`{{TIME()}}` to the minute at most (Adaptive Cards "Date/time formatting and
 * localization": DATE short/long, TIME as hours and minutes), so seconds in their arguments
 * change nothing anyone sees: a deadline recorded a second after the one the card was posted
 * with is not worth a channel write.
 */
export function renderedDigest(activity: OutboundActivity): string {
  const shown = JSON.stringify(activity).replace(/(\{\{(?:DATE|TIME)\(\d{4}-\d\d-\d\dT\d\d:\d\d):\d\d(?:\.\d+)?Z/g, '$1Z');
  return createHash('sha256').update(shown).digest('base64url').slice(0, 22);
}

const NEW_MESSAGE_EVENTS: ReadonlySet<NotificationEventName> = new Set(['approved', 'denied', 'timed_out', 'active', 'expiring_soon', 'expired', 'revoked', 'failed']);

interface TrackedCard {
  kind: CardKind;
  /** Post when no card exists yet; otherwise only update an existing one. */
  create: boolean;
  /** Where to post: a new channel thread, or a message in a conversation. */
  target: () => Promise<{ reference: StoredReference; thread: boolean } | undefined>;
  activity: () => Promise<OutboundActivity>;
  extra?: () => Promise<Partial<CardRecord>>;
}

export class PostedCards {
  private readonly reminders: ReminderPosts;

  constructor(private readonly deps: PostedCardsDeps) {
    this.reminders = new ReminderPosts(deps);
  }

  /** A backend event: post the cards it creates, update the others, and tell the requester. Callers hold the request's lock. */
  async requestChanged(event: NotificationEventName, request: RequestView, out: Outcome): Promise<void> {
    await this.upsert(request, this.trackedFor('approval', request, event === 'approval_requested'), out);
    await this.upsert(request, this.trackedFor('breakglass', request, event === 'break_glass_used'), out);
    await this.upsert(request, this.trackedFor('status', request, event === 'submitted'), out);
    // The escalation channel's copy of the approval card: posted on escalation, then updated like the original.
    await this.upsert(request, this.trackedFor('escalation', request, event === 'escalated' && !!request.reminders?.escalation?.channelId), out);
    if (NEW_MESSAGE_EVENTS.has(event)) await this.tellRequester(event, request, out);
    // After the cards: a reminder checks that the approval card shows nothing newer than its request.
    if (isReminderEvent(event)) await this.reminders.handle(event, request, out);
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
    // One approver listing per delivery: the card, its mentions and the record's refresh ids
    // (each listing reads the conversation store, and the roster for who never chatted).
    let listing: Promise<Approver[]> | undefined;
    const approvers = () => (listing ??= this.deps.approvers.list());
    const approverUserIds = async () => (await approvers()).map((a) => a.teamsUserId);
    if (kind === 'escalation') {
      const channelId = request.reminders?.escalation?.channelId;
      return {
        kind,
        create,
        target: async () => (channelId ? { reference: await this.reminders.escalationChannel(channelId), thread: true } : undefined),
        activity: async () => {
          const card = cards.approvalCard(request, { approverUserIds: await approverUserIds(), viewerIsApprover: false, now: this.nowIso(), accessPortalUrl: this.deps.accessPortalUrl });
          return { ...cardActivity(card), ...this.reminders.escalationChannelText(request) };
        },
        extra: async () => ({ approverUserIds: await approverUserIds() }),
      };
    }
    return {
      kind,
      create,
      target: async () => ({ reference: await this.deps.addresses.channelReference(), thread: true }),
      activity: async () => {
        const sandboxActions = this.deps.sandboxActions?.(request);
        const card = cards.approvalCard(request, { approverUserIds: await approverUserIds(), viewerIsApprover: false, now: this.nowIso(), accessPortalUrl: this.deps.accessPortalUrl, ...(sandboxActions ? { sandboxActions } : {}) });
        return { ...cardActivity(card), ...mentionText(cards.channelPostLead(kind === 'breakglass' ? 'breakglass' : 'approval', request), await approvers()) };
      },
      extra: async () => ({ approverUserIds: await approverUserIds() }),
    };
  }

  private async tellRequester(event: NotificationEventName, request: RequestView, out: Outcome): Promise<void> {
    const reference = await this.requesterReference(request);
    if (!reference) {
      this.deps.log.warn('no 1:1 conversation with the requester; they must open a chat with the bot first', { requestId: request.id, event });
      out.skipped++;
      return;
    }
    await this.deps.messenger.send(reference, { ...cardActivity(this.requesterCard(request, event === 'expiring_soon')), text: cards.requesterSummary(event, request), textFormat: 'plain' });
    out.posted++;
  }

  private requesterCard(request: RequestView, expiringSoon: boolean) {
    return cards.requesterCard(request, { now: this.nowIso(), accessPortalUrl: this.deps.accessPortalUrl, expiringSoon });
  }

  private async requesterReference(request: RequestView): Promise<StoredReference | undefined> {
    const aad = request.requester.aadObjectId;
    return aad ? this.deps.store.getUserReference(aad) : undefined;
  }

  /** Posts (when `t.create`) or updates in place one tracked card of a request. */
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
        const update = mentionsInCard(await t.activity());
        const digest = renderedDigest(update);
        // A newer version that shows the same (a notice flushed after the card was posted and
        // recorded, a write of fields no card shows) costs no Teams write: in a burst every update
        // in the channel spends the rate budget all the approval cards share.
        const unchanged = record.renderedDigest === digest;
        // Update Teams first, then the record: a failed update is retried by the sender's retry.
        if (!unchanged) await this.deps.messenger.update(await this.deps.addresses.recordReference(record), record.activityId, update);
        const next: CardRecord = { ...record, renderedVersion: request.version, renderedDigest: digest, updatedAt: now, ...(t.extra && !unchanged ? await t.extra() : {}) };
        if (await store.updateCard(next, record)) {
          if (unchanged) out.skipped++;
          else out.updated++;
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
      if (record.claimId && record.claimedAt !== undefined && now - record.claimedAt < this.deps.claimStaleMs) throw new CardBusyError(request.id, t.kind);
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
      const activity = mentionsInCard(await t.activity());
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
        renderedDigest: renderedDigest(activity),
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

  private nowIso(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }
}
