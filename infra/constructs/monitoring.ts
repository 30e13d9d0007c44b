/**
 * Alarms and the operations dashboard. Every alarm notifies the (KMS-encrypted) alarm topic;
 * subscribe an email with `-c alarmEmail=...` or attach your paging integration to the topic.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { JitFunction } from './jit-function';

/** The revoke handler logs this value in the `event` field of a JSON log line when a revocation fails. */
export const REVOKE_FAILED_LOG_EVENT = 'revoke_failed';
export const METRICS_NAMESPACE = 'TeamsJitAccess';

export interface MonitoringProps {
  prefix: string;
  key: kms.IKey;
  functions: Record<string, JitFunction>;
  revokeFunction: JitFunction;
  stateMachine: sfn.StateMachine;
  dlq: sqs.Queue;
  api: apigwv2.HttpApi;
  alarmEmail?: string;
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'AlarmTopic', { topicName: `${props.prefix}-alarms`, masterKey: props.key, enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const notify = new actions.SnsAction(this.topic);
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string, threshold = 1) => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmName: `${props.prefix}-${id}`,
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(notify);
      this.alarms.push(a);
      return a;
    };

    const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    alarm('WorkflowExecutionsFailed', props.stateMachine.metricFailed(fiveMinutes), 'A request workflow failed (grant failed, rolled back, or rollback failed). Check the execution named after the request id.');
    alarm('WorkflowExecutionsTimedOut', props.stateMachine.metricTimedOut(fiveMinutes), 'A request workflow hit the state machine timeout.');
    alarm('WorkflowExecutionsAborted', props.stateMachine.metricAborted(fiveMinutes), 'A request workflow was stopped by hand.');
    alarm(
      'DeadLetterQueueDepth',
      props.dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      'An expiry schedule or an event could not be delivered: access may not have been revoked on time. Inspect the queue; the reconciler revokes expired grants every 5 minutes.',
    );
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(`${name}-Errors`, fn.fn.metricErrors(fiveMinutes), `The ${name} function threw errors.`);
    }

    const revokeFailures = new logs.MetricFilter(this, 'RevokeFailuresFilter', {
      logGroup: props.revokeFunction.logGroup,
      filterPattern: logs.FilterPattern.stringValue('$.event', '=', REVOKE_FAILED_LOG_EVENT),
      metricNamespace: METRICS_NAMESPACE,
      metricName: 'RevokeFailures',
      metricValue: '1',
      defaultValue: 0,
    });
    alarm('RevokeFailures', revokeFailures.metric(fiveMinutes), 'A revocation failed: someone may still hold access past its expiry.');
    alarm('BridgeServerErrors', props.api.metricServerError(fiveMinutes), 'The bridge answered 5xx.', 5);

    const fnWidgets = (metric: (fn: JitFunction) => cloudwatch.IMetric) => Object.values(props.functions).map(metric);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${props.prefix}-operations`,
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Workflow executions',
            left: [props.stateMachine.metricStarted(fiveMinutes), props.stateMachine.metricSucceeded(fiveMinutes), props.stateMachine.metricFailed(fiveMinutes), props.stateMachine.metricTimedOut(fiveMinutes)],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Bridge requests and errors',
            left: [props.api.metricCount(fiveMinutes), props.api.metricClientError(fiveMinutes), props.api.metricServerError(fiveMinutes)],
            right: [props.api.metricLatency({ period: Duration.minutes(5), statistic: cloudwatch.Stats.p(99) })],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Function errors', left: fnWidgets((f) => f.fn.metricErrors(fiveMinutes)), width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Function duration p99', left: fnWidgets((f) => f.fn.metricDuration({ period: Duration.minutes(5), statistic: cloudwatch.Stats.p(99) })), width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Function throttles', left: fnWidgets((f) => f.fn.metricThrottles(fiveMinutes)), width: 8 }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Revoke failures', left: [revokeFailures.metric(fiveMinutes)], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Dead-letter queue depth', left: [props.dlq.metricApproximateNumberOfMessagesVisible()], width: 8 }),
          new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 8 }),
        ],
      ],
    });
  }
}
