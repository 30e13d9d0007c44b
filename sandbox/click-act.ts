/**
 * The sandbox's clickable votes: "Sandbox: approve as Carol", "Sandbox: deny as Dan" on the channel
 * card (bot/handlers/sandbox-act.ts). The Agents Playground shows one user and no user-specific
 * views, so without these nobody could approve in it without a terminal.
 *
 * A click runs `act` from sandbox/act.ts, the function behind `npm run sandbox:act`, with the same
 * arguments a person would type: the same bridge call with the person's identity, the same policy
 * checks and refusals, the same step-up sign-in from the local issuer. Only the sandbox's
 * orchestrator builds this, and the bot uses it only in sandbox mode (bot/app.ts).
 *
 * Who is offered, for a request waiting for votes:
 * - up to two people the policy names as approvers (the request's approver groups), other than the
 *   requester and anyone who already voted: the first to approve, the second to deny;
 * - one the policy refuses, to show the refusal: the requester when they are an approver
 *   themselves (no self-approval), else someone outside the approver groups (Erin).
 */
import type { SandboxCardAction } from '../cards';
import type { RequestView } from '../core/api';
import type { ActorIdentity } from '../bot/bridge-client';
import type { SandboxActing } from '../bot/handlers';
import { act } from './act';
import type { LocalIssuer } from './jwt-authorizer';
import type { DemoPeople, DemoPerson } from './seed';

export interface SandboxActingOptions {
  bridgeUrl: string;
  people: DemoPeople;
  bridgeToken: () => Promise<string>;
  issuer: LocalIssuer;
}

export function createSandboxActing(o: SandboxActingOptions): SandboxActing {
  const groupName = new Map(o.people.groups.map((g) => [g.key, g.displayName]));
  const groupsOf = (p: DemoPerson) => p.groups.map((g) => groupName.get(g) ?? g);
  const sameUser = (p: DemoPerson, a: { userName?: string; aadObjectId?: string } | undefined) =>
    !!a && (a.aadObjectId === p.aadObjectId || (a.userName ?? '').toLowerCase() === p.upn.toLowerCase());
  const button = (p: DemoPerson, decision: 'approve' | 'deny'): SandboxCardAction => ({ person: p.key, name: p.givenName, decision });
  return {
    actionsFor(request: RequestView): SandboxCardAction[] {
      if (request.state !== 'PENDING_APPROVAL' || request.route !== 'approval') return [];
      const approverGroups = new Set(request.terms?.approverGroups ?? []);
      const isApprover = (p: DemoPerson) => groupsOf(p).some((g) => approverGroups.has(g));
      const voted = (p: DemoPerson) => request.votes.some((v) => sameUser(p, v.approver));
      const requester = (p: DemoPerson) => sameUser(p, request.requester);
      const eligible = o.people.people.filter((p) => isApprover(p) && !requester(p) && !voted(p)).slice(0, 2);
      const outsider = (p: DemoPerson) => !isApprover(p) && !requester(p);
      const refused = o.people.people.find((p) => requester(p) && isApprover(p)) ?? o.people.people.find((p) => outsider(p) && p.role === 'not-eligible') ?? o.people.people.find(outsider);
      return [...eligible.map((p, i) => button(p, i === 0 ? 'approve' : 'deny')), ...(refused ? [button(refused, 'approve')] : [])];
    },
    async act(person, decision, requestId) {
      const lines: string[] = [];
      const code = await act([person, decision, requestId], (line) => lines.push(line), o.bridgeUrl, o.bridgeToken, async () => o.issuer);
      const p = o.people.people.find((x) => x.key === person);
      const actor: ActorIdentity | undefined = p ? { aadObjectId: p.aadObjectId, tenantId: o.people.tenantId, upn: p.upn } : undefined;
      return { ok: code === 0, lines, ...(actor ? { actor } : {}) };
    },
  };
}
