/**
 * Reminders and escalations of undecided requests (the backend's `reminder` and `escalated`
 * notices, core/services/reminders.ts), posted as a REPLY in the approval card's thread (the
 * conversation `<channel>;messageid=<root>` stored with the card) with real @mentions, and told to
 * the requester in their 1:1 chat. Every write goes through the connector's delivery policy, so
 * the per-thread pacer of bot/delivery.ts holds Teams' rate limits for them too.
 *
 * Never after the decision: a notice whose request is no longer pending is dropped, and so is one
 * older than what the approval card already shows (a newer change, a decision perhaps, was
 * rendered: this notice is stale). Never twice: each post is claimed first by its reminder number
 * (store.claimNotification), so a replayed sweep or a re-sent notice posts nothing again; a post
 * that fails releases its claim so that the sender's retry posts it.
 *
 * Who is mentioned ("Channel and group chat conversations with a bot", Add mentions to your
 * messages: the entity's `text` must appear in the message text, else Teams ignores the mention):
 * the rule's Teams tag when the policy names one (one mention reaches the whole group), else the
 * configured on-call approvers (JIT_APPROVER_AAD_IDS, as on the card) minus the requester and
 * minus those who already voted, at most REMINDER_MENTION_CAP of them.
 */
import * as cards from '../../cards';
import { escalationChannelLead, escalationLead, reminderLead, requesterReminderText } from '../../cards/reminder-text';
import type { NotificationEvent as NotificationEventName } from '../../contract/notify';
import type { RequestView } from '../../core/api';
import type { TeamsTag } from '../../core/model';
import type { Clock } from '../../core/ports';
import type { MentionEntity, OutboundActivity } from '../activity';
import type { Log } from '../log';
import type { Messenger } from '../messenger';
import type { ConversationStore, StoredReference } from '../storage/types';
import { mentionText } from './activities';
import type { CardAddresses } from './addresses';
import type { Approver, ApproverDirectory } from './approvers';
import type { Outcome } from './outcome';

/**
 * At most this many people are @mentioned in one reminder. Each mention notifies that person; a
 * reply naming more than a couple of lines of people is noise that trains approvers to ignore it.
 * An approver group larger than this should be reached with a Teams tag (policy `reminders.tag`).
 */
export const REMINDER_MENTION_CAP = 20;

/** How long a posted reminder is remembered: longer than the longest approval timeout (a week). */
export const REMINDER_MEMORY_MS = 8 * 24 * 60 * 60_000;

export interface ReminderPostsDeps {
  messenger: Messenger;
  store: ConversationStore;
  approvers: ApproverDirectory;
  addresses: CardAddresses;
  clock: Clock;
  log: Log;
}

export function isReminderEvent(event: NotificationEventName): event is 'reminder' | 'escalated' {
  return event === 'reminder' || event === 'escalated';
}

/** `lead <at>Tag</at>` with the tag's mention entity ("Add mentions to your messages", tag mention). */
export function tagMentionText(lead: string, tag: TeamsTag): Required<Pick<OutboundActivity, 'text' | 'entities'>> {
  const text = `<at>${cards.escapeXml(tag.name)}</at>`;
  const entity: MentionEntity = { type: 'mention', text, mentioned: { id: tag.id, name: tag.name, type: 'tag' } };
  return { text: `${lead} ${text}`, entities: [entity] };
}

export class ReminderPosts {
  constructor(private readonly deps: ReminderPostsDeps) {}

