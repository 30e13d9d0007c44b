/**
 * Alarms and the operations dashboard. Every alarm notifies the (KMS-encrypted) alarm topic;
 * subscribe an email with `-c alarmEmail=...` or attach your paging integration to the topic.
 * Every alarm has an entry under its name in RUNBOOK.md (section 3); a test holds that.
 * The product metrics (requests by outcome, time to decision, grant latency, revocation lag,
 * failures by kind, break-glass uses) are EMF from the functions: see lambdas/metrics.ts.
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
import { FAILURE_KINDS, METRIC, METRICS_NAMESPACE as EMF_NAMESPACE, METRICS_SERVICE, OUTCOMES } from '../../lambdas/metrics';
import type { JitFunction } from './jit-function';

/** The revoke handler logs this value in the `event` field of a JSON log line when a revocation fails. */
export const REVOKE_FAILED_LOG_EVENT = 'revoke_failed';
export const METRICS_NAMESPACE = EMF_NAMESPACE;
/** core/services/session-cut.ts logs this `event` when ending live sessions failed (SESSION_CUT_FAILED_EVENT). */
export const SESSION_CUT_FAILED_LOG_EVENT = 'session_cut_failed';
/** The revocation-lag SLO: p99 under 60 seconds (RUNBOOK section 12). */
export const REVOCATION_LAG_SLO_SECONDS = 60;

export interface MonitoringProps {
  prefix: string;
  /** The `stage` dimension of the EMF metrics; default: the prefix without `jit-access-`. */
  stage?: string;
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
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string, threshold = 1, comparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD) => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmName: `${props.prefix}-${id}`,
        alarmDescription: `${description} Runbook: RUNBOOK.md, section 3, "${id}".`,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator,
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
    // A failed session cut is logged (event session_cut_failed) by whichever function revoked: the
    // bridge (early revoke), revoke (expiry) or reconcile (the sweep's retry).
    const cutFailures: Record<string, cloudwatch.IMetric> = {};
    for (const name of ['bridge', 'revoke', 'reconcile']) {
      const fn = props.functions[name];
      if (!fn) continue;
      const filter = new logs.MetricFilter(this, `SessionCutFailuresFilter-${name}`, {
        logGroup: fn.logGroup,
        filterPattern: logs.FilterPattern.stringValue('$.event', '=', SESSION_CUT_FAILED_LOG_EVENT),
        metricNamespace: METRICS_NAMESPACE,
        metricName: 'SessionCutFailures',
        dimensions: { function: name },
        metricValue: '1',
        defaultValue: 0,
      });
      cutFailures[name] = filter.metric(fiveMinutes);
    }
    if (Object.keys(cutFailures).length > 0) {
      alarm(
        'SessionCutFailures',
        new cloudwatch.MathExpression({ expression: Object.keys(cutFailures).join(' + '), usingMetrics: cutFailures, period: Duration.minutes(5), label: 'session cut failures' }),
        'Ending the live sessions of a revoked grant failed: the assignment is gone but sessions already issued may stay valid until they expire. Reconcile retries every 5 minutes.',
      );
    }
    alarm('BridgeServerErrors', props.api.metricServerError(fiveMinutes), 'The bridge answered 5xx.', 5);

    // ── product metrics (EMF, lambdas/metrics.ts) ──────────────────────────────────
    const stage = props.stage ?? props.prefix.replace(/^jit-access-/, '');
    const product = (metricName: string, statistic: string, period: Duration, extra: Record<string, string> = {}, label?: string) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: METRICS_SERVICE, stage, ...extra }, statistic, period, ...(label ? { label } : {}) });
    const hour = Duration.hours(1);
    const revocationLagP99 = product(METRIC.revocationLag, cloudwatch.Stats.p(99), Duration.minutes(15), {}, 'revocation lag p99');
    alarm(
      'RevocationLagP99',
      // Without a label: a labelled metric turns into a metric-math alarm.
      product(METRIC.revocationLag, cloudwatch.Stats.p(99), Duration.minutes(15)),
      `Revocations took longer than the SLO (p99 over 15 minutes above ${REVOCATION_LAG_SLO_SECONDS} s): access outlived its end.`,
      REVOCATION_LAG_SLO_SECONDS,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    );
    alarm('BreakGlassUsed', product(METRIC.breakGlassUses, cloudwatch.Stats.SUM, Duration.minutes(5)), 'Someone took break-glass access (no approval). Follow the break-glass review.');
    // BatchImportFindings answers 200 with FailedFindings for a refused finding: the adapter counts it,
    // so a break-glass use that Security Hub never recorded cannot pass silently.
    alarm(
      'BreakGlassFindingNotImported',
      product(METRIC.failuresByKind, cloudwatch.Stats.SUM, Duration.minutes(5), { kind: 'breakglass_finding' }),
      'Security Hub did not import a break-glass finding (refused or unreachable). Reconcile imports it again every 5 minutes; find the cause.',
    );

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
          new cloudwatch.TextWidget({
            markdown: `## Requests (namespace ${METRICS_NAMESPACE}, stage ${stage})\nOutcomes, decision and grant times, revocation lag against the ${REVOCATION_LAG_SLO_SECONDS} s SLO. Alarms and what to do: RUNBOOK.md section 3.`,
            width: 24,
            height: 2,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Requests by outcome (per hour)',
            left: OUTCOMES.map((outcome) => product(METRIC.requestsByOutcome, cloudwatch.Stats.SUM, hour, { outcome }, outcome)),
            stacked: true,
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Failures by kind (per 5 minutes)',
            left: FAILURE_KINDS.map((kind) => product(METRIC.failuresByKind, cloudwatch.Stats.SUM, Duration.minutes(5), { kind }, kind)),
            stacked: true,
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Time to decision (s)',
            left: [product(METRIC.timeToDecision, cloudwatch.Stats.p(50), hour, {}, 'p50'), product(METRIC.timeToDecision, cloudwatch.Stats.p(90), hour, {}, 'p90')],
            width: 6,
          }),
          new cloudwatch.GraphWidget({
            title: 'Grant latency, approved to active (s)',
            left: [product(METRIC.grantLatency, cloudwatch.Stats.p(50), hour, {}, 'p50'), product(METRIC.grantLatency, cloudwatch.Stats.p(99), hour, {}, 'p99')],
            width: 6,
          }),
          new cloudwatch.GraphWidget({
            title: 'Revocation lag, end to revoked (s)',
            left: [revocationLagP99, product(METRIC.revocationLag, cloudwatch.Stats.MAXIMUM, Duration.minutes(15), {}, 'max')],
            leftAnnotations: [{ value: REVOCATION_LAG_SLO_SECONDS, label: `SLO p99 < ${REVOCATION_LAG_SLO_SECONDS} s`, color: cloudwatch.Color.RED }],
            width: 6,
          }),
          new cloudwatch.SingleValueWidget({
            title: 'Break-glass uses (24 h)',
            metrics: [product(METRIC.breakGlassUses, cloudwatch.Stats.SUM, Duration.days(1), {}, 'break-glass')],
            width: 6,
          }),
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
