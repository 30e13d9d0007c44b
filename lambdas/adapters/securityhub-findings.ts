/**
 * The product's own findings (break-glass use, drift, failed revocations) imported into Security
 * Hub as ASFF under the account's default custom product. Re-importing the same id updates the
 * finding instead of duplicating it. The "Security Hub Findings - Imported" rule then brings
 * them, like every other product's findings, back into the channel.
 *
 * The account rule: with the default product ARN, "the identifier of the account that you are
 * calling BatchImportFindings from needs to be the same as the AwsAccountId attribute for the
 * finding" (BatchImportFindings, AWS Security Hub API Reference,
 * https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html). So
 * AwsAccountId is the product's own account, and the member account the finding is about travels
 * in Resources (an `AwsAccount` resource `AWS::::Account:<id>`, as Security Hub's own account-level
 * control findings name an account) and in ProductFields `jit/targetAccountId`.
 *
 * Per-finding refusals come back in a 200 answer (FailedCount / FailedFindings), not as an error:
 * they are thrown here as a DependencyError, and a refused break-glass finding is counted
 * (FailuresByKind{kind=breakglass_finding}, alarm BreakGlassFindingNotImported).
 */
import { type AwsSecurityFinding, BatchImportFindingsCommand, BatchUpdateFindingsCommand, type SecurityHubClient } from '@aws-sdk/client-securityhub';
import { DependencyError } from '../../core/errors';
import type { SecurityFinding } from '../../core/model';
import type { Clock, FindingsSink } from '../../core/ports';
import { GENERATOR_PREFIX, PRODUCT_FIELD } from './finding-views';
import { countFailure, type MetricsSink, noMetrics } from '../observability/emf';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry';

const DEPENDENCY = 'Security Hub';
export const FINDINGS_BATCH = 100;
export { GENERATOR_PREFIX, PRODUCT_FIELD };

/** ASFF finding types (`namespace/category/classifier`) for each kind of product finding. */
export const FINDING_TYPES: Record<SecurityFinding['kind'], string> = {
  break_glass_used: 'Unusual Behaviors/User/Break-glass access used',
  assignment_drift: 'Software and Configuration Checks/AWS Security Best Practices/Unmanaged IAM Identity Center assignment',
  revoke_failed: 'Software and Configuration Checks/AWS Security Best Practices/Access not revoked at expiry',
  session_cut_failed: 'Software and Configuration Checks/AWS Security Best Practices/Live sessions not ended after revocation',
};

export interface SecurityHubFindingsOptions {
  region: string;
  /** The account the product runs in: findings go to its default custom product. */
  accountId: string;
  partition?: string;
  clock: Clock;
  random?: () => number;
  retry?: RetryPolicy;
  /** Where a refused break-glass finding is counted (the alarm); nowhere by default. */
  metrics?: MetricsSink;
}

export function productArn(partition: string, region: string, accountId: string): string {
  return `arn:${partition}:securityhub:${region}:${accountId}:product/${accountId}/default`;
}

