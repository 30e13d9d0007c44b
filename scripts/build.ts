/**
 * `npm run build`: the production build, with esbuild, into dist/ (gitignored). Nothing built
 * here needs tsx or TypeScript at run time.
 *
 *   dist/bot/main.js          the bot as an HTTP server (express): the container's CMD
 *                             (`node dist/bot/main.js`, Dockerfile) and any self-hosted node
 *   dist/bot/lambda.js        the bot as a Lambda function (`handler`): what the stack deploys
 *   dist/lambdas/<name>.js    every backend function (`handler`)
 *
 * One build, two ways to host the bot: both bot entries are bundled from the same sources in the
 * same esbuild run with the same options (target, CJS, minify, source maps), and both build the
 * bot with createBotApplication. They differ in one thing: the Lambda bundles leave the AWS SDK
 * out, as infra/constructs/jit-function.ts does (the Node.js runtime ships it), while the
 * container bundle carries it, so the image needs dist/ only and no node_modules.
 *
 * The Lambda options follow infra/constructs/jit-function.ts (NodejsFunction bundles again at
 * `cdk synth`, with the same settings): ESBUILD_TARGET, externals, the inlined policy (JSON: the
 * functions carry no YAML parser).
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as esbuild from 'esbuild';
import { ESBUILD_TARGET, REPO_ROOT } from '../infra/constructs/jit-function';
import { BOT_LAMBDA_ENTRY } from '../infra/constructs/bot-host';
import { loadPolicyFile } from '../infra/config';
import { ENV, LAMBDA_ENTRIES } from '../lambdas/contract';

export interface BuildOutput {
  outDir: string;
  /** Relative path (from outDir) → size in bytes. */
  files: Record<string, number>;
  botServer: string;
  botLambda: string;
}

const common = (): esbuild.BuildOptions => ({
  bundle: true,
  platform: 'node',
  target: ESBUILD_TARGET,
  format: 'cjs',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'error',
  absWorkingDir: REPO_ROOT,
});

/** The bot: the server entry for the container and the Lambda entry, in one esbuild run each (same sources, same options). */
export async function buildBot(outDir: string): Promise<{ server: string; lambda: string }> {
  const server = join(outDir, 'bot', 'main.js');
  const lambda = join(outDir, 'bot', 'lambda.js');
  await Promise.all([
    esbuild.build({ ...common(), entryPoints: [join(REPO_ROOT, 'bot/main.ts')], outfile: server }),
    esbuild.build({ ...common(), entryPoints: [join(REPO_ROOT, BOT_LAMBDA_ENTRY)], outfile: lambda, external: ['@aws-sdk/*'] }),
  ]);
  return { server, lambda };
}

/** The backend functions, as infra bundles them (policy inlined from `policyFile`, default the example policy). */
export async function buildLambdas(outDir: string, policyFile = join(REPO_ROOT, 'infra/policy.example.yaml')): Promise<string[]> {
  const { policyJson } = loadPolicyFile(policyFile);
  return Promise.all(
    Object.entries(LAMBDA_ENTRIES).map(async ([name, entry]) => {
      const outfile = join(outDir, 'lambdas', `${name}.js`);
      await esbuild.build({
        ...common(),
        entryPoints: [join(REPO_ROOT, entry)],
        outfile,
        external: ['@aws-sdk/*'],
        define: { [`process.env.${ENV.policyJson}`]: JSON.stringify(policyJson) },
      });
      return outfile;
    }),
  );
}

export async function build(outDir = join(REPO_ROOT, 'dist'), options: { policyFile?: string; botOnly?: boolean } = {}): Promise<BuildOutput> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const bot = await buildBot(outDir);
  const lambdas = options.botOnly ? [] : await buildLambdas(outDir, options.policyFile);
  const files: Record<string, number> = {};
  for (const f of [bot.server, bot.lambda, ...lambdas]) files[relative(outDir, f)] = statSync(f).size;
  return { outDir, files, botServer: bot.server, botLambda: bot.lambda };
}

if (require.main === module) {
  const policyFile = process.argv.find((a) => a.startsWith('--policy='))?.slice('--policy='.length);
  build(undefined, { policyFile })
    .then((out) => {
      for (const [file, size] of Object.entries(out.files)) console.log(`  dist/${file}  ${(size / 1024).toFixed(0)} KB`);
      console.log(`built into ${relative(process.cwd(), out.outDir) || '.'}/ (run the bot with: node --enable-source-maps dist/bot/main.js)`);
    })
    .catch((e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exitCode = 1;
    });
}
