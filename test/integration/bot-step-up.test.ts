/**
 * Step-up for approvals over the Bot Framework protocol: the real bot (express + CloudAdapter in
 * test mode) over HTTP, the real bridge handler (core services on in-memory ports) behind the
 * sandbox's JWT authorizer, and the sandbox's local issuer playing Entra for the Teams SSO tokens.
 * A click is an `adaptiveCard/action` invoke as Teams sends it; the second click carries
 * `value.authentication` as Teams sends it after the bot's 401 loginRequest ("Add code to enable SSO
 * for Adaptive Cards Universal Actions", learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/Universal-actions-for-adaptive-cards/sso-adaptive-cards-universal-action).
 */
import { strict as assert } from 'node:assert';
import { parseBotConfig } from '../../bot/config';
import { type RunningBot, startBot } from '../../bot/server';
import { LOGIN_REQUEST_TYPE } from '../../bot/step-up';
import { MemoryConversationStore } from '../../bot/storage/memory';
import { FakeClock } from '../../core/memory';
import type { Policy } from '../../core/policy/types';
import * as svc from '../../core/services';
import { createBridgeHandler } from '../../lambdas/bridge/handler';
import {
  SANDBOX_BOT_APP_ID,
  SANDBOX_BRIDGE_AUDIENCE,
  SANDBOX_SSO_APPLICATION_ID_URI,
  SANDBOX_SSO_CONNECTION_NAME,
  createJwtAuthorizer,
  createLocalIssuer,
  type LocalIssuer,
} from '../../sandbox/jwt-authorizer';
import { type RunningBridge, startLocalBridge } from '../../sandbox/orchestrator/bridge-server';
import { ConnectorRecorder } from '../support/connector-recorder';
import { POLICY, USERS, actor, body, startWorkflow, world } from '../support/core-world';

const TENANT = '00000000-0000-0000-0000-000000000000';
const CHANNEL = '19:oncall@thread.tacv2';
const BOT_ID = '28:jit-access-bot';
type Json = Record<string, unknown>;
type Person = (typeof USERS)[keyof typeof USERS];

const MFA_10_MIN = { acrs: [], amr: ['mfa'], maxTokenAgeSeconds: 600 };
const STEP_UP_POLICY: Policy = {
  ...POLICY,
  rules: POLICY.rules.map((r) => (r.id === 'admin' ? { ...r, stepUp: { approve: MFA_10_MIN } } : r.id === 'poweruser' ? { ...r, stepUp: { breakGlass: MFA_10_MIN } } : r)),
};

