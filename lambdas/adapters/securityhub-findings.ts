/**
 * The product's own findings (break-glass use, drift, failed revocations) imported into Security
 * Hub as ASFF under the account's default custom product. Re-importing the same id updates the
 * finding instead of duplicating it. The "Security Hub Findings - Imported" rule then brings
 * them, like every other product's findings, back into the channel.
 */
import { type AwsSecurityFinding, BatchImportFindingsCommand, type SecurityHubClient } from '@aws-sdk/client-securityhub';
import { DependencyError } from '../../core/errors';
import type { SecurityFinding } from '../../core/model';
import type { Clock, FindingsSink } from '../../core/ports';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry';

const DEPENDENCY = 'Security Hub';
export const FINDINGS_BATCH = 100;
export const GENERATOR_PREFIX = 'teams-jit-access';

/** ASFF finding types (`namespace/category/classifier`) for each kind of product finding. */
export const FINDING_TYPES: Record<SecurityFinding['kind'], string> = {
  break_glass_used: 'Unusual Behaviors/User/Break-glass access used',
  assignment_drift: 'Software and Configuration Checks/AWS Security Best Practices/Unmanaged IAM Identity Center assignment',
  revoke_failed: 'Software and Configuration Checks/AWS Security Best Practices/Access not revoked at expiry',
};

export interface SecurityHubFindingsOptions {
  region: string;
  /** The account the product runs in: findings go to its default custom product. */
  accountId: string;
  partition?: string;
  clock: Clock;
  random?: () => number;
  retry?: RetryPolicy;
}

export function productArn(partition: string, region: string, accountId: string): string {
  return `arn:${partition}:securityhub:${region}:${accountId}:product/${accountId}/default`;
}

export function toAsff(f: SecurityFinding, options: { productArn: string; region: string; partition: string }): AwsSecurityFinding {
  const productFields: Record<string, string> = { 'jit/kind': f.kind };
  if (f.requestId) productFields['jit/requestId'] = f.requestId;
  return {
    SchemaVersion: '2018-10-08',
    Id: f.id,
    ProductArn: options.productArn,
    GeneratorId: `${GENERATOR_PREFIX}/${f.kind}`,
    AwsAccountId: f.accountId,
    Types: [FINDING_TYPES[f.kind]],
    CreatedAt: f.at,
    UpdatedAt: f.at,
    Severity: { Label: f.severity },
    // ASFF limits: title 256, description 1024 characters.
    Title: truncate(f.title, 256),
    Description: truncate(f.description, 1024),
    ProductFields: productFields,
    Resources: [{ Type: 'Other', Id: truncate(f.resourceId || f.id, 512), Partition: options.partition as 'aws', Region: options.region }],
    RecordState: 'ACTIVE',
    Workflow: { Status: 'NEW' },
  };
}

function truncate(text: string, max: number): string {
  const t = text.trim() || '(none)';
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

export class SecurityHubFindingsSink implements FindingsSink {
  private readonly productArn: string;
  private readonly partition: string;

  constructor(
    private readonly client: SecurityHubClient,
    private readonly options: SecurityHubFindingsOptions,
  ) {
    this.partition = options.partition ?? 'aws';
    this.productArn = productArn(this.partition, options.region, options.accountId);
  }

  async publish(findings: readonly SecurityFinding[]): Promise<void> {
    const asff = findings.map((f) => toAsff(f, { productArn: this.productArn, region: this.options.region, partition: this.partition }));
    for (let i = 0; i < asff.length; i += FINDINGS_BATCH) {
      const batch = asff.slice(i, i + FINDINGS_BATCH);
      const out = await withRetry(
        { clock: this.options.clock, random: this.options.random ?? Math.random, policy: this.options.retry ?? { ...DEFAULT_RETRY, maxAttempts: 4 }, dependency: DEPENDENCY, operation: 'BatchImportFindings' },
        () => this.client.send(new BatchImportFindingsCommand({ Findings: batch })),
      );
      if ((out.FailedCount ?? 0) > 0) {
        const failed = out.FailedFindings ?? [];
        const summary = failed.map((f) => `${f.Id}: ${f.ErrorCode} ${f.ErrorMessage}`).join('; ') || `${out.FailedCount} findings`;
        // InvalidInput will fail again the same way; anything else (internal, throttled) may pass later.
        const retryable = failed.length === 0 || failed.some((f) => !/invalid/i.test(f.ErrorCode ?? ''));
        throw new DependencyError(DEPENDENCY, `${DEPENDENCY} rejected ${out.FailedCount} of ${batch.length} findings: ${summary}`, retryable);
      }
    }
  }
}
