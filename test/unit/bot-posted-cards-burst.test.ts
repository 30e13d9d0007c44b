/**
 * The one writer of posted cards under an incident burst (issue 16): every Teams write to the
 * on-call channel spends the channel's rate budget (60 per 30 s for ALL approval cards), so a
 * notice that changes nothing the card shows must not write to Teams. It happened: the request's
 * `submitted` notice, flushed after the workflow had posted the approval card and recorded the
 * post (a newer version, same content), re-rendered and PUT the card again, for about a third of
 * the requests of a 100-request burst.
 */
import { strict as assert } from 'node:assert';
import type { Activity, ConversationReference } from 'botbuilder';
import type { NotificationBody, NotificationEvent } from '../../contract/notify';
import { type AccessRequest, toRequestView } from '../../core/model';
import * as svc from '../../core/services';
import { ApproverDirectory, TeamsNotifications } from '../../bot/notifications';
import type { Messenger } from '../../bot/messenger';
import { silentLog } from '../../bot/log';
import { MemoryConversationStore } from '../../bot/storage/memory';
import { requestNotificationId } from '../../lambdas/adapters/bot-notifier';
import { actor, body, world } from '../support/core-world';

class RecordingMessenger implements Messenger {
  readonly posts: Array<{ activityId: string; activity: Partial<Activity> }> = [];
  readonly sends: Array<{ conversationId?: string; activity: Partial<Activity> }> = [];
  readonly updates: Array<{ activityId: string; activity: Partial<Activity> }> = [];
  private n = 0;
  async createChannelThread(_c: Partial<ConversationReference>, activity: Partial<Activity>) {
    const activityId = `msg-${++this.n}`;
    this.posts.push({ activityId, activity });
    return { conversationId: `19:oncall@thread.tacv2;messageid=${activityId}`, activityId };
  }
  async send(reference: Partial<ConversationReference>, activity: Partial<Activity>): Promise<string | undefined> {
    this.sends.push({ conversationId: reference.conversation?.id, activity });
    return `dm-${++this.n}`;
  }
  async update(_r: Partial<ConversationReference>, activityId: string, activity: Partial<Activity>) {
    this.updates.push({ activityId, activity });
  }
}

