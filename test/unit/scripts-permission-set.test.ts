import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import {
  AttachCustomerManagedPolicyReferenceToPermissionSetCommand,
  AttachManagedPolicyToPermissionSetCommand,
  ConflictException,
  CreatePermissionSetCommand,
  PutInlinePolicyToPermissionSetCommand,
  SSOAdminClient,
  ThrottlingException,
} from '@aws-sdk/client-sso-admin';
import { mockClient } from 'aws-sdk-client-mock';
import { createRequestBodySchema } from '../../core/api';
import {
  createPermissionSet,
  durationSeconds,
  MANAGED_BY_TAG,
  PENDING_ARN,
  PermissionSetCreateError,
  PermissionSetInputError,
  policyFileEntry,
  validatePermissionSetArgs,
  type PermissionSetArgs,
} from '../../scripts/permission-set';

const INSTANCE = 'arn:aws:sso:::instance/ssoins-1111111111111111';
const PS_ARN = 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-2222222222222222';
const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
const valid: PermissionSetArgs = { name: 'DbReadOnly', instanceArn: INSTANCE, session: 'PT1H', managedPolicies: [READ_ONLY] };

function problemsOf(args: PermissionSetArgs): string[] {
  try {
    validatePermissionSetArgs(args);
  } catch (e) {
    assert.ok(e instanceof PermissionSetInputError);
    return e.problems;
  }
  return assert.fail('expected the input to be refused');
}

describe('scripts/permission-set: input validation', () => {
  it('a valid spec defaults the session to PT1H, describes itself and tags the set as ours', () => {
    const spec = validatePermissionSetArgs({ ...valid, session: undefined, tags: ['team=payments'] });
    assert.equal(spec.sessionDuration, 'PT1H');
    assert.equal(spec.sessionSeconds, 3600);
    assert.match(spec.description, /DbReadOnly/);
    assert.deepEqual(spec.tags, [MANAGED_BY_TAG, { Key: 'team', Value: 'payments' }]);
    assert.deepEqual(spec.warnings, []);
  });

  it('refuses a session longer than one hour, whatever way it is written', () => {
    for (const session of ['PT2H', 'PT61M', 'PT3601S', 'PT1H0M1S', 'PT12H']) {
      const problems = problemsOf({ ...valid, session });
      assert.equal(problems.length, 1, session);
      assert.match(problems[0]!, /longer than PT1H: a session started before a revocation keeps working/);
    }
  });

  it('refuses durations that are not PT#H#M#S or are zero; warns below Identity Center\'s documented 1 hour', () => {
    for (const session of ['1h', 'P1D', 'PT', 'P0D', '-PT1H', 'PT1.5H', '']) assert.match(problemsOf({ ...valid, session }).join(), /ISO 8601 duration|longer than zero/, session);
    assert.match(problemsOf({ ...valid, session: 'PT0S' })[0]!, /longer than zero/);
    const short = validatePermissionSetArgs({ ...valid, session: 'PT30M' });
    assert.equal(short.sessionSeconds, 1800);
    assert.match(short.warnings[0]!, /1 to 12 hours/);
    assert.equal(durationSeconds('PT1H30M15S'), 5415);
    assert.equal(durationSeconds('P1D'), undefined);
  });

  it('refuses administrator-equivalent managed policies unless --allow-broad', () => {
    for (const p of ['AdministratorAccess', 'PowerUserAccess', 'IAMFullAccess']) {
      assert.match(problemsOf({ ...valid, managedPolicies: [`arn:aws:iam::aws:policy/${p}`] })[0]!, /administrator-equivalent/);
      assert.doesNotThrow(() => validatePermissionSetArgs({ ...valid, managedPolicies: [`arn:aws:iam::aws:policy/${p}`], allowBroad: true }));
    }
  });

  it('refuses an inline Allow of * on *, and NotAction on *, unless --allow-broad', () => {
    const star = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
    const notAction = JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Allow', NotAction: 'iam:*', Resource: ['*'] } });
    assert.match(problemsOf({ ...valid, managedPolicies: [], inlinePolicy: star })[0]!, /every action on every resource/);
    assert.match(problemsOf({ ...valid, managedPolicies: [], inlinePolicy: notAction })[0]!, /every action on every resource/);
    const narrow = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['logs:GetLogEvents'], Resource: '*' }] });
    assert.equal(validatePermissionSetArgs({ ...valid, managedPolicies: [], inlinePolicy: narrow }).inlinePolicy, narrow);
    assert.match(problemsOf({ ...valid, inlinePolicy: '{not json' })[0]!, /not valid JSON/);
    assert.match(problemsOf({ ...valid, inlinePolicy: '{"Version":"2012-10-17"}' })[0]!, /with a Statement/);
  });

  it('a customer managed policy ARN is redirected to --customer-policy; references take an optional path', () => {
    assert.match(problemsOf({ ...valid, managedPolicies: ['arn:aws:iam::111111111111:policy/team/DbRead'] })[0]!, /--customer-policy team\/DbRead/);
    const spec = validatePermissionSetArgs({ ...valid, managedPolicies: [], customerPolicies: ['DbRead', '/team/ops/LogsRead'] });
    assert.deepEqual(spec.customerManagedPolicies, [{ Name: 'DbRead', Path: '/' }, { Name: 'LogsRead', Path: '/team/ops/' }]);
    assert.match(problemsOf({ ...valid, customerPolicies: ['team ops/x'] })[0]!, /path must look like/);
  });

  it('a permission set without any policy grants nothing and is refused', () => {
    assert.match(problemsOf({ ...valid, managedPolicies: [] })[0]!, /at least one of --managed-policy/);
  });

  it('collects every problem at once (name, instance, policy ARN, tag) instead of failing one at a time', () => {
    const problems = problemsOf({ name: 'has spaces', instanceArn: 'arn:aws:sso:::instance/nope', managedPolicies: ['ReadOnlyAccess'], tags: ['novalue', 'managed-by=me'] });
    assert.equal(problems.length, 5, problems.join('\n'));
    assert.match(problems[0]!, /--name/);
    assert.match(problems[1]!, /--instance-arn/);
    assert.match(problems[2]!, /not an AWS managed policy ARN/);
    assert.match(problems[3]!, /--tag "novalue"/);
    assert.match(problems[4]!, /set by this tool/);
    assert.match(problemsOf({})[0]!, /--name is required/);
  });
});

