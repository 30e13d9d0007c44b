/** Submitting a request, and reading requests: identity, eligibility, visibility. */
import type { CreateRequestBody, EligibilityQuery, EligibilityResponse, ListQuery } from '../api';
import { AlreadyExistsError, LimitExceededError, NotEligibleError, NotFoundError, OpenRequestExistsError, UnknownUserError, ValidationError } from '../errors';
import type { AccessRequest, Actor, AuditEvent, StoredRequest } from '../model';
import { SYSTEM_ACTOR } from '../model';
import { ACCOUNT_SEARCH_MAX_LIMIT, eligibilitySearchIndex, evaluateApprover, evaluateRequest } from '../policy/evaluate';
import type { EffectiveTerms } from '../model';
import { iso } from '../time';
import { approvalTerms } from '../reminders';
import { OPEN_STATES, amend, auditEventId, describeState } from '../lifecycle';
import { announce, commit, flushAudit, load, toView, withRetry } from './context';
import { checkStepUp } from './step-up';
import type { ActorClaim, CoreDeps, SubmitInput, SubmitResult } from './types';

/** Open (not yet granted) requests one person may have at once: a runaway client cannot flood approvers. */
export const MAX_OPEN_REQUESTS_PER_USER = 10;

/** Maps the identity an authenticated edge vouches for to an Identity Center user. */
export async function resolveActor(deps: CoreDeps, claim: ActorClaim): Promise<Actor> {
  if (!claim.upn && !claim.aadObjectId) throw new UnknownUserError('an anonymous caller');
  const user = await deps.directory.findUser({ upn: claim.upn, aadObjectId: claim.aadObjectId });
  if (!user) throw new UnknownUserError(claim.upn ?? claim.aadObjectId ?? 'the caller');
  return {
    userId: user.userId,
    userName: user.userName,
    displayName: claim.displayName || user.displayName,
    ...(claim.aadObjectId ? { aadObjectId: claim.aadObjectId } : {}),
  };
}

export async function groupNamesAndIds(deps: CoreDeps, userId: string): Promise<string[]> {
  const groups = await deps.directory.groupsOf(userId);
  return groups.flatMap((g) => [g.displayName, g.groupId]);
}

function sameSubmission(existing: StoredRequest, body: CreateRequestBody): boolean {
  return (
    existing.accountId === body.accountId &&
    existing.permissionSetName === body.permissionSetName &&
    existing.requestedDurationSeconds === body.durationMinutes * 60 &&
    existing.justification === body.justification &&
    (existing.ticketId ?? undefined) === (body.ticketId ?? undefined) &&
    (existing.route === 'break_glass') === (body.breakGlass === true)
  );
}

/**
 * Creates a request and starts its workflow. Idempotent per (requester, clientRequestId): a retry
 * of the same submit returns the same request (and starts its workflow if the first attempt
 * crashed before doing so); reusing the id for a different request is refused.
 */
