/**
 * The Identity Center and identity store stand-ins, driven through the REAL AWS SDK v3 clients
 * over HTTP on loopback. Time is a ManualClock: throttling and asynchronous completion are
 * asserted against clock time, never wall-clock speed.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  AccessDeniedException,
  ConflictException,
  CreateAccountAssignmentCommand,
  DeleteAccountAssignmentCommand,
  DescribeAccountAssignmentCreationStatusCommand,
  DescribeAccountAssignmentDeletionStatusCommand,
  DescribePermissionSetCommand,
  InternalServerException,
  ListInstancesCommand,
  ListPermissionSetsCommand,
  ResourceNotFoundException,
  SSOAdminClient,
  ThrottlingException,
  ValidationException,
  paginateListAccountAssignments,
} from '@aws-sdk/client-sso-admin';
import {
  AccessDeniedException as IdentityStoreAccessDenied,
  DescribeGroupCommand,
  DescribeUserCommand,
  GetGroupIdCommand,
  GetUserIdCommand,
  IdentitystoreClient,
  IsMemberInGroupsCommand,
  ResourceNotFoundException as IdentityStoreNotFound,
  ListGroupMembershipsForMemberCommand,
  ValidationException as IdentityStoreValidation,
} from '@aws-sdk/client-identitystore';
import { type AwsStandIns, type AwsStandInsOptions, ManualClock, startAwsStandIns } from '../../sandbox/aws';
import { IdentityCenterStandIn } from '../../sandbox/aws/identity-center';
import { DEMO_ACCOUNTS, DEMO_INSTANCE_ARN, DEMO_PERMISSION_SETS, loadDemoPeople } from '../../sandbox/seed';

const people = loadDemoPeople();
const person = (key: string) => people.people.find((p) => p.key === key)!;
const ALICE = person('alice').identityStoreUserId;
const BOB = person('bob').identityStoreUserId;
const ps = (name: string) => DEMO_PERMISSION_SETS.find((p) => p.name === name)!.arn;
const SANDBOX = DEMO_ACCOUNTS[0].id;
const PROD = DEMO_ACCOUNTS[1].id;

function assignment(principalId: string, permissionSet = 'PowerUser', accountId: string = SANDBOX) {
  return { InstanceArn: DEMO_INSTANCE_ARN, TargetId: accountId, TargetType: 'AWS_ACCOUNT' as const, PermissionSetArn: ps(permissionSet), PrincipalType: 'USER' as const, PrincipalId: principalId };
}

/** A syntactically valid identity store user id for the n-th synthetic principal. */
function syntheticUser(n: number): string {
  return `9067999999-00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

describe('sandbox Identity Center stand-in (real sso-admin SDK client)', () => {
  let clock: ManualClock;
  let aws: AwsStandIns;
  let sso: SSOAdminClient;

  const start = async (identityCenter: AwsStandInsOptions['identityCenter'] = {}) => {
    clock = new ManualClock();
    aws = await startAwsStandIns({ port: 0, dataDir: false, clock, random: () => 0.5, identityCenter: { assignmentDelayMs: { min: 1000, max: 3000 }, ...identityCenter } });
    // maxAttempts 1: the test sees each error the stand-in returns instead of the SDK's retries.
    sso = new SSOAdminClient({ ...aws.clientConfig, maxAttempts: 1 });
  };

  afterEach(async () => {
    sso?.destroy();
    await aws?.stop();
  });

  it('answers ListInstances, ListPermissionSets and DescribePermissionSet (with SessionDuration)', async () => {
    await start();
    const instances = await sso.send(new ListInstancesCommand({}));
    assert.equal(instances.Instances?.[0]?.InstanceArn, DEMO_INSTANCE_ARN);
    assert.equal(instances.Instances?.[0]?.IdentityStoreId, people.identityStoreId);
    const sets = await sso.send(new ListPermissionSetsCommand({ InstanceArn: DEMO_INSTANCE_ARN }));
    assert.deepEqual(sets.PermissionSets, DEMO_PERMISSION_SETS.map((p) => p.arn));
    const described = await sso.send(new DescribePermissionSetCommand({ InstanceArn: DEMO_INSTANCE_ARN, PermissionSetArn: ps('Admin') }));
    assert.equal(described.PermissionSet?.Name, 'Admin');
    assert.equal(described.PermissionSet?.SessionDuration, 'PT1H');
    assert.ok(described.PermissionSet?.CreatedDate instanceof Date);
  });

  it('creates asynchronously: IN_PROGRESS until the delay has passed, then SUCCEEDED and listed', async () => {
    await start();
    const created = await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE)));
    const status = created.AccountAssignmentCreationStatus!;
    assert.equal(status.Status, 'IN_PROGRESS');
    assert.match(status.RequestId!, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(status.PrincipalId, ALICE);
    assert.ok(!aws.identityCenter.hasAssignment({ accountId: SANDBOX, permissionSetArn: ps('PowerUser'), principalId: ALICE }));

    // random() = 0.5: delay = 1000 + 0.5 * 2000 = 2000 ms.
    await clock.advance(1999);
    const before = await sso.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentCreationRequestId: status.RequestId! }));
    assert.equal(before.AccountAssignmentCreationStatus?.Status, 'IN_PROGRESS');
    await clock.advance(1);
    const after = await sso.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentCreationRequestId: status.RequestId! }));
    assert.equal(after.AccountAssignmentCreationStatus?.Status, 'SUCCEEDED');
    assert.ok(aws.identityCenter.hasAssignment({ accountId: SANDBOX, permissionSetArn: ps('PowerUser'), principalId: ALICE }));

    const listed = [];
    for await (const page of paginateListAccountAssignments({ client: sso }, { InstanceArn: DEMO_INSTANCE_ARN, AccountId: SANDBOX, PermissionSetArn: ps('PowerUser') })) listed.push(...(page.AccountAssignments ?? []));
    assert.deepEqual(listed, [{ AccountId: SANDBOX, PermissionSetArn: ps('PowerUser'), PrincipalType: 'USER', PrincipalId: ALICE }]);

    const deleted = await sso.send(new DeleteAccountAssignmentCommand(assignment(ALICE)));
    assert.equal(deleted.AccountAssignmentDeletionStatus?.Status, 'IN_PROGRESS');
    assert.ok(aws.identityCenter.hasAssignment({ accountId: SANDBOX, permissionSetArn: ps('PowerUser'), principalId: ALICE }), 'still live while the deletion is in progress');
    await clock.advance(2000);
    const gone = await sso.send(new DescribeAccountAssignmentDeletionStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentDeletionRequestId: deleted.AccountAssignmentDeletionStatus!.RequestId! }));
    assert.equal(gone.AccountAssignmentDeletionStatus?.Status, 'SUCCEEDED');
    assert.ok(!aws.identityCenter.hasAssignment({ accountId: SANDBOX, permissionSetArn: ps('PowerUser'), principalId: ALICE }));
  });

  it('from a delegated administrator, access to the management account cannot be created or deleted (AccessDeniedException)', async () => {
    const management = DEMO_ACCOUNTS[0].id;
    await start({ ownerAccountId: management, callerAccountId: '999999999999' });
    await assert.rejects(sso.send(new CreateAccountAssignmentCommand(assignment(ALICE, 'PowerUser', management))), (e: unknown) => e instanceof AccessDeniedException && /delegated administrator/.test(e.message));
    await assert.rejects(sso.send(new DeleteAccountAssignmentCommand(assignment(ALICE, 'PowerUser', management))), AccessDeniedException);
    const member = await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE, 'PowerUser', PROD)));
    assert.equal(member.AccountAssignmentCreationStatus?.Status, 'IN_PROGRESS', 'member accounts are fine');
    assert.equal(aws.identityCenter.listOperations().length, 1, 'the refused writes started nothing');
    // Called from the management account itself, the same write is allowed.
    sso.destroy();
    await aws.stop();
    await start({ ownerAccountId: management, callerAccountId: management });
    assert.equal((await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE, 'PowerUser', management)))).AccountAssignmentCreationStatus?.Status, 'IN_PROGRESS');
  });

  it('with a customer managed key, an assignment write without kms:Decrypt is AccessDeniedException (Reason KMS_AccessDeniedException)', async () => {
    let access: 'allowed' | 'denied' | 'disabled' = 'denied';
    const keyArn = 'arn:aws:kms:us-east-1:111111111111:key/00000000-0000-4000-8000-000000000001';
    await start({ customerManagedKey: { keyArn, access: () => access } });
    const denied = await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE))).then(
      () => assert.fail('allowed without kms:Decrypt'),
      (e: unknown) => e,
    );
    assert.ok(denied instanceof AccessDeniedException);
    assert.equal(denied.Reason, 'KMS_AccessDeniedException');
    access = 'disabled';
    await assert.rejects(sso.send(new CreateAccountAssignmentCommand(assignment(ALICE))), (e: unknown) => e instanceof ValidationException && e.Reason === 'KMS_DisabledException');
    assert.deepEqual(aws.identityCenter.listOperations(), []);
    access = 'allowed';
    assert.equal((await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE)))).AccountAssignmentCreationStatus?.Status, 'IN_PROGRESS');
  });

  it('does not mix up creation and deletion request ids, and rejects unknown ones', async () => {
    await start();
    const created = await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE)));
    const id = created.AccountAssignmentCreationStatus!.RequestId!;
    await assert.rejects(sso.send(new DescribeAccountAssignmentDeletionStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentDeletionRequestId: id })), ResourceNotFoundException);
    await assert.rejects(sso.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentCreationRequestId: '00000000-0000-4000-8000-000000000000' })), ResourceNotFoundException);
    await assert.rejects(sso.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentCreationRequestId: 'not-a-uuid' })), ValidationException);
  });

  it('throttles past 20 TPS with a bucket of 20, refilled with clock time', async () => {
    await start();
    const call = () => sso.send(new ListPermissionSetsCommand({ InstanceArn: DEMO_INSTANCE_ARN }));
    for (let i = 0; i < 20; i++) await call();
    const throttled = await call().then(
      () => assert.fail('the 21st call within the same instant must be throttled'),
      (e: unknown) => e,
    );
    assert.ok(throttled instanceof ThrottlingException);
    assert.equal(throttled.$metadata.httpStatusCode, 400);
    assert.equal(throttled.$retryable?.throttling ?? true, true);
    await clock.advance(49);
    await assert.rejects(call(), ThrottlingException, '49 ms refill less than one token');
    await clock.advance(1);
    await call();
    await assert.rejects(call(), ThrottlingException);
    await clock.advance(1000);
    for (let i = 0; i < 20; i++) await call();
    await assert.rejects(call(), ThrottlingException);
    const stats = aws.identityCenter.stats();
    assert.equal(stats.throttled, 4);
  });

  it('never accepts more than burst + rate x elapsed calls (property, any call pattern)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 120 }), async (gaps) => {
        const manual = new ManualClock();
        const ic = new IdentityCenterStandIn({ clock: manual, instanceArn: DEMO_INSTANCE_ARN, permissionSets: DEMO_PERMISSION_SETS });
        let accepted = 0;
        let elapsed = 0;
        for (const gap of gaps) {
          manual.jump(gap);
          elapsed += gap;
          try {
            await ic.handle('ListInstances', {});
            accepted++;
          } catch (e) {
            assert.equal((e as Error).name, 'ThrottlingException');
          }
          assert.ok(accepted <= 20 + Math.floor((elapsed * 20) / 1000), `${accepted} calls accepted in ${elapsed} ms`);
        }
        // A caller that waits 50 ms between calls is never throttled.
        const patient = new IdentityCenterStandIn({ clock: manual, instanceArn: DEMO_INSTANCE_ARN });
        for (let i = 0; i < 30; i++) {
          manual.jump(50);
          await patient.handle('ListInstances', {});
        }
      }),
      { numRuns: 60 },
    );
  });

  it('rejects the 11th outstanding assignment write with ThrottlingException, and accepts it once one completes', async () => {
    await start();
    const statuses = [];
    for (let i = 1; i <= 10; i++) statuses.push((await sso.send(new CreateAccountAssignmentCommand(assignment(syntheticUser(i))))).AccountAssignmentCreationStatus!);
    assert.ok(statuses.every((s) => s.Status === 'IN_PROGRESS'));
    const eleventh = await sso.send(new CreateAccountAssignmentCommand(assignment(syntheticUser(11)))).then(
      () => assert.fail('the 11th outstanding write must be refused'),
      (e: unknown) => e,
    );
    assert.ok(eleventh instanceof ThrottlingException);
    assert.match(eleventh.message, /too many requests processing/);
    // Deletes count against the same limit.
    await assert.rejects(sso.send(new DeleteAccountAssignmentCommand(assignment(ALICE))), ThrottlingException);

    await clock.advance(2000);
    const retried = await sso.send(new CreateAccountAssignmentCommand(assignment(syntheticUser(11))));
    assert.equal(retried.AccountAssignmentCreationStatus?.Status, 'IN_PROGRESS');
    const stats = aws.identityCenter.stats();
    assert.deepEqual(aws.identityCenter.quotas(), { rateLimit: { tps: 20, burst: 20 }, maxOutstandingWrites: 10, assignmentDelayMs: { min: 1000, max: 3000 } });
    const overHttp = (await (await fetch(`${aws.endpoint}/_sandbox/identity-center/stats`)).json()) as { outstandingRejected: number; quotas: { maxOutstandingWrites: number } };
    assert.equal(overHttp.outstandingRejected, 2);
    assert.equal(overHttp.quotas.maxOutstandingWrites, 10);
    assert.equal(stats.outstandingRejected, 2);
    assert.equal(stats.maxOutstanding, 10);
    assert.equal(stats.outstanding, 1);
  });

  it('can answer the outstanding limit with ConflictException instead (configurable)', async () => {
    await start({ maxOutstandingWrites: 2, outstandingLimitError: 'ConflictException' });
    await sso.send(new CreateAccountAssignmentCommand(assignment(syntheticUser(1))));
    await sso.send(new CreateAccountAssignmentCommand(assignment(syntheticUser(2))));
    await assert.rejects(sso.send(new CreateAccountAssignmentCommand(assignment(syntheticUser(3)))), ConflictException);
  });

  it('refuses a second write on an assignment that has one in progress (ConflictException)', async () => {
    await start();
    await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE)));
    await assert.rejects(sso.send(new CreateAccountAssignmentCommand(assignment(ALICE))), ConflictException);
    await assert.rejects(sso.send(new DeleteAccountAssignmentCommand(assignment(ALICE))), ConflictException);
    // Another user, or another permission set, is a different assignment.
    await sso.send(new CreateAccountAssignmentCommand(assignment(BOB)));
    await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE, 'ReadOnly')));
    await clock.advance(2000);
    const deleted = await sso.send(new DeleteAccountAssignmentCommand(assignment(ALICE)));
    assert.equal(deleted.AccountAssignmentDeletionStatus?.Status, 'IN_PROGRESS');
    assert.equal(aws.identityCenter.stats().conflicts, 2);
  });

  it('is idempotent: creating an existing assignment and deleting a missing one both succeed', async () => {
    await start();
    const first = await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE)));
    await clock.advance(3000);
    const again = await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE)));
    await clock.advance(3000);
    for (const s of [first, again]) {
      const status = await sso.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentCreationRequestId: s.AccountAssignmentCreationStatus!.RequestId! }));
      assert.equal(status.AccountAssignmentCreationStatus?.Status, 'SUCCEEDED');
    }
    assert.equal(aws.identityCenter.listAssignments({ principalId: ALICE }).length, 1);
    const missing = await sso.send(new DeleteAccountAssignmentCommand(assignment(BOB)));
    await clock.advance(3000);
    const status = await sso.send(new DescribeAccountAssignmentDeletionStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentDeletionRequestId: missing.AccountAssignmentDeletionStatus!.RequestId! }));
    assert.equal(status.AccountAssignmentDeletionStatus?.Status, 'SUCCEEDED');
  });

  it('lists pre-seeded (pre-existing) assignments with the rest, across pages, and marks their origin', async () => {
    await start();
    // The demo seeds Carol's standing ReadOnly on sandbox-prod.
    const carol = person('carol').identityStoreUserId;
    for (let i = 1; i <= 24; i++) aws.identityCenter.seedAssignment({ accountId: PROD, permissionSetArn: ps('ReadOnly'), principalId: syntheticUser(i) });
    await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE, 'ReadOnly', PROD)));
    await clock.advance(3000);
    const pages: number[] = [];
    const listed: string[] = [];
    for await (const page of paginateListAccountAssignments({ client: sso, pageSize: 10 }, { InstanceArn: DEMO_INSTANCE_ARN, AccountId: PROD, PermissionSetArn: ps('ReadOnly') })) {
      pages.push(page.AccountAssignments?.length ?? 0);
      listed.push(...(page.AccountAssignments ?? []).map((a) => a.PrincipalId!));
    }
    assert.deepEqual(pages, [10, 10, 6]);
    assert.equal(new Set(listed).size, 26);
    assert.ok(listed.includes(carol) && listed.includes(ALICE));

    const response = await fetch(`${aws.endpoint}/_sandbox/assignments?accountId=${PROD}`);
    const body = (await response.json()) as { assignments: Array<{ principalId: string; origin: string; userName?: string }> };
    assert.equal(body.assignments.find((a) => a.principalId === carol)?.origin, 'preexisting');
    assert.equal(body.assignments.find((a) => a.principalId === carol)?.userName, 'carol@example.com');
    assert.equal(body.assignments.find((a) => a.principalId === ALICE)?.origin, 'created');
  });

  it('pre-seeds over HTTP by user and permission set name, and validates the seed', async () => {
    await start();
    const ok = await fetch(`${aws.endpoint}/_sandbox/assignments`, { method: 'POST', body: JSON.stringify({ accountId: SANDBOX, permissionSetName: 'Admin', userName: 'bob@example.com' }) });
    assert.equal(ok.status, 201);
    assert.ok(aws.identityCenter.hasAssignment({ accountId: SANDBOX, permissionSetArn: ps('Admin'), principalId: BOB }));
    const bad = await fetch(`${aws.endpoint}/_sandbox/assignments`, { method: 'POST', body: JSON.stringify({ accountId: '12', permissionSetName: 'Admin', userName: 'bob@example.com' }) });
    assert.equal(bad.status, 400);
    const unknownSet = await fetch(`${aws.endpoint}/_sandbox/assignments`, { method: 'POST', body: JSON.stringify({ accountId: SANDBOX, permissionSetName: 'Nope', userName: 'bob@example.com' }) });
    assert.equal(unknownSet.status, 404);
  });

  it('serves injected faults in order: throttle N, conflict, 500, then a FAILED operation', async () => {
    await start();
    const faults = [
      { service: 'sso-admin', kind: 'throttle', count: 2, operations: ['CreateAccountAssignment'] },
      { service: 'sso-admin', kind: 'conflict', operations: ['CreateAccountAssignment'] },
      { service: 'sso-admin', kind: 'internal', operations: ['CreateAccountAssignment'] },
      { service: 'sso-admin', kind: 'fail', operations: ['CreateAccountAssignment'], message: 'Received a 409 status error: role quota exceeded' },
    ];
    for (const f of faults) assert.equal((await fetch(`${aws.endpoint}/_sandbox/faults`, { method: 'POST', body: JSON.stringify(f) })).status, 201);
    // Other operations are not affected by faults aimed at CreateAccountAssignment.
    await sso.send(new ListInstancesCommand({}));
    await assert.rejects(sso.send(new CreateAccountAssignmentCommand(assignment(ALICE))), ThrottlingException);
    await assert.rejects(sso.send(new CreateAccountAssignmentCommand(assignment(ALICE))), ThrottlingException);
    await assert.rejects(sso.send(new CreateAccountAssignmentCommand(assignment(ALICE))), ConflictException);
    const internal = await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE))).then(
      () => assert.fail('expected a 500'),
      (e: unknown) => e,
    );
    assert.ok(internal instanceof InternalServerException);
    assert.equal(internal.$metadata.httpStatusCode, 500);
    assert.equal(internal.$fault, 'server');
    const accepted = await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE)));
    assert.equal(accepted.AccountAssignmentCreationStatus?.Status, 'IN_PROGRESS');
    await clock.advance(3000);
    const failed = await sso.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentCreationRequestId: accepted.AccountAssignmentCreationStatus!.RequestId! }));
    assert.equal(failed.AccountAssignmentCreationStatus?.Status, 'FAILED');
    assert.equal(failed.AccountAssignmentCreationStatus?.FailureReason, 'Received a 409 status error: role quota exceeded');
    assert.ok(!aws.identityCenter.hasAssignment({ accountId: SANDBOX, permissionSetArn: ps('PowerUser'), principalId: ALICE }));
    // All consumed: the next one goes through.
    const next = await sso.send(new CreateAccountAssignmentCommand(assignment(BOB)));
    await clock.advance(3000);
    const ok = await sso.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentCreationRequestId: next.AccountAssignmentCreationStatus!.RequestId! }));
    assert.equal(ok.AccountAssignmentCreationStatus?.Status, 'SUCCEEDED');
    const pending = (await (await fetch(`${aws.endpoint}/_sandbox/faults`)).json()) as Record<string, unknown[]>;
    assert.deepEqual(pending['sso-admin'], []);
  });

  it('lets the SDK retry an injected throttle by itself (it is a modeled throttling error)', async () => {
    await start();
    aws.identityCenter.faults.add({ kind: 'throttle' });
    const retrying = new SSOAdminClient({ ...aws.clientConfig, maxAttempts: 3 });
    try {
      const out = await retrying.send(new ListInstancesCommand({}));
      assert.equal(out.Instances?.length, 1);
      assert.equal(out.$metadata.attempts, 2);
    } finally {
      retrying.destroy();
    }
  });

  it('fails the operation (not the call) for principals and accounts Identity Center does not know', async () => {
    await start();
    const ghost = await sso.send(new CreateAccountAssignmentCommand(assignment(syntheticUser(77))));
    const foreign = await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE, 'PowerUser', '333333333333')));
    await clock.advance(3000);
    const ghostStatus = await sso.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentCreationRequestId: ghost.AccountAssignmentCreationStatus!.RequestId! }));
    assert.equal(ghostStatus.AccountAssignmentCreationStatus?.Status, 'FAILED');
    assert.match(ghostStatus.AccountAssignmentCreationStatus?.FailureReason ?? '', /principal .* does not exist/);
    const foreignStatus = await sso.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentCreationRequestId: foreign.AccountAssignmentCreationStatus!.RequestId! }));
    assert.equal(foreignStatus.AccountAssignmentCreationStatus?.Status, 'FAILED');
    assert.deepEqual(aws.identityCenter.listAssignments({ origin: 'created' }), []);
  });

  it('validates requests like the model: bad account id, bad ARN, unknown permission set or instance', async () => {
    await start();
    await assert.rejects(sso.send(new CreateAccountAssignmentCommand({ ...assignment(ALICE), TargetId: '1234' })), (e: unknown) => e instanceof ValidationException && /TargetId/.test(e.message));
    await assert.rejects(sso.send(new CreateAccountAssignmentCommand({ ...assignment(ALICE), PermissionSetArn: 'arn:aws:iam::111111111111:role/x' })), ValidationException);
    await assert.rejects(sso.send(new CreateAccountAssignmentCommand({ ...assignment(ALICE), PrincipalId: 'alice' })), ValidationException);
    await assert.rejects(
      sso.send(new CreateAccountAssignmentCommand({ ...assignment(ALICE), PermissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-9999999999999999' })),
      ResourceNotFoundException,
    );
    await assert.rejects(sso.send(new ListPermissionSetsCommand({ InstanceArn: 'arn:aws:sso:::instance/ssoins-2222222222222222' })), ResourceNotFoundException);
    assert.deepEqual(aws.identityCenter.listOperations(), [], 'a refused call changes nothing');
  });

  it('keeps assignments and in-progress operations across a restart (data folder)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-sandbox-ic-'));
    try {
      clock = new ManualClock();
      aws = await startAwsStandIns({ port: 0, dataDir: dir, clock, random: () => 0.5 });
      sso = new SSOAdminClient({ ...aws.clientConfig, maxAttempts: 1 });
      await sso.send(new CreateAccountAssignmentCommand(assignment(ALICE)));
      await clock.advance(2000);
      const pending = await sso.send(new CreateAccountAssignmentCommand(assignment(BOB)));
      sso.destroy();
      await aws.stop();

      aws = await startAwsStandIns({ port: 0, dataDir: dir, clock, random: () => 0.5 });
      sso = new SSOAdminClient({ ...aws.clientConfig, maxAttempts: 1 });
      assert.ok(aws.identityCenter.hasAssignment({ accountId: SANDBOX, permissionSetArn: ps('PowerUser'), principalId: ALICE }));
      const id = pending.AccountAssignmentCreationStatus!.RequestId!;
      const stillRunning = await sso.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentCreationRequestId: id }));
      assert.equal(stillRunning.AccountAssignmentCreationStatus?.Status, 'IN_PROGRESS');
      await clock.advance(2000);
      const done = await sso.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentCreationRequestId: id }));
      assert.equal(done.AccountAssignmentCreationStatus?.Status, 'SUCCEEDED');
      // The pre-existing seed is applied once, on the first start, not again on restart.
      assert.equal(aws.identityCenter.listAssignments({ origin: 'preexisting' }).length, 1);
    } finally {
      sso?.destroy();
      await aws?.stop();
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
  });

  it('is reachable through AWS_ENDPOINT_URL_SSO_ADMIN alone (handler code needs no endpoint option)', async () => {
    await start();
    const saved = { ...process.env };
    Object.assign(process.env, aws.env);
    try {
      const plain = new SSOAdminClient({ maxAttempts: 1 });
      const out = await plain.send(new ListInstancesCommand({}));
      assert.equal(out.Instances?.[0]?.InstanceArn, DEMO_INSTANCE_ARN);
      plain.destroy();
    } finally {
      for (const k of Object.keys(aws.env)) if (saved[k] === undefined) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});

describe('sandbox identity store stand-in (real identitystore SDK client)', () => {
  let aws: AwsStandIns;
  let ids: IdentitystoreClient;
  const store = people.identityStoreId;

  before(async () => {
    aws = await startAwsStandIns({ port: 0, dataDir: false, clock: new ManualClock() });
    ids = new IdentitystoreClient({ ...aws.clientConfig, maxAttempts: 1 });
  });
  after(async () => {
    ids.destroy();
    await aws.stop();
  });

  it('maps a userName (case-insensitively), an email and an Entra ExternalId to the user id', async () => {
    const byName = await ids.send(new GetUserIdCommand({ IdentityStoreId: store, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'Alice@Example.com' } } }));
    assert.equal(byName.UserId, ALICE);
    const byEmail = await ids.send(new GetUserIdCommand({ IdentityStoreId: store, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: 'bob@example.com' } } }));
    assert.equal(byEmail.UserId, BOB);
    const byExternal = await ids.send(new GetUserIdCommand({ IdentityStoreId: store, AlternateIdentifier: { ExternalId: { Issuer: people.externalIdIssuer, Id: person('carol').aadObjectId } } }));
    assert.equal(byExternal.UserId, person('carol').identityStoreUserId);
  });

  it('answers ResourceNotFoundException (with ResourceType) for unknown users and stores', async () => {
    const missing = await ids.send(new GetUserIdCommand({ IdentityStoreId: store, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'mallory@example.com' } } })).then(
      () => assert.fail('unknown user'),
      (e: unknown) => e,
    );
    assert.ok(missing instanceof IdentityStoreNotFound);
    assert.equal(missing.ResourceType, 'USER');
    await assert.rejects(ids.send(new GetUserIdCommand({ IdentityStoreId: store, AlternateIdentifier: { ExternalId: { Issuer: 'https://elsewhere.example.com', Id: person('carol').aadObjectId } } })), IdentityStoreNotFound);
    await assert.rejects(ids.send(new DescribeUserCommand({ IdentityStoreId: 'd-2222222222', UserId: ALICE })), IdentityStoreNotFound);
    await assert.rejects(ids.send(new GetUserIdCommand({ IdentityStoreId: store, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'title', AttributeValue: 'x' } } })), IdentityStoreValidation);
  });

  it('with a customer managed key, reading the store without kms:Decrypt is AccessDeniedException (Reason KMS_ACCESS_DENIED)', async () => {
    const keyed = await startAwsStandIns({ port: 0, dataDir: false, clock: new ManualClock(), identityStore: { customerManagedKey: { keyArn: 'arn:aws:kms:us-east-1:111111111111:key/k', access: (op) => (op === 'DescribeUser' ? 'denied' : 'allowed') } } });
    const client = new IdentitystoreClient({ ...keyed.clientConfig, maxAttempts: 1 });
    try {
      const found = await client.send(new GetUserIdCommand({ IdentityStoreId: store, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'alice@example.com' } } }));
      await assert.rejects(client.send(new DescribeUserCommand({ IdentityStoreId: store, UserId: found.UserId! })), (e: unknown) => e instanceof IdentityStoreAccessDenied && e.Reason === 'KMS_ACCESS_DENIED');
    } finally {
      client.destroy();
      await keyed.stop();
    }
  });

  it('accepts only the documented attribute paths (userName, emails.value; displayName for groups) and one identifier kind', async () => {
    for (const AttributePath of ['UserName', 'username', 'Emails.Value', 'name.givenName', 'externalId']) {
      await assert.rejects(ids.send(new GetUserIdCommand({ IdentityStoreId: store, AlternateIdentifier: { UniqueAttribute: { AttributePath, AttributeValue: 'alice@example.com' } } })), IdentityStoreValidation, AttributePath);
    }
    await assert.rejects(ids.send(new GetGroupIdCommand({ IdentityStoreId: store, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'DisplayName', AttributeValue: 'AWS-Approvers' } } })), IdentityStoreValidation);
    const both = { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'alice@example.com' }, ExternalId: { Issuer: people.externalIdIssuer, Id: person('alice').aadObjectId } };
    // The SDK sends a union as given; the service refuses two members ("Only one member of this object can be specified").
    await assert.rejects(ids.send(new GetUserIdCommand({ IdentityStoreId: store, AlternateIdentifier: both as never })), IdentityStoreValidation);
  });

  it('describes users and groups, lists memberships and checks membership', async () => {
    const user = await ids.send(new DescribeUserCommand({ IdentityStoreId: store, UserId: person('frank').identityStoreUserId }));
    assert.equal(user.UserName, 'frank@example.com');
    assert.equal(user.DisplayName, 'Frank Fischer');
    assert.equal(user.Emails?.[0]?.Value, 'frank@example.com');
    const memberships = await ids.send(new ListGroupMembershipsForMemberCommand({ IdentityStoreId: store, MemberId: { UserId: person('frank').identityStoreUserId }, MaxResults: 1 }));
    assert.equal(memberships.GroupMemberships?.length, 1);
    assert.ok(memberships.NextToken);
    const rest = await ids.send(new ListGroupMembershipsForMemberCommand({ IdentityStoreId: store, MemberId: { UserId: person('frank').identityStoreUserId }, NextToken: memberships.NextToken }));
    const groupIds = [...(memberships.GroupMemberships ?? []), ...(rest.GroupMemberships ?? [])].map((m) => m.GroupId!);
    const names = await Promise.all(groupIds.map(async (GroupId) => (await ids.send(new DescribeGroupCommand({ IdentityStoreId: store, GroupId }))).DisplayName));
    assert.deepEqual(names.sort(), ['AWS-Approvers', 'Engineers']);
    const approvers = await ids.send(new GetGroupIdCommand({ IdentityStoreId: store, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'displayName', AttributeValue: 'AWS-Approvers' } } }));
    const check = await ids.send(new IsMemberInGroupsCommand({ IdentityStoreId: store, MemberId: { UserId: person('erin').identityStoreUserId }, GroupIds: [approvers.GroupId!] }));
    assert.equal(check.Results?.[0]?.MembershipExists, false);
    await assert.rejects(ids.send(new ListGroupMembershipsForMemberCommand({ IdentityStoreId: store, MemberId: { UserId: syntheticUser(5) } })), IdentityStoreNotFound);
  });
});