  /** A `reminder` or `escalated` notice. Callers hold the request's lock (and updated its cards first). */
  async handle(event: 'reminder' | 'escalated', request: RequestView, out: Outcome): Promise<void> {
    const { store, log } = this.deps;
    if (request.state !== 'PENDING_APPROVAL' || !request.reminders) {
      log.info('reminder dropped: the request is no longer pending', { requestId: request.id, event, state: request.state });
      out.skipped++;
      return;
    }
    const record = await store.getCard(request.id, 'approval');
    if (!record?.conversationId) {
      log.warn('reminder dropped: the approval card was not posted in a thread', { requestId: request.id, event });
      out.skipped++;
      return;
    }
    if (record.renderedVersion > request.version) {
      log.info('reminder dropped: the card already shows a newer change', { requestId: request.id, event, version: request.version, rendered: record.renderedVersion });
      out.skipped++;
      return;
    }
    const step = event === 'escalated' ? 'escalation' : `reminder-${request.reminders.sent}`;
    const thread = await this.deps.addresses.recordReference(record);
    let mentioned: { people: number; tag?: string } = { people: 0 };
    await this.once(`${request.id}:${step}:thread`, out, async () => {
      const built = await this.threadActivity(event, request);
      mentioned = built.mentioned;
      await this.deps.messenger.send(thread, built.activity);
    });
    if (event === 'reminder' && mentioned.people === 0 && !mentioned.tag) mentioned = await this.mentionCount(request);
    const requester = request.requester.aadObjectId ? await store.getUserReference(request.requester.aadObjectId) : undefined;
    if (!requester) {
      log.warn('no 1:1 conversation with the requester; they were not told of the reminder', { requestId: request.id, event });
      out.skipped++;
      return;
    }
    await this.once(`${request.id}:${step}:requester`, out, () => this.deps.messenger.send(requester, { type: 'message', text: requesterReminderText(event, request, mentioned), textFormat: 'plain' }).then(() => undefined));
  }

  /** The escalation channel's reference: the on-call channel's (its serviceUrl, tenant and bot), another channel. */
  async escalationChannel(channelId: string): Promise<StoredReference> {
    const base = await this.deps.addresses.channelReference();
    return { ...base, conversation: { ...(base.conversation ?? {}), id: channelId, isGroup: true, conversationType: 'channel' } };
  }

  /** The lead of the escalation channel's card post, with the escalation tag's mention when there is one. */
  escalationChannelText(request: RequestView): Pick<OutboundActivity, 'text' | 'entities'> {
    const lead = escalationChannelLead(request, this.nowIso());
    const tag = request.terms.reminders?.escalation?.tag;
    return tag ? tagMentionText(lead, tag) : { text: lead };
  }

  private async threadActivity(event: 'reminder' | 'escalated', request: RequestView): Promise<{ activity: OutboundActivity; mentioned: { people: number; tag?: string } }> {
    const now = this.nowIso();
    if (event === 'escalated') {
      const tag = request.terms.reminders?.escalation?.tag;
      const lead = escalationLead(request, now);
      return { activity: { type: 'message', ...(tag ? tagMentionText(lead, tag) : { text: lead }) }, mentioned: { people: 0, ...(tag ? { tag: tag.name } : {}) } };
    }
    const tag = request.terms.reminders?.tag;
    const lead = reminderLead(request, now);
    if (tag) return { activity: { type: 'message', ...tagMentionText(lead, tag) }, mentioned: { people: 0, tag: tag.name } };
    const { shown, more } = await this.toRemind(request);
    const mentions = mentionText(shown.length > 0 ? `${lead} Approvers:` : lead, shown);
    const text = more > 0 ? `${mentions.text} and ${more} more` : mentions.text;
    return { activity: { type: 'message', text, entities: mentions.entities }, mentioned: { people: shown.length } };
  }

  /** The configured approvers who can still decide: not the requester, not voted yet; at most the cap. */
  private async toRemind(request: RequestView): Promise<{ shown: Approver[]; more: number }> {
    const voted = new Set(request.votes.map((v) => v.approver.aadObjectId?.toLowerCase()).filter(Boolean));
    const requester = request.requester.aadObjectId?.toLowerCase();
    const open = (await this.deps.approvers.list()).filter((a) => a.aadObjectId.toLowerCase() !== requester && !voted.has(a.aadObjectId.toLowerCase()));
    return { shown: open.slice(0, REMINDER_MENTION_CAP), more: Math.max(0, open.length - REMINDER_MENTION_CAP) };
  }

  private async mentionCount(request: RequestView): Promise<{ people: number; tag?: string }> {
    const tag = request.terms.reminders?.tag;
    return tag ? { people: 0, tag: tag.name } : { people: (await this.toRemind(request)).shown.length };
  }

  /** Runs `post` once per key (claimed first; released again when the post fails, so that a retry posts it). */
  private async once(key: string, out: Outcome, post: () => Promise<void>): Promise<void> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const id = `remind:${key}`;
    if (!(await store.claimNotification(id, now, now + REMINDER_MEMORY_MS))) {
      out.skipped++;
      return;
    }
    try {
      await post();
      out.posted++;
    } catch (e) {
      await store.releaseNotification(id).catch(() => undefined);
      throw e;
    }
  }

  private nowIso(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }
}
