/**
 * The Teams bot hosted in the stack: one Lambda function (bot/lambda.ts, bundled by esbuild like
 * every function), a `live` alias (what the route invokes; rolling back = pointing it at an older
 * version, docs/ROLLBACK.md), optional provisioned concurrency on that alias, and the route
 * `POST /api/messages` on the stack's HTTP API with NO authorizer: API Gateway's JWT authorizer
 * cannot validate Bot Connector tokens (issuer https://api.botframework.com, keys from the Bot
 * Framework's OpenID metadata), so CloudAdapter validates them in the function, as on any host
 * ("Authentication with the Bot Connector service",
 * https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-authentication).
 *
 * The function reads its Entra credentials from the BotCredentials secret at cold start
 * (JIT_BOT_CREDENTIALS_SECRET_ARN): no client secret in its environment.
 *
 * The backend's notices reach the same alias as direct Lambda invokes (the stack grants
 * lambda:InvokeFunction on `alias` to the notifying functions and gives them its ARN as
 * JIT_BOT_FUNCTION_ARN): no /api/notify route and no shared HMAC key for a hosted bot.
 */
import { CfnOutput, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { BOT_ENV } from '../../contract/bot-env';
import { JitFunction } from './jit-function';
import { acknowledge, kmsTableKeyStatement } from './permissions';

/** The bot's Lambda entry, relative to the repository root. */
export const BOT_LAMBDA_ENTRY = 'bot/lambda.ts';
export const BOT_MESSAGES_PATH = '/api/messages';
/** Used only by the placeholder stages (test, synth), which never deploy. */
export const PLACEHOLDER_ONCALL_TEAM_ID = '19:placeholder-team@thread.tacv2';

export interface BotHostProps {
  prefix: string;
  api: apigwv2.HttpApi;
  /** The API's `$default` stage (the custom domain maps to it). */
  stage: apigwv2.IHttpStage;
  credentialsSecret: secretsmanager.ISecret;
  conversations: dynamodb.ITable;
  tableKey: kms.IKey;
  entraTenantId: string;
  bridgeAudience: string;
  oncallTeamId: string;
  approvalChannelId: string;
  approverAadObjectIds?: readonly string[];
  accessPortalUrl?: string;
  logLevel: 'DEBUG' | 'INFO';
  provisionedConcurrency: number;
  domain?: { name: string; certificateArn: string };
  policyJson: string;
  logRetention: logs.RetentionDays;
  removalPolicy: RemovalPolicy;
}

export class BotHost extends Construct {
  readonly function: JitFunction;
  readonly alias: lambda.Alias;
  readonly route: apigwv2.HttpRoute;
  readonly messagingEndpoint: string;

  constructor(scope: Construct, id: string, props: BotHostProps) {
    super(scope, id);
    this.function = new JitFunction(this, 'Function', {
      name: 'bot',
      entry: BOT_LAMBDA_ENTRY,
      functionName: `${props.prefix}-bot`,
      description: 'Teams bot: Bot Framework activities from POST /api/messages (Bot Framework JWTs validated in code)',
      // Teams gives an invoke about 15 s; an HTTP API waits 30 s at most for an integration
      // ("Amazon API Gateway quotas", HTTP API quotas: integration timeout 30 seconds,
      // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
      timeout: Duration.seconds(29),
      // More memory is more CPU: cold init (require + msal + first token) is CPU bound.
      memorySize: 1024,
      environment: {
        [BOT_ENV.mode]: 'production',
        [BOT_ENV.appType]: 'SingleTenant',
        [BOT_ENV.credentialsSecretArn]: props.credentialsSecret.secretArn,
        [BOT_ENV.allowedTenants]: props.entraTenantId,
        [BOT_ENV.bridgeUrl]: props.api.apiEndpoint,
        [BOT_ENV.bridgeScope]: `${props.bridgeAudience}/.default`,
        [BOT_ENV.oncallTeamId]: props.oncallTeamId,
        [BOT_ENV.oncallChannelId]: props.approvalChannelId,
        ...(props.approverAadObjectIds?.length ? { [BOT_ENV.approvers]: props.approverAadObjectIds.join(',') } : {}),
        ...(props.accessPortalUrl ? { [BOT_ENV.accessPortalUrl]: props.accessPortalUrl } : {}),
        [BOT_ENV.store]: 'dynamodb',
        [BOT_ENV.storeTable]: props.conversations.tableName,
        [BOT_ENV.logLevel]: props.logLevel,
      },
      policyJson: props.policyJson,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const role = this.function.role;
    // Exactly what the bot sends: GetSecretValue on its own secret (grantRead adds DescribeSecret),
    // GetItem/PutItem on the conversations table (bot/storage/dynamodb.ts), and the table's key.
    props.credentialsSecret.grantRead(role);
    props.conversations.grant(role, 'dynamodb:GetItem', 'dynamodb:PutItem');
    role.addToPolicy(kmsTableKeyStatement(props.tableKey));

    this.alias = new lambda.Alias(this, 'Live', {
      aliasName: 'live',
      version: this.function.fn.currentVersion,
      description: 'What POST /api/messages invokes; point it at an older version to roll the bot back',
      ...(props.provisionedConcurrency > 0 ? { provisionedConcurrentExecutions: props.provisionedConcurrency } : {}),
    });

    const integration = new HttpLambdaIntegration('Bot', this.alias, { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0 });
    const routes = props.api.addRoutes({ path: BOT_MESSAGES_PATH, methods: [apigwv2.HttpMethod.POST], integration, authorizer: new apigwv2.HttpNoneAuthorizer() });
    this.route = routes[0]!;
    acknowledge(
      this.route,
      'AwsSolutions-APIG4',
      'Bot Framework (Bot Connector) JWTs cannot be validated by an API Gateway authorizer; CloudAdapter (ConfigurationBotFrameworkAuthentication) validates issuer, audience (the bot app id), signature and endorsements in the function before any logic runs.',
    );

    let base = props.api.apiEndpoint;
    if (props.domain) {
      const domainName = new apigwv2.DomainName(this, 'Domain', {
        domainName: props.domain.name,
        certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn),
        securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
      });
      new apigwv2.ApiMapping(this, 'Mapping', { api: props.api, domainName, stage: props.stage });
      new CfnOutput(this, 'BotDomainTarget', {
        value: domainName.regionalDomainName,
        description: `Point ${props.domain.name} (CNAME or alias record) at this name`,
      }).overrideLogicalId('BotDomainTarget');
      base = `https://${props.domain.name}`;
    }
    this.messagingEndpoint = `${base}${BOT_MESSAGES_PATH}`;
    // Fixed output names: scripts/deploy and `npm run package:manifest -- --outputs-file` read them.
    new CfnOutput(this, 'BotMessagingEndpoint', { value: this.messagingEndpoint, description: 'Paste into the Azure Bot resource: Configuration > Messaging endpoint' }).overrideLogicalId('BotMessagingEndpoint');
    new CfnOutput(this, 'BotFunctionName', { value: this.function.fn.functionName, description: 'The bot function (alias live)' }).overrideLogicalId('BotFunctionName');
  }
}
