/**
 * The `findings` function: EventBridge "Security Hub Findings - Imported" (ASFF) and "Findings
 * Imported V2" (OCSF) events (and, with the
 * optional guardrails stack, "GuardDuty Finding" events; both already filtered
 * by severity and account in the rule) become one findings card in the on-call channel. Findings
 * below the configured severity are dropped again here (the rule may be broader), repeats within
 * the event (same id and UpdatedAt) are sent once, and one call sends at most `maxPerCall` so a
 * burst never floods the channel. A malformed event is an error and sends nothing.
 */
import * as z from 'zod';
import type { FindingView } from '../../contract/notify';
import type { FindingSeverity } from '../../core/model';
import type { NotificationSender } from '../adapters/bot-notifier';
import { clip, findingsNotificationId, GENERATOR_PREFIX, labelFromNormalized, PRODUCT_FIELD, SEVERITY_ORDER, securityHubConsoleLink, severityAtLeast } from '../adapters/finding-views';
import { config } from '../config';
import { type Log, silentLog } from '../http';
import { WorkflowError } from '../workflow/errors';
import { GUARDDUTY_DETAIL_TYPE, guardDutyEventSchema, guardDutyFindingView } from './guardduty';
import { inInvocation } from '../observability/correlation';
import { awsMetricsSink, countFailure, type MetricsSink, noMetrics } from '../observability/emf';
import { awsLog, awsNotificationSender } from '../composition';

export const FINDINGS_DETAIL_TYPE = 'Security Hub Findings - Imported';
/**
 * Security Hub's OCSF event, "Findings Imported V2": one OCSF finding per event in detail.findings
 * (Security Hub, "EventBridge event formats",
 * https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-v2-cwe-event-formats.html;
 * fields: "OCSF findings in Security Hub", https://docs.aws.amazon.com/securityhub/latest/userguide/ocsf-findings.html,
 * and the OCSF Detection/Vulnerability Finding classes: finding_info.uid/title/desc/modified_time(_dt),
 * severity / severity_id, cloud.account.uid, cloud.region, resources[].uid/type, metadata.product.name, status, activity_name).
 */
export const FINDINGS_V2_DETAIL_TYPE = 'Findings Imported V2';
export const DEFAULT_MAX_FINDINGS_PER_CALL = 20;

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be a date-time');

const asffSchema = z.object({
  Id: z.string().min(1).max(512),
  ProductArn: z.string().min(1),
  AwsAccountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id'),
  Title: z.string().min(1),
  UpdatedAt: iso,
  Region: z.string().optional(),
  ProductName: z.string().optional(),
  ProductFields: z.record(z.string(), z.string()).optional(),
  Severity: z
    .object({ Label: z.enum(SEVERITY_ORDER as unknown as [FindingSeverity, ...FindingSeverity[]]).optional(), Normalized: z.number().min(0).max(100).optional() })
    .refine((s) => s.Label !== undefined || s.Normalized !== undefined, 'needs Label or Normalized'),
  Resources: z.array(z.object({ Id: z.string(), Type: z.string().optional() })).optional(),
  GeneratorId: z.string().optional(),
  RecordState: z.string().optional(),
  Workflow: z.object({ Status: z.string().optional() }).optional(),
});
type Asff = z.infer<typeof asffSchema>;

/** OCSF severity_id: 0 Unknown, 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical, 6 Fatal, 99 Other. */
const OCSF_SEVERITY_BY_ID: Record<number, FindingSeverity> = { 0: 'INFORMATIONAL', 1: 'INFORMATIONAL', 2: 'LOW', 3: 'MEDIUM', 4: 'HIGH', 5: 'CRITICAL', 6: 'CRITICAL', 99: 'INFORMATIONAL' };
const OCSF_SEVERITY_BY_NAME: Record<string, FindingSeverity> = { informational: 'INFORMATIONAL', low: 'LOW', medium: 'MEDIUM', high: 'HIGH', critical: 'CRITICAL', fatal: 'CRITICAL' };
const epochMs = z.number().int().min(0);

