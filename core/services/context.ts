/**
 * What every use case shares: loading a request, writing a change with compare-and-swap together
 * with its audit events and its notices (two outboxes in the one conditional write), flushing
 * them, and the read-only view that leaves the server.
 */
import { ConcurrentModificationError, DependencyError, NotFoundError } from '../errors';
import type { Change } from '../lifecycle';
import { type AccessRequest, type AssignmentKey, type NotificationEvent, type PendingNotice, type StoredRequest, toRequestView } from '../model';
import type { CoreDeps } from './types';

export async function load(deps: CoreDeps, requestId: string): Promise<StoredRequest> {
  const request = await deps.requests.get(requestId);
  if (!request) throw new NotFoundError('Request', requestId);
  return request;
}

/**
 * Persists a change only if nobody else wrote first, then flushes its audit events. The events and
 * the `notices` for the bot ride in the same write (the outboxes), so a crash after the write
 * cannot lose them. The notices are NOT sent here: the caller announces them (`announce`) once its
 * retry loop is over, so a lost race sends nothing and the caller's answer never waits on the bot.
 */
export async function commit(deps: CoreDeps, current: StoredRequest, change: Change, notices: readonly NotificationEvent[] = []): Promise<StoredRequest> {
  const pending: PendingNotice[] = [...(current.noticeOutbox ?? []), ...notices.map((event) => ({ event, version: change.next.version }))];
  const { noticeOutbox: _carried, ...rest } = change.next;
  const next: StoredRequest = { ...rest, auditOutbox: [...(current.auditOutbox ?? []), ...change.events], ...(pending.length > 0 ? { noticeOutbox: pending } : {}) };
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

/**
 * After a committed change: has its notices flushed. With a dispatcher (every deployed process),
 * only the ask is awaited, never the bot. Without one (tests, benchmarks) the flush runs here.
 * Never throws: the change stands, and a notice that did not go out stays in the outbox, where
 * the next flush or reconcile finds it.
 */
export async function announce(deps: CoreDeps, request: StoredRequest): Promise<void> {
  if ((request.noticeOutbox?.length ?? 0) === 0) return;
  try {
    if (deps.notices) await deps.notices.dispatch(request.id);
    else await flushNotices(deps, request.id);
  } catch (e) {
    deps.log?.warn('the notices stay in the outbox for a retry or reconcile', { requestId: request.id, error: String(e) });
  }
}

export interface NoticeFlush {
  /** Notices the bot took (a 409 DUPLICATE counts: it had them already). */
  delivered: number;
  /** Notices the bot refused for good (a bug on one side): logged and dropped, never retried forever. */
  dropped: number;
}

/**
 * Sends a request's pending notices, oldest first, each with the request as it is NOW (the cards
 * show the newest state; the bot never renders an older version over a newer one), then clears
 * the outbox if no write came in between (a newer write carried the notices forward, and its own
 * flush sends them again: the bot answers a notice it already has with 409 DUPLICATE).
 * Throws a retryable DependencyError when the bot could not take one: the caller retries (the
 * asynchronous invoke's retries, then reconcile).
 */
export async function flushNotices(deps: CoreDeps, requestId: string): Promise<NoticeFlush> {
  const result: NoticeFlush = { delivered: 0, dropped: 0 };
  const request = await deps.requests.get(requestId);
  const outbox = request?.noticeOutbox ?? [];
  if (!request || outbox.length === 0) return result;
  const view = toView(request);
  let failure: unknown;
  // Each notice is tried even when one before it failed: they all carry the newest request, so a
  // later one never shows an older state, and one the bot cannot take does not hold up the others.
  for (const notice of outbox) {
    try {
      await deps.notifier.requestChanged(notice.event, view, notice.version);
      result.delivered++;
    } catch (e) {
      if (e instanceof DependencyError && !e.retryable) {
        deps.log?.warn('the bot refused a notice; it is dropped', { requestId, event: notice.event, version: notice.version, error: e.message });
        result.dropped++;
        continue;
      }
      failure ??= e;
    }
  }
  if (failure !== undefined) {
    // Nothing is cleared: the retry sends them all again, and the bot answers DUPLICATE for those it took.
    throw failure instanceof DependencyError ? failure : new DependencyError('notifier', `A notice could not be delivered: ${(failure as Error).message}`, true);
  }
  try {
    await deps.requests.clearNoticeOutbox(request.id, request.version);
  } catch (e) {
    // Harmless: the bot has the notices, and sending them again is answered with DUPLICATE.
    deps.log?.warn('clearing the notice outbox failed', { requestId, error: String(e) });
  }
  return result;
}

export function assignmentKeyOf(request: AccessRequest): AssignmentKey {
  return { accountId: request.accountId, permissionSetArn: request.permissionSetArn, userId: request.requester.userId };
}
