/**
 * The stand-ins against the AWS API models (Debian's python3-botocore): for every operation they
 * implement, a request missing any member the model marks required, or carrying a value outside
 * a top-level enum, is refused with the service's validation error and changes nothing. The
 * models are what AWS validates against, so the stand-ins refuse what AWS would.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type AwsStandIns, ManualClock, startAwsStandIns } from '../../sandbox/aws';
import type { AslDefinition } from '../../sandbox/aws/step-functions';
import { DEMO_INSTANCE_ARN, DEMO_PERMISSION_SETS, loadDemoPeople } from '../../sandbox/seed';

const BOTOCORE = '/usr/lib/python3/dist-packages/botocore/data';

interface Shape {
  type: string;
  required?: string[];
  members?: Record<string, { shape: string; location?: string; locationName?: string }>;
  enum?: string[];
}
interface Model {
  metadata: { protocol: string; targetPrefix?: string; jsonVersion?: string };
  operations: Record<string, { http: { method: string; requestUri: string }; input?: { shape: string } }>;
  shapes: Record<string, Shape>;
}

function model(service: string): Model {
  const dir = join(BOTOCORE, service);
  assert.ok(existsSync(dir), `the AWS API models are missing: install python3-botocore (${dir})`);
  const version = readdirSync(dir).sort().at(-1)!;
  return JSON.parse(readFileSync(join(dir, version, 'service-2.json'), 'utf8')) as Model;
}

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
  },
  securityhub: {
    BatchImportFindings: { Findings: [finding] },
    BatchUpdateFindings: { FindingIdentifiers: [{ Id: 'f', ProductArn: finding.ProductArn }], Workflow: { Status: 'RESOLVED' } },
  },
};

const VALIDATION_ERROR: Record<string, string> = { securityhub: 'InvalidInputException' };

describe('sandbox stand-ins conform to the AWS API models (python3-botocore)', () => {
  let aws: AwsStandIns;
  before(async () => {
    // No TPS bucket here: this suite sends many requests at one clock instant on purpose.
    aws = await startAwsStandIns({ port: 0, dataDir: false, clock: new ManualClock(), identityCenter: { rateLimit: false } });
    const definition: AslDefinition = { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:t', End: true } } };
    aws.stepFunctions.registerStateMachine({ name: 'conformance', definition, taskHandlers: { T: () => ({}) } });
  });
  after(() => aws.stop());

  async function send(service: string, m: Model, operation: string, body: unknown): Promise<{ status: number; type: string | null; json: Record<string, unknown> }> {
    const op = m.operations[operation]!;
    let res: Response;
    if (m.metadata.protocol === 'json') {
      res = await fetch(aws.endpoint, { method: 'POST', headers: { 'content-type': `application/x-amz-json-${m.metadata.jsonVersion}`, 'x-amz-target': `${m.metadata.targetPrefix}.${operation}` }, body: JSON.stringify(body) });
    } else {
      const path = op.http.requestUri.replace('{Name}', `conformance-${service}`);
      res = await fetch(`${aws.endpoint}${path}`, { method: op.http.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    }
    return { status: res.status, type: res.headers.get('x-amzn-errortype'), json: (await res.json()) as Record<string, unknown> };
  }

  for (const [service, operations] of Object.entries(VALID)) {
    describe(service, () => {
      const m = model(service);
      for (const [operation, valid] of Object.entries(operations)) {
        const inputShape = m.shapes[m.operations[operation]?.input?.shape ?? '']!;
        it(`${operation}: exists in the model; every required member and top-level enum is enforced`, async () => {
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

  // A suite defined after the per-service suites runs after them (a plain `it` here would run first).
  describe('afterwards', () => {
    it('refused requests changed nothing', () => {
      assert.deepEqual(aws.identityCenter.listOperations(), []);
      assert.deepEqual(aws.scheduler.list(), []);
      assert.deepEqual(aws.securityHub.list(), []);
      assert.deepEqual(aws.stepFunctions.listExecutions(), []);
    });
  });
});
