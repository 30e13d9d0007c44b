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
import { buildFindingsForwarder } from '../../infra/stacks/findings-forwarder-stack';
import { toAsff } from '../../lambdas/adapters/securityhub-findings';
import { matchesEventPattern, type Pattern, resolveIntrinsics } from '../../sandbox/aws/event-pattern';

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
  let json: { Resources: Record<string, any> };

  before(() => {
    const app = new App({ context: { stage: 'test', 'aws:cdk:bundling-stacks': [] } });
    const built = buildApp(app);
    policyAccounts = built.config.findingsAccountIds;
    json = Template.fromStack(built.stack).toJSON() as { Resources: Record<string, any> };
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
      assert.ok(routed(importedEvent(asff as unknown as Record<string, unknown>)), kind);
    }
  });

  it('only reconcile may resolve findings (securityhub:BatchUpdateFindings on this account\'s hub); every importer imports to the default product only', () => {
    const policies = Object.values(json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy');
    const withAction = (action: string) =>
      policies.filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes(action)).map((p) => ({ roles: JSON.stringify(p.Properties.Roles), statements: (p.Properties.PolicyDocument.Statement as any[]).filter((st) => [st.Action].flat().includes(action)) }));
    const resolvers = withAction('securityhub:BatchUpdateFindings');
    assert.equal(resolvers.length, 1);
    assert.match(resolvers[0]!.roles, /reconcile/i);
    assert.match(JSON.stringify(resolveIntrinsics(resolvers[0]!.statements[0].Resource, REFS)), new RegExp(`securityhub:${REGION}:${STACK_ACCOUNT}:hub/default`));
    for (const importer of withAction('securityhub:BatchImportFindings')) {
      assert.equal(JSON.stringify(resolveIntrinsics(importer.statements[0].Resource, REFS)), JSON.stringify(OWN_PRODUCT));
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

const ADMIN = '555555555555';
const JIT = '666666666666';

function ocsfEvent(accountId: string, severity: string, account = JIT): Record<string, unknown> {
  return {
    version: '0', id: 'e-2', 'detail-type': 'Findings Imported V2', source: 'aws.securityhub', account, time: '2030-01-01T00:00:00Z', region: REGION, resources: [],
    detail: { findings: [{ finding_info: { uid: 'f-ocsf', title: 'x' }, severity, severity_id: 4, cloud: { account: { uid: accountId }, region: REGION }, metadata: { product: { name: 'GuardDuty' } } }] },
  };
}

describe('infra: findings from member accounts (Security Hub administrator account, OCSF V2)', function () {
  this.timeout(180_000);
  let app: App;
  let accounts: string[];
  let main: { Resources: Record<string, any> };
  let forwarder: { Resources: Record<string, any> };
  const refs = (account: string) => ({ ...REFS, 'AWS::AccountId': account });

  before(() => {
    app = new App({ context: { stage: 'test', securityHubAdminAccountId: ADMIN, jitAccountId: JIT, findingsFormat: 'both', 'aws:cdk:bundling-stacks': [] } });
    const built = buildApp(app);
    accounts = built.config.findingsAccountIds;
    const fwd = buildFindingsForwarder(app, built);
    assert.ok(fwd);
    // cdk-nag runs here and throws on any unacknowledged finding, in every stack.
    app.synth();
    main = Template.fromStack(built.stack).toJSON() as typeof main;
    forwarder = Template.fromStack(fwd).toJSON() as typeof forwarder;
  });

  const rulesOf = (t: { Resources: Record<string, any> }, account: string) =>
    Object.values(t.Resources)
      .filter((r) => r.Type === 'AWS::Events::Rule')
      .map((r) => ({ pattern: resolveIntrinsics(r.Properties.EventPattern, refs(account)) as Pattern, bus: r.Properties.EventBusName, targets: r.Properties.Targets as any[] }));

  it('the forwarder (administrator account) sends selected member findings, ASFF and OCSF, from its default bus to the JIT bus, with a dead-letter queue', () => {
    const rules = rulesOf(forwarder, ADMIN);
    assert.equal(rules.length, 2);
    for (const r of rules) {
      assert.equal(r.bus, undefined, 'the default bus, where Security Hub puts member findings');
      const arn = JSON.stringify(resolveIntrinsics(r.targets[0].Arn, refs(ADMIN)));
      assert.match(arn, new RegExp(`arn:aws:events:${REGION}:${JIT}:event-bus/jit-access-test-audit`));
      assert.ok(r.targets[0].DeadLetterConfig?.Arn);
      assert.ok(r.targets[0].RoleArn, 'cross-account bus targets put events with a role');
    }
    const forwarded = (e: Record<string, unknown>) => rules.some((r) => matchesEventPattern(r.pattern, e));
    assert.ok(forwarded(importedEvent(memberFinding(accounts[0]!, 'HIGH'))));
    assert.ok(forwarded(ocsfEvent(accounts[0]!, 'High', ADMIN)));
    assert.ok(forwarded(ocsfEvent(accounts[0]!, 'Fatal', ADMIN)), 'OCSF Fatal counts as CRITICAL');
    assert.ok(!forwarded(ocsfEvent(accounts[0]!, 'Medium', ADMIN)));
    assert.ok(!forwarded(ocsfEvent('444444444444', 'Critical', ADMIN)));
    assert.ok(!forwarded(importedEvent(memberFinding('444444444444', 'CRITICAL'))));
    const alarms = Object.values(forwarder.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    assert.equal(alarms.length, 1);
    assert.match(alarms[0].Properties.AlarmDescription, /RUNBOOK\.md, section 3, "FindingsForwarderDeadLetterQueueDepth"/);
  });

  it('the JIT bus lets only the administrator account put Security Hub events, and routes what it forwards to the findings function', () => {
    const policies = Object.values(main.Resources).filter((r) => r.Type === 'AWS::Events::EventBusPolicy');
    assert.equal(policies.length, 1);
    const statement = policies[0].Properties.Statement;
    assert.equal(statement.Action, 'events:PutEvents');
    assert.match(JSON.stringify(statement.Principal), new RegExp(ADMIN));
    assert.deepEqual(statement.Condition, { StringEquals: { 'events:source': ['aws.securityhub'], 'events:detail-type': ['Security Hub Findings - Imported', 'Findings Imported V2'] } });
    const onBus = rulesOf(main, JIT).filter((r) => r.bus !== undefined && JSON.stringify(r.pattern ?? {}).includes('aws.securityhub'));
    assert.equal(onBus.length, 2);
    const routed = (e: Record<string, unknown>) => onBus.some((r) => matchesEventPattern(r.pattern, e));
    assert.ok(routed({ ...importedEvent(memberFinding(accounts[0]!, 'HIGH')), account: ADMIN }));
    assert.ok(routed(ocsfEvent(accounts[0]!, 'Critical', ADMIN)));
    assert.ok(!routed({ ...importedEvent(memberFinding(accounts[0]!, 'HIGH')), account: '444444444444' }), 'only what the administrator account forwarded');
    // The local default bus gets the OCSF rule too (this account's own Security Hub, format "both").
    const local = rulesOf(main, JIT).filter((r) => r.bus === undefined && JSON.stringify(r.pattern ?? {}).includes('Findings Imported V2'));
    assert.equal(local.length, 1);
  });

  it('off by default: no forwarder, no bus policy, no OCSF rule; a forwarder without the JIT account is a clear config error', () => {
    const plain = new App({ context: { stage: 'test', 'aws:cdk:bundling-stacks': [] } });
    const built = buildApp(plain);
    assert.equal(buildFindingsForwarder(plain, built), undefined);
    const t = Template.fromStack(built.stack).toJSON() as { Resources: Record<string, any> };
    assert.equal(Object.values(t.Resources).filter((r) => r.Type === 'AWS::Events::EventBusPolicy').length, 0);
    assert.ok(!JSON.stringify(t).includes('Findings Imported V2'));
    // OCSF only: member findings come as V2 events; the product's own (ASFF) still have their rule, without an empty account list.
    const ocsfOnly = new App({ context: { stage: 'test', findingsFormat: 'ocsf', 'aws:cdk:bundling-stacks': [] } });
    const o = Template.fromStack(buildApp(ocsfOnly).stack).toJSON() as { Resources: Record<string, any> };
    const patterns = Object.values(o.Resources).filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern?.source?.includes('aws.securityhub')).map((r) => resolveIntrinsics(r.Properties.EventPattern, REFS) as Pattern);
    assert.equal(patterns.length, 2);
    const ownBreakGlass = toAsff({ id: 'jit/break-glass/r', kind: 'break_glass_used', severity: 'CRITICAL', title: 't', description: 'd', accountId: accounts[0]!, resourceId: 'r', at: '2030-01-01T00:00:00.000Z' }, { productArn: OWN_PRODUCT, region: REGION, partition: 'aws', accountId: STACK_ACCOUNT });
    assert.ok(patterns.some((p) => matchesEventPattern(p, importedEvent(ownBreakGlass as unknown as Record<string, unknown>))));
    assert.ok(!patterns.some((p) => matchesEventPattern(p, importedEvent(memberFinding(accounts[0]!, 'CRITICAL')))), 'member ASFF findings are not routed in ocsf mode');
    assert.ok(patterns.some((p) => matchesEventPattern(p, ocsfEvent(accounts[0]!, 'Critical'))));
    assert.ok(!JSON.stringify(patterns).includes('[]'), 'no empty arrays (EventBridge refuses them)');
    const missing = new App({ context: { stage: 'test', securityHubAdminAccountId: ADMIN, 'aws:cdk:bundling-stacks': [] } });
    const saved = process.env.CDK_DEFAULT_ACCOUNT;
    delete process.env.CDK_DEFAULT_ACCOUNT;
    try {
      assert.throws(() => buildFindingsForwarder(missing, buildApp(missing)), (e: Error) => e.name === 'ConfigError' && /jitAccountId/.test(e.message));
    } finally {
      if (saved !== undefined) process.env.CDK_DEFAULT_ACCOUNT = saved;
    }
  });
});
