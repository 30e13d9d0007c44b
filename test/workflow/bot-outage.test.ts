/**
 * A Teams bot outage while a request waits for its approval card: the synthesized state machine
 * (aws-local-stepfunctions) with the real handlers over in-memory ports. PostApprovalCard's own
 * retrier runs with the definition's real intervals, on sinon fake timers kept in step with the
 * core's fake clock: ten minutes of outage take no wall-clock time.
 */
import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import { DependencyError } from '../../core/errors';
import type { MemoryWorld } from '../../core/memory';
import type { AccessRequest } from '../../core/model';
import type { NotificationEvent } from '../../core/ports';
import * as svc from '../../core/services';
import { cardPostRetry, retryDelaySeconds, STATES } from '../../infra/constructs/approval-workflow';
import { actor, body, world } from '../support/core-world';
import { type LocalWorkflow, statePath, withLocalWorkflow, workflowDefinition } from '../support/workflow-harness';

const MIN = 60_000;
/** The default context value botOutageToleranceMinutes (what the tests' synthesized definition uses). */
const TOLERANCE_MINUTES = 30;

interface Bot {
  /** Every notice the core tried to send, in order, with the sandbox time. */
  attempts: Array<{ event: NotificationEvent; at: number }>;
  /** The notices the bot received. */
  delivered: Array<{ event: NotificationEvent; at: number; request: AccessRequest }>;
}

/** The bot answers 503 (as BotNotifier reports it once its own attempts are spent) until `downUntil`. */
function botDownUntil(w: MemoryWorld, downUntil: number): Bot {
  const bot: Bot = { attempts: [], delivered: [] };
  const original = w.notifier.requestChanged.bind(w.notifier);
  sinon.stub(w.notifier, 'requestChanged').callsFake(async (event, request) => {
    const at = w.clock.now();
    bot.attempts.push({ event, at });
    if (at < downUntil) throw new DependencyError('Teams bot', 'Teams bot notification failed after 3 attempts: HTTP 503 Service Unavailable', true);
    bot.delivered.push({ event, at, request });
    await original(event, request);
  });
  return bot;
}

