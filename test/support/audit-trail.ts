/**
 * Builds the audit trail one request leaves, the way core emits it (request.submitted, then one
 * request.transition per state change), for the KPI tests.
 */
import type { AuditEvent, RequestState, Route } from '../../core/model';
import { SYSTEM_ACTOR } from '../../core/model';

export const T0 = Date.parse('2030-01-06T09:00:00.000Z');
export const iso = (offsetSeconds: number) => new Date(T0 + offsetSeconds * 1000).toISOString();
const alice = { userId: 'u-alice', userName: 'alice@example.com', displayName: 'Alice' };
const carol = { userId: 'u-carol', userName: 'carol@example.com', displayName: 'Carol' };

export class Trail {
  readonly events: AuditEvent[] = [];
  private seq = 0;
  constructor(
    readonly requestId: string,
    opts: { at: number; permissionSetName?: string; route?: Route },
  ) {
    this.push(opts.at, 'request.submitted', { details: { permissionSetName: opts.permissionSetName ?? 'ReadOnly', accountId: '111111111111', route: opts.route ?? 'approval' } });
  }
  push(at: number, action: AuditEvent['action'], extra: Partial<AuditEvent> = {}): this {
    this.seq += 1;
    this.events.push({ eventId: `${this.requestId}#${String(this.seq).padStart(4, '0')}`, requestId: this.requestId, at: iso(at), actor: alice, action, reason: 'test', ...extra });
    return this;
  }
  to(at: number, fromState: RequestState, toState: RequestState, details?: AuditEvent['details']): this {
    return this.push(at, 'request.transition', { fromState, toState, details, actor: toState === 'APPROVED' || toState === 'DENIED' ? carol : SYSTEM_ACTOR });
  }
  /** Approved after `approveAfter` s, active 5 s later for `seconds`, expired `lag` s after the end. */
  expires(start: number, approveAfter: number, seconds: number, lag: number): this {
    const approved = start + approveAfter;
    const active = approved + 5;
    return this.to(approved, 'PENDING_APPROVAL', 'APPROVED')
      .to(approved + 1, 'APPROVED', 'GRANTING')
      .to(active, 'GRANTING', 'ACTIVE', { endsAt: iso(active + seconds) })
      .to(active + seconds + lag - 1, 'ACTIVE', 'REVOKING')
      .to(active + seconds + lag, 'REVOKING', 'EXPIRED');
  }
  /** A break-glass grant: ACTIVE at once, expired on time; `reviewed` adds the post-incident review. */
  static breakGlass(id: string, at: number, reviewed: boolean): Trail {
    const t = new Trail(id, { at, route: 'break_glass', permissionSetName: 'Admin' })
      .to(at + 1, 'PENDING_APPROVAL', 'APPROVED')
      .to(at + 2, 'APPROVED', 'GRANTING')
      .to(at + 3, 'GRANTING', 'ACTIVE', { endsAt: iso(at + 903) })
      .to(at + 903, 'ACTIVE', 'REVOKING')
      .to(at + 905, 'REVOKING', 'EXPIRED');
    if (reviewed) t.push(at + 2000, 'request.reviewed');
    return t;
  }
}

/** A week of mixed traffic: approvals, denials, a timeout, a revocation, break-glass with and without review. */
export function mixedWeek(): AuditEvent[] {
  const h = 3600;
  return [
    ...new Trail('req-approved00000001', { at: 0 }).expires(0, 120, 900, 4).events,
    ...new Trail('req-approved00000002', { at: h }).expires(h, 600, 1800, 12).events,
    ...new Trail('req-approved00000003', { at: 2 * h, permissionSetName: 'PowerUser' }).expires(2 * h, 1500, 1800, 75).events,
    ...new Trail('req-denied000000004', { at: 3 * h }).to(3 * h + 300, 'PENDING_APPROVAL', 'DENIED').events,
    ...new Trail('req-timedout0000005', { at: 4 * h }).to(4 * h + 900, 'PENDING_APPROVAL', 'TIMED_OUT').events,
    ...new Trail('req-pending00000006', { at: 5 * h }).events,
    ...new Trail('req-revoked00000007', { at: 6 * h }).to(6 * h + 60, 'PENDING_APPROVAL', 'APPROVED').to(6 * h + 61, 'APPROVED', 'GRANTING').to(6 * h + 65, 'GRANTING', 'ACTIVE', { endsAt: iso(6 * h + 3665) }).to(6 * h + 700, 'ACTIVE', 'REVOKING').to(6 * h + 705, 'REVOKING', 'REVOKED').events,
    ...Trail.breakGlass('req-breakglass00008', 7 * h, true).events,
    ...Trail.breakGlass('req-breakglass00009', 8 * h, false).events,
  ];
}
