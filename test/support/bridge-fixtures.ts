/**
 * The people, tenant and policy the bot tests and the bot benchmarks share, and the in-memory world
 * over them (core/memory: in-memory ports, a fake clock, an in-memory directory). No servers here:
 * test/support/real-bridge.ts serves the real bridge over this world.
 */
import { FakeClock, type MemoryUser, type MemoryWorld, memoryWorld } from '../../core/memory';
import type { Policy, PolicyRule } from '../../core/policy/types';

/** The Entra tenant of the test users (placeholder GUID). */
export const TENANT_ID = '00000000-0000-0000-0000-000000000001';

export type BridgeUser = MemoryUser & { aadObjectId: string };

const person = (key: string, aadObjectId: string, displayName: string, groups: string[]): BridgeUser => ({
  userId: `u-${key}`,
  userName: `${key}@example.com`,
  upn: `${key}@example.com`,
  displayName,
  aadObjectId,
  groups: groups.map((g) => ({ groupId: `g-${g}`, displayName: g })),
});

/** Alice requests; Bob and Carol approve (and may request); Mallory is a known user who may do neither. */
export const USERS = {
  alice: person('alice', 'aaaaaaaa-0000-0000-0000-000000000001', 'Alice Requester', ['engineers']),
  bob: person('bob', 'bbbbbbbb-0000-0000-0000-000000000002', 'Bob Approver', ['engineers', 'oncall-approvers']),
  carol: person('carol', 'cccccccc-0000-0000-0000-000000000003', 'Carol Approver', ['engineers', 'oncall-approvers']),
  mallory: person('mallory', 'dddddddd-0000-0000-0000-000000000004', 'Mallory Outsider', ['contractors']),
} satisfies Record<string, BridgeUser>;

const PS_ARN = (n: number) => `arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-${String(n).repeat(16)}`;
const rule = (over: Partial<PolicyRule> & Pick<PolicyRule, 'id' | 'permissionSets' | 'accounts'>): PolicyRule => ({
  description: over.id,
  eligibleGroups: ['engineers'],
  maxDurationSeconds: 4 * 3600,
  defaultDurationSeconds: 3600,
  maxTotalDurationSeconds: 8 * 3600,
  approverGroups: ['oncall-approvers'],
  approvalsRequired: 1,
  ticket: { required: false },
  breakGlass: { allowed: false, maxDurationSeconds: 0 },
  approvalTimeoutSeconds: 3600,
  ...over,
});

/** Three accounts: admin needs a ticket, prod-analytics needs two approvals, staging allows break-glass. */
export const POLICY: Policy = {
  version: 1,
  accounts: [
    { id: '111111111111', name: 'prod-payments', ouPath: ['r-ab12', 'ou-ab12-11111111'] },
    { id: '222222222222', name: 'staging-core', ouPath: ['r-ab12', 'ou-ab12-22222222'] },
    { id: '333333333333', name: 'prod-analytics', ouPath: ['r-ab12', 'ou-ab12-11111111'] },
  ],
  permissionSets: [
    { name: 'AdministratorAccess', arn: PS_ARN(1) },
    { name: 'ReadOnly', arn: PS_ARN(2) },
    { name: 'PowerUser', arn: PS_ARN(3) },
  ],
  rules: [
    rule({ id: 'payments-admin', accounts: { ids: ['111111111111'], ous: [] }, permissionSets: ['AdministratorAccess'], maxDurationSeconds: 3600, defaultDurationSeconds: 1800, ticket: { required: true, pattern: '^INC-[0-9]+$' } }),
    rule({ id: 'payments-readonly', accounts: { ids: ['111111111111'], ous: [] }, permissionSets: ['ReadOnly'] }),
    rule({ id: 'staging-poweruser', accounts: { ids: ['222222222222'], ous: [] }, permissionSets: ['PowerUser'], maxDurationSeconds: 7200, breakGlass: { allowed: true, maxDurationSeconds: 3600 } }),
    rule({ id: 'analytics-readonly', accounts: { ids: ['333333333333'], ous: [] }, permissionSets: ['ReadOnly'], approvalsRequired: 2 }),
  ],
};

/** Where the world's clock starts (far enough ahead of any real date that nothing looks overdue to the bot). */
export const WORLD_START = Date.parse('2030-01-01T10:00:00.000Z');

/** The in-memory backend over the test people and policy, its clock at WORLD_START. */
export function testWorld(options: { users?: BridgeUser[]; policy?: Policy } = {}): MemoryWorld {
  return memoryWorld({ policy: options.policy ?? POLICY, users: options.users ?? Object.values(USERS), clock: new FakeClock(WORLD_START) });
}
