/**
 * The sandbox's Entra stand-in, its API Gateway JWT authorizer stand-in and the real bridge handler,
 * over real HTTP on port 0: who checks what. The authorizer refuses what API Gateway refuses (a v1
 * issuer, an api:// audience) with API Gateway's 401; a token the authorizer must admit (right iss
 * and aud) but which is not an Entra v2 app-only token of the bot is refused by the bridge itself
 * with 403. Claims reach the handler rendered as API Gateway renders them (strings, `[a b]`).
 */
import { strict as assert } from 'node:assert';
import { ACTOR_HEADERS } from '../../contract/bridge';
import { createBridgeHandler } from '../../lambdas/bridge/handler';
import { apiGatewayClaimString, type RunningBridge, startLocalBridge } from '../../sandbox/orchestrator/bridge-server';
import { BRIDGE_APP_ROLE, createJwtAuthorizer, createLocalIssuer, type LocalIssuer, SANDBOX_BRIDGE_AUDIENCE } from '../../sandbox/jwt-authorizer';
import { USERS, world } from '../support/core-world';

const TENANT = '00000000-0000-0000-0000-000000000000';
const BOT = '00000000-0000-4000-8000-00000000b07a';

describe('sandbox bridge: Entra v2 tokens, the authorizer stand-in and the bridge (who checks what)', () => {
  let issuer: LocalIssuer;
  let bridge: RunningBridge;
  const seen: Array<Record<string, unknown>> = [];

  before(async () => {
    issuer = await createLocalIssuer({ tenantId: TENANT, audience: SANDBOX_BRIDGE_AUDIENCE });
    const handler = createBridgeHandler(world().deps, { botAppId: BOT, tenantId: TENANT, audience: SANDBOX_BRIDGE_AUDIENCE });
    bridge = await startLocalBridge({
      port: 0,
      identity: { botAppId: BOT, tenantId: TENANT, audience: SANDBOX_BRIDGE_AUDIENCE },
      authorize: createJwtAuthorizer({ issuer: issuer.issuer, audience: SANDBOX_BRIDGE_AUDIENCE, jwks: issuer.jwks }),
      handler: async (event) => {
        seen.push(event.requestContext.authorizer.jwt.claims);
        return handler(event);
      },
    });
  });
  after(() => bridge.close());

  const list = (token: string) =>
    fetch(`${bridge.url}/requests?view=mine`, {
      headers: { authorization: `Bearer ${token}`, [ACTOR_HEADERS.tenantId]: TENANT, [ACTOR_HEADERS.aadObjectId]: USERS.alice.aadObjectId!, [ACTOR_HEADERS.upn]: USERS.alice.upn! },
    });

  it('admits the bot\'s v2 token; the handler sees every claim as a string and roles as "[Bridge.Invoke]"', async () => {
    seen.length = 0;
    const r = await list(await issuer.mint({ appId: BOT }));
    assert.equal(r.status, 200, await r.clone().text());
    const claims = seen[0]!;
    assert.equal(claims.roles, `[${BRIDGE_APP_ROLE}]`);
    assert.equal(claims.ver, '2.0');
    assert.equal(typeof claims.exp, 'string');
    assert.equal(apiGatewayClaimString(['a', 'b']), '[a b]');
  });

  it('401 from the authorizer for a v1 token and for an api:// audience (API Gateway checks iss and aud)', async () => {
    seen.length = 0;
    assert.equal((await list(await issuer.mint({ appId: BOT, version: '1.0' }))).status, 401);
    assert.equal((await list(await issuer.mint({ appId: BOT, audience: 'api://jit-bridge' }))).status, 401);
    assert.equal(seen.length, 0, 'the handler never ran');
  });

  it('403 from the bridge for what API Gateway lets through: another app, no app role', async () => {
    for (const token of [
      await issuer.mint({ appId: '99999999-9999-9999-9999-999999999999' }),
      await issuer.mint({ appId: BOT, roles: [] }),
      await issuer.mint({ appId: BOT, roles: ['Some.Other.Role'] }),
    ]) {
      const r = await list(token);
      assert.equal(r.status, 403, await r.clone().text());
    }
  });
});
