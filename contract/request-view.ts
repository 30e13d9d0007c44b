/**
 * A request as it leaves the server: in the bridge's responses and in the notices to the bot. The
 * bot parses both with this schema, so a backend bug can never crash it or put malformed text on a
 * card. Unknown keys are dropped (the backend may add a field before the bot knows it).
 */
import '../core/zod-locale';
import * as z from 'zod/mini';
import { accountIdSchema, permissionSetNameSchema, requestIdSchema } from '../core/api';
import { type AccessRequest, REQUEST_STATES } from '../core/model';

const str = (max: number, min?: number) =>
  z.string().check(z.maxLength(max), z.refine((s) => s.isWellFormed(), 'must be valid unicode'), ...(min === undefined ? [] : [z.minLength(min)]));
export const isoSchema = z.iso.datetime({ offset: true });
const iso = isoSchema;
const opt = z.optional;
const count = (max?: number) => z.number().check(z.int(), z.minimum(0), ...(max === undefined ? [] : [z.maximum(max)]));
const list = <T extends z.core.$ZodType>(item: T, max: number) => z.array(item).check(z.maxLength(max));
const stepUpRequirement = z.object({ acrs: list(str(64), 100), amr: list(str(64), 20), maxTokenAgeSeconds: count() });
const stepUpEvidence = z.object({ method: z.enum(['acrs', 'amr']), values: list(str(64), 120), tokenIssuedAt: iso, tokenAgeSeconds: count() });
const actor = z.object({ userId: str(128, 1), aadObjectId: opt(str(64)), userName: str(256), displayName: str(256) });
const tag = z.object({ id: str(256, 1), name: str(256, 1) });
const channelId = str(256).check(z.regex(/^19:[^\s@]+@thread\.(tacv2|skype)$/));

export const requestViewSchema = z.object({
  id: requestIdSchema,
  clientRequestId: str(64),
  version: count(),
  state: z.enum(REQUEST_STATES),
  requester: actor,
  accountId: accountIdSchema,
  accountName: str(256),
  permissionSetName: permissionSetNameSchema,
  permissionSetArn: str(2048),
  requestedDurationSeconds: count(),
  justification: str(2000),
  ticketId: opt(str(256)),
  route: z.enum(['approval', 'auto_approve', 'break_glass']),
  terms: z.object({
    ruleIds: list(str(128), 50),
    maxDurationSeconds: count(),
    defaultDurationSeconds: count(),
    maxTotalDurationSeconds: count(),
    approvalsRequired: count(100),
    approverGroups: list(str(256), 50),
    ticketRequired: z.boolean(),
    ticketPatterns: list(str(512), 20),
    breakGlassAllowed: z.boolean(),
    breakGlassMaxDurationSeconds: count(),
    approvalTimeoutSeconds: count(),
    endSessionsAtExpiry: opt(z.boolean()),
    stepUp: opt(z.object({ approve: opt(stepUpRequirement), breakGlass: opt(stepUpRequirement) })),
    reminders: opt(
      z.object({
        afterSeconds: count(),
        everySeconds: opt(count()),
        tag: opt(tag),
        escalation: opt(z.object({ afterSeconds: count(), groups: list(str(256), 50), channelId: opt(channelId), tag: opt(tag) })),
      }),
    ),
  }),
  policyReason: str(2000),
  votes: list(z.object({ approver: actor, decision: z.enum(['approve', 'deny']), reason: opt(str(2000)), at: iso, stepUp: opt(stepUpEvidence) }), 100),
  createdAt: iso,
  updatedAt: iso,
  approvalDeadline: iso,
  cardPostedAt: opt(iso),
  reminders: opt(z.object({ sent: count(), lastAt: iso, escalation: opt(z.object({ at: iso, groups: list(str(256), 50), channelId: opt(channelId) })) })),
  decidedAt: opt(iso),
  decidedBy: opt(actor),
  decisionReason: opt(str(2000)),
  grant: opt(z.object({ startsAt: iso, endsAt: iso, totalSeconds: count(), extensions: count() })),
  endedAt: opt(iso),
  endedBy: opt(actor),
  endReason: opt(str(2000)),
  failureReason: opt(str(2000)),
  review: opt(z.object({ acknowledgedBy: actor, at: iso, note: opt(str(2000)) })),
  revocation: opt(z.object({ target: z.enum(['EXPIRED', 'REVOKED', 'FAILED']), by: actor, reason: str(2000), at: iso })),
  expiringSoonNotifiedFor: opt(iso),
  sessionsEnded: opt(z.object({ permissionSetArn: str(2048), accountId: z.string().check(z.regex(/^\d{12}$/)), userId: str(256), cutoff: iso, at: iso })),
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
