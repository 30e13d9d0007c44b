/**
 * The schema of `POST /api/notify` bodies (core/api.ts NotificationBody). The signature already
 * proves the sender; this proves the shape, so a bug in the backend can never crash the bot or
 * put malformed text on a card. Unknown keys are dropped (the backend may add fields first).
 */
import * as z from 'zod';
import { accountIdSchema, type NotificationBody, permissionSetNameSchema, requestIdSchema } from '../core/api';
import { REQUEST_STATES } from '../core/model';

const NOTIFICATION_EVENTS = [
  'submitted',
  'approval_requested',
  'vote_recorded',
  'approved',
  'denied',
  'timed_out',
  'cancelled',
  'granting',
  'active',
  'expiring_soon',
  'extended',
  'expired',
  'revoked',
  'failed',
  'break_glass_used',
  'review_acknowledged',
] as const;

const str = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => s.isWellFormed(), 'must be valid unicode');
const iso = z.iso.datetime({ offset: true });
const actor = z.object({ userId: str(128).min(1), aadObjectId: str(64).optional(), userName: str(256), displayName: str(256) });

export const requestViewSchema = z.object({
  id: requestIdSchema,
  clientRequestId: str(64),
  version: z.number().int().min(0),
  state: z.enum(REQUEST_STATES),
  requester: actor,
  accountId: accountIdSchema,
  accountName: str(256),
  permissionSetName: permissionSetNameSchema,
  permissionSetArn: str(2048),
  requestedDurationSeconds: z.number().int().min(0),
  justification: str(2000),
  ticketId: str(256).optional(),
  route: z.enum(['approval', 'auto_approve', 'break_glass']),
  terms: z.object({
    ruleIds: z.array(str(128)).max(50),
    maxDurationSeconds: z.number().int().min(0),
    defaultDurationSeconds: z.number().int().min(0),
    maxTotalDurationSeconds: z.number().int().min(0),
    approvalsRequired: z.number().int().min(0).max(100),
    approverGroups: z.array(str(256)).max(50),
    ticketRequired: z.boolean(),
    ticketPatterns: z.array(str(512)).max(20),
    breakGlassAllowed: z.boolean(),
    breakGlassMaxDurationSeconds: z.number().int().min(0),
    approvalTimeoutSeconds: z.number().int().min(0),
  }),
  policyReason: str(2000),
  votes: z.array(z.object({ approver: actor, decision: z.enum(['approve', 'deny']), reason: str(2000).optional(), at: iso })).max(100),
  createdAt: iso,
  updatedAt: iso,
  approvalDeadline: iso,
  decidedAt: iso.optional(),
  decidedBy: actor.optional(),
  decisionReason: str(2000).optional(),
  grant: z.object({ startsAt: iso, endsAt: iso, totalSeconds: z.number().int().min(0), extensions: z.number().int().min(0) }).optional(),
  endedAt: iso.optional(),
  endedBy: actor.optional(),
  endReason: str(2000).optional(),
  failureReason: str(2000).optional(),
  review: z.object({ acknowledgedBy: actor, at: iso, note: str(2000).optional() }).optional(),
});

export const findingViewSchema = z.object({
  id: str(512).min(1),
  severity: z.enum(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']),
  title: str(512).min(1),
  resourceId: str(2048),
  accountId: accountIdSchema,
  productName: str(256),
  updatedAt: iso,
  link: z.url({ protocol: /^https$/ }).max(2048).optional(),
  status: z.enum(['ACTIVE', 'RESOLVED']).optional(),
});

const notificationId = z.string().regex(/^[A-Za-z0-9_.:-]{8,128}$/, 'must be 8-128 characters of [A-Za-z0-9_.:-]');

export const notificationBodySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('request'), event: z.enum(NOTIFICATION_EVENTS), request: requestViewSchema, notificationId }),
  z.object({ kind: z.literal('findings'), findings: z.array(findingViewSchema).min(1).max(100), notificationId }),
]);

// A compile-time check that the schema's output is a NotificationBody.
const _assignable = (b: z.output<typeof notificationBodySchema>): NotificationBody => b;
void _assignable;
