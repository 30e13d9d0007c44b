/**
 * The product's own Security Hub findings, with memory. Security Hub asks providers to "retain the
 * state of findings" so that they send updates as a condition comes and goes, and to retry what
 * throttling or the network lost (Security Hub partner guide, "Guidelines for using the
 * BatchImportFindings API",
 * https://docs.aws.amazon.com/securityhub/latest/partnerguide/guidelines-batchimportfindings.html).
 *
 * - A lasting condition is imported once. A finding whose content did not change is not sent again;
 *   a change is sent as an update of the same id (CreatedAt kept, UpdatedAt new).
 * - A drift condition that went away is resolved: re-imported with `resolved` (RecordState ARCHIVED).
 * - The finding is recorded before it is imported, and marked imported after. One that Security Hub
 *   did not accept stays unimported, and reconcile imports exactly the same content again (same
 *   UpdatedAt, so the channel does not post it twice).
 */
import type { SecurityFinding, TrackedFinding } from '../model';
import { iso } from '../time';
import { withRetry } from './context';
import type { CoreDeps } from './types';

/** What makes two versions of a finding different for the humans who read it (timestamps excluded). */
export function findingFingerprint(f: SecurityFinding): string {
  return JSON.stringify([f.kind, f.severity, f.title, f.description, f.accountId, f.resourceId, f.requestId ?? '', f.resolved === true]);
}

export interface FindingsImportOutcome {
  /** Ids sent to Security Hub in this call (accepted or not). */
  attempted: string[];
  /** Ids Security Hub accepted. */
  imported: string[];
  /** What went wrong; the findings stay unimported and are retried by reconcile. */
  errors: unknown[];
}

/**
 * The version of `finding` to send, or undefined when Security Hub already has this content.
 * A retry of an unimported version re-sends it unchanged; a reopened (resolved) condition starts anew.
 */
function nextVersion(tracked: TrackedFinding | undefined, finding: SecurityFinding): SecurityFinding | undefined {
  const fingerprint = findingFingerprint(finding);
  if (tracked && tracked.fingerprint === fingerprint) return tracked.imported ? undefined : tracked.finding;
  const reopened = !tracked || tracked.finding.resolved === true;
  const createdAt = reopened ? finding.createdAt ?? finding.at : tracked.finding.createdAt ?? tracked.finding.at;
  return { ...finding, createdAt };
}

/** Records each finding as waiting, imports them together, and records the outcome per finding. */
async function recordAndImport(deps: CoreDeps, findings: readonly SecurityFinding[]): Promise<FindingsImportOutcome> {
  const outcome: FindingsImportOutcome = { attempted: [], imported: [], errors: [] };
  if (findings.length === 0) return outcome;
  const waiting: SecurityFinding[] = [];
  for (const finding of findings) {
    try {
      await withRetry(async () => {
        const current = await deps.findingsState.get(finding.id);
        const fingerprint = findingFingerprint(finding);
        if (current && current.fingerprint === fingerprint && current.finding.at === finding.at && !current.imported) return;
        const next: TrackedFinding = {
          id: finding.id,
          finding,
          fingerprint,
          imported: false,
          failedAttempts: current && current.fingerprint === fingerprint ? current.failedAttempts : 0,
          version: (current?.version ?? 0) + 1,
          updatedAt: iso(deps.clock.now()),
        };
        await deps.findingsState.put(next, current?.version);
      });
    } catch (e) {
      // Not remembered (the store is down): still worth sending now, only without a retry later.
      outcome.errors.push(e);
    }
    waiting.push(finding);
  }
  if (waiting.length === 0) return outcome;
  outcome.attempted = waiting.map((f) => f.id);
  let failure: unknown;
  try {
    await deps.findings.publish(waiting);
  } catch (e) {
    failure = e;
    outcome.errors.push(e);
  }
  for (const finding of waiting) {
    try {
      await withRetry(async () => {
        const current = await deps.findingsState.get(finding.id);
        // Someone recorded a newer version meanwhile: theirs is what counts now.
        if (!current || current.finding.at !== finding.at || current.fingerprint !== findingFingerprint(finding)) return;
        const next: TrackedFinding = failure
          ? { ...current, failedAttempts: current.failedAttempts + 1, version: current.version + 1, updatedAt: iso(deps.clock.now()) }
          : { ...current, imported: true, failedAttempts: 0, version: current.version + 1, updatedAt: iso(deps.clock.now()) };
        await deps.findingsState.put(next, current.version);
      });
      if (!failure) outcome.imported.push(finding.id);
    } catch (e) {
      outcome.errors.push(e);
    }
  }
  if (failure) deps.log?.warn('Security Hub did not accept findings; reconcile imports them again', { ids: outcome.attempted.slice(0, 20), error: String(failure) });
  return outcome;
}