export async function submitRequest(deps: CoreDeps, input: SubmitInput): Promise<SubmitResult> {
  const { actor, body } = input;
  const existing = await deps.requests.findByClientRequestId(actor.userId, body.clientRequestId);
  if (existing) return replay(deps, existing, body);

  const policy = deps.policy();
  const account = policy.accounts.find((a) => a.id === body.accountId);
  if (!account) {
    const message = `${body.accountId} is not an account managed by JIT access`;
    throw new ValidationError(`Unknown account: ${message}.`, [{ path: 'accountId', message }]);
  }
  const permissionSet = policy.permissionSets.find((p) => p.name === body.permissionSetName);
  if (!permissionSet) {
    const message = `${body.permissionSetName} is not a permission set managed by JIT access`;
    throw new ValidationError(`Unknown permission set: ${message}.`, [{ path: 'permissionSetName', message }]);
  }

  const groups = await groupNamesAndIds(deps, actor.userId);
  const decision = evaluateRequest(policy, {
    requesterUserId: actor.userId,
    requesterGroups: groups,
    accountId: account.id,
    permissionSetName: permissionSet.name,
    durationSeconds: body.durationMinutes * 60,
    ...(body.ticketId !== undefined ? { ticketId: body.ticketId } : {}),
    breakGlass: body.breakGlass === true,
  });
  if (!decision.allowed) throw new NotEligibleError(decision.reason);
  const stepUp = decision.route === 'break_glass' ? checkStepUp({ requirement: decision.terms.stepUp?.breakGlass, claims: body.stepUp, actor, now: deps.clock.now(), what: 'use break-glass' }) : undefined;

  const open = await deps.requests.list({ requesterUserId: actor.userId, states: OPEN_STATES });
  const duplicate = open.find((r) => r.accountId === account.id && r.permissionSetName === permissionSet.name);
  if (duplicate) throw openDuplicate(duplicate);
  if (open.length >= MAX_OPEN_REQUESTS_PER_USER) {
    throw new LimitExceededError(`You already have ${open.length} open requests; wait for them to be decided or cancel some.`);
  }

  const now = deps.clock.now();
  const id = deps.ids.requestId();
  const at = iso(now);
  const terms: EffectiveTerms = decision.terms;
  const event: AuditEvent = {
    eventId: auditEventId(id, 1, 0),
    requestId: id,
    at,
    actor,
    action: 'request.submitted',
    toState: 'PENDING_APPROVAL',
    reason: decision.reason,
    details: {
      accountId: account.id,
      permissionSetName: permissionSet.name,
      route: decision.route,
      durationSeconds: body.durationMinutes * 60,
      ticketId: body.ticketId,
      ...(stepUp ? { stepUpMethod: stepUp.method, stepUpValues: stepUp.values.join(' '), stepUpTokenIssuedAt: stepUp.tokenIssuedAt, stepUpTokenAgeSeconds: stepUp.tokenAgeSeconds } : {}),
    },
  };
  const request: StoredRequest = {
    id,
    clientRequestId: body.clientRequestId,
    version: 1,
    state: 'PENDING_APPROVAL',
    requester: actor,
    accountId: account.id,
    accountName: account.name,
    permissionSetName: permissionSet.name,
    permissionSetArn: permissionSet.arn,
    requestedDurationSeconds: body.durationMinutes * 60,
    justification: body.justification,
    ...(body.ticketId !== undefined ? { ticketId: body.ticketId } : {}),
    route: decision.route,
    terms,
    policyReason: decision.reason,
    votes: [],
    createdAt: at,
    updatedAt: at,
    approvalDeadline: iso(now + terms.approvalTimeoutSeconds * 1000),
    auditOutbox: [event],
    noticeOutbox: [{ event: 'submitted', version: 1 }],
  };
  try {
    await deps.requests.create(request);
  } catch (e) {
    if (e instanceof AlreadyExistsError) {
      // A concurrent duplicate submit won the race: answer with its request.
      const winner = await deps.requests.findByClientRequestId(actor.userId, body.clientRequestId);
      if (winner) return replay(deps, winner, body);
    }
    if (e instanceof OpenRequestExistsError) {
      // Another submit for the same access won the race (the check above could not see it yet).
      const other = await deps.requests.get(e.existingRequestId);
      if (other) throw openDuplicate(other);
    }
    throw e;
  }
  await flushAudit(deps, request);
  const started = await startWorkflow(deps, request);
  await announce(deps, started);
  return { request: toView(started), replayed: false };
}

function openDuplicate(existing: StoredRequest): OpenRequestExistsError {
  return new OpenRequestExistsError(existing.id, `${existing.id} (${existing.permissionSetName} on ${existing.accountName}, ${describeState(existing.state)})`);
}

async function replay(deps: CoreDeps, existing: StoredRequest, body: CreateRequestBody): Promise<SubmitResult> {
  if (!sameSubmission(existing, body)) {
    throw new AlreadyExistsError('A different request with this client request id', existing.clientRequestId);
  }
  const current = existing.executionArn || existing.state !== 'PENDING_APPROVAL' ? existing : await startWorkflow(deps, existing);
  return { request: toView(current), replayed: true };
}

