/**
 * The notice outbox (issue 12, item 3): a change's notices are written in the same conditional
 * write as the change, the caller's answer never waits on the bot, a flush delivers them (once per
 * notice: the bot dedupes by request, event and version), a failed flush is retried, and reconcile
 * flushes what was stranded. No wall clock: the fake clock and event-loop turns only.
 */
import assert from 'node:assert/strict';
import { DependencyError } from '../../core/errors';
import type { AccessRequest, NotificationEvent } from '../../core/model';
import type { NoticeDispatch } from '../../core/ports';
import * as svc from '../../core/services';
import { actor, body, startWorkflow, world } from '../support/core-world';

/** Lambda's asynchronous invoke as the caller sees it: the ask is accepted at once, the flush runs later (when the test says). */
class QueuedDispatch implements NoticeDispatch {
  readonly queued: string[] = [];
  async dispatch(requestId: string): Promise<void> {
    this.queued.push(requestId);
  }
}

/** A bot that takes the request and never answers. */
function hangingBot(w: ReturnType<typeof world>): { calls: number } {
  const state = { calls: 0 };
  w.notifier.requestChanged = () => {
    state.calls++;
    return new Promise<void>(() => undefined);
  };
  return state;
}

/** Runs the event loop a number of turns: enough for any in-memory chain of awaits to settle. */
async function turns(n = 50): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

async function pendingRequest(w: ReturnType<typeof world>, over = {}) {
  const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body(over) });
  await startWorkflow(w, request.id);
  return request.id;
}

