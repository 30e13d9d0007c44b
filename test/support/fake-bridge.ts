/**
 * A fake bridge API on 127.0.0.1:0 for bot tests: the routes of core/api.ts with in-memory
 * behaviour close enough to the real one (idempotent submit, approver / self-approval / state
 * checks, one vote per approver, quorum) to assert what the bot sends and how it shows answers.
 * It records every call with its headers, and can be told to be down or slow.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { ACTOR_HEADERS } from '../../contract/bridge';
import { createRequestBodySchema, decisionBodySchema, eligibilityQuerySchema, type EligibilityResponse, extendBodySchema, requestIdSchema, reviewBodySchema, revokeBodySchema } from '../../core/api';
import { stateRefusal } from '../../core/lifecycle';
import type { AccessRequest, Actor, RequestState } from '../../core/model';

export interface FakeUser {
  aadObjectId: string;
  upn: string;
  userId: string;
  displayName: string;
  approver?: boolean;
}

export interface FakeAccount {
  id: string;
  name: string;
  permissionSets: Array<{ name: string; maxDurationMinutes: number; defaultDurationMinutes: number; approvalsRequired?: number; ticketRequired?: boolean; breakGlassAllowed?: boolean }>;
}

export interface RecordedBridgeCall {
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string | undefined>;
  body: unknown;
}

export const TENANT_ID = '00000000-0000-0000-0000-000000000001';
export const BRIDGE_TOKEN = 'fake-bridge-token';

export const USERS = {
  alice: { aadObjectId: 'aaaaaaaa-0000-0000-0000-000000000001', upn: 'alice@example.com', userId: 'u-alice', displayName: 'Alice Requester' },
  bob: { aadObjectId: 'bbbbbbbb-0000-0000-0000-000000000002', upn: 'bob@example.com', userId: 'u-bob', displayName: 'Bob Approver', approver: true },
  carol: { aadObjectId: 'cccccccc-0000-0000-0000-000000000003', upn: 'carol@example.com', userId: 'u-carol', displayName: 'Carol Approver', approver: true },
  mallory: { aadObjectId: 'dddddddd-0000-0000-0000-000000000004', upn: 'mallory@example.com', userId: 'u-mallory', displayName: 'Mallory Outsider' },
} satisfies Record<string, FakeUser>;

export const ACCOUNTS: FakeAccount[] = [
  { id: '111111111111', name: 'prod-payments', permissionSets: [{ name: 'AdministratorAccess', maxDurationMinutes: 60, defaultDurationMinutes: 30, approvalsRequired: 1, ticketRequired: true }, { name: 'ReadOnly', maxDurationMinutes: 240, defaultDurationMinutes: 60, approvalsRequired: 1 }] },
  { id: '222222222222', name: 'staging-core', permissionSets: [{ name: 'PowerUser', maxDurationMinutes: 120, defaultDurationMinutes: 60, approvalsRequired: 1 }] },
  { id: '333333333333', name: 'prod-analytics', permissionSets: [{ name: 'ReadOnly', maxDurationMinutes: 240, defaultDurationMinutes: 60, approvalsRequired: 2 }] },
];

const ISO = (ms: number) => new Date(ms).toISOString();

export class FakeBridge {
  readonly calls: RecordedBridgeCall[] = [];
  readonly requests = new Map<string, AccessRequest>();
  users: FakeUser[] = Object.values(USERS);
  accounts: FakeAccount[] = ACCOUNTS;
  /** 'down' answers 503; 'hang' never answers (until close). */
  mode: 'ok' | 'down' | 'hang' = 'ok';
  /** Called before each route; may throw to simulate any answer. */
  now = () => Date.parse('2030-01-01T10:00:00.000Z');
  private seq = 0;
  private server?: Server;
  private readonly hanging = new Set<express.Response>();
  url = '';

  /** Adds a request in a given state directly (for tests that start mid-lifecycle). */
  seed(partial: Partial<AccessRequest> & { requester: Actor }, state: RequestState = 'PENDING_APPROVAL'): AccessRequest {
    const id = partial.id ?? this.nextId();
    const now = this.now();
    const r: AccessRequest = {
      id,
      clientRequestId: partial.clientRequestId ?? `seed${id.slice(-12)}`,
      version: partial.version ?? 1,
      state,
      requester: partial.requester,
      accountId: partial.accountId ?? '111111111111',
      accountName: partial.accountName ?? 'prod-payments',
      permissionSetName: partial.permissionSetName ?? 'ReadOnly',
      permissionSetArn: partial.permissionSetArn ?? 'arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111',
      requestedDurationSeconds: partial.requestedDurationSeconds ?? 3600,
      justification: partial.justification ?? 'Investigating incident INC-1234 in payments',
      ticketId: partial.ticketId,
      route: partial.route ?? 'approval',
      terms: partial.terms ?? {
        ruleIds: ['prod-readonly'],
        maxDurationSeconds: 14400,
        defaultDurationSeconds: 3600,
        maxTotalDurationSeconds: 28800,
        approvalsRequired: 1,
        approverGroups: ['oncall-approvers'],
        ticketRequired: false,
        ticketPatterns: [],
        breakGlassAllowed: false,
        breakGlassMaxDurationSeconds: 0,
        approvalTimeoutSeconds: 3600,
      },
      policyReason: partial.policyReason ?? 'rule prod-readonly: one approval from oncall-approvers',
      votes: partial.votes ?? [],
      createdAt: partial.createdAt ?? ISO(now),
      updatedAt: partial.updatedAt ?? ISO(now),
      approvalDeadline: partial.approvalDeadline ?? ISO(now + 3600_000),
      ...(partial.decidedBy ? { decidedBy: partial.decidedBy, decidedAt: partial.decidedAt ?? ISO(now) } : {}),
      ...(partial.endedBy ? { endedBy: partial.endedBy, endedAt: partial.endedAt ?? ISO(now) } : {}),
      ...(state === 'ACTIVE' ? { grant: partial.grant ?? { startsAt: ISO(now), endsAt: ISO(now + 3600_000), totalSeconds: 3600, extensions: 0 } } : {}),
    };
    this.requests.set(id, r);
    return r;
  }

  actorOf(u: FakeUser): Actor {
    return { userId: u.userId, aadObjectId: u.aadObjectId, userName: u.upn, displayName: u.displayName };
  }

  callsTo(method: string, pathPrefix: string): RecordedBridgeCall[] {
    return this.calls.filter((c) => c.method === method && c.path.startsWith(pathPrefix));
  }

  async start(): Promise<string> {
    const app = express();
    app.use(express.json({ limit: '16kb' }));
    app.use((req, res, next) => {
      this.calls.push({ method: req.method, path: req.path, query: { ...(req.query as Record<string, unknown>) }, headers: { ...req.headers } as Record<string, string | undefined>, body: req.body });
      if (this.mode === 'hang') {
        this.hanging.add(res);
        return;
      }
      if (this.mode === 'down') return void res.status(503).json({ error: { code: 'DEPENDENCY_FAILED', message: 'down' } });
      if (req.headers.authorization !== `Bearer ${BRIDGE_TOKEN}`) return void res.status(401).json({ message: 'Unauthorized' });
      if (req.headers[ACTOR_HEADERS.tenantId] !== TENANT_ID) return void fail(res, 403, 'FORBIDDEN', 'The user is not a member of the allowed tenant.');
      const oid = req.headers[ACTOR_HEADERS.aadObjectId];
      const user = this.users.find((u) => u.aadObjectId === oid);
      if (!user) return void fail(res, 422, 'UNKNOWN_USER', `No IAM Identity Center user matches ${String(req.headers[ACTOR_HEADERS.upn] ?? oid)}. Ask your platform team to provision you.`);
      res.locals.user = user;
      next();
    });

    app.get('/eligibility', (req, res) => {
      const user = res.locals.user as FakeUser;
      // As strict as the real bridge: the same query schema (control characters, length, unicode).
      const query = eligibilityQuerySchema.safeParse(req.query);
      if (!query.success) return void fail(res, 400, 'VALIDATION', 'Invalid query.', query.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
      const q = typeof req.query.q === 'string' ? req.query.q.toLowerCase() : '';
      const accountId = typeof req.query.accountId === 'string' ? req.query.accountId : undefined;
      const limit = Number(req.query.limit ?? 50);
      const matches = this.accounts.filter((a) => (accountId ? a.id === accountId : true) && (!q || a.name.toLowerCase().includes(q) || a.id.includes(q)));
      const body: EligibilityResponse = {
        user: { userId: user.userId, userName: user.upn, displayName: user.displayName },
        accounts: matches.slice(0, limit).map((a) => ({
          id: a.id,
          name: a.name,
          permissionSets: a.permissionSets.map((p) => ({ name: p.name, maxDurationMinutes: p.maxDurationMinutes, defaultDurationMinutes: p.defaultDurationMinutes, approvalsRequired: p.approvalsRequired ?? 1, ticketRequired: p.ticketRequired ?? false, breakGlassAllowed: p.breakGlassAllowed ?? false })),
        })),
        total: matches.length,
      };
      res.json(body);
    });

    app.post('/requests', (req, res) => {
      const user = res.locals.user as FakeUser;
      const parsed = createRequestBodySchema.safeParse(req.body);
      if (!parsed.success) return void fail(res, 400, 'VALIDATION', 'Invalid request body.', parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
      const b = parsed.data;
      const existing = [...this.requests.values()].find((r) => r.requester.userId === user.userId && r.clientRequestId === b.clientRequestId);
      if (existing) return void res.status(200).json({ request: existing, replayed: true });
      const account = this.accounts.find((a) => a.id === b.accountId);
      const ps = account?.permissionSets.find((p) => p.name === b.permissionSetName);
      if (!account || !ps) return void fail(res, 403, 'NOT_ELIGIBLE', `You are not eligible for ${b.permissionSetName} on ${b.accountId}.`);
      if (b.durationMinutes > ps.maxDurationMinutes) return void fail(res, 400, 'VALIDATION', 'Invalid request body.', [{ path: 'durationMinutes', message: `must be at most ${ps.maxDurationMinutes} minutes` }]);
      if (ps.ticketRequired && !b.ticketId) return void fail(res, 400, 'VALIDATION', 'Invalid request body.', [{ path: 'ticketId', message: 'a ticket id is required by policy' }]);
      const r = this.seed({
        requester: this.actorOf(user),
        clientRequestId: b.clientRequestId,
        accountId: account.id,
        accountName: account.name,
        permissionSetName: ps.name,
        requestedDurationSeconds: b.durationMinutes * 60,
        justification: b.justification,
        ticketId: b.ticketId,
        terms: { ...this.seedTerms(), approvalsRequired: ps.approvalsRequired ?? 1 },
      });
      res.status(201).json({ request: r, replayed: false });
    });

    app.get('/requests', (req, res) => {
      const user = res.locals.user as FakeUser;
      const view = req.query.view;
      if (view !== 'mine' && view !== 'pending') return void fail(res, 400, 'VALIDATION', 'Invalid query.', [{ path: 'view', message: 'must be mine or pending' }]);
      const all = [...this.requests.values()];
      const list =
        view === 'mine'
          ? all.filter((r) => r.requester.userId === user.userId)
          : user.approver
            ? all.filter((r) => r.state === 'PENDING_APPROVAL' && r.requester.userId !== user.userId && !r.votes.some((v) => v.approver.userId === user.userId))
            : [];
      res.json({ requests: list });
    });

    const byId = (req: express.Request, res: express.Response): AccessRequest | undefined => {
      const id = requestIdSchema.safeParse(req.params.id);
      const r = id.success ? this.requests.get(id.data) : undefined;
      if (!r) fail(res, 404, 'NOT_FOUND', 'No such request.');
      return r;
    };

    app.get('/requests/:id', (req, res) => {
      const r = byId(req, res);
      if (r) res.json({ request: r });
    });

    app.post('/requests/:id/decisions', (req, res) => {
      const user = res.locals.user as FakeUser;
      const parsed = decisionBodySchema.safeParse(req.body);
      if (!parsed.success) return void fail(res, 400, 'VALIDATION', 'Invalid decision.', parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
      const r = byId(req, res);
      if (!r) return;
      if (r.requester.userId === user.userId) return void fail(res, 403, 'SELF_APPROVAL', 'You cannot approve your own request.');
      if (!user.approver) return void fail(res, 403, 'NOT_APPROVER', 'You are not an approver for this request (rule prod-readonly needs oncall-approvers).');
      if (r.votes.some((v) => v.approver.userId === user.userId)) return void res.json({ request: r, decided: false, duplicate: true });
      // The real bridge's sentence (core/services/approval.ts decidedMessage).
      if (r.state !== 'PENDING_APPROVAL') return void fail(res, 409, 'ILLEGAL_TRANSITION', stateRefusal(r));
      const at = ISO(this.now());
      const vote = { approver: this.actorOf(user), decision: parsed.data.decision, reason: parsed.data.reason, at };
      const approvals = r.votes.filter((v) => v.decision === 'approve').length + (parsed.data.decision === 'approve' ? 1 : 0);
      const decided = parsed.data.decision === 'deny' || approvals >= r.terms.approvalsRequired;
      const next: AccessRequest = {
        ...r,
        version: r.version + 1,
        votes: [...r.votes, vote],
        updatedAt: at,
        ...(decided ? { state: parsed.data.decision === 'deny' ? 'DENIED' : 'APPROVED', decidedAt: at, decidedBy: vote.approver, decisionReason: parsed.data.reason } : {}),
      };
      this.requests.set(r.id, next);
      res.json({ request: next, decided, duplicate: false });
    });

    const transition = (path: string, schema: typeof revokeBodySchema | typeof reviewBodySchema | typeof extendBodySchema, apply: (r: AccessRequest, user: FakeUser, body: Record<string, unknown>, res: express.Response) => AccessRequest | undefined) => {
      app.post(path, (req, res) => {
        const user = res.locals.user as FakeUser;
        const parsed = schema.safeParse(req.body ?? {});
        if (!parsed.success) return void fail(res, 400, 'VALIDATION', 'Invalid body.', parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
        const r = byId(req, res);
        if (!r) return;
        const next = apply(r, user, parsed.data as Record<string, unknown>, res);
        if (!next) return;
        this.requests.set(r.id, next);
        res.json({ request: next });
      });
    };
    transition('/requests/:id/revoke', revokeBodySchema, (r, user, b, res) => {
      if (r.requester.userId !== user.userId && !user.approver) return void fail(res, 403, 'FORBIDDEN', 'Only the requester or an approver can revoke.');
      if (r.state !== 'ACTIVE') return void fail(res, 409, 'ILLEGAL_TRANSITION', `Only active access can be revoked; it is ${r.state}.`);
      const at = ISO(this.now());
      return { ...r, version: r.version + 1, state: 'REVOKED', endedAt: at, endedBy: this.actorOf(user), endReason: b.reason as string | undefined, updatedAt: at };
    });
    transition('/requests/:id/cancel', revokeBodySchema, (r, user, b, res) => {
      if (r.requester.userId !== user.userId) return void fail(res, 403, 'FORBIDDEN', 'Only the requester can cancel.');
      if (r.state !== 'PENDING_APPROVAL') return void fail(res, 409, 'ILLEGAL_TRANSITION', `Only a pending request can be cancelled; it is ${r.state}.`);
      const at = ISO(this.now());
      return { ...r, version: r.version + 1, state: 'CANCELLED', endedAt: at, endedBy: this.actorOf(user), endReason: b.reason as string | undefined, updatedAt: at };
    });
    transition('/requests/:id/extend', extendBodySchema, (r, user, b, res) => {
      if (r.requester.userId !== user.userId) return void fail(res, 403, 'FORBIDDEN', 'Only the requester can extend.');
      if (r.state !== 'ACTIVE' || !r.grant) return void fail(res, 409, 'ILLEGAL_TRANSITION', `Only active access can be extended; it is ${r.state}.`);
      const add = Number(b.additionalMinutes) * 60;
      if (r.grant.totalSeconds + add > r.terms.maxTotalDurationSeconds) return void fail(res, 422, 'LIMIT_EXCEEDED', 'This would exceed the maximum total duration.');
      const endsAt = ISO(Date.parse(r.grant.endsAt) + add * 1000);
      return { ...r, version: r.version + 1, grant: { ...r.grant, endsAt, totalSeconds: r.grant.totalSeconds + add, extensions: r.grant.extensions + 1 }, updatedAt: ISO(this.now()) };
    });
    transition('/requests/:id/review', reviewBodySchema, (r, user, b, res) => {
      if (!user.approver) return void fail(res, 403, 'NOT_APPROVER', 'Only an approver can acknowledge the review.');
      if (r.route !== 'break_glass') return void fail(res, 409, 'ILLEGAL_TRANSITION', 'Only break-glass requests have a review.');
      if (r.review) return r;
      return { ...r, version: r.version + 1, review: { acknowledgedBy: this.actorOf(user), at: ISO(this.now()), note: b.note as string | undefined }, updatedAt: ISO(this.now()) };
    });

    app.use((req, res) => fail(res, 404, 'NOT_FOUND', 'No such route.'));

    await new Promise<void>((resolve) => {
      this.server = app.listen(0, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections?.();
  }

  private nextId(): string {
    this.seq += 1;
    return `req-01J0000000000000${String(this.seq).padStart(8, '0')}`;
  }

  private seedTerms(): AccessRequest['terms'] {
    return {
      ruleIds: ['prod-readonly'],
      maxDurationSeconds: 14400,
      defaultDurationSeconds: 3600,
      maxTotalDurationSeconds: 28800,
      approvalsRequired: 1,
      approverGroups: ['oncall-approvers'],
      ticketRequired: false,
      ticketPatterns: [],
      breakGlassAllowed: false,
      breakGlassMaxDurationSeconds: 0,
      approvalTimeoutSeconds: 3600,
    };
  }
}

function fail(res: express.Response, status: number, code: string, message: string, issues?: Array<{ path: string; message: string }>): void {
  res.status(status).json({ error: issues ? { code, message, issues } : { code, message } });
}
