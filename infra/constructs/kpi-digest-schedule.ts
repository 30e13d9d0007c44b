/**
 * The weekly KPI digest: an EventBridge Scheduler recurring schedule that invokes the notify
 * function with `{action: 'kpi_digest', scheduledTime: <aws.scheduler.scheduled-time>}`
 * (lambdas/notify/handler.ts), which sends the week's KPIs to the bot, which posts the digest card
 * in the on-call channel once per ISO week.
 *
 * - `cron(...)` with `ScheduleExpressionTimezone`: Scheduler evaluates the expression in that IANA
 *   time zone, daylight saving time included ("Schedule types on EventBridge Scheduler",
 *   https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).
 * - `<aws.scheduler.scheduled-time>` is a context attribute Scheduler substitutes in the target's
 *   input; it is the firing's scheduled time, the same on every retry of that firing ("Adding
 *   context attributes to your target", https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html),
 *   so a retry computes the same week and the bot's once-per-week claim makes it post nothing.
 * - The schedule lives in the `default` group, outside the expiry schedules' group that the
 *   functions may create and delete in (their scheduler permissions end at `schedule/<prefix>/*`):
 *   no function can delete or change it.
 * - Its role may invoke the notify function only, and only for this schedule (aws:SourceArn), plus
 *   send undeliverable firings to the dead-letter queue ("Setting up the execution role",
 *   https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role).
 */
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export const KPI_DIGEST_INPUT = { action: 'kpi_digest', scheduledTime: '<aws.scheduler.scheduled-time>' } as const;

export interface KpiDigestScheduleProps {
  scheduleName: string;
  /** A weekly cron expression (infra/config.ts kpiDigestCron). */
  cron: string;
  /** IANA time zone the cron expression is read in (infra/config.ts kpiDigestTimeZone). */
  timeZone: string;
  notifyFn: lambda.IFunction;
  deadLetterQueue: sqs.IQueue;
}

export class KpiDigestSchedule extends Construct {
  readonly schedule: scheduler.CfnSchedule;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: KpiDigestScheduleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const scheduleArn = Arn.format({ service: 'scheduler', resource: 'schedule', resourceName: `default/${props.scheduleName}`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack);
    this.role = new iam.Role(this, 'Role', {
      description: 'EventBridge Scheduler: invoke the notify function for the weekly KPI digest',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnEquals: { 'aws:SourceArn': scheduleArn },
        },
      }),
    });
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'InvokeNotify', actions: ['lambda:InvokeFunction'], resources: [props.notifyFn.functionArn] }));
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'DeadLetter', actions: ['sqs:SendMessage'], resources: [props.deadLetterQueue.queueArn] }));

    this.schedule = new scheduler.CfnSchedule(this, 'Schedule', {
      name: props.scheduleName,
      groupName: 'default',
      description: 'Weekly access KPI digest to the on-call channel',
      scheduleExpression: props.cron,
      scheduleExpressionTimezone: props.timeZone,
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: props.notifyFn.functionArn,
        roleArn: this.role.roleArn,
        input: JSON.stringify(KPI_DIGEST_INPUT),
        // A digest older than a day is news nobody needs; the bot posts a week at most once anyway.
        retryPolicy: { maximumRetryAttempts: 5, maximumEventAgeInSeconds: 24 * 3600 },
        deadLetterConfig: { arn: props.deadLetterQueue.queueArn },
      },
    });
  }
}
