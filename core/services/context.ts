/**
 * What every use case shares: loading a request, writing a change with compare-and-swap and its
 * audit events (outbox), best-effort notices, and the read-only view that leaves the server.
 */
import { ConcurrentModificationError, NotFoundError } from '../errors';
import type { Change } from '../lifecycle';
import { type AccessRequest, type AssignmentKey, type StoredRequest, toRequestView } from '../model';
import type { NotificationEvent } from '../ports';
import type { CoreDeps } from './types';

export async function load(deps: CoreDeps, requestId: string): Promise<StoredRequest> {
  const request = await deps.requests.get(requestId);
  if (!request) throw new NotFoundError('Request', requestId);
  return request;
}

/**
 * Persists a change only if nobody else wrote first, then flushes its audit events. The events ride
 * in the same write (the outbox), so a crash after the write cannot lose them.
 */
export async function commit(deps: CoreDeps, current: StoredRequest, change: Change): Promise<StoredRequest> {
  const next: StoredRequest = { ...change.next, auditOutbox: [...(current.auditOutbox ?? []), ...change.events] };
  await deps.requests.update(next, current.version);
  await flushAudit(deps, next);
  return next;
}

export async function flushAudit(deps: CoreDeps, request: StoredRequest): Promise<boolean> {
  const outbox = request.auditOutbox ?? [];
  if (outbox.length === 0) return true;
  try {
    await deps.audit.append(outbox);
  } catch (e) {
    deps.log?.warn('audit append failed; the events stay in the outbox for reconcile', { requestId: request.id, error: String(e) });
    return false;
  }
  try {
    await deps.requests.clearAuditOutbox(request.id, request.version);
  } catch (e) {
    // Harmless: the events are in the sink, and appending them again is idempotent by eventId.
    deps.log?.warn('clearing the audit outbox failed', { requestId: request.id, error: String(e) });
  }
  return true;
}

/**
 * Runs a read-decide-write step again when a compare-and-swap write lost a race. The step must
 * re-read and re-decide: a lost race never overwrites the winner. Each retry follows a write that
 * succeeded, so contention from N writers settles within N rounds; 64 covers a card clicked by 50+.
 */
export async function withRetry<T>(step: () => Promise<T>, attempts = 64): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await step();
    } catch (e) {
      if (!(e instanceof ConcurrentModificationError) || i >= attempts) throw e;
    }
  }
}

export function toView(request: StoredRequest): AccessRequest {
  return toRequestView(request);
}

/** Notices are best effort: a failed card update must not undo or block a grant or a revocation. */
export async function notify(deps: CoreDeps, event: NotificationEvent, request: StoredRequest): Promise<void> {
  try {
    await deps.notifier.requestChanged(event, toView(request));
  } catch (e) {
    deps.log?.warn('notification failed', { requestId: request.id, event, error: String(e) });
  }
}

export function assignmentKeyOf(request: AccessRequest): AssignmentKey {
  return { accountId: request.accountId, permissionSetArn: request.permissionSetArn, userId: request.requester.userId };
}
