/**
 * The stand-ins against the AWS API models (the newest botocore on the machine: see
 * test/support/botocore-model.ts): for every operation they implement,
 *   - a request missing any member the model marks required, or carrying a value outside a
 *     top-level enum, is refused with the service's validation error and changes nothing;
 *   - a value outside any length, pattern, number range, list size or enum the model states, at
 *     any depth, is a ValidationException (HTTP 400), as AWS's request validation answers;
 *   - and the other way round, a value at a length or range boundary the model allows is not
 *     refused as invalid (a stand-in stricter than AWS would refuse what the product may send).
 * The models are what AWS validates against, so the stand-ins refuse what AWS would.
 */
import { strict as assert } from 'node:assert';
import { type AwsStandIns, ManualClock, startAwsStandIns } from '../../sandbox/aws';
import type { AslDefinition } from '../../sandbox/aws/step-functions';
import { type Shape, compilePattern, loadServiceModel } from '../support/botocore-model';
import { DEMO_INSTANCE_ARN, DEMO_PERMISSION_SETS, loadDemoPeople } from '../../sandbox/seed';

interface Model {
  metadata: { protocol: string; targetPrefix?: string; jsonVersion?: string };
  operations: Record<string, { http: { method: string; requestUri: string }; input?: { shape: string } }>;
  shapes: Record<string, Shape>;
}

/** The newest botocore models on the machine (JIT_BOTOCORE_DATA, python3's botocore, then Debian's). */
const model = (service: string): Model => loadServiceModel(service) as unknown as Model;

const people = loadDemoPeople();
const ALICE = people.people[0]!.identityStoreUserId;
const UUID = '00000000-0000-4000-8000-000000000001';
const PS = DEMO_PERMISSION_SETS[0]!.arn;
const STORE = people.identityStoreId;
const TOKEN = `sbx1.${'A'.repeat(43)}`;
const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:conformance';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:conformance:x';
const assignment = { InstanceArn: DEMO_INSTANCE_ARN, TargetId: '111111111111', TargetType: 'AWS_ACCOUNT', PermissionSetArn: PS, PrincipalType: 'USER', PrincipalId: ALICE };
const schedule = { ScheduleExpression: 'at(2030-01-01T10:00:00)', FlexibleTimeWindow: { Mode: 'OFF' }, Target: { Arn: 'arn:aws:lambda:us-east-1:123456789012:function:f', RoleArn: 'arn:aws:iam::123456789012:role/r' } };
/** The schedule the product sends (retry policy, dead-letter queue, input): nested constraints are tested too. */
const fullSchedule = {
  ...schedule,
  ActionAfterCompletion: 'DELETE',
  State: 'ENABLED',
  ScheduleExpressionTimezone: 'UTC',
  ClientToken: 'token-1',
  Description: 'revokes req-1',
  Target: { ...schedule.Target, Input: '{"requestId":"req-1"}', RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 }, DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:123456789012:dlq' } },
};
const finding = { SchemaVersion: '2018-10-08', Id: 'f', ProductArn: 'arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default', GeneratorId: 'g', AwsAccountId: '123456789012', CreatedAt: '2030-01-01T00:00:00Z', UpdatedAt: '2030-01-01T00:00:00Z', Title: 't', Description: 'd', Resources: [{ Type: 'Other', Id: 'r' }] };

