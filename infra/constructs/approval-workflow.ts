/**
 * The approval workflow: a Step Functions Standard state machine written in JSONPath (no JSONata,
 * no Assign, so that aws-local-stepfunctions runs exactly this definition in tests and the
 * sandbox).
 *
 *   Validate ─┬─ Cancelled (before it started) ─▶ Closed ─▶ Done
 *             └─▶ Route ─┬─ approval ─▶ PostApprovalCard (notify fn) ─┬─ bot unreachable past the tolerance ─▶ ApprovalCardNotPosted ─▶ RecordFailure
 *                        │                                            └─▶ RequestApproval (.waitForTaskToken, TimeoutSecondsPath)
 *                        │                ├─ approved ─▶ StartGrant
 *                        │                ├─ Denied | Cancelled ─▶ Closed ─▶ Done
 *                        │                └─ States.Timeout ─▶ TimedOut ─▶ AfterTimeout ─┬─ APPROVED (vote won the race) ─▶ StartGrant
 *                        │                                                                └─ otherwise ─▶ Done
 *                        ├─ auto_approve | break_glass ─▶ StartGrant
 *                        └─ anything else ─▶ UnknownRoute ─▶ RecordFailure ─▶ Failed
 *   StartGrant ─▶ GrantStatus ─┬─ SUCCEEDED ─▶ CompleteGrant ─▶ Granted
 *                              ├─ FAILED ─▶ FailGrant ─▶ GrantFailed
 *                              ├─ IN_PROGRESS, polls exhausted ─▶ GrantPollingExhausted ─▶ FailGrant
 *                              └─ IN_PROGRESS ─▶ WaitForGrant (SecondsPath $.grant.waitSeconds) ─▶ CheckGrant ─▶ GrantStatus
 *   any error in StartGrant, CheckGrant, CompleteGrant, FailGrant ─▶ Compensate (revoke) ─▶ CompensatedFailure
 *
 * Step Functions Standard bills per state transition: the approve path is 8 transitions when
 * Identity Center answers at once and 3 more per status check. The waits between checks are a
 * backoff the workflow function hands out (contract/workflow.ts GRANT_POLL_WAITS_SECONDS: 2, 1,
 * 1, 2, 3, then 5 s), so access turns active about a second after Identity Center is done instead
 * of after a fixed 5 s; the count of checks travels in $.grant.polls (no Pass state to count).
 * Polling inside the function instead was measured against this: docs/PERFORMANCE.md.
 */
import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { GRANT_POLL_BUDGET_SECONDS, MAX_GRANT_POLLS, WORKFLOW_ERRORS } from '../../contract/workflow';

export { MAX_GRANT_POLLS };

/** State names: tests and the sandbox bind local handlers to Task states by these names. */
export const STATES = {
  validate: 'Validate',
  route: 'Route',
  unknownRoute: 'UnknownRoute',
  postApprovalCard: 'PostApprovalCard',
  cardNotPosted: 'ApprovalCardNotPosted',
  requestApproval: 'RequestApproval',
  timedOut: 'TimedOut',
  afterTimeout: 'AfterTimeout',
  closed: 'Closed',
  done: 'Done',
  startGrant: 'StartGrant',
  grantStatus: 'GrantStatus',
  waitForGrant: 'WaitForGrant',
  checkGrant: 'CheckGrant',
  pollingExhausted: 'GrantPollingExhausted',
  completeGrant: 'CompleteGrant',
  granted: 'Granted',
  failGrant: 'FailGrant',
  grantFailed: 'GrantFailed',
  compensate: 'Compensate',
  compensatedFailure: 'CompensatedFailure',
  compensationFailed: 'CompensationFailed',
  recordFailure: 'RecordFailure',
  failed: 'Failed',
} as const;

/** Which Lambda each Task state invokes. */
export const TASK_FUNCTIONS = {
  [STATES.validate]: 'workflow',
  [STATES.postApprovalCard]: 'notify',
  [STATES.requestApproval]: 'notify',
  [STATES.timedOut]: 'workflow',
  [STATES.closed]: 'workflow',
  [STATES.startGrant]: 'workflow',
  [STATES.checkGrant]: 'workflow',
  [STATES.completeGrant]: 'workflow',
  [STATES.failGrant]: 'workflow',
  [STATES.recordFailure]: 'workflow',
  [STATES.compensate]: 'revoke',
} as const;

