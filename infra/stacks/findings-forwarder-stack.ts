/**
 * The optional findings forwarder, deployed in the Security Hub ADMINISTRATOR account when that is
 * not the account the JIT stack runs in. Security Hub sends the "Findings - Imported" (and "Findings
 * Imported V2") events of member accounts to the administrator account's default bus only
 * ("Configuring an EventBridge rule for Security Hub CSPM findings",
 * https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-cwe-all-findings.html: the
 * administrator account receives the findings of its member accounts). This stack's one rule picks
 * the selected findings (severity, accounts, formats: the same patterns as the main stack) and puts
 * them on the JIT stack's bus in the Identity Center account, which allows exactly that through its
 * resource policy ("Sending and receiving events between AWS accounts in Amazon EventBridge",
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html). Undeliverable
 * events go to a dead-letter queue here, with an alarm.
 *
 * `npm run deploy -- -c stage=<stage> ... -c securityHubAdminAccountId=<admin> -c jitAccountId=<identity center account>`
 * synthesizes it as `JitAccessFindingsForwarder-<stage>`; deploy that stack with credentials of the
 * administrator account (see infra/README.md, "Findings from member accounts").
 */
import { type App, Arn, ArnFormat, Duration, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { BuiltApp } from '../build';
import { ConfigError } from '../config';
import { acknowledge } from '../constructs/permissions';
import { type FindingsFormat, findingsPatterns } from '../constructs/findings-routing';

export interface FindingsForwarderStackProps extends StackProps {
  stage: string;
  /** The account the JIT stack (and its bus) is in: the Identity Center account. */
  jitAccountId: string;
  severities: readonly string[];
  accountIds: readonly string[];
  format: FindingsFormat;
}

/** The JIT stack's bus (infra/constructs/data-store.ts names it `jit-access-<stage>-audit`). */
export function jitBusName(stage: string): string {
  return `jit-access-${stage}-audit`;
}

export class FindingsForwarderStack extends Stack {
  readonly rules: events.Rule[] = [];
  readonly dlq: sqs.Queue;

  constructor(scope: Construct, id: string, props: FindingsForwarderStackProps) {
    super(scope, id, props);
    const prefix = `jit-access-${props.stage}`;
    Tags.of(this).add('project', 'teams-jit-access');
    Tags.of(this).add('stage', props.stage);
    const busArn = Arn.format({ service: 'events', account: props.jitAccountId, resource: 'event-bus', resourceName: jitBusName(props.stage), arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, this);
    const bus = events.EventBus.fromEventBusArn(this, 'JitBus', busArn);
    this.dlq = new sqs.Queue(this, 'DeadLetterQueue', { queueName: `${prefix}-findings-forwarder-dlq`, encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    acknowledge(this.dlq, 'AwsSolutions-SQS3', 'This queue IS the dead-letter queue of the forwarding rule; its depth alarms.');
    // The member accounts' findings only: the product's own findings reach the JIT stack on its own account's bus.
    for (const { id: format, pattern } of findingsPatterns(props.format, { severities: props.severities, accountIds: props.accountIds })) {
      this.rules.push(
        new events.Rule(this, `ForwardFindings${format}`, {
          description: `Security Hub findings of member accounts to the JIT access bus in ${props.jitAccountId}`,
          eventPattern: pattern,
          targets: [new targets.EventBus(bus, { deadLetterQueue: this.dlq })],
        }),
      );
    }
    new cloudwatch.Alarm(this, 'FindingsForwarderDeadLetterQueueDepth', {
      alarmName: `${prefix}-FindingsForwarderDeadLetterQueueDepth`,
      alarmDescription: 'A Security Hub finding could not be forwarded to the JIT access bus. Runbook: RUNBOOK.md, section 3, "FindingsForwarderDeadLetterQueueDepth".',
      metric: this.dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}

/**
 * Adds the forwarder stack when `securityHubAdminAccountId` is set. `jitAccountId` (the account of
 * the main stack) is required then: the two stacks are deployed with different credentials.
 */
export function buildFindingsForwarder(app: App, built: BuiltApp): FindingsForwarderStack | undefined {
  const { config } = built;
  if (!config.securityHubAdminAccountId) return undefined;
  const jitAccountId: unknown = app.node.tryGetContext('jitAccountId') ?? process.env.CDK_DEFAULT_ACCOUNT;
  if (typeof jitAccountId !== 'string' || !/^\d{12}$/.test(jitAccountId)) {
    throw new ConfigError('context key "jitAccountId" must be the 12-digit account of the JIT stack (the Identity Center account) when securityHubAdminAccountId is set');
  }
  if (jitAccountId === config.securityHubAdminAccountId) {
    throw new ConfigError('securityHubAdminAccountId is the JIT stack\'s own account: findings already arrive on its default bus; leave securityHubAdminAccountId unset');
  }
  return new FindingsForwarderStack(app, `JitAccessFindingsForwarder-${config.stage}`, {
    stage: config.stage,
    jitAccountId,
    severities: config.findingsSeverities,
    accountIds: config.findingsAccountIds,
    format: config.findingsFormat,
    description: `Teams JIT Access for AWS (${config.stage}): Security Hub findings forwarder (administrator account)`,
    env: { account: config.securityHubAdminAccountId, region: process.env.CDK_DEFAULT_REGION },
  });
}