export function toAsff(f: SecurityFinding, options: { productArn: string; region: string; partition: string; accountId: string }): AwsSecurityFinding {
  const productFields: Record<string, string> = { [PRODUCT_FIELD.kind]: f.kind, [PRODUCT_FIELD.targetAccountId]: f.accountId };
  if (f.requestId) productFields[PRODUCT_FIELD.requestId] = f.requestId;
  const resource = { Partition: options.partition as 'aws', Region: options.region };
  return {
    SchemaVersion: '2018-10-08',
    Id: f.id,
    ProductArn: options.productArn,
    GeneratorId: `${GENERATOR_PREFIX}/${f.kind}`,
    // The importing account (the rule above); the target member account is a resource.
    AwsAccountId: options.accountId,
    Types: [FINDING_TYPES[f.kind]],
    CreatedAt: f.createdAt ?? f.at,
    UpdatedAt: f.at,
    Severity: { Label: f.severity },
    // ASFF limits: title 256, description 1024 characters.
    Title: truncate(f.title, 256),
    Description: truncate(f.description, 1024),
    ProductFields: productFields,
    Resources: [
      { Type: 'Other', Id: truncate(f.resourceId || f.id, 512), ...resource, Details: { Other: { targetAccountId: f.accountId } } },
      { Type: 'AwsAccount', Id: `AWS::::Account:${f.accountId}`, ...resource },
    ],
    // A provider archives a finding whose condition is gone; Workflow is the customer's after creation
    // (BatchImportFindings ignores it on updates), and Security Hub sets it back to NEW on un-archiving.
    RecordState: f.resolved ? 'ARCHIVED' : 'ACTIVE',
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

  /** Every batch is sent (one refusal does not hold back the others); then any refusal is thrown. */
  async publish(findings: readonly SecurityFinding[]): Promise<void> {
    const asff = findings.map((f) => toAsff(f, { productArn: this.productArn, region: this.options.region, partition: this.partition, accountId: this.options.accountId }));
    const problems: string[] = [];
    const notImported = new Set<string>();
    let retryable = false;
    for (let i = 0; i < asff.length; i += FINDINGS_BATCH) {
      const batch = asff.slice(i, i + FINDINGS_BATCH);
      try {
        const out = await withRetry(
          { clock: this.options.clock, random: this.options.random ?? Math.random, policy: this.options.retry ?? { ...DEFAULT_RETRY, maxAttempts: 4 }, dependency: DEPENDENCY, operation: 'BatchImportFindings' },
          () => this.client.send(new BatchImportFindingsCommand({ Findings: batch })),
        );
        if ((out.FailedCount ?? 0) === 0) continue;
        const failed = out.FailedFindings ?? [];
        // Without a list every finding of the batch may be the refused one.
        for (const id of failed.length > 0 ? failed.map((f) => f.Id ?? '') : batch.map((f) => f.Id ?? '')) notImported.add(id);
        problems.push(failed.map((f) => `${f.Id}: ${f.ErrorCode} ${f.ErrorMessage}`).join('; ') || `${out.FailedCount} of ${batch.length} findings`);
        // InvalidInput will fail again the same way; anything else (internal, throttled) may pass later.
        retryable ||= failed.length === 0 || failed.some((f) => !/invalid/i.test(f.ErrorCode ?? ''));
      } catch (e) {
        for (const f of batch) notImported.add(f.Id ?? '');
        problems.push(e instanceof Error ? e.message : String(e));
        retryable = true;
      }
    }
    await this.resolveWorkflows(findings.filter((f) => f.resolved && !notImported.has(f.id)), notImported, problems);
    if (notImported.size === 0) return;
    for (const f of findings) {
      if (notImported.has(f.id)) countFailure(this.options.metrics ?? noMetrics, f.kind === 'break_glass_used' ? 'breakglass_finding' : 'finding_import');
    }
    throw new DependencyError(DEPENDENCY, `${DEPENDENCY} did not import ${notImported.size} of ${findings.length} findings: ${problems.join('; ')}`, retryable);
  }

  /**
   * A resolved finding is archived by the import (RecordState, the provider's field), but
   * BatchImportFindings ignores Workflow after creation: Workflow.Status is the customer's, set
   * with BatchUpdateFindings ("BatchImportFindings for finding providers",
   * https://docs.aws.amazon.com/securityhub/latest/userguide/finding-update-batchimportfindings.html;
   * "BatchUpdateFindings for customers"). The product acts as the customer of its own account here.
   * A finding it could not resolve counts as not imported: reconcile sends both calls again (the
   * repeated import is ignored by Security Hub, its UpdatedAt being the same).
   */
  private async resolveWorkflows(resolved: readonly SecurityFinding[], notImported: Set<string>, problems: string[]): Promise<void> {
    for (let i = 0; i < resolved.length; i += FINDINGS_BATCH) {
      const batch = resolved.slice(i, i + FINDINGS_BATCH);
      try {
        const out = await withRetry(
          { clock: this.options.clock, random: this.options.random ?? Math.random, policy: this.options.retry ?? { ...DEFAULT_RETRY, maxAttempts: 4 }, dependency: DEPENDENCY, operation: 'BatchUpdateFindings' },
          () => this.client.send(new BatchUpdateFindingsCommand({ FindingIdentifiers: batch.map((f) => ({ Id: f.id, ProductArn: this.productArn })), Workflow: { Status: 'RESOLVED' } })),
        );
        for (const u of out.UnprocessedFindings ?? []) {
          notImported.add(u.FindingIdentifier?.Id ?? '');
          problems.push(`${u.FindingIdentifier?.Id}: workflow not resolved: ${u.ErrorCode} ${u.ErrorMessage}`);
        }
      } catch (e) {
        for (const f of batch) notImported.add(f.id);
        problems.push(`workflow not resolved: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}
