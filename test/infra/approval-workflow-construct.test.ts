/**
 * The approval workflow construct on its own (no bundling, no cdk-nag): fast checks of the
 * template properties that decide whether a deploy can be repeated.
 */
import { strict as assert } from 'node:assert';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ApprovalWorkflow } from '../../infra/constructs/approval-workflow';

function synth(removalPolicy: RemovalPolicy): Template {
  const app = new App();
  const stack = new Stack(app, 'T', { env: { account: '111111111111', region: 'eu-west-1' } });
  const fn = (id: string) => new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>({})') });
  new ApprovalWorkflow(stack, 'Workflow', {
    stateMachineName: 'jit-prod-approval',
    workflowFn: fn('W'),
    notifyFn: fn('N'),
    revokeFn: fn('R'),
    maxApprovalTimeoutSeconds: 3600,
    botOutageToleranceSeconds: 1800,
    workflowFnTimeout: Duration.seconds(30),
    notifyFnTimeout: Duration.seconds(60),
    revokeFnTimeout: Duration.seconds(60),
    logRetention: logs.RetentionDays.ONE_MONTH,
    removalPolicy,
  });
  return Template.fromStack(stack);
}

describe('infra: approval workflow construct', () => {
  describe('state machine log group', () => {
    it('keeps the /aws/vendedlogs/ name (the CloudWatch Logs resource policy size limit)', () => {
      const groups = synth(RemovalPolicy.RETAIN).findResources('AWS::Logs::LogGroup');
      assert.deepEqual(Object.values(groups).map((g) => g.Properties.LogGroupName), ['/aws/vendedlogs/states/jit-prod-approval']);
    });

    it('retained data is RetainExceptOnCreate: a failed first create removes the named group, so the redeploy can create it again', () => {
      const [group] = Object.values(synth(RemovalPolicy.RETAIN).findResources('AWS::Logs::LogGroup'));
      // A plain Retain leaves the named group behind after a rolled-back first create, and the next
      // deploy fails with "already exists" (CloudFormation DeletionPolicy attribute:
      // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
      assert.equal(group!.DeletionPolicy, 'RetainExceptOnCreate');
      assert.equal(group!.UpdateReplacePolicy, 'Retain');
    });

    it('non-prod stages still delete the group with the stack', () => {
      const [group] = Object.values(synth(RemovalPolicy.DESTROY).findResources('AWS::Logs::LogGroup'));
      assert.equal(group!.DeletionPolicy, 'Delete');
    });
  });
});
