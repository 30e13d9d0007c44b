/**
 * Builds the app's stacks and turns on cdk-nag. Separate from app.ts so that tests synthesize
 * exactly what `cdk synth` does, with their own context.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig, type JitConfig } from './config';
import { JitAccessStack } from './stacks/jit-access-stack';

export interface BuiltApp {
  config: JitConfig;
  stack: JitAccessStack;
}

export function buildApp(app: App, opts: { cwd?: string } = {}): BuiltApp {
  const config = loadConfig((key) => app.node.tryGetContext(key), opts.cwd);
  const stack = new JitAccessStack(app, `JitAccess-${config.stage}`, {
    config,
    description: `Teams JIT Access for AWS (${config.stage})`,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  // Synth fails on any finding that is not acknowledged with a reason.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { config, stack };
}
