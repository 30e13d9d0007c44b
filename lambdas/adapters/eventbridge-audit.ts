/**
 * Audit events onto the audit bus (EventBridge PutEvents); the audit-writer function stores them.
 * PutEvents is partial: entries can fail while the call succeeds, so failed entries are retried on
 * their own, and what still fails after the last attempt is a retryable DependencyError (the
 * events stay in the request's outbox and reconcile flushes them later).
 */
import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DependencyError } from '../../core/errors';
import type { AuditEvent } from '../../core/model';
import type { AuditSink, Clock } from '../../core/ports';
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry';

export const AUDIT_EVENT_SOURCE = 'jit.access';
export const AUDIT_DETAIL_TYPE = 'JIT Access Audit Event';
const ENTRIES_PER_CALL = 10;
const DEPENDENCY = 'EventBridge';

export interface EventBridgeAuditOptions {
  eventBusName: string;
  clock: Clock;
  random?: () => number;
  retry?: RetryPolicy;
}

export class EventBridgeAuditSink implements AuditSink {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly options: EventBridgeAuditOptions,
  ) {}

  async append(events: readonly AuditEvent[]): Promise<void> {
    const entries = events.map((e) => this.entry(e));
    for (let i = 0; i < entries.length; i += ENTRIES_PER_CALL) await this.put(entries.slice(i, i + ENTRIES_PER_CALL));
  }

  private entry(event: AuditEvent): PutEventsRequestEntry {
    const time = new Date(event.at);
    return {
      EventBusName: this.options.eventBusName,
      Source: AUDIT_EVENT_SOURCE,
      DetailType: AUDIT_DETAIL_TYPE,
      Detail: JSON.stringify(event),
      ...(Number.isNaN(time.getTime()) ? {} : { Time: time }),
    };
  }

  private async put(batch: PutEventsRequestEntry[]): Promise<void> {
    const policy = this.options.retry ?? { ...DEFAULT_RETRY, maxAttempts: 4 };
    const random = this.options.random ?? Math.random;
    let pending = batch;
    for (let attempt = 1; ; attempt++) {
      const entries = pending;
      const out = await withRetry({ clock: this.options.clock, random, policy, dependency: DEPENDENCY, operation: 'PutEvents' }, () =>
        this.client.send(new PutEventsCommand({ Entries: entries })),
      );
      if (!out.FailedEntryCount) return;
      // Results are positional: the i-th result belongs to the i-th entry.
      const results = out.Entries ?? [];
      const failed = entries.filter((_, i) => !results[i]?.EventId);
      const reasons = [...new Set(results.filter((r) => r.ErrorCode).map((r) => `${r.ErrorCode}: ${r.ErrorMessage ?? ''}`.trim()))];
      if (failed.length === 0) return;
      if (attempt >= policy.maxAttempts) {
        throw new DependencyError(DEPENDENCY, `${DEPENDENCY} PutEvents: ${failed.length} of ${batch.length} audit events were not accepted after ${attempt} attempts (${reasons.join('; ')}).`, true);
      }
      pending = failed;
      await this.options.clock.sleep(backoffDelay(policy, attempt - 1, random));
    }
  }
}