describe('step-up for approvals over the Bot Framework protocol', function () {
  this.timeout(20_000);
  let issuer: LocalIssuer;
  let w: ReturnType<typeof world>;
  let bridge: RunningBridge;
  let connector: ConnectorRecorder;
  let bot: RunningBot | undefined;
  let seq = 0;

  before(async () => {
    issuer = await createLocalIssuer({ tenantId: TENANT, audience: SANDBOX_BRIDGE_AUDIENCE });
  });

  async function start(o: { sso?: boolean } = {}) {
    w = world({ policy: STEP_UP_POLICY, clock: new FakeClock(Date.UTC(2026, 10, 30, 9, 0, 0)) });
    bridge = await startLocalBridge({
      port: 0,
      identity: { botAppId: SANDBOX_BOT_APP_ID, tenantId: TENANT, audience: SANDBOX_BRIDGE_AUDIENCE },
      authorize: createJwtAuthorizer({ issuer: issuer.issuer, audience: SANDBOX_BRIDGE_AUDIENCE, jwks: issuer.jwks }),
      handler: createBridgeHandler(w.deps, { botAppId: SANDBOX_BOT_APP_ID, tenantId: TENANT, audience: SANDBOX_BRIDGE_AUDIENCE }),
    });
    connector = new ConnectorRecorder();
    await connector.start();
    for (const u of Object.values(USERS) as Person[]) connector.addMember({ id: `29:${u.userId}`, aadObjectId: u.aadObjectId!, name: u.displayName, userPrincipalName: u.upn!, email: u.upn! });
    const config = parseBotConfig({
      JIT_BOT_MODE: 'test',
      JIT_ALLOWED_TENANT_IDS: TENANT,
      JIT_BRIDGE_URL: bridge.url,
      JIT_NOTIFY_SECRET: 'test-notify-secret-0123456789-abcdefghij',
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: CHANNEL,
      JIT_TEAMS_SERVICE_URL: connector.url,
      JIT_APPROVER_AAD_IDS: `${USERS.carol.aadObjectId},${USERS.dan.aadObjectId}`,
      JIT_BOT_PORT: '0',
      ...(o.sso === false ? {} : { JIT_SSO_CONNECTION_NAME: SANDBOX_SSO_CONNECTION_NAME, JIT_SSO_APPLICATION_ID_URI: SANDBOX_SSO_APPLICATION_ID_URI }),
    });
    bot = await startBot(config, { tokens: { getToken: () => issuer.mint({ appId: SANDBOX_BOT_APP_ID }) }, clock: w.clock, store: new MemoryConversationStore(), retry: { baseDelayMs: 1 }, stepUpKeys: issuer.jwks });
  }

  afterEach(async () => {
    await bot?.close();
    bot = undefined;
    await connector?.close();
    await bridge?.close();
  });

  async function pending(permissionSetName: 'Admin' | 'PowerUser' = 'Admin'): Promise<string> {
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ permissionSetName, ...(permissionSetName === 'Admin' ? { ticketId: 'INC-7' } : {}) }) });
    await startWorkflow(w, request.id);
    return request.id;
  }

  /** An Action.Execute on the approval card in the on-call channel, as Teams sends it. */
  async function click(user: Person, verb: 'approval.approve' | 'approval.deny', requestId: string, token?: string) {
    const stored = await w.requests.get(requestId);
    return invoke(user, verb, { requestId, version: stored!.version }, token);
  }

  async function invoke(user: Person, verb: string, data: Json, token?: string, where: 'channel' | 'personal' = 'channel') {
    const value = {
      action: { type: 'Action.Execute', verb, data },
      ...(token ? { authentication: { id: `auth-${seq}`, connectionName: SANDBOX_SSO_CONNECTION_NAME, token } } : {}),
    };
    const activity = {
      type: 'invoke',
      name: 'adaptiveCard/action',
      id: `activity-${++seq}`,
      timestamp: new Date().toISOString(),
      channelId: 'msteams',
      serviceUrl: connector.url,
      from: { id: `29:${user.userId}`, name: user.displayName, aadObjectId: user.aadObjectId },
      recipient: { id: BOT_ID, name: 'JIT Access' },
      conversation: where === 'channel' ? { id: `${CHANNEL};messageid=777`, conversationType: 'channel', isGroup: true, tenantId: TENANT } : { id: `a:personal-${user.userId}`, conversationType: 'personal', tenantId: TENANT },
      channelData: where === 'channel' ? { tenant: { id: TENANT }, channel: { id: CHANNEL }, team: { id: '19:team@thread.tacv2' } } : { tenant: { id: TENANT } },
      replyToId: '777',
      value,
    };
    const res = await fetch(`${bot!.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
    const text = await res.text();
    const answer = (text ? JSON.parse(text) : {}) as Json;
    return { status: res.status, body: answer, text: JSON.stringify(answer.value ?? {}) };
  }

  const nowSeconds = () => Math.floor(w.clock.now() / 1000);
  const tokenFor = (user: Person, o: { mfa?: boolean; ageSeconds?: number; oid?: string } = {}) =>
    issuer.mintUser({ oid: o.oid ?? user.aadObjectId!, mfa: o.mfa ?? true, issuedAt: nowSeconds() - (o.ageSeconds ?? 30) });

  const votes = async (id: string) => (await w.requests.get(id))!.votes;

  it('no token: a 401 loginRequest for the bot\'s SSO connection, and nothing recorded', async () => {
    await start();
    const id = await pending();
    const before = (await w.requests.get(id))!.version;
    const r = await click(USERS.carol, 'approval.approve', id);
    assert.equal(r.status, 401);
    assert.equal(r.body.statusCode, 401);
    assert.equal(r.body.type, LOGIN_REQUEST_TYPE);
    const value = r.body.value as { text: string; connectionName: string; tokenExchangeResource: { id: string; uri: string } };
    assert.equal(value.connectionName, SANDBOX_SSO_CONNECTION_NAME);
    assert.equal(value.tokenExchangeResource.uri, SANDBOX_SSO_APPLICATION_ID_URI);
    assert.match(value.text, /sign in again with multi-factor authentication/);
    assert.equal((await votes(id)).length, 0);
    assert.equal((await w.requests.get(id))!.version, before, 'nothing written');
    assert.equal(w.audit.events.filter((e) => e.requestId === id && e.action === 'request.vote').length, 0);
  });

  it('a valid token after the loginRequest: the vote counts, with its evidence on the vote, in the audit and on the card', async () => {
    await start();
    const id = await pending();
    assert.equal((await click(USERS.carol, 'approval.approve', id)).status, 401);
    const r = await click(USERS.carol, 'approval.approve', id, await tokenFor(USERS.carol));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.type, 'application/vnd.microsoft.card.adaptive');
    assert.match(r.text, /verified with MFA/);
    const [vote] = await votes(id);
    assert.deepEqual(vote!.stepUp, { method: 'amr', values: ['mfa'], tokenIssuedAt: new Date((nowSeconds() - 30) * 1000).toISOString(), tokenAgeSeconds: 30 });
    const event = w.audit.events.find((e) => e.requestId === id && e.action === 'request.vote');
    assert.equal(event?.details?.stepUpMethod, 'amr');
    assert.equal(event?.details?.stepUpTokenAgeSeconds, 30);
    // Dan completes the quorum the same way.
    assert.equal((await click(USERS.dan, 'approval.approve', id)).status, 401);
    assert.equal((await click(USERS.dan, 'approval.approve', id, await tokenFor(USERS.dan))).status, 200);
    assert.equal((await w.requests.get(id))!.state, 'APPROVED');
  });

  it('another user\'s token is refused on the card (no new sign-in prompt), nothing recorded', async () => {
    await start();
    const id = await pending();
    const r = await click(USERS.carol, 'approval.approve', id, await tokenFor(USERS.dan));
    assert.equal(r.status, 200);
    assert.match(r.text, /belongs to another user/);
    assert.match(r.text, /approval\.approve/, 'the buttons stay so that Carol can try again');
    assert.equal((await votes(id)).length, 0);
  });

  it('a stale token is refused with its age and the limit', async () => {
    await start();
    const id = await pending();
    const r = await click(USERS.carol, 'approval.approve', id, await tokenFor(USERS.carol, { ageSeconds: 15 * 60 }));
    assert.equal(r.status, 200);
    assert.match(r.text, /15 min old.*at most 10 min old/);
    assert.equal((await votes(id)).length, 0);
  });

  it('a token without the MFA claim is refused, and so is a forged one', async () => {
    await start();
    const id = await pending();
    const weak = await click(USERS.carol, 'approval.approve', id, await tokenFor(USERS.carol, { mfa: false }));
    assert.equal(weak.status, 200);
    assert.match(weak.text, /not done with multi-factor authentication/);
    const stranger = await createLocalIssuer({ tenantId: TENANT, audience: SANDBOX_BRIDGE_AUDIENCE });
    const forged = await click(USERS.carol, 'approval.approve', id, await stranger.mintUser({ oid: USERS.carol.aadObjectId!, mfa: true, issuedAt: nowSeconds() }));
    assert.match(forged.text, /signature does not match/);
    assert.equal((await votes(id)).length, 0);
  });

  it('a deny needs the sign-in too; a request whose rule has no step-up is voted with a plain click', async () => {
    await start();
    const admin = await pending();
    assert.equal((await click(USERS.dan, 'approval.deny', admin)).status, 401);
    assert.equal((await w.requests.get(admin))!.state, 'PENDING_APPROVAL');
    const power = await pending('PowerUser');
    const r = await click(USERS.carol, 'approval.approve', power);
    assert.equal(r.status, 200);
    assert.doesNotMatch(r.text, /verified with MFA/);
    assert.equal((await w.requests.get(power))!.state, 'APPROVED');
  });

  it('break-glass under stepUp.breakGlass: loginRequest first, then one request with the sign-in in its audit; a weak sign-in is refused on the form', async () => {
    await start();
    const form = { clientRequestId: 'cr-bg-000001', accountId: '222222222222', permissionSetName: 'PowerUser', durationMinutes: 20, justification: 'Production outage, customers down', breakGlass: true };
    const first = await invoke(USERS.alice, 'request.submit', form, undefined, 'personal');
    assert.equal(first.status, 401);
    assert.equal(first.body.type, LOGIN_REQUEST_TYPE);
    assert.match(JSON.stringify(first.body.value), /To use break-glass you must sign in again/);
    assert.equal((await w.requests.list({ requesterUserId: USERS.alice.userId })).length, 0);
    const weak = await invoke(USERS.alice, 'request.submit', form, await tokenFor(USERS.alice, { mfa: false }), 'personal');
    assert.equal(weak.status, 200);
    assert.match(weak.text, /not done with multi-factor authentication/);
    assert.equal((await w.requests.list({ requesterUserId: USERS.alice.userId })).length, 0);
    const ok = await invoke(USERS.alice, 'request.submit', form, await tokenFor(USERS.alice), 'personal');
    assert.equal(ok.status, 200, ok.text);
    const [request] = await w.requests.list({ requesterUserId: USERS.alice.userId });
    assert.equal(request?.route, 'break_glass');
    const submitted = [...w.audit.events, ...(request!.auditOutbox ?? [])].find((e) => e.requestId === request!.id && e.action === 'request.submitted');
    assert.equal(submitted?.details?.stepUpMethod, 'amr');
  });

  it('without SSO configured, a step-up vote is refused with what is missing, never counted as a plain click', async () => {
    await start({ sso: false });
    const id = await pending();
    const r = await click(USERS.carol, 'approval.approve', id);
    assert.equal(r.status, 200);
    assert.match(r.text, /not set up for Teams single sign-on/);
    const withToken = await click(USERS.carol, 'approval.approve', id, await tokenFor(USERS.carol));
    assert.match(withToken.text, /not set up for Teams single sign-on/);
    assert.equal((await votes(id)).length, 0);
  });
});