/** A valid request for every implemented operation (the body; rest operations also name their path). */
const VALID: Record<string, Record<string, Record<string, unknown>>> = {
  'sso-admin': {
    CreateAccountAssignment: assignment,
    DeleteAccountAssignment: assignment,
    DescribeAccountAssignmentCreationStatus: { InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentCreationRequestId: UUID },
    DescribeAccountAssignmentDeletionStatus: { InstanceArn: DEMO_INSTANCE_ARN, AccountAssignmentDeletionRequestId: UUID },
    ListAccountAssignments: { InstanceArn: DEMO_INSTANCE_ARN, AccountId: '111111111111', PermissionSetArn: PS },
    ListPermissionSets: { InstanceArn: DEMO_INSTANCE_ARN },
    DescribePermissionSet: { InstanceArn: DEMO_INSTANCE_ARN, PermissionSetArn: PS },
    ListInstances: {},
  },
  identitystore: {
    GetUserId: { IdentityStoreId: STORE, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'alice@example.com' } } },
    'GetUserId#externalId': { IdentityStoreId: STORE, AlternateIdentifier: { ExternalId: { Issuer: people.externalIdIssuer, Id: people.people[0]!.aadObjectId } } },
    DescribeUser: { IdentityStoreId: STORE, UserId: ALICE },
    ListUsers: { IdentityStoreId: STORE },
    GetGroupId: { IdentityStoreId: STORE, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'displayName', AttributeValue: 'Engineers' } } },
    DescribeGroup: { IdentityStoreId: STORE, GroupId: people.groups[0]!.groupId },
    ListGroups: { IdentityStoreId: STORE },
    ListGroupMembershipsForMember: { IdentityStoreId: STORE, MemberId: { UserId: ALICE } },
    IsMemberInGroups: { IdentityStoreId: STORE, MemberId: { UserId: ALICE }, GroupIds: [people.groups[0]!.groupId] },
  },
  stepfunctions: {
    StartExecution: { stateMachineArn: MACHINE, name: 'x', input: '{}' },
    DescribeExecution: { executionArn: EXECUTION },
    StopExecution: { executionArn: EXECUTION },
    SendTaskSuccess: { taskToken: TOKEN, output: '{}' },
    SendTaskFailure: { taskToken: TOKEN },
    SendTaskHeartbeat: { taskToken: TOKEN },
  },
  scheduler: {
    CreateSchedule: schedule,
    UpdateSchedule: schedule,
    'CreateSchedule#product': fullSchedule,
    'UpdateSchedule#product': fullSchedule,
    DeleteSchedule: { Name: 'conformance-missing', GroupName: 'default', ClientToken: 'token-1' },
    GetSchedule: { Name: 'conformance-missing', GroupName: 'default' },
  },
  securityhub: {
    BatchImportFindings: { Findings: [finding] },
    BatchUpdateFindings: { FindingIdentifiers: [{ Id: 'f', ProductArn: finding.ProductArn }], Workflow: { Status: 'RESOLVED' } },
  },
};

const VALIDATION_ERROR: Record<string, string> = { securityhub: 'InvalidInputException' };

