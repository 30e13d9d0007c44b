/**
 * The synthesized template: resources, logging, tracing, the authorizer, alarms and least
 * privilege. The app is synthesized ONCE (with real esbuild bundling and cdk-nag) for the file.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation template JSON is untyped by nature */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../infra/build';
import { BRIDGE_ROUTES } from '../../infra/constructs/bridge-api';
import { PLACEHOLDER_CONTEXT } from '../../infra/config';
import { definitionFromTemplate } from '../../infra/workflow-definition';
import { cardPostRetry, STATES } from '../../infra/constructs/approval-workflow';
import { FUNCTION_NOTIFIER, notifierWorstCaseMs } from '../../lambdas/adapters/bot-notifier';
import { invokeNotifierWorstCaseMs } from '../../lambdas/adapters/bot-invoke-notifier';
import { AUDIT_DETAIL_TYPE, AUDIT_EVENT_SOURCE } from '../../lambdas/adapters/eventbridge-audit';
import { LEDGER_INDEXES } from '../../lambdas/adapters/dynamo-live-index';
import { REQUESTS_INDEXES } from '../../lambdas/adapters/dynamo-requests';
import { AUDIT_BUS_EVENT, ENV, LAMBDA_ENTRIES } from '../../lambdas/contract';

type Resource = { Type: string; Properties?: Record<string, any>; Metadata?: Record<string, unknown> };
type Statement = { Effect: string; Action: string | string[]; Resource?: unknown; Condition?: Record<string, any>; Sid?: string };

const TENANT = '11111111-2222-3333-4444-555555555555';
const AUDIENCE = '00000000-0000-4000-8000-0000000b71d6';
const BOT_APP_ID = '99999999-8888-7777-6666-555555555555';

let template: Template;
let json: { Resources: Record<string, Resource> };
let outdir: string;
let synthMs = 0;

