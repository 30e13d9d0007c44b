/**
 * A Teams activity from a demo person, as the sandbox's bot receives it from Teams: their 1:1 chat
 * or the on-call channel of the playground's team, with the connector at `serviceUrl` taking the
 * replies. Tests and benchmarks that drive the sandbox's bot over HTTP build their activities here.
 */
import { PLAYGROUND_IDS } from '../../sandbox/playground';
import type { DemoPerson } from '../../sandbox/seed';

export const SANDBOX_BOT_ID = '28:jit-access-sandbox-bot';

export interface SandboxActivityOptions {
  type?: string;
  text?: string;
  name?: string;
  value?: unknown;
  where: 'personal' | 'channel';
}

export function sandboxActivity(ctx: { id: string; serviceUrl: string; tenantId: string; botId?: string }, user: DemoPerson, o: SandboxActivityOptions): Record<string, unknown> {
  const { tenantId } = ctx;
  return {
    type: o.type ?? 'message',
    id: ctx.id,
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: ctx.serviceUrl,
    from: { id: user.teamsUserId, name: `${user.givenName} ${user.surname}`, aadObjectId: user.aadObjectId },
    recipient: { id: ctx.botId ?? SANDBOX_BOT_ID, name: 'JIT Access' },
    conversation:
      o.where === 'personal'
        ? { id: `a:personal-${user.key}`, conversationType: 'personal', tenantId }
        : { id: `${PLAYGROUND_IDS.oncallChannel};messageid=1`, conversationType: 'channel', isGroup: true, tenantId },
    channelData: { tenant: { id: tenantId }, ...(o.where === 'channel' ? { channel: { id: PLAYGROUND_IDS.oncallChannel }, team: { id: PLAYGROUND_IDS.team } } : {}) },
    ...(o.text !== undefined ? { text: o.text } : {}),
    ...(o.name ? { name: o.name } : {}),
    ...(o.value !== undefined ? { value: o.value } : {}),
  };
}