/**
 * Where RequestApproval reads its timeout. The remaining approval time sits under `Payload` on
 * purpose: AWS resolves TimeoutSecondsPath against the state input, aws-local-stepfunctions
 * against the input after Parameters (`{FunctionName, Payload}`), and this path means the same
 * value to both, so tests exercise the deployed definition unchanged.
 */
export const APPROVAL_TIMEOUT_PATH = '$.Payload.approvalTimeoutSeconds';

/** Where WaitForGrant reads its wait: the last grant step's result (contract/workflow.ts grantPollWaitSeconds). */
export const GRANT_WAIT_PATH = '$.grant.waitSeconds';

/**
 * PostApprovalCard's retrier: a bot outage delays the card for as long as `toleranceSeconds`, never
 * fails the request sooner. No jitter, so that the time covered is exactly the sum of the delays
 * (Step Functions "Retrying after an error": delay k = min(IntervalSeconds x BackoffRate^(k-1),
 * MaxDelaySeconds); MaxAttempts counts the retries after the first attempt).
 */
export interface CardRetry {
  intervalSeconds: number;
  backoffRate: number;
  maxDelaySeconds: number;
  maxAttempts: number;
}

export function cardPostRetry(toleranceSeconds: number): CardRetry {
  const base = { intervalSeconds: 15, backoffRate: 2, maxDelaySeconds: 60 };
  let covered = 0;
  let maxAttempts = 0;
  while (covered < toleranceSeconds) {
    maxAttempts += 1;
    covered += retryDelaySeconds({ ...base, maxAttempts }, maxAttempts);
  }
  return { ...base, maxAttempts: Math.max(1, maxAttempts) };
}

/** The wait before retry `k` (1-based) of a retrier without jitter. */
export function retryDelaySeconds(r: Omit<CardRetry, 'maxAttempts'> & { maxAttempts?: number }, k: number): number {
  return Math.min(r.intervalSeconds * r.backoffRate ** (k - 1), r.maxDelaySeconds);
}

/** Errors the card post retries for the whole outage: the bot unreachable, throttling, and a function or task timeout. */
const CARD_POST_ERRORS = [
  'ThrottlingException',
  'ConflictException',
  'TooManyRequestsException',
  // A Lambda function timeout: "Sandbox.Timedout" from the optimized integration, "Lambda.Unknown"
  // in older reports (Step Functions "Handle Lambda service exceptions"); the task's own timeout.
  'Sandbox.Timedout',
  'Lambda.Unknown',
  'States.Timeout',
];

/** Errors worth retrying: AWS-side Lambda failures, throttling, optimistic-lock conflicts. */
const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
];
const RETRYABLE_ERRORS = ['ThrottlingException', 'ConflictException', 'TooManyRequestsException', WORKFLOW_ERRORS.retryable];

export interface ApprovalWorkflowProps {
  stateMachineName: string;
  workflowFn: lambda.IFunction;
  notifyFn: lambda.IFunction;
  revokeFn: lambda.IFunction;
  /** The longest approval timeout in the policy: bounds the whole execution. */
  maxApprovalTimeoutSeconds: number;
  /** How long a bot outage may delay the approval card (context botOutageToleranceMinutes). */
  botOutageToleranceSeconds: number;
  /** Task timeouts are the function timeouts plus a margin for the invoke itself. */
  workflowFnTimeout: Duration;
  notifyFnTimeout: Duration;
  revokeFnTimeout: Duration;
  logRetention: logs.RetentionDays;
  removalPolicy: RemovalPolicy;
}

export class ApprovalWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApprovalWorkflowProps) {
    super(scope, id);
    const margin = (d: Duration) => sfn.Timeout.duration(Duration.seconds(d.toSeconds() + 5));
    const retry = (task: tasks.LambdaInvoke) => {
      task.addRetry({ errors: LAMBDA_SERVICE_ERRORS, interval: Duration.seconds(1), maxAttempts: 4, backoffRate: 2, maxDelay: Duration.seconds(16), jitterStrategy: sfn.JitterType.FULL });
      task.addRetry({ errors: RETRYABLE_ERRORS, interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2, maxDelay: Duration.seconds(30), jitterStrategy: sfn.JitterType.FULL });
      return task;
    };
    const workflowTask = (name: string, payload: Record<string, unknown>, extra: Partial<tasks.LambdaInvokeProps> = {}) =>
      retry(
        new tasks.LambdaInvoke(this, name, {
          stateName: name,
          lambdaFunction: props.workflowFn,
          payload: sfn.TaskInput.fromObject(payload),
          payloadResponseOnly: true,
          retryOnServiceExceptions: false,
          taskTimeout: margin(props.workflowFnTimeout),
          ...extra,
        }),
      );
    const requestId = sfn.JsonPath.stringAt('$.requestId');

