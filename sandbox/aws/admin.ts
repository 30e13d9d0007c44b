/**
 * `/_sandbox/...`: inspection and fault injection over HTTP, for the e2e suite, benchmarks and
 * people poking at the sandbox with curl. Loopback only (the server binds 127.0.0.1). Task
 * tokens are never served here: they stay inside the process, as they stay inside AWS.
 *
 *   GET    /_sandbox/health
 *   GET    /_sandbox/assignments[?accountId&principalId&permissionSetArn&origin]
 *   POST   /_sandbox/assignments              {accountId, permissionSetArn|permissionSetName, principalId|userName}
 *   GET    /_sandbox/assignment-operations[?status&kind]
 *   GET    /_sandbox/identity-center/stats    POST /_sandbox/identity-center/stats/reset
 *   GET    /_sandbox/faults                   POST /_sandbox/faults {service, kind, count?, operations?, message?}
 *   DELETE /_sandbox/faults[?service]
 *   GET    /_sandbox/schedules                GET /_sandbox/schedules/dead-letters   GET /_sandbox/schedules/invocations
 *   POST   /_sandbox/schedules/{group}/{name}/fire
 *   GET    /_sandbox/findings                 POST /_sandbox/findings/sample {accountId?}
 *   GET    /_sandbox/executions               GET /_sandbox/executions/{name}
 */
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { FaultQueue } from './faults';
import { faultSpecSchema } from './faults';
import type { IdentityCenterStandIn } from './identity-center';
import type { IdentityStoreStandIn } from './identity-store';
import { AwsError } from './protocol';
import type { SchedulerStandIn } from './scheduler';
import { type SecurityHubStandIn, sampleHighFinding } from './security-hub';
import type { StepFunctionsStandIn } from './step-functions';

export const FAULT_SERVICES = ['sso-admin', 'identitystore', 'scheduler', 'securityhub', 'stepfunctions'] as const;
export type FaultService = (typeof FAULT_SERVICES)[number];

export interface AdminContext {
  identityCenter: IdentityCenterStandIn;
  identityStore: IdentityStoreStandIn;
  scheduler: SchedulerStandIn;
  securityHub: SecurityHubStandIn;
  stepFunctions: StepFunctionsStandIn;
  /** Account the sample finding is about (default: the first demo account). */
  defaultAccountId: string;
  now: () => number;
}

export interface AdminRequest {
  method: string;
  url: URL;
  raw: string;
}

const seedSchema = z
  .strictObject({
    accountId: z.string().regex(/^\d{12}$/),
    permissionSetArn: z.string().optional(),
    permissionSetName: z.string().optional(),
    principalId: z.string().optional(),
    userName: z.string().optional(),
    principalType: z.enum(['USER', 'GROUP']).optional(),
  })
  .refine((s) => (s.permissionSetArn === undefined) !== (s.permissionSetName === undefined), 'give exactly one of permissionSetArn, permissionSetName')
  .refine((s) => (s.principalId === undefined) !== (s.userName === undefined), 'give exactly one of principalId, userName');

