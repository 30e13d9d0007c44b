/**
 * The REAL bridge for bot tests: lambdas/bridge/handler.ts `createBridgeHandler` over the in-memory
 * world (core/memory ports, a fake clock, an in-memory directory and a test policy), served on
 * 127.0.0.1:0 exactly as the sandbox serves it (sandbox/orchestrator/bridge-server.ts: API Gateway's
 * payload-2.0 event, behind the JWT authorizer stand-in of sandbox/jwt-authorizer.ts). Validation,
 * policy, quorum, self-approval and state rules are therefore production code, not a copy.
 *
 * What it adds, and nothing more:
 * - `calls`: every call the authorizer let through to the handler, as received (for "what did the
 *   bot send" assertions);
 * - `fault`: a deliberate fault in front of the handler, for the failures a test must provoke and the
 *   real handler cannot be asked for ('down': 503 like an unavailable integration; 'hang': no answer
 *   until close, like a stuck Lambda);
 * - `submit` / `moveTo`: start a test mid-lifecycle by playing the real core services (the state
 *   machine's steps), so every seeded state is one the product can reach.
 *
 * Usage: `const bridge = await startRealBridge();` then give the bot `bridge.url` and
 * `staticTokenProvider(bridge.token)`; read state with `bridge.view(id)` or `bridge.world`.
 */
import { ForbiddenError } from '../../core/errors';
import type { CreateRequestBody } from '../../core/api';
import type { MemoryWorld } from '../../core/memory';
import { type AccessRequest, type Actor, type RequestState, type StoredRequest, toRequestView } from '../../core/model';
import type { Policy } from '../../core/policy/types';
import * as svc from '../../core/services';
import { type BridgeEvent, createBridgeHandler } from '../../lambdas/bridge/handler';
import type { HttpResponse } from '../../lambdas/http';
import { startLocalBridge } from '../../sandbox/orchestrator/bridge-server';
import { createJwtAuthorizer, createLocalIssuer, type LocalIssuer, SANDBOX_BOT_APP_ID, SANDBOX_BRIDGE_AUDIENCE } from '../../sandbox/jwt-authorizer';
import { type BridgeUser, TENANT_ID, testWorld, USERS } from './bridge-fixtures';
import { grant, startWorkflow } from './core-world';

export { POLICY, TENANT_ID, USERS, WORLD_START, type BridgeUser } from './bridge-fixtures';

export interface RecordedBridgeCall {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-case names, as the handler sees them. */
  headers: Record<string, string | undefined>;
  /** The JSON body, parsed (the raw text when it is not JSON; undefined when empty). */
  body: unknown;
}

/** A failure in front of the real handler: 503 (integration unavailable) or no answer at all until close. */
export type BridgeFault = 'down' | 'hang';

export interface RealBridge {
  readonly url: string;
  /** An Entra v2 app-only token of the bot (minted by the sandbox's issuer), for `staticTokenProvider`. */
  readonly token: string;
  /** The backend's state: `world.requests`, `world.clock`, `world.directory`, `world.notifier`, ... */
  readonly world: MemoryWorld;
  readonly calls: RecordedBridgeCall[];
  /** Set to make every call fail this way (before the handler runs); undefined: the real answer. */
  fault: BridgeFault | undefined;
  callsTo(method: string, pathPrefix: string): RecordedBridgeCall[];
  /** The request as the bridge would return it (no server-only fields). Throws if it does not exist. */
  view(id: string): AccessRequest;
  actorOf(user: BridgeUser, displayName?: string): Actor;
  /**
   * Submits through the real core service as `requester` and plays the state machine to the approval
   * wait (PENDING_APPROVAL with a task token) or, for break-glass, to just before the grant.
   * Default body: ReadOnly on prod-payments for 60 minutes.
   */
  submit(requester: BridgeUser | Actor, body?: Partial<CreateRequestBody>): Promise<AccessRequest>;
  /**
   * Moves a request on from where `submit` left it (PENDING_APPROVAL, or APPROVED for break-glass)
   * to `state` with the real services, as the
   * workflow and the people would: `by` votes, revokes (default Carol). CANCELLED is always by the
   * requester (only they may cancel).
   */
  moveTo(id: string, state: RequestState, by?: Actor): Promise<AccessRequest>;
  close(): Promise<void>;
}

let issuerOnce: Promise<LocalIssuer> | undefined;
/** One signing key per test process: RSA key generation is slow, and the key proves nothing per test. */
const testIssuer = () => (issuerOnce ??= createLocalIssuer({ tenantId: TENANT_ID, audience: SANDBOX_BRIDGE_AUDIENCE }));

function bodyOf(event: BridgeEvent): unknown {
  if (!event.body) return undefined;
  try {
    return JSON.parse(event.body) as unknown;
  } catch {
    return event.body;
  }
}

