/**
 * The correlation key of a log line: the access request id a Lambda invocation is handling. One
 * scope per invocation (AsyncLocalStorage), so the id never leaks into the next invocation of the
 * same process, and every logger of the process (the handler's and the core services') adds it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

interface InvocationScope {
  requestId?: string;
}

const storage = new AsyncLocalStorage<InvocationScope>();

/** Runs one invocation in a fresh scope. */
export function inInvocation<T>(run: () => T): T {
  return storage.run({}, run);
}

/** Names the access request this invocation handles (no-op outside an invocation scope). */
export function correlate(requestId: string | undefined): void {
  const scope = storage.getStore();
  if (scope && requestId) scope.requestId = requestId;
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