const ocsfSchema = z
  .object({
    finding_info: z.object({
      uid: z.string().min(1).max(512),
      title: z.string().optional(),
      desc: z.string().optional(),
      modified_time_dt: iso.optional(),
      modified_time: epochMs.optional(),
      created_time_dt: iso.optional(),
    }),
    severity: z.string().optional(),
    severity_id: z.number().int().optional(),
    cloud: z.object({ account: z.object({ uid: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id') }), region: z.string().optional() }),
    resources: z.array(z.object({ uid: z.string().optional(), type: z.string().optional() })).optional(),
    metadata: z.object({ product: z.object({ name: z.string().optional(), uid: z.string().optional() }).optional() }).optional(),
    status: z.string().optional(),
    activity_name: z.string().optional(),
    time_dt: iso.optional(),
    time: epochMs.optional(),
  })
  .refine((f) => f.severity_id !== undefined || (f.severity !== undefined && f.severity.toLowerCase() in OCSF_SEVERITY_BY_NAME), 'needs severity_id or a known severity')
  .refine((f) => f.finding_info.modified_time_dt ?? f.finding_info.modified_time ?? f.time_dt ?? f.time, 'needs finding_info.modified_time(_dt) or time(_dt)');
type Ocsf = z.infer<typeof ocsfSchema>;

export const findingsV2EventSchema = z.object({
  source: z.string(),
  'detail-type': z.literal(FINDINGS_V2_DETAIL_TYPE),
  region: z.string().optional(),
  detail: z.object({ findings: z.array(ocsfSchema).min(1).max(1000) }),
});

export function ocsfFindingView(f: Ocsf): FindingView {
  const severity = (f.severity_id !== undefined ? OCSF_SEVERITY_BY_ID[f.severity_id] : undefined) ?? OCSF_SEVERITY_BY_NAME[(f.severity ?? '').toLowerCase()] ?? 'INFORMATIONAL';
  const when = f.finding_info.modified_time_dt ?? (f.finding_info.modified_time !== undefined ? new Date(f.finding_info.modified_time).toISOString() : undefined) ?? f.time_dt ?? new Date(f.time ?? 0).toISOString();
  const resolved = /^resolved$/i.test(f.status ?? '') || /^close$/i.test(f.activity_name ?? '');
  return {
    id: f.finding_info.uid,
    severity,
    title: clip(f.finding_info.title ?? f.finding_info.desc ?? '', 512) || '(untitled finding)',
    resourceId: clip(f.resources?.find((r) => r.uid)?.uid ?? '', 2048),
    accountId: f.cloud.account.uid,
    productName: clip(f.metadata?.product?.name ?? 'Security Hub', 256),
    updatedAt: new Date(when).toISOString(),
    ...(resolved ? { status: 'RESOLVED' as const } : {}),
  };
}

export const findingsEventSchema = z.object({
  source: z.string(),
  'detail-type': z.literal(FINDINGS_DETAIL_TYPE),
  region: z.string().optional(),
  detail: z.object({ findings: z.array(asffSchema).min(1).max(1000) }),
});

export interface FindingsHandlerOptions {
  minSeverity: FindingSeverity;
  /** Default region for console links when a finding carries none. */
  region?: string;
  maxPerCall?: number;
  log?: Log;
  metrics?: MetricsSink;
}

export interface FindingsResult {
  received: number;
  sent: number;
  belowSeverity: number;
  duplicates: number;
  /** Left out by the per-call cap (the most severe are kept). */
  capped: number;
}

export type NotificationSenderSource = NotificationSender | (() => NotificationSender | Promise<NotificationSender>);

function productNameOf(f: Asff): string {
  const fromFields = f.ProductFields?.['aws/securityhub/ProductName'];
  const fromArn = f.ProductArn.split('/').at(-1);
  return clip(f.ProductName ?? fromFields ?? fromArn ?? 'Security Hub', 256);
}

/**
 * The product's own finding: imported under the default product of the account in AwsAccountId,
 * by our generator. Only then is its `jit/targetAccountId` believed (any product can write any
 * ProductFields).
 */
export function ownFindingTarget(f: Pick<Asff, 'ProductArn' | 'AwsAccountId' | 'GeneratorId' | 'ProductFields'>): string | undefined {
  const own = f.ProductArn.endsWith(`:${f.AwsAccountId}:product/${f.AwsAccountId}/default`) && (f.GeneratorId ?? '').startsWith(`${GENERATOR_PREFIX}/`);
  const target = f.ProductFields?.[PRODUCT_FIELD.targetAccountId];
  return own && target && /^\d{12}$/.test(target) ? target : undefined;
}

export function toFindingView(f: Asff, defaultRegion: string | undefined): FindingView {
  const severity = f.Severity.Label ?? labelFromNormalized(f.Severity.Normalized ?? 0);
  const target = ownFindingTarget(f);
  // The product's own findings name the stack's account in AwsAccountId (Security Hub requires it);
  // the channel shows the member account they are about, and the assignment, not the account resource.
  const resource = target ? (f.Resources?.find((r) => r.Type !== 'AwsAccount') ?? f.Resources?.[0]) : f.Resources?.[0];
  const resolved = f.RecordState === 'ARCHIVED' || f.Workflow?.Status === 'RESOLVED';
  const view: FindingView = {
    id: f.Id,
    severity,
    title: clip(f.Title, 512) || '(untitled finding)',
    resourceId: clip(resource?.Id ?? '', 2048),
    accountId: target ?? f.AwsAccountId,
    productName: productNameOf(f),
    updatedAt: new Date(f.UpdatedAt).toISOString(),
    ...(resolved ? { status: 'RESOLVED' as const } : {}),
  };
  const region = f.Region ?? defaultRegion;
  const link = region ? securityHubConsoleLink(region, f.Id) : undefined;
  if (link) view.link = link;
  return view;
}

function invalidEvent(log: Log, detailType: string, error: z.ZodError): WorkflowError {
  const issues = error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  log.error('invalid findings event', { issues });
  return new WorkflowError('InvalidFindingsEvent', `The event is not a valid "${detailType}" event: ${issues.slice(0, 5).join('; ')}`);
}

/** Security Hub's batch of ASFF findings, its OCSF (V2) findings, or one GuardDuty finding (the optional guardrails stack routes those). */
function findingViewsOf(raw: unknown, defaultRegion: string | undefined, log: Log): FindingView[] {
  const detailType = (raw as { 'detail-type'?: unknown } | null)?.['detail-type'];
  if (detailType === FINDINGS_V2_DETAIL_TYPE) {
    const parsed = findingsV2EventSchema.safeParse(raw);
    if (!parsed.success) throw invalidEvent(log, FINDINGS_V2_DETAIL_TYPE, parsed.error);
    return parsed.data.detail.findings.map(ocsfFindingView);
  }
  if (detailType === GUARDDUTY_DETAIL_TYPE) {
    const parsed = guardDutyEventSchema.safeParse(raw);
    if (!parsed.success) throw invalidEvent(log, GUARDDUTY_DETAIL_TYPE, parsed.error);
    return [guardDutyFindingView(parsed.data.detail)];
  }
  const parsed = findingsEventSchema.safeParse(raw);
  if (!parsed.success) throw invalidEvent(log, FINDINGS_DETAIL_TYPE, parsed.error);
  return parsed.data.detail.findings.map((f) => toFindingView(f, parsed.data.region ?? defaultRegion));
}

export function createFindingsHandler(source: NotificationSenderSource, options: FindingsHandlerOptions): (event: unknown) => Promise<FindingsResult> {
  const log = options.log ?? silentLog;
  const maxPerCall = options.maxPerCall ?? DEFAULT_MAX_FINDINGS_PER_CALL;
  return async (raw) => {
    const all = findingViewsOf(raw, options.region, log);
    const seen = new Set<string>();
    let duplicates = 0;
    let belowSeverity = 0;
    const views: FindingView[] = [];
    for (const view of all) {
      if (!severityAtLeast(view.severity, options.minSeverity)) {
        belowSeverity++;
        continue;
      }
      const key = `${view.id}\u0000${view.updatedAt}`;
      if (seen.has(key)) {
        duplicates++;
        continue;
      }
      seen.add(key);
      views.push(view);
    }
    // Most severe first, then newest, then by id: what the cap keeps, whatever the order in the event
    // (so a redelivered event sends the same set under the same notification id).
    const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    views.sort((a, b) => SEVERITY_ORDER.indexOf(b.severity) - SEVERITY_ORDER.indexOf(a.severity) || order(b.updatedAt, a.updatedAt) || order(a.id, b.id));
    const kept = views.slice(0, maxPerCall);
    const result: FindingsResult = { received: all.length, sent: kept.length, belowSeverity, duplicates, capped: views.length - kept.length };
    if (kept.length === 0) {
      log.debug('no findings to send', { ...result });
      return result;
    }
    if (result.capped > 0) log.warn('findings capped for this call', { ...result });
    try {
      const sender = typeof source === 'function' ? await source() : source;
      await sender.send({ kind: 'findings', findings: kept, notificationId: findingsNotificationId(kept) });
    } catch (e) {
      countFailure(options.metrics ?? noMetrics, 'findings_delivery');
      throw e;
    }
    log.info('findings sent', { ...result });
    return result;
  };
}

let awsHandler: ((event: unknown) => Promise<FindingsResult>) | undefined;
export const handler = (event: unknown): Promise<FindingsResult> => {
  if (!awsHandler) {
    const cfg = config();
    awsHandler = createFindingsHandler(awsNotificationSender, { minSeverity: cfg.findingsMinSeverity, region: cfg.region, log: awsLog('findings'), metrics: awsMetricsSink() });
  }
  const run = awsHandler;
  return inInvocation(() => run(event));
};
