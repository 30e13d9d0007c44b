/**
 * Revoking an assignment does not end the console or CLI sessions already started with it: those
 * live until the permission set's SessionDuration runs out. This check reads the SessionDuration
 * of each managed permission set (DescribePermissionSet) and warns for every one over 1 hour.
 * It never throws: a failed lookup is logged and the check moves on.
 */
import { DescribePermissionSetCommand, type SSOAdminClient } from '@aws-sdk/client-sso-admin';
import type { Log } from '../../core/ports';

/** Longest session we accept without a warning. */
export const MAX_SESSION_SECONDS = 3600;
/** What Identity Center applies when a permission set has no SessionDuration. */
export const DEFAULT_SESSION_DURATION = 'PT1H';
/** The `event` field of the warning log line (a metric filter or Logs Insights can match it). */
export const SESSION_DURATION_EVENT = 'session_duration_too_long';

export interface SessionDurationWarning {
  permissionSetArn: string;
  name?: string;
  sessionDuration: string;
  seconds: number;
}

export type SessionDurationLog = Pick<Log, 'warn'> & Partial<Pick<Log, 'info'>>;

const ISO_DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** Seconds of an ISO 8601 duration as Identity Center writes them (PT1H, PT12H, PT2H30M, P1D); undefined if not one. */
export function durationSeconds(iso: string): number | undefined {
  const m = ISO_DURATION.exec(iso.trim());
  if (!m || iso.trim() === 'P' || iso.trim().endsWith('T')) return undefined;
  const [, w, d, h, min, s] = m;
  const n = (v: string | undefined) => (v === undefined ? 0 : Number(v));
  return n(w) * 604_800 + n(d) * 86_400 + n(h) * 3600 + n(min) * 60 + n(s);
}

/**
 * Warns (one structured log line each, and in the result) for every permission set whose sessions
 * outlive a revocation by more than an hour. Sequential calls: a handful of permission sets, and
 * Identity Center's 20 TPS are shared with the grants.
 */
export async function checkSessionDurations(
  client: SSOAdminClient,
  instanceArn: string,
  permissionSetArns: readonly string[],
  log: SessionDurationLog,
): Promise<SessionDurationWarning[]> {
  const warnings: SessionDurationWarning[] = [];
  for (const permissionSetArn of [...new Set(permissionSetArns)]) {
    let duration: string;
    let name: string | undefined;
    try {
      const out = await client.send(new DescribePermissionSetCommand({ InstanceArn: instanceArn, PermissionSetArn: permissionSetArn }));
      duration = out.PermissionSet?.SessionDuration ?? DEFAULT_SESSION_DURATION;
      name = out.PermissionSet?.Name;
    } catch (e) {
      log.warn('could not read the session duration of a managed permission set', {
        permissionSetArn,
        error: e instanceof Error ? e.name : String(e),
        message: e instanceof Error ? e.message : undefined,
      });
      continue;
    }
    const seconds = durationSeconds(duration);
    if (seconds === undefined) {
      log.warn('unrecognized session duration on a managed permission set', { permissionSetArn, name, sessionDuration: duration });
      continue;
    }
    if (seconds > MAX_SESSION_SECONDS) {
      const warning: SessionDurationWarning = { permissionSetArn, ...(name ? { name } : {}), sessionDuration: duration, seconds };
      warnings.push(warning);
      log.warn(
        `Permission set ${name ?? permissionSetArn} has a session duration of ${duration}: sessions already started outlive a revocation by up to ${Math.round(seconds / 60)} minutes. Set it to PT1H or less.`,
        { event: SESSION_DURATION_EVENT, ...warning },
      );
    }
  }
  return warnings;
}
