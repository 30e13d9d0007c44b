/**
 * The weekly KPI digest in the on-call channel: one new thread per ISO week. The week is claimed in
 * the conversation store for KPI_DIGEST_MEMORY_MS (longer than the 24 h notificationId memory of
 * bot/notify-delivery.ts), so a replay of the schedule, a retried delivery or a second
 * `npm run sandbox:digest` in the same week posts nothing; a failed post releases the claim so the
 * sender's retry posts it.
 */
import * as cards from '../../cards';
import type { KpiNotification } from '../../contract/notify';
import type { Clock } from '../../core/ports';
import type { Log } from '../log';
import type { Messenger } from '../messenger';
import type { ConversationStore } from '../storage/types';
import { cardActivity } from './activities';
import type { CardAddresses } from './addresses';
import { type Outcome, zero } from './outcome';

/** Two weeks: a replay of last week's digest is still recognized. */
export const KPI_DIGEST_MEMORY_MS = 14 * 24 * 60 * 60_000;

/** Not the notice's notificationId (`kpi-digest-<week>`), which the delivery claims first for a day. */
export const kpiDigestClaimId = (weekId: string) => `kpi-week-${weekId}`;

export interface KpiDigestsDeps {
  messenger: Messenger;
  store: Pick<ConversationStore, 'claimNotification' | 'releaseNotification'>;
  addresses: Pick<CardAddresses, 'channelReference'>;
  clock: Clock;
  log: Log;
}

export class KpiDigests {
  constructor(private readonly deps: KpiDigestsDeps) {}

  async deliver(body: KpiNotification): Promise<Outcome> {
    const { store, clock, messenger, log } = this.deps;
    const out = zero();
    const now = clock.now();
    const claim = kpiDigestClaimId(body.weekId);
    if (!(await store.claimNotification(claim, now, now + KPI_DIGEST_MEMORY_MS))) {
      log.info('kpi digest already posted this week', { weekId: body.weekId });
      out.skipped++;
      return out;
    }
    try {
      const channel = await this.deps.addresses.channelReference();
      await messenger.createChannelThread(channel, cardActivity(cards.kpiCard(body.report, { kind: 'weekly', weekId: body.weekId })));
    } catch (e) {
      await store.releaseNotification(claim).catch(() => undefined);
      throw e;
    }
    out.posted++;
    return out;
  }
}
