/**
 * The weekly KPI digest's schedule (infra/constructs/kpi-digest-schedule.ts) and its context keys.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation template JSON is untyped by nature */
import { strict as assert } from 'node:assert';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { kpiDigestPayloadSchema } from '../../contract/kpi';
import { ConfigError, loadConfig } from '../../infra/config';
import { KPI_DIGEST_INPUT, KpiDigestSchedule } from '../../infra/constructs/kpi-digest-schedule';

function synth(cron = 'cron(0 9 ? * MON *)', timeZone = 'Europe/Berlin') {
  const stack = new Stack(new App(), 'T', { env: { account: '111111111111', region: 'eu-west-1' } });
  const notifyFn = lambda.Function.fromFunctionArn(stack, 'Notify', 'arn:aws:lambda:eu-west-1:111111111111:function:jit-test-notify');
  const dlq = sqs.Queue.fromQueueArn(stack, 'Dlq', 'arn:aws:sqs:eu-west-1:111111111111:jit-test-dlq');
  new KpiDigestSchedule(stack, 'KpiDigest', { scheduleName: 'jit-test-kpi-digest', cron, timeZone, notifyFn, deadLetterQueue: dlq });
  return Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
}
const of = (t: ReturnType<typeof synth>, type: string) => Object.values(t.Resources).filter((r) => r.Type === type);

describe('infra: the weekly KPI digest schedule', () => {
  it('a recurring Scheduler schedule in the configured time zone, targeting the notify function with the scheduled time', () => {
    const t = synth();
    const [schedule] = of(t, 'AWS::Scheduler::Schedule');
    assert.ok(schedule);
    const p = schedule.Properties;
    assert.equal(p.ScheduleExpression, 'cron(0 9 ? * MON *)');
    assert.equal(p.ScheduleExpressionTimezone, 'Europe/Berlin');
    assert.equal(p.GroupName, 'default', 'outside the expiry schedules group the functions may change');
    assert.deepEqual(p.FlexibleTimeWindow, { Mode: 'OFF' });
    assert.equal(p.State, 'ENABLED');
    assert.equal(p.Target.Arn, 'arn:aws:lambda:eu-west-1:111111111111:function:jit-test-notify');
    const input = JSON.parse(p.Target.Input as string);
    assert.deepEqual(input, { action: 'kpi_digest', scheduledTime: '<aws.scheduler.scheduled-time>' });
    assert.deepEqual(input, KPI_DIGEST_INPUT);
    assert.ok(p.Target.RetryPolicy.MaximumRetryAttempts >= 1);
    assert.equal(p.Target.DeadLetterConfig.Arn, 'arn:aws:sqs:eu-west-1:111111111111:jit-test-dlq');
    // What Scheduler substitutes is an ISO time, which the notify function's schema accepts.
    assert.ok(kpiDigestPayloadSchema.safeParse({ ...input, scheduledTime: '2030-01-07T08:00:00Z' }).success);
    assert.ok(!kpiDigestPayloadSchema.safeParse(input).success, 'an unsubstituted placeholder is refused');
  });

  it('least privilege: the role is assumed by Scheduler for this schedule only, and may invoke the notify function and dead-letter, nothing else', () => {
    const t = synth();
    const [role] = of(t, 'AWS::IAM::Role');
    const trust = role!.Properties.AssumeRolePolicyDocument.Statement[0];
    assert.equal(trust.Principal.Service, 'scheduler.amazonaws.com');
    assert.deepEqual(trust.Condition.StringEquals, { 'aws:SourceAccount': '111111111111' });
    assert.match(JSON.stringify(trust.Condition.ArnEquals['aws:SourceArn']), /schedule\/default\/jit-test-kpi-digest/);
    const statements = of(t, 'AWS::IAM::Policy').flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string; Resource: unknown }>);
    assert.deepEqual(
      statements.map((s) => [s.Action, s.Resource]),
      [
        ['lambda:InvokeFunction', 'arn:aws:lambda:eu-west-1:111111111111:function:jit-test-notify'],
        ['sqs:SendMessage', 'arn:aws:sqs:eu-west-1:111111111111:jit-test-dlq'],
      ],
    );
  });

  it('context keys: kpiDigestTimeZone (IANA, default UTC) and kpiDigestCron (weekly only, default Monday 09:00) are validated', () => {
    const from = (ctx: Record<string, unknown>) => (key: string) => ({ stage: 'test', ...ctx })[key];
    const config = loadConfig(from({}));
    assert.equal(config.kpiDigestTimeZone, 'UTC');
    assert.equal(config.kpiDigestCron, 'cron(0 9 ? * MON *)');
    assert.equal(loadConfig(from({ kpiDigestTimeZone: 'America/New_York', kpiDigestCron: 'cron(30 7 ? * FRI *)' })).kpiDigestTimeZone, 'America/New_York');
    for (const [key, value] of [
      ['kpiDigestTimeZone', 'Mars/Olympus_Mons'],
      ['kpiDigestTimeZone', 'CET; rm -rf /'],
      ['kpiDigestCron', 'cron(0 9 * * ? *)'],
      ['kpiDigestCron', 'rate(7 days)'],
      ['kpiDigestCron', 'cron(0 24 ? * MON *)'],
      ['kpiDigestCron', 'cron(0 9 ? * MON-FRI *)'],
    ] as const) {
      assert.throws(() => loadConfig(from({ [key]: value })), (e: unknown) => e instanceof ConfigError && e.message.includes(`context key '${key}'`), `${key}=${value}`);
    }
  });
});
