/**
 * What the bot keeps between turns and restarts: conversation references (to message users and the
 * on-call channel proactively), the cards it posted per request (to update them in place), and the
 * notification ids it has processed (replay protection). Implementations: memory (tests), a JSON
 * file (sandbox), DynamoDB (AWS).
 */
import type { FindingView } from '../../contract/notify';
import type { ConversationRef } from '../activity';

export type StoredReference = ConversationRef;

/**
 * Which card a record tracks: a card of a request, or for findings (bot/notifications/findings.ts) a posted
 * findings card (`findings`, keyed by its message) and one pointer per finding id to it (`finding`).
 * `escalation`: the copy of an approval card posted in a rule's escalation channel (reminders).
 */
export type CardKind = 'approval' | 'status' | 'breakglass' | 'review' | 'finding' | 'findings' | 'escalation';

export interface CardRecord {
  requestId: string;
  kind: CardKind;
  /** Conversation the card lives in (a channel thread id or a 1:1 chat id). */
  conversationId?: string;
  activityId?: string;
  serviceUrl?: string;
  /** The request version the card currently shows: older notifications never overwrite newer ones. */
  renderedVersion: number;
  /** Digest of the card as last written to Teams: a newer version that renders the same is not written again. */
  renderedDigest?: string;
  /** Set while a poster is creating the card; other posters wait for it or take over when stale. */
  claimId?: string;
  claimedAt?: number;
  updatedAt: number;
  /** The refresh.userIds the posted approval card carries (who gets the approver view). */
  approverUserIds?: string[];
  /** `findings` records: the findings the posted card shows, as shown (re-rendered on an update). */
  findings?: FindingView[];
  /** `finding` records: the `findings` record of the card that shows this finding. */
  cardId?: string;
}

export interface ConversationStore {
  saveUserReference(aadObjectId: string, reference: StoredReference): Promise<void>;
  getUserReference(aadObjectId: string): Promise<StoredReference | undefined>;
  saveChannelReference(reference: StoredReference): Promise<void>;
  getChannelReference(): Promise<StoredReference | undefined>;

  getCard(requestId: string, kind: CardKind): Promise<CardRecord | undefined>;
  /** Conditional create: false when a record for (requestId, kind) already exists. */
  createCard(record: CardRecord): Promise<boolean>;
  /**
   * Compare-and-set: writes `next` only when the stored record still has `expected`'s
   * renderedVersion and claimId. False when someone else changed it first.
   */
  updateCard(next: CardRecord, expected: Pick<CardRecord, 'renderedVersion' | 'claimId'>): Promise<boolean>;

  /** Records `id` as being processed until `expiresAt` (epoch ms). False when it is already recorded and unexpired. */
  claimNotification(id: string, nowMs: number, expiresAt: number): Promise<boolean>;
  /** Forgets a claim whose processing failed, so that the sender's retry is processed. */
  releaseNotification(id: string): Promise<void>;
}

export function cardKey(requestId: string, kind: CardKind): string {
  return `${requestId}#${kind}`;
}

export function sameClaim(stored: CardRecord, expected: Pick<CardRecord, 'renderedVersion' | 'claimId'>): boolean {
  return stored.renderedVersion === expected.renderedVersion && (stored.claimId ?? null) === (expected.claimId ?? null);
}
