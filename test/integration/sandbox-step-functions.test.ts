/**
 * The Step Functions stand-in through the REAL @aws-sdk/client-sfn: a hand-written definition with
 * Choice, Wait, Retry, Catch and a `.waitForTaskToken` approval task, run by
 * aws-local-stepfunctions. Approve, deny and timeout paths; task tokens; StartExecution
 * idempotency; StopExecution; restart handling.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidArn,
  InvalidExecutionInput,
  InvalidName,
  InvalidOutput,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { type AwsStandIns, ManualClock, startAwsStandIns } from '../../sandbox/aws';
import { type AslDefinition, StepFunctionsStandIn, type TaskHandler } from '../../sandbox/aws/step-functions';

const FN = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;

/** A small approval workflow in the shape of the product's (JSONPath, no JSONata). */
const DEFINITION: AslDefinition = {
  StartAt: 'Validate',
  States: {
    Validate: { Type: 'Task', Resource: FN('workflow'), Parameters: { action: 'validate', 'requestId.$': '$.requestId' }, TimeoutSeconds: 10, Next: 'Route' },
    Route: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.route', StringEquals: 'approval', Next: 'RequestApproval' },
        { Variable: '$.route', StringEquals: 'auto_approve', Next: 'Settle' },
      ],
      Default: 'Rejected',
    },
    RequestApproval: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: FN('notify'), Payload: { 'requestId.$': '$.requestId', 'taskToken.$': '$$.Task.Token', 'note.$': "States.Format('token={}', $$.Task.Token)" } },
      TimeoutSeconds: 1,
      ResultPath: '$.decision',
      Catch: [
        { ErrorEquals: ['Denied'], ResultPath: '$.error', Next: 'Closed' },
        { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'TimedOut' },
      ],
      Next: 'Settle',
    },
    Settle: { Type: 'Wait', Seconds: 30, Next: 'Grant' },
    Grant: {
      Type: 'Task',
      Resource: FN('workflow'),
      Parameters: { action: 'start_grant', 'requestId.$': '$.requestId' },
      TimeoutSeconds: 10,
      Retry: [{ ErrorEquals: ['ThrottlingException'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
      ResultPath: '$.grant',
      Next: 'Granted',
    },
    Granted: { Type: 'Succeed' },
    Closed: { Type: 'Fail', Error: 'Denied', CausePath: '$.error.Cause' },
    TimedOut: { Type: 'Pass', Result: 'timed out', ResultPath: '$.outcome', End: true },
    Rejected: { Type: 'Fail', Error: 'UnknownRoute', Cause: 'Validate returned an unknown route' },
  },
};

interface Recorder {
  notified: Array<{ requestId: string; taskToken: string; note: string }>;
  grants: string[];
  throttleGrants: number;
}

function handlers(rec: Recorder): Record<string, TaskHandler> {
  return {
    Validate: (input) => {
      const { requestId } = input as { requestId: string };
      const route = requestId.startsWith('auto') ? 'auto_approve' : requestId.startsWith('odd') ? 'nonsense' : 'approval';
      return { requestId, route };
    },
    RequestApproval: (input, invocation) => {
      const payload = (input as { Payload: { requestId: string; taskToken: string; note: string } }).Payload;
      assert.equal(payload.taskToken, invocation.taskToken, 'the payload carries the token the stand-in issued');
      rec.notified.push(payload);
      return { ignored: 'the return value of a waitForTaskToken task is not its result' };
    },
    Grant: (input) => {
      if (rec.throttleGrants > 0) {
        rec.throttleGrants--;
        const e = new Error('Rate exceeded');
        e.name = 'ThrottlingException';
        throw e;
      }
      rec.grants.push((input as { requestId: string }).requestId);
      return { status: 'SUCCEEDED' };
    },
  };
}

describe('sandbox Step Functions stand-in (real sfn SDK client, aws-local-stepfunctions)', () => {
  let aws: AwsStandIns;
  let sfn: SFNClient;
  let rec: Recorder;
  let machineArn: string;

  const start = async (dataDir: string | false = false, onRestart: 'restart' | 'fail' = 'restart') => {
    rec = { notified: [], grants: [], throttleGrants: 0 };
    aws = await startAwsStandIns({ port: 0, dataDir, clock: new ManualClock(), stepFunctions: { onRestart, log: () => undefined } });
    machineArn = aws.stepFunctions.registerStateMachine({
      name: 'jit-access-sandbox-approval',
      definition: DEFINITION,
      taskHandlers: handlers(rec),
      waitTimeOverrides: { Settle: 5 },
      retryIntervalOverrides: { Grant: 1 },
    });
    sfn = new SFNClient({ ...aws.clientConfig, maxAttempts: 1 });
  };
  const startExecution = (name: string, input: unknown = { requestId: name }) => sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, name, input: JSON.stringify(input) }));
  const describe_ = (executionArn: string) => sfn.send(new DescribeExecutionCommand({ executionArn }));

  afterEach(async () => {
    sfn?.destroy();
    await aws?.stop();
  });

  it('approve path: the approval task waits for SendTaskSuccess, whose output becomes the task result', async () => {
    await start();
    const { executionArn, startDate } = await startExecution('req-approve');
    assert.equal(executionArn, 'arn:aws:states:us-east-1:123456789012:execution:jit-access-sandbox-approval:req-approve');
    assert.ok(startDate instanceof Date);
    const token = await aws.stepFunctions.waitingTask('req-approve', 'RequestApproval');
    assert.equal((await describe_(executionArn!)).status, 'RUNNING');
    assert.deepEqual(rec.notified.map((n) => n.taskToken), [token]);
    assert.equal(rec.notified[0]?.note, `token=${token}`, 'the token replaces $$.Task.Token inside intrinsic results too');
    assert.match(token, /^sbx1\.[A-Za-z0-9_-]{43}$/);

    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approved: true, approvedBy: 'carol' }) }));
    const done = await aws.stepFunctions.settled('req-approve');
    assert.equal(done.status, 'SUCCEEDED');
    assert.deepEqual(done.path, ['Validate', 'Route', 'RequestApproval', 'Settle', 'Grant', 'Granted']);
    assert.equal(done.transitions, 6);
    const described = await describe_(executionArn!);
    assert.equal(described.status, 'SUCCEEDED');
    assert.ok(described.stopDate instanceof Date);
    const output = JSON.parse(described.output!) as { decision: unknown; grant: unknown };
    assert.deepEqual(output.decision, { approved: true, approvedBy: 'carol' });
    assert.deepEqual(output.grant, { status: 'SUCCEEDED' });
    assert.deepEqual(rec.grants, ['req-approve']);

    // A closed task's token: a double click, or a replay, gets TaskTimedOut and changes nothing.
    await assert.rejects(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })), TaskTimedOut);
    await assert.rejects(sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'Denied' })), TaskTimedOut);
  });

  it('deny path: SendTaskFailure fails the task with the named error, which Catch routes', async () => {
    await start();
    const { executionArn } = await startExecution('req-deny');
    const token = await aws.stepFunctions.waitingTask('req-deny');
    await sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'Denied', cause: 'Denied by carol: not during the freeze' }));
    const done = await aws.stepFunctions.settled('req-deny');
    assert.equal(done.status, 'FAILED');
    assert.deepEqual(done.path, ['Validate', 'Route', 'RequestApproval', 'Closed']);
    const described = await describe_(executionArn!);
    assert.equal(described.error, 'Denied');
    assert.equal(described.cause, 'Denied by carol: not during the freeze');
    assert.deepEqual(rec.grants, []);
  });

  it('timeout path: no decision within TimeoutSeconds is States.Timeout; the token then answers TaskTimedOut', async () => {
    await start();
    await startExecution('req-timeout');
    const token = await aws.stepFunctions.waitingTask('req-timeout');
    // TimeoutSeconds must be an integer: this waits one real second.
    const done = await aws.stepFunctions.settled('req-timeout');
    assert.equal(done.status, 'SUCCEEDED');
    assert.deepEqual(done.path, ['Validate', 'Route', 'RequestApproval', 'TimedOut']);
    assert.equal((JSON.parse(done.output!) as { outcome: string }).outcome, 'timed out');
    await assert.rejects(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })), TaskTimedOut);
    assert.deepEqual(aws.stepFunctions.waitingTasks(), []);
  });

  it('answers InvalidToken for malformed tokens, TaskDoesNotExist for unknown ones, InvalidOutput for non-JSON output', async () => {
    await start();
    await startExecution('req-tokens');
    const token = await aws.stepFunctions.waitingTask('req-tokens');
    await assert.rejects(sfn.send(new SendTaskSuccessCommand({ taskToken: 'forged-from-card-data', output: '{}' })), InvalidToken);
    await assert.rejects(sfn.send(new SendTaskSuccessCommand({ taskToken: `sbx1.${'A'.repeat(43)}`, output: '{}' })), TaskDoesNotExist);
    await assert.rejects(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: 'approved' })), InvalidOutput);
    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    // Still waiting: none of the bad calls settled the task.
    assert.deepEqual(aws.stepFunctions.waitingTasks().map((t) => t.token), [token]);
    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"approved":true}' }));
    assert.equal((await aws.stepFunctions.settled('req-tokens')).status, 'SUCCEEDED');
    await assert.rejects(sfn.send(new SendTaskHeartbeatCommand({ taskToken: token })), TaskTimedOut);
  });

  it('StartExecution is idempotent for the same name and input while running; otherwise ExecutionAlreadyExists', async () => {
    await start();
    const first = await startExecution('req-idem');
    await aws.stepFunctions.waitingTask('req-idem');
    const again = await startExecution('req-idem');
    assert.equal(again.executionArn, first.executionArn);
    assert.equal(again.startDate?.getTime(), first.startDate?.getTime());
    assert.equal(rec.notified.length, 1, 'the retry did not start a second run');
    await assert.rejects(startExecution('req-idem', { requestId: 'req-idem', extra: true }), ExecutionAlreadyExists);

    await sfn.send(new SendTaskSuccessCommand({ taskToken: rec.notified[0]!.taskToken, output: '{}' }));
    await aws.stepFunctions.settled('req-idem');
    await assert.rejects(startExecution('req-idem'), ExecutionAlreadyExists, 'a closed execution name is not reusable');
  });

  it('a closed execution name is taken for 90 days, then can be used again', async () => {
    const clock = new ManualClock();
    rec = { notified: [], grants: [], throttleGrants: 0 };
    aws = await startAwsStandIns({ port: 0, dataDir: false, clock, stepFunctions: { log: () => undefined } });
    machineArn = aws.stepFunctions.registerStateMachine({ name: 'jit-access-sandbox-approval', definition: DEFINITION, taskHandlers: handlers(rec), waitTimeOverrides: { Settle: 5 } });
    sfn = new SFNClient({ ...aws.clientConfig, maxAttempts: 1 });
    await startExecution('auto-reuse');
    assert.equal((await aws.stepFunctions.settled('auto-reuse')).status, 'SUCCEEDED');
    await clock.advance(89 * 24 * 3600 * 1000);
    await assert.rejects(startExecution('auto-reuse'), ExecutionAlreadyExists, 'day 89: still taken');
    await clock.advance(24 * 3600 * 1000);
    await startExecution('auto-reuse');
    assert.equal((await aws.stepFunctions.settled('auto-reuse')).status, 'SUCCEEDED');
    assert.deepEqual(rec.grants, ['auto-reuse', 'auto-reuse']);
  });

  it('input and output above 256 KiB of UTF-8 are refused, even under the 262,144-character model limit', async () => {
    await start();
    // 100,000 three-byte characters: 300,000 bytes in 100,000 characters.
    const wide = '\u20ac'.repeat(100_000);
    await assert.rejects(startExecution('req-big', { requestId: 'req-big', pad: wide }), (e: Error) => e.name === 'ValidationException' && /256 KiB/.test(e.message));
    await startExecution('req-out');
    const token = await aws.stepFunctions.waitingTask('req-out');
    await assert.rejects(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approved: true, pad: wide }) })), (e: Error) => e.name === 'ValidationException');
    assert.deepEqual(aws.stepFunctions.waitingTasks().map((t) => t.token), [token], 'the refused output settled nothing');
    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approved: true, pad: 'x'.repeat(200_000) }) }));
    assert.equal((await aws.stepFunctions.settled('req-out')).status, 'SUCCEEDED');
    assert.equal(aws.stepFunctions.execution('req-big'), undefined);
  });

  it('auto-approve skips the approval; Retry re-runs a throttled task; unknown routes fail with the Fail state error', async () => {
    await start();
    rec.throttleGrants = 2;
    await startExecution('auto-1');
    const auto = await aws.stepFunctions.settled('auto-1');
    assert.equal(auto.status, 'SUCCEEDED');
    assert.deepEqual(auto.path, ['Validate', 'Route', 'Settle', 'Grant', 'Granted']);
    assert.equal(auto.transitions, 7, 'two retries are billed as transitions');
    assert.deepEqual(rec.notified, []);

    const { executionArn } = await startExecution('odd-1');
    const odd = await aws.stepFunctions.settled('odd-1');
    assert.equal(odd.status, 'FAILED');
    const described = await describe_(executionArn!);
    assert.equal(described.error, 'UnknownRoute');
    assert.equal(described.cause, 'Validate returned an unknown route');
  });

  it('StopExecution aborts a waiting execution and closes its token', async () => {
    await start();
    const { executionArn } = await startExecution('req-stop');
    const token = await aws.stepFunctions.waitingTask('req-stop');
    const stopped = await sfn.send(new StopExecutionCommand({ executionArn, error: 'Cancelled', cause: 'requester cancelled' }));
    assert.ok(stopped.stopDate instanceof Date);
    const described = await describe_(executionArn!);
    assert.equal(described.status, 'ABORTED');
    assert.equal(described.error, 'Cancelled');
    await assert.rejects(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })), TaskTimedOut);
  });

  it('validates StartExecution and DescribeExecution like the service', async () => {
    await start();
    await assert.rejects(sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:nope', name: 'x' })), StateMachineDoesNotExist);
    await assert.rejects(sfn.send(new StartExecutionCommand({ stateMachineArn: 'not-an-arn', name: 'x' })), InvalidArn);
    await assert.rejects(startExecution('has space'), InvalidName);
    await assert.rejects(startExecution('semi;colon'), InvalidName);
    await assert.rejects(sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, name: 'bad-input', input: '{not json' })), InvalidExecutionInput);
    await assert.rejects(describe_('arn:aws:states:us-east-1:123456789012:execution:jit-access-sandbox-approval:missing'), ExecutionDoesNotExist);
    assert.deepEqual(aws.stepFunctions.listExecutions(), [], 'refused calls start nothing');
  });

  it('refuses a state machine whose Task states lack local handlers (nothing may call real AWS)', () => {
    const standIn = new StepFunctionsStandIn();
    const { Grant: _grant, ...partial } = handlers({ notified: [], grants: [], throttleGrants: 0 });
    assert.throws(() => standIn.registerStateMachine({ name: 'm', definition: DEFINITION, taskHandlers: partial }), /no local handler for Task state\(s\) Grant/);
    assert.throws(() => standIn.registerStateMachine({ name: 'm', definition: DEFINITION, taskHandlers: { ...handlers({ notified: [], grants: [], throttleGrants: 0 }), Route: () => ({}) } }), /not Task states: Route/);
  });

  it('after a restart, re-runs executions that were running (onRestart: restart), with a fresh token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-sandbox-sfn-'));
    try {
      await start(dir);
      await startExecution('req-restart');
      const oldToken = await aws.stepFunctions.waitingTask('req-restart');
      await startExecution('auto-done');
      await aws.stepFunctions.settled('auto-done');
      sfn.destroy();
      await aws.stop();

      await start(dir);
      assert.equal(aws.stepFunctions.execution('auto-done')?.status, 'SUCCEEDED', 'closed executions are kept');
      const newToken = await aws.stepFunctions.waitingTask('req-restart');
      assert.notEqual(newToken, oldToken);
      await assert.rejects(sfn.send(new SendTaskSuccessCommand({ taskToken: oldToken, output: '{}' })), TaskDoesNotExist);
      await sfn.send(new SendTaskSuccessCommand({ taskToken: newToken, output: '{}' }));
      assert.equal((await aws.stepFunctions.settled('req-restart')).status, 'SUCCEEDED');
    } finally {
      sfn.destroy();
      await aws.stop();
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
  });

  it('after a restart, marks running executions FAILED when configured (onRestart: fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-sandbox-sfn-'));
    try {
      await start(dir, 'fail');
      const { executionArn } = await startExecution('req-lost');
      await aws.stepFunctions.waitingTask('req-lost');
      sfn.destroy();
      await aws.stop();
      await start(dir, 'fail');
      const described = await describe_(executionArn!);
      assert.equal(described.status, 'FAILED');
      assert.equal(described.error, 'Sandbox.Restarted');
      assert.deepEqual(rec.notified, [], 'nothing re-ran');
    } finally {
      sfn.destroy();
      await aws.stop();
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
  });
});
