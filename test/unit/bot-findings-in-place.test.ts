/**
 * A lasting drift condition in the on-call channel, end to end on the fake clock: reconcile sweeps
 * (core) -> what Security Hub imports (ASFF, as the adapter writes it) -> the findings handler (as
 * the EventBridge rule invokes it) -> the bot. The channel gets one card, updated in place when the
 * drift changes and when it is resolved; never the same card every five minutes.
 */
import { strict as assert } from 'node:assert';
import type { Activity, ConversationReference } from 'botbuilder';
import type { NotificationBody } from '../../contract/notify';
import { assignmentKeyId, type SecurityFinding } from '../../core/model';
import * as svc from '../../core/services';
import { ApproverDirectory, TeamsNotifications } from '../../bot/notifications';
import type { Messenger } from '../../bot/messenger';
import { silentLog } from '../../bot/log';
import { MemoryConversationStore } from '../../bot/storage/memory';
import { toAsff } from '../../lambdas/adapters/securityhub-findings';
import { createFindingsHandler } from '../../lambdas/findings/handler';
import { ACCOUNTS, PS, POLICY, world } from '../support/core-world';

const STACK = '333333333333';
const FIVE_MINUTES = 5 * 60_000;

class RecordingMessenger implements Messenger {
  readonly posts: Array<{ activity: Partial<Activity>; activityId: string }> = [];
  readonly updates: Array<{ activityId: string; activity: Partial<Activity> }> = [];
  private n = 0;
  async createChannelThread(_c: Partial<ConversationReference>, activity: Partial<Activity>) {
    const activityId = `msg-${++this.n}`;
    this.posts.push({ activity, activityId });
    return { conversationId: `19:oncall@thread.tacv2;messageid=${activityId}`, activityId };
  }
  async send(): Promise<string | undefined> {
    throw new Error('findings are never sent to a 1:1 chat');
  }
  async update(_r: Partial<ConversationReference>, activityId: string, activity: Partial<Activity>) {
    this.updates.push({ activityId, activity });
  }
}

