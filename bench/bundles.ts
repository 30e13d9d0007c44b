/**
 * Lambda bundles: every function bundled with esbuild exactly as infra/constructs/jit-function.ts
 * has NodejsFunction do it (same entries, target, format, minify, source maps, define of the
 * policy document, externals), then each bundle is required in a fresh Node process to time its
 * cold initialization (module evaluation; handlers build their AWS clients on first invocation).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { loadPolicyFile } from '../infra/config';
import { ESBUILD_TARGET } from '../infra/constructs/jit-function';
import { ENV, LAMBDA_ENTRIES, type LambdaName } from '../lambdas/contract';
import { REPO_ROOT } from './lib/child';
import { median, round } from './lib/stats';

export interface BundleResult {
  name: LambdaName;
  kb: number;
  /** Bytes per top-level package (node_modules) or source folder, largest first (KB). */
  largest: Array<[string, number]>;
  coldInitMs: number;
  coldInitRunsMs: number[];
}

/**
 * The options NodejsFunction passes to esbuild for our functions (kept in step with
 * infra/constructs/jit-function.ts: minify, sourceMap + DEFAULT mode, sourcesContent false,
 * target, CJS, externalModules, bundleAwsSDK, define of the policy).
 */
export function infraEsbuildOptions(policyJson: string, external: string[], alias: Record<string, string> = {}): esbuild.BuildOptions {
  return {
    alias,
    bundle: true,
    platform: 'node',
    target: ESBUILD_TARGET,
    format: 'cjs',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    external,
    define: { [`process.env.${ENV.policyJson}`]: JSON.stringify(policyJson) },
    logLevel: 'error',
  };
}

/** What infra marks external: nothing but what it lists (bundleAwsSDK true keeps the SDK in). */
export function infraExternals(): string[] {
  const text = readFileSync(join(REPO_ROOT, 'infra/constructs/jit-function.ts'), 'utf8');
  const list = text.match(/externalModules:\s*\[([^\]]*)\]/)?.[1] ?? '';
  const externals = [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
  if (/bundleAwsSDK:\s*false/.test(text) && !externals.some((e) => e.startsWith('@aws-sdk'))) externals.push('@aws-sdk/*');
  return externals;
}

/** The `--alias:<module>` esbuildArgs of infra, if any (none since the policy file is read at synth). */
export function infraAliases(): Record<string, string> {
  const text = readFileSync(join(REPO_ROOT, 'infra/constructs/jit-function.ts'), 'utf8');
  return Object.fromEntries([...text.matchAll(/'--alias:([^']+)':\s*'([^']+)'/g)].map((m) => [m[1]!, m[2]!]));
}

function coldInit(file: string): number {
  const script = `const t=performance.now();require(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t))`;
  const out = execFileSync(process.execPath, ['--enable-source-maps', '-e', script], {
    // Externals (the AWS SDK) come from the runtime in Lambda; here from the repository's node_modules.
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', NODE_OPTIONS: '', NODE_PATH: join(REPO_ROOT, 'node_modules') },
    encoding: 'utf8',
  });
  return Number(out);
}

export async function runBundles(options: { coldRuns: number }): Promise<{ bundles: BundleResult[]; externals: string[]; aliases: Record<string, string> }> {
  const { policyJson } = loadPolicyFile(join(REPO_ROOT, 'infra/policy.example.yaml'));
  const externals = infraExternals();
  const aliases = infraAliases();
  const outDir = mkdtempSync(join(tmpdir(), 'jit-bench-bundles-'));
  const bundles: BundleResult[] = [];
  try {
    for (const [name, entry] of Object.entries(LAMBDA_ENTRIES) as Array<[LambdaName, string]>) {
      const outfile = join(outDir, name, 'index.js');
      const result = await esbuild.build({ ...infraEsbuildOptions(policyJson, externals, aliases), entryPoints: [join(REPO_ROOT, entry)], outfile, absWorkingDir: REPO_ROOT });
      const output = Object.values(result.metafile!.outputs).find((o) => o.entryPoint)!;
      const by = new Map<string, number>();
      for (const [file, input] of Object.entries(output.inputs)) {
        const m = file.match(/node_modules\/((@[^/]+\/)?[^/]+)/);
        const key = m ? m[1]! : file.split('/')[0]!;
        by.set(key, (by.get(key) ?? 0) + input.bytesInOutput);
      }
      const runs = Array.from({ length: options.coldRuns }, () => round(coldInit(outfile), 1));
      bundles.push({
        name,
        kb: round(statSync(outfile).size / 1024, 1),
        largest: [...by].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => [k, round(v / 1024, 1)]),
        coldInitMs: median(runs),
        coldInitRunsMs: runs,
      });
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  return { bundles, externals, aliases };
}

if (require.main === module) void runBundles({ coldRuns: 3 }).then((r) => console.log(JSON.stringify(r, null, 2)));
