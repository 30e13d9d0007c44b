/**
 * Every AWS SDK command the adapters send, checked against the AWS API models (Debian's
 * python3-botocore): required members, enums, string lengths and patterns, list sizes and number
 * ranges. The inputs come from realistic flows (a request taken through the in-memory lifecycle),
 * so an adapter that would be refused by AWS fails here, not in production.
 */
import { strict as assert } from 'node:assert';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DescribeGroupCommand,
  DescribeUserCommand,
  GetUserIdCommand,
  IdentitystoreClient,
  ListGroupMembershipsForMemberCommand,
  ResourceNotFoundException as IdentityNotFound,
} from '@aws-sdk/client-identitystore';
import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BatchImportFindingsCommand, BatchUpdateFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { ExecutionAlreadyExists, SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  CreateAccountAssignmentCommand,
  DeleteAccountAssignmentCommand,
  DescribeAccountAssignmentCreationStatusCommand,
  DescribeAccountAssignmentDeletionStatusCommand,
  DeleteInlinePolicyFromPermissionSetCommand,
  DescribePermissionSetCommand,
  DescribePermissionSetProvisioningStatusCommand,
  GetInlinePolicyForPermissionSetCommand,
  ListAccountAssignmentsCommand,
  ProvisionPermissionSetCommand,
  PutInlinePolicyToPermissionSetCommand,
  SSOAdminClient,
} from '@aws-sdk/client-sso-admin';
import { mockClient } from 'aws-sdk-client-mock';
import { FakeClock } from '../../core/memory';
import type { AuditEvent, SecurityFinding, StoredRequest } from '../../core/model';
import { SecretsManagerSecret } from '../../lambdas/adapters/bot-notifier';
import { DynamoAuditTableSink } from '../../lambdas/adapters/dynamo-audit';
import { DynamoGrantLedger } from '../../lambdas/adapters/dynamo-ledger';
import { DynamoRequestStore } from '../../lambdas/adapters/dynamo-requests';
import { EventBridgeAuditSink } from '../../lambdas/adapters/eventbridge-audit';
import { IdentityStoreDirectory } from '../../lambdas/adapters/identitystore-directory';
import { SchedulerExpiry } from '../../lambdas/adapters/scheduler-expiry';
import { SecurityHubFindingsSink } from '../../lambdas/adapters/securityhub-findings';
import { recordingMetrics } from '../../lambdas/observability/emf';
import { SfnWorkflowGateway } from '../../lambdas/adapters/sfn-workflow';
import { SsoAdminAssignmentGateway } from '../../lambdas/adapters/sso-admin-assignments';
import { SsoAdminPermissionSetGateway } from '../../lambdas/adapters/sso-admin-permission-sets';
import { cutoffOf, mergeInlinePolicy, parseInlinePolicy } from '../../core/services/session-cut';
import { assertCallsConform, capturingDocumentClient, mockedCalls, ownSend } from '../support/aws-capture';
import { loadServiceModel, validateInput } from '../support/botocore-model';
import { activeRequest, world } from '../support/core-world';

const INSTANCE = 'arn:aws:sso:::instance/ssoins-1111111111111111';
const PS = 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111';
const STORE = 'd-1111111111';
const USER = '11111111-2222-3333-4444-555555555555';
const OP = '00000000-0000-4000-8000-000000000001';
const STATE_MACHINE = 'arn:aws:states:us-east-1:111111111111:stateMachine:jit-access-test-approval';
const TOKEN = `AQCEAAAAKgAAAA${'x'.repeat(200)}`;
const noJitter = () => 0.5;

/** A request that went through submit, approval and grant, with votes, a grant window and audit events. */
async function realisticRequest(): Promise<{ request: StoredRequest; events: AuditEvent[] }> {
  const w = world();
  const id = await activeRequest(w);
  const request = (await w.requests.get(id))!;
  return { request: { ...request, taskToken: TOKEN, executionArn: `${STATE_MACHINE.replace('stateMachine', 'execution')}:${id}` }, events: w.audit.events };
}

