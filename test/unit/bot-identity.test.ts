import { strict as assert } from 'node:assert';
import type { TurnContext } from 'botbuilder';
import sinon from 'sinon';
import { IdentityResolver, UnidentifiedUserError } from '../../bot/identity';

const OID = 'aaaaaaaa-0000-0000-0000-000000000001';
const TENANT = '00000000-0000-0000-0000-000000000001';
const context = (from: Record<string, unknown>, channelTenant = TENANT, conversationTenant = TENANT) =>
  ({ activity: { from: { id: '29:alice', name: 'Alice', ...from }, channelData: { tenant: { id: channelTenant } }, conversation: { id: 'a:1', tenantId: conversationTenant } } }) as unknown as TurnContext;

describe('bot identity: the actor comes from the activity, the UPN from the roster', () => {
  afterEach(() => sinon.restore());

  it('takes the object id and tenant from the activity and the UPN from the roster, cached', async () => {
    const getMember = sinon.stub().resolves({ aadObjectId: OID, userPrincipalName: 'alice@example.com' });
    const r = new IdentityResolver({ getMember });
    assert.deepEqual(await r.actorFor(context({ aadObjectId: OID })), { aadObjectId: OID, tenantId: TENANT, upn: 'alice@example.com', displayName: 'Alice' });
    await r.actorFor(context({ aadObjectId: OID }));
    assert.equal(getMember.callCount, 1);
  });

  it('ignores a roster answer about someone else', async () => {
    const r = new IdentityResolver({ getMember: async () => ({ aadObjectId: 'bbbbbbbb-0000-0000-0000-000000000002', userPrincipalName: 'bob@example.com', name: 'Bob' }) });
    assert.equal((await r.actorFor(context({ aadObjectId: OID }))).upn, undefined);
  });

  it('refuses activities without an Entra id, or whose two tenant fields disagree', async () => {
    const r = new IdentityResolver({ getMember: async () => undefined });
    await assert.rejects(r.actorFor(context({})), UnidentifiedUserError);
    await assert.rejects(r.actorFor(context({ aadObjectId: 'not-a-guid' })), UnidentifiedUserError);
    await assert.rejects(r.actorFor(context({ aadObjectId: OID }, TENANT, '99999999-9999-9999-9999-999999999999')), UnidentifiedUserError);
  });

  it('a roster that never answers costs at most its timeout, and the answer is not cached', async () => {
    const clock = sinon.useFakeTimers();
    const getMember = sinon.stub().returns(new Promise(() => undefined));
    const r = new IdentityResolver({ getMember }, { rosterTimeoutMs: 3000 });
    const pending = r.actorFor(context({ aadObjectId: OID }));
    await clock.tickAsync(3000);
    const actor = await pending;
    assert.equal(actor.upn, undefined);
    assert.equal(actor.aadObjectId, OID);
    getMember.resolves({ aadObjectId: OID, userPrincipalName: 'alice@example.com' });
    assert.equal((await r.actorFor(context({ aadObjectId: OID }))).upn, 'alice@example.com');
  });
});
