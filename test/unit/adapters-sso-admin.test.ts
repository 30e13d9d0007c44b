/**
 * The Identity Center gateway under the conditions AWS documents: throttling bursts, conflicting
 * writes, 5xx, and the 20 TPS / 10 outstanding writes quotas. Time is a fake clock; nothing waits.
 */
import { strict as assert } from 'node:assert';
import {
  AccessDeniedException,
  ConflictException,
  CreateAccountAssignmentCommand,
  DescribeAccountAssignmentCreationStatusCommand,
  InternalServerException,
  SSOAdminClient,
  ThrottlingException,
} from '@aws-sdk/client-sso-admin';
import { mockClient } from 'aws-sdk-client-mock';
import { ownSend } from '../support/aws-capture';
import { DependencyError } from '../../core/errors';
import type { Clock } from '../../core/ports';
import { IdentityCenterLimiter } from '../../lambdas/adapters/limiter';
import { SsoAdminAssignmentGateway } from '../../lambdas/adapters/sso-admin-assignments';

const INSTANCE = 'arn:aws:sso:::instance/ssoins-1111111111111111';
const PS = 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111';
const KEY = { accountId: '111111111111', permissionSetArn: PS, userId: '11111111-2222-3333-4444-555555555555' };
const created = (id = 'op-1') => ({ AccountAssignmentCreationStatus: { Status: 'IN_PROGRESS' as const, RequestId: id } });
const meta = { $metadata: { httpStatusCode: 400 } };

/** A clock whose sleeps move time at once and are recorded. */
function recordingClock(): Clock & { sleeps: number[]; t: number } {
  const c = {
    t: 0,
    sleeps: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.sleeps.push(ms);
      c.t += ms;
    },
  };
  return c;
}

