/**
 * What the bridge function bundles (bench/bundles.ts measures its size, docs/PERFORMANCE.md): built
 * with infra's esbuild options, it carries no classic zod, no Powertools and none of the parts only
 * other functions use; and the zod/mini schemas it shares with the bot still speak English on their
 * own, in a process where classic zod (which configures English itself) was never loaded.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { infraAliases, infraEsbuildOptions, infraExternals } from '../../bench/bundles';
import { REPO_ROOT } from '../../bench/lib/child';
import { loadPolicyFile } from '../../infra/config';

describe('the bridge bundle', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-bridge-bundle-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const build = async (entry: string, outfile: string) => {
    const { policyJson } = loadPolicyFile(join(REPO_ROOT, 'infra/policy.example.yaml'));
    const result = await esbuild.build({ ...infraEsbuildOptions(policyJson, infraExternals(), infraAliases()), entryPoints: [entry], outfile, absWorkingDir: REPO_ROOT });
    return Object.keys(Object.values(result.metafile!.outputs).find((o) => o.entryPoint)!.inputs);
  };

  it('holds no classic zod, no Powertools, no notifier of the bot, no audit table sink, no policy validator (the policy comes compiled)', async () => {
    const inputs = await build(join(REPO_ROOT, 'lambdas/bridge/handler.ts'), join(dir, 'bridge', 'index.js'));
    assert.ok(inputs.some((i) => i.includes('zod/v4/mini/')), 'the zod/mini schemas are in');
    const unwanted = inputs.filter((i) => /zod\/v4\/classic\/|@aws-lambda-powertools\/|adapters\/(bot-notifier|bot-invoke-notifier|dynamo-audit)\.ts$|core\/policy\/validate\.ts$/.test(i));
    assert.deepEqual(unwanted, []);
  });

  it('the shared schemas give English messages without classic zod in the process', async () => {
    const entry = join(dir, 'probe.ts');
    writeFileSync(
      entry,
      `import { createRequestBodySchema } from ${JSON.stringify(join(REPO_ROOT, 'contract/bridge'))};
       const r = createRequestBodySchema.safeParse({ justification: 'short', extra: 1 });
       process.stdout.write(JSON.stringify(r.success ? [] : r.error.issues.map((i) => i.message)));`,
    );
    const outfile = join(dir, 'probe', 'index.js');
    const inputs = await build(entry, outfile);
    assert.ok(!inputs.some((i) => i.includes('zod/v4/classic/')));
    const messages = JSON.parse(execFileSync(process.execPath, [outfile], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } })) as string[];
    assert.ok(messages.includes('Too small: expected string to have >=10 characters'), messages.join(' | '));
    assert.ok(messages.includes('Unrecognized key: "extra"'), messages.join(' | '));
    assert.ok(!messages.includes('Invalid input'), messages.join(' | '));
  });
});
