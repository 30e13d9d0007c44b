/**
 * `grant.extend`: more time on active access, within the policy's total. Not idempotent on the
 * bridge (two extends add twice), so a timeout tells the user to check before clicking again.
 */
import { cardActionSchemas } from '../../cards';
import { BridgeUnavailableError } from '../bridge-client';
import { errorCard, isRefusalAboutRequest, requesterView } from './render';
import { refusalWithState, viewFor } from './shared';
import { defineHandler } from './types';

export default defineHandler('grant.extend', cardActionSchemas['grant.extend'], async (ctx, data) => {
  try {
    const { request } = await ctx.deps.bridge.extend(await ctx.actor(), data.requestId, { additionalMinutes: data.additionalMinutes });
    return requesterView(ctx, request);
  } catch (e) {
    if (e instanceof BridgeUnavailableError) return errorCard(e, { retrySafe: false });
    if (isRefusalAboutRequest(e)) return refusalWithState(ctx, e, data.requestId, (r) => viewFor(ctx, r));
    throw e;
  }
});
