/**
 * The request lifecycle: the one place that decides which state changes are legal. Every change of
 * state goes through `transition`, which returns the next record (version + 1) together with its
 * audit event, so a caller cannot persist one without the other.
 */
import { IllegalTransitionError } from './errors';
import type { Actor, AuditAction, AuditEvent, RequestState, StoredRequest } from './model';
import { TERMINAL_STATES } from './model';
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

/** States in which an Identity Center assignment may exist because of this request. */
export const GRANT_HELD_STATES: readonly RequestState[] = ['GRANTING', 'ACTIVE', 'REVOKING'];

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
    throw new IllegalTransitionError(current.state, to, illegalReason(current.state, to));
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

function illegalReason(from: RequestState, to: RequestState): string {
  if (isTerminal(from)) return `This request is already ${describeState(from)}; it cannot become ${describeState(to)}.`;
  return `A request that is ${describeState(from)} cannot become ${describeState(to)}.`;
}

export function describeState(state: RequestState): string {
  return state.toLowerCase().replace(/_/g, ' ');
}
