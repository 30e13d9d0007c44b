/**
 * What the core services take as input from the bridge, and the eligibility answer they give back,
 * as zod schemas (types inferred). They live in core because the services are typed by them;
 * contract/bridge.ts re-exports them as part of the bridge's wire contract, next to the responses.
 * The bridge validates bodies with these schemas; the bot sends bodies of these types.
 *
 * zod/mini (functions instead of methods): the same checks, issues and messages as classic zod, and
 * what a function bundles is what it uses (docs/PERFORMANCE.md, bridge_bundle_kb). Every schema the
 * bridge's bundle reaches is mini; classic zod anywhere in that graph would bring all of it back.
 */
import './zod-locale';
import * as z from 'zod/mini';
import type { AccessRequest } from './model';

export const LIMITS = {
  justificationMin: 10,
  justificationMax: 500,
  reasonMax: 500,
  ticketMax: 64,
  clientRequestIdMax: 64,
  /** Hard ceiling whatever the policy says: a week. */
  durationMinutesMax: 7 * 24 * 60,
  searchQueryMax: 64,
  searchLimitMax: 50,
} as const;

/** Rejects lone surrogates (invalid unicode) and control characters other than tab and newline. */
const text = (min: number, max: number) =>
  z.string().check(
    z.minLength(min),
    z.maxLength(max),
    z.refine((s) => s.isWellFormed(), 'must be valid unicode'),
    // eslint-disable-next-line no-control-regex
    z.refine((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s), 'must not contain control characters'),
  );

/**
 * Characters a search query may not hold: every control character (C0 including tab and newline,
 * DEL, C1) and the bidirectional controls that make text display differently from what it is.
 */
const SEARCH_FORBIDDEN = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const SEARCH_FORBIDDEN_ALL = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]+/gu;

/**
 * What the bot sends as a typeahead query: forbidden characters become spaces, whitespace is
 * collapsed, the text is well-formed unicode and at most LIMITS.searchQueryMax UTF-16 units long,
 * never cut inside a surrogate pair. The result always passes `eligibilityQuerySchema.q`.
 */
export function sanitizeSearchQuery(text: string): string {
  const cleaned = text.toWellFormed().replace(SEARCH_FORBIDDEN_ALL, ' ').replace(/\s+/g, ' ').trim();
  let out = '';
  for (const ch of cleaned) {
    if (out.length + ch.length > LIMITS.searchQueryMax) break;
    out += ch;
  }
  return out.trimEnd();
}

const searchText = z.string().check(
  z.maxLength(LIMITS.searchQueryMax),
  z.refine((s) => s.isWellFormed(), 'must be valid unicode'),
  z.refine((s) => !SEARCH_FORBIDDEN.test(s), 'must not contain control characters (tab, newline and bidirectional controls included)'),
);

export const requestIdSchema = z.string().check(z.regex(/^req-[0-9A-Za-z]{10,40}$/, 'is not a request id'));
export const accountIdSchema = z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit AWS account id'));
export const permissionSetNameSchema = z.string().check(z.regex(/^[\w+=,.@-]{1,32}$/, 'is not a permission set name'));

/**
 * The claims of a step-up sign-in the bot verified (signature against Entra's keys, issuer,
 * audience; bot/step-up.ts). The bridge re-checks them against the request's rule, the actor and
 * its own clock (core/services/step-up.ts); docs/SECURITY.md says what it can and cannot re-check.
 */
export const stepUpClaimsSchema = z.strictObject({
  oid: z.string().check(z.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be an Entra object id')),
  tid: z.string().check(z.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be an Entra tenant id')),
  /** Authentication context ids the sign-in satisfied (Entra's `acrs`). */
  acrs: z.array(z.string().check(z.maxLength(64))).check(z.maxLength(100)),
  /** Authentication methods (Entra's `amr`). */
  amr: z.array(z.string().check(z.maxLength(64))).check(z.maxLength(20)),
  /** The token's `iat`, seconds since the epoch. */
  iat: z.number().check(z.int(), z.minimum(0)),
});
export type StepUpClaims = z.infer<typeof stepUpClaimsSchema>;

export const createRequestBodySchema = z.strictObject({
  clientRequestId: z.string().check(z.regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8-64 URL-safe characters')),
  accountId: accountIdSchema,
  permissionSetName: permissionSetNameSchema,
  durationMinutes: z.number().check(z.int(), z.minimum(1), z.maximum(LIMITS.durationMinutesMax)),
  justification: text(LIMITS.justificationMin, LIMITS.justificationMax),
  ticketId: z.optional(text(1, LIMITS.ticketMax)),
  breakGlass: z.optional(z.boolean()),
  /** The requester's step-up sign-in, for break-glass under a rule that asks for one. */
  stepUp: z.optional(stepUpClaimsSchema),
});
export type CreateRequestBody = z.infer<typeof createRequestBodySchema>;


export const decisionBodySchema = z.strictObject({
  decision: z.enum(['approve', 'deny']),
  reason: z.optional(text(0, LIMITS.reasonMax)),
  stepUp: z.optional(stepUpClaimsSchema),
});
export type DecisionBody = z.infer<typeof decisionBodySchema>;

export const revokeBodySchema = z.strictObject({ reason: z.optional(text(0, LIMITS.reasonMax)) });
export type RevokeBody = z.infer<typeof revokeBodySchema>;

export const cancelBodySchema = revokeBodySchema;
export type CancelBody = RevokeBody;

export const extendBodySchema = z.strictObject({ additionalMinutes: z.number().check(z.int(), z.minimum(1), z.maximum(LIMITS.durationMinutesMax)) });
export type ExtendBody = z.infer<typeof extendBodySchema>;

export const reviewBodySchema = z.strictObject({ note: z.optional(text(0, LIMITS.reasonMax)) });
export type ReviewBody = z.infer<typeof reviewBodySchema>;

export const listQuerySchema = z.strictObject({ view: z.enum(['mine', 'pending']) });
export type ListQuery = z.infer<typeof listQuerySchema>;

export const eligibilityQuerySchema = z.strictObject({
  q: z.optional(searchText),
  accountId: z.optional(accountIdSchema),
  limit: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(LIMITS.searchLimitMax))),
});
export type EligibilityQuery = z.infer<typeof eligibilityQuerySchema>;

/** A request as the bridge returns it: never carries the task token or execution ARN (core/model.ts toRequestView). */
export type RequestView = AccessRequest;

const nonNegativeInt = z.number().check(z.int(), z.minimum(0));

/** GET /eligibility: the accounts and permission sets the actor may request. */
export const eligibilityResponseSchema = z.object({
  user: z.object({ userId: z.string(), userName: z.string(), displayName: z.string() }),
  accounts: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      permissionSets: z.array(
        z.object({
          name: z.string(),
          maxDurationMinutes: nonNegativeInt,
          defaultDurationMinutes: nonNegativeInt,
          approvalsRequired: nonNegativeInt,
          ticketRequired: z.boolean(),
          breakGlassAllowed: z.boolean(),
        }),
      ),
    }),
  ),
  /** Total eligible accounts before `limit` was applied. */
  total: nonNegativeInt,
});
export type EligibilityResponse = z.infer<typeof eligibilityResponseSchema>;
