/**
 * bot/teams/connector.ts: CloudAdapter asks for a connector client and a user token client on
 * every turn. The bot hands out one connector client per (app id, service URL, audience), with the
 * delivery policy installed once, and one user token client per app id.
 */
import { strict as assert } from 'node:assert';
import { type Activity, ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import { AuthenticationConstants, ClaimsIdentity } from 'botframework-connector';
import { DeliveryBotFrameworkAuthentication } from '../../bot/teams/connector';
import type { PipelinePolicyLike } from '../../bot/delivery';

const policy: PipelinePolicyLike = { name: 'jitDelivery', sendRequest: (request, next) => next(request) };

const activity = (serviceUrl: string): Activity => ({ type: 'message', channelId: 'msteams', serviceUrl, conversation: { id: 'a:1' }, from: { id: '29:1' }, recipient: { id: '28:bot' } }) as unknown as Activity;

interface PipelineView {
  getOrderedPolicies(): Array<{ name: string }>;
}
const policiesOf = (client: unknown) => (client as { client: { pipeline: PipelineView } }).client.pipeline.getOrderedPolicies().map((p) => p.name);

describe('bot connector clients', () => {
  it('turns on the same service URL share one connector client, with the delivery policy installed once', async () => {
    const auth = new DeliveryBotFrameworkAuthentication(new ConfigurationBotFrameworkAuthentication({}), policy);
    const clients = [];
    for (let i = 0; i < 3; i++) {
      const result = await auth.authenticateRequest(activity('https://smba.example.invalid/emea/'), '');
      clients.push(await result.connectorFactory!.create('https://smba.example.invalid/emea/', result.audience));
    }
    assert.equal(clients[1], clients[0]);
    assert.equal(clients[2], clients[0]);
    assert.equal(auth.connectorClients.size, 1);
    const names = policiesOf(clients[0]);
    assert.equal(names.filter((n) => n === 'jitDelivery').length, 1, names.join(', '));
    assert.ok(!names.includes('exponentialRetryPolicy') && !names.includes('defaultRetryPolicy'), names.join(', '));
  });

  it('another service URL, audience or app id gets its own client', async () => {
    const auth = new DeliveryBotFrameworkAuthentication(new ConfigurationBotFrameworkAuthentication({}), policy);
    const result = await auth.authenticateRequest(activity('https://smba.example.invalid/emea/'), '');
    const emea = await result.connectorFactory!.create('https://smba.example.invalid/emea/', result.audience);
    const amer = await result.connectorFactory!.create('https://smba.example.invalid/amer/', result.audience);
    const otherAudience = await result.connectorFactory!.create('https://smba.example.invalid/emea/', 'https://api.botframework.us');
    const claims = (appId: string) => new ClaimsIdentity([{ type: AuthenticationConstants.AudienceClaim, value: appId }, { type: AuthenticationConstants.AppIdClaim, value: appId }], true);
    const appA = await auth.createConnectorFactory(claims('11111111-0000-0000-0000-000000000001')).create('https://smba.example.invalid/emea/', undefined);
    const appB = await auth.createConnectorFactory(claims('11111111-0000-0000-0000-000000000002')).create('https://smba.example.invalid/emea/', undefined);
    const appAAgain = await auth.createConnectorFactory(claims('11111111-0000-0000-0000-000000000001')).create('https://smba.example.invalid/emea/', undefined);
    assert.equal(new Set([emea, amer, otherAudience, appA, appB]).size, 5);
    assert.equal(appAAgain, appA);
  });

  it('the user token client is made once per app id (CloudAdapter asks for one on every turn)', async () => {
    const auth = new DeliveryBotFrameworkAuthentication(new ConfigurationBotFrameworkAuthentication({}), policy);
    const a1 = await auth.createUserTokenClient((await auth.authenticateRequest(activity('https://smba.example.invalid/emea/'), '')).claimsIdentity);
    const a2 = await auth.createUserTokenClient((await auth.authenticateRequest(activity('https://smba.example.invalid/amer/'), '')).claimsIdentity);
    assert.equal(a2, a1);
    const claims = new ClaimsIdentity([{ type: AuthenticationConstants.AudienceClaim, value: '11111111-0000-0000-0000-000000000001' }], true);
    const other = await auth.createUserTokenClient(claims);
    assert.notEqual(other, a1);
    assert.equal(await auth.createUserTokenClient(claims), other);
  });

  it('the cache is bounded: the oldest client goes first', async () => {
    const auth = new DeliveryBotFrameworkAuthentication(new ConfigurationBotFrameworkAuthentication({}), policy);
    const factory = (await auth.authenticateRequest(activity('https://smba.example.invalid/0/'), '')).connectorFactory!;
    const first = await factory.create('https://smba.example.invalid/0/', undefined);
    for (let i = 1; i <= 64; i++) await factory.create(`https://smba.example.invalid/${i}/`, undefined);
    assert.equal(auth.connectorClients.size, 64);
    assert.notEqual(await factory.create('https://smba.example.invalid/0/', undefined), first);
  });
});