/**
 * Imports findings about single events (break-glass use, a failed revocation): once per content.
 * Throws when Security Hub did not accept them (they are kept and retried by reconcile).
 */
export async function publishFindings(deps: CoreDeps, findings: readonly SecurityFinding[]): Promise<FindingsImportOutcome> {
  const toSend: SecurityFinding[] = [];
  for (const finding of findings) {
    const next = nextVersion(await deps.findingsState.get(finding.id), finding);
    if (next) toSend.push(next);
  }
  const outcome = await recordAndImport(deps, toSend);
  if (outcome.errors.length > 0) throw outcome.errors[0];
  return outcome;
}

/** Whether a drift finding's (account, permission set) was listed completely in this sweep. */
export type DriftScope = (finding: SecurityFinding) => boolean;

/** The account and permission set of a drift finding (its resourceId is the assignment key id `account|psArn|user`). */
export function driftPair(finding: SecurityFinding): string {
  const [accountId = '', permissionSetArn = ''] = finding.resourceId.split('|');
  return `${accountId}|${permissionSetArn}`;
}

/**
 * Brings Security Hub in line with the drift seen in this sweep: new or changed drift is imported,
 * lasting drift is left alone, and tracked drift that is no longer live is resolved. Only pairs the
 * sweep listed completely (`inScope`) are resolved: a failed listing proves nothing.
 */
export async function syncDriftFindings(deps: CoreDeps, current: readonly SecurityFinding[], inScope: DriftScope): Promise<FindingsImportOutcome & { resolved: string[] }> {
  const now = iso(deps.clock.now());
  const seen = new Set(current.map((f) => f.id));
  const toSend: SecurityFinding[] = [];
  const resolved: string[] = [];
  const tracked = new Map((await deps.findingsState.list()).filter((t) => t.finding.kind === 'assignment_drift').map((t) => [t.id, t]));
  for (const finding of current) {
    const next = nextVersion(tracked.get(finding.id), finding);
    if (next) toSend.push(next);
  }
  for (const t of tracked.values()) {
    if (seen.has(t.id) || t.finding.resolved || !inScope(t.finding)) continue;
    toSend.push({
      ...t.finding,
      resolved: true,
      at: now,
      createdAt: t.finding.createdAt ?? t.finding.at,
      description: `The assignment is no longer live (seen by reconcile at ${now}). ${t.finding.description}`,
    });
    resolved.push(t.id);
  }
  // A tracked drift finding that is already resolved but was never imported is retried here too.
  for (const t of tracked.values()) {
    if (!t.imported && t.finding.resolved && !toSend.some((f) => f.id === t.id)) toSend.push(t.finding);
  }
  return { ...(await recordAndImport(deps, toSend)), resolved };
}

/** Imports again every tracked finding that Security Hub has not accepted yet (except those tried in this sweep). */
export async function retryFindingImports(deps: CoreDeps, alreadyTried: ReadonlySet<string> = new Set()): Promise<FindingsImportOutcome> {
  const pending = (await deps.findingsState.list()).filter((t) => !t.imported && !alreadyTried.has(t.id));
  return recordAndImport(
    deps,
    pending.map((t) => t.finding),
  );
}