describe('workflow: a bot outage delays the approval card, never fails the request (within the tolerance)', function () {
  this.timeout(120_000);
  let timers: sinon.SinonFakeTimers | undefined;

  before(function () {
    this.timeout(120_000);
    workflowDefinition();
  });

  afterEach(() => {
    timers?.restore();
    timers = undefined;
    sinon.restore();
  });

  function setup(): { w: MemoryWorld; flow: LocalWorkflow; approvalWaits: number[] } {
    const w = world();
    const approvalWaits: number[] = [];
    const flow = withLocalWorkflow(w, {
      waitMs: 0,
      retryMs: 0,
      // PostApprovalCard's retrier (the outage one) keeps the definition's intervals.
      retryOverrides: { [STATES.postApprovalCard]: [-1] },
      interceptTask: (state, input, next) => {
        if (state === STATES.requestApproval) approvalWaits.push((input as { Payload: { approvalTimeoutSeconds: number } }).Payload.approvalTimeoutSeconds);
        return next(input);
      },
    });
    timers = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    return { w, flow, approvalWaits };
  }

  /** Moves the core clock and the state machine's timers together, in small steps. */
  async function elapse(w: MemoryWorld, ms: number, step = 5_000, each?: () => Promise<void>): Promise<void> {
    for (let done = 0; done < ms; done += step) {
      w.clock.set(w.clock.now() + step);
      await timers!.tickAsync(step);
      await each?.();
    }
  }

  it('the definition retries the post for at least the tolerance, without jitter', () => {
    const retry = (workflowDefinition().States[STATES.postApprovalCard]!.Retry ?? []) as Array<{ ErrorEquals: string[]; IntervalSeconds: number; BackoffRate: number; MaxDelaySeconds: number; MaxAttempts: number; JitterStrategy?: string }>;
    // One retrier: one whose attempts run out fails the state even if a later one matches too.
    assert.equal(retry.length, 1);
    const outage = retry[0]!;
    for (const e of ['RetryableError', 'Sandbox.Timedout', 'Lambda.Unknown', 'States.Timeout', 'ThrottlingException', 'Lambda.TooManyRequestsException', 'Lambda.ServiceException']) assert.ok(outage.ErrorEquals.includes(e), e);
    assert.equal(outage.JitterStrategy, undefined);
    let covered = 0;
    for (let k = 1; k <= outage.MaxAttempts; k++) covered += retryDelaySeconds({ intervalSeconds: outage.IntervalSeconds, backoffRate: outage.BackoffRate, maxDelaySeconds: outage.MaxDelaySeconds }, k);
    assert.ok(covered >= TOLERANCE_MINUTES * 60, `${covered} s of retries`);
    assert.ok(covered < TOLERANCE_MINUTES * 60 + outage.MaxDelaySeconds, 'and not much longer');
    assert.deepEqual(cardPostRetry(TOLERANCE_MINUTES * 60).maxAttempts, outage.MaxAttempts);
  });

  it('bot down for 10 minutes: the request stays PENDING_APPROVAL, the card is posted once when the bot is back, the deadline counts from the post', async () => {
    const { w, flow, approvalWaits } = setup();
    const t0 = w.clock.now();
    const bot = botDownUntil(w, t0 + 10 * MIN);
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    const id = request.id;
    const timeoutSeconds = request.terms.approvalTimeoutSeconds;

    await elapse(w, 10 * MIN, 5_000, async () => {
      assert.equal((await w.requests.get(id))?.state, 'PENDING_APPROVAL', `at +${(w.clock.now() - t0) / 1000} s`);
      assert.equal(flow.executions.get(id)?.status, 'RUNNING');
    });
    const cardTries = bot.attempts.filter((a) => a.event === 'approval_requested');
    assert.ok(cardTries.length >= 8, `${cardTries.length} posts tried during the outage`);
    assert.deepEqual(bot.delivered.filter((d) => d.event === 'approval_requested'), [], 'nothing reached the bot while it was down');

    // The bot is back: the next retry (at most a minute later) posts the card.
    await elapse(w, 1 * MIN);
    const cards = bot.delivered.filter((d) => d.event === 'approval_requested');
    assert.equal(cards.length, 1, 'one card');
    const postedAt = cards[0]!.at;
    assert.ok(postedAt >= t0 + 10 * MIN && postedAt <= t0 + 11 * MIN);
    await flow.awaitingApproval(id);
    const stored = (await w.requests.get(id))!;
    assert.equal(stored.state, 'PENDING_APPROVAL');
    assert.equal(stored.cardPostedAt, new Date(postedAt).toISOString());
    assert.equal(stored.approvalDeadline, new Date(postedAt + timeoutSeconds * 1000).toISOString(), 'deadline = post + approval timeout');
    assert.equal(cards[0]!.request.approvalDeadline, stored.approvalDeadline, 'the card shows that deadline');
    assert.deepEqual(approvalWaits, [timeoutSeconds], 'the approval wait lasts the whole approval timeout from the post');
    const audit = w.audit.forRequest(id).filter((e) => e.action === 'request.approval_requested');
    assert.equal(audit.length, 1);
    assert.ok(Number(audit[0]!.details?.delayedSeconds) >= 600);

    // Past submit + timeout (where the old deadline was), the request is still open for a vote.
    await elapse(w, timeoutSeconds * 1000 - 2 * MIN, 60_000);
    assert.equal((await w.requests.get(id))?.state, 'PENDING_APPROVAL');
    assert.ok(w.clock.now() > t0 + timeoutSeconds * 1000);
    const vote = await svc.castVote(w.deps, { requestId: id, actor: actor('carol'), decision: 'approve' });
    assert.equal(vote.decided, true);
    await timers!.tickAsync(0);
    const ex = await flow.settled(id);
    assert.equal(ex.status, 'SUCCEEDED', JSON.stringify(ex.error));
    assert.equal((await w.requests.get(id))?.state, 'ACTIVE');
    assert.equal(bot.delivered.filter((d) => d.event === 'approval_requested').length, 1, 'still one card');
    assert.equal(statePath(ex.events).filter((s) => s === STATES.postApprovalCard).length, 1, 'one state, retried');
  });

  it('an approver who does not vote in time after a delayed card: TIMED_OUT at post + timeout, not before', async () => {
    const { w, flow } = setup();
    const t0 = w.clock.now();
    botDownUntil(w, t0 + 5 * MIN);
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await elapse(w, 6 * MIN);
    await flow.awaitingApproval(request.id);
    const deadline = Date.parse((await w.requests.get(request.id))!.approvalDeadline);
    await elapse(w, deadline - w.clock.now() - 5_000);
    assert.equal((await w.requests.get(request.id))?.state, 'PENDING_APPROVAL');
    await elapse(w, 10_000);
    await flow.settled(request.id);
    assert.equal((await w.requests.get(request.id))?.state, 'TIMED_OUT');
  });

  it(`an outage longer than the tolerance (${TOLERANCE_MINUTES} min) fails the request cleanly, with a clear reason, and tries to tell the requester`, async () => {
    const { w, flow } = setup();
    const t0 = w.clock.now();
    const bot = botDownUntil(w, t0 + 45 * MIN);
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await elapse(w, (TOLERANCE_MINUTES - 1) * MIN, 15_000, async () => assert.equal((await w.requests.get(request.id))?.state, 'PENDING_APPROVAL'));
    await elapse(w, 3 * MIN, 15_000);
    const ex = await flow.settled(request.id);
    assert.equal(ex.status, 'FAILED');
    assert.deepEqual(statePath(ex.events).slice(-3), [STATES.cardNotPosted, STATES.recordFailure, STATES.failed]);
    const stored = (await w.requests.get(request.id))!;
    assert.equal(stored.state, 'FAILED');
    assert.match(stored.failureReason ?? '', /^ApprovalCardNotPosted: The approval card could not be posted: the Teams bot could not be reached for 30 minutes/);
    assert.doesNotMatch(stored.failureReason ?? '', /errorType|trace|at \//, 'no Lambda error JSON or stack on the card');
    const failedAt = Date.parse(stored.endedAt!);
    assert.ok(failedAt >= t0 + TOLERANCE_MINUTES * MIN, `failed after ${(failedAt - t0) / MIN} min`);
    assert.ok(bot.attempts.some((a) => a.event === 'failed'), 'the requester is told (best effort: the bot may still be down)');
    assert.deepEqual(flow.waitingTokens(), []);
    // The access is free again: the requester can ask once more.
    await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
  });
});