const unavailable: HttpResponse = { statusCode: 503, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Service Unavailable' }) };

export async function startRealBridge(options: { users?: BridgeUser[]; policy?: Policy } = {}): Promise<RealBridge> {
  const issuer = await testIssuer();
  const world = testWorld(options);
  const real = createBridgeHandler(world.deps, { botAppId: SANDBOX_BOT_APP_ID, tenantId: TENANT_ID, audience: SANDBOX_BRIDGE_AUDIENCE });
  const calls: RecordedBridgeCall[] = [];
  const hanging = new Set<() => void>();
  const state = { fault: undefined as BridgeFault | undefined };

  const running = await startLocalBridge({
    port: 0,
    identity: { botAppId: SANDBOX_BOT_APP_ID, tenantId: TENANT_ID, audience: SANDBOX_BRIDGE_AUDIENCE },
    authorize: createJwtAuthorizer({ issuer: issuer.issuer, audience: SANDBOX_BRIDGE_AUDIENCE, jwks: issuer.jwks }),
    handler: async (event) => {
      calls.push({ method: event.requestContext.http.method, path: event.rawPath, query: { ...(event.queryStringParameters ?? {}) } as Record<string, string>, headers: { ...event.headers }, body: bodyOf(event) });
      if (state.fault === 'down') return unavailable;
      if (state.fault === 'hang') return new Promise<HttpResponse>((resolve) => hanging.add(() => resolve(unavailable)));
      return real(event);
    },
  });

  const load = (id: string): StoredRequest => {
    const r = world.requests.items.get(id);
    if (!r) throw new Error(`no request ${id} in the test world`);
    return r;
  };
  const actorOf = (u: BridgeUser, displayName?: string): Actor => ({ userId: u.userId, userName: u.userName, displayName: displayName ?? u.displayName, aadObjectId: u.aadObjectId });
  const asActor = (who: BridgeUser | Actor): Actor => ('groups' in who ? actorOf(who) : who);
  let n = 0;

  const approve = async (id: string, by: Actor) => {
    const approvers = [by, ...[USERS.bob, USERS.carol].map((u) => actorOf(u))].filter((a, i, all) => all.findIndex((b) => b.userId === a.userId) === i && a.userId !== load(id).requester.userId);
    for (const a of approvers) if ((await svc.castVote(world.deps, { requestId: id, actor: a, decision: 'approve' })).decided) return;
    throw new Error(`${id} was not approved by ${approvers.map((a) => a.displayName).join(', ')}`);
  };

  const bridge: RealBridge = {
    url: running.url,
    token: await issuer.mint({ appId: SANDBOX_BOT_APP_ID }),
    world,
    calls,
    get fault() {
      return state.fault;
    },
    set fault(f) {
      state.fault = f;
    },
    callsTo: (method, prefix) => calls.filter((c) => c.method === method && c.path.startsWith(prefix)),
    view: (id) => toRequestView(load(id)),
    actorOf,
    async submit(requester, over = {}) {
      n += 1;
      const body: CreateRequestBody = { clientRequestId: `seed-${String(n).padStart(8, '0')}`, accountId: '111111111111', permissionSetName: 'ReadOnly', durationMinutes: 60, justification: 'Investigating incident INC-1234 in payments', ...over };
      const { request } = await svc.submitRequest(world.deps, { actor: asActor(requester), body });
      await startWorkflow(world, request.id);
      return bridge.view(request.id);
    },
    async moveTo(id, target, by = actorOf(USERS.carol)) {
      const current = load(id);
      // Break-glass and auto-approved requests leave validation APPROVED.
      const start = current.route === 'approval' ? 'PENDING_APPROVAL' : 'APPROVED';
      if (current.state !== start) throw new Error(`moveTo starts where submit left ${id} (${start}); it is ${current.state}`);
      const toActive = async () => {
        if (current.state === 'PENDING_APPROVAL') await approve(id, by);
        if ((await grant(world, id)) !== 'ACTIVE') throw new Error(`${id} did not become active`);
      };
      switch (target) {
        case 'PENDING_APPROVAL':
          break;
        case 'APPROVED':
          await approve(id, by);
          break;
        case 'DENIED':
          await svc.castVote(world.deps, { requestId: id, actor: by, decision: 'deny' });
          break;
        case 'TIMED_OUT':
          await world.clock.advance(Date.parse(current.approvalDeadline) - world.clock.now());
          await svc.timeOutRequest(world.deps, { requestId: id });
          break;
        case 'CANCELLED':
          await svc.cancelRequest(world.deps, { requestId: id, actor: current.requester });
          break;
        case 'GRANTING':
          await approve(id, by);
          await svc.startGrant(world.deps, { requestId: id });
          break;
        case 'FAILED':
          world.assignments.failNext('create', 'injected: the assignment could not be created');
          await approve(id, by);
          await grant(world, id);
          break;
        case 'ACTIVE':
          await toActive();
          break;
        case 'REVOKED':
          await toActive();
          await svc.revokeEarly(world.deps, { requestId: id, actor: by });
          break;
        case 'REVOKING':
          await toActive();
          world.assignments.failNext('delete', 'injected: the assignment could not be deleted');
          await svc.revokeEarly(world.deps, { requestId: id, actor: by }).catch((e: unknown) => {
            if (e instanceof ForbiddenError) throw e;
          });
          break;
        case 'EXPIRED':
          await toActive();
          await world.clock.advance(Date.parse(load(id).grant!.endsAt) - world.clock.now());
          await svc.expireGrant(world.deps, { requestId: id });
          break;
      }
      const reached = load(id);
      if (reached.state !== target) throw new Error(`moveTo ${target}: ${id} is ${reached.state}`);
      return toRequestView(reached);
    },
    async close() {
      for (const release of hanging) release();
      hanging.clear();
      await running.close();
    },
  };
  return bridge;
}