describe('core services: the notice outbox', () => {
  it('a vote with the bot unreachable: the answer does not wait on the bot, the notice waits in the outbox, a later flush delivers it exactly once', async () => {
    const w = world();
    const id = await pendingRequest(w);
    const queue = new QueuedDispatch();
    w.deps.notices = queue;
    const deliver = w.notifier.requestChanged.bind(w.notifier);
    const bot = hangingBot(w);

    let answer: Awaited<ReturnType<typeof svc.castVote>> | undefined;
    void svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' }).then((r) => (answer = r));
    await turns();
    assert.ok(answer, 'the vote was answered although the bot never answers');
    assert.equal(answer.decided, true);
    assert.equal(bot.calls, 0, 'the bot was not called in the request path');
    assert.deepEqual(queue.queued, [id], 'the flush was asked for, once');
    const stored = (await w.requests.get(id))!;
    assert.equal(stored.state, 'APPROVED');
    assert.deepEqual(stored.noticeOutbox, [{ event: 'approved', version: stored.version }], 'committed with the vote, in the same write');
    assert.equal('noticeOutbox' in answer.request, false, 'the outbox never leaves the server');

    // The notify function runs the queued flush later, with the bot back.
    w.notifier.requestChanged = deliver;
    const before = w.notifier.eventsFor(id).length;
    assert.deepEqual(await svc.flushNotices(w.deps, id), { delivered: 1, dropped: 0 });
    assert.deepEqual(w.notifier.eventsFor(id).slice(before), ['approved']);
    assert.equal((await w.requests.get(id))!.noticeOutbox, undefined, 'cleared once delivered');
    // A second delivery of the same asynchronous event (at least once) finds nothing to send.
    assert.deepEqual(await svc.flushNotices(w.deps, id), { delivered: 0, dropped: 0 });
    assert.deepEqual(w.notifier.eventsFor(id).slice(before), ['approved']);
    assert.equal(w.notifier.duplicates, 0);
  });

  it('without a dispatcher the service flushes itself; a bot that fails leaves the notice for the retry and the change stands', async () => {
    const w = world();
    const id = await pendingRequest(w);
    const deliver = w.notifier.requestChanged.bind(w.notifier);
    w.notifier.requestChanged = async () => {
      throw new DependencyError('Teams bot', 'Teams bot notification failed after 3 attempts: HTTP 503', true);
    };
    const r = await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
    assert.equal(r.request.state, 'APPROVED', 'the decision stands');
    assert.equal((await w.requests.get(id))!.noticeOutbox?.length, 1);
    await assert.rejects(svc.flushNotices(w.deps, id), (e: unknown) => e instanceof DependencyError && e.retryable, 'a failed flush throws a retryable error: the invoke is retried');
    assert.equal((await w.requests.get(id))!.noticeOutbox?.length, 1, 'still waiting');
    w.notifier.requestChanged = deliver;
    assert.deepEqual(await svc.flushNotices(w.deps, id), { delivered: 1, dropped: 0 });
    assert.equal(w.notifier.eventsFor(id).filter((e) => e === 'approved').length, 1);
  });

  it('notices pile up in order while the bot is down and each is delivered once; one the bot already took is a duplicate, not a second delivery', async () => {
    const w = world();
    const id = await pendingRequest(w, { accountId: '111111111111', permissionSetName: 'Admin', ticketId: 'INC-7' });
    w.deps.notices = new QueuedDispatch();
    await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
    await svc.castVote(w.deps, { requestId: id, actor: actor('dan'), decision: 'approve' });
    const stored = (await w.requests.get(id))!;
    assert.deepEqual(
      stored.noticeOutbox?.map((n) => n.event),
      ['vote_recorded', 'approved'],
      'the second write carried the first notice forward',
    );
    // The bot takes the first notice, then fails on the second.
    const deliver = w.notifier.requestChanged.bind(w.notifier);
    let calls = 0;
    w.notifier.requestChanged = async (event: NotificationEvent, request: AccessRequest, version?: number) => {
      if (++calls === 2) throw new DependencyError('Teams bot', 'timed out', true);
      return deliver(event, request, version);
    };
    const before = w.notifier.eventsFor(id).length;
    await assert.rejects(svc.flushNotices(w.deps, id), DependencyError);
    w.notifier.requestChanged = deliver;
    assert.deepEqual(await svc.flushNotices(w.deps, id), { delivered: 2, dropped: 0 });
    assert.deepEqual(w.notifier.eventsFor(id).slice(before), ['vote_recorded', 'approved'], 'each notice reached the humans once');
    assert.equal(w.notifier.duplicates, 1, 'the retry re-sent the first one, which the bot answers DUPLICATE');
    const sent = w.notifier.events.slice(before);
    assert.deepEqual(sent.map((e) => e.noticeVersion), [stored.version - 1, stored.version], 'each keeps the version of its change (the bot dedupes on it)');
    assert.ok(sent.every((e) => e.request.version === stored.version), 'both carry the request as it is now: no card goes back to an older state');
  });

  it('a notice the bot refuses for good is dropped (logged), not retried forever', async () => {
    const w = world();
    const id = await pendingRequest(w);
    w.deps.notices = new QueuedDispatch();
    await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
    w.notifier.requestChanged = async () => {
      throw new DependencyError('Teams bot', 'Teams bot refused the notification: HTTP 400', false);
    };
    assert.deepEqual(await svc.flushNotices(w.deps, id), { delivered: 0, dropped: 1 });
    assert.equal((await w.requests.get(id))!.noticeOutbox, undefined);
  });

  it('double clicks and two approvers at once: one decision, one "approved" notice, each notice delivered once', async () => {
    const w = world();
    const id = await pendingRequest(w);
    const queue = new QueuedDispatch();
    w.deps.notices = queue;
    const results = await Promise.all([
      svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' }),
      svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' }),
      svc.castVote(w.deps, { requestId: id, actor: actor('dan'), decision: 'approve' }).catch((e: unknown) => e),
    ]);
    const decided = results.filter((r) => (r as { decided?: boolean }).decided);
    assert.equal(decided.length, 1, 'exactly one decision');
    assert.equal(w.workflow.resumed.length, 1);
    const outbox = (await w.requests.get(id))!.noticeOutbox ?? [];
    assert.deepEqual(outbox.map((n) => n.event), ['approved'], 'one notice for one change');
    // Every accepted ask runs (the notify function, concurrently): the bot gets "approved" once.
    const before = w.notifier.eventsFor(id).length;
    await Promise.all(queue.queued.map((r) => svc.flushNotices(w.deps, r)));
    assert.deepEqual(w.notifier.eventsFor(id).slice(before), ['approved']);
  });

  it('reconcile flushes stranded notices (the asynchronous invoke was lost), not those a flush is still on its way for', async () => {
    const w = world();
    const id = await pendingRequest(w);
    const lost: NoticeDispatch = {
      dispatch: async () => {
        throw new DependencyError('Lambda', 'Invoke failed: ServiceException', true);
      },
    };
    w.deps.notices = lost;
    const r = await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
    assert.equal(r.decided, true, 'a lost ask does not fail the vote');
    const before = w.notifier.eventsFor(id).length;

    const fresh = await svc.reconcile(w.deps, {});
    assert.equal(fresh.actions.filter((a) => a.kind === 'flush_notices').length, 0, 'younger than the grace: left to the flush on its way');
    w.clock.advance(svc.NOTICE_FLUSH_GRACE_MS + 1);
    const later = await svc.reconcile(w.deps, {});
    assert.deepEqual(later.actions.filter((a) => a.kind === 'flush_notices').map((a) => a.requestIds), [[id]]);
    assert.deepEqual(w.notifier.eventsFor(id).slice(before), ['approved']);
    assert.equal((await w.requests.get(id))!.noticeOutbox, undefined);
    assert.equal((await svc.reconcile(w.deps, {})).actions.filter((a) => a.kind === 'flush_notices').length, 0, 'nothing left to flush');
  });

  it('a submit writes its "submitted" notice with the request and sends nothing in the request path', async () => {
    const w = world();
    const queue = new QueuedDispatch();
    w.deps.notices = queue;
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    assert.deepEqual((await w.requests.get(request.id))!.noticeOutbox?.map((n) => n.event), ['submitted']);
    assert.equal(w.notifier.eventsFor(request.id).length, 0, 'nothing sent in the request path');
    assert.deepEqual(queue.queued, [request.id]);
  });
});
