/** In-memory ConversationStore for tests; also the state holder the file store persists. */
import { type CardKind, type CardRecord, type ConversationStore, type StoredReference, cardKey, sameClaim } from './types';

export interface MemoryStoreState {
  users: Record<string, StoredReference>;
  channel?: StoredReference;
  cards: Record<string, CardRecord>;
  notifications: Record<string, number>;
}

export function emptyState(): MemoryStoreState {
  return { users: {}, cards: {}, notifications: {} };
}

const clone = <T>(v: T): T => structuredClone(v);

export class MemoryConversationStore implements ConversationStore {
  constructor(
    protected state: MemoryStoreState = emptyState(),
    /** Called after every mutation (the file store persists here). */
    private readonly onChange: () => Promise<void> = () => Promise.resolve(),
  ) {}

  async saveUserReference(aadObjectId: string, reference: StoredReference): Promise<void> {
    this.state.users[aadObjectId.toLowerCase()] = clone(reference);
    await this.onChange();
  }

  async getUserReference(aadObjectId: string): Promise<StoredReference | undefined> {
    const r = this.state.users[aadObjectId.toLowerCase()];
    return r ? clone(r) : undefined;
  }

  async saveChannelReference(reference: StoredReference): Promise<void> {
    this.state.channel = clone(reference);
    await this.onChange();
  }

  async getChannelReference(): Promise<StoredReference | undefined> {
    return this.state.channel ? clone(this.state.channel) : undefined;
  }

  async getCard(requestId: string, kind: CardKind): Promise<CardRecord | undefined> {
    const r = this.state.cards[cardKey(requestId, kind)];
    return r ? clone(r) : undefined;
  }

  async createCard(record: CardRecord): Promise<boolean> {
    const key = cardKey(record.requestId, record.kind);
    if (this.state.cards[key]) return false;
    this.state.cards[key] = clone(record);
    await this.onChange();
    return true;
  }

  async updateCard(next: CardRecord, expected: Pick<CardRecord, 'renderedVersion' | 'claimId'>): Promise<boolean> {
    const key = cardKey(next.requestId, next.kind);
    const stored = this.state.cards[key];
    if (!stored || !sameClaim(stored, expected)) return false;
    this.state.cards[key] = clone(next);
    await this.onChange();
    return true;
  }

  async claimNotification(id: string, nowMs: number, expiresAt: number): Promise<boolean> {
    const existing = this.state.notifications[id];
    if (existing !== undefined && existing > nowMs) return false;
    this.state.notifications[id] = expiresAt;
    // Expired entries are dropped lazily so the state stays bounded.
    for (const [k, exp] of Object.entries(this.state.notifications)) if (exp <= nowMs) delete this.state.notifications[k];
    await this.onChange();
    return true;
  }

  async releaseNotification(id: string): Promise<void> {
    delete this.state.notifications[id];
    await this.onChange();
  }
}