describe('adapters: sso-admin assignment gateway', () => {
  // An instance mock with its own send: class mocks elsewhere neither leak in nor get replaced.
  const ssoAdmin = ownSend(new SSOAdminClient({}));
  const mock = mockClient(ssoAdmin);
  afterEach(() => mock.reset());

  function gateway(clock = recordingClock(), maxAttempts = 6) {
    return { clock, gw: new SsoAdminAssignmentGateway(ssoAdmin, { instanceArn: INSTANCE, clock, random: () => 0.5, retry: { maxAttempts, baseDelayMs: 200, maxDelayMs: 5000 } }) };
  }

  it('a throttling burst is retried with growing full-jitter backoff, then succeeds', async () => {
    mock
      .on(CreateAccountAssignmentCommand)
      .rejectsOnce(new ThrottlingException({ message: 'Rate exceeded', ...meta }))
      .rejectsOnce(new ThrottlingException({ message: 'Rate exceeded', ...meta }))
      .rejectsOnce(new ThrottlingException({ message: 'There are too many requests processing', ...meta }))
      .resolves(created());
    const { clock, gw } = gateway();
    assert.deepEqual(await gw.startCreate(KEY), { operationId: 'op-1', status: 'IN_PROGRESS' });
    assert.equal(mock.commandCalls(CreateAccountAssignmentCommand).length, 4);
    // random 0.5 of 200, 400, 800 ms.
    assert.deepEqual(clock.sleeps, [100, 200, 400]);
  });

  it('ConflictException (a write already in progress on the assignment) and 5xx are retried', async () => {
    mock
      .on(CreateAccountAssignmentCommand)
      .rejectsOnce(new ConflictException({ message: 'in progress', ...meta }))
      .rejectsOnce(new InternalServerException({ message: 'oops', $metadata: { httpStatusCode: 500 } }))
      .rejectsOnce(Object.assign(new Error('Service Unavailable'), { name: 'UnknownError', $metadata: { httpStatusCode: 503 } }))
      .resolves(created('op-2'));
    const { gw } = gateway();
    assert.equal((await gw.startCreate(KEY)).operationId, 'op-2');
    assert.equal(mock.commandCalls(CreateAccountAssignmentCommand).length, 4);
  });

  it('gives up after the bounded attempts with a retryable DependencyError that says so', async () => {
    mock.on(CreateAccountAssignmentCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', ...meta }));
    const { gw } = gateway(recordingClock(), 4);
    await assert.rejects(gw.startCreate(KEY), (e: unknown) => {
      assert.ok(e instanceof DependencyError);
      assert.equal(e.retryable, true);
      assert.match(e.message, /ThrottlingException.*gave up after 4 attempts/);
      return true;
    });
    assert.equal(mock.commandCalls(CreateAccountAssignmentCommand).length, 4);
  });

  it('access denied is not retried: a non-retryable DependencyError at once', async () => {
    mock.on(CreateAccountAssignmentCommand).rejects(new AccessDeniedException({ message: 'not authorized to perform sso:CreateAccountAssignment', ...meta }));
    const { gw } = gateway();
    await assert.rejects(gw.startCreate(KEY), (e: unknown) => e instanceof DependencyError && !e.retryable && /AccessDeniedException/.test(e.message));
    assert.equal(mock.commandCalls(CreateAccountAssignmentCommand).length, 1);
  });

  it('a FAILED create status carries the failure reason', async () => {
    mock.on(DescribeAccountAssignmentCreationStatusCommand).resolves({ AccountAssignmentCreationStatus: { Status: 'FAILED', RequestId: 'op-1', FailureReason: 'Received a 404 status error: No principal found.' } });
    const { gw } = gateway();
    assert.deepEqual(await gw.createStatus('op-1'), { operationId: 'op-1', status: 'FAILED', failureReason: 'Received a 404 status error: No principal found.' });
  });

  it('50 concurrent grants keep at most 10 writes outstanding, and all of them complete', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let n = 0;
    mock.on(CreateAccountAssignmentCommand).callsFake(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Stay in flight across several turns of the event loop, so that others pile up.
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      n++;
      return created(`op-${n}`);
    });
    const clock = recordingClock();
    const limiter = new IdentityCenterLimiter(clock);
    const gw = new SsoAdminAssignmentGateway(ssoAdmin, { instanceArn: INSTANCE, clock, limiter, random: () => 0.5 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => gw.startCreate({ ...KEY, userId: `${String(i).padStart(8, '0')}-2222-3333-4444-555555555555` })));
    assert.equal(results.length, 50);
    assert.equal(new Set(results.map((r) => r.operationId)).size, 50);
    assert.equal(maxInFlight, 10);
    assert.equal(limiter.writes.maxObserved, 10);
  });

  it('keeps about 20 calls per second: 60 status polls take at least 2 s of clock time', async () => {
    const clock = recordingClock();
    const stamps: number[] = [];
    // When each call reaches the service.
    mock.on(DescribeAccountAssignmentCreationStatusCommand).callsFake(() => {
      stamps.push(clock.now());
      return { AccountAssignmentCreationStatus: { Status: 'IN_PROGRESS', RequestId: 'op-1' } };
    });
    const gw = new SsoAdminAssignmentGateway(ssoAdmin, { instanceArn: INSTANCE, clock, random: () => 0.5 });
    await Promise.all(
      Array.from({ length: 60 }, () => gw.createStatus('op-1')),
    );
    // Burst of 20 at t=0, then 20 per second.
    assert.ok(clock.now() >= 2000 && clock.now() <= 2100, `took ${clock.now()} ms`);
    for (let second = 0; second * 1000 < clock.now(); second++) {
      const inWindow = stamps.filter((t) => t > second * 1000 && t <= (second + 1) * 1000).length;
      assert.ok(inWindow <= 20, `${inWindow} calls in second ${second + 1}`);
    }
  });

  it('lists only USER assignments across pages; exists() answers from that list', async () => {
    const { ListAccountAssignmentsCommand } = await import('@aws-sdk/client-sso-admin');
    mock
      .on(ListAccountAssignmentsCommand)
      .resolvesOnce({ AccountAssignments: [{ PrincipalType: 'GROUP', PrincipalId: 'group-1' }], NextToken: 't2' })
      .resolvesOnce({ AccountAssignments: [{ PrincipalType: 'USER', PrincipalId: 'someone-else' }], NextToken: 't3' })
      .resolves({ AccountAssignments: [{ PrincipalType: 'USER', PrincipalId: KEY.userId }] });
    const { gw } = gateway();
    assert.deepEqual((await gw.listAssignments(KEY.accountId, PS)).map((k) => k.userId), ['someone-else', KEY.userId]);
    assert.deepEqual(mock.commandCalls(ListAccountAssignmentsCommand).map((c) => c.args[0].input.NextToken), [undefined, 't2', 't3']);
  });
});
