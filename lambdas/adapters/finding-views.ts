/**
 * Findings as the channel shows them (core/api.ts FindingView): from the product's own
 * SecurityFinding, or from any product's ASFF finding in a "Findings - Imported" event.
 */
import { createHash } from 'node:crypto';
import type { FindingView } from '../../contract/notify';
import type { FindingSeverity, SecurityFinding } from '../../core/model';

export const SEVERITY_ORDER: readonly FindingSeverity[] = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
export const PRODUCT_NAME = 'Teams JIT Access';
/** GeneratorId of the product's own findings: `teams-jit-access/<kind>` (the findings rule matches on it). */
export const GENERATOR_PREFIX = 'teams-jit-access';
/** ProductFields keys of the product's own findings (written by securityhub-findings.ts, read by the findings handler). */
export const PRODUCT_FIELD = { kind: 'jit/kind', requestId: 'jit/requestId', targetAccountId: 'jit/targetAccountId' } as const;

export function severityAtLeast(severity: FindingSeverity, min: FindingSeverity): boolean {
  return SEVERITY_ORDER.indexOf(severity) >= SEVERITY_ORDER.indexOf(min);
}

/** Security Hub's own mapping of the deprecated 0-100 `Normalized` score to a label. */
export function labelFromNormalized(n: number): FindingSeverity {
  if (n <= 0) return 'INFORMATIONAL';
  if (n < 40) return 'LOW';
  if (n < 70) return 'MEDIUM';
  if (n < 90) return 'HIGH';
  return 'CRITICAL';
}

/** The finding in the Security Hub console of its region (an Id EQUALS filter). */
export function securityHubConsoleLink(region: string, findingId: string): string | undefined {
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) return undefined;
  // The console expects the filter value escaped twice (once for its own syntax, once for the URL).
  const filter = encodeURIComponent(`Id=\\operator\\:EQUALS\\:${findingId}`);
  const link = `https://${region}.console.aws.amazon.com/securityhub/home?region=${region}#/findings?search=${encodeURIComponent(filter)}`;
  return link.length <= 2048 ? link : undefined;
}

export function clip(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

export function findingViewOf(f: SecurityFinding, region: string): FindingView {
  const view: FindingView = {
    id: clip(f.id, 512),
    severity: f.severity,
    title: clip(f.title, 512) || f.kind,
    resourceId: clip(f.resourceId, 2048),
    accountId: f.accountId,
    productName: PRODUCT_NAME,
    updatedAt: new Date(f.at).toISOString(),
  };
  const link = securityHubConsoleLink(region, f.id);
  if (link) view.link = link;
  return view;
}

/** Deterministic for a set of findings (order-insensitive), so a retried delivery is recognized by the bot. */
export function findingsNotificationId(views: readonly Pick<FindingView, 'id' | 'updatedAt'>[]): string {
  const keys = views.map((v) => `${v.id}\u0000${v.updatedAt}`).sort();
  return `findings.${createHash('sha256').update(keys.join('\u0001')).digest('hex').slice(0, 40)}`;
}
