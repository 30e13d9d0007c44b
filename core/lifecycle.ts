/**
 * The request lifecycle: the one place that decides which state changes are legal. Every change of
 * state goes through `transition`, which returns the next record (version + 1) together with its
 * audit event, so a caller cannot persist one without the other. Every version bump carries its
 * audit event, plumbing included (`amend` with request.workflow_started, request.approval_wait_started):
 * test/unit/services-audit-versions.test.ts watches every write of every service path.
 */
import { IllegalTransitionError } from './errors';
import type { Actor, AuditAction, AuditEvent, RequestState, StoredRequest } from './model';
import { SYSTEM_ACTOR, TERMINAL_STATES } from './model';
import { iso } from './time';

/** Legal next states. Anything else is an IllegalTransitionError, never a silent no-op. */
export const TRANSITIONS: Readonly<Record<RequestState, readonly RequestState[]>> = {
  PENDING_APPROVAL: ['APPROVED', 'DENIED', 'TIMED_OUT', 'CANCELLED', 'FAILED'],
  APPROVED: ['GRANTING', 'FAILED'],
  GRANTING: ['ACTIVE', 'FAILED'],
  ACTIVE: ['REVOKING'],
  REVOKING: ['EXPIRED', 'REVOKED', 'FAILED'],
  EXPIRED: [],
  REVOKED: [],
  DENIED: [],
  TIMED_OUT: [],
  CANCELLED: [],
  FAILED: [],
};

