/**
 * What the bot does with a backend notification (POST /api/notify, see bot/notify.ts): request
 * events go to the one writer of a request's posted cards (./posted-cards.ts), the ONLY path that
 * posts or updates them: a card action answers its clicker in the invoke response and leaves the
 * posted cards to the notice the backend flushes after the change (one render per change), findings to the
 * findings cards (./findings.ts); ./approvers.ts names who is @mentioned. Work on one request (and
 * all findings deliveries) runs one at a time in this process.
 */
import type { SandboxCardAction } from '../../cards';
import type { FindingView, NotificationBody } from '../../contract/notify';
import type { RequestView } from '../../core/api';
import type { Clock } from '../../core/ports';
import type { Log } from '../log';
import type { Messenger } from '../messenger';
import type { NotificationHandler } from '../notify';
import type { ConversationStore, StoredReference } from '../storage/types';
import { CardAddresses, type ChannelTarget } from './addresses';
import type { ApproverDirectory } from './approvers';
import { FindingsCards } from './findings';
import { KpiDigests } from './kpi-digest';
import { KeyedLock } from './lock';
import { type Outcome, zero } from './outcome';
import { PostedCards } from './posted-cards';

export { type Approver, ApproverDirectory, MAX_REFRESH_USERS, type TeamRoster } from './approvers';
export { mentionText } from './activities';
export type { ChannelTarget } from './addresses';
export { CardBusyError } from './posted-cards';
export { FINDING_MEMORY_MS, FINDINGS_PER_CARD, FindingCardBusyError, findingRecordId } from './findings';
export { KPI_DIGEST_MEMORY_MS, KpiDigests, kpiDigestClaimId } from './kpi-digest';

export interface TeamsNotificationsDeps {
  messenger: Messenger;
  store: ConversationStore;
  approvers: ApproverDirectory;
  channel: ChannelTarget;
  clock: Clock;
  log: Log;
  accessPortalUrl?: string;
  claimStaleMs?: number;
  /** Sandbox mode only: the "Sandbox: approve as …" buttons for the channel card. */
  sandboxActions?: (request: RequestView) => SandboxCardAction[];
}

export class TeamsNotifications implements NotificationHandler {
  private readonly lock = new KeyedLock();
  private readonly addresses: CardAddresses;
  private readonly posted: PostedCards;
  private readonly findingsCards: FindingsCards;
  private readonly digests: KpiDigests;

  constructor(private readonly deps: TeamsNotificationsDeps) {
    const { messenger, store, clock, log } = deps;
    this.addresses = new CardAddresses(deps.channel, store);
    this.posted = new PostedCards({ messenger, store, clock, log, approvers: deps.approvers, addresses: this.addresses, accessPortalUrl: deps.accessPortalUrl, claimStaleMs: deps.claimStaleMs ?? 60_000, ...(deps.sandboxActions ? { sandboxActions: deps.sandboxActions } : {}) });
    this.findingsCards = new FindingsCards({ messenger, store, clock, log, addresses: this.addresses });
    this.digests = new KpiDigests({ messenger, store, clock, log, addresses: this.addresses });
  }

  async handle(body: NotificationBody): Promise<Outcome> {
    if (body.kind === 'findings') return this.findings(body.findings);
    if (body.kind === 'kpi') return this.lock.run('kpi-digest', () => this.digests.deliver(body));
    const { event, request } = body;
    return this.lock.run(request.id, async () => {
      const out = zero();
      await this.posted.requestChanged(event, request, out);
      return out;
    });
  }

  /** The stored reference of the on-call channel (it has the tenant's real serviceUrl), or one built from config. */
  channelReference(): Promise<StoredReference> {
    return this.addresses.channelReference();
  }

  /** Findings are handled one delivery at a time in this process: an update re-renders a shared card. */
  private findings(findings: FindingView[]): Promise<Outcome> {
    return this.lock.run('findings', () => this.findingsCards.deliver(findings));
  }
}
