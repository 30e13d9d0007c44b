import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import { MsalTokenProvider, TokenAcquisitionError } from '../../bot/token-provider';

const SCOPE = 'api://00000000-0000-0000-0000-00000000000b/.default';

describe('bot msal token provider', () => {
  let now = 1_000_000;
  const clock = () => now;
  beforeEach(() => {
    now = 1_000_000;
  });

  it('caches the token until 5 minutes before it expires', async () => {
    const acquire = sinon.stub().callsFake(async () => ({ accessToken: `t${acquire.callCount}`, expiresOn: new Date(now + 60 * 60_000) }));
    const p = new MsalTokenProvider({ acquireTokenByClientCredential: acquire }, SCOPE, { now: clock });
    assert.equal(await p.getToken(), 't1');
    now += 54 * 60_000;
    assert.equal(await p.getToken(), 't1');
    assert.equal(acquire.callCount, 1);
    assert.deepEqual(acquire.firstCall.args[0], { scopes: [SCOPE] });
    now += 60_001; // 55 min + 1 ms: inside the 5-minute margin
    assert.equal(await p.getToken(), 't2');
    assert.equal(acquire.callCount, 2);
  });

  it('single flight: concurrent callers share one token request', async () => {
    let release!: (v: { accessToken: string; expiresOn: Date }) => void;
    const acquire = sinon.stub().returns(new Promise((r) => (release = r)));
    const p = new MsalTokenProvider({ acquireTokenByClientCredential: acquire }, SCOPE, { now: clock });
    const all = Promise.all(Array.from({ length: 50 }, () => p.getToken()));
    release({ accessToken: 'shared', expiresOn: new Date(now + 3600_000) });
    assert.deepEqual(new Set(await all), new Set(['shared']));
    assert.equal(acquire.callCount, 1);
  });

  it('a failure is not cached: the next caller tries again, and the error hides msal details', async () => {
    const acquire = sinon.stub();
    acquire.onFirstCall().rejects(Object.assign(new Error('AADSTS7000215: Invalid client secret provided. secret=hunter2'), { errorCode: 'invalid_client' }));
    acquire.onSecondCall().resolves({ accessToken: 'ok', expiresOn: new Date(now + 3600_000) });
    const p = new MsalTokenProvider({ acquireTokenByClientCredential: acquire }, SCOPE, { now: clock });
    await assert.rejects(p.getToken(), (e: unknown) => e instanceof TokenAcquisitionError && /invalid_client/.test(e.message) && !/hunter2/.test(e.message));
    assert.equal(await p.getToken(), 'ok');
  });

  it('a null result or a token already inside the margin is used once but not cached', async () => {
    const acquire = sinon.stub();
    acquire.onFirstCall().resolves(null);
    acquire.onSecondCall().resolves({ accessToken: 'short', expiresOn: new Date(now + 60_000) });
    acquire.onThirdCall().resolves({ accessToken: 'long', expiresOn: new Date(now + 3600_000) });
    const p = new MsalTokenProvider({ acquireTokenByClientCredential: acquire }, SCOPE, { now: clock });
    await assert.rejects(p.getToken(), TokenAcquisitionError);
    assert.equal(await p.getToken(), 'short');
    assert.equal(await p.getToken(), 'long');
    assert.equal(acquire.callCount, 3);
  });
});