    // ── terminal states ────────────────────────────────────────────────────────────
    const done = new sfn.Succeed(this, STATES.done, { stateName: STATES.done, comment: 'Denied, cancelled or timed out: nothing to grant.' });
    const granted = new sfn.Succeed(this, STATES.granted, { stateName: STATES.granted });
    const failed = new sfn.Fail(this, STATES.failed, { stateName: STATES.failed, error: 'RequestFailed', causePath: '$.error.Cause' });
    const grantFailed = new sfn.Fail(this, STATES.grantFailed, { stateName: STATES.grantFailed, error: WORKFLOW_ERRORS.grantFailed, cause: 'Identity Center could not create the assignment.' });
    const compensatedFailure = new sfn.Fail(this, STATES.compensatedFailure, { stateName: STATES.compensatedFailure, error: WORKFLOW_ERRORS.grantFailed, causePath: '$.error.Cause' });
    const compensationFailed = new sfn.Fail(this, STATES.compensationFailed, {
      stateName: STATES.compensationFailed,
      error: 'CompensationFailed',
      cause: 'The grant failed and rolling it back failed too; the reconciler will retry the revocation.',
    });

    // ── failure before any grant ───────────────────────────────────────────────────
    const recordFailure = workflowTask(STATES.recordFailure, {
      action: 'fail_grant',
      requestId,
      error: sfn.JsonPath.stringAt('$.error.Error'),
      cause: sfn.JsonPath.stringAt('$.error.Cause'),
    }, { resultPath: sfn.JsonPath.DISCARD });
    recordFailure.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.recordFailureError' });
    recordFailure.next(failed);

    // ── compensation: any failure once a grant may exist ──────────────────────────
    const compensate = retry(
      new tasks.LambdaInvoke(this, STATES.compensate, {
        stateName: STATES.compensate,
        lambdaFunction: props.revokeFn,
        payload: sfn.TaskInput.fromObject({ requestId, source: 'compensation', cause: sfn.JsonPath.stringAt('$.error.Cause') }),
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        taskTimeout: margin(props.revokeFnTimeout),
        resultPath: sfn.JsonPath.DISCARD,
      }),
    );
    compensate.addCatch(compensationFailed, { errors: ['States.ALL'], resultPath: '$.compensationError' });
    compensate.next(compensatedFailure);
    const toCompensate = { errors: ['States.ALL'], resultPath: '$.error' };

    // ── grant ─────────────────────────────────────────────────────────────────────
    const completeGrant = workflowTask(STATES.completeGrant, { action: 'complete_grant', requestId }, { resultPath: sfn.JsonPath.DISCARD });
    completeGrant.addCatch(compensate, toCompensate);
    completeGrant.next(granted);

    const failGrant = workflowTask(STATES.failGrant, {
      action: 'fail_grant',
      requestId,
      error: WORKFLOW_ERRORS.grantFailed,
      cause: sfn.JsonPath.stringAt('$.grant.failureReason'),
    }, { resultPath: sfn.JsonPath.DISCARD });
    failGrant.addCatch(compensate, toCompensate);
    failGrant.next(grantFailed);

    const pollingExhausted = new sfn.Pass(this, STATES.pollingExhausted, {
      stateName: STATES.pollingExhausted,
      result: sfn.Result.fromObject({
        status: 'FAILED',
        failureReason: `Identity Center did not finish the assignment after ${MAX_GRANT_POLLS} status checks (about ${Math.round(GRANT_POLL_BUDGET_SECONDS / 60)} minutes).`,
      }),
      resultPath: '$.grant',
    });
    pollingExhausted.next(failGrant);

    const checkGrant = workflowTask(STATES.checkGrant, {
      action: 'check_grant',
      requestId,
      operationId: sfn.JsonPath.stringAt('$.grant.operationId'),
      polls: sfn.JsonPath.numberAt('$.grant.polls'),
    }, { resultPath: '$.grant' });
    checkGrant.addCatch(compensate, toCompensate);

    const waitForGrant = new sfn.Wait(this, STATES.waitForGrant, {
      stateName: STATES.waitForGrant,
      comment: 'The backoff the last grant step named: 2, 1, 1, 2, 3 s, then 5 s (contract/workflow.ts GRANT_POLL_WAITS_SECONDS).',
      time: sfn.WaitTime.secondsPath(GRANT_WAIT_PATH),
    });
    waitForGrant.next(checkGrant);