describe('sandbox stand-ins conform to the AWS API models (botocore)', () => {
  let aws: AwsStandIns;
  before(async () => {
    // No TPS bucket here: this suite sends many requests at one clock instant on purpose.
    aws = await startAwsStandIns({ port: 0, dataDir: false, clock: new ManualClock(), identityCenter: { rateLimit: false } });
    const definition: AslDefinition = { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:t', End: true } } };
    aws.stepFunctions.registerStateMachine({ name: 'conformance', definition, taskHandlers: { T: () => ({}) } });
  });
  after(() => aws.stop());

  /** Sends `request` the way the SDK would: rest members named `uri`/`querystring` go to the path and query. */
  async function send(service: string, m: Model, operation: string, request: Record<string, unknown>): Promise<{ status: number; type: string | null; json: Record<string, unknown> }> {
    const op = m.operations[operation]!;
    let res: Response;
    if (m.metadata.protocol === 'json') {
      res = await fetch(aws.endpoint, { method: 'POST', headers: { 'content-type': `application/x-amz-json-${m.metadata.jsonVersion}`, 'x-amz-target': `${m.metadata.targetPrefix}.${operation}` }, body: JSON.stringify(request) });
    } else {
      const members = m.shapes[op.input?.shape ?? '']?.members ?? {};
      const body: Record<string, unknown> = {};
      const query = new URLSearchParams();
      let path = op.http.requestUri;
      for (const [name, value] of Object.entries(request)) {
        const member = members[name];
        if (member?.location === 'uri') path = path.replace(`{${member.locationName ?? name}}`, encodeURIComponent(String(value)));
        else if (member?.location === 'querystring') query.set(member.locationName ?? name, String(value));
        else body[name] = value;
      }
      path = path.replace(/\{[^}]+\}/g, `conformance-${service}`);
      const qs = query.toString();
      res = await fetch(`${aws.endpoint}${path}${qs ? `?${qs}` : ''}`, { method: op.http.method, headers: { 'content-type': 'application/json' }, body: op.http.method === 'GET' || op.http.method === 'DELETE' ? undefined : JSON.stringify(body) });
    }
    return { status: res.status, type: res.headers.get('x-amzn-errortype'), json: (await res.json()) as Record<string, unknown> };
  }

  for (const [service, operations] of Object.entries(VALID)) {
    describe(service, () => {
      const m = model(service);
      for (const [key, valid] of Object.entries(operations)) {
        const operation = key.split('#')[0]!;
        const inputShape = m.shapes[m.operations[operation]?.input?.shape ?? '']!;
        it(`${key}: exists in the model; every required member and top-level enum is enforced`, async () => {
          assert.ok(m.operations[operation], `${operation} is not a ${service} operation`);
          const bodyMembers = Object.entries(inputShape.members ?? {}).filter(([, member]) => !member.location);
          for (const [name] of bodyMembers.filter(([name]) => inputShape.required?.includes(name))) {
            const { [name]: _removed, ...missing } = valid;
            const res = await send(service, m, operation, missing);
            assert.equal(res.status, 400, `${operation} without ${name}: HTTP ${res.status} ${JSON.stringify(res.json)}`);
            assert.equal(res.type, VALIDATION_ERROR[service] ?? 'ValidationException', `${operation} without ${name}`);
            assert.match(String(res.json.message), new RegExp(name), `the message names ${name}`);
          }
          for (const [name, member] of bodyMembers) {
            const shape = m.shapes[member.shape]!;
            if (!shape.enum) continue;
            const res = await send(service, m, operation, { ...valid, [name]: 'NOT_A_MODELED_VALUE' });
            assert.equal(res.status, 400, `${operation} with ${name}=NOT_A_MODELED_VALUE`);
            assert.equal(res.type, VALIDATION_ERROR[service] ?? 'ValidationException');
          }
        });
      }
    });
  }

  // Every constraint the model states, at any depth: what AWS's request validation refuses
  // ("1 validation error detected: ... failed to satisfy constraint"), the stand-in refuses too.
  // Security Hub answers InvalidInputException and is made strict in its own suite.
  for (const [service, operations] of Object.entries(VALID).filter(([service]) => service !== 'securityhub')) {
    describe(`${service}: every modeled constraint`, () => {
      const m = model(service);
      for (const [key, valid] of Object.entries(operations)) {
        const operation = key.split('#')[0]!;
        it(`${key}: a value outside any length, pattern, range, list size or enum of the model is a ValidationException`, async () => {
          const all = constraintCases(m, m.operations[operation]!.input!.shape, valid, [], true);
          const cases = all.filter((c) => !RAISED_SINCE.some((r) => r.service === service && String(c.path.at(-1)) === r.member && c.rule === r.oldRule));
          if (cases.length < all.length) console.log(`      (older model: ${all.length - cases.length} limit(s) AWS has raised since are not required of the stand-in)`);
          assert.ok(cases.length > 0, `${operation}: the model states no constraint to test`);
          const accepted: string[] = [];
          for (const c of cases) {
            const res = await send(service, m, operation, setPath(valid, c.path, c.value));
            if (res.status !== 400 || res.type !== 'ValidationException') accepted.push(`${c.path.join('.')} ${c.rule} (${JSON.stringify(c.value).slice(0, 40)}): HTTP ${res.status} ${res.type ?? ''} ${String(res.json.message ?? '').slice(0, 120)}`);
          }
          assert.deepEqual(accepted, [], `${operation}: the stand-in did not refuse what AWS refuses:\n  ${accepted.join('\n  ')}`);
        });
      }
    });
  }

  // A suite defined after the per-service suites runs after them (a plain `it` here would run first).
  describe('afterwards', () => {
    it('refused requests changed nothing', () => {
      assert.deepEqual(aws.identityCenter.listOperations(), []);
      assert.deepEqual(aws.scheduler.list(), []);
      assert.deepEqual(aws.securityHub.list(), []);
      assert.deepEqual(aws.stepFunctions.listExecutions(), []);
    });
  });

  // Runs after `afterwards`: accepted requests here do change state.
  // The other direction: a value at a boundary the model allows is not a validation error (the
  // stand-in may still refuse it for what it means, e.g. an unknown id, with another error).
  // Members whose content the service parses are left out, with the reason.
  const PARSED: Record<string, string> = {
    ScheduleExpression: 'an at() expression',
    ScheduleExpressionTimezone: 'an IANA time zone',
    MaximumWindowInMinutes: 'only with FlexibleTimeWindow FLEXIBLE',
    AttributePath: 'only the documented attribute paths',
  };
  for (const [service, operations] of Object.entries(VALID).filter(([service]) => service !== 'securityhub')) {
    describe(`${service}: no stricter than the model`, () => {
      const m = model(service);
      for (const [key, valid] of Object.entries(operations)) {
        const operation = key.split('#')[0]!;
        it(`${key}: a value at a length or range boundary the model allows is not a ValidationException`, async () => {
          const cases = boundaryCases(m, m.operations[operation]!.input!.shape, valid, [], true).filter((c) => !PARSED[String(c.path.at(-1))]);
          const refused: string[] = [];
          for (const c of cases) {
            const res = await send(service, m, operation, setPath(valid, c.path, c.value));
            if (res.type === 'ValidationException') refused.push(`${c.path.join('.')} ${c.rule}: ${String(res.json.message ?? '').slice(0, 140)}`);
          }
          assert.deepEqual(refused, [], `${key}: the stand-in refused what AWS accepts:\n  ${refused.join('\n  ')}`);
        });
      }
    });
  }
});

