/**
 * Revocation that ends live sessions (issue 14 §2), end to end over the real code: core services,
 * the sso-admin adapter and the real SDK client against the Identity Center stand-in, which models
 * inline policies, asynchronous provisioning and whether a session (user, issue time) is denied in
 * an account by what is provisioned there.
 */
import { strict as assert } from 'node:assert';
import {
  DescribePermissionSetProvisioningStatusCommand,
  GetInlinePolicyForPermissionSetCommand,
  ProvisionPermissionSetCommand,
  PutInlinePolicyToPermissionSetCommand,
  SSOAdminClient,
} from '@aws-sdk/client-sso-admin';
import { MemorySessionCutStore, type MemoryWorld } from '../../core/memory';
import { SESSION_CUT_SID_PREFIX } from '../../core/model';
import type { Clock } from '../../core/ports';
import type { Policy } from '../../core/policy/types';
import * as svc from '../../core/services';
import { ROLE_INLINE_POLICY_MAX_CHARS } from '../../core/services/session-cut';
import { IdentityCenterLimiter } from '../../lambdas/adapters/limiter';
import { SsoAdminPermissionSetGateway } from '../../lambdas/adapters/sso-admin-permission-sets';
import { type AwsStandIns, ManualClock, startAwsStandIns } from '../../sandbox/aws';
import { DEFAULT_INSTANCE_ARN } from '../../sandbox/aws/identity-center';
import { ACCOUNTS, POLICY, PS, USERS, activeRequest, actor, world } from '../support/core-world';

const OPERATOR_STATEMENT = { Sid: 'OperatorNoBucketDelete', Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' };

interface Fixture {
  w: MemoryWorld;
  aws: AwsStandIns;
  sso: SSOAdminClient;
  clock: ManualClock;
  store: MemorySessionCutStore;
}

let fx: Fixture | undefined;

async function setup(policy: Policy = POLICY): Promise<Fixture> {
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 9, 0, 0, 400));
  const aws = await startAwsStandIns({
    port: 0,
    dataDir: false,
    clock,
    random: () => 0.5,
    identityCenter: {
      permissionSets: [
        { name: 'ReadOnly', arn: PS.ReadOnly, sessionDuration: 'PT1H' },
        { name: 'PowerUser', arn: PS.PowerUser, sessionDuration: 'PT1H' },
        { name: 'Admin', arn: PS.Admin, sessionDuration: 'PT2H' },
      ],
      preexistingAssignments: [],
    },
  });
  const sso = new SSOAdminClient({ ...aws.clientConfig, maxAttempts: 1 });
  // One clock for the product and the stand-in: a sleep of the product moves the stand-in's time.
  const coreClock: Clock = { now: () => clock.now(), sleep: (ms) => clock.advance(ms) };
  const w = world({ policy });
  const store = new MemorySessionCutStore();
  const gateway = new SsoAdminPermissionSetGateway(sso, { instanceArn: DEFAULT_INSTANCE_ARN, clock: coreClock, limiter: new IdentityCenterLimiter(coreClock), random: () => 0.5 });
  w.deps = { ...w.deps, clock: coreClock, sessionCuts: { gateway, store } };
  fx = { w, aws, sso, clock, store };
  return fx;
}

afterEach(async () => {
  fx?.sso.destroy();
  await fx?.aws.stop();
  fx = undefined;
});

const policyOf = (f: Fixture, arn: string) => {
  const text = f.aws.identityCenter.inlinePolicy(arn);
  return text ? (JSON.parse(text) as { Statement: Array<Record<string, unknown>> }) : undefined;
};
const denied = (f: Fixture, who: keyof typeof USERS, issuedAt: number, accountId: string = ACCOUNTS.prod, permissionSetArn: string = PS.PowerUser) =>
  f.aws.identityCenter.wouldDenySession({ accountId, permissionSetArn, userId: USERS[who].userId, issuedAt });

