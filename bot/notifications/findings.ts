/**
 * Security Hub findings in the on-call channel: deduplicated by finding id and update time
 * (remembered for a week), sorted by severity, posted in batches of FINDINGS_PER_CARD per card.
 * Where each finding was posted is stored (a `finding` record per finding id pointing to a
 * `findings` record per card, which holds the findings the card shows): a newer version of a
 * finding already in the channel (a lasting condition that changed, or was resolved) UPDATES that
 * card in place instead of posting again; a resolution of a finding the channel never showed is
 * not posted; a resolved finding that comes back is posted anew.
 */
import { createHash } from 'node:crypto';
import * as cards from '../../cards';
import type { FindingView } from '../../contract/notify';
import type { Clock } from '../../core/ports';
import type { Log } from '../log';
import { errorDetails } from '../log';
import type { Messenger } from '../messenger';
import type { CardRecord, ConversationStore } from '../storage/types';
import { cardActivity, cardOnly } from './activities';
import type { CardAddresses } from './addresses';
import { type Outcome, zero } from './outcome';

export const FINDINGS_PER_CARD = 10;
export const FINDING_MEMORY_MS = 7 * 24 * 60 * 60_000;

const SEVERITY_ORDER: Record<FindingView['severity'], number> = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3, INFORMATIONAL: 4 };

export interface FindingsCardsDeps {
  messenger: Messenger;
  store: ConversationStore;
  addresses: CardAddresses;
  clock: Clock;
  log: Log;
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

export class FindingsCards {
  constructor(private readonly deps: FindingsCardsDeps) {}

  /** One delivery of findings. Callers run deliveries one at a time: an update re-renders a shared card. */
  async deliver(findings: FindingView[]): Promise<Outcome> {
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
        const placed = await this.updateInPlace(item.finding);
        if (placed === 'post') {
          toPost.push(item);
          continue;
        }
        out[placed === 'updated' ? 'updated' : 'skipped']++;
        done.add(item.key);
      }
      for (let i = 0; i < toPost.length; i += FINDINGS_PER_CARD) {
        const batch = toPost.slice(i, i + FINDINGS_PER_CARD);
        await this.postCard(batch.map((b) => b.finding));
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
  private async updateInPlace(f: FindingView): Promise<'updated' | 'skipped' | 'post'> {
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
      await messenger.update(await this.deps.addresses.recordReference(card), card.activityId, cardOnly(activity));
      if (!(await store.updateCard({ ...card, findings: views, renderedVersion: card.renderedVersion + 1, updatedAt: clock.now() }, card))) continue;
      const moved = await store.updateCard({ ...pointer, renderedVersion: at, updatedAt: clock.now() }, pointer);
      if (!moved) this.deps.log.info('a finding pointer changed meanwhile', { findingId: f.id });
      return 'updated';
    }
    throw new FindingCardBusyError(f.id);
  }

  /** One new channel thread for a batch; then where each finding is, so that later versions update it. */
  private async postCard(views: FindingView[]): Promise<void> {
    const { store, clock, messenger } = this.deps;
    const channel = await this.deps.addresses.channelReference();
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

  private nowIso(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }
}