describe('scripts/permission-set: calls to Identity Center (aws-sdk-client-mock)', () => {
  const sso = mockClient(SSOAdminClient);
  afterEach(() => sso.reset());
  after(() => sso.restore());
  const client = () => new SSOAdminClient({ region: 'us-east-1' });

  it('creates the set with its session duration and tags, then attaches each policy to the new ARN', async () => {
    sso.on(CreatePermissionSetCommand).resolves({ PermissionSet: { PermissionSetArn: PS_ARN, Name: 'DbReadOnly' } });
    const inline = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'rds:Describe*', Resource: '*' }] });
    const spec = validatePermissionSetArgs({ ...valid, customerPolicies: ['DbRead'], inlinePolicy: inline });
    const result = await createPermissionSet(client(), spec);
    assert.equal(result.permissionSetArn, PS_ARN);
    const create = sso.commandCalls(CreatePermissionSetCommand)[0]!.args[0].input;
    assert.equal(create.SessionDuration, 'PT1H');
    assert.equal(create.InstanceArn, INSTANCE);
    assert.deepEqual(create.Tags, [MANAGED_BY_TAG]);
    assert.deepEqual(sso.commandCalls(AttachManagedPolicyToPermissionSetCommand)[0]!.args[0].input, { InstanceArn: INSTANCE, PermissionSetArn: PS_ARN, ManagedPolicyArn: READ_ONLY });
    assert.deepEqual(sso.commandCalls(AttachCustomerManagedPolicyReferenceToPermissionSetCommand)[0]!.args[0].input.CustomerManagedPolicyReference, { Name: 'DbRead', Path: '/' });
    assert.equal(sso.commandCalls(PutInlinePolicyToPermissionSetCommand)[0]!.args[0].input.InlinePolicy, inline);
  });

  it('dry run sends nothing and returns every call with its input', async () => {
    const result = await createPermissionSet(client(), validatePermissionSetArgs(valid), { dryRun: true });
    assert.equal(sso.calls().length, 0);
    assert.deepEqual(result.calls.map((c) => c.command), ['CreatePermissionSet', 'AttachManagedPolicyToPermissionSet']);
    assert.equal(result.calls[0]!.input.SessionDuration, 'PT1H');
    assert.equal(result.calls[1]!.input.PermissionSetArn, PENDING_ARN);
  });

  it('a name already taken (ConflictException) is a clear error naming the list command, and nothing is attached', async () => {
    sso.on(CreatePermissionSetCommand).rejects(new ConflictException({ message: 'exists', $metadata: {} }));
    await assert.rejects(createPermissionSet(client(), validatePermissionSetArgs(valid)), (e: Error) => {
      assert.ok(e instanceof PermissionSetCreateError);
      assert.match(e.message, /already exists.*list-permission-sets --instance-arn/);
      return true;
    });
    assert.equal(sso.commandCalls(AttachManagedPolicyToPermissionSetCommand).length, 0);
  });

  it('a failure after the create names the half-made set and how to delete it', async () => {
    sso.on(CreatePermissionSetCommand).resolves({ PermissionSet: { PermissionSetArn: PS_ARN } });
    sso.on(AttachManagedPolicyToPermissionSetCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }));
    await assert.rejects(createPermissionSet(client(), validatePermissionSetArgs(valid)), (e: Error) => {
      assert.ok(e instanceof PermissionSetCreateError);
      assert.equal(e.permissionSetArn, PS_ARN);
      assert.match(e.message, /ThrottlingException/);
      assert.match(e.message, new RegExp(`delete-permission-set --instance-arn ${INSTANCE} --permission-set-arn ${PS_ARN}`));
      return true;
    });
  });

  it('prints the policy file entry for the new set', () => {
    assert.equal(policyFileEntry('DbReadOnly', PS_ARN), `permissionSets:\n  - name: DbReadOnly\n    arn: ${PS_ARN}\n`);
  });
});

describe('request_access_example.json', () => {
  it('is a valid POST /requests body for the bridge schema', () => {
    const body: unknown = JSON.parse(readFileSync('request_access_example.json', 'utf8'));
    const parsed = createRequestBodySchema.safeParse(body);
    assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  });

  it('uses placeholder identifiers only', () => {
    const body = JSON.parse(readFileSync('request_access_example.json', 'utf8')) as { accountId: string };
    assert.ok(['111111111111', '222222222222'].includes(body.accountId));
  });
});