/**
 * Starts the execution named after the request (idempotent) and remembers its ARN. Audited like
 * every write (one event per version); the ARN stays server-side, out of the event.
 */
export async function startWorkflow(deps: CoreDeps, request: StoredRequest): Promise<StoredRequest> {
  const { executionArn } = await deps.workflow.start(request.id);
  return withRetry(async () => {
    const current = await load(deps, request.id);
    if (current.executionArn === executionArn) return current;
    const reason = current.executionArn ? 'The approval workflow was started again.' : 'The approval workflow started.';
    return commit(deps, current, amend(current, 'request.workflow_started', { actor: SYSTEM_ACTOR, now: deps.clock.now(), reason, patch: { executionArn } }));
  });
}

/** Who may see a request: its requester, and the people who may approve it. Others get NotFound. */
export async function canView(deps: CoreDeps, request: AccessRequest, actor: Actor): Promise<boolean> {
  if (request.requester.userId === actor.userId) return true;
  const groups = await groupNamesAndIds(deps, actor.userId);
  const d = evaluateApprover({ approverUserId: actor.userId, approverGroups: groups, requesterUserId: request.requester.userId, terms: approvalTerms(request) });
  return d.allowed || (!d.allowed && d.code === 'SELF_APPROVAL');
}

export async function getRequest(deps: CoreDeps, input: { requestId: string; actor: Actor }): Promise<AccessRequest> {
  const request = await deps.requests.get(input.requestId);
  if (!request || !(await canView(deps, request, input.actor))) throw new NotFoundError('Request', input.requestId);
  return toView(request);
}

const LIST_LIMIT = 25;

export async function listRequests(deps: CoreDeps, input: { actor: Actor; view: ListQuery['view'] }): Promise<AccessRequest[]> {
  if (input.view === 'mine') {
    const mine = await deps.requests.list({ requesterUserId: input.actor.userId });
    return mine.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, LIST_LIMIT).map(toView);
  }
  const pending = await deps.requests.list({ states: ['PENDING_APPROVAL'] });
  const groups = await groupNamesAndIds(deps, input.actor.userId);
  return pending
    .filter((r) => evaluateApprover({ approverUserId: input.actor.userId, approverGroups: groups, requesterUserId: r.requester.userId, terms: approvalTerms(r) }).allowed)
    .filter((r) => !r.votes.some((v) => v.approver.userId === input.actor.userId))
    .sort((a, b) => a.approvalDeadline.localeCompare(b.approvalDeadline))
    .slice(0, LIST_LIMIT)
    .map(toView);
}

export async function eligibility(deps: CoreDeps, input: { actor: Actor; query: EligibilityQuery }): Promise<EligibilityResponse> {
  const groups = await groupNamesAndIds(deps, input.actor.userId);
  // Memoized per (policy, groups): a typeahead keystroke is one scan of a prepared index.
  const index = eligibilitySearchIndex(deps.policy(), groups);
  const limit = input.query.limit ?? 50;
  const matching = input.query.accountId
    ? index.search(input.query.accountId, ACCOUNT_SEARCH_MAX_LIMIT).filter((e) => e.account.id === input.query.accountId)
    : index.search(input.query.q ?? '', limit);
  return {
    user: { userId: input.actor.userId, userName: input.actor.userName, displayName: input.actor.displayName },
    accounts: matching.slice(0, limit).map((e) => ({
      id: e.account.id,
      name: e.account.name,
      permissionSets: e.permissionSets.map((p) => ({
        name: p.name,
        maxDurationMinutes: Math.floor(p.maxDurationSeconds / 60),
        defaultDurationMinutes: Math.floor(p.defaultDurationSeconds / 60),
        approvalsRequired: p.approvalsRequired,
        ticketRequired: p.ticketRequired,
        breakGlassAllowed: p.breakGlassAllowed,
      })),
    })),
    // Without a query, the number of accounts this person may request; with one, the matches shown.
    total: input.query.q || input.query.accountId ? matching.length : index.size,
  };
}
