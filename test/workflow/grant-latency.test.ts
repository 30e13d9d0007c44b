/**
 * How soon access turns ACTIVE after Identity Center finishes (issue 16), on the synthesized state
 * machine with the real handlers (test/support/workflow-harness.ts). Time is the world's fake
 * clock: Identity Center completes an assignment a given number of seconds after its create, and
 * every WaitForGrant moves the clock by exactly what the definition asks for (its Seconds, or the
 * value its SecondsPath names), as Step Functions would. Nothing here reads the wall clock.
 */
import { strict as assert } from 'node:assert';
import type { AssignmentKey } from '../../core/model';
import type { AssignmentGateway, AssignmentOperation } from '../../core/ports';
import type { MemoryAssignmentGateway, MemoryWorld } from '../../core/memory';
import * as svc from '../../core/services';
import { GRANT_POLL_BUDGET_SECONDS, GRANT_POLL_WAITS_SECONDS, MAX_GRANT_POLLS, grantPollWaitSeconds } from '../../contract/workflow';
import { GRANT_WAIT_PATH, STATES } from '../../infra/constructs/approval-workflow';
import { ACCOUNTS, PS, USERS, actor, body, world } from '../support/core-world';
import { countTransitions, type LocalWorkflow, statePath, withLocalWorkflow, workflowDefinition } from '../support/workflow-harness';

/** The ceiling for an approved request's transitions (Step Functions Standard bills each). */
const MAX_TYPICAL_TRANSITIONS = 15;
/** The fixed first wait before issue 16: access was never active sooner. */
const OLD_FIRST_WAIT_MS = 5000;

/**
 * Identity Center on the fake clock: a create is IN_PROGRESS until `delayMs` after it started, then
 * whatever the memory gateway settles it to (SUCCEEDED, or FAILED after `failNext`). Counts the
 * status calls and when they were made.
 */
class TimedIdentityCenter implements AssignmentGateway {
  readonly statusCalls: number[] = [];
  private readonly started = new Map<string, number>();

  constructor(
    private readonly inner: MemoryAssignmentGateway,
    private readonly now: () => number,
    private readonly delayMs: number,
  ) {}

  exists(key: AssignmentKey): Promise<boolean> {
    return this.inner.exists(key);
  }
  async startCreate(key: AssignmentKey): Promise<AssignmentOperation> {
    const op = await this.inner.startCreate(key);
    this.started.set(op.operationId, this.now());
    return op;
  }
  async createStatus(operationId: string): Promise<AssignmentOperation> {
    this.statusCalls.push(this.now());
    const at = this.started.get(operationId);
    if (at !== undefined && this.now() < at + this.delayMs) return { operationId, status: 'IN_PROGRESS' };
    return this.inner.createStatus(operationId);
  }
  startDelete(key: AssignmentKey): Promise<AssignmentOperation> {
    return this.inner.startDelete(key);
  }
  deleteStatus(operationId: string): Promise<AssignmentOperation> {
    return this.inner.deleteStatus(operationId);
  }
  listAssignments(accountId: string, permissionSetArn: string): Promise<AssignmentKey[]> {
    return this.inner.listAssignments(accountId, permissionSetArn);
  }
  /** When the create of the first operation started. */
  firstStart(): number | undefined {
    return [...this.started.values()][0];
  }
}

/** What the definition's WaitForGrant waits after a grant step returned `result`, in seconds. */
function waitAfter(result: unknown): number {
  const wait = workflowDefinition().States[STATES.waitForGrant]!;
  if (typeof wait.Seconds === 'number') return wait.Seconds;
  assert.equal(wait.SecondsPath, GRANT_WAIT_PATH, 'WaitForGrant reads the wait the grant step named');
  const seconds = (result as { waitSeconds?: unknown }).waitSeconds;
  assert.equal(typeof seconds, 'number', `an IN_PROGRESS grant step names its wait: ${JSON.stringify(result)}`);
  return seconds as number;
}

interface Run {
  w: MemoryWorld;
  flow: LocalWorkflow;
  idc: TimedIdentityCenter;
  id: string;
}

/** Submits alice's PowerUser request, has carol approve it, and lets Identity Center take `delaySeconds`. */
async function approveWith(delaySeconds: number, o: { fail?: string } = {}): Promise<Run> {
  const w = world();
  const idc = new TimedIdentityCenter(w.assignments, () => w.clock.now(), delaySeconds * 1000);
  w.deps.assignments = idc;
  if (o.fail) w.assignments.failNext('create', o.fail);
  const flow = withLocalWorkflow(w, {
    waitMs: 0,
    retryMs: 0,
    // The Wait state after a grant step still in progress: the fake clock moves by what it waits.
    interceptTask: async (state, input, next) => {
      const result = await next(input);
      if ((state === STATES.startGrant || state === STATES.checkGrant) && (result as { status?: string }).status === 'IN_PROGRESS') {
        await w.clock.advance(waitAfter(result) * 1000);
      }
      return result;
    },
  });
  const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ permissionSetName: 'PowerUser' }) });
  await flow.awaitingApproval(request.id);
  await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
  await flow.settled(request.id);
  return { w, flow, idc, id: request.id };
}

const aliceKey = (): AssignmentKey => ({ accountId: ACCOUNTS.prod, permissionSetArn: PS.PowerUser, userId: USERS.alice.userId });

