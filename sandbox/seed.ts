/**
 * The sandbox's demo world: two AWS accounts, three permission sets, an Identity Center
 * instance, and the people and groups of sandbox/demo-directory.json (the one source for both
 * the identity store stand-in and the Agents Playground config).
 *
 *   Alice (requester, the playground's current user), Bob (requester): Engineers
 *   Carol, Dan (approvers): AWS-Approvers
 *   Erin (not eligible): Contractors
 *   Frank: Engineers and AWS-Approvers (can request, and approve others, never himself)
 * The playground needs exactly five `users` besides `currentUser`, hence a sixth person: Frank.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { AssignmentSeed, PermissionSetSeed } from './aws/identity-center';
import { type Directory, parseDirectory } from './aws/identity-store';

export const DEMO_REGION = 'us-east-1';
/** The account the product itself runs in (Identity Center's delegated administrator). */
export const DEMO_PRODUCT_ACCOUNT_ID = '123456789012';
export const DEMO_INSTANCE_ARN = 'arn:aws:sso:::instance/ssoins-1111111111111111';

export const DEMO_ACCOUNTS = [
  { id: '111111111111', name: 'sandbox-dev', ouPath: ['r-demo', 'ou-demo-11111111'] },
  { id: '222222222222', name: 'sandbox-prod', ouPath: ['r-demo', 'ou-demo-22222222'] },
] as const;

const psArn = (suffix: string) => `arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-${suffix}`;

export const DEMO_PERMISSION_SETS: readonly PermissionSetSeed[] = [
  { name: 'ReadOnly', arn: psArn('1000000000000001'), description: 'Read-only access (AWS managed ReadOnlyAccess)', sessionDuration: 'PT1H' },
  { name: 'PowerUser', arn: psArn('1000000000000002'), description: 'Everything except IAM and Organizations (PowerUserAccess)', sessionDuration: 'PT1H' },
  { name: 'Admin', arn: psArn('1000000000000003'), description: 'Full administrator (AdministratorAccess)', sessionDuration: 'PT1H' },
];

export const DEMO_DIRECTORY_FILE = join(__dirname, 'demo-directory.json');

export const PERSON_ROLES = ['requester', 'approver', 'not-eligible', 'requester-and-approver'] as const;

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const demoPeopleSchema = z.strictObject({
  $comment: z.string().optional(),
  tenantId: z.string().regex(uuid),
  identityStoreId: z.string(),
  externalIdIssuer: z.string().min(1),
  groups: z.array(z.strictObject({ key: z.string().min(1), groupId: z.string(), displayName: z.string().min(1), description: z.string().optional() })).min(1),
  people: z
    .array(
      z.strictObject({
        key: z.string().regex(/^[a-z]+$/),
        role: z.enum(PERSON_ROLES),
        /** The playground's `currentUser` (exactly one) or one of its five `users`. */
        playground: z.enum(['currentUser', 'user']),
        givenName: z.string().min(1).max(256),
        surname: z.string().min(1).max(256),
        upn: z.string().email().endsWith('@example.com'),
        aadObjectId: z.string().regex(uuid),
        /** What Teams puts in `activity.from.id` for a user: a `29:` id (the connector stand-ins refuse other forms in refresh.userIds). */
        teamsUserId: z.string().regex(/^29:\S+$/, 'must be a Teams user id (29:...), as Teams sends in activity.from.id'),
        identityStoreUserId: z.string(),
        groups: z.array(z.string()).min(1),
      }),
    )
    .min(1),
});
export type DemoPeople = z.infer<typeof demoPeopleSchema>;
export type DemoPerson = DemoPeople['people'][number];

/** Loads and checks the demo people: schema, one current user, known groups (throws with the reason). */
export function loadDemoPeople(file = DEMO_DIRECTORY_FILE): DemoPeople {
  const parsed = demoPeopleSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Invalid demo directory ${file}: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const people = parsed.data;
  const current = people.people.filter((p) => p.playground === 'currentUser');
  if (current.length !== 1) throw new Error(`Invalid demo directory ${file}: exactly one person must be the playground's currentUser (found ${current.length})`);
  const groupKeys = new Set(people.groups.map((g) => g.key));
  for (const p of people.people) for (const g of p.groups) if (!groupKeys.has(g)) throw new Error(`Invalid demo directory ${file}: ${p.key} is in unknown group ${g}`);
  for (const field of ['key', 'upn', 'aadObjectId', 'teamsUserId', 'identityStoreUserId'] as const) {
    const values = people.people.map((p) => p[field].toLowerCase());
    const dup = values.find((v, i) => values.indexOf(v) !== i);
    if (dup) throw new Error(`Invalid demo directory ${file}: duplicate ${field} ${dup}`);
  }
  return people;
}

/** The identity store's view of the demo people (userName = UPN, ExternalId = Entra object id). */
export function demoDirectory(people: DemoPeople = loadDemoPeople()): Directory {
  return parseDirectory(
    {
      identityStoreId: people.identityStoreId,
      users: people.people.map((p) => ({
        userId: p.identityStoreUserId,
        userName: p.upn,
        displayName: `${p.givenName} ${p.surname}`,
        givenName: p.givenName,
        familyName: p.surname,
        email: p.upn,
        externalIds: [{ issuer: people.externalIdIssuer, id: p.aadObjectId }],
      })),
      groups: people.groups.map((g) => ({
        groupId: g.groupId,
        displayName: g.displayName,
        description: g.description,
        members: people.people.filter((p) => p.groups.includes(g.key)).map((p) => p.identityStoreUserId),
      })),
    },
    'demo directory',
  );
}

/**
 * Assignments that exist before the product runs: Carol has had ReadOnly on sandbox-prod
 * for ever. The product must list it and never delete it (grants are reference-counted and
 * ownership is recorded).
 */
export function demoPreexistingAssignments(people: DemoPeople = loadDemoPeople()): AssignmentSeed[] {
  const carol = people.people.find((p) => p.key === 'carol');
  const readOnly = DEMO_PERMISSION_SETS.find((p) => p.name === 'ReadOnly');
  if (!carol || !readOnly) return [];
  return [{ accountId: DEMO_ACCOUNTS[1].id, permissionSetArn: readOnly.arn, principalId: carol.identityStoreUserId, principalType: 'USER' }];
}
