/**
 * `npm run build`: the production build, with esbuild, into dist/ (gitignored). Nothing built
 * here needs tsx or TypeScript at run time.
 *
 *   dist/bot/main.js          the bot as an HTTP server (express): the container's CMD
 *                             (`node dist/bot/main.js`, Dockerfile) and any self-hosted node
 *   dist/bot/aws-sdk.js       the AWS SDK clients main.js uses, required by it only when the
 *                             configuration needs them (DynamoDB store, credentials secret)
 *   dist/bot/lambda.js        the bot as a Lambda function (`handler`): what the stack deploys
 *   dist/lambdas/<name>.js    every backend function (`handler`)
 *
 * One build, two ways to host the bot: both bot entries are bundled from the same sources in the
 * same esbuild run with the same options (target, CJS, minify, source maps), and both build the
 * bot with createBotApplication. They differ in one thing: the Lambda bundles leave the AWS SDK
 * out, as infra/constructs/jit-function.ts does (the Node.js runtime ships it), while the
 * container bundle carries it, so the image needs dist/ only and no node_modules.
 *
 * The container's AWS SDK sits in its own file beside main.js (SERVER_SDK_CHUNK). Code in a
 * bundle costs memory even when it never runs (V8 parses it, and --enable-source-maps keeps its
 * mappings): the SDK is about 600 KB of main.js and about 10 MB of the server's resident memory,
 * for clients that a bot with the memory or file store and no credentials secret never creates
 * (bench/bot-lambda.ts measures the server's peak RSS). bot/app.ts and bot/credentials.ts import
 * those modules dynamically, so main.js requires the chunk at the moment it needs it.
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
  /** The AWS SDK chunk main.js requires when it needs it (SERVER_SDK_CHUNK). */
  botServerSdk: string;
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

/** The container's AWS SDK file, beside main.js, and the packages it holds (every @aws-sdk import of the bot's sources). */
export const SERVER_SDK_CHUNK = 'aws-sdk.js';
export const SERVER_SDK_PACKAGES = ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-secrets-manager'] as const;

/**
 * In main.js, an import of one of SERVER_SDK_PACKAGES becomes `require('./aws-sdk.js')[package]`
 * (one chunk for all of them, so lib-dynamodb and client-dynamodb share their classes, as in
 * node_modules). An @aws-sdk package missing from the list fails the build instead of quietly
 * landing in main.js again.
 */
const sdkChunkPlugin: esbuild.Plugin = {
  name: 'server-sdk-chunk',
  setup(b) {
    b.onResolve({ filter: /^@aws-sdk\// }, (args) => {
      if (!(SERVER_SDK_PACKAGES as readonly string[]).includes(args.path)) {
        return { errors: [{ text: `${args.path} (imported by ${relative(REPO_ROOT, args.importer)}) is not in SERVER_SDK_PACKAGES (scripts/build.ts)` }] };
      }
      return { path: args.path, namespace: 'server-sdk-chunk' };
    });
    b.onResolve({ filter: new RegExp(`^\\./${SERVER_SDK_CHUNK.replace('.', '\\.')}$`) }, (args) => ({ path: args.path, external: true }));
    b.onLoad({ filter: /.*/, namespace: 'server-sdk-chunk' }, (args) => ({ contents: `module.exports = require('./${SERVER_SDK_CHUNK}')[${JSON.stringify(args.path)}];`, loader: 'js' }));
  },
};

/** The bot: the server entry for the container and the Lambda entry, in one esbuild run each (same sources, same options). */
export async function buildBot(outDir: string): Promise<{ server: string; serverSdk: string; lambda: string }> {
  const server = join(outDir, 'bot', 'main.js');
  const serverSdk = join(outDir, 'bot', SERVER_SDK_CHUNK);
  const lambda = join(outDir, 'bot', 'lambda.js');
  await Promise.all([
    esbuild.build({ ...common(), entryPoints: [join(REPO_ROOT, 'bot/main.ts')], outfile: server, plugins: [sdkChunkPlugin] }),
    esbuild.build({
      ...common(),
      stdin: { contents: `module.exports = {${SERVER_SDK_PACKAGES.map((p) => `${JSON.stringify(p)}: require(${JSON.stringify(p)})`).join(', ')}};`, resolveDir: REPO_ROOT, sourcefile: 'aws-sdk-chunk.js', loader: 'js' },
      outfile: serverSdk,
    }),
    esbuild.build({ ...common(), entryPoints: [join(REPO_ROOT, BOT_LAMBDA_ENTRY)], outfile: lambda, external: ['@aws-sdk/*'] }),
  ]);
  return { server, serverSdk, lambda };
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
  for (const f of [bot.server, bot.serverSdk, bot.lambda, ...lambdas]) files[relative(outDir, f)] = statSync(f).size;
  return { outDir, files, botServer: bot.server, botServerSdk: bot.serverSdk, botLambda: bot.lambda };
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
