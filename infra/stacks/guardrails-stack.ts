/**
 * The optional guardrails stack (`-c guardrails=true`; off by default): GuardDuty findings to the
 * approval channel. Deployed beside the main stack, in the same account and Region, after it. It
 * refers to the main stack's findings function and alarm topic by their fixed names, not by
 * CloudFormation exports, so either stack can be updated (or this one deleted) on its own.
 */
import { type App, Arn, ArnFormat, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { FindingSeverity } from '../../core/model';
import type { BuiltApp } from '../build';
import { GuardDutyFindingsRoute } from '../constructs/guardrails';

export interface GuardrailsStackProps extends StackProps {
  stage: string;
  minSeverity: FindingSeverity;
  accountIds: readonly string[];
}

export class GuardrailsStack extends Stack {
  readonly guardDuty: GuardDutyFindingsRoute;

  constructor(scope: Construct, id: string, props: GuardrailsStackProps) {
    super(scope, id, props);
    const prefix = `jit-access-${props.stage}`;
    Tags.of(this).add('project', 'teams-jit-access');
    Tags.of(this).add('stage', props.stage);
    const findingsFunction = lambda.Function.fromFunctionAttributes(this, 'FindingsFunction', {
      functionArn: Arn.format({ service: 'lambda', resource: 'function', resourceName: `${prefix}-findings`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }, this),
      sameEnvironment: true,
    });
    const alarmTopic = sns.Topic.fromTopicArn(this, 'AlarmTopic', Arn.format({ service: 'sns', resource: `${prefix}-alarms` }, this));
    this.guardDuty = new GuardDutyFindingsRoute(this, 'GuardDuty', { prefix, findingsFunction, minSeverity: props.minSeverity, accountIds: props.accountIds, alarmTopic });
  }
}

const SEVERITY_ORDER: readonly FindingSeverity[] = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

/** Whether `-c guardrails=true` (or `true` in cdk.json) asks for the stack. */
export function guardrailsEnabled(app: App): boolean {
  const flag: unknown = app.node.tryGetContext('guardrails');
  return flag === true || flag === 'true';
}

/** Adds the guardrails stack when the context flag is on; same settings as the main stack's Security Hub rule. */
export function buildGuardrails(app: App, built: BuiltApp): GuardrailsStack | undefined {
  if (!guardrailsEnabled(app)) return undefined;
  const { config, stack } = built;
  const guardrails = new GuardrailsStack(app, `JitAccessGuardrails-${config.stage}`, {
    stage: config.stage,
    minSeverity: SEVERITY_ORDER.find((s) => config.findingsSeverities.includes(s)) ?? 'HIGH',
    accountIds: config.findingsAccountIds,
    description: `Teams JIT Access for AWS (${config.stage}): optional guardrails (GuardDuty findings to the channel)`,
    // The main stack's environment (same account and Region: the rule invokes its function).
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  // The findings function and the alarm topic must exist first.
  guardrails.addStackDependency(stack);
  return guardrails;
}
