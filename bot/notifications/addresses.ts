/** Where notification cards go: the on-call channel, and the conversation of a posted card. */
import type { ConversationRef } from '../activity';
import type { CardRecord, ConversationStore, StoredReference } from '../storage/types';

export interface ChannelTarget {
  channelId: string;
  teamId: string;
  serviceUrl: string;
  tenantId?: string;
  /** The bot's Teams id (`28:<app id>`). */
  botId: string;
}

export class CardAddresses {
  constructor(
    private readonly channel: ChannelTarget,
    private readonly store: Pick<ConversationStore, 'getChannelReference'>,
  ) {}

  /** The stored reference of the on-call channel (it has the tenant's real serviceUrl), or one built from config. */
  async channelReference(): Promise<StoredReference> {
    const c = this.channel;
    const stored = await this.store.getChannelReference();
    if (stored?.conversation?.id?.split(';')[0] === c.channelId && stored.serviceUrl) return stored;
    return {
      channelId: 'msteams',
      serviceUrl: c.serviceUrl,
      bot: { id: c.botId, name: '' },
      conversation: { id: c.channelId, isGroup: true, conversationType: 'channel', name: '', ...(c.tenantId ? { tenantId: c.tenantId } : {}) },
    } as ConversationRef;
  }

  /** Where an update goes. The bot's account is the one Teams addressed it by (learned from the channel), else the configured id. */
  async recordReference(record: CardRecord): Promise<StoredReference> {
    const tenantId = this.channel.tenantId;
    const learnedBot = (await this.store.getChannelReference().catch(() => undefined))?.bot;
    return {
      channelId: 'msteams',
      serviceUrl: record.serviceUrl ?? this.channel.serviceUrl,
      bot: learnedBot?.id ? learnedBot : { id: this.channel.botId, name: '' },
      conversation: { id: record.conversationId!, isGroup: record.kind !== 'status', conversationType: record.kind === 'status' ? 'personal' : 'channel', name: '', ...(tenantId ? { tenantId } : {}) },
    } as ConversationRef;
  }
}