describe('session cut: revocation ends live sessions (Identity Center stand-in)', () => {
  it('a session issued before an early revoke is denied afterwards; a later re-grant, another user and another account are not', async () => {
    const f = await setup();
    const id = await activeRequest(f.w, 'alice', { permissionSetName: 'PowerUser' });
    const issuedDuringGrant = f.clock.now();
    const devSession = f.clock.now();
    assert.equal(denied(f, 'alice', issuedDuringGrant), false, 'nothing denied before the revoke');

    const revoked = await svc.revokeEarly(f.w.deps, { requestId: id, actor: actor('alice') });
    assert.equal(revoked.state, 'REVOKED');
    assert.ok(revoked.sessionsEnded, 'the request records that sessions were ended');
    assert.equal(revoked.sessionsEnded.accountId, ACCOUNTS.prod);
    assert.equal(denied(f, 'alice', issuedDuringGrant), true, 'the session from the revoked grant is denied');
    assert.equal(denied(f, 'bob', issuedDuringGrant), false, 'another user is not');
    assert.equal(denied(f, 'alice', devSession, ACCOUNTS.dev), false, 'the same user in another account is not');

    const ended = f.w.audit.forRequest(id).find((e) => e.action === 'sessions.ended');
    assert.ok(ended, 'audited as sessions.ended');
    assert.equal(ended.details?.permissionSetArn, PS.PowerUser);
    assert.equal(ended.details?.accountId, ACCOUNTS.prod);
    assert.equal(ended.details?.userId, USERS.alice.userId);
    assert.equal(ended.details?.cutoff, revoked.sessionsEnded.cutoff);
    const revokedNotice = f.w.notifier.events.find((e) => e.event === 'revoked' && e.request.id === id);
    assert.ok(revokedNotice?.request.sessionsEnded, 'the revoked card is rendered from a request that says sessions were ended');
    assert.equal(f.w.notifier.events.at(-1)!.event, 'sessions_ended', 'then a card-only notice for the sessions line');

    await f.clock.advance(5_000);
    const again = await activeRequest(f.w, 'alice', { permissionSetName: 'PowerUser' });
    const regrantSession = f.clock.now();
    assert.equal(denied(f, 'alice', regrantSession), false, 'a session of the later grant is not blocked');
    assert.equal(denied(f, 'alice', issuedDuringGrant), true, 'the old session stays denied');
    assert.equal((await svc.getRequest(f.w.deps, { requestId: again, actor: actor('alice') })).state, 'ACTIVE');
  });

  it('cleanup removes the statement once SessionDuration has passed, only the product\'s, idempotently, audited', async () => {
    const f = await setup();
    f.aws.identityCenter.setInlinePolicy(PS.PowerUser, JSON.stringify({ Version: '2012-10-17', Statement: [OPERATOR_STATEMENT] }));
    const id = await activeRequest(f.w, 'alice', { permissionSetName: 'PowerUser' });
    const session = f.clock.now();
    await svc.revokeEarly(f.w.deps, { requestId: id, actor: actor('alice') });
    const withCut = policyOf(f, PS.PowerUser)!;
    assert.equal(withCut.Statement.length, 2);
    assert.deepEqual(withCut.Statement[0], OPERATOR_STATEMENT, 'the operator statement is kept as it was, first');
    assert.ok(String(withCut.Statement[1]!.Sid).startsWith(SESSION_CUT_SID_PREFIX));

    await f.clock.advance(30 * 60_000);
    assert.deepEqual((await svc.sweepSessionCuts(f.w.deps)).cleared, [], 'not before SessionDuration (PT1H) has passed');
    assert.equal(policyOf(f, PS.PowerUser)!.Statement.length, 2);

    await f.clock.advance(31 * 60_000);
    assert.deepEqual((await svc.sweepSessionCuts(f.w.deps)).cleared, [id]);
    assert.deepEqual(policyOf(f, PS.PowerUser)!.Statement, [OPERATOR_STATEMENT], 'only the product statement was removed');
    assert.equal(denied(f, 'alice', session), false, 'the provisioned policy no longer carries the cut');
    assert.ok(f.aws.identityCenter.provisionedPolicy(ACCOUNTS.prod, PS.PowerUser)!.includes('OperatorNoBucketDelete'));
    assert.ok(f.w.audit.forRequest(id).some((e) => e.action === 'sessions.cut_cleared'));
    assert.deepEqual((await svc.sweepSessionCuts(f.w.deps)).cleared, [], 'a second sweep changes nothing');
    assert.deepEqual(policyOf(f, PS.PowerUser)!.Statement, [OPERATOR_STATEMENT]);
  });

  it('cleanup deletes the inline policy when the product\'s statements were all it held', async () => {
    const f = await setup();
    const id = await activeRequest(f.w, 'alice', { permissionSetName: 'PowerUser' });
    await svc.revokeEarly(f.w.deps, { requestId: id, actor: actor('alice') });
    assert.ok(f.aws.identityCenter.inlinePolicy(PS.PowerUser));
    await f.clock.advance(61 * 60_000);
    await svc.sweepSessionCuts(f.w.deps);
    assert.equal(f.aws.identityCenter.inlinePolicy(PS.PowerUser), undefined);
  });

  it('concurrent cuts on one permission set are serialized (no ConflictException) and merged into one statement and fewer provisionings', async () => {
    const f = await setup();
    const who = ['alice', 'bob', 'frank'] as const;
    const ids = [];
    for (const k of who) ids.push(await activeRequest(f.w, k, { permissionSetName: 'PowerUser' }));
    const session = f.clock.now();
    f.aws.identityCenter.resetStats();
    const revoked = await Promise.all(ids.map((requestId, i) => svc.revokeEarly(f.w.deps, { requestId, actor: actor(who[i]!) })));
    for (const r of revoked) assert.ok(r.sessionsEnded, r.id);
    for (const k of who) assert.equal(denied(f, k, session), true, k);
    assert.equal(f.aws.identityCenter.stats().conflicts, 0, 'never two edits of the set at once');
    const ours = policyOf(f, PS.PowerUser)!.Statement.filter((s) => String(s.Sid).startsWith(SESSION_CUT_SID_PREFIX));
    assert.equal(ours.length, 1, 'one statement for the users cut at the same second');
    const users = (ours[0]!.Condition as { StringEquals: Record<string, string[]> }).StringEquals['identitystore:userId'];
    assert.deepEqual(users, who.map((k) => USERS[k].userId).sort());
    const provisionings = f.aws.identityCenter.stats().calls.ProvisionPermissionSet ?? 0;
    assert.ok(provisionings < who.length, `cuts queued behind the lease are applied together (${provisionings} provisionings for ${who.length} cuts)`);
  });

  it('a failed provisioning leaves the revoke standing, is audited and reported, and the sweep applies it later', async () => {
    const f = await setup();
    const id = await activeRequest(f.w, 'alice', { permissionSetName: 'PowerUser' });
    const session = f.clock.now();
    f.aws.identityCenter.faults.add({ kind: 'fail', operations: ['ProvisionPermissionSet'], count: 1 });
    const revoked = await svc.revokeEarly(f.w.deps, { requestId: id, actor: actor('alice') });
    assert.equal(revoked.state, 'REVOKED', 'the revoke stands');
    assert.equal(revoked.sessionsEnded, undefined);
    assert.equal(f.w.assignments.live.size, 0, 'the assignment is deleted');
    assert.equal(denied(f, 'alice', session), false, 'not provisioned yet');
    assert.ok(f.w.audit.forRequest(id).some((e) => e.action === 'sessions.cut_failed'));
    assert.ok([...f.w.findings.findings.values()].some((x) => x.kind === 'session_cut_failed' && x.severity === 'HIGH'));

    const swept = await svc.sweepSessionCuts(f.w.deps);
    assert.deepEqual(swept.applied, [id]);
    assert.equal(denied(f, 'alice', session), true);
    assert.ok((await svc.getRequest(f.w.deps, { requestId: id, actor: actor('alice') })).sessionsEnded);
    assert.ok(f.w.audit.forRequest(id).some((e) => e.action === 'sessions.ended'));
  });

  it('throttling and conflicts on the inline policy and provisioning are retried with backoff, paced by the Identity Center limiter', async () => {
    const f = await setup();
    const id = await activeRequest(f.w, 'alice', { permissionSetName: 'PowerUser' });
    const session = f.clock.now();
    f.aws.identityCenter.faults.add({ kind: 'throttle', operations: ['PutInlinePolicyToPermissionSet'], count: 2 });
    f.aws.identityCenter.faults.add({ kind: 'conflict', operations: ['ProvisionPermissionSet'], count: 1 });
    f.aws.identityCenter.faults.add({ kind: 'internal', operations: ['DescribePermissionSetProvisioningStatus'], count: 1 });
    const revoked = await svc.revokeEarly(f.w.deps, { requestId: id, actor: actor('alice') });
    assert.ok(revoked.sessionsEnded);
    assert.equal(denied(f, 'alice', session), true);
    assert.equal(f.aws.identityCenter.faults.pending().length, 0, 'every injected fault was met and retried');
  });

  it('a cut that would overflow the role inline-policy quota is refused, audited, and the policy is left as it was', async () => {
    const f = await setup();
    const big = { Sid: 'OperatorBig', Effect: 'Deny', Action: Array.from({ length: 625 }, (_, i) => `s3:Op${String(i).padStart(8, '0')}`), Resource: '*' };
    const original = JSON.stringify({ Version: '2012-10-17', Statement: [big] });
    assert.ok(original.length < ROLE_INLINE_POLICY_MAX_CHARS && original.length > ROLE_INLINE_POLICY_MAX_CHARS - 300, String(original.length));
    f.aws.identityCenter.setInlinePolicy(PS.PowerUser, original);
    const id = await activeRequest(f.w, 'alice', { permissionSetName: 'PowerUser' });
    const revoked = await svc.revokeEarly(f.w.deps, { requestId: id, actor: actor('alice') });
    assert.equal(revoked.state, 'REVOKED');
    assert.equal(f.aws.identityCenter.inlinePolicy(PS.PowerUser), original, 'unchanged');
    const failed = f.w.audit.forRequest(id).find((e) => e.action === 'sessions.cut_failed');
    assert.ok(failed && /10240/.test(failed.reason), failed?.reason);
  });

  it('expiry ends sessions when the rule asks for it, and leaves them when it does not', async () => {
    const on: Policy = { ...POLICY, rules: POLICY.rules.map((r) => (r.id === 'poweruser' ? { ...r, endSessionsAtExpiry: true } : r)) };
    const f = await setup(on);
    const id = await activeRequest(f.w, 'alice', { permissionSetName: 'PowerUser' });
    const session = f.clock.now();
    await f.clock.advance(31 * 60_000);
    await svc.expireGrant(f.w.deps, { requestId: id });
    assert.equal(denied(f, 'alice', session), true);
    await f.aws.stop();
    f.sso.destroy();

    const g = await setup(POLICY);
    const id2 = await activeRequest(g.w, 'alice', { permissionSetName: 'PowerUser' });
    const s2 = g.clock.now();
    await g.clock.advance(31 * 60_000);
    const { request } = await svc.expireGrant(g.w.deps, { requestId: id2 });
    assert.equal(request.state, 'EXPIRED');
    assert.equal(denied(g, 'alice', s2), false);
    assert.equal(g.aws.identityCenter.inlinePolicy(PS.PowerUser), undefined, 'no inline policy written');
  });

  it('an assignment that existed before the product is kept, and its sessions are not ended', async () => {
    const f = await setup();
    f.w.assignments.preexisting({ accountId: ACCOUNTS.dev, permissionSetArn: PS.PowerUser, userId: USERS.bob.userId });
    const id = await activeRequest(f.w, 'bob', { permissionSetName: 'PowerUser', accountId: ACCOUNTS.dev });
    const session = f.clock.now();
    const revoked = await svc.revokeEarly(f.w.deps, { requestId: id, actor: actor('bob') });
    assert.equal(revoked.sessionsEnded, undefined);
    assert.equal(denied(f, 'bob', session, ACCOUNTS.dev), false);
    assert.equal(f.aws.identityCenter.inlinePolicy(PS.PowerUser), undefined);
  });
});

