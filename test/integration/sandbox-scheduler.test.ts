/**
 * The EventBridge Scheduler stand-in through the REAL @aws-sdk/client-scheduler: one-time at()
 * schedules fire their registered target on the (injected) clock, with the target's retry policy,
 * the dead-letter record, ActionAfterCompletion, and persistence across a restart.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { type AwsStandIns, ManualClock, startAwsStandIns, systemClock } from '../../sandbox/aws';
import { parseAtExpression } from '../../sandbox/aws/scheduler';

const GROUP = 'jit-access-sandbox';
const TARGET = 'arn:aws:lambda:us-east-1:123456789012:function:jit-access-sandbox-revoke';
const ROLE = 'arn:aws:iam::123456789012:role/jit-access-sandbox-scheduler';
const DLQ = 'arn:aws:sqs:us-east-1:123456789012:jit-access-sandbox-dlq';

const at = (epochMs: number) => `at(${new Date(epochMs).toISOString().slice(0, 19)})`;

function schedule(name: string, dueMs: number, extra: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput {
  return {
    Name: name,
    GroupName: GROUP,
    ScheduleExpression: at(dueMs),
    FlexibleTimeWindow: { Mode: 'OFF' },
    ActionAfterCompletion: 'DELETE',
    Target: { Arn: TARGET, RoleArn: ROLE, Input: JSON.stringify({ requestId: name, source: 'schedule' }), RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 }, DeadLetterConfig: { Arn: DLQ } },
    ...extra,
  };
}

describe('sandbox Scheduler stand-in (real scheduler SDK client)', () => {
  let clock: ManualClock;
  let aws: AwsStandIns;
  let client: SchedulerClient;
  let fired: Array<{ input: unknown; attempt: number; name: string }>;
  let failuresLeft: number;

  const start = async (dataDir: string | false = false, deferStart = false) => {
    aws = await startAwsStandIns({ port: 0, dataDir, clock, deferStart, scheduler: { scheduleGroups: [GROUP], retryDelayMs: (n) => n * 10_000, log: () => undefined } });
    aws.scheduler.registerTarget(TARGET, (input, ctx) => {
      fired.push({ input, attempt: ctx.attempt, name: ctx.name });
      if (failuresLeft > 0) {
        failuresLeft--;
        throw new Error('revoke failed');
      }
    });
    client = new SchedulerClient({ ...aws.clientConfig, maxAttempts: 1 });
  };

  beforeEach(() => {
    clock = new ManualClock();
    fired = [];
    failuresLeft = 0;
  });
  afterEach(async () => {
    client?.destroy();
    await aws?.stop();
  });

  it('fires the registered target at the at() time with the parsed Input, then deletes the schedule (ActionAfterCompletion DELETE)', async () => {
    await start();
    const due = clock.now() + 5 * 60_000;
    const created = await client.send(new CreateScheduleCommand(schedule('req-001', due)));
    assert.equal(created.ScheduleArn, `arn:aws:scheduler:us-east-1:123456789012:schedule/${GROUP}/req-001`);
    const got = await client.send(new GetScheduleCommand({ Name: 'req-001', GroupName: GROUP }));
    assert.equal(got.ActionAfterCompletion, 'DELETE');
    assert.equal(got.State, 'ENABLED');
    assert.equal(got.Target?.DeadLetterConfig?.Arn, DLQ);
    assert.ok(got.CreationDate instanceof Date);

    await clock.advance(5 * 60_000 - 1000);
    assert.deepEqual(fired, []);
    await clock.advance(1000);
    await aws.scheduler.idle();
    assert.deepEqual(fired, [{ input: { requestId: 'req-001', source: 'schedule' }, attempt: 0, name: 'req-001' }]);
    await assert.rejects(client.send(new GetScheduleCommand({ Name: 'req-001', GroupName: GROUP })), ResourceNotFoundException);
  });

  it('keeps a completed schedule with ActionAfterCompletion NONE, and never fires it twice', async () => {
    await start();
    await client.send(new CreateScheduleCommand(schedule('req-002', clock.now() + 60_000, { ActionAfterCompletion: 'NONE' })));
    await clock.advance(60_000);
    await aws.scheduler.idle();
    await clock.advance(24 * 3600_000);
    assert.equal(fired.length, 1);
    const got = await client.send(new GetScheduleCommand({ Name: 'req-002', GroupName: GROUP }));
    assert.equal(got.ActionAfterCompletion, 'NONE');
  });

  it('refuses a duplicate name (ConflictException); UpdateSchedule moves the time (extension); DeleteSchedule cancels (early revoke)', async () => {
    await start();
    await client.send(new CreateScheduleCommand(schedule('req-003', clock.now() + 60_000)));
    await assert.rejects(client.send(new CreateScheduleCommand(schedule('req-003', clock.now() + 60_000))), ConflictException);
    await client.send(new UpdateScheduleCommand({ ...schedule('req-003', clock.now() + 10 * 60_000) }));
    await clock.advance(9 * 60_000);
    assert.equal(fired.length, 0, 'the old time no longer fires');
    await clock.advance(60_000);
    await aws.scheduler.idle();
    assert.equal(fired.length, 1);

    await client.send(new CreateScheduleCommand(schedule('req-004', clock.now() + 60_000)));
    await client.send(new DeleteScheduleCommand({ Name: 'req-004', GroupName: GROUP }));
    await clock.advance(120_000);
    assert.equal(fired.length, 1, 'a deleted schedule never fires');
    await assert.rejects(client.send(new DeleteScheduleCommand({ Name: 'req-004', GroupName: GROUP })), ResourceNotFoundException);
    await assert.rejects(client.send(new UpdateScheduleCommand(schedule('req-404', clock.now() + 60_000))), ResourceNotFoundException);
  });

  it('retries a failing target with backoff, then succeeds', async () => {
    await start();
    failuresLeft = 2;
    await client.send(new CreateScheduleCommand(schedule('req-005', clock.now() + 1000)));
    await clock.advance(1000);
    await aws.scheduler.idle();
    assert.equal(fired.length, 1);
    await clock.advance(10_000); // retry 1 after 10 s
    await aws.scheduler.idle();
    assert.equal(fired.length, 2);
    await clock.advance(19_999); // retry 2 after 20 s
    assert.equal(fired.length, 2);
    await clock.advance(1);
    await aws.scheduler.idle();
    assert.deepEqual(fired.map((f) => f.attempt), [0, 1, 2]);
    assert.deepEqual(aws.scheduler.deadLetterQueue(), []);
    assert.deepEqual(aws.scheduler.list(), [], 'deleted after the successful invocation');
  });

  it('records the event in the dead-letter queue after MaximumRetryAttempts, then completes the schedule', async () => {
    await start();
    failuresLeft = 100;
    await client.send(new CreateScheduleCommand(schedule('req-006', clock.now() + 1000)));
    await clock.advance(1000 + 10_000 + 20_000 + 30_000);
    await aws.scheduler.idle();
    assert.equal(fired.length, 3, 'first attempt + MaximumRetryAttempts (2)');
    const dlq = aws.scheduler.deadLetterQueue();
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0]?.deadLetterArn, DLQ);
    assert.equal(dlq[0]?.attempts, 3);
    assert.equal(dlq[0]?.input, JSON.stringify({ requestId: 'req-006', source: 'schedule' }));
    assert.match(dlq[0]?.error ?? '', /revoke failed/);
    assert.deepEqual(aws.scheduler.list(), []);
    const viaHttp = (await (await fetch(`${aws.endpoint}/_sandbox/schedules/dead-letters`)).json()) as { deadLetters: unknown[] };
    assert.equal(viaHttp.deadLetters.length, 1);
  });

  it('stops retrying when the next retry would exceed MaximumEventAgeInSeconds', async () => {
    await start();
    failuresLeft = 100;
    await client.send(new CreateScheduleCommand(schedule('req-007', clock.now() + 1000, { Target: { ...schedule('x', 0).Target!, RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 60 } } })));
    await clock.advance(1000 + 10_000 + 20_000 + 30_000 + 40_000);
    await aws.scheduler.idle();
    // Attempts at 0 s, 10 s, 30 s and 60 s (60 s old: still within the limit); the next would be at 100 s: too old.
    assert.equal(fired.length, 4);
    assert.equal(aws.scheduler.deadLetterQueue().length, 1);
  });

  it('does not fire DISABLED schedules', async () => {
    await start();
    await client.send(new CreateScheduleCommand(schedule('req-008', clock.now() + 1000, { State: 'DISABLED' })));
    await clock.advance(3600_000);
    assert.equal(fired.length, 0);
  });

  it('validates like the service: recurring expressions, bad names, role ARN, time zone, flexible window, unknown group', async () => {
    await start();
    await assert.rejects(client.send(new CreateScheduleCommand(schedule('req-009', 0, { ScheduleExpression: 'rate(5 minutes)' }))), (e: unknown) => e instanceof ValidationException && /one-time at\(\) schedules only/.test(e.message));
    await assert.rejects(client.send(new CreateScheduleCommand(schedule('req-009', 0, { ScheduleExpression: 'at(2030-02-30T10:00:00)' }))), ValidationException);
    await assert.rejects(client.send(new CreateScheduleCommand(schedule('req 009', clock.now()))), ValidationException);
    await assert.rejects(client.send(new CreateScheduleCommand(schedule('req-009', clock.now(), { Target: { Arn: TARGET, RoleArn: 'not-a-role' } }))), ValidationException);
    await assert.rejects(client.send(new CreateScheduleCommand(schedule('req-009', clock.now(), { ScheduleExpressionTimezone: 'Mars/Olympus' }))), ValidationException);
    await assert.rejects(client.send(new CreateScheduleCommand(schedule('req-009', clock.now(), { FlexibleTimeWindow: { Mode: 'FLEXIBLE' } }))), ValidationException);
    await assert.rejects(client.send(new CreateScheduleCommand(schedule('req-009', clock.now(), { GroupName: 'other-group' }))), ResourceNotFoundException);
    const listed = await client.send(new ListSchedulesCommand({}));
    assert.deepEqual(listed.Schedules, [], 'nothing was created');
  });

  it('only the default group exists unless the group was created: a schedule in any other is ResourceNotFoundException', async () => {
    aws = await startAwsStandIns({ port: 0, dataDir: false, clock, scheduler: { log: () => undefined } });
    client = new SchedulerClient({ ...aws.clientConfig, maxAttempts: 1 });
    await assert.rejects(client.send(new CreateScheduleCommand(schedule('req-011', clock.now() + 60_000))), (e: unknown) => e instanceof ResourceNotFoundException && /group jit-access-sandbox does not exist/.test(e.message));
    await assert.rejects(client.send(new DeleteScheduleCommand({ Name: 'req-011', GroupName: GROUP })), ResourceNotFoundException);
    await client.send(new CreateScheduleCommand({ ...schedule('req-011', clock.now() + 60_000), GroupName: undefined }));
    assert.deepEqual(aws.scheduler.list().map((x) => `${x.groupName}/${x.name}`), ['default/req-011']);
  });

  it('refuses a KMS key that is not a key or alias ARN, a bad ClientToken on delete, and a group name outside the pattern', async () => {
    await start();
    await assert.rejects(client.send(new CreateScheduleCommand(schedule('req-012', clock.now() + 60_000, { KmsKeyArn: 'alias/jit' }))), ValidationException);
    await client.send(new CreateScheduleCommand(schedule('req-012', clock.now() + 60_000, { KmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000001' })));
    await assert.rejects(client.send(new DeleteScheduleCommand({ Name: 'req-012', GroupName: GROUP, ClientToken: 'has space' })), ValidationException);
    await assert.rejects(client.send(new GetScheduleCommand({ Name: 'req-012', GroupName: 'bad group' })), ValidationException);
    assert.equal(aws.scheduler.list().length, 1, 'the refused delete changed nothing');
  });

  it('accepts what AWS accepts: a role with a path, a description of 512 characters', async () => {
    await start();
    const withPath = schedule('req-013', clock.now() + 60_000, { Description: 'd'.repeat(512) });
    withPath.Target = { ...withPath.Target!, RoleArn: 'arn:aws:iam::123456789012:role/jit/access/scheduler' };
    await client.send(new CreateScheduleCommand(withPath));
    assert.equal(aws.scheduler.list().length, 1);
  });

  it('interprets at() in ScheduleExpressionTimezone', () => {
    assert.equal(new Date(parseAtExpression('at(2030-01-01T10:00:00)', 'Europe/Berlin')).toISOString(), '2030-01-01T09:00:00.000Z');
    assert.equal(new Date(parseAtExpression('at(2030-07-01T10:00:00)', 'Europe/Berlin')).toISOString(), '2030-07-01T08:00:00.000Z');
    assert.equal(new Date(parseAtExpression('at(2030-07-01T10:00:00)', 'America/New_York')).toISOString(), '2030-07-01T14:00:00.000Z');
    assert.equal(new Date(parseAtExpression('at(2030-07-01T10:00:00)')).toISOString(), '2030-07-01T10:00:00.000Z');
  });

  it('lists schedules by group and name prefix', async () => {
    await start();
    for (const n of ['req-a1', 'req-a2', 'other-1']) await client.send(new CreateScheduleCommand(schedule(n, clock.now() + 3600_000)));
    const listed = await client.send(new ListSchedulesCommand({ GroupName: GROUP, NamePrefix: 'req' }));
    assert.deepEqual(listed.Schedules?.map((s) => s.Name), ['req-a1', 'req-a2']);
  });

  it('survives a restart: pending schedules are re-armed, overdue ones fire as soon as targets are registered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-sandbox-sched-'));
    try {
      await start(dir);
      await client.send(new CreateScheduleCommand(schedule('req-overdue', clock.now() + 60_000)));
      await client.send(new CreateScheduleCommand(schedule('req-later', clock.now() + 2 * 3600_000)));
      client.destroy();
      await aws.stop();

      clock.jump(3600_000); // the sandbox was down for an hour
      await start(dir, true);
      assert.equal(fired.length, 0, 'nothing fires before start()');
      assert.deepEqual(aws.scheduler.list().map((s) => s.name).sort(), ['req-later', 'req-overdue']);
      aws.start();
      await clock.advance(0);
      await aws.scheduler.idle();
      assert.deepEqual(fired.map((f) => f.name), ['req-overdue']);
      await clock.advance(3600_000);
      await aws.scheduler.idle();
      assert.deepEqual(fired.map((f) => f.name), ['req-overdue', 'req-later']);
    } finally {
      client.destroy();
      await aws.stop();
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
  });

  it('fires on demand through the admin route (the e2e suite sees expiry without waiting)', async () => {
    await start();
    await client.send(new CreateScheduleCommand(schedule('req-010', clock.now() + 3600_000)));
    const res = await fetch(`${aws.endpoint}/_sandbox/schedules/${GROUP}/req-010/fire`, { method: 'POST' });
    assert.equal(res.status, 202);
    await clock.advance(0);
    await aws.scheduler.idle();
    assert.deepEqual(fired.map((f) => f.name), ['req-010']);
    assert.equal((await fetch(`${aws.endpoint}/_sandbox/schedules/${GROUP}/nope/fire`, { method: 'POST' })).status, 404);
  });

  it('fires on real timers with the system clock', async () => {
    aws = await startAwsStandIns({ port: 0, dataDir: false, clock: systemClock, scheduler: { log: () => undefined } });
    const done = new Promise<unknown>((resolve) => aws.scheduler.registerTarget(TARGET, (input) => resolve(input)));
    client = new SchedulerClient({ ...aws.clientConfig, maxAttempts: 1 });
    // at() has one-second resolution: the current second is due at once, so this waits a few ms, not seconds.
    await client.send(new CreateScheduleCommand({ ...schedule('req-real', Date.now()), GroupName: undefined }));
    assert.deepEqual(await done, { requestId: 'req-real', source: 'schedule' });
  });
});
