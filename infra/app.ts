#!/usr/bin/env node
/**
 * CDK entry point: `npm run synth` (offline, placeholder config for stage `synth`) and
 * `npm run deploy -- -c stage=<stage> -c ssoInstanceArn=... ...` (see infra/README.md).
 * `-c guardrails=true` adds the optional guardrails stack (infra/stacks/guardrails-stack.ts).
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from './build';
import { buildFindingsForwarder } from './stacks/findings-forwarder-stack';
import { buildGuardrails } from './stacks/guardrails-stack';

const app = new App();
try {
  const built = buildApp(app);
  // Optional, off by default: `-c guardrails=true` adds the GuardDuty-to-channel stack.
  buildGuardrails(app, built);
  // Optional: `-c securityHubAdminAccountId=... -c jitAccountId=...` adds the findings forwarder for the Security Hub administrator account.
  buildFindingsForwarder(app, built);
} catch (e) {
  // A configuration error is the operator's to fix: print it plainly, without a stack trace.
  if (e instanceof Error && e.name === 'ConfigError') {
    console.error(e.message);
    process.exit(1);
  }
  throw e;
}
app.synth();
