/**
 * A request as it leaves the server: in the bridge's responses and in the notices to the bot. The
 * bot parses both with this schema, so a backend bug can never crash it or put malformed text on a
 * card. Unknown keys are dropped (the backend may add a field before the bot knows it).
 */
import * as z from 'zod';
import { accountIdSchema, permissionSetNameSchema, requestIdSchema } from '../core/api';
import { type AccessRequest, REQUEST_STATES } from '../core/model';

const str = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => s.isWellFormed(), 'must be valid unicode');
export const isoSchema = z.iso.datetime({ offset: true });
const iso = isoSchema;
const stepUpRequirement = z.object({ acrs: z.array(str(64)).max(100), amr: z.array(str(64)).max(20), maxTokenAgeSeconds: z.number().int().min(0) });
const stepUpEvidence = z.object({ method: z.enum(['acrs', 'amr']), values: z.array(str(64)).max(120), tokenIssuedAt: iso, tokenAgeSeconds: z.number().int().min(0) });
const tag = z.object({ id: str(256).min(1), name: str(256).min(1) });
const channelId = str(256).regex(/^19:[^\s@]+@thread\.(tacv2|skype)$/);
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
    endSessionsAtExpiry: z.boolean().optional(),
    stepUp: z.object({ approve: stepUpRequirement.optional(), breakGlass: stepUpRequirement.optional() }).optional(),
    reminders: z
      .object({
        afterSeconds: z.number().int().min(0),
        everySeconds: z.number().int().min(0).optional(),
        tag: tag.optional(),
        escalation: z.object({ afterSeconds: z.number().int().min(0), groups: z.array(str(256)).max(50), channelId: channelId.optional(), tag: tag.optional() }).optional(),
      })
      .optional(),
  }),
  policyReason: str(2000),
  votes: z.array(z.object({ approver: actor, decision: z.enum(['approve', 'deny']), reason: str(2000).optional(), at: iso, stepUp: stepUpEvidence.optional() })).max(100),
  createdAt: iso,
  updatedAt: iso,
  approvalDeadline: iso,
  cardPostedAt: iso.optional(),
  reminders: z.object({ sent: z.number().int().min(0), lastAt: iso, escalation: z.object({ at: iso, groups: z.array(str(256)).max(50), channelId: channelId.optional() }).optional() }).optional(),
  decidedAt: iso.optional(),
  decidedBy: actor.optional(),
  decisionReason: str(2000).optional(),
  grant: z.object({ startsAt: iso, endsAt: iso, totalSeconds: z.number().int().min(0), extensions: z.number().int().min(0) }).optional(),
  endedAt: iso.optional(),
  endedBy: actor.optional(),
  endReason: str(2000).optional(),
  failureReason: str(2000).optional(),
  review: z.object({ acknowledgedBy: actor, at: iso, note: str(2000).optional() }).optional(),
  revocation: z.object({ target: z.enum(['EXPIRED', 'REVOKED', 'FAILED']), by: actor, reason: str(2000), at: iso }).optional(),
  expiringSoonNotifiedFor: iso.optional(),
  sessionsEnded: z.object({ permissionSetArn: str(2048), accountId: z.string().regex(/^\d{12}$/), userId: str(256), cutoff: iso, at: iso }).optional(),
});

/**
 * Both directions: what the schema lets through is an AccessRequest, and every AccessRequest field
 * is in the schema (else the bot's parse would silently drop a field core added).
 */
const _toCore = (v: z.output<typeof requestViewSchema>): AccessRequest => v;
const _fromCore = (v: AccessRequest): z.input<typeof requestViewSchema> => v;
type MissingFromSchema = Exclude<keyof AccessRequest, keyof z.output<typeof requestViewSchema>>;
const _noneMissing: [MissingFromSchema] extends [never] ? true : MissingFromSchema = true;
void _toCore;
void _fromCore;
void _noneMissing;