/**
 * Limits AWS raised after Debian's 2022 models (botocore 1.29): the stand-ins follow the service
 * as it is now (2026 models), so with an older model these stricter old limits are not required.
 */
const RAISED_SINCE: Array<{ service: string; member: string; oldRule: string; now: string }> = [
  { service: 'stepfunctions', member: 'taskToken', oldRule: 'length > 1024', now: 'task tokens up to 2048 characters' },
  { service: 'identitystore', member: 'Issuer', oldRule: 'length > 100', now: 'ExternalId issuers up to 256 characters' },
];

interface ConstraintCase {
  path: Array<string | number>;
  value: unknown;
  rule: string;
}

/** Strings that break a pattern (tried in order; the first that keeps within the length bounds and misses the pattern). */
const PATTERN_BREAKERS = (min: number) => [' ', 'x y', '<x>', '\t', '#'.repeat(Math.max(min, 1)), ' '.repeat(Math.max(min, 1)), '\u00e9'.repeat(Math.max(min, 1)), '!'.repeat(Math.max(min, 1))];

function scalarCases(shape: Shape, path: Array<string | number>, isUriLabel: boolean): ConstraintCase[] {
  const out: ConstraintCase[] = [];
  if (shape.type === 'string') {
    if (shape.enum) out.push({ path, value: 'NOT_A_MODELED_VALUE', rule: 'enum' });
    if (shape.max !== undefined) out.push({ path, value: 'a'.repeat(shape.max + 1), rule: `length > ${shape.max}` });
    // An empty path label addresses another resource (404), not a short name.
    if (shape.min !== undefined && shape.min > 0 && !(isUriLabel && shape.min === 1)) out.push({ path, value: 'a'.repeat(shape.min - 1), rule: `length < ${shape.min}` });
    if (shape.pattern) {
      const re = compilePattern(shape.pattern);
      const breaker = re && PATTERN_BREAKERS(shape.min ?? 0).find((c) => [...c].length >= (shape.min ?? 0) && [...c].length <= (shape.max ?? Infinity) && !re.test(c));
      if (breaker !== undefined && breaker !== null) out.push({ path, value: breaker, rule: `pattern ${shape.pattern}` });
    }
  } else if (shape.type === 'integer' || shape.type === 'long') {
    if (shape.min !== undefined) out.push({ path, value: shape.min - 1, rule: `< ${shape.min}` });
    if (shape.max !== undefined) out.push({ path, value: shape.max + 1, rule: `> ${shape.max}` });
  }
  return out;
}

