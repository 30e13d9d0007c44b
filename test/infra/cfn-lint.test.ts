/**
 * cfn-lint (the CloudFormation linter, a Python tool) passes on the synthesized templates with the
 * repository's .cfnlintrc.yaml, which suppresses only known false positives. cfn-lint is on the
 * machine image but not on a fresh machine: then this test says so and is skipped (.ci/run prints
 * the same plainly).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/build';
import { buildGuardrails } from '../../infra/stacks/guardrails-stack';

const ROOT = join(__dirname, '..', '..');

describe('infra: cfn-lint on the synthesized templates', function () {
  this.timeout(120_000);
  let dir: string;
  before(function () {
    if (spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status !== 0) {
      console.log('      cfn-lint is not installed (pip install cfn-lint): the templates were NOT linted');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'jit-cfn-lint-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('finds nothing in the stacks (with the guardrails stack) beyond the suppressed false positives', () => {
    const app = new App({ context: { stage: 'test', guardrails: 'true', 'aws:cdk:bundling-stacks': [] } });
    const built = buildApp(app);
    const guardrails = buildGuardrails(app, built);
    const files: string[] = [];
    for (const stack of [built.stack, ...(guardrails ? [guardrails] : [])]) {
      const file = join(dir, `${stack.stackName}.template.json`);
      writeFileSync(file, JSON.stringify(Template.fromStack(stack).toJSON(), null, 1));
      files.push(file);
    }
    assert.equal(files.length, 2, 'both stacks are linted');
    const r = spawnSync('cfn-lint', ['--config-file', join(ROOT, '.cfnlintrc.yaml'), '--', ...files], { encoding: 'utf8', timeout: 90_000 });
    assert.equal(r.status, 0, `cfn-lint findings:\n${r.stdout}${r.stderr}`);
  });
});
