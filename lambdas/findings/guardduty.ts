/**
 * GuardDuty findings ("GuardDuty Finding" events from aws.guardduty, routed by the optional
 * guardrails stack) as the channel shows findings: the same FindingView as Security Hub's.
 * GuardDuty scores severity 1-10: LOW from 1, MEDIUM from 4, HIGH from 7, CRITICAL from 9.
 */
import * as z from 'zod';
import type { FindingView } from '../../contract/notify';
import type { FindingSeverity } from '../../core/model';
import { clip } from '../adapters/finding-views';

export const GUARDDUTY_SOURCE = 'aws.guardduty';
export const GUARDDUTY_DETAIL_TYPE = 'GuardDuty Finding';

/** The lowest GuardDuty score of each label (what the EventBridge rule's numeric filter uses). */
export const GUARDDUTY_MIN_SCORE: Record<FindingSeverity, number> = { INFORMATIONAL: 0, LOW: 1, MEDIUM: 4, HIGH: 7, CRITICAL: 9 };

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be a date-time');

const resourceSchema = z
  .object({
    resourceType: z.string().max(256).optional(),
    instanceDetails: z.object({ instanceId: z.string().max(256).optional() }).optional(),
    accessKeyDetails: z.object({ userName: z.string().max(256).optional(), principalId: z.string().max(256).optional() }).optional(),
    s3BucketDetails: z.array(z.object({ name: z.string().max(256).optional() })).optional(),
    eksClusterDetails: z.object({ name: z.string().max(256).optional() }).optional(),
    ecsClusterDetails: z.object({ name: z.string().max(256).optional() }).optional(),
    lambdaDetails: z.object({ functionName: z.string().max(256).optional() }).optional(),
    rdsDbInstanceDetails: z.object({ dbInstanceIdentifier: z.string().max(256).optional() }).optional(),
  })
  .optional();

export const guardDutyFindingSchema = z.object({
  id: z.string().min(1).max(512),
  accountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id'),
  region: z.string().min(1).max(64),
  type: z.string().min(1).max(512),
  title: z.string().max(4096).optional(),
  severity: z.number().min(0).max(10),
  updatedAt: iso,
  resource: resourceSchema,
});
export type GuardDutyFinding = z.infer<typeof guardDutyFindingSchema>;

export const guardDutyEventSchema = z.object({
  source: z.literal(GUARDDUTY_SOURCE),
  'detail-type': z.literal(GUARDDUTY_DETAIL_TYPE),
  region: z.string().optional(),
  detail: guardDutyFindingSchema,
});

export function labelFromGuardDutyScore(score: number): FindingSeverity {
  if (score >= GUARDDUTY_MIN_SCORE.CRITICAL) return 'CRITICAL';
  if (score >= GUARDDUTY_MIN_SCORE.HIGH) return 'HIGH';
  if (score >= GUARDDUTY_MIN_SCORE.MEDIUM) return 'MEDIUM';
  if (score >= GUARDDUTY_MIN_SCORE.LOW) return 'LOW';
  return 'INFORMATIONAL';
}

/** What the finding is about, in the words an on-call engineer searches for (never an access key id). */
function resourceIdOf(f: GuardDutyFinding): string {
  const r = f.resource;
  const named =
    r?.instanceDetails?.instanceId ??
    r?.accessKeyDetails?.userName ??
    r?.s3BucketDetails?.find((b) => b.name)?.name ??
    r?.eksClusterDetails?.name ??
    r?.ecsClusterDetails?.name ??
    r?.lambdaDetails?.functionName ??
    r?.rdsDbInstanceDetails?.dbInstanceIdentifier;
  return [r?.resourceType, named].filter(Boolean).join(' ') || f.type;
}

/** The finding in the GuardDuty console of its region. */
export function guardDutyConsoleLink(region: string, findingId: string): string | undefined {
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region) || !/^[A-Za-z0-9]+$/.test(findingId)) return undefined;
  return `https://${region}.console.aws.amazon.com/guardduty/home?region=${region}#/findings?macros=current&fId=${findingId}`;
}

export function guardDutyFindingView(f: GuardDutyFinding): FindingView {
  const view: FindingView = {
    id: f.id,
    severity: labelFromGuardDutyScore(f.severity),
    title: clip(f.title ?? f.type, 512) || f.type,
    resourceId: clip(resourceIdOf(f), 2048),
    accountId: f.accountId,
    productName: 'GuardDuty',
    updatedAt: new Date(f.updatedAt).toISOString(),
  };
  const link = guardDutyConsoleLink(f.region, f.id);
  if (link) view.link = link;
  return view;
}
