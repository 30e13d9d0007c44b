/**
 * `sandbox.act` (SANDBOX ONLY): a "Sandbox: approve as Carol" button on the channel card. The
 * Agents Playground shows one user, so nobody else can click Approve there; this button casts the
 * vote as the demo person through exactly what `npm run sandbox:act` runs (sandbox/click-act.ts
 * calls sandbox/act.ts's `act`): the bridge's decision call with that person's identity, the
 * policy's checks and refusals, and step-up with the sandbox's local issuer where the rule wants a
 * fresh sign-in. The posted cards then follow through the normal notice path.
 *
 * Outside sandbox mode `ctx.deps.sandbox` is absent (bot/app.ts drops it), so a forged invoke with
 * this verb is refused here, before any call: nothing changes.
 */
import { cardActionSchemas } from '../../cards';
import type { RequestView } from '../../core/api';
import { approvalView, messageCard, withNotice } from './render';
import { defineHandler } from './types';

export const SANDBOX_ONLY_TEXT = 'Sandbox actions work only when the bot runs in sandbox mode. Nothing was changed.';

export default defineHandler('sandbox.act', cardActionSchemas['sandbox.act'], async (ctx, data) => {
  const sandbox = ctx.deps.sandbox;
  if (!sandbox) {
    ctx.deps.log.warn('sandbox.act refused: the bot is not in sandbox mode', { requestId: data.requestId });
    return messageCard('Not available', SANDBOX_ONLY_TEXT, 'attention');
  }
  const result = await sandbox.act(data.person, data.decision, data.requestId);
  const text = result.lines.join(' ');
  // The card as it is now: read as the person who voted (an approver sees the request), else as the clicker.
  let request: RequestView | undefined;
  for (const viewer of [result.actor, await ctx.actor().catch(() => undefined)]) {
    if (!viewer || request) continue;
    request = await ctx.deps.bridge.getRequest(viewer, data.requestId).then(
      (r) => r.request,
      () => undefined,
    );
  }
  if (!request) return messageCard(result.ok ? 'Sandbox vote recorded' : 'Sandbox vote refused', text, result.ok ? 'good' : 'attention');
  return withNotice(await approvalView(ctx, request, false), text, result.ok ? 'good' : 'attention');
});