export function canTransition(from: RequestState, to: RequestState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isTerminal(state: RequestState): boolean {
  return TERMINAL_STATES.includes(state);
}

/**
 * Open: submitted and not yet granted or ended. A person has at most one open request per (account,
 * permission set); an ACTIVE grant is not open, so asking again while one runs (an overlapping
 * grant) stays possible. Every RequestStore enforces the rule atomically at create.
 */
export const OPEN_STATES: readonly RequestState[] = ['PENDING_APPROVAL', 'APPROVED', 'GRANTING'];

export function isOpen(state: RequestState): boolean {
  return OPEN_STATES.includes(state);
}

export interface TransitionContext {
  actor: Actor;
  /** Epoch ms from the Clock port. */
  now: number;
  /** Why: shown on cards and written to the audit log. */
  reason: string;
  /** Other fields that change together with the state (decision, grant window, end). */
  patch?: Partial<StoredRequest>;
  details?: AuditEvent['details'];
}

export interface Change {
  next: StoredRequest;
  events: AuditEvent[];
}

/** Deterministic per (request, version, index): a replayed write appends nothing twice. */
export function auditEventId(requestId: string, version: number, index: number): string {
  return `${requestId}:v${version}:${index}`;
}

export function transition(current: StoredRequest, to: RequestState, ctx: TransitionContext): Change {
  if (!canTransition(current.state, to)) {
    throw new IllegalTransitionError(current.state, to, illegalReason(current, to));
  }
  const at = iso(ctx.now);
  const next: StoredRequest = { ...current, ...ctx.patch, state: to, version: current.version + 1, updatedAt: at };
  const event: AuditEvent = {
    eventId: auditEventId(current.id, next.version, 0),
    requestId: current.id,
    at,
    actor: ctx.actor,
    action: 'request.transition',
    fromState: current.state,
    toState: to,
    reason: ctx.reason,
    ...(ctx.details ? { details: ctx.details } : {}),
  };
  return { next, events: [event] };
}

/**
 * A change that is not a change of state (a vote that does not decide, an extension, a review) still
 * bumps the version and is audited.
 */
export function amend(current: StoredRequest, action: AuditAction, ctx: TransitionContext): Change {
  const at = iso(ctx.now);
  const next: StoredRequest = { ...current, ...ctx.patch, state: current.state, version: current.version + 1, updatedAt: at };
  const event: AuditEvent = {
    eventId: auditEventId(current.id, next.version, 0),
    requestId: current.id,
    at,
    actor: ctx.actor,
    action,
    fromState: current.state,
    toState: current.state,
    reason: ctx.reason,
    ...(ctx.details ? { details: ctx.details } : {}),
  };
  return { next, events: [event] };
}

/** Adds an extra event (e.g. the vote that decided a request) to a change, numbered after the others. */
export function withEvent(change: Change, event: Omit<AuditEvent, 'eventId' | 'requestId' | 'at'> & { at?: string }): Change {
  const e: AuditEvent = {
    ...event,
    eventId: auditEventId(change.next.id, change.next.version, change.events.length),
    requestId: change.next.id,
    at: event.at ?? change.next.updatedAt,
  };
  return { next: change.next, events: [...change.events, e] };
}

function illegalReason(from: Pick<StoredRequest, 'state' | 'decidedBy' | 'endedBy'>, to: RequestState): string {
  if (isTerminal(from.state)) return `${stateRefusal(from)} It can no longer ${STATE_ACTION[to]}.`;
  return `A request that is ${describeState(from.state)} cannot ${STATE_ACTION[to]}.`;
}

/** The state as a phrase that reads after "is" ("This request is waiting for approval"). */
const STATE_PHRASE: Record<RequestState, string> = {
  PENDING_APPROVAL: 'waiting for approval',
  APPROVED: 'approved',
  GRANTING: 'being granted',
  ACTIVE: 'active',
  REVOKING: 'being revoked',
  EXPIRED: 'expired',
  REVOKED: 'revoked',
  DENIED: 'denied',
  TIMED_OUT: 'timed out',
  CANCELLED: 'cancelled',
  FAILED: 'failed',
};

/** What moving into a state means, after "cannot" ("It can no longer be approved"). */
const STATE_ACTION: Record<RequestState, string> = {
  PENDING_APPROVAL: 'go back to waiting for approval',
  APPROVED: 'be approved',
  GRANTING: 'be granted',
  ACTIVE: 'become active',
  REVOKING: 'be revoked',
  EXPIRED: 'expire',
  REVOKED: 'be revoked',
  DENIED: 'be denied',
  TIMED_OUT: 'time out',
  CANCELLED: 'be cancelled',
  FAILED: 'fail',
};

export function describeState(state: RequestState): string {
  return STATE_PHRASE[state];
}

/**
 * Why a request in its current state refuses an action, as one sentence that reads naturally for
 * every state: "This request is already active.", "This request was already approved by Carol
 * Chen.", "This request was denied by Dan.", "This request has expired." Plain text: the caller
 * escapes it for where it goes (cards/escape.ts).
 */
export function stateRefusal(r: Pick<StoredRequest, 'state' | 'decidedBy' | 'endedBy'>): string {
  const by = (a: Actor | undefined) => (a && a.userId !== SYSTEM_ACTOR.userId && a.displayName ? ` by ${a.displayName}` : '');
  switch (r.state) {
    case 'PENDING_APPROVAL':
      return 'This request is still waiting for approval.';
    case 'APPROVED':
      return r.decidedBy?.userId === SYSTEM_ACTOR.userId ? 'This request was already approved by policy.' : `This request was already approved${by(r.decidedBy)}.`;
    case 'GRANTING':
      return 'This request is already approved; its access is being granted.';
    case 'ACTIVE':
      return 'This request is already active.';
    case 'REVOKING':
      return 'This request\'s access is already being revoked.';
    case 'EXPIRED':
      return 'This request has expired.';
    case 'REVOKED':
      return `This request was revoked${by(r.endedBy)}.`;
    case 'DENIED':
      return `This request was denied${by(r.decidedBy)}.`;
    case 'TIMED_OUT':
      return 'This request timed out before anyone decided.';
    case 'CANCELLED':
      return `This request was cancelled${by(r.endedBy)}.`;
    case 'FAILED':
      return 'This request failed: its access could not be granted.';
  }
}
