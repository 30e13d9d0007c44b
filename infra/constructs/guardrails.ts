/**
 * Optional guardrails (`-c guardrails=true`, infra/stacks/guardrails-stack.ts):
 * - GuardDuty findings to the approval channel, through the same findings function as Security
 *   Hub's, with a severity (and account) filter in the rule;
 * - a region allow-list SCP, rendered from infra/guardrails/region-allowlist-scp.json. An SCP is
 *   attached in the Organizations management account, not by this app: render it and hand it to
 *   whoever owns the organization (infra/guardrails/README.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FindingSeverity } from '../../core/model';
import { GUARDDUTY_DETAIL_TYPE, GUARDDUTY_MIN_SCORE, GUARDDUTY_SOURCE } from '../../lambdas/findings/guardduty';
import { acknowledge } from './permissions';

export const REGION_SCP_TEMPLATE = join(__dirname, '..', 'guardrails', 'region-allowlist-scp.json');
export const SCP_PLACEHOLDERS = { allowedRegions: '${ALLOWED_REGIONS}', exemptPrincipalArns: '${EXEMPT_PRINCIPAL_ARNS}' } as const;
/** Organizations' limit on one SCP document (characters, whitespace included: render minified). */
export const SCP_MAX_CHARACTERS = 5120;

const REGION = /^[a-z]{2}(-gov)?(-[a-z]+)+-\d+$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):[A-Za-z0-9+=,.@_/*-]+$/;

export class ScpRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScpRenderError';
  }
}

/**
 * The region allow-list SCP with its placeholders filled: deny every regional action outside
 * `allowedRegions` (global services are exempt through NotAction), except for the break-glass /
 * automation principals in `exemptPrincipalArns` (wildcards allowed, e.g. the Identity Center
 * admin role `arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*AWSAdministratorAccess*`).
 * The Identity Center home region and the JIT stack's region must be in the list.
 */
export function renderRegionAllowListScp(input: { allowedRegions: readonly string[]; exemptPrincipalArns: readonly string[]; template?: string }): string {
  const regions = [...new Set(input.allowedRegions)];
  const principals = [...new Set(input.exemptPrincipalArns)];
  if (regions.length === 0) throw new ScpRenderError('allowedRegions: name at least one region (e.g. eu-west-1).');
  const badRegion = regions.find((r) => !REGION.test(r));
  if (badRegion) throw new ScpRenderError(`allowedRegions: "${badRegion}" is not a region name (e.g. eu-west-1).`);
  if (principals.length === 0) throw new ScpRenderError('exemptPrincipalArns: name at least one principal that may still act everywhere (an organization admin role), or the SCP can lock everyone out of fixing it.');
  const badArn = principals.find((a) => !PRINCIPAL_ARN.test(a));
  if (badArn) throw new ScpRenderError(`exemptPrincipalArns: "${badArn}" is not an IAM role or user ARN.`);
  const document = JSON.parse(input.template ?? readFileSync(REGION_SCP_TEMPLATE, 'utf8')) as unknown;
  const fill = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      if (v.length === 1 && v[0] === SCP_PLACEHOLDERS.allowedRegions) return regions;
      if (v.length === 1 && v[0] === SCP_PLACEHOLDERS.exemptPrincipalArns) return principals;
      return v.map(fill);
    }
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    if (typeof v === 'string' && v.includes('${')) throw new ScpRenderError(`The template has a placeholder outside a one-element list: ${v}`);
    return v;
  };
  const text = JSON.stringify(fill(document));
  if (text.includes('${')) throw new ScpRenderError('The template still has an unfilled placeholder.');
  if (text.length > SCP_MAX_CHARACTERS) throw new ScpRenderError(`The rendered SCP has ${text.length} characters; Organizations accepts at most ${SCP_MAX_CHARACTERS}.`);
  return text;
}

export interface GuardDutyFindingsRouteProps {
  prefix: string;
  findingsFunction: lambda.IFunction;
  /** The lowest severity that reaches the channel. */
  minSeverity: FindingSeverity;
  /** Accounts whose findings reach the channel (empty: every account this bus receives findings for). */
  accountIds: readonly string[];
  alarmTopic?: sns.ITopic;
}

/** EventBridge "GuardDuty Finding" events (severity and account filtered) to the findings function. */
export class GuardDutyFindingsRoute extends Construct {
  readonly rule: events.Rule;
  readonly dlq: sqs.Queue;
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: GuardDutyFindingsRouteProps) {
    super(scope, id);
    // A queue of its own: the main stack's queue would need a policy naming this stack's rule (a cycle).
    this.dlq = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: `${props.prefix}-guardrails-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.dlq, 'AwsSolutions-SQS3', 'This queue IS the dead-letter queue of the GuardDuty findings rule; its depth alarms.');
    const detail: Record<string, unknown> = { severity: [{ numeric: ['>=', GUARDDUTY_MIN_SCORE[props.minSeverity]] }] };
    if (props.accountIds.length > 0) detail.accountId = [...props.accountIds];
    this.rule = new events.Rule(this, 'Rule', {
      description: `GuardDuty findings (${props.minSeverity} and above) to the approval channel`,
      eventPattern: { source: [GUARDDUTY_SOURCE], detailType: [GUARDDUTY_DETAIL_TYPE], detail },
      targets: [new targets.LambdaFunction(props.findingsFunction, { deadLetterQueue: this.dlq, retryAttempts: 8, maxEventAge: Duration.hours(24) })],
    });
    this.alarm = new cloudwatch.Alarm(this, 'DlqAlarm', {
      alarmName: `${props.prefix}-GuardrailsDeadLetterQueueDepth`,
      alarmDescription: 'A GuardDuty finding could not be delivered to the findings function. Runbook: RUNBOOK.md, section 3, "GuardrailsDeadLetterQueueDepth".',
      metric: this.dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) this.alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
  }
}
