/**
 * Monitoring as an operator meets it: the dashboard graphs the product metrics the functions
 * write (same namespace, names and dimensions), the SLO and break-glass alarms exist, every alarm
 * has a RUNBOOK entry, and the optional guardrails stack (GuardDuty to the channel) synthesizes
 * clean under cdk-nag when enabled and is absent by default.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation template JSON is untyped by nature */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/build';
import { REVOCATION_LAG_SLO_SECONDS } from '../../infra/constructs/monitoring';
import { renderRegionAllowListScp, SCP_MAX_CHARACTERS, ScpRenderError } from '../../infra/constructs/guardrails';
import { buildGuardrails, type GuardrailsStack } from '../../infra/stacks/guardrails-stack';
import { FAILURE_KINDS, METRIC, METRICS_NAMESPACE, METRICS_SERVICE, OUTCOMES } from '../../lambdas/metrics';

const RUNBOOK = readFileSync(join(__dirname, '..', '..', 'RUNBOOK.md'), 'utf8');

/** The dashboard body with its Fn::Join resolved (tokens become placeholders). */
function dashboardBody(template: Template): any {
  const [dash] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as any[];
  const body = dash.Properties.DashboardBody;
  const text = typeof body === 'string' ? body : (body['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return JSON.parse(text);
}

function alarmsOf(template: Template): Array<Record<string, any>> {
  return Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a: any) => a.Properties);
}

