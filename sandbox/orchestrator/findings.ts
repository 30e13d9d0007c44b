/**
 * Security Hub "Findings - Imported" events -> the on-call channel, for as long as the real
 * lambdas/findings handler is not available: ASFF -> FindingView, the severity floor of the
 * findings rule (HIGH by default), then the signed notification the bot's /api/notify takes.
 * `findingsListener` prefers the real handler when it exports `createFindingsHandler`.
 */
import type { FindingView } from '../../core/api';
import type { FindingSeverity } from '../../core/model';
import { clip, findingsNotificationId, labelFromNormalized, PRODUCT_NAME, securityHubConsoleLink, SEVERITY_ORDER, severityAtLeast } from '../../lambdas/adapters/finding-views';
import type { AsffFinding, SecurityHubImportedEvent } from '../aws/security-hub';

export function asffToFindingView(f: AsffFinding, region: string): FindingView {
  const label = f.Severity?.Label?.toUpperCase();
  const severity: FindingSeverity = (SEVERITY_ORDER as readonly string[]).includes(label ?? '') ? (label as FindingSeverity) : labelFromNormalized(f.Severity?.Normalized ?? 0);
  const productName = typeof f.ProductName === 'string' ? f.ProductName : f.ProductArn.includes('/default') ? PRODUCT_NAME : (f.ProductArn.split('/').pop() ?? 'Security Hub');
  const view: FindingView = {
    id: clip(f.Id, 512),
    severity,
    title: clip(f.Title, 512),
    resourceId: clip(f.Resources[0]?.Id ?? f.AwsAccountId, 2048),
    accountId: f.AwsAccountId,
    productName: clip(productName, 128),
    updatedAt: new Date(f.UpdatedAt).toISOString(),
  };
  const link = securityHubConsoleLink(region, f.Id);
  if (link) view.link = link;
  return view;
}

export interface FindingsFallbackOptions {
  region: string;
  minSeverity: FindingSeverity;
  send: (body: { kind: 'findings'; findings: FindingView[]; notificationId: string }) => Promise<void>;
}

export function fallbackFindingsHandler(options: FindingsFallbackOptions): (event: SecurityHubImportedEvent) => Promise<{ posted: number }> {
  return async (event) => {
    const views = event.detail.findings.map((f) => asffToFindingView(f, event.region || options.region)).filter((v) => severityAtLeast(v.severity, options.minSeverity));
    if (views.length === 0) return { posted: 0 };
    await options.send({ kind: 'findings', findings: views, notificationId: findingsNotificationId(views) });
    return { posted: views.length };
  };
}
