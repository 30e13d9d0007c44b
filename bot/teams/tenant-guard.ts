/**
 * First middleware on every inbound turn: an activity from a tenant that is not on the allow-list
 * (or that names two different tenants) is refused with a bare 403 for invokes and silence for
 * everything else. Nothing about the bot, its cards or its users is sent back.
 */
import { ActivityTypes, type Middleware, type TurnContext } from 'botbuilder';
import { tenantOf } from '../identity';
import type { Log } from '../log';

export class TenantGuard implements Middleware {
  private readonly allowed: ReadonlySet<string>;

  constructor(
    allowedTenantIds: readonly string[],
    private readonly log: Log,
  ) {
    this.allowed = new Set(allowedTenantIds.map((t) => t.toLowerCase()));
  }

  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    const tenantId = tenantOf(context.activity);
    if (tenantId && this.allowed.has(tenantId)) return next();
    this.log.warn('refused an activity from a tenant that is not allowed', {
      tenantId: tenantId ?? null,
      type: context.activity.type,
      name: context.activity.name,
      channelId: context.activity.channelId,
    });
    if (context.activity.type === ActivityTypes.Invoke) {
      await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: { status: 403 } });
    }
  }
}
