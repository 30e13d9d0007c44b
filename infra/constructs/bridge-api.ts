/**
 * The bridge: an HTTP API that only the bot's Entra ID app registration can call (JWT authorizer
 * on issuer and audience; the function re-checks the caller's app id), with JSON access logs and
 * default-stage throttling.
 */
import { CfnOutput, type RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Every route of the bridge; lambdas/bridge dispatches on the same `routeKey`s. */
export const BRIDGE_ROUTES = [
  { method: apigwv2.HttpMethod.POST, path: '/requests' },
  { method: apigwv2.HttpMethod.GET, path: '/requests' },
  { method: apigwv2.HttpMethod.GET, path: '/requests/{id}' },
  { method: apigwv2.HttpMethod.POST, path: '/requests/{id}/decisions' },
  { method: apigwv2.HttpMethod.POST, path: '/requests/{id}/revoke' },
  { method: apigwv2.HttpMethod.POST, path: '/requests/{id}/extend' },
  { method: apigwv2.HttpMethod.POST, path: '/requests/{id}/cancel' },
  { method: apigwv2.HttpMethod.POST, path: '/requests/{id}/review' },
  { method: apigwv2.HttpMethod.GET, path: '/eligibility' },
  { method: apigwv2.HttpMethod.GET, path: '/kpis' },
] as const;

export interface BridgeApiProps {
  apiName: string;
  bridgeFn: lambda.IFunction;
  entraTenantId: string;
  /** The bridge app's client id (a GUID), checked against `aud`. */
  audience: string;
  throttleRateLimit: number;
  throttleBurstLimit: number;
  logRetention: logs.RetentionDays;
  removalPolicy: RemovalPolicy;
}

export class BridgeApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BridgeApiProps) {
    super(scope, id);
    // Entra v2 tokens (accessTokenAcceptedVersion 2): iss is the tenant's v2 issuer and aud the
    // bridge app's client id; API Gateway checks only kid/signature, iss, aud, exp, nbf, iat here
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html),
    // the bridge function checks ver, azp, tid and roles.
    const authorizer = new HttpJwtAuthorizer('EntraId', `https://login.microsoftonline.com/${props.entraTenantId.toLowerCase()}/v2.0`, {
      authorizerName: 'entra-id',
      jwtAudience: [props.audience],
      identitySource: ['$request.header.Authorization'],
    });

    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: props.apiName,
      description: 'Teams JIT Access bridge: called by the bot only',
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
    });

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit, burstLimit: props.throttleBurstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
            clientAppId: '$context.authorizer.claims.azp',
          }),
        ),
      },
    });

    const integration = new HttpLambdaIntegration('Bridge', props.bridgeFn, { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0 });
    for (const route of BRIDGE_ROUTES) {
      this.api.addRoutes({ path: route.path, methods: [route.method], integration });
    }

    new CfnOutput(this, 'BridgeUrl', { value: this.api.apiEndpoint, description: 'Base URL of the bridge (the bot\'s JIT_BRIDGE_URL)' });
  }
}
