/**
 * A small world for core tests: a policy with auto-approve, 1-of-M, 2-of-M and break-glass rules,
 * five people, in-memory ports and a fake clock; plus `drive`, which plays the state machine's
 * steps in order (validate, approval wait, grant with polling, expiry) over the real services.
 */
import type { CreateRequestBody } from '../../core/api';
import type { Actor } from '../../core/model';
import type { FakeClock } from '../../core/memory';
import { type MemoryUser, type MemoryWorld, memoryWorld } from '../../core/memory';
import type { Policy, PolicyRule } from '../../core/policy/types';
import * as svc from '../../core/services';

export const ACCOUNTS = { dev: '111111111111', prod: '222222222222' } as const;
export const PS = {
  ReadOnly: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111',
  PowerUser: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-2222222222222222',
  Admin: 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-3333333333333333',
} as const;

const rule = (over: Partial<PolicyRule> & Pick<PolicyRule, 'id' | 'permissionSets'>): PolicyRule => ({
  description: over.id,
  eligibleGroups: ['Engineers'],
  accounts: { ids: [ACCOUNTS.dev, ACCOUNTS.prod], ous: [] },
  maxDurationSeconds: 3600,
  defaultDurationSeconds: 1800,
  maxTotalDurationSeconds: 4 * 3600,
  approverGroups: ['AWS-Approvers'],
  approvalsRequired: 1,
  ticket: { required: false },
  breakGlass: { allowed: false, maxDurationSeconds: 0 },
  approvalTimeoutSeconds: 900,
  ...over,
});

export const POLICY: Policy = {
  version: 1,
  accounts: [
    { id: ACCOUNTS.dev, name: 'dev', ouPath: ['r-ab12', 'ou-ab12-11111111'] },
    { id: ACCOUNTS.prod, name: 'prod', ouPath: ['r-ab12', 'ou-ab12-22222222'] },
  ],
  permissionSets: [
    { name: 'ReadOnly', arn: PS.ReadOnly },
    { name: 'PowerUser', arn: PS.PowerUser },
    { name: 'Admin', arn: PS.Admin },
  ],
  rules: [
    rule({ id: 'readonly-auto', permissionSets: ['ReadOnly'], approvalsRequired: 0, approverGroups: [], maxDurationSeconds: 900, defaultDurationSeconds: 600, maxTotalDurationSeconds: 1800 }),
    rule({ id: 'poweruser', permissionSets: ['PowerUser'], breakGlass: { allowed: true, maxDurationSeconds: 1800 } }),
    rule({ id: 'admin', permissionSets: ['Admin'], approvalsRequired: 2, ticket: { required: true, pattern: '^INC-[0-9]+$' } }),
  ],
};

const group = (name: string) => ({ groupId: `g-${name.toLowerCase()}`, displayName: name });
const user = (key: string, groups: string[]): MemoryUser => ({
  userId: `u-${key}`,
  userName: `${key}@example.com`,
  displayName: key[0]!.toUpperCase() + key.slice(1),
  upn: `${key}@example.com`,
  aadObjectId: `00000000-0000-4000-8000-${key.padStart(12, '0').slice(-12).replace(/[^0-9a-f]/g, 'a')}`,
  groups: groups.map(group),
});

export const USERS = {
  alice: user('alice', ['Engineers']),
  bob: user('bob', ['Engineers']),
  carol: user('carol', ['AWS-Approvers']),
  dan: user('dan', ['AWS-Approvers']),
  erin: user('erin', ['Contractors']),
  frank: user('frank', ['Engineers', 'AWS-Approvers']),
};

export function actor(key: keyof typeof USERS): Actor {
  const u = USERS[key];
  return { userId: u.userId, userName: u.userName, displayName: u.displayName, ...(u.aadObjectId ? { aadObjectId: u.aadObjectId } : {}) };
}

export function world(options: { policy?: Policy; clock?: FakeClock; pollsToComplete?: number } = {}): MemoryWorld {
  return memoryWorld({ policy: options.policy ?? POLICY, users: Object.values(USERS), clock: options.clock, pollsToComplete: options.pollsToComplete });
}

let n = 0;
export function body(over: Partial<CreateRequestBody> = {}): CreateRequestBody {
  n += 1;
  return {
    clientRequestId: `client-${String(n).padStart(8, '0')}`,
    accountId: ACCOUNTS.prod,
    permissionSetName: 'PowerUser',
    durationMinutes: 30,
    justification: 'Investigating incident INC-42 in prod',
    ...over,
  };
}

/** Plays the workflow like the state machine: validate, then the approval wait or straight to the grant. */
export async function startWorkflow(w: MemoryWorld, requestId: string): Promise<{ route: string; token?: string }> {
  const v = await svc.validateForWorkflow(w.deps, { requestId });
  if (v.route !== 'approval') return { route: v.route };
  const token = `token-${requestId}`;
  await svc.recordApprovalToken(w.deps, { requestId, taskToken: token });
  return { route: v.route, token };
}

/** The grant half of the state machine: start, poll until done, complete (or fail). */
export async function grant(w: MemoryWorld, requestId: string): Promise<string> {
  const started = await svc.startGrant(w.deps, { requestId });
  let op = started.operation;
  while (op && op.status === 'IN_PROGRESS') op = await svc.checkGrant(w.deps, { requestId, operationId: op.operationId });
  if (op && op.status === 'FAILED') return (await svc.failGrant(w.deps, { requestId, reason: `GrantFailed: ${op.failureReason}` })).request.state;
  return (await svc.completeGrant(w.deps, { requestId })).state;
}

/** Submits and takes the request all the way to ACTIVE with the approvals its rule needs. */
export async function activeRequest(w: MemoryWorld, who: keyof typeof USERS = 'alice', over: Partial<CreateRequestBody> = {}): Promise<string> {
  const { request } = await svc.submitRequest(w.deps, { actor: actor(who), body: body(over) });
  const flow = await startWorkflow(w, request.id);
  if (flow.route === 'approval') {
    for (const approver of ['carol', 'dan'] as const) {
      const r = await svc.castVote(w.deps, { requestId: request.id, actor: actor(approver), decision: 'approve' });
      if (r.decided) break;
    }
  }
  const state = await grant(w, request.id);
  if (state !== 'ACTIVE') throw new Error(`expected ACTIVE, got ${state}`);
  return request.id;
}