describe('bot: a lasting finding is posted once and updated in place (issue 11, item 4)', () => {
  it('3 sweeps with lasting drift -> 1 import, 1 post; a change -> 1 update; gone -> resolved import and the card updated', async () => {
    let policy = POLICY;
    const w = world();
    w.deps.policy = () => policy;
    const rogue = { accountId: ACCOUNTS.dev, permissionSetArn: PS.Admin, userId: 'u-bob' };
    w.assignments.preexisting(rogue);

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
    const handler = createFindingsHandler({ send: async (body: NotificationBody) => void (await bot.handle(body)) }, { minSeverity: 'HIGH', region: 'eu-west-1' });
    let delivered = 0;
    // Security Hub emits one "Findings - Imported" event per accepted import.
    const deliverImports = async () => {
      for (const f of w.findings.imports.slice(delivered) as SecurityFinding[]) {
        const asff = toAsff(f, { productArn: `arn:aws:securityhub:eu-west-1:${STACK}:product/${STACK}/default`, region: 'eu-west-1', partition: 'aws', accountId: STACK });
        await handler({ version: '0', source: 'aws.securityhub', 'detail-type': 'Security Hub Findings - Imported', region: 'eu-west-1', detail: { findings: [asff] } });
      }
      delivered = w.findings.imports.length;
    };
    const sweep = async () => {
      await svc.reconcile(w.deps, {});
      await deliverImports();
      w.clock.advance(FIVE_MINUTES);
    };

    await sweep();
    await sweep();
    await sweep();
    assert.equal(w.findings.imports.length, 1, 'one import');
    assert.equal(messenger.posts.length, 1, 'one channel post');
    assert.equal(messenger.updates.length, 0);
    const text = (a: Partial<Activity>) => JSON.stringify(a.attachments?.[0]?.content);
    assert.match(text(messenger.posts[0]!.activity), /Unmanaged assignment of Admin on dev/);
    assert.match(text(messenger.posts[0]!.activity), new RegExp(ACCOUNTS.dev), 'the member account, not the stack account');

    policy = { ...POLICY, accounts: POLICY.accounts.map((a) => (a.id === ACCOUNTS.dev ? { ...a, name: 'dev-renamed' } : a)) };
    await sweep();
    await sweep();
    assert.equal(w.findings.imports.length, 2, 'one update import');
    assert.equal(messenger.posts.length, 1, 'still one post');
    assert.equal(messenger.updates.length, 1, 'the card updated in place');
    assert.equal(messenger.updates[0]!.activityId, messenger.posts[0]!.activityId);
    assert.match(text(messenger.updates[0]!.activity), /dev-renamed/);

    w.assignments.live.delete(assignmentKeyId(rogue));
    await sweep();
    await sweep();
    assert.equal(w.findings.imports.length, 3);
    assert.equal(w.findings.imports[2]?.resolved, true, 'resolved: archived in Security Hub');
    assert.equal(messenger.posts.length, 1, 'no new post for the resolution');
    assert.equal(messenger.updates.length, 2);
    assert.equal(messenger.updates[1]!.activityId, messenger.posts[0]!.activityId);
    assert.match(text(messenger.updates[1]!.activity), /RESOLVED/);

    // The same event delivered again (EventBridge is at-least-once) changes nothing.
    delivered = 2;
    await deliverImports();
    assert.equal(messenger.updates.length, 2);
    assert.equal(messenger.posts.length, 1);
  });

  it('any product\'s finding: a newer version updates its card (others on the card kept), an older one and a resolution never seen are not posted', async () => {
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
    const view = (id: string, updatedAt: string, over: Record<string, unknown> = {}) => ({ id, severity: 'HIGH' as const, title: `Finding ${id}`, resourceId: 'r', accountId: '222222222222', productName: 'GuardDuty', updatedAt, ...over });
    const send = (findings: ReturnType<typeof view>[], n: number) => bot.handle({ kind: 'findings', findings, notificationId: `findings-${String(n).padStart(4, '0')}` });
    await send([view('a', '2030-01-01T00:00:00.000Z'), view('b', '2030-01-01T00:00:00.000Z')], 1);
    assert.equal(messenger.posts.length, 1);
    const out = await send([view('a', '2030-01-01T01:00:00.000Z', { title: 'Finding a, escalated', severity: 'CRITICAL' })], 2);
    assert.deepEqual(out, { posted: 0, updated: 1, skipped: 0 });
    const card = JSON.stringify(messenger.updates[0]!.activity.attachments?.[0]?.content);
    assert.match(card, /Finding a, escalated/);
    assert.match(card, /Finding b/, 'the other finding stays on the card');
    assert.deepEqual(await send([view('a', '2030-01-01T00:30:00.000Z')], 3), { posted: 0, updated: 0, skipped: 1 }, 'an older version arriving late');
    assert.deepEqual(await send([view('never-seen', '2030-01-01T02:00:00.000Z', { status: 'RESOLVED' })], 4), { posted: 0, updated: 0, skipped: 1 });
    // b resolved, then a later update of a still shows b resolved (the card record holds what it shows).
    await send([view('b', '2030-01-01T03:00:00.000Z', { status: 'RESOLVED' })], 5);
    await send([view('a', '2030-01-01T04:00:00.000Z', { title: 'Finding a, again' })], 6);
    const last = JSON.stringify(messenger.updates.at(-1)!.activity.attachments?.[0]?.content);
    assert.match(last, /Finding a, again/);
    assert.match(last, /RESOLVED/);
    assert.equal(messenger.posts.length, 1);
    // b comes back after being resolved: a new card.
    await send([view('b', '2030-01-01T05:00:00.000Z')], 7);
    assert.equal(messenger.posts.length, 2);
  });
});
