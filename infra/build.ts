/**
 * Builds the app's stacks and turns on cdk-nag. Separate from app.ts so that tests synthesize
 * exactly what `cdk synth` does, with their own context.
 */
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig, type JitConfig } from './config';
import { JitAccessStack } from './stacks/jit-access-stack';
import { definitionFromTemplate, type ResolveOptions, type StateMachineDefinition } from './workflow-definition';

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

/**
 * Synthesizes the app for a placeholder stage (`test`) without bundling the functions (fast,
 * ~2 s) and returns the workflow definition. `context` may override any context key, e.g. the
 * policy file the sandbox uses.
 */
export function synthesizeWorkflowDefinition(context: Record<string, unknown> = {}, options: ResolveOptions = {}): StateMachineDefinition {
  const app = new App({ context: { stage: 'test', ...context, 'aws:cdk:bundling-stacks': [] } });
  const { stack } = buildApp(app);
  return definitionFromTemplate(Template.fromStack(stack).toJSON(), options);
}
