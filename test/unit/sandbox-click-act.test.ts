/**
 * Who the channel card's sandbox buttons play (sandbox/click-act.ts): approvers the request's
 * policy names, never the requester or someone who already voted, and one person the policy
 * refuses, to show the refusal.
 */
import { strict as assert } from 'node:assert';
import type { RequestView } from '../../core/api';
import { createSandboxActing } from '../../sandbox/click-act';
import type { LocalIssuer } from '../../sandbox/jwt-authorizer';
import { loadDemoPeople } from '../../sandbox/seed';

const people = loadDemoPeople();
const person = (key: string) => people.people.find((p) => p.key === key)!;
const actor = (key: string) => ({ userId: person(key).identityStoreUserId, aadObjectId: person(key).aadObjectId, userName: person(key).upn, displayName: person(key).givenName });
const acting = createSandboxActing({ bridgeUrl: 'http://127.0.0.1:9', people, bridgeToken: async () => 'unused', issuer: {} as LocalIssuer });

function request(over: Partial<RequestView> = {}): RequestView {
  return {
    id: 'req-01KB0000000000000000000000',
    state: 'PENDING_APPROVAL',
    route: 'approval',
    requester: actor('alice'),
    votes: [],
    terms: { approverGroups: ['AWS-Approvers'], approvalsRequired: 1 },
    ...over,
  } as unknown as RequestView;
}

const titles = (r: RequestView) => acting.actionsFor(r).map((a) => `${a.decision} as ${a.name}`);

describe('sandbox: who the channel card\'s sandbox buttons play', () => {
  it('Alice\'s request: Carol approves, Dan denies, Erin (not eligible) shows the refusal', () => {
    assert.deepEqual(titles(request()), ['approve as Carol', 'deny as Dan', 'approve as Erin']);
  });

  it('someone who already voted is not offered again: the next approver is', () => {
    assert.deepEqual(titles(request({ votes: [{ approver: actor('carol'), decision: 'approve', at: '2030-01-01T00:00:00.000Z' }] } as Partial<RequestView>)), ['approve as Dan', 'deny as Frank', 'approve as Erin']);
  });

  it('Frank\'s own request: Frank is offered, to show that nobody approves their own request', () => {
    assert.deepEqual(titles(request({ requester: actor('frank') } as Partial<RequestView>)), ['approve as Carol', 'deny as Dan', 'approve as Frank']);
  });

  it('nothing once the request is decided, nor on break-glass', () => {
    assert.deepEqual(acting.actionsFor(request({ state: 'ACTIVE' })), []);
    assert.deepEqual(acting.actionsFor(request({ route: 'break_glass' })), []);
  });

  it('an approver group no demo person is in: only the refusal', () => {
    assert.deepEqual(titles(request({ terms: { approverGroups: ['Nobody'], approvalsRequired: 1 } } as unknown as Partial<RequestView>)), ['approve as Erin']);
  });
});
