/**
 * Scheduler, Step Functions, EventBridge, Security Hub and identity store adapters on their
 * unhappy paths: an existing schedule, a closed approval, partial batch failures, unknown users.
 */
import { strict as assert } from 'node:assert';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeGroupCommand, DescribeUserCommand, GetUserIdCommand, IdentitystoreClient, ListGroupMembershipsForMemberCommand, ResourceNotFoundException as UserNotFound } from '@aws-sdk/client-identitystore';
import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { ExecutionAlreadyExists, InvalidToken, SendTaskSuccessCommand, SFNClient, StartExecutionCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { ownSend } from '../support/aws-capture';
import { DependencyError, IllegalTransitionError } from '../../core/errors';
import { FakeClock } from '../../core/memory';
import type { AuditEvent } from '../../core/model';
import { EventBridgeAuditSink } from '../../lambdas/adapters/eventbridge-audit';
import { IdentityStoreDirectory } from '../../lambdas/adapters/identitystore-directory';
import { atExpression, SchedulerExpiry, scheduleName } from '../../lambdas/adapters/scheduler-expiry';
import { SecurityHubFindingsSink } from '../../lambdas/adapters/securityhub-findings';
import { SfnWorkflowGateway } from '../../lambdas/adapters/sfn-workflow';

const meta = { $metadata: { httpStatusCode: 400 } } as never;
const STATE_MACHINE = 'arn:aws:states:us-east-1:111111111111:stateMachine:jit-approval';

describe('adapters: scheduler', () => {
  // An instance mock with its own send: class mocks elsewhere neither leak in nor get replaced.
  const schedulerClient = ownSend(new SchedulerClient({}));
  const mock = mockClient(schedulerClient);
  afterEach(() => mock.reset());
  const options = { groupName: 'jit', targetArn: 'arn:aws:lambda:us-east-1:111111111111:function:revoke', roleArn: 'arn:aws:iam::111111111111:role/s', deadLetterArn: 'arn:aws:sqs:us-east-1:111111111111:dlq', clock: new FakeClock() };

  it('schedules at the expiry (UTC, rounded up to the second) with DELETE after completion, retries and a DLQ', async () => {
    mock.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn' });
    await new SchedulerExpiry(schedulerClient, options).scheduleExpiry('req-01ABCDEFGHJK', '2026-01-01T10:30:00.001Z');
    const input = mock.commandCalls(CreateScheduleCommand)[0]!.args[0].input;
    assert.equal(input.Name, 'req-01ABCDEFGHJK');
    assert.equal(input.ScheduleExpression, 'at(2026-01-01T10:30:01)');
    assert.equal(input.ScheduleExpressionTimezone, 'UTC');
    assert.equal(input.ActionAfterCompletion, 'DELETE');
    assert.deepEqual(input.FlexibleTimeWindow, { Mode: 'OFF' });
    assert.deepEqual(JSON.parse(input.Target!.Input!), { requestId: 'req-01ABCDEFGHJK', source: 'schedule' });
    assert.equal(input.Target!.DeadLetterConfig!.Arn, options.deadLetterArn);
    assert.ok(input.Target!.RetryPolicy!.MaximumRetryAttempts! > 0);
  });

  it('an existing schedule (extension) is updated to the new time instead', async () => {
    mock.on(CreateScheduleCommand).rejects(new ConflictException({ message: 'Schedule req-1 already exists.', ...(meta as object) } as never));
    mock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn' });
    await new SchedulerExpiry(schedulerClient, options).scheduleExpiry('req-01ABCDEFGHJK', '2026-01-01T11:00:00.000Z');
    assert.equal(mock.commandCalls(CreateScheduleCommand).length, 1, 'a conflict is an answer, not retried');
    assert.equal(mock.commandCalls(UpdateScheduleCommand)[0]!.args[0].input.ScheduleExpression, 'at(2026-01-01T11:00:00)');
  });

  it('cancelling a schedule that already ran (deleted) is fine; other failures are not', async () => {
    mock.on(DeleteScheduleCommand).rejectsOnce(new ResourceNotFoundException({ message: 'gone', ...(meta as object) } as never)).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const s = new SchedulerExpiry(schedulerClient, options);
    await s.cancelExpiry('req-01ABCDEFGHJK');
    await assert.rejects(s.cancelExpiry('req-01ABCDEFGHJK'), DependencyError);
  });

  it('schedule names stay within [0-9a-zA-Z-_.]{1,64}, distinct for distinct ids', () => {
    assert.equal(scheduleName('req-01ABC'), 'req-01ABC');
    const long = scheduleName(`req/${'x'.repeat(100)}`);
    assert.match(long, /^[0-9a-zA-Z\-_.]{1,64}$/);
    assert.notEqual(scheduleName(`req/${'x'.repeat(100)}a`), scheduleName(`req/${'x'.repeat(100)}b`));
    assert.throws(() => atExpression('not a time'), /Invalid expiry time/);
  });
});

describe('adapters: Step Functions', () => {
  // An instance mock with its own send: class mocks elsewhere neither leak in nor get replaced.
  const sfn = ownSend(new SFNClient({}));
  const mock = mockClient(sfn);
  afterEach(() => mock.reset());
  const gw = () => new SfnWorkflowGateway(sfn, { stateMachineArn: STATE_MACHINE, clock: new FakeClock() });

  it('starting an execution that already exists is idempotent and returns its ARN', async () => {
    mock.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', ...(meta as object) } as never));
    assert.deepEqual(await gw().start('req-01ABCDEFGHJK'), { executionArn: 'arn:aws:states:us-east-1:111111111111:execution:jit-approval:req-01ABCDEFGHJK' });
    assert.deepEqual(JSON.parse(mock.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!), { requestId: 'req-01ABCDEFGHJK' });
  });

  it('a decision after the approval timed out is an illegal transition; a bad token needs an operator', async () => {
    mock.on(SendTaskSuccessCommand).rejectsOnce(new TaskTimedOut({ message: 'Task Timed Out', ...(meta as object) } as never)).rejects(new InvalidToken({ message: 'Invalid Token', ...(meta as object) } as never));
    await assert.rejects(gw().resume('t', { approved: true, approvedBy: 'carol' }), (e: unknown) => e instanceof IllegalTransitionError && /timed out/.test(e.message));
    await assert.rejects(gw().resume('t', { approved: true, approvedBy: 'carol' }), (e: unknown) => e instanceof DependencyError && !e.retryable);
  });
});

describe('adapters: EventBridge audit sink', () => {
  // An instance mock with its own send: class mocks elsewhere neither leak in nor get replaced.
  const eventBridge = ownSend(new EventBridgeClient({}));
  const mock = mockClient(eventBridge);
  afterEach(() => mock.reset());
  const event = (i: number): AuditEvent => ({ eventId: `req-1#${i}`, requestId: 'req-1', at: '2026-01-01T09:00:00.000Z', actor: { userId: 'system', userName: 'system', displayName: 'system' }, action: 'request.transition', reason: 'r' });

  it('retries only the entries that failed, then gives up with a retryable DependencyError', async () => {
    mock
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }, { EventId: 'c' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }] });
    await new EventBridgeAuditSink(eventBridge, { eventBusName: 'audit', clock: new FakeClock() }).append([event(1), event(2), event(3)]);
    const second = mock.commandCalls(PutEventsCommand)[1]!.args[0].input.Entries!;
    assert.deepEqual(second.map((e) => JSON.parse(e.Detail!).eventId), ['req-1#2']);
    assert.equal(second[0]!.Source, 'jit.access');
    assert.equal(second[0]!.DetailType, 'JIT Access Audit Event');

    mock.reset();
    mock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'x' }] });
    await assert.rejects(new EventBridgeAuditSink(eventBridge, { eventBusName: 'audit', clock: new FakeClock(), retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 } }).append([event(1)]), (e: unknown) => e instanceof DependencyError && e.retryable);
    assert.equal(mock.commandCalls(PutEventsCommand).length, 3);
  });
});

