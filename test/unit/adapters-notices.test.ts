/**
 * The notice flush's transport: the asynchronous invoke of the notify function (AWS adapter and
 * the sandbox's stand-in) and the notify function's flush_notices action.
 */
import { strict as assert } from 'node:assert';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { DependencyError } from '../../core/errors';
import { FakeClock } from '../../core/memory';
import * as svc from '../../core/services';
import { LambdaNoticeDispatch } from '../../lambdas/adapters/lambda-notices';
import { createNotifyHandler } from '../../lambdas/notify/handler';
import { LocalAsyncInvoke } from '../../sandbox/orchestrator/async-invoke';
import { assertCallsConform, mockedCalls } from '../support/aws-capture';
import { actor, body, startWorkflow, world } from '../support/core-world';

const NOTIFY_ARN = 'arn:aws:lambda:us-east-1:111111111111:function:jit-access-test-notify';
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } });
}

describe('notice flush transport', () => {
  describe('LambdaNoticeDispatch (AWS)', () => {
    it('queues an asynchronous invoke (InvocationType Event) of the notify function with just the request id, valid for the Lambda API model', async () => {
      const client = new LambdaClient({ region: 'us-east-1' });
      const mock = mockClient(client);
      mock.on(InvokeCommand).resolves({ StatusCode: 202 });
      await new LambdaNoticeDispatch(client, { functionArn: NOTIFY_ARN, clock: new FakeClock() }).dispatch('req-01');
      const [call] = mock.commandCalls(InvokeCommand);
      assert.equal(call!.args[0].input.FunctionName, NOTIFY_ARN);
      assert.equal(call!.args[0].input.InvocationType, 'Event');
      assert.deepEqual(JSON.parse(new TextDecoder().decode(call!.args[0].input.Payload as Uint8Array)), { action: 'flush_notices', requestId: 'req-01' });
      assertCallsConform('lambda', mockedCalls(mock));
    });

    it('a throttled invoke is tried again (on the fake clock); an answer other than 202 Accepted did not queue the event and is an error', async () => {
      const client = new LambdaClient({ region: 'us-east-1' });
      const mock = mockClient(client);
      mock.on(InvokeCommand).rejectsOnce(throttled()).resolves({ StatusCode: 202 });
      const dispatch = new LambdaNoticeDispatch(client, { functionArn: NOTIFY_ARN, clock: new FakeClock(), random: () => 0.5 });
      await dispatch.dispatch('req-01');
      assert.equal(mock.commandCalls(InvokeCommand).length, 2);
      mock.reset();
      mock.on(InvokeCommand).resolves({ StatusCode: 200 });
      await assert.rejects(dispatch.dispatch('req-01'), (e: unknown) => e instanceof DependencyError && /not queued/.test(e.message));
    });
  });

  describe('LocalAsyncInvoke (the sandbox stand-in of the asynchronous invoke)', () => {
    it('answers once the event is queued: the function runs on a later turn, with a copy of the payload', async () => {
      const invoke = new LocalAsyncInvoke(() => undefined);
      const seen: unknown[] = [];
      invoke.bind(async (p) => {
        seen.push(p);
      });
      await invoke.dispatch('req-01');
      assert.deepEqual(seen, [], 'not run in the caller\'s turn');
      await invoke.idle();
      assert.deepEqual(seen, [{ action: 'flush_notices', requestId: 'req-01' }]);
    });

    it('retries a failing function twice, then gives the event to the on-failure destination; no registered function takes no event', async () => {
      const invoke = new LocalAsyncInvoke(() => undefined, [0, 0]);
      let runs = 0;
      invoke.bind(async () => {
        runs++;
        throw new Error('bot down');
      });
      await invoke.dispatch('req-01');
      await invoke.idle();
      assert.equal(runs, 3, 'one attempt and two retries, as Lambda does');
      assert.deepEqual(invoke.failed, [{ action: 'flush_notices', requestId: 'req-01' }]);
      await assert.rejects(new LocalAsyncInvoke(() => undefined).dispatch('req-02'), DependencyError);
    });
  });

  describe('notify function: flush_notices', () => {
    it('delivers the outbox and clears it; a bot that is down makes the invocation fail (so that Lambda retries it); a bad payload is refused', async () => {
      const w = world();
      const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
      await startWorkflow(w, request.id);
      w.deps.notices = { dispatch: async () => undefined };
      await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
      const notify = createNotifyHandler(w.deps);
      const deliver = w.notifier.requestChanged.bind(w.notifier);
      w.notifier.requestChanged = async () => {
        throw new DependencyError('Teams bot', 'Teams bot notification failed after 3 attempts: HTTP 503', true);
      };
      await assert.rejects(notify({ action: 'flush_notices', requestId: request.id }), DependencyError);
      w.notifier.requestChanged = deliver;
      assert.deepEqual(await notify({ action: 'flush_notices', requestId: request.id }), { requestId: request.id, delivered: 1, dropped: 0 });
      assert.equal((await w.requests.get(request.id))!.noticeOutbox, undefined);
      await assert.rejects(notify({ action: 'flush_notices' } as never), /Invalid flush payload/);
    });

    it('the end to end of the stand-in: a failed flush is retried by the invoke and then delivered once', async () => {
      const w = world();
      const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
      await startWorkflow(w, request.id);
      const invoke = new LocalAsyncInvoke(() => undefined, [0, 0]);
      invoke.bind(createNotifyHandler(w.deps));
      w.deps.notices = invoke;
      const deliver = w.notifier.requestChanged.bind(w.notifier);
      let failures = 1;
      w.notifier.requestChanged = async (...args) => {
        if (failures-- > 0) throw new DependencyError('Teams bot', 'timed out', true);
        return deliver(...args);
      };
      const before = w.notifier.eventsFor(request.id).length;
      await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
      await turn();
      await invoke.idle();
      assert.deepEqual(w.notifier.eventsFor(request.id).slice(before), ['approved']);
      assert.deepEqual(invoke.failed, []);
      assert.equal((await w.requests.get(request.id))!.noticeOutbox, undefined);
    });
  });
});