describe('Identity Center stand-in: inline policies and provisioning are as strict as the model', () => {
  const put = (f: Fixture, doc: string) => f.sso.send(new PutInlinePolicyToPermissionSetCommand({ InstanceArn: DEFAULT_INSTANCE_ARN, PermissionSetArn: PS.Admin, InlinePolicy: doc }));
  const err = async (p: Promise<unknown>): Promise<{ name: string; message: string }> => {
    try {
      await p;
    } catch (e) {
      return e as { name: string; message: string };
    }
    throw new Error('expected an error');
  };

  it('Put refuses a document over 32,768 characters, outside the character set, not JSON, or with a non-alphanumeric Sid', async () => {
    const f = await setup();
    assert.equal((await err(put(f, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Sid":"${'a'.repeat(32_800)}"}]}`))).name, 'ValidationException');
    assert.equal((await err(put(f, '{"Statement":[{"Effect":"Deny","Action":"\u0100","Resource":"*"}]}'))).name, 'ValidationException');
    assert.equal((await err(put(f, 'not json'))).name, 'ValidationException');
    assert.equal((await err(put(f, '{"Version":"2012-10-17","Statement":[{"Sid":"has-dash","Effect":"Deny","Action":"*","Resource":"*"}]}'))).name, 'ValidationException');
    const got = await f.sso.send(new GetInlinePolicyForPermissionSetCommand({ InstanceArn: DEFAULT_INSTANCE_ARN, PermissionSetArn: PS.Admin }));
    assert.equal(got.InlinePolicy ?? '', '', 'nothing was stored');
  });

  it('ProvisionPermissionSet is asynchronous, one at a time per set (ConflictException), and FAILED past the role quota', async () => {
    const f = await setup();
    await put(f, JSON.stringify({ Version: '2012-10-17', Statement: [OPERATOR_STATEMENT] }));
    assert.equal((await err(f.sso.send(new ProvisionPermissionSetCommand({ InstanceArn: DEFAULT_INSTANCE_ARN, PermissionSetArn: PS.Admin, TargetType: 'AWS_ACCOUNT' })))).name, 'ValidationException', 'AWS_ACCOUNT needs TargetId');
    const started = await f.sso.send(new ProvisionPermissionSetCommand({ InstanceArn: DEFAULT_INSTANCE_ARN, PermissionSetArn: PS.Admin, TargetType: 'AWS_ACCOUNT', TargetId: ACCOUNTS.prod }));
    const requestId = started.PermissionSetProvisioningStatus!.RequestId!;
    assert.equal(started.PermissionSetProvisioningStatus?.Status, 'IN_PROGRESS');
    assert.equal(f.aws.identityCenter.provisionedPolicy(ACCOUNTS.prod, PS.Admin), undefined, 'not in the account yet');
    assert.equal((await err(put(f, JSON.stringify({ Version: '2012-10-17', Statement: [OPERATOR_STATEMENT] })))).name, 'ConflictException');
    assert.equal((await err(f.sso.send(new ProvisionPermissionSetCommand({ InstanceArn: DEFAULT_INSTANCE_ARN, PermissionSetArn: PS.Admin, TargetType: 'AWS_ACCOUNT', TargetId: ACCOUNTS.dev })))).name, 'ConflictException');
    await f.clock.advance(2000);
    const done = await f.sso.send(new DescribePermissionSetProvisioningStatusCommand({ InstanceArn: DEFAULT_INSTANCE_ARN, ProvisionPermissionSetRequestId: requestId }));
    assert.equal(done.PermissionSetProvisioningStatus?.Status, 'SUCCEEDED');
    assert.ok(f.aws.identityCenter.provisionedPolicy(ACCOUNTS.prod, PS.Admin)?.includes('OperatorNoBucketDelete'));
    assert.equal(f.aws.identityCenter.provisionedPolicy(ACCOUNTS.dev, PS.Admin), undefined, 'only the target account');

    const big = { Sid: 'Big', Effect: 'Deny', Action: Array.from({ length: 800 }, (_, i) => `s3:Op${String(i).padStart(8, '0')}`), Resource: '*' };
    await put(f, JSON.stringify({ Version: '2012-10-17', Statement: [big] }));
    const over = await f.sso.send(new ProvisionPermissionSetCommand({ InstanceArn: DEFAULT_INSTANCE_ARN, PermissionSetArn: PS.Admin, TargetType: 'AWS_ACCOUNT', TargetId: ACCOUNTS.prod }));
    await f.clock.advance(2000);
    const failed = await f.sso.send(new DescribePermissionSetProvisioningStatusCommand({ InstanceArn: DEFAULT_INSTANCE_ARN, ProvisionPermissionSetRequestId: over.PermissionSetProvisioningStatus!.RequestId! }));
    assert.equal(failed.PermissionSetProvisioningStatus?.Status, 'FAILED');
    assert.match(failed.PermissionSetProvisioningStatus?.FailureReason ?? '', /10240/);
    assert.ok(f.aws.identityCenter.provisionedPolicy(ACCOUNTS.prod, PS.Admin)?.includes('OperatorNoBucketDelete'), 'the account keeps what it had');
  });

  it('DescribePermissionSetProvisioningStatus of an unknown request id is ResourceNotFoundException', async () => {
    const f = await setup();
    const e = await err(f.sso.send(new DescribePermissionSetProvisioningStatusCommand({ InstanceArn: DEFAULT_INSTANCE_ARN, ProvisionPermissionSetRequestId: '00000000-0000-4000-8000-000000000000' })));
    assert.equal(e.name, 'ResourceNotFoundException');
  });
});