describe('bot: posted cards are written to Teams only when what they show changed', () => {
  async function setup() {
    const w = world();
    const messenger = new RecordingMessenger();
    const store = new MemoryConversationStore();
    const bot = new TeamsNotifications({
      messenger,
      store,
      approvers: new ApproverDirectory([], store),
      channel: { channelId: '19:oncall@thread.tacv2', teamId: '19:team@thread.tacv2', serviceUrl: 'https://smba.trafficmanager.net/teams/', botId: '28:bot' },
      clock: w.clock,
      log: silentLog,
    });
    const deliver = (event: NotificationEvent, request: AccessRequest, noticeVersion = request.version) =>
      bot.handle({ kind: 'request', event, request: toRequestView(request as Parameters<typeof toRequestView>[0]), notificationId: requestNotificationId(request.id, event, noticeVersion) } as NotificationBody);
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    return { w, messenger, store, deliver, request };
  }

  it('a notice carried past the card post (newer version, same content) writes nothing; a real change still updates the card in place', async () => {
    const { w, messenger, deliver, request } = await setup();
    // The workflow posts the card with the deadline it will have, then records the post (v+1) and the task token (v+2).
    const posted = { ...request, cardPostedAt: new Date(w.clock.now()).toISOString(), approvalDeadline: new Date(w.clock.now() + 15 * 60_000).toISOString() };
    await deliver('approval_requested', posted);
    assert.equal(messenger.posts.length, 1);
    // The submitted notice, flushed late, carries the request as it is now: two writes later, nothing visible changed.
    const out = await deliver('submitted', { ...posted, version: request.version + 2 }, request.version);
    assert.equal(messenger.updates.length, 0, 'no update of a card that would look the same');
    assert.equal(out.updated, 0);
    // An older notice arriving after that is still skipped (the record knows the newest version shown).
    await deliver('submitted', { ...posted, version: request.version + 1 }, request.version + 1);
    assert.equal(messenger.updates.length, 0);
    // A change people can see (the request is cancelled) is written, once, in place.
    const cancelled = { ...posted, state: 'CANCELLED' as const, version: request.version + 3 };
    await deliver('cancelled', cancelled);
    assert.equal(messenger.updates.filter((u) => u.activityId === messenger.posts[0]!.activityId).length, 1, 'the approval card is updated in place');
    assert.equal(messenger.posts.length, 1, 'never a second card');
    await deliver('cancelled', cancelled);
    assert.equal(messenger.updates.filter((u) => u.activityId === messenger.posts[0]!.activityId).length, 1, 'a repeated notice writes nothing');
  });

  it('a deadline recorded seconds after the one the card was posted with, in the same minute, is not written again (Teams shows DATE/TIME to the minute)', async () => {
    const { w, messenger, deliver, request } = await setup();
    const base = Date.parse('2030-01-01T10:00:05Z');
    const posted = { ...request, cardPostedAt: new Date(w.clock.now()).toISOString(), approvalDeadline: new Date(base).toISOString() };
    await deliver('approval_requested', posted);
    await deliver('submitted', { ...posted, approvalDeadline: new Date(base + 1_000).toISOString(), version: request.version + 2 }, request.version);
    assert.equal(messenger.updates.length, 0, '10:00:05 and 10:00:06 both show as 10:00');
    await deliver('cancelled', { ...posted, approvalDeadline: new Date(base + 60_000).toISOString(), version: request.version + 3 });
    assert.equal(messenger.updates.length, 1, 'a different minute is written');
  });

  it('a card whose content changes only with time (the deadline minutes left) is written again once the text differs', async () => {
    const { w, messenger, deliver, request } = await setup();
    const posted = { ...request, cardPostedAt: new Date(w.clock.now()).toISOString(), approvalDeadline: new Date(w.clock.now() + 15 * 60_000).toISOString() };
    await deliver('approval_requested', posted);
    await w.clock.advance(5 * 60_000);
    await deliver('submitted', { ...posted, version: request.version + 2 }, request.version);
    assert.equal(messenger.updates.length, 1, '"in 15 min" became "in 10 min": the card is rendered again');
  });
});

describe('bot: approvers named from the team roster, under a burst of cards', () => {
  it('card renders at the same moment share one roster lookup per approver, and a lookup that fails later never replaces a name already known', async () => {
    const store = new MemoryConversationStore();
    let calls = 0;
    let failing = false;
    const pending: Array<() => void> = [];
    const roster = async (aadObjectId: string) => {
      calls++;
      // Answers arrive later (the roster read is paced and may be retried after a 429).
      await new Promise<void>((r) => pending.push(r));
      if (failing) throw new Error('roster timed out');
      return { id: `29:${aadObjectId}`, name: `Name ${aadObjectId}` };
    };
    const answerAll = async () => {
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setImmediate(r));
        while (pending.length) pending.shift()!();
      }
    };
    let now = 0;
    const approvers = new ApproverDirectory(['aad-carol', 'aad-dan'], store, roster, () => now);
    const lists = Array.from({ length: 50 }, () => approvers.list());
    await answerAll();
    const rendered = await Promise.all(lists);
    assert.equal(calls, 2, 'one lookup per approver for 50 cards rendered at once');
    assert.ok(rendered.every((l) => l.map((a) => a.teamsUserId).join() === '29:aad-carol,29:aad-dan'));
    // An hour later the names are looked up again; the roster fails this time: the cards keep the names.
    now += 3_600_001;
    failing = true;
    const later = approvers.list();
    await answerAll();
    assert.deepEqual((await later).map((a) => a.teamsUserId), ['29:aad-carol', '29:aad-dan'], 'the same refresh.userIds: no card update just because the roster failed');
  });
});
