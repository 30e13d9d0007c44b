/**
 * Teams JIT Access, one stack per stage: data, functions, approval workflow, bridge API, expiry
 * scheduling, event routing, monitoring. Deploy it in IAM Identity Center's delegated administrator
 * account (recommended) or the organization's management account, in the instance's Region
 * (infra/README.md, "Where to deploy").
 */
import { Arn, ArnFormat, type CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Tags, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { AUDIT_BUS_EVENT, ENV, type LambdaName } from '../../lambdas/contract';
import { ConfigError, type JitConfig } from '../config';
import { ApprovalWorkflow } from '../constructs/approval-workflow';
import { BotHost, PLACEHOLDER_ONCALL_TEAM_ID } from '../constructs/bot-host';
import { BridgeApi } from '../constructs/bridge-api';
import { DataStore } from '../constructs/data-store';
import { asffFindingsPattern, findingsPatterns, ownProductArn } from '../constructs/findings-routing';
import { JitFunction } from '../constructs/jit-function';
import { KpiDigestSchedule } from '../constructs/kpi-digest-schedule';
import { Monitoring } from '../constructs/monitoring';
import { TABLE_SCHEMAS } from '../constructs/table-schemas';
import { LEDGER_INDEXES } from '../../lambdas/adapters/dynamo-live-index';
import {
  IDENTITY_STORE_ANY_OWNER_REASON,
  IDENTITY_STORE_WILDCARD_REASON,
  MANAGEMENT_ACCOUNT_REASON,
  MANAGEMENT_ACCOUNT_ROLE_PATH,
  MANAGEMENT_ACCOUNT_SAML_PROVIDER,
  MAX_ACCOUNT_ARNS,
  SCHEDULE_WILDCARD_REASON,
  acknowledge,
  identityCenterResources,
  identityCenterStatements,
  identityStoreStatements,
  kmsTableKeyStatement,
  managementAccountProvisioningStatements,
  schedulerStatements,
  securityHubResolveStatement,
  securityHubStatement,
  ssoKmsStatements,
} from '../constructs/permissions';

export interface JitAccessStackProps extends StackProps {
  config: JitConfig;
}

/** Function settings. Reserved concurrency also caps concurrent Identity Center writers (workflow + revoke + reconcile = 10 = its outstanding-write limit). */
const FUNCTIONS: Record<LambdaName, { description: string; timeoutSeconds: number; memorySize: number; reserved?: number }> = {
  bridge: { description: 'Bridge API: bot requests (submit, vote, revoke, extend, cancel, review, eligibility)', timeoutSeconds: 29, memorySize: 1024 },
  workflow: { description: 'Approval workflow steps: validate, grant, poll, complete, fail', timeoutSeconds: 60, memorySize: 512, reserved: 5 },
  notify: { description: 'Approval request (stores the task token, posts the approval card) and the notice flush (asynchronous invoke)', timeoutSeconds: 30, memorySize: 512 },
  revoke: { description: 'Revocation at expiry (EventBridge Scheduler target) and compensation after a failed grant', timeoutSeconds: 300, memorySize: 512, reserved: 4 },
  reconcile: { description: 'Every 5 minutes: revokes expired grants still live, reports drift, warns before expiry', timeoutSeconds: 300, memorySize: 512, reserved: 1 },
  findings: { description: 'Security Hub findings to the approval channel', timeoutSeconds: 60, memorySize: 256 },
  auditWriter: { description: 'Audit bus to the append-only audit table', timeoutSeconds: 30, memorySize: 256 },
};

const SEVERITY_ORDER = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

export class JitAccessStack extends Stack {
  readonly data: DataStore;
  readonly functions: Record<LambdaName, JitFunction>;
  readonly workflow: ApprovalWorkflow;
  readonly bridge: BridgeApi;
  /** The hosted bot (context key hostBot, default true). */
  readonly bot?: BotHost;
  readonly monitoring: Monitoring;
  readonly schedulerRole: iam.Role;
  readonly kpiDigest: KpiDigestSchedule;
  readonly stateMachineArn: string;

  constructor(scope: Construct, id: string, props: JitAccessStackProps) {
    super(scope, id, props);
    const config = props.config;
    const prefix = `jit-access-${config.stage}`;
    // Identity Center provisions into the management account with the caller's IAM permissions
    // only when the caller IS the management account; from a delegated administrator it cannot.
    if (config.allowManagementAccount && !Token.isUnresolved(this.account) && this.account !== config.managementAccountId) {
      throw new ConfigError(
        `Invalid deployment configuration:\n  - context key 'allowManagementAccount' is true but the stack's account ${this.account} is not the management account ${config.managementAccountId}: a delegated administrator cannot manage permission sets provisioned to the management account. Deploy in the management account, or remove the management account from the policy.`,
      );
    }
    Tags.of(this).add('project', 'teams-jit-access');
    Tags.of(this).add('stage', config.stage);
    const removalPolicy = config.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = toRetention(config.logRetentionDays);

    this.data = new DataStore(this, 'Data', { prefix, protectData: config.protectData });

    // Only a self-hosted bot has an /api/notify door (HMAC-signed); the hosted bot gets its notices
    // as Lambda invokes authorized by IAM, so no shared key exists at all.
    const notifySecret = config.hostBot
      ? undefined
      : new secretsmanager.Secret(this, 'NotifySecret', {
          secretName: `${prefix}/notify-hmac`,
          description: 'HMAC key that signs backend-to-bot notifications (POST /api/notify); the bot verifies with the same key',
          generateSecretString: { passwordLength: 64, excludePunctuation: true },
        });
    const botSecret = new secretsmanager.Secret(this, 'BotCredentials', {
      secretName: `${prefix}/bot-credentials`,
      description: 'Teams bot credentials: {"MicrosoftAppId","MicrosoftAppPassword","MicrosoftAppTenantId"}; set after deploy',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ MicrosoftAppId: config.botAppId, MicrosoftAppTenantId: config.entraTenantId }),
        generateStringKey: 'MicrosoftAppPassword',
        excludePunctuation: true,
      },
    });
    for (const s of [notifySecret, botSecret].filter((x) => x !== undefined)) {
      acknowledge(s, 'AwsSolutions-SMG4', 'The value is an Entra ID client secret / a shared HMAC key that Secrets Manager cannot rotate by itself; rotate it with the app registration (documented in infra/README.md).');
    }

    const scheduleGroup = new scheduler.ScheduleGroup(this, 'ExpirySchedules', { scheduleGroupName: prefix, removalPolicy: RemovalPolicy.DESTROY });
    this.stateMachineArn = Arn.format({ service: 'states', resource: 'stateMachine', resourceName: `${prefix}-approval`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }, this);
    const functionName = (name: LambdaName) => `${prefix}-${name === 'auditWriter' ? 'audit-writer' : name}`;
    // Named, not referenced: the revoke function's own configuration needs its ARN (a reference
    // would be circular), and the state machine's ARN is needed by functions it invokes.
    const revokeFunctionArn = Arn.format({ service: 'lambda', resource: 'function', resourceName: functionName('revoke'), arnFormat: ArnFormat.COLON_RESOURCE_NAME }, this);
    // The notice flush's target: every function's configuration names it, the notify function's too.
    const noticeFunctionArn = Arn.format({ service: 'lambda', resource: 'function', resourceName: functionName('notify'), arnFormat: ArnFormat.COLON_RESOURCE_NAME }, this);

    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'EventBridge Scheduler: invoke the revoke function at expiry, dead-letter undeliverable schedules',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: { 'aws:SourceArn': scheduleGroup.scheduleGroupArn },
        },
      }),
    });
    this.schedulerRole.addToPolicy(new iam.PolicyStatement({ sid: 'InvokeRevoke', actions: ['lambda:InvokeFunction'], resources: [revokeFunctionArn] }));
    this.schedulerRole.addToPolicy(new iam.PolicyStatement({ sid: 'DeadLetter', actions: ['sqs:SendMessage'], resources: [this.data.dlq.queueArn] }));

    const minSeverity = SEVERITY_ORDER.find((s) => config.findingsSeverities.includes(s)) ?? 'HIGH';
    const environment: Record<string, string> = {
      [ENV.stage]: config.stage,
      [ENV.logLevel]: config.stage === 'prod' ? 'INFO' : 'DEBUG',
      [ENV.requestsTable]: this.data.requests.tableName,
      [ENV.ledgerTable]: this.data.ledger.tableName,
      [ENV.auditTable]: this.data.audit.tableName,
      [ENV.eventBusName]: this.data.bus.eventBusName,
      [ENV.stateMachineArn]: this.stateMachineArn,
      [ENV.ssoInstanceArn]: config.ssoInstanceArn,
      [ENV.identityStoreId]: config.identityStoreId,
      [ENV.userMatch]: config.userMatch,
      ...(config.externalIdIssuer ? { [ENV.externalIdIssuer]: config.externalIdIssuer } : {}),
      [ENV.schedulerGroup]: scheduleGroup.scheduleGroupName,
      [ENV.schedulerRoleArn]: this.schedulerRole.roleArn,
      [ENV.schedulerTargetArn]: revokeFunctionArn,
      [ENV.schedulerDlqArn]: this.data.dlq.queueArn,
      // The hosted bot's alias ARN (JIT_BOT_FUNCTION_ARN) is added once the bot exists, below.
      ...(notifySecret && config.botNotifyUrl ? { [ENV.notifyUrl]: config.botNotifyUrl, [ENV.notifySecretArn]: notifySecret.secretArn } : {}),
      [ENV.noticeFunctionArn]: noticeFunctionArn,
      [ENV.findingsMinSeverity]: minSeverity,
      [ENV.botAppId]: config.botAppId,
      [ENV.entraTenantId]: config.entraTenantId,
      [ENV.bridgeAudience]: config.bridgeAudience,
      ...(config.accessPortalUrl ? { [ENV.accessPortalUrl]: config.accessPortalUrl } : {}),
    };

    const fns = {} as Record<LambdaName, JitFunction>;
    for (const [name, spec] of Object.entries(FUNCTIONS) as Array<[LambdaName, (typeof FUNCTIONS)[LambdaName]]>) {
      fns[name] = new JitFunction(this, `${name[0]!.toUpperCase()}${name.slice(1)}Function`, {
        name,
        functionName: functionName(name),
        description: spec.description,
        timeout: Duration.seconds(spec.timeoutSeconds),
        memorySize: spec.memorySize,
        environment,
        policyJson: config.policyJson,
        logRetention,
        removalPolicy,
        reservedConcurrentExecutions: config.reservedConcurrency ? spec.reserved : undefined,
      });
    }
    this.functions = fns;

    // ── permissions, function by function ───────────────────────────────────────────
    const icScope = { instanceArn: config.ssoInstanceArn, policy: config.policy };
    // Exactly what the adapters send: requests (Get, Put incl. the transactional create with its
    // client-id guard, Update for compare-and-swap, Query on the listing indexes, Scan while the
    // store lists without them) and the ledger (Get and conditional Put on the table; it also
    // holds the tracked findings under `finding#<id>` and the session cuts, lambdas/adapters/dynamo-findings-state.ts).
    // Only reconcile lists the ledger, and it queries the sparse live index only, never the table's
    // history (`liveIndex`, lambdas/adapters/dynamo-live-index.ts): no function may Scan the ledger.
    const requestsRw = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:Scan'];
    const ledgerRw = ['dynamodb:GetItem', 'dynamodb:PutItem'];
    const grantTables = (fn: JitFunction, opts: { requests?: string[]; ledger?: string[]; liveIndex?: boolean }) => {
      if (opts.ledger) {
        // Not table.grant: with an index on the table it would add `index/*` to every action.
        fn.role.addToPolicy(new iam.PolicyStatement({ sid: 'Ledger', actions: opts.ledger, resources: [this.data.ledger.tableArn] }));
      }
      if (opts.liveIndex) {
        fn.role.addToPolicy(
          new iam.PolicyStatement({ sid: 'LedgerLiveIndex', actions: ['dynamodb:Query'], resources: [`${this.data.ledger.tableArn}/index/${LEDGER_INDEXES.byLive.name}`] }),
        );
      }
      const tables = [{ table: this.data.requests, actions: opts.requests, schema: TABLE_SCHEMAS.requests }];
      for (const { table, actions, schema } of tables) {
        if (!actions) continue;
        table.grant(fn.role, ...actions);
        if (schema.indexes.length > 0) {
          acknowledge(
            defaultPolicy(fn),
            `AwsSolutions-IAM5[Resource::<${this.getLogicalId(table.node.defaultChild as CfnElement)}.Arn>/index/*]`,
            `Queries on the ${schema.constructId}'s global secondary indexes (${schema.indexes.map((i) => i.name).join(', ')}); scoped to this table's indexes.`,
          );
        }
      }
      fn.role.addToPolicy(kmsTableKeyStatement(this.data.key));
    };
    const grantAuditBus = (fn: JitFunction) => this.data.bus.grantPutEventsTo(fn.role);
    // The functions that notify the bot; what they are granted depends on where the bot runs (below).
    const notifying: JitFunction[] = [];
    const grantNotify = (fn: JitFunction) => void notifying.push(fn);
    // A change's notices are flushed by the notify function, invoked asynchronously (lambdas/adapters/lambda-notices.ts).
    const grantNoticeFlush = (fn: JitFunction) => fn.role.addToPolicy(new iam.PolicyStatement({ sid: 'FlushNotices', actions: ['lambda:InvokeFunction'], resources: [noticeFunctionArn] }));
    const defaultPolicy = (fn: JitFunction) => fn.role.node.findChild('DefaultPolicy');
    const grantScheduler = (fn: JitFunction) => {
      for (const s of schedulerStatements(this, prefix, this.schedulerRole)) fn.role.addToPolicy(s);
      acknowledge(defaultPolicy(fn), `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:${nagPart(this.region, 'AWS::Region')}:${nagPart(this.account, 'AWS::AccountId')}:schedule/${prefix}/*]`, SCHEDULE_WILDCARD_REASON);
    };
    // A customer managed key on the instance: every caller of Identity Center or the identity
    // store decrypts through it (once per function).
    const keyGranted = new Set<JitFunction>();
    const grantSsoKey = (fn: JitFunction) => {
      if (!config.ssoKmsKeyArn || keyGranted.has(fn)) return;
      keyGranted.add(fn);
      const statements = ssoKmsStatements(this, {
        keyArn: config.ssoKmsKeyArn,
        instanceArn: config.ssoInstanceArn,
        identityStoreId: config.identityStoreId,
        identityStoreOwnerAccountId: config.managementAccountId,
      });
      for (const s of statements) fn.role.addToPolicy(s);
    };
    // sessionCut: the functions that revoke (bridge: early revoke; revoke: expiry; reconcile: the sweep).
    const grantIdentityCenter = (fn: JitFunction, write: boolean, sessionCut = false) => {
      for (const s of identityCenterStatements(this, icScope, { write, sessionCut })) fn.role.addToPolicy(s);
      grantSsoKey(fn);
      if (write && config.allowManagementAccount && config.managementAccountId) {
        for (const s of managementAccountProvisioningStatements(this, config.managementAccountId)) fn.role.addToPolicy(s);
        for (const resource of [MANAGEMENT_ACCOUNT_ROLE_PATH, MANAGEMENT_ACCOUNT_SAML_PROVIDER]) {
          acknowledge(defaultPolicy(fn), `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::${config.managementAccountId}:${resource}]`, MANAGEMENT_ACCOUNT_REASON);
        }
      }
      if (identityCenterResources(this, icScope).accountWildcard) {
        acknowledge(
          defaultPolicy(fn),
          'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sso:::account/*]',
          `More than ${MAX_ACCOUNT_ARNS} accounts in the policy: one ARN per account would exceed the role policy size limit. The same statement still requires the Identity Center instance and one of the managed permission sets.`,
        );
      }
    };
    const grantDirectory = (fn: JitFunction) => {
      for (const s of identityStoreStatements(this, config.identityStoreId, config.managementAccountId)) fn.role.addToPolicy(s);
      grantSsoKey(fn);
      if (!config.managementAccountId) {
        acknowledge(defaultPolicy(fn), `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:identitystore::*:identitystore/${config.identityStoreId}]`, IDENTITY_STORE_ANY_OWNER_REASON);
      }
      for (const kind of ['user', 'group', 'membership']) {
        acknowledge(defaultPolicy(fn), `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:identitystore:::${kind}/*]`, IDENTITY_STORE_WILDCARD_REASON);
      }
    };
    const grantFindings = (fn: JitFunction) => fn.role.addToPolicy(securityHubStatement(this));
    const grantTaskResponse = (fn: JitFunction) =>
      fn.role.addToPolicy(new iam.PolicyStatement({ sid: 'ResumeApproval', actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'], resources: [this.stateMachineArn] }));

    // bridge: every user action, including early revoke (deletes the assignment) and extend (moves the schedule).
    grantTables(fns.bridge, { requests: requestsRw, ledger: ledgerRw });
    grantDirectory(fns.bridge);
    grantIdentityCenter(fns.bridge, true, true);
    grantScheduler(fns.bridge);
    grantAuditBus(fns.bridge);
    grantNotify(fns.bridge);
    grantNoticeFlush(fns.bridge);
    grantFindings(fns.bridge);
    grantTaskResponse(fns.bridge);
    fns.bridge.role.addToPolicy(new iam.PolicyStatement({ sid: 'StartWorkflow', actions: ['states:StartExecution'], resources: [this.stateMachineArn] }));

    // workflow: validate, grant, poll, complete, fail. No directory lookups (the actor was resolved at submit).
    grantTables(fns.workflow, { requests: requestsRw, ledger: ledgerRw });
    grantIdentityCenter(fns.workflow, true);
    grantScheduler(fns.workflow);
    grantAuditBus(fns.workflow);
    grantNotify(fns.workflow);
    grantNoticeFlush(fns.workflow);
    grantFindings(fns.workflow);

    // notify: stores the token; resumes at once when the request was decided or cancelled meanwhile.
    grantTables(fns.notify, { requests: requestsRw });
    grantAuditBus(fns.notify);
    grantNotify(fns.notify);
    grantTaskResponse(fns.notify);
    // The notice flush: Lambda retries a failed one twice, then the event goes to the dead-letter
    // queue (its depth alarm); reconcile flushes the notices it left. An hour-old flush is dropped:
    // reconcile has flushed those notices by then.
    fns.notify.fn.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(1), onFailure: new destinations.SqsDestination(this.data.dlq) });

    grantTables(fns.revoke, { requests: requestsRw, ledger: ledgerRw });
    grantIdentityCenter(fns.revoke, true, true);
    grantScheduler(fns.revoke);
    grantAuditBus(fns.revoke);
    grantNotify(fns.revoke);
    grantNoticeFlush(fns.revoke);
    grantFindings(fns.revoke);

    // reconcile also restarts a workflow whose start was lost (StartExecution, named after the request).
    grantTables(fns.reconcile, { requests: requestsRw, ledger: ledgerRw, liveIndex: true });
    fns.reconcile.role.addToPolicy(new iam.PolicyStatement({ sid: 'RestartWorkflow', actions: ['states:StartExecution'], resources: [this.stateMachineArn] }));
    grantIdentityCenter(fns.reconcile, true, true);
    // The cold-start SessionDuration check: a session already started outlives a revocation.
    {
      const ic = identityCenterResources(this, icScope);
      fns.reconcile.role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadManagedPermissionSets', actions: ['sso:DescribePermissionSet'], resources: [ic.instance, ...ic.permissionSets] }));
    }
    grantScheduler(fns.reconcile);
    grantAuditBus(fns.reconcile);
    grantNotify(fns.reconcile);
    grantNoticeFlush(fns.reconcile);
    grantFindings(fns.reconcile);
    // Reconcile resolves drift findings whose assignment is gone (Workflow.Status RESOLVED).
    fns.reconcile.role.addToPolicy(securityHubResolveStatement(this));

    grantNotify(fns.findings);

    // The KPIs read the audit table back: the bridge (the bot's `kpi` command) and the notify
    // function (the weekly digest). A Scan is all the reader sends (lambdas/adapters/dynamo-audit.ts).
    for (const fn of [fns.bridge, fns.notify]) this.data.audit.grant(fn.role, 'dynamodb:Scan');

    // audit-writer: append-only. PutItem is the only data action. IAM has no condition key on a
    // request's ConditionExpression, so "never overwrite" is the adapter's attribute_not_exists
    // condition on every put; IAM guarantees no update, delete, batch write or read.
    this.data.audit.grant(fns.auditWriter.role, 'dynamodb:PutItem');
    fns.auditWriter.role.addToPolicy(kmsTableKeyStatement(this.data.key));

    // ── the workflow ───────────────────────────────────────────────────────────────
    const maxApprovalTimeoutSeconds = Math.max(3600, ...config.policy.rules.map((r) => r.approvalTimeoutSeconds));
    this.workflow = new ApprovalWorkflow(this, 'Workflow', {
      stateMachineName: `${prefix}-approval`,
      workflowFn: fns.workflow.fn,
      notifyFn: fns.notify.fn,
      revokeFn: fns.revoke.fn,
      maxApprovalTimeoutSeconds,
      botOutageToleranceSeconds: config.botOutageToleranceMinutes * 60,
      workflowFnTimeout: Duration.seconds(FUNCTIONS.workflow.timeoutSeconds),
      notifyFnTimeout: Duration.seconds(FUNCTIONS.notify.timeoutSeconds),
      revokeFnTimeout: Duration.seconds(FUNCTIONS.revoke.timeoutSeconds),
      logRetention,
      removalPolicy,
    });

    // ── event routing ─────────────────────────────────────────────────────────────
    const targetOptions = { deadLetterQueue: this.data.dlq, retryAttempts: 8, maxEventAge: Duration.hours(24) };
    new events.Rule(this, 'AuditToTable', {
      description: 'Every audit event to the append-only audit table',
      eventBus: this.data.bus,
      eventPattern: { source: [AUDIT_BUS_EVENT.source], detailType: [AUDIT_BUS_EVENT.detailType] },
      targets: [new targets.LambdaFunction(fns.auditWriter.fn, targetOptions)],
    });
    // Findings on this account's default bus: ASFF (member accounts, when this account is the Security
    // Hub administrator, and the product's own), and OCSF "Findings Imported V2" when asked for.
    const findingsFilter = { severities: config.findingsSeverities, accountIds: config.findingsAccountIds };
    const findingsTarget = new targets.LambdaFunction(fns.findings.fn, targetOptions);
    // The product's own findings are ASFF whatever the format setting: this rule always exists.
    new events.Rule(this, 'SecurityHubFindings', {
      description: 'Security Hub findings (severity and account filtered, plus the product\'s own) to the approval channel',
      eventPattern: asffFindingsPattern({ ...findingsFilter, ...(config.findingsFormat === 'ocsf' ? { accountIds: [] } : {}), ownProductArn: ownProductArn(this) }),
      targets: [findingsTarget],
    });
    if (config.findingsFormat !== 'asff') {
      new events.Rule(this, 'SecurityHubFindingsV2', {
        description: 'Security Hub "Findings Imported V2" (OCSF; severity and account filtered) to the approval channel',
        eventPattern: findingsPatterns('ocsf', findingsFilter)[0]!.pattern,
        targets: [findingsTarget],
      });
    }
    // A separate Security Hub administrator account forwards member-account findings to this stack's
    // bus (infra/stacks/findings-forwarder-stack.ts): only it may put, and only Security Hub events.
    if (config.securityHubAdminAccountId) {
      this.data.bus.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'SecurityHubAdministratorForwardsFindings',
          principals: [new iam.AccountPrincipal(config.securityHubAdminAccountId)],
          actions: ['events:PutEvents'],
          resources: [this.data.bus.eventBusArn],
          conditions: { StringEquals: { 'events:source': ['aws.securityhub'], 'events:detail-type': findingsPatterns(config.findingsFormat, findingsFilter).map((p) => (p.pattern.detailType as string[])[0]!) } },
        }),
      );
      for (const { id, pattern } of findingsPatterns(config.findingsFormat, findingsFilter)) {
        new events.Rule(this, `ForwardedSecurityHubFindings${id}`, {
          description: `Security Hub findings forwarded by the administrator account ${config.securityHubAdminAccountId} to the approval channel`,
          eventBus: this.data.bus,
          eventPattern: { ...pattern, account: [config.securityHubAdminAccountId] },
          targets: [findingsTarget],
        });
      }
    }
    new events.Rule(this, 'ReconcileEvery5Minutes', {
      description: 'Reconcile live assignments with the grant ledger; expiry warnings',
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [new targets.LambdaFunction(fns.reconcile.fn, { ...targetOptions, retryAttempts: 0, maxEventAge: Duration.minutes(5) })],
    });

    this.kpiDigest = new KpiDigestSchedule(this, 'KpiDigest', {
      scheduleName: `${prefix}-kpi-digest`,
      cron: config.kpiDigestCron,
      timeZone: config.kpiDigestTimeZone,
      notifyFn: fns.notify.fn,
      deadLetterQueue: this.data.dlq,
    });

    // ── bridge ────────────────────────────────────────────────────────────────────
    this.bridge = new BridgeApi(this, 'Bridge', {
      apiName: `${prefix}-bridge`,
      bridgeFn: fns.bridge.fn,
      entraTenantId: config.entraTenantId,
      audience: config.bridgeAudience,
      throttleRateLimit: config.throttleRateLimit,
      throttleBurstLimit: config.throttleBurstLimit,
      logRetention,
      removalPolicy,
    });

    // ── the Teams bot, hosted on the same HTTP API (POST /api/messages, no authorizer) ──
    if (config.hostBot) {
      this.bot = new BotHost(this, 'Bot', {
        prefix,
        api: this.bridge.api,
        stage: this.bridge.stage,
        credentialsSecret: botSecret,
        conversations: this.data.conversations,
        tableKey: this.data.key,
        entraTenantId: config.entraTenantId,
        bridgeAudience: config.bridgeAudience,
        oncallTeamId: config.oncallTeamId ?? PLACEHOLDER_ONCALL_TEAM_ID,
        approvalChannelId: config.approvalChannelId,
        approverAadObjectIds: config.approverAadObjectIds,
        accessPortalUrl: config.accessPortalUrl,
        logLevel: config.stage === 'prod' ? 'INFO' : 'DEBUG',
        provisionedConcurrency: config.botProvisionedConcurrency,
        domain: config.botDomainName && config.botCertificateArn ? { name: config.botDomainName, certificateArn: config.botCertificateArn } : undefined,
        policyJson: config.policyJson,
        logRetention,
        removalPolicy,
      });
    }
    // Backend -> bot. Hosted: a Lambda invoke of the bot's live alias, allowed to exactly the
    // functions that notify, on that alias only (not the function, not other versions). Every
    // function gets the ARN, because every function's configuration names how notices travel.
    // No resource-based statement is added to the bot: within one account an identity-based allow
    // is enough ("Policy evaluation logic", same-account requests), and the bot's only resource
    // policy entry stays API Gateway's, scoped to the route. Self-hosted: the HMAC key's secret.
    for (const fn of notifying) {
      if (this.bot) fn.role.addToPolicy(new iam.PolicyStatement({ sid: 'NotifyHostedBot', actions: ['lambda:InvokeFunction'], resources: [this.bot.alias.functionArn] }));
      else notifySecret!.grantRead(fn.role);
    }
    if (this.bot) for (const fn of Object.values(fns)) fn.fn.addEnvironment(ENV.botFunctionArn, this.bot.alias.functionArn);
    new CfnOutput(this, 'BotAppId', { value: config.botAppId, description: "The bot's Entra app (client) id: the Teams app manifest's bot id (npm run package:manifest -- --outputs-file ...)" });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      prefix,
      key: this.data.key,
      // The hosted bot gets the same Errors alarm and dashboard graphs as every function.
      functions: this.bot ? { ...fns, bot: this.bot.function } : fns,
      revokeFunction: fns.revoke,
      stateMachine: this.workflow.stateMachine,
      dlq: this.data.dlq,
      api: this.bridge.api,
      alarmEmail: config.alarmEmail,
    });

    // cfn-lint 1.51's resource schema for AWS::CloudWatch::Dashboard predates its Tags property
    // (CloudFormation User Guide, AWS::CloudWatch::Dashboard, "Tags"; aws-cdk-lib's CfnDashboard
    // is generated from the current schema and tags it), so E3002 is a known false positive there.
    for (const construct of this.node.findAll()) {
      if (construct instanceof cloudwatch.CfnDashboard) construct.addMetadata('cfn-lint', { config: { ignore_checks: ['E3002'] } });
    }

    if (notifySecret) new CfnOutput(this, 'NotifySecretArn', { value: notifySecret.secretArn, description: 'HMAC key the bot uses to verify /api/notify (JIT_NOTIFY_SECRET)' });
    new CfnOutput(this, 'BotCredentialsSecretArn', { value: botSecret.secretArn, description: 'Put the bot\'s Entra client secret here' });
    new CfnOutput(this, 'ConversationsTableName', { value: this.data.conversations.tableName });
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ApprovalChannelId', { value: config.approvalChannelId, description: 'The channel the bot posts approval cards to' });
  }

}

/** How cdk-nag spells a region or account in a finding id: the value when the stack's env fixes it, else the pseudo parameter. */
function nagPart(value: string, pseudo: string): string {
  return Token.isUnresolved(value) ? `<${pseudo}>` : value;
}

function toRetention(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number' && v > 0).sort((a, b) => a - b);
  const match = allowed.find((d) => d >= days) ?? allowed[allowed.length - 1]!;
  return match as logs.RetentionDays;
}
