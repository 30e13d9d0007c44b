import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { AuditEvent, RequestState, Route } from '../../core/model';
import { SYSTEM_ACTOR } from '../../core/model';
import { barChart, computeKpis, formatReport, percentile } from '../../scripts/kpi-report';
import { parseJsonLines, scanAuditTable, toAuditEvent } from '../../scripts/kpi';

const T0 = Date.parse('2030-01-06T09:00:00.000Z');
const iso = (offsetSeconds: number) => new Date(T0 + offsetSeconds * 1000).toISOString();
const alice = { userId: 'u-alice', userName: 'alice@example.com', displayName: 'Alice' };
const carol = { userId: 'u-carol', userName: 'carol@example.com', displayName: 'Carol' };

/** Builds the audit trail one request leaves, the way core emits it. */
class Trail {
  readonly events: AuditEvent[] = [];
  private seq = 0;
  constructor(
    readonly requestId: string,
    opts: { at: number; permissionSetName?: string; route?: Route; accountId?: string },
  ) {
    this.push(opts.at, 'request.submitted', {
      details: { permissionSetName: opts.permissionSetName ?? 'ReadOnly', accountId: opts.accountId ?? '111111111111', route: opts.route ?? 'approval' },
    });
  }
  push(at: number, action: AuditEvent['action'], extra: Partial<AuditEvent> = {}): this {
    this.seq += 1;
    this.events.push({ eventId: `${this.requestId}#${String(this.seq).padStart(4, '0')}`, requestId: this.requestId, at: iso(at), actor: alice, action, reason: 'test', ...extra });
    return this;
  }
  to(at: number, fromState: RequestState, toState: RequestState, details?: AuditEvent['details']): this {
    return this.push(at, 'request.transition', { fromState, toState, details, actor: toState === 'APPROVED' ? carol : SYSTEM_ACTOR });
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
}

describe('scripts/kpi-report: KPIs from the audit trail', () => {
  it('median and p90 time to approve count only the approval route', () => {
    const events: AuditEvent[] = [];
    // approvals after 60, 120, ..., 600 s
    for (let i = 1; i <= 10; i++) events.push(...new Trail(`req-approval${String(i).padStart(6, '0')}`, { at: i * 1000 }).expires(i * 1000, i * 60, 3600, 2).events);
    // auto-approved in 0.1 s: must not pull the median down
    events.push(...new Trail('req-auto00000001', { at: 50_000, route: 'auto_approve' }).to(50_000, 'PENDING_APPROVAL', 'APPROVED').events);
    const r = computeKpis(events);
    assert.equal(r.timeToApprove.count, 10);
    assert.equal(r.timeToApprove.medianSeconds, 330);
    assert.equal(r.timeToApprove.p90Seconds, 546);
    assert.equal(r.byRoute.auto_approve, 1);
  });

  it('shares of auto-expired and early-revoked grants, denials, timeouts, cancellations, failures', () => {
    const events = [
      ...new Trail('req-expired000001', { at: 0 }).expires(0, 30, 600, 1).events,
      ...new Trail('req-expired000002', { at: 10 }).expires(10, 30, 600, 1).events,
      ...new Trail('req-expired000003', { at: 20 }).expires(20, 30, 600, 1).events,
      ...new Trail('req-revoked000001', { at: 30 })
        .to(40, 'PENDING_APPROVAL', 'APPROVED').to(41, 'APPROVED', 'GRANTING').to(45, 'GRANTING', 'ACTIVE')
        .to(100, 'ACTIVE', 'REVOKING').to(101, 'REVOKING', 'REVOKED').events,
      ...new Trail('req-denied0000001', { at: 50 }).to(70, 'PENDING_APPROVAL', 'DENIED').events,
      ...new Trail('req-denied0000002', { at: 51 }).to(71, 'PENDING_APPROVAL', 'DENIED').events,
      ...new Trail('req-timedout00001', { at: 60 }).to(3660, 'PENDING_APPROVAL', 'TIMED_OUT').events,
      ...new Trail('req-cancelled0001', { at: 61 }).to(62, 'PENDING_APPROVAL', 'CANCELLED').events,
      ...new Trail('req-failed0000001', { at: 63 }).to(64, 'PENDING_APPROVAL', 'APPROVED').to(65, 'APPROVED', 'GRANTING').to(70, 'GRANTING', 'FAILED').events,
      ...new Trail('req-pending000001', { at: 80 }).events,
    ];
    const r = computeKpis(events);
    assert.equal(r.requests, 10);
    assert.deepEqual(r.endedGrants, { expired: 3, revokedEarly: 1, expiredShare: 0.75, revokedEarlyShare: 0.25 });
    assert.equal(r.denials, 2);
    assert.equal(r.timeouts, 1);
    assert.equal(r.cancellations, 1);
    assert.equal(r.failures, 1);
    assert.equal(r.byState.PENDING_APPROVAL, 1);
  });

  it('revocation lag SLO: PASS when p99 is under 60 s', () => {
    const events: AuditEvent[] = [];
    for (let i = 0; i < 100; i++) events.push(...new Trail(`req-lag${String(i).padStart(8, '0')}`, { at: i * 10 }).expires(i * 10, 10, 900, (i % 30) + 1).events);
    const r = computeKpis(events);
    assert.equal(r.revocationLag.count, 100);
    assert.ok(r.revocationLag.p99Seconds! <= 30);
    assert.equal(r.revocationLag.pass, true);
    assert.match(formatReport(r), /Revocation lag SLO \(p99 < 60 s\): PASS/);
  });

  it('revocation lag SLO: FAIL when a few expiries hang (the reconciler backstop took minutes)', () => {
    const events: AuditEvent[] = [];
    for (let i = 0; i < 98; i++) events.push(...new Trail(`req-ok${String(i).padStart(8, '0')}`, { at: i }).expires(i, 10, 900, 2).events);
    events.push(...new Trail('req-late00000001', { at: 500 }).expires(500, 10, 900, 290).events);
    events.push(...new Trail('req-late00000002', { at: 501 }).expires(501, 10, 900, 300).events);
    const r = computeKpis(events);
    assert.equal(r.revocationLag.maxSeconds, 300);
    assert.ok(r.revocationLag.p99Seconds! > 60);
    assert.equal(r.revocationLag.pass, false);
    assert.match(formatReport(r), /: FAIL/);
  });

  it('an extension moves the grant end: the newest endsAt counts, not the first', () => {
    const t = new Trail('req-extended00001', { at: 0 })
      .to(10, 'PENDING_APPROVAL', 'APPROVED').to(11, 'APPROVED', 'GRANTING').to(15, 'GRANTING', 'ACTIVE', { endsAt: iso(3615) })
      .push(3000, 'request.extended', { details: { endsAt: iso(7215) } })
      .to(7220, 'ACTIVE', 'REVOKING').to(7225, 'REVOKING', 'EXPIRED');
    const r = computeKpis(t.events);
    assert.equal(r.revocationLag.count, 1);
    assert.equal(r.revocationLag.maxSeconds, 10);
  });

  it('without an endsAt, the grant end is ACTIVE + granted seconds; with neither, the lag is unknown, not guessed', () => {
    const known = new Trail('req-seconds000001', { at: 0 })
      .to(10, 'PENDING_APPROVAL', 'APPROVED').to(11, 'APPROVED', 'GRANTING').to(20, 'GRANTING', 'ACTIVE', { durationSeconds: 600 })
      .to(640, 'ACTIVE', 'REVOKING').to(645, 'REVOKING', 'EXPIRED');
    const unknown = new Trail('req-noend00000001', { at: 1 })
      .to(10, 'PENDING_APPROVAL', 'APPROVED').to(11, 'APPROVED', 'GRANTING').to(20, 'GRANTING', 'ACTIVE')
      .to(640, 'ACTIVE', 'REVOKING').to(645, 'REVOKING', 'EXPIRED');
    const r = computeKpis([...known.events, ...unknown.events]);
    assert.equal(r.revocationLag.count, 1);
    assert.equal(r.revocationLag.maxSeconds, 25);
    assert.equal(r.revocationLag.unknown, 1);
    assert.match(formatReport(r), /1 without a known grant end/);
  });

  it('no expiries: the SLO says NO DATA instead of a false PASS', () => {
    const r = computeKpis(new Trail('req-denied0000009', { at: 0 }).to(5, 'PENDING_APPROVAL', 'DENIED').events);
    assert.equal(r.revocationLag.pass, undefined);
    assert.match(formatReport(r), /NO DATA/);
  });

  it('break-glass uses and the ones whose post-incident review nobody acknowledged', () => {
    const events = [
      ...new Trail('req-glass00000001', { at: 0, route: 'break_glass', permissionSetName: 'BreakGlass' }).expires(0, 0, 900, 1).push(2000, 'request.reviewed').events,
      ...new Trail('req-glass00000002', { at: 5, route: 'break_glass', permissionSetName: 'BreakGlass' }).expires(5, 0, 900, 1).events,
    ];
    const r = computeKpis(events);
    assert.equal(r.breakGlass, 2);
    assert.equal(r.breakGlassUnreviewed, 1);
    assert.equal(r.timeToApprove.count, 0, 'break-glass is not an approval wait');
  });

  it('top requested permission sets, most requested first, ties by name, limited to top N', () => {
    const events: AuditEvent[] = [];
    const names = ['ReadOnly', 'ReadOnly', 'ReadOnly', 'PowerUser', 'PowerUser', 'Admin', 'Billing', 'Network'];
    names.forEach((n, i) => events.push(...new Trail(`req-ps${String(i).padStart(10, '0')}`, { at: i, permissionSetName: n }).events));
    const r = computeKpis(events, { top: 3 });
    assert.deepEqual(r.topPermissionSets, [
      { name: 'ReadOnly', count: 3 },
      { name: 'PowerUser', count: 2 },
      { name: 'Admin', count: 1 },
    ]);
  });

  it('replayed events (same eventId, delivered twice) are counted once', () => {
    const t = new Trail('req-replay0000001', { at: 0 }).to(5, 'PENDING_APPROVAL', 'DENIED');
    const r = computeKpis([...t.events, ...t.events, ...t.events]);
    assert.equal(r.requests, 1);
    assert.equal(r.denials, 1);
    assert.equal(r.events, 2);
  });

  it('out-of-order events still give the final state (sorted by time, then event id)', () => {
    const t = new Trail('req-shuffled00001', { at: 0 }).expires(0, 30, 60, 3);
    const r = computeKpis([...t.events].reverse());
    assert.equal(r.byState.EXPIRED, 1);
    assert.equal(r.revocationLag.maxSeconds, 3);
  });

  it('the window filters on submission time; events of requests submitted elsewhere are reported as orphans', () => {
    const early = new Trail('req-early00000001', { at: 0 }).to(5, 'PENDING_APPROVAL', 'DENIED');
    const late = new Trail('req-late000000001', { at: 86_400 }).to(86_405, 'PENDING_APPROVAL', 'DENIED');
    const orphan: AuditEvent = { eventId: 'req-orphan0000001#0002', requestId: 'req-orphan0000001', at: iso(10), actor: SYSTEM_ACTOR, action: 'request.transition', fromState: 'ACTIVE', toState: 'REVOKING', reason: 'x' };
    const r = computeKpis([...early.events, ...late.events, orphan], { since: iso(3600) });
    assert.equal(r.requests, 1);
    assert.equal(r.denials, 1);
    assert.equal(r.orphanEvents, 1);
    assert.match(formatReport(r), /1 audit events belong to requests whose submission is not in the data/);
  });

  it('an empty trail gives a report, not a crash', () => {
    const r = computeKpis([]);
    assert.equal(r.requests, 0);
    const text = formatReport(r);
    assert.match(text, /median n\/a/);
    assert.match(text, /NO DATA/);
  });

  it('percentile interpolates between ranks; bar chart scales to the largest value and never hides a non-zero one', () => {
    assert.equal(percentile([], 50), undefined);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
    const lines = barChart([{ label: 'ReadOnly', value: 100 }, { label: 'Admin', value: 1 }, { label: 'X', value: 0 }], 20);
    assert.equal(lines[0], `ReadOnly | ${'#'.repeat(20)} 100`);
    assert.equal(lines[1], `Admin    | # 1`);
    assert.equal(lines[2], `X        | 0`);
  });
});

describe('scripts/kpi: reading audit events', () => {
  const event = new Trail('req-reader0000001', { at: 0 }).to(5, 'PENDING_APPROVAL', 'DENIED').events;

  it('JSON lines: blank lines are skipped, broken lines are reported by number', () => {
    const text = [JSON.stringify(event[0]), '', '{not json', JSON.stringify({ hello: 'world' }), JSON.stringify(event[1])].join('\n');
    const parsed = parseJsonLines(text);
    assert.equal(parsed.events.length, 2);
    assert.deepEqual(parsed.rejected, [3, 4]);
  });

  it('accepts table items that wrap the event (detail object or JSON string) as well as flat items', () => {
    assert.equal(toAuditEvent({ pk: 'x', sk: 'y', ...event[0] })?.eventId, event[0]!.eventId);
    assert.equal(toAuditEvent({ pk: 'x', detail: event[0] })?.eventId, event[0]!.eventId);
    assert.equal(toAuditEvent({ pk: 'x', event: JSON.stringify(event[1]) })?.eventId, event[1]!.eventId);
    assert.equal(toAuditEvent({ pk: 'x', event: 'garbage' }), undefined);
    assert.equal(toAuditEvent(null), undefined);
  });

  it('scans the audit table page by page', async () => {
    const ddb = mockClient(DynamoDBDocumentClient);
    ddb.on(ScanCommand, { TableName: 'audit-table', ExclusiveStartKey: undefined }).resolves({ Items: [{ pk: 'a', ...event[0] }], LastEvaluatedKey: { pk: 'a' } });
    ddb.on(ScanCommand, { TableName: 'audit-table', ExclusiveStartKey: { pk: 'a' } }).resolves({ Items: [{ pk: 'b', ...event[1] }, { pk: 'c' }] });
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const parsed = await scanAuditTable(client, 'audit-table');
    assert.equal(parsed.events.length, 2);
    assert.deepEqual(parsed.rejected, [3]);
    assert.equal(ddb.commandCalls(ScanCommand).length, 2);
    ddb.restore();
  });

  it('npm run kpi -- --file prints the report; a missing file and a bad flag are clear errors', function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), 'kpi-'));
    const file = join(dir, 'audit.jsonl');
    const trail = new Trail('req-cli0000000001', { at: 0 }).expires(0, 90, 600, 4);
    writeFileSync(file, trail.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
    const out = execFileSync(tsx, ['scripts/kpi.ts', '--file', file], { encoding: 'utf8' });
    assert.match(out, /median 1\.5 min/);
    assert.match(out, /Revocation lag SLO \(p99 < 60 s\): PASS/);
    assert.match(out, /ReadOnly \| #+ 1/);
    const fail = (args: string[]) => {
      try {
        execFileSync(tsx, ['scripts/kpi.ts', ...args], { encoding: 'utf8', stdio: 'pipe' });
        return assert.fail('expected a non-zero exit');
      } catch (e) {
        return e as { status: number; stderr: string };
      }
    };
    const missing = fail(['--file', join(dir, 'nope.jsonl')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /Cannot read .*nope\.jsonl/);
    const stageOnly = fail(['--stage', 'prod']);
    assert.equal(stageOnly.status, 2);
    assert.match(stageOnly.stderr, /needs --table/);
    const bad = fail(['--frobnicate']);
    assert.equal(bad.status, 2);
  });
});
