import assert from 'node:assert/strict';
import { IllegalTransitionError, LimitExceededError } from '../../core/errors';
import { acquire, expiringSoonLeadSeconds, extendWindow, openWindow, release, remainingSeconds, totalLimitSeconds } from '../../core/grants';
import type { LedgerEntry } from '../../core/model';
import { humanDuration } from '../../core/time';

const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);
const key = { accountId: '111111111111', permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-1/ps-1', userId: 'u-alice' };

describe('core grants: windows', () => {
  it('opens a window of the requested length', () => {
    const w = openWindow(T0, 1800);
    assert.equal(w.startsAt, '2026-01-01T09:00:00.000Z');
    assert.equal(w.endsAt, '2026-01-01T09:30:00.000Z');
    assert.equal(w.totalSeconds, 1800);
    assert.equal(remainingSeconds(w, T0 + 600_000), 1200);
    assert.equal(remainingSeconds(w, T0 + 9_000_000), 0);
  });

  it('extends the end and counts extensions, within the maximum total', () => {
    const w = extendWindow(openWindow(T0, 1800), 1800, 3600, T0 + 60_000);
    assert.equal(w.endsAt, '2026-01-01T10:00:00.000Z');
    assert.equal(w.totalSeconds, 3600);
    assert.equal(w.extensions, 1);
  });

  it('refuses an extension past the maximum total and says how much is left', () => {
    assert.throws(() => extendWindow(openWindow(T0, 1800), 3600, 3600, T0), (e: unknown) => e instanceof LimitExceededError && /up to 30 min/.test(e.message));
  });

  it('refuses any extension once the maximum is used up, suggesting a new request', () => {
    assert.throws(() => extendWindow(openWindow(T0, 3600), 60, 3600, T0), (e: unknown) => e instanceof LimitExceededError && /new request/.test(e.message));
  });

  it('refuses to extend a window that already ended, and non-positive extensions', () => {
    assert.throws(() => extendWindow(openWindow(T0, 60), 60, 3600, T0 + 61_000), IllegalTransitionError);
    assert.throws(() => extendWindow(openWindow(T0, 60), 0, 3600, T0), LimitExceededError);
    assert.throws(() => extendWindow(openWindow(T0, 60), -60, 3600, T0), LimitExceededError);
  });

  it('break-glass grants are bounded by the break-glass maximum', () => {
    const terms = { maxTotalDurationSeconds: 14400, breakGlassMaxDurationSeconds: 1800 };
    assert.equal(totalLimitSeconds({ route: 'break_glass', terms } as never), 1800);
    assert.equal(totalLimitSeconds({ route: 'approval', terms } as never), 14400);
  });

  it('expiring-soon lead time: 10 minutes for long grants, a quarter of short ones, never under 30 s', () => {
    assert.equal(expiringSoonLeadSeconds(openWindow(T0, 4 * 3600)), 600);
    assert.equal(expiringSoonLeadSeconds(openWindow(T0, 600)), 150);
    assert.equal(expiringSoonLeadSeconds(openWindow(T0, 60)), 30);
  });

  it('formats durations for people', () => {
    assert.equal(humanDuration(5400), '1 h 30 min');
    assert.equal(humanDuration(86400 + 60), '1 d 1 min');
    assert.equal(humanDuration(20), '20 s');
  });
});

describe('core grants: reference counting', () => {
  const entry = (over: Partial<LedgerEntry> = {}): LedgerEntry => ({ key, activeGrantIds: [], version: 1, updatedAt: 'x', ...over });

  it('acquire is idempotent per request', () => {
    const once = acquire(entry(), 'req-a');
    assert.deepEqual(acquire(once, 'req-a').activeGrantIds, ['req-a']);
  });

  it('the last release of an assignment we created must delete it and marks it deleting', () => {
    const r = release(entry({ ownership: 'OURS', activeGrantIds: ['req-a'] }), 'req-a');
    assert.equal(r.mustDelete, true);
    assert.equal(r.entry.deleting, true);
  });

  it('a release while another grant is active keeps the assignment', () => {
    const r = release(entry({ ownership: 'OURS', activeGrantIds: ['req-a', 'req-b'] }), 'req-a');
    assert.equal(r.mustDelete, false);
    assert.deepEqual(r.entry.activeGrantIds, ['req-b']);
  });

  it('an external assignment is never deleted, even by its last release', () => {
    const r = release(entry({ ownership: 'EXTERNAL', activeGrantIds: ['req-a'] }), 'req-a');
    assert.equal(r.mustDelete, false);
  });
});
