/**
 * Every Action.Execute verb the cards emit, and the schema of the `data` each one submits (the
 * action's own data merged with the card's inputs, as Teams sends it). The bot validates the
 * invoke's data with these before doing anything. Card data is never trusted for identity: no
 * schema here has an actor field, and unknown keys are stripped from the parsed result, so a forged
 * `actor`, `userId` or `taskToken` never reaches a handler. (Stripping rather than rejecting: every
 * Action.Execute carries all of its card's inputs, so an action legitimately arrives with inputs
 * meant for a sibling action.)
 */
import * as z from 'zod';
import { LIMITS, accountIdSchema, permissionSetNameSchema, requestIdSchema } from '../core/api';

export const CARD_VERBS = {
  requestForm: 'request.form',
  requestSubmit: 'request.submit',
  requestCancel: 'request.cancel',
  requestView: 'request.view',
  approvalApprove: 'approval.approve',
  approvalDeny: 'approval.deny',
  approvalRefresh: 'approval.refresh',
  reviewAcknowledge: 'review.acknowledge',
  grantRevoke: 'grant.revoke',
  grantExtend: 'grant.extend',
  menuRequest: 'menu.request',
  menuMine: 'menu.mine',
  menuPending: 'menu.pending',
  menuHelp: 'menu.help',
  sandboxAct: 'sandbox.act',
} as const;
export type CardVerb = (typeof CARD_VERBS)[keyof typeof CARD_VERBS];
export const ALL_CARD_VERBS: readonly CardVerb[] = Object.values(CARD_VERBS);

/** Form input ids on the request form; the bot maps validation issue paths back to these. */
export const REQUEST_FORM_FIELDS = {
  accountId: 'accountId',
  permissionSetName: 'permissionSetName',
  durationMinutes: 'durationMinutes',
  justification: 'justification',
  ticketId: 'ticketId',
  breakGlass: 'breakGlass',
} as const;

const clientRequestId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8-64 URL-safe characters');

/** Teams submits every input value as a string; an empty input may come as "" or be absent. */
const emptyToUndefined = (v: unknown) => (v === '' || v === null ? undefined : v);

const optionalText = (max: number) => z.preprocess(emptyToUndefined, z.string().max(max).optional());

/** Input.Number arrives as a string ("60") from Teams and as a number from some clients. */
const wholeNumber = (max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
    z.number({ error: 'must be a whole number of minutes' }).int('must be a whole number of minutes').min(1, 'must be at least 1').max(max, `must be at most ${max}`),
  );

/** Input.Toggle submits its valueOn/valueOff strings. */
const toggle = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean().optional());

const requestFormInputs = {
  accountId: z.preprocess(emptyToUndefined, z.optional(accountIdSchema)),
  permissionSetName: z.preprocess(emptyToUndefined, z.optional(permissionSetNameSchema)),
  durationMinutes: z.preprocess(emptyToUndefined, wholeNumber(LIMITS.durationMinutesMax).optional()),
  justification: optionalText(LIMITS.justificationMax),
  ticketId: optionalText(LIMITS.ticketMax),
  breakGlass: toggle,
};

const requestRef = { requestId: requestIdSchema };

export const cardActionSchemas = {
  /**
   * Re-render the form (e.g. after choosing an account); all inputs optional, none trusted.
   * `presetDurationMinutes`: the duration the form preselected (not typed); it only decides what
   * the next form preselects, so anything unusable is dropped rather than refused.
   */
  'request.form': z.object({ clientRequestId, ...requestFormInputs, presetDurationMinutes: wholeNumber(LIMITS.durationMinutesMax).optional().catch(undefined) }),
  /**
   * Submit. Field presence is checked here; the full rules (lengths, policy, ticket pattern) are
   * the bridge's, whose issues the bot shows on the same card.
   */
  'request.submit': z
    .object({
      clientRequestId,
      ...requestFormInputs,
      accountId: z.preprocess(emptyToUndefined, z.optional(accountIdSchema)).refine((v) => v !== undefined, 'choose an account'),
      permissionSetName: z.preprocess(emptyToUndefined, z.optional(permissionSetNameSchema)).refine((v) => v !== undefined, 'choose a permission set'),
      durationMinutes: z.preprocess(emptyToUndefined, wholeNumber(LIMITS.durationMinutesMax).optional()).refine((v) => v !== undefined, 'enter a duration'),
      justification: z.preprocess(
        emptyToUndefined,
        z
          .string({ error: 'enter a justification' })
          .min(LIMITS.justificationMin, `must be at least ${LIMITS.justificationMin} characters`)
          .max(LIMITS.justificationMax, `must be at most ${LIMITS.justificationMax} characters`),
      ),
    }),
  'request.cancel': z.object({ ...requestRef }),
  'request.view': z.object({ ...requestRef }),
  'approval.approve': z.object({ ...requestRef, version: z.number().int().min(0), reason: optionalText(LIMITS.reasonMax) }),
  'approval.deny': z.object({ ...requestRef, version: z.number().int().min(0), reason: optionalText(LIMITS.reasonMax) }),
  'approval.refresh': z.object({ ...requestRef }),
  'review.acknowledge': z.object({ ...requestRef, reviewNote: optionalText(LIMITS.reasonMax) }),
  'grant.revoke': z.object({ ...requestRef }),
  'grant.extend': z.object({ ...requestRef, additionalMinutes: wholeNumber(LIMITS.durationMinutesMax) }),
  'menu.request': z.object({}),
  'menu.mine': z.object({}),
  'menu.pending': z.object({}),
  'menu.help': z.object({}),
  /**
   * SANDBOX ONLY: vote as a demo person (sandbox/seed.ts), the way `npm run sandbox:act` does. The
   * one schema that names a person in card data: the bot acts on it only in sandbox mode, where
   * every person is a fake demo identity (bot/handlers/sandbox-act.ts); anywhere else the verb is
   * refused before anything is called. The decision is in the data (not the verb) because the
   * buttons play several people with either decision.
   */
  'sandbox.act': z.object({ ...requestRef, person: z.string().regex(/^[a-z]{1,32}$/, 'must be a demo person\'s key'), decision: z.enum(['approve', 'deny']) }),
} as const satisfies Record<CardVerb, z.ZodType>;

export type CardActionData<V extends CardVerb> = z.infer<(typeof cardActionSchemas)[V]>;

export function isCardVerb(verb: unknown): verb is CardVerb {
  return typeof verb === 'string' && (ALL_CARD_VERBS as readonly string[]).includes(verb);
}

/**
 * Validates an Action.Execute invoke's verb and data together. Returns the parsed data, or the
 * issues as {path, message} (the shape requestFormCard's `errors` takes).
 */
export function parseCardAction(
  verb: unknown,
  data: unknown,
):
  | { ok: true; verb: CardVerb; data: CardActionData<CardVerb> }
  | { ok: false; issues: Array<{ path: string; message: string }> } {
  if (!isCardVerb(verb)) return { ok: false, issues: [{ path: 'verb', message: 'is not a known card action' }] };
  const parsed = cardActionSchemas[verb].safeParse(data ?? {});
  if (parsed.success) return { ok: true, verb, data: parsed.data as CardActionData<CardVerb> };
  return { ok: false, issues: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(data)', message: i.message })) };
}
