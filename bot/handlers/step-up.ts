/**
 * The step-up steps every handler that can need a fresh sign-in shares (votes, break-glass
 * submits; bot/step-up.ts has the protocol): read and verify the token Teams re-sent, and turn the
 * bridge's STEP_UP_* refusals into the loginRequest or into a message for the card.
 */
import type { StepUpClaims } from '../../core/api';
import { BridgeRefusal } from '../bridge-client';
import { LoginRequired, StepUpTokenError, authenticationToken } from '../step-up';
import type { ActionContext } from './types';

export type TurnStepUp = { ok: true; claims?: StepUpClaims } | { ok: false; message: string };

/** The verified claims of the sign-in that came with this action, none when none came, or why it does not count. */
export async function stepUpOfTurn(ctx: ActionContext, what: string): Promise<TurnStepUp> {
  const token = authenticationToken(ctx.turn.activity.value);
  if (!token) return { ok: true };
  if (!ctx.deps.stepUp) return { ok: false, message: 'A sign-in came with this click but this bot is not set up for Teams single sign-on, so it cannot check it. Nothing was recorded.' };
  try {
    return { ok: true, claims: await ctx.deps.stepUp.verify(token, { aadObjectId: (await ctx.actor()).aadObjectId }) };
  } catch (e) {
    if (e instanceof StepUpTokenError) {
      ctx.deps.log.warn('step-up token refused', { what, reason: e.message });
      return { ok: false, message: e.message };
    }
    throw e;
  }
}

/**
 * For a STEP_UP_* refusal of the bridge: throws LoginRequired (the dispatcher answers Teams with
 * the loginRequest) when no sign-in came and SSO is configured, else the message for the card.
 * Undefined for any other error.
 */
export function stepUpRefusal(ctx: ActionContext, e: unknown, claims: StepUpClaims | undefined): string | undefined {
  if (!(e instanceof BridgeRefusal)) return undefined;
  if (e.code === 'STEP_UP_REJECTED') return e.message;
  if (e.code !== 'STEP_UP_REQUIRED') return undefined;
  if (!claims && ctx.deps.stepUp) throw new LoginRequired(e.message);
  return `${e.message} This bot is not set up for Teams single sign-on, so it cannot ask you to: your administrator must configure it (docs/SECURITY.md, "Entra setup for step-up"). Nothing was recorded.`;
}
