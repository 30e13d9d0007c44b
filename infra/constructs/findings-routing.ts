/**
 * The event patterns that bring Security Hub findings to the findings function, shared by the main
 * stack (its account's default bus, and its own bus for forwarded events) and the optional
 * forwarder stack in the Security Hub administrator account (infra/stacks/findings-forwarder-stack.ts).
 *
 * - ASFF: "Security Hub Findings - Imported" (EventBridge event formats for Security Hub CSPM,
 *   https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-cwe-event-formats.html),
 *   severity in `detail.findings.Severity.Label`, account in `detail.findings.AwsAccountId`.
 * - OCSF: "Findings Imported V2" (Security Hub, EventBridge event formats,
 *   https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-v2-cwe-event-formats.html),
 *   one OCSF finding per event: severity in `detail.findings.severity` ("High", "Critical", ...),
 *   account in `detail.findings.cloud.account.uid`.
 * `$or` and `prefix` as in "Content filtering in Amazon EventBridge event patterns"
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
 */
import type { Stack } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import { GENERATOR_PREFIX } from '../../lambdas/adapters/finding-views';

export const ASFF_DETAIL_TYPE = 'Security Hub Findings - Imported';
export const OCSF_DETAIL_TYPE = 'Findings Imported V2';
export type FindingsFormat = 'asff' | 'ocsf' | 'both';

/** OCSF severity captions (severity_id 1..6) for the ASFF labels; Fatal counts as CRITICAL. */
const OCSF_SEVERITY: Record<string, string[]> = {
  INFORMATIONAL: ['Informational'],
  LOW: ['Low'],
  MEDIUM: ['Medium'],
  HIGH: ['High'],
  CRITICAL: ['Critical', 'Fatal'],
};

export function ocsfSeverities(labels: readonly string[]): string[] {
  return labels.flatMap((l) => OCSF_SEVERITY[l] ?? []);
}

/** This account's default Security Hub product: where the product imports its own findings. */
export function ownProductArn(stack: Stack): string {
  return `arn:${stack.partition}:securityhub:${stack.region}:${stack.account}:product/${stack.account}/default`;
}

/**
 * ASFF findings at the configured severities, for the configured accounts, OR (when
 * `ownProductArn` is given) from the product itself: its findings carry the stack's account in
 * AwsAccountId (BatchImportFindings requires it for the default product) and the member account
 * only as a resource, so an account filter alone would drop them.
 */
export function asffFindingsPattern(opts: { severities: readonly string[]; accountIds: readonly string[]; ownProductArn?: string }): events.EventPattern {
  const severity = { Severity: { Label: [...opts.severities] } };
  const accounts = { AwsAccountId: [...opts.accountIds] };
  const own = opts.ownProductArn ? { ProductArn: [opts.ownProductArn], GeneratorId: [{ prefix: `${GENERATOR_PREFIX}/` }] } : undefined;
  // EventBridge refuses empty arrays: without accounts (OCSF for members), only the product's own.
  const findings = own && opts.accountIds.length > 0 ? { ...severity, $or: [accounts, own] } : own ? { ...severity, ...own } : { ...severity, ...accounts };
  return { source: ['aws.securityhub'], detailType: [ASFF_DETAIL_TYPE], detail: { findings } } as events.EventPattern;
}

/** OCSF findings at the configured severities for the configured accounts. */
export function ocsfFindingsPattern(opts: { severities: readonly string[]; accountIds: readonly string[] }): events.EventPattern {
  return {
    source: ['aws.securityhub'],
    detailType: [OCSF_DETAIL_TYPE],
    detail: { findings: { severity: ocsfSeverities(opts.severities), cloud: { account: { uid: [...opts.accountIds] } } } },
  } as events.EventPattern;
}

/** The patterns of the formats asked for. */
export function findingsPatterns(format: FindingsFormat, opts: { severities: readonly string[]; accountIds: readonly string[]; ownProductArn?: string }): Array<{ id: string; pattern: events.EventPattern }> {
  const out: Array<{ id: string; pattern: events.EventPattern }> = [];
  if (format !== 'ocsf') out.push({ id: 'Asff', pattern: asffFindingsPattern(opts) });
  if (format !== 'asff') out.push({ id: 'Ocsf', pattern: ocsfFindingsPattern(opts) });
  return out;
}