export async function handleAdmin(ctx: AdminContext, req: AdminRequest, res: ServerResponse): Promise<void> {
  const parts = req.url.pathname.split('/').slice(2).map(decodeURIComponent);
  const q = req.url.searchParams;
  const route = `${req.method} /${parts.join('/')}`;
  const faultQueues: Record<FaultService, FaultQueue> = {
    'sso-admin': ctx.identityCenter.faults,
    identitystore: ctx.identityStore.faults,
    scheduler: ctx.scheduler.faults,
    securityhub: ctx.securityHub.faults,
    stepfunctions: ctx.stepFunctions.faults,
  };
  try {
    const body = () => (req.raw.trim() === '' ? {} : (JSON.parse(req.raw) as unknown));
    const reply = (status: number, value: unknown) => send(res, status, value);
    switch (true) {
      case route === 'GET /health':
        return reply(200, { ok: true, services: FAULT_SERVICES });
      case route === 'GET /assignments': {
        const filter = {
          accountId: q.get('accountId') ?? undefined,
          principalId: q.get('principalId') ?? undefined,
          permissionSetArn: q.get('permissionSetArn') ?? undefined,
          origin: (q.get('origin') as 'preexisting' | 'created' | null) ?? undefined,
        };
        const users = new Map(ctx.identityStore.directory.users.map((u) => [u.userId, u.userName]));
        return reply(200, { assignments: ctx.identityCenter.listAssignments(filter).map((a) => ({ ...a, userName: users.get(a.principalId) })) });
      }
      case route === 'POST /assignments': {
        const seed = seedSchema.parse(body());
        const permissionSetArn = seed.permissionSetArn ?? permissionSetArnByName(ctx, seed.permissionSetName!);
        const principalId = seed.principalId ?? ctx.identityStore.userByName(seed.userName!)?.userId;
        if (!principalId) return reply(404, { error: `No user named ${seed.userName}` });
        return reply(201, { assignment: ctx.identityCenter.seedAssignment({ accountId: seed.accountId, permissionSetArn, principalId, principalType: seed.principalType }) });
      }
      case route === 'GET /assignment-operations':
        return reply(200, { operations: ctx.identityCenter.listOperations({ status: (q.get('status') as 'IN_PROGRESS' | null) ?? undefined, kind: (q.get('kind') as 'create' | null) ?? undefined }) });
      case route === 'GET /identity-center/stats':
        return reply(200, { ...ctx.identityCenter.stats(), quotas: ctx.identityCenter.quotas() });
      case route === 'POST /identity-center/stats/reset':
        ctx.identityCenter.resetStats();
        return reply(200, ctx.identityCenter.stats());
      case route === 'GET /faults':
        return reply(200, Object.fromEntries(Object.entries(faultQueues).map(([s, f]) => [s, f.pending()])));
      case route === 'POST /faults': {
        const spec = z.object({ service: z.enum(FAULT_SERVICES) }).and(faultSpecSchema).parse(body());
        if (spec.kind === 'fail' && spec.service !== 'sso-admin') return reply(400, { error: 'kind "fail" applies to sso-admin assignment writes only' });
        const { service, ...fault } = spec;
        faultQueues[service].add(fault);
        return reply(201, { service, pending: faultQueues[service].pending() });
      }
      case route === 'DELETE /faults': {
        const service = q.get('service');
        if (service !== null && !(FAULT_SERVICES as readonly string[]).includes(service)) return reply(400, { error: `Unknown service ${service}` });
        for (const [s, f] of Object.entries(faultQueues)) if (service === null || s === service) f.clear();
        return reply(200, { cleared: service ?? 'all' });
      }
      case route === 'GET /schedules':
        return reply(200, { schedules: ctx.scheduler.list() });
      case route === 'GET /schedules/dead-letters':
        return reply(200, { deadLetters: ctx.scheduler.deadLetterQueue() });
      case route === 'GET /schedules/invocations':
        return reply(200, { invocations: ctx.scheduler.invocations() });
      case req.method === 'POST' && parts[0] === 'schedules' && parts.length === 4 && parts[3] === 'fire':
        ctx.scheduler.fireNow(parts[2]!, parts[1]!);
        return reply(202, { firing: `${parts[1]}/${parts[2]}` });
      case route === 'GET /findings':
        return reply(200, { findings: ctx.securityHub.list() });
      case route === 'POST /findings/sample': {
        const { accountId } = z.strictObject({ accountId: z.string().regex(/^\d{12}$/).optional() }).parse(body());
        const finding = sampleHighFinding({ accountId: accountId ?? ctx.defaultAccountId, now: ctx.now() });
        const result = ctx.securityHub.batchImportFindings({ Findings: [finding] });
        return reply(201, { finding, result });
      }
      case route === 'GET /executions':
        return reply(200, { executions: ctx.stepFunctions.listExecutions() });
      case req.method === 'GET' && parts[0] === 'executions' && parts.length === 2: {
        const execution = ctx.stepFunctions.execution(parts[1]!);
        return execution ? reply(200, execution) : reply(404, { error: `No execution named ${parts[1]}` });
      }
      default:
        return reply(404, { error: `No sandbox admin route ${route}` });
    }
  } catch (e) {
    if (e instanceof z.ZodError) return send(res, 400, { error: 'Invalid request', issues: e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`) });
    if (e instanceof SyntaxError) return send(res, 400, { error: 'The request body is not valid JSON.' });
    if (e instanceof AwsError) return send(res, e.status, { error: e.code, message: e.message });
    if (e instanceof Error && /^Invalid assignment seed/.test(e.message)) return send(res, 400, { error: e.message });
    throw e;
  }
}

function permissionSetArnByName(ctx: AdminContext, name: string): string {
  const ps = ctx.identityCenter.listPermissionSets().find((p) => p.name === name);
  if (!ps) throw new AwsError('ResourceNotFoundException', `No permission set named ${name}.`, 404);
  return ps.arn;
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