    const grantStatus = new sfn.Choice(this, STATES.grantStatus, { stateName: STATES.grantStatus })
      .when(sfn.Condition.stringEquals('$.grant.status', 'SUCCEEDED'), completeGrant)
      .when(sfn.Condition.stringEquals('$.grant.status', 'FAILED'), failGrant)
      .when(
        sfn.Condition.and(sfn.Condition.stringEquals('$.grant.status', 'IN_PROGRESS'), sfn.Condition.numberGreaterThanEquals('$.grant.polls', MAX_GRANT_POLLS)),
        pollingExhausted,
      )
      .when(sfn.Condition.stringEquals('$.grant.status', 'IN_PROGRESS'), waitForGrant)
      .otherwise(pollingExhausted);
    checkGrant.next(grantStatus);

    const startGrant = workflowTask(STATES.startGrant, { action: 'start_grant', requestId }, { resultPath: '$.grant' });
    startGrant.addCatch(compensate, toCompensate);
    startGrant.next(grantStatus);

    // ── approval ──────────────────────────────────────────────────────────────────
    const closed = workflowTask(STATES.closed, {
      action: 'closed',
      requestId,
      error: sfn.JsonPath.stringAt('$.error.Error'),
      cause: sfn.JsonPath.stringAt('$.error.Cause'),
    }, { resultPath: sfn.JsonPath.DISCARD });
    closed.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });
    closed.next(done);

    const timedOut = workflowTask(STATES.timedOut, { action: 'timed_out', requestId }, { resultPath: '$.timeout' });
    timedOut.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });
    const afterTimeout = new sfn.Choice(this, STATES.afterTimeout, {
      stateName: STATES.afterTimeout,
      comment: 'A vote that landed just before the timeout wins: the request is APPROVED and is granted.',
    })
      .when(sfn.Condition.stringEquals('$.timeout.state', 'APPROVED'), startGrant)
      .otherwise(done);
    timedOut.next(afterTimeout);

    const requestApproval = retry(
      new tasks.LambdaInvoke(this, STATES.requestApproval, {
        stateName: STATES.requestApproval,
        comment: 'Posts the approval card and parks the task token server-side; the bridge resumes it on the deciding vote.',
        lambdaFunction: props.notifyFn,
        integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: sfn.TaskInput.fromObject({
          requestId,
          taskToken: sfn.JsonPath.taskToken,
          approvalTimeoutSeconds: sfn.JsonPath.numberAt(APPROVAL_TIMEOUT_PATH),
        }),
        retryOnServiceExceptions: false,
        taskTimeout: sfn.Timeout.at(APPROVAL_TIMEOUT_PATH),
        resultPath: '$.approval',
      }),
    );
    // The card first, and the approval time counts from its post: a bot outage delays the card
    // (the retrier below waits it out) and never eats into the approvers' time.
    const cardRetry = cardPostRetry(props.botOutageToleranceSeconds);
    // The notify function, not the workflow one: the workflow function's reserved concurrency is
    // for Identity Center writers, and posts waiting out an outage must not starve grants.
    const postApprovalCard = new tasks.LambdaInvoke(this, STATES.postApprovalCard, {
      stateName: STATES.postApprovalCard,
      comment: `Posts the approval card; retried for at least ${props.botOutageToleranceSeconds} s while the bot cannot be reached.`,
      lambdaFunction: props.notifyFn,
      payload: sfn.TaskInput.fromObject({ action: 'post_approval_card', requestId }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      taskTimeout: margin(props.notifyFnTimeout),
      resultSelector: { approvalTimeoutSeconds: sfn.JsonPath.numberAt('$.approvalTimeoutSeconds') },
      resultPath: '$.Payload',
    });
    // One retrier for every transient error: a retrier whose attempts run out fails the state even
    // when a later one matches too, so Lambda throttling during an outage must get the long one.
    postApprovalCard.addRetry({
      errors: [...LAMBDA_SERVICE_ERRORS, WORKFLOW_ERRORS.retryable, ...CARD_POST_ERRORS],
      interval: Duration.seconds(cardRetry.intervalSeconds),
      backoffRate: cardRetry.backoffRate,
      maxDelay: Duration.seconds(cardRetry.maxDelaySeconds),
      maxAttempts: cardRetry.maxAttempts,
    });
    const cardNotPosted = new sfn.Pass(this, STATES.cardNotPosted, {
      stateName: STATES.cardNotPosted,
      comment: 'The bot stayed unreachable past the outage tolerance: the request fails with a reason the requester can read.',
      parameters: {
        Error: 'ApprovalCardNotPosted',
        // The last error (a Lambda error's JSON, trace included) stays in the execution history.
        Cause: `The approval card could not be posted: the Teams bot could not be reached for ${Math.round(props.botOutageToleranceSeconds / 60)} minutes, the longest outage tolerated. Submit the request again when the bot is back.`,
      },
      resultPath: '$.error',
    });
    cardNotPosted.next(recordFailure);
    postApprovalCard.addCatch(cardNotPosted, { errors: ['States.ALL'], resultPath: '$.error' });
    postApprovalCard.next(requestApproval);

    requestApproval.addCatch(timedOut, { errors: ['States.Timeout'], resultPath: '$.error' });
    requestApproval.addCatch(closed, { errors: [WORKFLOW_ERRORS.denied, WORKFLOW_ERRORS.cancelled], resultPath: '$.error' });
    requestApproval.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });
    requestApproval.next(startGrant);

    const unknownRoute = new sfn.Pass(this, STATES.unknownRoute, {
      stateName: STATES.unknownRoute,
      parameters: { Error: 'UnknownRoute', 'Cause.$': "States.Format('Validate returned an unknown route: {}', $.route)" },
      resultPath: '$.error',
    });
    unknownRoute.next(recordFailure);
    const route = new sfn.Choice(this, STATES.route, { stateName: STATES.route })
      .when(sfn.Condition.stringEquals('$.route', 'approval'), postApprovalCard)
      .when(sfn.Condition.or(sfn.Condition.stringEquals('$.route', 'auto_approve'), sfn.Condition.stringEquals('$.route', 'break_glass')), startGrant)
      .otherwise(unknownRoute);

    const validate = workflowTask(STATES.validate, { action: 'validate', requestId }, {
      // Keeps only what later states read.
      resultSelector: {
        requestId: sfn.JsonPath.stringAt('$.requestId'),
        route: sfn.JsonPath.stringAt('$.route'),
        Payload: { approvalTimeoutSeconds: sfn.JsonPath.numberAt('$.approvalTimeoutSeconds') },
      },
    });
    // Cancelled between submit and this first step: nothing to do, not a failure.
    validate.addCatch(closed, { errors: [WORKFLOW_ERRORS.cancelled], resultPath: '$.error' });
    validate.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });
    validate.next(route);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // Named on purpose: Step Functions asks for log groups under /aws/vendedlogs/ so that log
      // delivery does not grow the account's CloudWatch Logs resource policy past its size limit
      // ("Avoiding Amazon CloudWatch Logs resource policy size restrictions",
      // https://docs.aws.amazon.com/step-functions/latest/dg/bp-cwl.html).
      logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}`,
      retention: props.logRetention,
      // A named group with a plain Retain outlives a rolled-back first create, and every later
      // deploy then fails with "already exists". RetainExceptOnCreate keeps the logs of a stack
      // that did exist and drops the empty group of one that never did (CloudFormation
      // "DeletionPolicy attribute", RetainExceptOnCreate).
      removalPolicy: props.removalPolicy === RemovalPolicy.RETAIN ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : props.removalPolicy,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      definitionBody: sfn.DefinitionBody.fromChainable(validate),
      comment: 'Teams JIT Access: approval, grant and compensation for one access request (execution name = request id).',
      timeout: Duration.seconds(props.maxApprovalTimeoutSeconds + props.botOutageToleranceSeconds + 3600),
      tracingEnabled: true,
      logs: {
        destination: this.logGroup,
        level: sfn.LogLevel.ALL,
        // Execution data would put every task token (a bearer credential that resumes the
        // workflow) and every request's justification into CloudWatch Logs. Transitions and
        // errors are logged; inputs and outputs stay in the access-controlled execution history.
        includeExecutionData: false,
      },
    });
    const rolePolicy = this.stateMachine.role.node.findChild('DefaultPolicy');
    Validations.of(rolePolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and log delivery (logs:CreateLogDelivery and related) support no resource-level permissions; CDK adds exactly these for tracingEnabled and logs.',
    });
    for (const fn of [props.workflowFn, props.notifyFn, props.revokeFn]) {
      Validations.of(rolePolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason: 'lambda:InvokeFunction on this one function and its qualified ARNs (versions, aliases), as the Step Functions Lambda integration grants it.',
      });
    }
  }
}