describe('workflow: access turns ACTIVE soon after Identity Center completes (issue 16)', function () {
  this.timeout(60_000);
  before(function () {
    this.timeout(120_000);
    workflowDefinition();
  });

  it('Identity Center done in 1.5 s: ACTIVE 2 s after the create, before the old fixed 5 s wait, in 11 transitions', async () => {
    const { w, flow, idc, id } = await approveWith(1.5);
    const stored = await w.requests.get(id);
    assert.equal(stored?.state, 'ACTIVE');
    const activeAfterMs = Date.parse(stored!.grant!.startsAt) - idc.firstStart()!;
    assert.equal(activeAfterMs, 2000, 'the first status check comes 2 s after the create');
    assert.ok(activeAfterMs < OLD_FIRST_WAIT_MS);
    const ex = flow.executions.get(id)!;
    assert.deepEqual(statePath(ex.events).slice(4), [STATES.startGrant, STATES.grantStatus, STATES.waitForGrant, STATES.checkGrant, STATES.grantStatus, STATES.completeGrant, STATES.granted]);
    assert.equal(countTransitions(ex.events), 11);
    assert.equal(idc.statusCalls.length, 1);
  });

  it('Identity Center done in 2.5 s: ACTIVE at 3 s, about a second after it, not at the next 5 s', async () => {
    const { w, idc, id } = await approveWith(2.5);
    const stored = await w.requests.get(id);
    assert.equal(stored?.state, 'ACTIVE');
    assert.equal(Date.parse(stored!.grant!.startsAt) - idc.firstStart()!, 3000);
  });

  it('a typical approve (Identity Center within 1-3 s) stays within 15 transitions', async () => {
    for (const seconds of [0.5, 1, 2, 2.9, 3]) {
      const { flow, id } = await approveWith(seconds);
      const ex = flow.executions.get(id)!;
      assert.equal(ex.status, 'SUCCEEDED', `${seconds} s`);
      const transitions = countTransitions(ex.events);
      assert.ok(transitions <= MAX_TYPICAL_TRANSITIONS, `${seconds} s: ${transitions} transitions (${statePath(ex.events).join(' > ')})`);
    }
  });

  it('a slow Identity Center (40 s) falls back to the 5 s backoff: ACTIVE within 5 s of it, one create, one ACTIVE notice', async () => {
    const { w, flow, idc, id } = await approveWith(40);
    const stored = await w.requests.get(id);
    assert.equal(stored?.state, 'ACTIVE');
    const activeAfterMs = Date.parse(stored!.grant!.startsAt) - idc.firstStart()!;
    assert.ok(activeAfterMs >= 40_000 && activeAfterMs <= 45_000, `${activeAfterMs} ms`);
    // Checks at 2, 3, 4, 6, 9 s, then every 5 s: never two within a second.
    const gaps = idc.statusCalls.slice(1).map((t, i) => t - idc.statusCalls[i]!);
    assert.ok(gaps.every((g) => g >= 1000), `gaps ${gaps.join(', ')}`);
    assert.deepEqual(gaps.slice(0, 5), [1000, 1000, 2000, 3000, 5000]);
    assert.deepEqual(w.assignments.writes.map((x) => x.kind), ['create'], 'no second create');
    assert.ok(w.assignments.isLive(aliceKey()));
    assert.deepEqual(w.notifier.eventsFor(id).filter((e) => e === 'active'), ['active']);
    assert.equal(flow.executions.get(id)!.status, 'SUCCEEDED');
  });

  it('Identity Center reports FAILED after 3 s: the request FAILS with its reason, nothing is left live', async () => {
    const { w, flow, id } = await approveWith(3, { fail: 'The principal does not exist (injected)' });
    const ex = flow.executions.get(id)!;
    assert.equal(ex.status, 'FAILED');
    assert.ok(statePath(ex.events).includes(STATES.failGrant));
    const stored = await w.requests.get(id);
    assert.equal(stored?.state, 'FAILED');
    assert.match(stored?.failureReason ?? '', /principal does not exist/);
    assert.equal(w.assignments.isLive(aliceKey()), false);
    assert.deepEqual(w.notifier.eventsFor(id).filter((e) => e === 'active'), []);
  });

  it('Identity Center never finishing: the workflow gives up after GRANT_POLL_BUDGET_SECONDS (not sooner) and rolls back', async () => {
    const { w, flow, idc, id } = await approveWith(10_000);
    const ex = flow.executions.get(id)!;
    assert.equal(ex.status, 'FAILED');
    assert.ok(statePath(ex.events).includes(STATES.pollingExhausted));
    assert.equal(idc.statusCalls.length, MAX_GRANT_POLLS);
    const waited = idc.statusCalls.at(-1)! - idc.firstStart()!;
    assert.ok(waited >= GRANT_POLL_BUDGET_SECONDS * 1000 - 5000 && waited <= GRANT_POLL_BUDGET_SECONDS * 1000 + 5000, `${waited} ms`);
    assert.equal((await w.requests.get(id))?.state, 'FAILED');
  });

  it('the schedule never checks twice within a second (status calls share Identity Center\'s 20 TPS) and covers the budget', () => {
    assert.ok(GRANT_POLL_WAITS_SECONDS.every((s) => Number.isInteger(s) && s >= 1));
    const total = Array.from({ length: MAX_GRANT_POLLS }, (_, i) => grantPollWaitSeconds(i)).reduce((a, b) => a + b, 0);
    assert.ok(total >= GRANT_POLL_BUDGET_SECONDS && total - grantPollWaitSeconds(MAX_GRANT_POLLS - 1) < GRANT_POLL_BUDGET_SECONDS, `${total} s over ${MAX_GRANT_POLLS} checks`);
  });
});