/** One case per constraint of every member present in `value`, and of every absent scalar member. */
function constraintCases(m: Model, shapeName: string, value: Record<string, unknown>, path: Array<string | number>, top: boolean): ConstraintCase[] {
  const shape = m.shapes[shapeName]!;
  const out: ConstraintCase[] = [];
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    if (ref.location === 'header' || ref.location === 'headers') continue;
    const member = m.shapes[ref.shape]!;
    const present = value[name];
    const at = [...path, name];
    if (member.type === 'structure') {
      if (present && typeof present === 'object') out.push(...constraintCases(m, ref.shape, present as Record<string, unknown>, at, false));
    } else if (member.type === 'list') {
      if (!Array.isArray(present)) continue;
      if (member.min !== undefined && member.min > 0) out.push({ path: at, value: [], rule: `list size < ${member.min}` });
      if (member.max !== undefined && present.length > 0) out.push({ path: at, value: Array.from({ length: member.max + 1 }, () => present[0]), rule: `list size > ${member.max}` });
      const item = m.shapes[member.member!.shape]!;
      if (present.length > 0) {
        if (item.type === 'structure') out.push(...constraintCases(m, member.member!.shape, present[0] as Record<string, unknown>, [...at, 0], false));
        else out.push(...scalarCases(item, [...at, 0], false));
      }
    } else {
      out.push(...scalarCases(member, at, top && ref.location === 'uri'));
    }
  }
  return out;
}

/** A deep copy of `root` with the member at `path` set to `value`. */
function setPath(root: Record<string, unknown>, path: Array<string | number>, value: unknown): Record<string, unknown> {
  const copy = structuredClone(root);
  let node: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

/** Values at the edges the model allows: strings of exactly min and max length (when `a`s fit the pattern), integers at min and max. */
function boundaryCases(m: Model, shapeName: string, value: Record<string, unknown>, path: Array<string | number>, top: boolean): ConstraintCase[] {
  const shape = m.shapes[shapeName]!;
  const out: ConstraintCase[] = [];
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    if (ref.location === 'header' || ref.location === 'headers') continue;
    const member = m.shapes[ref.shape]!;
    const present = value[name];
    const at = [...path, name];
    if (member.type === 'structure') {
      if (present && typeof present === 'object') out.push(...boundaryCases(m, ref.shape, present as Record<string, unknown>, at, false));
    } else if (member.type === 'string' && !member.enum && present !== undefined) {
      const re = member.pattern ? compilePattern(member.pattern) : undefined;
      const lengths = [member.min, member.max].filter((n): n is number => n !== undefined && n > 0 && n <= 300_000);
      // A path label longer than a URL segment is a transport matter, not the model's.
      for (const n of lengths) {
        if (top && ref.location === 'uri' && n > 200) continue;
        const v = 'a'.repeat(n);
        if (re === null || (re && !re.test(v))) continue;
        out.push({ path: at, value: v, rule: `length ${n}` });
      }
    } else if ((member.type === 'integer' || member.type === 'long') && present !== undefined) {
      for (const n of [member.min, member.max]) if (n !== undefined) out.push({ path: at, value: n, rule: `= ${n}` });
    }
  }
  return out;
}
