/**
 * One Lambda function of the product: NodejsFunction bundled locally with esbuild, its own role
 * (no managed policies), its own log group with retention, JSON logs, X-Ray tracing.
 */
import { join } from 'node:path';
import { type Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LAMBDA_ENTRIES, ENV, type LambdaName } from '../../lambdas/contract';

/** The repository root: entries in LAMBDA_ENTRIES are relative to it. */
export const REPO_ROOT = join(__dirname, '..', '..');

/** Lambda's Node.js runtime; the bundle targets the same major. */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;
export const ESBUILD_TARGET = 'node24';

export interface JitFunctionProps {
  /** A backend function of LAMBDA_ENTRIES, or the hosted bot (infra/constructs/bot-host.ts). */
  name: LambdaName | 'bot';
  /** The entry file relative to the repo root; default LAMBDA_ENTRIES[name]. */
  entry?: string;
  functionName: string;
  description: string;
  timeout: Duration;
  memorySize?: number;
  environment: Record<string, string>;
  /**
   * The validated policy document (JSON). Inlined into the bundle with esbuild `define` rather
   * than an environment variable: Lambda caps ALL variables of a function at 4 KB together, and a
   * policy with a few dozen accounts is already larger than that.
   */
  policyJson: string;
  logRetention: logs.RetentionDays;
  removalPolicy: RemovalPolicy;
  reservedConcurrentExecutions?: number;
}

export class JitFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: JitFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    // A role of our own instead of the default one: the default attaches the
    // AWSLambdaBasicExecutionRole managed policy, which may write to any log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.name} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.fn = new NodejsFunction(this, 'Fn', {
      functionName: props.functionName,
      description: props.description,
      entry: join(REPO_ROOT, props.entry ?? LAMBDA_ENTRIES[props.name as LambdaName]),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        ...props.environment,
        // Stack traces point at the TypeScript sources.
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        target: ESBUILD_TARGET,
        format: OutputFormat.CJS,
        // The AWS SDK v3 comes with the Node.js runtime: bundling it made every function about
        // 1.3 MB (each bundle carried every client the shared wiring imports) against a 300 KB
        // budget (docs/PERFORMANCE.md). The code uses long-standing commands only.
        externalModules: ['@aws-sdk/*'],
        bundleAwsSDK: false,
        metafile: true,
        // The policy arrives as JSON, read from its file at synth (infra/policy-file.ts): core
        // validates a plain object, so no YAML parser is reachable from a function.
        define: { [`process.env.${ENV.policyJson}`]: JSON.stringify(props.policyJson) },
      },
    });

    const xray = this.role.node.tryFindChild('DefaultPolicy');
    if (xray) {
      Validations.of(xray).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (CDK adds them for Tracing.ACTIVE).',
      });
    }
  }
}
