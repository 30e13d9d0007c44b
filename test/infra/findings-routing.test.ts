/**
 * Findings routing as AWS would evaluate it: sample "Security Hub Findings - Imported" events are
 * run through the synthesized rule's pattern (test/support/event-pattern.ts), so the product's own
 * findings (the stack's account in AwsAccountId, the member account as a resource) reach the
 * channel next to member-account findings, and nothing else does.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation template JSON is untyped by nature */
import { strict as assert } from 'node:assert';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/build';
import { toAsff } from '../../lambdas/adapters/securityhub-findings';
import { matchesEventPattern, type Pattern, resolveIntrinsics } from '../support/event-pattern';

const STACK_ACCOUNT = '333333333333';
const REGION = 'eu-west-1';
const REFS = { 'AWS::Partition': 'aws', 'AWS::Region': REGION, 'AWS::AccountId': STACK_ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com' };
const OWN_PRODUCT = `arn:aws:securityhub:${REGION}:${STACK_ACCOUNT}:product/${STACK_ACCOUNT}/default`;

function importedEvent(finding: Record<string, unknown>, detailType = 'Security Hub Findings - Imported'): Record<string, unknown> {
  return { version: '0', id: 'e-1', 'detail-type': detailType, source: 'aws.securityhub', account: STACK_ACCOUNT, time: '2030-01-01T00:00:00Z', region: REGION, resources: [], detail: { findings: [finding] } };
}

function memberFinding(accountId: string, label: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { Id: `f-${accountId}`, ProductArn: `arn:aws:securityhub:${REGION}::product/aws/guardduty`, GeneratorId: 'guardduty', AwsAccountId: accountId, Severity: { Label: label }, ...extra };
}

describe('infra: Security Hub findings routing (sample events through the synthesized patterns)', function () {
  this.timeout(120_000);
  let rules: Array<{ pattern: Pattern; bus?: unknown }>;
  let policyAccounts: string[];

  before(() => {
    const app = new App({ context: { stage: 'test', 'aws:cdk:bundling-stacks': [] } });
    const built = buildApp(app);
    policyAccounts = built.config.findingsAccountIds;
    const json = Template.fromStack(built.stack).toJSON() as { Resources: Record<string, any> };
    rules = Object.values(json.Resources)
      .filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern?.source?.includes('aws.securityhub'))
      .map((r) => ({ pattern: resolveIntrinsics(r.Properties.EventPattern, REFS) as Pattern, bus: r.Properties.EventBusName }));
  });

  const routed = (event: Record<string, unknown>) => rules.filter((r) => r.bus === undefined).some((r) => matchesEventPattern(r.pattern, event));

  it('the product\'s own findings match although their AwsAccountId is the stack account, not a policy account', () => {
    assert.ok(!policyAccounts.includes(STACK_ACCOUNT));
    for (const kind of ['break_glass_used', 'assignment_drift', 'revoke_failed'] as const) {
      const asff = toAsff(
        { id: `jit/${kind}/x`, kind, severity: kind === 'break_glass_used' ? 'CRITICAL' : 'HIGH', title: 't', description: 'd', accountId: policyAccounts[0]!, resourceId: 'r', at: '2030-01-01T00:00:00.000Z' },
        { productArn: OWN_PRODUCT, region: REGION, partition: 'aws', accountId: STACK_ACCOUNT },
      );
      assert.ok(routed(importedEvent(asff as Record<string, unknown>)), kind);
    }
  });

  it('member-account findings of the configured accounts and severities match; other accounts, lower severities and look-alikes do not', () => {
    assert.ok(routed(importedEvent(memberFinding(policyAccounts[0]!, 'HIGH'))));
    assert.ok(routed(importedEvent(memberFinding(policyAccounts[0]!, 'CRITICAL'))));
    assert.ok(!routed(importedEvent(memberFinding(policyAccounts[0]!, 'MEDIUM'))), 'below the severity');
    assert.ok(!routed(importedEvent(memberFinding('444444444444', 'CRITICAL'))), 'an account outside the policy');
    // Our generator prefix under someone else's product, and our product without our generator.
    assert.ok(!routed(importedEvent(memberFinding('444444444444', 'CRITICAL', { GeneratorId: 'teams-jit-access/break_glass_used' }))));
    assert.ok(!routed(importedEvent(memberFinding('444444444444', 'CRITICAL', { ProductArn: OWN_PRODUCT, GeneratorId: 'other' }))));
    assert.ok(!routed(importedEvent(memberFinding(policyAccounts[0]!, 'HIGH'), 'Security Hub Findings - Custom Action')), 'another detail-type');
  });
});