describe('adapters: Security Hub findings sink', () => {
  // An instance mock with its own send: class mocks elsewhere neither leak in nor get replaced.
  const securityHub = ownSend(new SecurityHubClient({}));
  const mock = mockClient(securityHub);
  afterEach(() => mock.reset());
  it('FailedFindings are reported as an error naming them', async () => {
    mock.on(BatchImportFindingsCommand).resolves({ FailedCount: 1, SuccessCount: 0, FailedFindings: [{ Id: 'f-1', ErrorCode: 'InvalidInput', ErrorMessage: 'Finding does not adhere to ASFF' }] });
    const sink = new SecurityHubFindingsSink(securityHub, { region: 'us-east-1', accountId: '111111111111', clock: new FakeClock() });
    await assert.rejects(
      sink.publish([{ id: 'f-1', kind: 'assignment_drift', severity: 'HIGH', title: 't', description: 'd', accountId: '222222222222', resourceId: 'r', at: '2026-01-01T09:00:00.000Z' }]),
      (e: unknown) => e instanceof DependencyError && !e.retryable && /f-1: InvalidInput/.test(e.message),
    );
    const finding = mock.commandCalls(BatchImportFindingsCommand)[0]!.args[0].input.Findings![0]!;
    assert.equal(finding.ProductArn, 'arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default');
    assert.equal(finding.Severity!.Label, 'HIGH');
  });
});