describe('infra: monitoring (dashboard, alarms, runbook) and the optional guardrails stack', function () {
  this.timeout(120_000);
  let main: Template;
  let guardrails: GuardrailsStack | undefined;
  let guard: Template;
  let defaultApp: App;

  before(() => {
    const app = new App({ context: { stage: 'test', guardrails: 'true', 'aws:cdk:bundling-stacks': [] } });
    const built = buildApp(app);
    guardrails = buildGuardrails(app, built);
    // cdk-nag runs here and throws on any unacknowledged finding, in both stacks.
    app.synth();
    main = Template.fromStack(built.stack);
    guard = Template.fromStack(guardrails!);
    defaultApp = new App({ context: { stage: 'test', 'aws:cdk:bundling-stacks': [] } });
  });

  it('the dashboard graphs every product metric under the namespace, service and stage the functions write', () => {
    const body = dashboardBody(main);
    const metrics: unknown[][] = body.widgets.flatMap((w: any) => w.properties?.metrics ?? []);
    const ofName = (name: string) => metrics.filter((m) => m[0] === METRICS_NAMESPACE && m[1] === name);
    for (const name of Object.values(METRIC)) assert.ok(ofName(name).length > 0, `${name} is on the dashboard`);
    for (const m of metrics.filter((x) => x[0] === METRICS_NAMESPACE && x[1] !== 'RevokeFailures')) {
      const dims = Object.fromEntries((m.slice(2).filter((x) => typeof x === 'string') as string[]).reduce<string[][]>((acc, x, i, all) => (i % 2 === 0 ? [...acc, [x, all[i + 1]!]] : acc), []));
      assert.equal(dims.service, METRICS_SERVICE, JSON.stringify(m));
      assert.equal(dims.stage, 'test', JSON.stringify(m));
    }
    const outcomeDims = ofName(METRIC.requestsByOutcome).map((m) => m[m.indexOf('outcome') + 1]);
    assert.deepEqual([...outcomeDims].sort(), [...OUTCOMES].sort());
    const kindDims = ofName(METRIC.failuresByKind).map((m) => m[m.indexOf('kind') + 1]);
    assert.deepEqual([...kindDims].sort(), [...FAILURE_KINDS].sort());
    const lagWidget = body.widgets.find((w: any) => /Revocation lag/.test(w.properties?.title ?? ''));
    assert.equal(lagWidget.properties.annotations.horizontal[0].value, REVOCATION_LAG_SLO_SECONDS, 'the SLO line is drawn');
    assert.ok(body.widgets.some((w: any) => w.type === 'alarm'), 'an alarm status widget');
  });

  it('alarms on the revocation-lag SLO (p99 > 60 s) and on any break-glass use, both to the alarm topic', () => {
    main.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'jit-access-test-RevocationLagP99',
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.revocationLag,
      ExtendedStatistic: 'p99',
      Threshold: 60,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      Dimensions: Match.arrayWith([{ Name: 'service', Value: METRICS_SERVICE }, { Name: 'stage', Value: 'test' }]),
      AlarmActions: [Match.objectLike({ Ref: Match.stringLikeRegexp('AlarmTopic') })],
    });
    main.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'jit-access-test-BreakGlassUsed',
      MetricName: METRIC.breakGlassUses,
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('every alarm, in both stacks, has a RUNBOOK entry under its name, and its description says where', () => {
    const alarms = [...alarmsOf(main), ...alarmsOf(guard)];
    assert.ok(alarms.length >= 15, `${alarms.length} alarms`);
    for (const a of alarms) {
      const name = String(a.AlarmName).replace(/^jit-access-test-/, '');
      assert.ok(RUNBOOK.includes(`### ${name}\n`), `RUNBOOK.md has "### ${name}"`);
      assert.match(String(a.AlarmDescription), new RegExp(`Runbook: RUNBOOK\\.md, section 3, "${name}"`));
    }
  });

  it('guardrails: GuardDuty findings at or above the configured severity, from the policy accounts, reach the findings function', () => {
    guard.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.guardduty'],
        'detail-type': ['GuardDuty Finding'],
        detail: { severity: [{ numeric: ['>=', 7] }], accountId: Match.arrayWith(['111111111111']) },
      },
      Targets: [
        Match.objectLike({
          Arn: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp(':function:jit-access-test-findings')])]) }),
          DeadLetterConfig: Match.anyValue(),
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 },
        }),
      ],
    });
    guard.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com' });
    guard.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    guard.resourceCountIs('AWS::CloudFormation::Stack', 0);
    const outputs = JSON.stringify(guard.toJSON());
    assert.ok(!outputs.includes('Fn::ImportValue'), 'no CloudFormation exports: the stacks stay independently deployable');
    assert.ok(guardrails!.dependencies.length === 1, 'deployed after the main stack');
  });

  it('guardrails are off by default', () => {
    const built = buildApp(defaultApp);
    assert.equal(buildGuardrails(defaultApp, built), undefined);
    assert.deepEqual(defaultApp.node.children.filter((c) => c.node.id.startsWith('JitAccessGuardrails')), []);
  });

  it('region allow-list SCP: placeholders filled, valid JSON under the Organizations size limit, bad input refused', () => {
    const text = renderRegionAllowListScp({ allowedRegions: ['eu-west-1', 'eu-central-1', 'eu-west-1'], exemptPrincipalArns: ['arn:aws:iam::*:role/OrganizationAccountAccessRole'] });
    assert.ok(text.length <= SCP_MAX_CHARACTERS);
    const doc = JSON.parse(text);
    const [s] = doc.Statement;
    assert.equal(s.Effect, 'Deny');
    assert.deepEqual(s.Condition.StringNotEquals['aws:RequestedRegion'], ['eu-west-1', 'eu-central-1']);
    assert.deepEqual(s.Condition.ArnNotLike['aws:PrincipalARN'], ['arn:aws:iam::*:role/OrganizationAccountAccessRole']);
    assert.ok(s.NotAction.includes('iam:*') && s.NotAction.includes('sts:*'), 'global services stay usable');
    assert.ok(!text.includes('${'));
    const bad: Array<[Parameters<typeof renderRegionAllowListScp>[0], RegExp]> = [
      [{ allowedRegions: [], exemptPrincipalArns: ['arn:aws:iam::111111111111:role/Admin'] }, /at least one region/],
      [{ allowedRegions: ['Europe'], exemptPrincipalArns: ['arn:aws:iam::111111111111:role/Admin'] }, /not a region/],
      [{ allowedRegions: ['eu-west-1'], exemptPrincipalArns: [] }, /lock everyone out/],
      [{ allowedRegions: ['eu-west-1'], exemptPrincipalArns: ['"; "Effect": "Allow'] }, /not an IAM role/],
      [{ allowedRegions: ['eu-west-1'], exemptPrincipalArns: ['arn:aws:iam::111111111111:role/Admin'], template: '{"Statement":[{"Resource":"${OTHER}"}]}' }, /placeholder/],
      [{ allowedRegions: Array.from({ length: 400 }, (_, i) => `eu-west-${i}`), exemptPrincipalArns: ['arn:aws:iam::111111111111:role/Admin'] }, /at most 5120/],
    ];
    for (const [input, message] of bad) assert.throws(() => renderRegionAllowListScp(input), (e: Error) => e instanceof ScpRenderError && message.test(e.message));
  });
});