function resourcesOf(type: string): Array<[string, Resource]> {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every statement of every identity policy in the template (inline role policies and AWS::IAM::Policy). */
function allStatements(): Array<{ owner: string; statement: Statement }> {
  const out: Array<{ owner: string; statement: Statement }> = [];
  for (const [id, r] of resourcesOf('AWS::IAM::Policy')) {
    for (const s of asArray<Statement>(r.Properties?.PolicyDocument?.Statement)) out.push({ owner: id, statement: s });
  }
  for (const [id, r] of resourcesOf('AWS::IAM::Role')) {
    for (const p of asArray<any>(r.Properties?.Policies)) for (const s of asArray<Statement>(p.PolicyDocument?.Statement)) out.push({ owner: id, statement: s });
  }
  return out;
}

/** Statements of the role a function runs as (found through the function's Role property). */
function statementsOfFunction(functionName: string): Statement[] {
  const [, fn] = resourcesOf('AWS::Lambda::Function').find(([, r]) => r.Properties?.FunctionName === functionName) ?? [];
  assert.ok(fn, `function ${functionName} exists`);
  const roleId = fn.Properties!.Role['Fn::GetAtt'][0] as string;
  return resourcesOf('AWS::IAM::Policy')
    .filter(([, p]) => asArray<any>(p.Properties?.Roles).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => asArray<Statement>(p.Properties?.PolicyDocument?.Statement));
}

const flat = (v: unknown): string => JSON.stringify(v);

describe('infra: synthesized stack', function () {
  this.timeout(180_000);

  before(function () {
    outdir = mkdtempSync(join(tmpdir(), 'jit-cdk-'));
    const started = performance.now();
    const app = new App({
      outdir,
      context: {
        stage: 'test',
        entraTenantId: TENANT,
        bridgeAudience: AUDIENCE,
        botAppId: BOT_APP_ID,
      },
    });
    const { stack } = buildApp(app);
    rootForMetadata = stack;
    // Runs esbuild for every function and every cdk-nag check; throws on an unacknowledged finding.
    app.synth();
    synthMs = performance.now() - started;
    template = Template.fromStack(stack);
    json = template.toJSON() as typeof json;
  });

  after(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
    console.log(`      (synth with bundling and cdk-nag: ${(synthMs / 1000).toFixed(1)} s)`);
  });

  describe('data', () => {
    it('has four tables, all on demand with PITR and customer-managed KMS encryption', () => {
      const tables = resourcesOf('AWS::DynamoDB::Table');
      assert.equal(tables.length, 4);
      for (const [id, t] of tables) {
        assert.equal(t.Properties?.BillingMode, 'PAY_PER_REQUEST', id);
        assert.equal(t.Properties?.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled, true, id);
        assert.equal(t.Properties?.SSESpecification?.SSEEnabled, true, id);
        assert.equal(t.Properties?.SSESpecification?.SSEType, 'KMS', id);
        assert.ok(t.Properties?.SSESpecification?.KMSMasterKeyId, `${id} uses the stack's key`);
      }
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    });

    it('keeps audit history forever (no TTL) and expires stale conversation references (TTL)', () => {
      const byId = Object.fromEntries(resourcesOf('AWS::DynamoDB::Table'));
      const audit = Object.entries(byId).find(([id]) => id.startsWith('DataAuditTable'))?.[1];
      const conversations = Object.entries(byId).find(([id]) => id.startsWith('DataConversationsTable'))?.[1];
      assert.ok(audit && conversations);
      assert.equal(audit.Properties?.TimeToLiveSpecification, undefined);
      assert.equal(conversations.Properties?.TimeToLiveSpecification?.Enabled, true);
    });

    it('turns deletion protection off outside prod (test stage) so stacks can be torn down', () => {
      for (const [, t] of resourcesOf('AWS::DynamoDB::Table')) assert.notEqual(t.Properties?.DeletionProtectionEnabled, true);
    });

    it('has an encrypted, TLS-only dead-letter queue with a depth alarm', () => {
      template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
      const policies = resourcesOf('AWS::SQS::QueuePolicy').map(([, p]) => flat(p.Properties?.PolicyDocument));
      assert.ok(policies.some((p) => p.includes('"aws:SecureTransport":"false"') && p.includes('"Effect":"Deny"')), 'enforceSSL deny statement');
      const alarm = resourcesOf('AWS::CloudWatch::Alarm').find(([, a]) => String(a.Properties?.AlarmName).endsWith('DeadLetterQueueDepth'));
      assert.ok(alarm);
      assert.equal(alarm[1].Properties?.MetricName, 'ApproximateNumberOfMessagesVisible');
      assert.equal(alarm[1].Properties?.Threshold, 1);
    });

    it('has the audit bus, the schedule group and a 5-minute reconcile rule', () => {
      template.resourceCountIs('AWS::Events::EventBus', 1);
      template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
      template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    });

    it('routes exactly the audit events the EventBridge audit sink puts to the audit writer, with a DLQ', () => {
      assert.deepEqual(AUDIT_BUS_EVENT, { source: AUDIT_EVENT_SOURCE, detailType: AUDIT_DETAIL_TYPE }, 'infra and the adapter agree');
      const [, rule] = resourcesOf('AWS::Events::Rule').find(([id]) => id.startsWith('AuditToTable')) ?? [];
      assert.ok(rule);
      assert.deepEqual(rule.Properties?.EventPattern, { source: [AUDIT_EVENT_SOURCE], 'detail-type': [AUDIT_DETAIL_TYPE] });
      assert.ok(flat(rule.Properties?.EventBusName).includes('DataAuditBus'), 'on the custom audit bus');
      const target = rule.Properties?.Targets?.[0];
      assert.ok(flat(target?.Arn).includes('AuditWriterFunction'));
      assert.ok(target?.DeadLetterConfig?.Arn, 'undeliverable audit events are kept');
      assert.ok(target?.RetryPolicy?.MaximumRetryAttempts > 0);
    });

    it('gives the requests table the listing indexes the adapter queries, and only the requests table needs indexes', () => {
      const byId = Object.fromEntries(resourcesOf('AWS::DynamoDB::Table'));
      const [, requests] = Object.entries(byId).find(([id]) => id.startsWith('DataRequestsTable')) ?? [];
      const indexes = (requests?.Properties?.GlobalSecondaryIndexes ?? []) as Array<{ IndexName: string; KeySchema: Array<{ AttributeName: string; KeyType: string }> }>;
      assert.deepEqual(
        indexes.map((i) => [i.IndexName, i.KeySchema.map((k) => `${k.KeyType}:${k.AttributeName}`)]).sort(),
        Object.values(REQUESTS_INDEXES).map((i) => [i.name, [`HASH:${i.partitionKey}`, `RANGE:${i.sortKey}`]]).sort(),
      );
    });

    it('gives the ledger table its sparse live index; only reconcile may Query it, nothing may Query or Scan the ledger table itself', () => {
      const [ledgerId, ledger] = resourcesOf('AWS::DynamoDB::Table').find(([id]) => id.startsWith('DataLedgerTable')) ?? [];
      const indexes = (ledger?.Properties?.GlobalSecondaryIndexes ?? []) as Array<{ IndexName: string; KeySchema: Array<{ AttributeName: string; KeyType: string }>; Projection: { ProjectionType: string } }>;
      assert.deepEqual(indexes.map((i) => [i.IndexName, i.KeySchema.map((k) => `${k.KeyType}:${k.AttributeName}`), i.Projection.ProjectionType]), [[LEDGER_INDEXES.byLive.name, [`HASH:${LEDGER_INDEXES.byLive.partitionKey}`], 'ALL']]);
      for (const fnName of ['bridge', 'workflow', 'revoke', 'reconcile', 'notify', 'findings', 'audit-writer']) {
        const onLedger = statementsOfFunction(`jit-access-test-${fnName}`).filter((st) => flat(st.Resource).includes(ledgerId!));
        const actions = onLedger.flatMap((st) => asArray(st.Action)).filter((a) => a.startsWith('dynamodb:'));
        assert.ok(!actions.includes('dynamodb:Scan'), `${fnName} may not scan the ledger`);
        const queries = onLedger.filter((st) => asArray(st.Action).includes('dynamodb:Query'));
        if (fnName !== 'reconcile') assert.deepEqual(queries, [], `${fnName} may not query the ledger`);
        else {
          assert.equal(queries.length, 1);
          assert.deepEqual(asArray(queries[0]!.Action), ['dynamodb:Query']);
          assert.match(flat(queries[0]!.Resource), new RegExp(`/index/${LEDGER_INDEXES.byLive.name}"`), 'the live index only, not index/*');
        }
      }
    });

    it('keeps the bot credentials in Secrets Manager (generated, never in the template); a hosted bot needs no notify signing key', () => {
      const secrets = resourcesOf('AWS::SecretsManager::Secret').map(([, r]) => r.Properties!);
      assert.equal(secrets.length, 1);
      for (const secret of secrets) {
        assert.ok(secret.GenerateSecretString, `${secret.Name} is generated`);
        assert.equal(secret.SecretString, undefined);
      }
      assert.ok(secrets.some((x) => String(x.Name).endsWith('/bot-credentials')));
      assert.ok(!secrets.some((x) => String(x.Name).endsWith('/notify-hmac')), 'notices reach the hosted bot over IAM, not with a shared key');
    });

    it('has a Scheduler role that the Scheduler (only) assumes and a schedule group named after the stage; schedules dead-letter to the DLQ', () => {
      template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'jit-access-test' });
      for (const [, f] of resourcesOf('AWS::Lambda::Function')) {
        if (f.Properties?.FunctionName === 'jit-access-test-bot') continue;
        const vars = f.Properties?.Environment?.Variables as Record<string, unknown>;
        assert.ok(flat(vars[ENV.schedulerRoleArn]).includes('SchedulerRole'));
        assert.ok(flat(vars[ENV.schedulerDlqArn]).includes('DataDeadLetterQueue'));
        assert.equal(vars[ENV.schedulerGroup], 'jit-access-test');
      }
    });

    it('routes Security Hub "Findings - Imported" with severity and account filters to the findings function', () => {
      const [, rule] = resourcesOf('AWS::Events::Rule').find(([, r]) => flat(r.Properties?.EventPattern).includes('Security Hub Findings - Imported') && !r.Properties?.EventBusName) ?? [];
      assert.ok(rule);
      const pattern = rule.Properties!.EventPattern;
      assert.deepEqual(pattern['detail-type'], ['Security Hub Findings - Imported']);
      assert.deepEqual(pattern.detail.findings.Severity.Label, ['HIGH', 'CRITICAL']);
      // The account filter, OR the product's own findings (test/infra/findings-routing.test.ts runs sample events through it).
      const accounts = pattern.detail.findings.$or[0].AwsAccountId;
      assert.ok(Array.isArray(accounts) && accounts.length > 0);
      assert.ok(accounts.every((a: string) => /^\d{12}$/.test(a)));
      assert.ok(rule.Properties?.Targets?.[0]?.DeadLetterConfig, 'the target has a DLQ');
    });
  });

  describe('bridge API', () => {
    it('uses a JWT authorizer with the Entra issuer of the tenant and the bridge audience', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: { Issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`, Audience: [AUDIENCE] },
      });
      // API Gateway does not check ver/azp/roles/tid: the bridge function does, and re-checks aud.
      template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ [ENV.bridgeAudience]: AUDIENCE }) } });
    });

    it('has every route, each behind the JWT authorizer, and the bot\'s POST /api/messages without one', () => {
      const routes = resourcesOf('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties!);
      const keys = routes.map((r) => r.RouteKey as string).sort();
      assert.deepEqual(keys, [...BRIDGE_ROUTES.map((r) => `${r.method} ${r.path}`), 'POST /api/messages'].sort());
      for (const r of routes) assert.equal(r.AuthorizationType, r.RouteKey === 'POST /api/messages' ? 'NONE' : 'JWT', r.RouteKey);
    });

    it('logs access as JSON to a log group and throttles the default stage', () => {
      const [, stage] = resourcesOf('AWS::ApiGatewayV2::Stage')[0]!;
      assert.equal(stage.Properties?.StageName, '$default');
      const format = JSON.parse(stage.Properties?.AccessLogSettings?.Format as string) as Record<string, string>;
      assert.equal(format.requestId, '$context.requestId');
      assert.equal(format.status, '$context.status');
      assert.ok(stage.Properties?.AccessLogSettings?.DestinationArn['Fn::GetAtt'], 'destination is a log group of the stack');
      assert.ok(stage.Properties?.DefaultRouteSettings?.ThrottlingRateLimit > 0);
      assert.ok(stage.Properties?.DefaultRouteSettings?.ThrottlingBurstLimit > 0);
    });
  });

  describe('functions', () => {
    it('has one ARM64 Node.js 22+ function per entry, each with its own log group, JSON logs and active tracing', () => {
      const fns = resourcesOf('AWS::Lambda::Function');
      assert.equal(fns.length, Object.keys(LAMBDA_ENTRIES).length + 1, 'the backend functions and the bot');
      for (const [id, f] of fns) {
        const p = f.Properties!;
        assert.deepEqual(p.Architectures, ['arm64'], id);
        const major = Number(/^nodejs(\d+)\.x$/.exec(p.Runtime)?.[1]);
        assert.ok(major >= 22, `${id} runtime ${p.Runtime}`);
        assert.equal(p.TracingConfig?.Mode, 'Active', id);
        assert.equal(p.LoggingConfig?.LogFormat, 'JSON', id);
        assert.ok(p.LoggingConfig?.LogGroup, `${id} logs to its own log group`);
      }
      for (const [id, g] of resourcesOf('AWS::Logs::LogGroup')) assert.ok(g.Properties?.RetentionInDays > 0, `${id} has a retention`);
    });

    it('keeps the environment small and every ENV name set; the policy is in the code, not the environment', () => {
      for (const [id, f] of resourcesOf('AWS::Lambda::Function')) {
        // The bot has its own variables (bot/config.ts), tested in 'hosted bot'.
        if (f.Properties?.FunctionName === 'jit-access-test-bot') continue;
        const vars = f.Properties?.Environment?.Variables as Record<string, unknown>;
        assert.equal(vars[ENV.policyJson], undefined, id);
        for (const name of [ENV.requestsTable, ENV.stateMachineArn, ENV.ssoInstanceArn, ENV.schedulerTargetArn, ENV.botAppId, ENV.entraTenantId]) assert.ok(vars[name], `${id} ${name}`);
        assert.ok(flat(vars).length < 4096, `${id} environment under Lambda's 4 KB limit`);
      }
    });

    it('bundles each function with esbuild (minified, source maps) and inlines the validated policy', () => {
      const sizes: Record<string, number> = {};
      for (const dir of readdirSync(outdir).filter((d) => d.startsWith('asset.'))) {
        const path = join(outdir, dir, 'index.js');
        let size: number;
        try {
          size = statSync(path).size;
        } catch {
          continue;
        }
        const code = readFileSync(path, 'utf8');
        const meta = JSON.parse(readFileSync(join(outdir, dir, 'index.meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
        if (Object.keys(meta.inputs).some((i) => i.endsWith('bot/lambda.ts'))) continue;
        const entry = Object.keys(meta.inputs).find((i) => /lambdas\/[^/]+\/handler\.ts$/.test(i)) ?? dir;
        sizes[entry] = size;
        assert.ok(readdirSync(join(outdir, dir)).includes('index.js.map'), `${entry} has a source map`);
        assert.ok(code.includes(PLACEHOLDER_ACCOUNT_NAME), `${entry} carries the policy`);
        assert.ok(size < 5_000_000, `${entry} is ${size} bytes`);
      }
      assert.equal(Object.keys(sizes).length, Object.keys(LAMBDA_ENTRIES).length, JSON.stringify(sizes));
      console.log(`      bundle sizes (KB): ${Object.entries(sizes).map(([k, v]) => `${k.replace(/^.*lambdas\//, '').replace('/handler.ts', '')}=${Math.round(v / 1024)}`).join(', ')}`);
    });

    it('bundles no YAML parser and no stand-in for one: the functions read the policy as JSON', () => {
      let bundles = 0;
      for (const dir of readdirSync(outdir).filter((d) => d.startsWith('asset.'))) {
        let meta: { inputs: Record<string, unknown> };
        try {
          meta = JSON.parse(readFileSync(join(outdir, dir, 'index.meta.json'), 'utf8')) as typeof meta;
        } catch {
          continue;
        }
        bundles++;
        const yamlInputs = Object.keys(meta.inputs).filter((i) => /node_modules\/yaml\/|yaml-unavailable/.test(i));
        assert.deepEqual(yamlInputs, [], dir);
      }
      // Every backend function, and the hosted bot.
      assert.equal(bundles, Object.keys(LAMBDA_ENTRIES).length + 1);
    });
  });

  describe('workflow', () => {
    it('is a Standard state machine with logging ALL (no execution data) and tracing', () => {
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
      });
    });

    it('gives every Task an explicit timeout and bounds the execution; the approval waits for a task token', () => {
      const definition = definitionFromTemplate(json);
      assert.ok((definition.TimeoutSeconds ?? 0) > 0);
      const tasks = Object.entries(definition.States).filter(([, st]) => st.Type === 'Task');
      assert.ok(tasks.length >= 8);
      for (const [name, st] of tasks) {
        assert.ok(typeof st.TimeoutSeconds === 'number' || typeof st.TimeoutSecondsPath === 'string', `${name} has TimeoutSeconds`);
        assert.ok(typeof st.TimeoutSeconds !== 'number' || (st.TimeoutSeconds as number) <= 305, `${name}: ${String(st.TimeoutSeconds)} s`);
      }
      assert.match(String(definition.States[STATES.requestApproval]!.Resource), /lambda:invoke\.waitForTaskToken$/);
      assert.equal(typeof definition.States[STATES.requestApproval]!.TimeoutSecondsPath, 'string');
    });

    it('every function that notifies the bot outlives a whole notifier send (attempts x timeout + waits) with room for its other work', () => {
      // What one send may take (lambdas/composition.ts uses FUNCTION_NOTIFIER); the rest of an
      // invocation (DynamoDB, Secrets Manager, Identity Center) gets at least NOTIFY_MARGIN_S.
      const NOTIFY_MARGIN_S = 10;
      // The hosted bot (this stack) is invoked; a self-hosted one gets the HTTP post (test/infra/bot-host.test.ts): the longer of the two.
      const send = Math.max(notifierWorstCaseMs(FUNCTION_NOTIFIER), invokeNotifierWorstCaseMs());
      const notifying = resourcesOf('AWS::Lambda::Function').filter(([, f]) => f.Properties?.Environment?.Variables?.[ENV.botFunctionArn] !== undefined);
      assert.ok(notifying.length >= 5, notifying.map(([id]) => id).join(', '));
      for (const [id, f] of notifying) {
        const timeout = Number(f.Properties!.Timeout);
        assert.ok(send / 1000 + NOTIFY_MARGIN_S <= timeout, `${id}: a ${send} ms send + ${NOTIFY_MARGIN_S} s does not fit its ${timeout} s timeout`);
      }
    });

    it('retries the approval card for the whole bot outage tolerance, and the execution outlives it and the approval wait', () => {
      const definition = definitionFromTemplate(json);
      const post = definition.States[STATES.postApprovalCard]!;
      const outage = (post.Retry as Array<{ ErrorEquals: string[]; MaxAttempts: number }>).find((r) => r.ErrorEquals.includes('Sandbox.Timedout'))!;
      assert.match(JSON.stringify(post.Resource), /Notify/, 'the notify function, not the workflow one (its reserved concurrency is for grants)');
      const tolerance = 30 * 60;
      assert.equal(outage.MaxAttempts, cardPostRetry(tolerance).maxAttempts);
      const [, fn] = resourcesOf('AWS::Lambda::Function').find(([, f]) => f.Properties?.FunctionName === 'jit-access-test-notify')!;
      assert.ok((post.TimeoutSeconds as number) > Number(fn.Properties!.Timeout), 'the task outlives the function (a function timeout is Sandbox.Timedout, retried)');
      assert.ok((definition.TimeoutSeconds ?? 0) >= tolerance + 3600, `${definition.TimeoutSeconds} s`);
    });

    it('invokes only the workflow, notify and revoke functions', () => {
      const [, machine] = resourcesOf('AWS::StepFunctions::StateMachine')[0]!;
      const roleId = machine.Properties!.RoleArn['Fn::GetAtt'][0] as string;
      const invoked = resourcesOf('AWS::IAM::Policy')
        .filter(([, p]) => asArray<any>(p.Properties?.Roles).some((r) => r.Ref === roleId))
        .flatMap(([, p]) => asArray<Statement>(p.Properties?.PolicyDocument?.Statement))
        .filter((st) => asArray(st.Action).includes('lambda:InvokeFunction'))
        .flatMap((st) => asArray(st.Resource).map(flat));
      const functions = new Set(invoked.map((r) => /"(\w+Function)[A-Z0-9]/.exec(r)?.[1]));
      assert.deepEqual([...functions].sort(), ['NotifyFunction', 'RevokeFunction', 'WorkflowFunction']);
    });
  });

  describe('alarms and dashboard', () => {
    it('alarms on workflow failures and timeouts, revoke failures, DLQ depth and every function\'s errors', () => {
      const names = resourcesOf('AWS::CloudWatch::Alarm').map(([, a]) => String(a.Properties?.AlarmName));
      for (const suffix of ['WorkflowExecutionsFailed', 'WorkflowExecutionsTimedOut', 'RevokeFailures', 'DeadLetterQueueDepth']) {
        assert.ok(names.some((n) => n.endsWith(suffix)), suffix);
      }
      for (const name of Object.keys(LAMBDA_ENTRIES)) assert.ok(names.some((n) => n.endsWith(`${name}-Errors`)), `${name} errors alarm`);
      for (const [id, a] of resourcesOf('AWS::CloudWatch::Alarm')) assert.ok(asArray(a.Properties?.AlarmActions).length > 0, `${id} notifies`);
    });

    it('counts revoke failures from the revoke function\'s JSON logs', () => {
      template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ $.event = "revoke_failed" }' });
    });

    it('has a dashboard', () => {
      template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    });
  });

  describe('hosted bot', () => {
    const botFunction = () => {
      const found = resourcesOf('AWS::Lambda::Function').find(([, r]) => r.Properties?.FunctionName === 'jit-access-test-bot');
      assert.ok(found, 'the bot function exists');
      return found;
    };
    const logicalIdStartingWith = (type: string, prefix: string) => {
      const found = resourcesOf(type).find(([id]) => id.startsWith(prefix));
      assert.ok(found, `${type} ${prefix}*`);
      return found[0];
    };

    it('runs bot/lambda.ts (bundled by esbuild) in production mode, credentials from the secret, state in the conversations table, no secret in its environment', () => {
      const [, fn] = botFunction();
      const vars = fn.Properties?.Environment?.Variables as Record<string, any>;
      assert.equal(vars.JIT_BOT_MODE, 'production');
      assert.equal(vars.MicrosoftAppType, 'SingleTenant');
      assert.deepEqual(vars.JIT_BOT_CREDENTIALS_SECRET_ARN, { Ref: logicalIdStartingWith('AWS::SecretsManager::Secret', 'BotCredentials') });
      assert.deepEqual(vars.JIT_BOT_STORE_TABLE, { Ref: logicalIdStartingWith('AWS::DynamoDB::Table', 'DataConversationsTable') });
      assert.equal(vars.JIT_BOT_STORE, 'dynamodb');
      assert.equal(vars.JIT_ALLOWED_TENANT_IDS, TENANT);
      assert.equal(vars.JIT_BRIDGE_SCOPE, `${AUDIENCE}/.default`);
      assert.deepEqual(vars.JIT_BRIDGE_URL, { 'Fn::GetAtt': [logicalIdStartingWith('AWS::ApiGatewayV2::Api', 'BridgeApi'), 'ApiEndpoint'] }, 'the bridge on the same API');
      for (const name of ['MicrosoftAppPassword', 'CertificatePrivateKey', 'JIT_NOTIFY_SECRET', 'MicrosoftAppId']) assert.equal(vars[name], undefined, `${name} is not in the environment`);
      assert.equal(fn.Properties?.Timeout, 29, 'within the HTTP API 30 s integration limit');
      const bundle = readdirSync(outdir)
        .filter((d) => d.startsWith('asset.'))
        .find((d) => {
          try {
            return Object.keys((JSON.parse(readFileSync(join(outdir, d, 'index.meta.json'), 'utf8')) as { inputs: Record<string, unknown> }).inputs).some((i) => i.endsWith('bot/lambda.ts'));
          } catch {
            return false;
          }
        });
      assert.ok(bundle, 'an esbuild asset whose entry is bot/lambda.ts');
      const size = statSync(join(outdir, bundle, 'index.js')).size;
      assert.ok(size < 5_000_000, `bot bundle is ${size} bytes`);
      console.log(`      bot bundle: ${Math.round(size / 1024)} KB`);
    });

    it('POST /api/messages has no authorizer and invokes the live alias (payload 2.0); the alias has no provisioned concurrency by default', () => {
      const [, route] = resourcesOf('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties?.RouteKey === 'POST /api/messages')!;
      assert.equal(route.Properties?.AuthorizationType, 'NONE');
      assert.equal(route.Properties?.AuthorizerId, undefined);
      const integrationId = (route.Properties?.Target['Fn::Join'][1] as unknown[])[1] as { Ref: string };
      const integration = json.Resources[integrationId.Ref]!;
      assert.equal(integration.Properties?.PayloadFormatVersion, '2.0');
      const aliasId = logicalIdStartingWith('AWS::Lambda::Alias', 'BotLive');
      assert.deepEqual(integration.Properties?.IntegrationUri, { Ref: aliasId });
      const alias = json.Resources[aliasId]!;
      assert.equal(alias.Properties?.Name, 'live');
      assert.equal(alias.Properties?.ProvisionedConcurrencyConfig, undefined);
      const permissions = resourcesOf('AWS::Lambda::Permission').filter(([, p]) => flat(p.Properties?.FunctionName) === flat({ Ref: aliasId }));
      assert.equal(permissions.length, 1, 'API Gateway may invoke the alias');
      assert.equal(permissions[0]![1].Properties?.Principal, 'apigateway.amazonaws.com');
    });

    it('has an Errors alarm like every function', () => {
      const [, alarm] = resourcesOf('AWS::CloudWatch::Alarm').find(([, a]) => String(a.Properties?.AlarmName).endsWith('bot-Errors')) ?? [];
      assert.ok(alarm, 'bot-Errors alarm');
      assert.deepEqual(alarm.Properties?.Dimensions, [{ Name: 'FunctionName', Value: { Ref: botFunction()[0] } }], 'all versions and aliases of the bot function');
      assert.ok(asArray(alarm.Properties?.AlarmActions).length > 0);
    });

    it('outputs the messaging endpoint to paste into the Azure Bot resource', () => {
      const outputs = (json as unknown as { Outputs: Record<string, { Value: unknown }> }).Outputs;
      const key = Object.keys(outputs).find((k) => k === 'BotMessagingEndpoint');
      assert.ok(key, Object.keys(outputs).join(', '));
      assert.match(flat(outputs[key]!.Value), /\/api\/messages/);
    });

    it('least privilege: its own secret (read), GetItem/PutItem on the conversations table and its key, logs and X-Ray; nothing else', () => {
      const statements = statementsOfFunction('jit-access-test-bot');
      const actions = statements.flatMap((st) => asArray(st.Action)).sort();
      assert.deepEqual(
        [...new Set(actions)].sort(),
        ['dynamodb:GetItem', 'dynamodb:PutItem', 'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'].sort(),
      );
      const secret = statements.find((st) => asArray(st.Action).includes('secretsmanager:GetSecretValue'))!;
      assert.deepEqual(secret.Resource, { Ref: logicalIdStartingWith('AWS::SecretsManager::Secret', 'BotCredentials') }, 'the bot credentials only, not the notify key');
      const table = statements.find((st) => asArray(st.Action).includes('dynamodb:PutItem'))!;
      assert.deepEqual(asArray(table.Resource), [{ 'Fn::GetAtt': [logicalIdStartingWith('AWS::DynamoDB::Table', 'DataConversationsTable'), 'Arn'] }]);
    });
  });

  describe('least privilege', () => {
    it('has no wildcard in any action of any identity policy', () => {
      for (const { owner, statement } of allStatements()) {
        for (const action of asArray(statement.Action)) assert.ok(!action.includes('*'), `${owner}: ${action}`);
        assert.equal((statement as { NotAction?: unknown }).NotAction, undefined, `${owner} uses NotAction`);
      }
    });

    it('grants Resource "*" only for X-Ray and log delivery, which have no resource-level permissions', () => {
      const allowed = /^(xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))$/;
      for (const { owner, statement } of allStatements()) {
        if (!asArray(statement.Resource).includes('*')) continue;
        for (const action of asArray(statement.Action)) assert.match(action, allowed, `${owner} grants ${action} on *`);
      }
    });

    it('scopes sso-admin to the instance, the managed permission sets and the policy\'s accounts', () => {
      const sso = allStatements().filter(({ statement }) => asArray(statement.Action).some((a) => a.startsWith('sso:')));
      assert.ok(sso.length > 0);
      for (const { owner, statement } of sso) {
        const resources = asArray(statement.Resource).map(flat);
        assert.ok(resources.every((r) => r.includes('sso') && !/"\*"|:::\*"|account\/\*|permissionSet\/\*/.test(r)), `${owner}: ${resources.join(', ')}`);
        assert.ok(resources.some((r) => r.includes(PLACEHOLDER_CONTEXT.ssoInstanceArn)), `${owner} names the instance`);
        const actions = asArray(statement.Action);
        if (actions.includes('sso:CreateAccountAssignment') || actions.includes('sso:DeleteAccountAssignment')) {
          assert.ok(resources.some((r) => r.includes('permissionSet/ssoins-')), `${owner} names permission sets`);
          assert.ok(resources.some((r) => /account\/\d{12}/.test(r)), `${owner} names accounts`);
        }
        if (actions.some((a) => a.startsWith('sso:DescribeAccountAssignment'))) {
          assert.deepEqual(resources, [flat(PLACEHOLDER_CONTEXT.ssoInstanceArn)], 'status calls: the instance only');
        }
      }
    });

    it('scopes identitystore to the identity store, scheduler to the group, PassRole to the Scheduler', () => {
      const statements = allStatements().map((s) => s.statement);
      for (const s of statements.filter((st) => asArray(st.Action).some((a) => a.startsWith('identitystore:')))) {
        assert.ok(flat(s.Resource).includes(`identitystore/${PLACEHOLDER_CONTEXT.identityStoreId}`));
      }
      for (const s of statements.filter((st) => asArray(st.Action).some((a) => a.startsWith('scheduler:')))) {
        assert.ok(asArray(s.Resource).every((r) => flat(r).includes(':schedule/jit-access-test/')), flat(s.Resource));
      }
      const passRole = statements.filter((st) => asArray(st.Action).includes('iam:PassRole'));
      assert.ok(passRole.length > 0);
      for (const s of passRole) {
        assert.equal(s.Condition?.StringEquals?.['iam:PassedToService'], 'scheduler.amazonaws.com');
        assert.equal(asArray(s.Resource).length, 1);
        assert.ok(flat(s.Resource).includes('SchedulerRole'));
      }
    });

    it('lets only the bridge and notify resume the workflow, and only this state machine', () => {
      const owners = new Set<string>();
      for (const { owner, statement } of allStatements()) {
        const actions = asArray(statement.Action);
        if (!actions.some((a) => a === 'states:SendTaskSuccess' || a === 'states:SendTaskFailure')) continue;
        owners.add(owner);
        assert.ok(asArray(statement.Resource).every((r) => flat(r).includes(':stateMachine:jit-access-test-approval')), flat(statement.Resource));
      }
      assert.equal(owners.size, 2);
      assert.ok(statementsOfFunction('jit-access-test-bridge').some((s) => asArray(s.Action).includes('states:SendTaskSuccess')));
      assert.ok(statementsOfFunction('jit-access-test-notify').some((s) => asArray(s.Action).includes('states:SendTaskSuccess')));
      assert.ok(!statementsOfFunction('jit-access-test-workflow').some((s) => asArray(s.Action).includes('states:SendTaskSuccess')));
    });

    it('lets the Scheduler role only invoke the revoke function (and dead-letter), from our schedule group', () => {
      const [, role] = resourcesOf('AWS::IAM::Role').find(([id]) => id.startsWith('SchedulerRole')) ?? [];
      assert.ok(role);
      const trust = flat(role.Properties?.AssumeRolePolicyDocument);
      assert.ok(trust.includes('scheduler.amazonaws.com') && trust.includes('aws:SourceAccount') && trust.includes('aws:SourceArn'));
      const [, policy] = resourcesOf('AWS::IAM::Policy').find(([, p]) => flat(p.Properties?.Roles).includes('SchedulerRole')) ?? [];
      const statements = asArray<Statement>(policy?.Properties?.PolicyDocument?.Statement);
      const actions = statements.flatMap((s) => asArray(s.Action)).sort();
      assert.deepEqual(actions, ['lambda:InvokeFunction', 'sqs:SendMessage']);
      const invoke = statements.find((s) => asArray(s.Action).includes('lambda:InvokeFunction'))!;
      assert.ok(flat(invoke.Resource).includes(':function:jit-access-test-revoke'));
    });

    it('lets nobody delete or batch-write items, and gives the workflow function no directory access', () => {
      for (const { owner, statement } of allStatements()) {
        for (const action of asArray(statement.Action)) {
          assert.ok(!['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteTable', 'dynamodb:PartiQLDelete'].includes(action), `${owner}: ${action}`);
        }
      }
      assert.ok(!statementsOfFunction('jit-access-test-workflow').some((st) => asArray(st.Action).some((a) => a.startsWith('identitystore:'))));
      assert.ok(statementsOfFunction('jit-access-test-bridge').some((st) => asArray(st.Action).includes('identitystore:GetUserId')));
    });

    it('lets the functions that commit notices invoke the notify function (the notice flush) and nothing else; the notify function retries twice and dead-letters to the DLQ', () => {
      const flushers = ['bridge', 'workflow', 'revoke', 'reconcile'];
      for (const name of Object.keys(LAMBDA_ENTRIES)) {
        const fnName = `jit-access-test-${name === 'auditWriter' ? 'audit-writer' : name}`;
        const invoke = statementsOfFunction(fnName).filter((st) => asArray(st.Action).includes('lambda:InvokeFunction'));
        // Two reasons to invoke: the notice flush (the notify function) and, for the functions that
        // notify, the hosted bot's alias (its own test below); nothing else.
        const flush = invoke.filter((st) => asArray(st.Resource).some((r) => flat(r).includes(':function:jit-access-test-notify')));
        assert.equal(flush.length > 0, flushers.includes(name), fnName);
        for (const st of invoke) {
          assert.deepEqual(asArray(st.Action), ['lambda:InvokeFunction'], fnName);
          assert.ok(asArray(st.Resource).every((r) => (flat(r).includes(':function:jit-access-test-notify') || flat(r).includes('BotLive')) && !flat(r).includes('*')), `${fnName}: ${flat(st.Resource)}`);
        }
      }
      const [[, config]] = resourcesOf('AWS::Lambda::EventInvokeConfig') as [[string, Resource]];
      assert.equal(config.Properties?.MaximumRetryAttempts, 2);
      assert.ok(flat(config.Properties?.FunctionName).includes('NotifyFunction'));
      assert.ok(flat(config.Properties?.DestinationConfig?.OnFailure?.Destination).includes('DeadLetterQueue'));
      const envOf = (id: string) => resourcesOf('AWS::Lambda::Function').find(([rid]) => rid.startsWith(id))![1].Properties?.Environment?.Variables as Record<string, unknown>;
      assert.ok(flat(envOf('BridgeFunction')[ENV.noticeFunctionArn]).includes(':function:jit-access-test-notify'));
    });

    it('lets the bridge and reconcile (restarting a lost start) start executions of this state machine only', () => {
      const starters = ['bridge', 'reconcile'];
      for (const name of Object.keys(LAMBDA_ENTRIES)) {
        const fnName = `jit-access-test-${name === 'auditWriter' ? 'audit-writer' : name}`;
        const start = statementsOfFunction(fnName).filter((st) => asArray(st.Action).includes('states:StartExecution'));
        assert.equal(start.length > 0, starters.includes(name), fnName);
        for (const st of start) assert.ok(asArray(st.Resource).every((r) => flat(r).includes(':stateMachine:jit-access-test-approval')));
      }
    });

    it('lets only the functions that revoke read permission sets (SessionDuration: the check, and the session cut), and only the managed ones', () => {
      for (const name of Object.keys(LAMBDA_ENTRIES)) {
        const fnName = `jit-access-test-${name === 'auditWriter' ? 'audit-writer' : name}`;
        const reads = statementsOfFunction(fnName).filter((st) => asArray(st.Action).includes('sso:DescribePermissionSet'));
        assert.equal(reads.length > 0, ['reconcile', 'bridge', 'revoke'].includes(name), fnName);
        for (const st of reads) assert.ok(asArray(st.Resource).every((r) => /:(instance|permissionSet)\//.test(flat(r))), JSON.stringify(st.Resource));
      }
    });

    it('session cut: only bridge, revoke and reconcile edit and provision permission sets, scoped to the instance, the managed sets and (provisioning) the accounts', () => {
      const edit = ['sso:GetInlinePolicyForPermissionSet', 'sso:PutInlinePolicyToPermissionSet', 'sso:DeleteInlinePolicyFromPermissionSet'];
      for (const name of Object.keys(LAMBDA_ENTRIES)) {
        const fnName = `jit-access-test-${name === 'auditWriter' ? 'audit-writer' : name}`;
        const statements = statementsOfFunction(fnName);
        const cuts = ['reconcile', 'bridge', 'revoke'].includes(name);
        const editing = statements.filter((st) => asArray(st.Action).some((a) => edit.includes(a)));
        const provisioning = statements.filter((st) => asArray(st.Action).includes('sso:ProvisionPermissionSet'));
        const status = statements.filter((st) => asArray(st.Action).includes('sso:DescribePermissionSetProvisioningStatus'));
        assert.equal(editing.length > 0 && provisioning.length > 0 && status.length > 0, cuts, fnName);
        if (!cuts) {
          assert.equal(editing.length + provisioning.length + status.length, 0, fnName);
          continue;
        }
        for (const st of editing) assert.ok(asArray(st.Resource).every((r) => /:(instance|permissionSet)\//.test(flat(r))), JSON.stringify(st.Resource));
        for (const st of provisioning) {
          const resources = asArray(st.Resource).map(flat);
          assert.ok(resources.every((r) => /:(instance|permissionSet|account)\//.test(r)), JSON.stringify(resources));
          assert.ok(resources.some((r) => /:account\//.test(r)), 'ProvisionPermissionSet is authorized on the account too');
        }
        for (const st of status) assert.ok(asArray(st.Resource).every((r) => /:instance\//.test(flat(r))), JSON.stringify(st.Resource));
      }
    });

    it('lets the audit writer only PutItem into the audit table', () => {
      const statements = statementsOfFunction('jit-access-test-audit-writer');
      const dynamo = statements.flatMap((s) => asArray(s.Action)).filter((a) => a.startsWith('dynamodb:'));
      assert.deepEqual(dynamo, ['dynamodb:PutItem']);
      const put = statements.find((s) => asArray(s.Action).includes('dynamodb:PutItem'))!;
      assert.ok(flat(put.Resource).includes('DataAuditTable'));
      assert.ok(!statements.some((s) => asArray(s.Action).some((a) => a.startsWith('sso:') || a.startsWith('states:'))));
    });

    it('gives the findings forwarder nothing but the invoke of the hosted bot', () => {
      const actions = statementsOfFunction('jit-access-test-findings').flatMap((s) => asArray(s.Action));
      assert.ok(actions.every((a) => a === 'lambda:InvokeFunction' || a.startsWith('logs:') || a.startsWith('xray:')), actions.join(', '));
    });

    it('backend -> hosted bot: exactly the six notifying functions may invoke the bot, on its live alias only; nobody reads a notify key', () => {
      const [aliasId] = resourcesOf('AWS::Lambda::Alias').find(([, a]) => a.Properties?.Name === 'live')!;
      const invokers: string[] = [];
      for (const { owner, statement } of allStatements()) {
        if (!asArray(statement.Action).includes('lambda:InvokeFunction')) continue;
        // Other invokes (the state machine's Tasks, the Scheduler's target) have their own tests.
        if (!flat(statement.Resource).includes(aliasId) && !flat(statement.Resource).includes('BotFunction')) continue;
        assert.deepEqual(asArray(statement.Action), ['lambda:InvokeFunction'], owner);
        assert.deepEqual(asArray(statement.Resource), [{ Ref: aliasId }], `${owner}: the alias only, not the function or its other versions`);
        assert.equal(statement.Effect, 'Allow');
        invokers.push(owner);
      }
      const roleOf = (name: string) => {
        const [, fn] = resourcesOf('AWS::Lambda::Function').find(([, f]) => f.Properties?.FunctionName === `jit-access-test-${name}`)!;
        return (fn.Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      };
      const expected = ['bridge', 'workflow', 'notify', 'revoke', 'reconcile', 'findings'].map(roleOf);
      const policyRoles = invokers.map((owner) => {
        const [, policy] = resourcesOf('AWS::IAM::Policy').find(([id]) => id === owner)!;
        return (asArray(policy.Properties!.Roles as unknown) as Array<{ Ref: string }>).map((r) => r.Ref);
      });
      assert.deepEqual(policyRoles.flat().sort(), expected.sort());
      assert.ok(!allStatements().some(({ statement }) => asArray(statement.Action).includes('secretsmanager:GetSecretValue') && flat(statement.Resource).includes('NotifySecret')));
      // The bot's resource policy: API Gateway only (identity-based allows suffice within the account).
      const permissions = resourcesOf('AWS::Lambda::Permission').filter(([, p]) => flat(p.Properties?.FunctionName).includes(aliasId) || flat(p.Properties?.FunctionName).includes('BotFunction'));
      assert.ok(permissions.length > 0 && permissions.every(([, p]) => p.Properties?.Principal === 'apigateway.amazonaws.com'));
    });

    it('every backend function learns the bot alias ARN (JIT_BOT_FUNCTION_ARN) and no notify URL or key', () => {
      const [aliasId] = resourcesOf('AWS::Lambda::Alias').find(([, a]) => a.Properties?.Name === 'live')!;
      const backend = resourcesOf('AWS::Lambda::Function').filter(([, f]) => f.Properties?.FunctionName !== 'jit-access-test-bot' && flat(f.Properties?.Environment).includes(ENV.stage));
      assert.equal(backend.length, 7);
      for (const [id, f] of backend) {
        const vars = f.Properties!.Environment!.Variables as Record<string, unknown>;
        assert.deepEqual(vars[ENV.botFunctionArn], { Ref: aliasId }, id);
        assert.equal(vars[ENV.notifyUrl], undefined, id);
        assert.equal(vars[ENV.notifySecretArn], undefined, id);
      }
    });

    it('acknowledges every accepted cdk-nag finding with a written reason and a full finding id', () => {
      let count = 0;
      const visit = (construct: IConstruct) => {
        for (const entry of construct.node.metadata) {
          if (entry.type !== 'aws:cdk:acknowledged-rules') continue;
          for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
            count++;
            // aws-cdk-lib stores acknowledgements under `<kind>::<rule id>` (e.g. Annotation::AwsSolutions-SQS3).
            const id = key.replace(/^[A-Za-z]+::(?=AwsSolutions-)/, '');
            assert.match(id, /^AwsSolutions-[A-Z]+\d+(\[.+\])?$/, id);
            if (id.startsWith('AwsSolutions-IAM5')) assert.match(id, /\[(Resource|Action)::.+\]$/, `${id} names the finding`);
            assert.ok(reason.length >= 40, `${id}: "${reason}" explains why`);
          }
        }
        for (const child of construct.node.children) visit(child);
      };
      visit(template_root());
      assert.ok(count > 0);
    });
  });
});

// The stack whose template is under test (for walking construct metadata).
let rootForMetadata: IConstruct | undefined;
function template_root(): IConstruct {
  assert.ok(rootForMetadata);
  return rootForMetadata;
}
// An account name of infra/policy.example.yaml: the compiled policy (core/policy/compiled.ts) carries it.
const PLACEHOLDER_ACCOUNT_NAME = 'workloads-dev';
