/**
 * The one error catalogue. core/errors.ts defines the typed errors and their codes; this maps each
 * code to what the edges show: the bridge's HTTP status (lambdas/http.ts), the card title the bot
 * shows (bot/handlers/render.ts), and whether the refusal is about the request's state or the
 * viewer's rights, after which the bot shows the request's current card. The bot reads the code
 * back from the bridge's error body (errorResponseSchema) and rebuilds a typed error from it.
 */
import '../core/zod-locale';
import * as z from 'zod/mini';
import { DOMAIN_ERROR_CODES, type DomainErrorCode } from '../core/errors';

export interface ErrorCatalogueEntry {
  /** The bridge's HTTP status for this code. */
  status: number;
  /** The title of the card the bot shows for a refusal with this code. */
  title: string;
  /** True: the refusal is about the request's state (or the viewer's rights on it), so the bot shows its current card. */
  aboutRequestState: boolean;
}

/** `satisfies` keeps it complete: a new DomainErrorCode does not compile until it has an entry. */
export const ERROR_CATALOGUE = {
  VALIDATION: { status: 400, title: 'Not valid', aboutRequestState: false },
  POLICY_INVALID: { status: 400, title: 'Not possible', aboutRequestState: false },
  NOT_FOUND: { status: 404, title: 'Request not found', aboutRequestState: false },
  NOT_ELIGIBLE: { status: 403, title: 'Not eligible', aboutRequestState: false },
  NOT_APPROVER: { status: 403, title: 'Not an approver', aboutRequestState: true },
  SELF_APPROVAL: { status: 403, title: 'Not your own request', aboutRequestState: true },
  FORBIDDEN: { status: 403, title: 'Not allowed', aboutRequestState: true },
  UNKNOWN_USER: { status: 422, title: 'You are not set up yet', aboutRequestState: false },
  ILLEGAL_TRANSITION: { status: 409, title: 'Already done', aboutRequestState: true },
  CONCURRENT_MODIFICATION: { status: 409, title: 'Changed meanwhile', aboutRequestState: true },
  ALREADY_EXISTS: { status: 409, title: 'Not possible', aboutRequestState: false },
  LIMIT_EXCEEDED: { status: 422, title: 'Limit reached', aboutRequestState: true },
  // The bot never shows this as a refusal: it means "try again" (bot/bridge-client.ts).
  DEPENDENCY_FAILED: { status: 503, title: 'Not possible', aboutRequestState: false },
  // Not 401: the bot's own bridge token was fine. The bot turns this into Teams' loginRequest.
  STEP_UP_REQUIRED: { status: 403, title: 'Sign-in needed', aboutRequestState: false },
  STEP_UP_REJECTED: { status: 403, title: 'Sign-in not accepted', aboutRequestState: false },
} as const satisfies Record<DomainErrorCode, ErrorCatalogueEntry>;

const CODES: ReadonlySet<string> = new Set(DOMAIN_ERROR_CODES);

export function isDomainErrorCode(code: unknown): code is DomainErrorCode {
  return typeof code === 'string' && CODES.has(code);
}

export function catalogueEntry(code: DomainErrorCode): ErrorCatalogueEntry {
  return ERROR_CATALOGUE[code];
}

export const fieldIssueSchema = z.object({ path: z.string(), message: z.string() });
export type FieldIssueBody = z.infer<typeof fieldIssueSchema>;

/**
 * Every error body the bridge sends. `code` is a DomainErrorCode or one of the bridge's own
 * (INTERNAL, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, and NOT_FOUND for an unknown route).
 */
export const errorResponseSchema = z.object({
  error: z.object({
    code: z.string().check(z.minLength(1)),
    message: z.string(),
    issues: z.optional(z.array(fieldIssueSchema)),
  }),
});
export type ErrorResponse = z.infer<typeof errorResponseSchema>;
