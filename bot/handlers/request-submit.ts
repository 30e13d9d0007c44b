/**
 * `request.submit`: the bridge validates again and creates the request. Idempotent: the form's
 * clientRequestId goes with every try, so a retry after a timeout (or a double click) gets the
 * same request back. Validation problems come back on the same form with the values kept.
 */
import { cardActionSchemas } from '../../cards';
import type { CreateRequestBody } from '../../core/api';
import { ValidationError } from '../../core/errors';
import { BridgeRefusal, BridgeUnavailableError } from '../bridge-client';
import { errorCard, requesterView, withNotice } from './render';
import { buildRequestForm, formIssues, looseFormValues } from './shared';
import { trackStatusCard } from './status-card';
import { stepUpOfTurn, stepUpRefusal } from './step-up';
import { defineHandler } from './types';

const handler = defineHandler('request.submit', cardActionSchemas['request.submit'], async (ctx, data) => {
  const { clientRequestId, ...values } = data;
  const body: CreateRequestBody = {
    clientRequestId,
    accountId: data.accountId!,
    permissionSetName: data.permissionSetName!,
    durationMinutes: data.durationMinutes!,
    justification: data.justification,
    ...(data.ticketId ? { ticketId: data.ticketId } : {}),
    ...(data.breakGlass ? { breakGlass: true } : {}),
  };
  // Break-glass under a rule with stepUp.breakGlass: the bridge asks for a fresh sign-in, Teams
  // re-sends this same action with it (same clientRequestId: still one request).
  const stepUp = data.breakGlass ? await stepUpOfTurn(ctx, 'break-glass request') : { ok: true as const };
  if (!stepUp.ok) return withNotice(await buildRequestForm(ctx, { clientRequestId, values }), stepUp.message, 'attention');
  if (stepUp.claims) body.stepUp = stepUp.claims;
  try {
    const { request } = await ctx.deps.bridge.submitRequest(await ctx.actor(), body);
    await trackStatusCard(ctx, request);
    return requesterView(ctx, request);
  } catch (e) {
    const stepUpMessage = stepUpRefusal(ctx, e, stepUp.claims);
    if (stepUpMessage) return withNotice(await buildRequestForm(ctx, { clientRequestId, values }), stepUpMessage, 'attention');
    if (e instanceof ValidationError) return buildRequestForm(ctx, { clientRequestId, values, errors: formIssues(e.issues.length ? e.issues : [{ path: '(form)', message: e.message }]) });
    if (e instanceof BridgeRefusal && e.code === 'NOT_ELIGIBLE') return buildRequestForm(ctx, { clientRequestId, values, errors: [{ path: 'permissionSetName', message: e.message }] });
    if (e instanceof BridgeUnavailableError) {
      // Same clientRequestId on the retry: submitting again can never create a second request.
      const form = await buildRequestForm(ctx, { clientRequestId, values }).catch(() => undefined);
      return form ? withNotice(form, `${e.message} Nothing is lost: submit again.`, 'warning') : errorCard(e);
    }
    throw e;
  }
});

export default {
  ...handler,
  /** Fields missing or malformed: show the form again with the problems next to the inputs. */
  async onInvalid(ctx: Parameters<typeof handler.handle>[0], raw: unknown, issues: Array<{ path: string; message: string }>) {
    const clientRequestId = (raw as { clientRequestId?: unknown } | undefined)?.clientRequestId;
    if (typeof clientRequestId !== 'string' || !/^[A-Za-z0-9_-]{8,64}$/.test(clientRequestId)) return undefined;
    return buildRequestForm(ctx, { clientRequestId, values: looseFormValues(raw), errors: formIssues(issues) });
  },
};