describe('contract: AWS requests conform to the botocore models', () => {
  it('the models are installed (apt-get install -y python3-botocore)', () => {
    for (const service of ['sso-admin', 'identitystore', 'scheduler', 'securityhub', 'stepfunctions', 'dynamodb', 'events', 'secretsmanager']) {
      assert.ok(loadServiceModel(service).operations, service);
    }
  });

  describe('the validator itself', () => {
    it('reports a missing required member, a bad enum, a length, a pattern and a range; unknown members only as newer', () => {
      const m = loadServiceModel('scheduler');
      const good = { Name: 'req-1', ScheduleExpression: 'at(2030-01-01T10:00:00)', FlexibleTimeWindow: { Mode: 'OFF' }, Target: { Arn: 'arn:aws:lambda:us-east-1:111111111111:function:f', RoleArn: 'arn:aws:iam::111111111111:role/r' } };
      assert.deepEqual(validateInput(m, 'CreateSchedule', good).errors, []);
      const bad = validateInput(m, 'CreateSchedule', {
        ...good,
        Name: 'has space',
        FlexibleTimeWindow: { Mode: 'SOMETIMES' },
        Target: { Arn: good.Target.Arn, RetryPolicy: { MaximumRetryAttempts: 500 } },
        ClientToken: 'x'.repeat(65),
        BrandNewMember: true,
      });
      const text = bad.errors.join('\n');
      assert.match(text, /Target\.RoleArn: required/);
      assert.match(text, /Mode: "SOMETIMES" is not one of/);
      assert.match(text, /Name: "has space" does not match/);
      assert.match(text, /ClientToken: length 65 > max 64/);
      assert.match(text, /MaximumRetryAttempts: 500 > max 185/);
      assert.deepEqual(bad.unknownMembers, ['CreateSchedule.BrandNewMember']);
    });
  });

  describe('sso-admin (AssignmentGateway)', () => {
    // An instance mock with its own send: class mocks elsewhere neither leak in nor get replaced.
    const ssoAdmin = ownSend(new SSOAdminClient({}));
    const mock = mockClient(ssoAdmin);
    afterEach(() => mock.reset());
    it('create, delete, both status polls and paginated listing', async () => {
      mock.on(CreateAccountAssignmentCommand).resolves({ AccountAssignmentCreationStatus: { Status: 'IN_PROGRESS', RequestId: OP } });
      mock.on(DeleteAccountAssignmentCommand).resolves({ AccountAssignmentDeletionStatus: { Status: 'IN_PROGRESS', RequestId: OP } });
      mock.on(DescribeAccountAssignmentCreationStatusCommand).resolves({ AccountAssignmentCreationStatus: { Status: 'FAILED', RequestId: OP, FailureReason: 'Principal not found' } });
      mock.on(DescribeAccountAssignmentDeletionStatusCommand).resolves({ AccountAssignmentDeletionStatus: { Status: 'SUCCEEDED', RequestId: OP } });
      mock
        .on(ListAccountAssignmentsCommand)
        .resolvesOnce({ AccountAssignments: [{ AccountId: '111111111111', PermissionSetArn: PS, PrincipalType: 'GROUP', PrincipalId: 'g' }], NextToken: 'page-2' })
        .resolves({ AccountAssignments: [{ AccountId: '111111111111', PermissionSetArn: PS, PrincipalType: 'USER', PrincipalId: USER }] });
      const gateway = new SsoAdminAssignmentGateway(ssoAdmin, { instanceArn: INSTANCE, clock: new FakeClock(), random: noJitter });
      const key = { accountId: '111111111111', permissionSetArn: PS, userId: USER };
      assert.deepEqual(await gateway.startCreate(key), { operationId: OP, status: 'IN_PROGRESS' });
      assert.deepEqual(await gateway.createStatus(OP), { operationId: OP, status: 'FAILED', failureReason: 'Principal not found' });
      await gateway.startDelete(key);
      assert.equal((await gateway.deleteStatus(OP)).status, 'SUCCEEDED');
      assert.equal(await gateway.exists(key), true);
      assert.deepEqual(assertCallsConform('sso-admin', mockedCalls(mock)), []);
    });
  });

  describe('sso-admin (PermissionSetGateway: ending live sessions)', () => {
    const ssoAdmin = ownSend(new SSOAdminClient({}));
    const mock = mockClient(ssoAdmin);
    afterEach(() => mock.reset());
    it('get, put (the merged deny as core renders it), delete, provision to one account, status poll and SessionDuration', async () => {
      const operator = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Operator', Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' }] });
      mock.on(GetInlinePolicyForPermissionSetCommand).resolves({ InlinePolicy: operator });
      mock.on(PutInlinePolicyToPermissionSetCommand).resolves({});
      mock.on(DeleteInlinePolicyFromPermissionSetCommand).resolves({});
      mock.on(ProvisionPermissionSetCommand).resolves({ PermissionSetProvisioningStatus: { Status: 'IN_PROGRESS', RequestId: OP } });
      mock.on(DescribePermissionSetProvisioningStatusCommand).resolves({ PermissionSetProvisioningStatus: { Status: 'FAILED', RequestId: OP, FailureReason: 'quota' } });
      mock.on(DescribePermissionSetCommand).resolves({ PermissionSet: { SessionDuration: 'PT2H' } });
      const gateway = new SsoAdminPermissionSetGateway(ssoAdmin, { instanceArn: INSTANCE, clock: new FakeClock(), random: noJitter });
      const current = parseInlinePolicy(PS, await gateway.getInlinePolicy(PS));
      const cutoff = cutoffOf(Date.UTC(2026, 10, 30, 9, 0, 0, 1));
      const entries = ['111111111111', '222222222222'].map((accountId) => ({ requestId: 'req-1', userId: USER, accountId, cutoff, queuedAt: cutoff }));
      await gateway.putInlinePolicy(PS, JSON.stringify(mergeInlinePolicy(current, entries)));
      await gateway.deleteInlinePolicy(PS);
      assert.deepEqual(await gateway.startProvision(PS, '222222222222'), { operationId: OP, status: 'IN_PROGRESS' });
      assert.deepEqual(await gateway.provisionStatus(OP), { operationId: OP, status: 'FAILED', failureReason: 'quota' });
      assert.equal(await gateway.sessionDurationSeconds(PS), 7200);
      assert.deepEqual(assertCallsConform('sso-admin', mockedCalls(mock)), []);
    });
  });

  describe('identitystore (Directory)', () => {
    // An instance mock with its own send: class mocks elsewhere neither leak in nor get replaced.
    const identityStore = ownSend(new IdentitystoreClient({}));
    const mock = mockClient(identityStore);
    afterEach(() => mock.reset());
    for (const userMatch of ['userName', 'externalId'] as const) {
      it(`GetUserId by ${userMatch}, DescribeUser, memberships (paginated) and DescribeGroup`, async () => {
        mock.on(GetUserIdCommand).resolves({ IdentityStoreId: STORE, UserId: USER });
        mock.on(DescribeUserCommand).resolves({ IdentityStoreId: STORE, UserId: USER, UserName: 'alice@example.com', DisplayName: 'Alice Example' });
        mock
          .on(ListGroupMembershipsForMemberCommand)
          .resolvesOnce({ GroupMemberships: [{ IdentityStoreId: STORE, GroupId: '22222222-2222-3333-4444-555555555555', MemberId: { UserId: USER } }], NextToken: 'n' })
          .resolves({ GroupMemberships: [{ IdentityStoreId: STORE, GroupId: '33333333-2222-3333-4444-555555555555', MemberId: { UserId: USER } }] });
        mock.on(DescribeGroupCommand).callsFake((input: { GroupId: string }) => ({ IdentityStoreId: STORE, GroupId: input.GroupId, DisplayName: `group ${input.GroupId.slice(0, 4)}` }));
        const directory = new IdentityStoreDirectory(identityStore, { identityStoreId: STORE, userMatch, clock: new FakeClock() });
        const user = await directory.findUser({ upn: 'alice@example.com', aadObjectId: '00000000-0000-0000-0000-00000000a11c' });
        assert.deepEqual(user, { userId: USER, userName: 'alice@example.com', displayName: 'Alice Example' });
        assert.equal((await directory.groupsOf(USER)).length, 2);
        assertCallsConform('identitystore', mockedCalls(mock));
      });
    }
    it('an unknown user is a ResourceNotFoundException, and the lookup that caused it conforms', async () => {
      mock.on(GetUserIdCommand).rejects(new IdentityNotFound({ message: 'USER not found', $metadata: {}, ResourceType: 'USER' } as never));
      const directory = new IdentityStoreDirectory(identityStore, { identityStoreId: STORE, userMatch: 'userName', clock: new FakeClock() });
      assert.equal(await directory.findUser({ upn: 'mallory@example.com' }), undefined);
      assertCallsConform('identitystore', mockedCalls(mock));
    });
  });

  describe('scheduler (ExpiryScheduler)', () => {
    // An instance mock with its own send: class mocks elsewhere neither leak in nor get replaced.
    const schedulerClient = ownSend(new SchedulerClient({}));
    const mock = mockClient(schedulerClient);
    afterEach(() => mock.reset());
    it('create, create conflict then update, delete and delete of a missing schedule', async () => {
      mock.on(CreateScheduleCommand).resolvesOnce({ ScheduleArn: 'arn:aws:scheduler:us-east-1:111111111111:schedule/g/n' }).rejects(new ConflictException({ message: 'exists', $metadata: {} } as never));
      mock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:aws:scheduler:us-east-1:111111111111:schedule/g/n' });
      mock.on(DeleteScheduleCommand).resolvesOnce({}).rejects(new ResourceNotFoundException({ message: 'gone', $metadata: {} } as never));
      const scheduler = new SchedulerExpiry(schedulerClient, {
        groupName: 'jit-access-test',
        targetArn: 'arn:aws:lambda:us-east-1:111111111111:function:jit-access-test-revoke',
        roleArn: 'arn:aws:iam::111111111111:role/jit-access-test-scheduler',
        deadLetterArn: 'arn:aws:sqs:us-east-1:111111111111:jit-access-test-dlq',
        clock: new FakeClock(),
      });
      const { request } = await realisticRequest();
      await scheduler.scheduleExpiry(request.id, request.grant!.endsAt);
      await scheduler.scheduleExpiry(request.id, '2026-01-01T12:00:00.250Z');
      await scheduler.cancelExpiry(request.id);
      await scheduler.cancelExpiry(request.id);
      const unknown = assertCallsConform('scheduler', mockedCalls(mock));
      // ActionAfterCompletion (2023) is newer than Debian's model: allowed, and nothing else is unknown.
      assert.ok(unknown.every((m) => m.endsWith('.ActionAfterCompletion')), unknown.join(', '));
    });
  });

  describe('securityhub (FindingsSink)', () => {
    // An instance mock with its own send: class mocks elsewhere neither leak in nor get replaced.
    const securityHub = ownSend(new SecurityHubClient({}));
    const mock = mockClient(securityHub);
    afterEach(() => mock.reset());
    it('ASFF for every finding kind, in batches of at most 100', async () => {
      mock.on(BatchImportFindingsCommand).callsFake((input: { Findings: unknown[] }) => ({ FailedCount: 0, SuccessCount: input.Findings.length }));
      const kinds: SecurityFinding['kind'][] = ['break_glass_used', 'assignment_drift', 'revoke_failed', 'session_cut_failed'];
      const findings: SecurityFinding[] = Array.from({ length: 150 }, (_, i) => ({
        id: `jit/${kinds[i % kinds.length]}/${i}`,
        kind: kinds[i % kinds.length]!,
        severity: i % 2 ? 'CRITICAL' : 'MEDIUM',
        title: i === 0 ? 'T'.repeat(400) : `Finding ${i}`,
        description: i === 0 ? 'D'.repeat(5000) : `Description ${i}`,
        accountId: '222222222222',
        resourceId: `222222222222|${PS}|${USER}`,
        requestId: i % 2 ? `req-${String(i).padStart(12, '0')}` : undefined,
        at: '2026-01-01T09:00:00.000Z',
      }));
      await new SecurityHubFindingsSink(securityHub, { region: 'us-east-1', accountId: '111111111111', clock: new FakeClock() }).publish(findings);
      const calls = mockedCalls(mock);
      assert.deepEqual(calls.map((c) => (c.input as { Findings: unknown[] }).Findings.length), [100, 50]);
      assertCallsConform('securityhub', calls);
      const first = (calls[0]!.input as { Findings: Array<Record<string, any>> }).Findings[0]!; // eslint-disable-line @typescript-eslint/no-explicit-any -- ASFF JSON
      assert.equal(first.AwsAccountId, '111111111111', 'the importing account (the default product\'s rule)');
      assert.equal(first.ProductFields['jit/targetAccountId'], '222222222222');
      assert.deepEqual(first.Resources.map((r: { Type: string }) => r.Type), ['Other', 'AwsAccount']);
    });

    it('a resolved finding is archived and its workflow resolved (BatchUpdateFindings); refusals in a 200 answer are thrown and counted, and every batch is still sent', async () => {
      mock.on(BatchImportFindingsCommand).callsFake((input: { Findings: Array<{ Id: string }> }) => {
        const bad = input.Findings.filter((f) => f.Id.includes('break-glass'));
        return { FailedCount: bad.length, SuccessCount: input.Findings.length - bad.length, FailedFindings: bad.map((f) => ({ Id: f.Id, ErrorCode: 'InvalidInput', ErrorMessage: 'Finding does not adhere to Amazon Finding Format.' })) };
      });
      mock.on(BatchUpdateFindingsCommand).resolves({ ProcessedFindings: [], UnprocessedFindings: [] });
      const base = { severity: 'HIGH' as const, title: 't', description: 'd', accountId: '222222222222', resourceId: 'r', at: '2026-01-01T09:00:00.000Z' };
      const findings: SecurityFinding[] = [
        ...Array.from({ length: 100 }, (_, i): SecurityFinding => ({ ...base, id: `jit/drift/${i}`, kind: 'assignment_drift', resolved: true, createdAt: '2026-01-01T08:00:00.000Z' })),
        { ...base, id: 'jit/break-glass/r-1', kind: 'break_glass_used', severity: 'CRITICAL' },
      ];
      const metrics = recordingMetrics();
      await assert.rejects(new SecurityHubFindingsSink(securityHub, { region: 'us-east-1', accountId: '111111111111', clock: new FakeClock(), metrics }).publish(findings), /did not import 1 of 101 findings: jit\/break-glass\/r-1: InvalidInput/);
      const calls = mockedCalls(mock);
      assert.deepEqual(calls.map((c) => c.command), ['BatchImportFindingsCommand', 'BatchImportFindingsCommand', 'BatchUpdateFindingsCommand']);
      assertCallsConform('securityhub', calls);
      const archived = (calls[0]!.input as { Findings: Array<{ RecordState: string; CreatedAt: string }> }).Findings[0]!;
      assert.deepEqual([archived.RecordState, archived.CreatedAt], ['ARCHIVED', '2026-01-01T08:00:00.000Z']);
      const update = calls[2]!.input as { FindingIdentifiers: Array<{ Id: string; ProductArn: string }>; Workflow: { Status: string } };
      assert.equal(update.FindingIdentifiers.length, 100);
      assert.equal(update.FindingIdentifiers[0]!.ProductArn, 'arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default');
      assert.deepEqual(update.Workflow, { Status: 'RESOLVED' });
      assert.deepEqual(metrics.points.map((p) => p.dimensions.kind), ['breakglass_finding']);
    });
  });

  describe('stepfunctions (WorkflowGateway)', () => {
    // An instance mock with its own send: class mocks elsewhere neither leak in nor get replaced.
    const sfn = ownSend(new SFNClient({}));
    const mock = mockClient(sfn);
    afterEach(() => mock.reset());
    it('StartExecution (also when it already exists), SendTaskSuccess and SendTaskFailure', async () => {
      mock.on(StartExecutionCommand).resolvesOnce({ executionArn: 'arn:aws:states:us-east-1:111111111111:execution:x:y', startDate: new Date(0) }).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
      mock.on(SendTaskSuccessCommand).resolves({});
      mock.on(SendTaskFailureCommand).resolves({});
      const gateway = new SfnWorkflowGateway(sfn, { stateMachineArn: STATE_MACHINE, clock: new FakeClock() });
      const { request } = await realisticRequest();
      await gateway.start(request.id);
      await gateway.start(request.id);
      await gateway.resume(TOKEN, { approved: true, approvedBy: 'carol@example.com' });
      await gateway.resume(TOKEN, { approved: false, error: 'Denied', cause: 'x'.repeat(40_000) });
      await gateway.resume(TOKEN, { approved: false, error: 'Cancelled', cause: 'Cancelled by the requester.' });
      assertCallsConform('stepfunctions', mockedCalls(mock));
    });
  });

  describe('dynamodb (RequestStore, GrantLedger, audit table)', () => {
    it('request create (transaction), get, CAS update, outbox clear, client id lookup, scan and index listing', async () => {
      const { request } = await realisticRequest();
      const { doc, calls } = capturingDocumentClient((command) => (command === 'GetItemCommand' ? {} : command === 'ScanCommand' || command === 'QueryCommand' ? { Items: [] } : {}));
      const clock = new FakeClock();
      const store = new DynamoRequestStore(doc, { tableName: 'jit-access-test-RequestsTable-1A2B3C', clock });
      await store.create(request);
      await store.get(request.id);
      await store.update({ ...request, version: request.version + 1 }, request.version);
      // An open request: its create also writes the open-request guard, its updates are PutItem.
      const pending = { ...request, id: 'req-000000000099', clientRequestId: 'client-99', state: 'PENDING_APPROVAL' as const };
      await store.create(pending);
      await store.update({ ...pending, version: pending.version + 1 }, pending.version);
      await store.clearAuditOutbox(request.id, request.version + 1);
      await store.findByClientRequestId(request.requester.userId, request.clientRequestId);
      await store.list({ requesterUserId: request.requester.userId, states: ['ACTIVE', 'PENDING_APPROVAL'], limit: 20 });
      const indexed = new DynamoRequestStore(doc, { tableName: 'jit-access-test-RequestsTable-1A2B3C', clock, useIndexes: true });
      await indexed.list({ requesterUserId: request.requester.userId });
      await indexed.list({ states: ['PENDING_APPROVAL'] });
      assert.deepEqual(
        [...new Set(calls.map((c) => c.command))].sort(),
        ['GetItemCommand', 'PutItemCommand', 'QueryCommand', 'ScanCommand', 'TransactWriteItemsCommand', 'UpdateItemCommand'],
      );
      assertCallsConform('dynamodb', calls);
    });

    it('ledger create and replace (CAS), get, query of the live index; audit table conditional put', async () => {
      const { doc, calls } = capturingDocumentClient((command) => (command === 'QueryCommand' ? { Items: [] } : {}));
      const clock = new FakeClock();
      const ledger = new DynamoGrantLedger(doc, { tableName: 'jit-access-test-LedgerTable-1A2B3C', clock });
      const entry = { key: { accountId: '111111111111', permissionSetArn: PS, userId: USER }, ownership: 'OURS' as const, activeGrantIds: ['req-000000000001'], version: 1, updatedAt: '2026-01-01T09:00:00.000Z' };
      await ledger.put(entry, undefined);
      await ledger.put({ ...entry, version: 2, activeGrantIds: [] }, 1);
      await ledger.get(entry.key);
      await ledger.list();
      const { events } = await realisticRequest();
      await new DynamoAuditTableSink(doc, { tableName: 'jit-access-test-AuditTable-1A2B3C', clock }).append(events);
      assertCallsConform('dynamodb', calls);
    });
  });

  describe('events and secretsmanager (audit bus, notify key)', () => {
    const eventBridge = ownSend(new EventBridgeClient({}));
    const secretsManager = ownSend(new SecretsManagerClient({}));
    const events = mockClient(eventBridge);
    const secrets = mockClient(secretsManager);
    afterEach(() => {
      events.reset();
      secrets.reset();
    });
    it('PutEvents in entries of at most 10; GetSecretValue by ARN', async () => {
      events.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({ FailedEntryCount: 0, Entries: input.Entries.map((_, i) => ({ EventId: `e-${i}` })) }));
      secrets.on(GetSecretValueCommand).resolves({ SecretString: 'k'.repeat(64) });
      const { events: audit } = await realisticRequest();
      const many = [...audit, ...audit.map((e) => ({ ...e, eventId: `${e.eventId}-copy` })), ...audit.map((e) => ({ ...e, eventId: `${e.eventId}-copy2` }))];
      await new EventBridgeAuditSink(eventBridge, { eventBusName: 'jit-access-test-audit', clock: new FakeClock() }).append(many);
      const putCalls = mockedCalls(events);
      assert.ok(putCalls.every((c) => (c.input as { Entries: unknown[] }).Entries.length <= 10));
      assert.equal(putCalls.reduce((n, c) => n + (c.input as { Entries: unknown[] }).Entries.length, 0), many.length);
      assertCallsConform('events', putCalls);
      await new SecretsManagerSecret(secretsManager, 'arn:aws:secretsmanager:us-east-1:111111111111:secret:jit-access-test/notify-hmac-AbCdEf', new FakeClock()).get();
      assertCallsConform('secretsmanager', mockedCalls(secrets));
    });
  });
});
