/**
 * The bridge's half of step-up (docs/SECURITY.md, "Approving in chat"). The bot verified the
 * token's signature, issuer and audience against Entra's keys and sends its claims; here the claims
 * are held against what only the server knows: the request's rule, the acting user and the clock.
 * A missing sign-in asks for one (StepUpRequiredError); a sign-in that falls short is refused with
 * the reason (StepUpRejectedError) and is never treated as a plain click.
 */
import type { StepUpClaims } from '../api';
import { StepUpRejectedError, StepUpRequiredError } from '../errors';
import type { Actor, StepUpEvidence, StepUpRequirement } from '../model';
import { humanDuration, iso } from '../time';

/** Clock skew tolerated on a token's `iat` in the future (Entra's and our clocks are both NTP-synced). */
export const STEP_UP_CLOCK_SKEW_SECONDS = 300;

/** Plain words for what a requirement asks, for prompts and refusals. */
export function describeStepUp(req: StepUpRequirement): string {
  const parts = [
    ...req.acrs.map((c) => `the Conditional Access authentication context ${c}`),
    ...(req.amr.includes('mfa') ? ['multi-factor authentication'] : []),
    ...req.amr.filter((m) => m !== 'mfa').map((m) => `the sign-in method ${m}`),
  ];
  return `${parts.join(' and ')}, within the last ${humanDuration(req.maxTokenAgeSeconds)}`;
}

/**
 * Checks a step-up sign-in against a requirement. Returns the evidence to record, or undefined when
 * the requirement is absent (no step-up needed; any claims sent are ignored). `what` names the
 * action in messages ("vote on this request").
 */
export function checkStepUp(input: { requirement: StepUpRequirement | undefined; claims: StepUpClaims | undefined; actor: Actor; now: number; what: string }): StepUpEvidence | undefined {
  const { requirement: req, claims, actor, now, what } = input;
  if (!req) return undefined;
  if (!claims) throw new StepUpRequiredError(`To ${what} you must sign in again with ${describeStepUp(req)}.`, req);
  // The bot compared oid with the clicking user; the bridge compares it with the actor it resolved itself.
  if (!actor.aadObjectId || claims.oid.toLowerCase() !== actor.aadObjectId.toLowerCase()) {
    throw new StepUpRejectedError(`The sign-in sent with this action belongs to another user, so it does not count. Nothing was recorded.`);
  }
  const ageSeconds = Math.floor(now / 1000) - claims.iat;
  if (ageSeconds < -STEP_UP_CLOCK_SKEW_SECONDS) throw new StepUpRejectedError('The sign-in sent with this action is dated in the future, so it does not count. Nothing was recorded.');
  if (ageSeconds > req.maxTokenAgeSeconds) {
    throw new StepUpRejectedError(
      `Your sign-in is ${humanDuration(ageSeconds)} old; to ${what} it must be at most ${humanDuration(req.maxTokenAgeSeconds)} old. Sign out of Teams and in again (or wait for Teams to renew it), then retry. Nothing was recorded.`,
    );
  }
  const missingAcrs = req.acrs.filter((c) => !claims.acrs.includes(c));
  if (missingAcrs.length > 0) {
    const none = claims.acrs.length === 0;
    throw new StepUpRejectedError(
      `Your sign-in does not satisfy the authentication context ${missingAcrs.join(', ')} (its acrs claim ${none ? 'is missing' : `holds only ${claims.acrs.join(', ')}`}), which is needed to ${what}. ` +
        (none
          ? 'Entra only issues acrs when a Conditional Access policy targets that authentication context for this app: ask your Entra administrator to create it (docs/SECURITY.md, "Entra setup"). '
          : '') +
        'Nothing was recorded.',
    );
  }
  const missingAmr = req.amr.filter((m) => !claims.amr.includes(m));
  if (missingAmr.length > 0) {
    throw new StepUpRejectedError(
      `Your sign-in was not done with ${missingAmr.includes('mfa') ? 'multi-factor authentication' : missingAmr.join(', ')} (its amr claim holds ${claims.amr.length ? claims.amr.join(', ') : 'nothing'}), which is needed to ${what}. ` +
        (claims.amr.length === 0
          ? 'Entra puts amr only in v1.0 access tokens: if the bot app registration sets accessTokenAcceptedVersion to 2, amr never comes, and the rule should name an authentication context (acrs) instead (docs/POLICY.md). '
          : 'Sign in again with MFA, then retry. ') +
        'Nothing was recorded.',
    );
  }
  const method = req.acrs.length > 0 ? 'acrs' : 'amr';
  return {
    method,
    values: method === 'acrs' ? [...req.acrs, ...req.amr] : [...req.amr],
    tokenIssuedAt: iso(claims.iat * 1000),
    tokenAgeSeconds: Math.max(0, ageSeconds),
  };
}