describe('adapters: identity store directory', () => {
  // An instance mock with its own send: class mocks elsewhere neither leak in nor get replaced.
  const identityStore = ownSend(new IdentitystoreClient({}));
  const mock = mockClient(identityStore);
  afterEach(() => mock.reset());
  const STORE = 'd-1111111111';

  it('an unknown user is undefined (not an error); externalId matching never falls back to the UPN', async () => {
    mock.on(GetUserIdCommand).rejects(new UserNotFound({ message: 'not found', ...(meta as object) } as never));
    const byName = new IdentityStoreDirectory(identityStore, { identityStoreId: STORE, userMatch: 'userName', clock: new FakeClock() });
    assert.equal(await byName.findUser({ upn: 'mallory@example.com' }), undefined);
    const byExternal = new IdentityStoreDirectory(identityStore, { identityStoreId: STORE, userMatch: 'externalId', clock: new FakeClock(), externalIdIssuer: 'https://issuer.example.com' });
    mock.reset();
    assert.equal(await byExternal.findUser({ upn: 'alice@example.com' }), undefined);
    assert.equal(mock.calls().length, 0);
    mock.on(GetUserIdCommand).resolves({ UserId: 'u-1', IdentityStoreId: STORE });
    mock.on(DescribeUserCommand).resolves({ UserId: 'u-1', IdentityStoreId: STORE, UserName: 'alice@example.com', Name: { GivenName: 'Alice', FamilyName: 'Example' } });
    assert.deepEqual(await byExternal.findUser({ aadObjectId: '00000000-0000-0000-0000-00000000a11c' }), { userId: 'u-1', userName: 'alice@example.com', displayName: 'Alice Example' });
    assert.deepEqual(mock.commandCalls(GetUserIdCommand)[0]!.args[0].input.AlternateIdentifier, { ExternalId: { Issuer: 'https://issuer.example.com', Id: '00000000-0000-0000-0000-00000000a11c' } });
  });

  it('group memberships are cached for their TTL, then read again', async () => {
    mock.on(ListGroupMembershipsForMemberCommand).resolves({ GroupMemberships: [{ IdentityStoreId: STORE, GroupId: 'g-1', MemberId: { UserId: 'u-1' } }] });
    mock.on(DescribeGroupCommand).resolves({ IdentityStoreId: STORE, GroupId: 'g-1', DisplayName: 'Engineers' });
    const clock = new FakeClock();
    const d = new IdentityStoreDirectory(identityStore, { identityStoreId: STORE, userMatch: 'userName', clock, membershipTtlMs: 60_000 });
    assert.deepEqual(await d.groupsOf('u-1'), [{ groupId: 'g-1', displayName: 'Engineers' }]);
    await d.groupsOf('u-1');
    assert.equal(mock.commandCalls(ListGroupMembershipsForMemberCommand).length, 1);
    await clock.advance(61_000);
    await d.groupsOf('u-1');
    assert.equal(mock.commandCalls(ListGroupMembershipsForMemberCommand).length, 2);
  });
});
