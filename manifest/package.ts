/**
 * Builds the sideloadable Teams app package: fills the placeholders of manifest.template.json,
 * validates the result offline against the Teams manifest JSON schema shipped in
 * @microsoft/app-manifest, checks the icons, and zips manifest.json, color.png and outline.png
 * into manifest/build/app-<version>.zip.
 *
 *   npm run package:manifest -- --bot-app-id <guid> --app-base-url https://jit.example.com [--version 1.2.3] [--sso] [--out-dir dir]
 *   npm run package:manifest -- --outputs-file cdk.out/outputs-dev.json [--stack JitAccess-dev]
 *
 * Flags win over the stack's outputs file (`cdk deploy --outputs-file`, written by scripts/deploy:
 * BotAppId, and the origin of BotMessagingEndpoint as the app's base URL), which wins over the
 * environment (BOT_APP_ID, APP_BASE_URL, APP_VERSION).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AppManifestUtils } from '@microsoft/app-manifest';
import JSZip from 'jszip';
import { decodePng } from './png';

export const MANIFEST_DIR = __dirname;
/**
 * The manifest schema the template is written against: the newest one Teams publishes (v1.29,
 * "App manifest" https://learn.microsoft.com/microsoftteams/platform/resources/schema/manifest-schema,
 * checked 2026-11). @microsoft/app-manifest 1.1.2 also ships a v1.30 schema, which Teams does not
 * publish yet (it differs from v1.29 only in Outlook add-in event settings), so it is refused.
 */
export const MANIFEST_SCHEMA_VERSION = '1.29';
const TEMPLATE_PATH = join(MANIFEST_DIR, 'manifest.template.json');
const ICONS = { 'color.png': 192, 'outline.png': 32 } as const;

export class ManifestPackageError extends Error {
  constructor(readonly problems: string[]) {
    super(`Cannot build the Teams app package:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ManifestPackageError';
  }
}

export interface PackageSettings {
  botAppId: string;
  appBaseUrl: string;
  appDomain: string;
  version: string;
  sso: boolean;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

export interface RawSettings {
  botAppId?: string;
  appBaseUrl?: string;
  version?: string;
  sso?: boolean;
}

/** Parses `--name value`, `--name=value` and boolean `--sso`. Unknown flags are errors. */
export function parseFlags(argv: readonly string[]): RawSettings & { outDir?: string; outputsFile?: string; stack?: string } {
  const out: RawSettings & { outDir?: string; outputsFile?: string; stack?: string } = {};
  const names: Record<string, 'botAppId' | 'appBaseUrl' | 'version' | 'outDir' | 'outputsFile' | 'stack'> = {
    '--bot-app-id': 'botAppId',
    '--app-base-url': 'appBaseUrl',
    '--version': 'version',
    '--out-dir': 'outDir',
    '--outputs-file': 'outputsFile',
    '--stack': 'stack',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--sso') {
      out.sso = true;
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const key = names[flag];
    if (!key) throw new ManifestPackageError([`unknown argument ${JSON.stringify(arg)} (expected --bot-app-id, --app-base-url, --version, --out-dir, --outputs-file, --stack, --sso)`]);
    const value = inline ?? argv[++i];
    if (value === undefined || value.startsWith('--')) throw new ManifestPackageError([`${flag} needs a value`]);
    out[key] = value;
  }
  return out;
}

/**
 * The settings a deployed stack knows, from `cdk deploy --outputs-file` (a JSON object of stack
 * name → output name → value): the bot's app id (output BotAppId) and the app's base URL (the
 * origin of BotMessagingEndpoint, the address Teams reaches the bot at). `stack` picks one stack
 * when the file holds several.
 */
export function settingsFromOutputs(text: string, file: string, stack?: string): RawSettings {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ManifestPackageError([`${file} is not JSON: pass the file \`cdk deploy --outputs-file\` wrote (scripts/deploy writes cdk.out/outputs-<stage>.json)`]);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ManifestPackageError([`${file} must be a JSON object of stack name → outputs`]);
  const stacks = Object.keys(doc).filter((k) => k.startsWith('JitAccess-'));
  const name = stack ?? (stacks.length === 1 ? stacks[0] : undefined);
  if (!name) throw new ManifestPackageError([stacks.length === 0 ? `${file} holds no JitAccess-<stage> stack` : `${file} holds several stacks (${stacks.join(', ')}): pass --stack <name>`]);
  const outputs = (doc as Record<string, unknown>)[name];
  if (!outputs || typeof outputs !== 'object') throw new ManifestPackageError([`${file} has no outputs for stack ${name}`]);
  const o = outputs as Record<string, unknown>;
  const problems: string[] = [];
  const botAppId = typeof o.BotAppId === 'string' ? o.BotAppId : undefined;
  if (!botAppId) problems.push(`${file}: stack ${name} has no BotAppId output (deploy the current stack first, or pass --bot-app-id)`);
  let appBaseUrl: string | undefined;
  if (typeof o.BotMessagingEndpoint === 'string') {
    try {
      appBaseUrl = new URL(o.BotMessagingEndpoint).origin;
    } catch {
      problems.push(`${file}: BotMessagingEndpoint ${JSON.stringify(o.BotMessagingEndpoint)} is not a URL`);
    }
  } else {
    problems.push(`${file}: stack ${name} has no BotMessagingEndpoint output (the bot is not hosted in the stack: pass --app-base-url with your bot's https address)`);
  }
  if (problems.length > 0 && !botAppId && !appBaseUrl) throw new ManifestPackageError(problems);
  return { ...(botAppId ? { botAppId } : {}), ...(appBaseUrl ? { appBaseUrl } : {}) };
}

/** Checks every setting and reports all problems at once, each saying how to fix it. */
export function resolveSettings(raw: RawSettings, env: Record<string, string | undefined>, defaultVersion: string): PackageSettings {
  const problems: string[] = [];
  const botAppId = (raw.botAppId ?? env.BOT_APP_ID ?? '').trim();
  const baseUrl = (raw.appBaseUrl ?? env.APP_BASE_URL ?? '').trim();
  const version = (raw.version ?? env.APP_VERSION ?? defaultVersion).trim();

  if (!botAppId) problems.push('BOT_APP_ID is missing: pass --bot-app-id or set BOT_APP_ID to the bot\'s Entra app registration (client) id, a GUID');
  else if (!GUID.test(botAppId)) problems.push(`BOT_APP_ID ${JSON.stringify(botAppId)} is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, the Entra app registration's client id)`);

  let appBaseUrl = '';
  let appDomain = '';
  if (!baseUrl) problems.push('APP_BASE_URL is missing: pass --app-base-url or set APP_BASE_URL to the bot\'s public https address, e.g. https://jit.example.com');
  else {
    let url: URL | undefined;
    try {
      url = new URL(baseUrl);
    } catch {
      problems.push(`APP_BASE_URL ${JSON.stringify(baseUrl)} is not a URL (expected e.g. https://jit.example.com)`);
    }
    if (url) {
      if (url.protocol !== 'https:') problems.push(`APP_BASE_URL must use https (Teams accepts only https app URLs), got ${JSON.stringify(baseUrl)}`);
      else if (url.username || url.password || url.search || url.hash) problems.push(`APP_BASE_URL must not carry credentials, a query or a fragment: ${JSON.stringify(baseUrl)}`);
      else if (url.port) problems.push(`APP_BASE_URL must use the default https port (Teams valid domains cannot carry a port): ${JSON.stringify(baseUrl)}`);
      else {
        appBaseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
        appDomain = url.hostname;
      }
    }
  }
  if (!SEMVER.test(version)) problems.push(`version ${JSON.stringify(version)} is not MAJOR.MINOR.PATCH (Teams requires that format; pass --version or set APP_VERSION)`);

  if (problems.length > 0) throw new ManifestPackageError(problems);
  return { botAppId: botAppId.toLowerCase(), appBaseUrl, appDomain, version, sso: raw.sso ?? env.APP_SSO === 'true' };
}

/** The manifest object for these settings. Values are JSON-escaped into the template text. */
export function renderManifest(settings: PackageSettings, templateText = readFileSync(TEMPLATE_PATH, 'utf8')): Record<string, unknown> {
  const values: Record<string, string> = {
    BOT_APP_ID: settings.botAppId,
    APP_BASE_URL: settings.appBaseUrl,
    APP_DOMAIN: settings.appDomain,
    APP_VERSION: settings.version,
  };
  const unknown = new Set<string>();
  const text = templateText.replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) {
      unknown.add(name);
      return whole;
    }
    return JSON.stringify(value).slice(1, -1);
  });
  if (unknown.size > 0) throw new ManifestPackageError([`the template uses placeholders this packager does not know: ${[...unknown].join(', ')}`]);
  const manifest = JSON.parse(text) as Record<string, unknown>;
  if (settings.sso) {
    // Teams SSO for a bot: the app registration exposes api://<domain>/botid-<client id> ("Configure
    // bot app in Microsoft Entra ID", https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/authentication/bot-sso-register-aad;
    // "Update the app manifest": webApplicationInfo.resource is that URI). The bot's
    // JIT_SSO_APPLICATION_ID_URI must be the same (docs/SECURITY.md, Entra setup).
    manifest.webApplicationInfo = { id: settings.botAppId, resource: `api://${settings.appDomain}/botid-${settings.botAppId}` };
  }
  return manifest;
}

function schemaPath(version: string): string {
  const root = dirname(require.resolve('@microsoft/app-manifest/package.json'));
  return join(root, 'build', 'json-schemas', 'teams', `v${version}`, 'MicrosoftTeams.schema.json');
}

/** Compares `major.minor` versions numerically (1.9 < 1.19 < 1.29). */
function newerThan(a: string, b: string): boolean {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am !== bm ? am > bm : an > bn;
}

/** Validates offline against the schema the manifest names; never fetches it. */
export async function validateManifest(manifest: Record<string, unknown>): Promise<string[]> {
  const match = /\/teams\/v(\d+\.\d+)\/MicrosoftTeams\.schema\.json$/.exec(String(manifest.$schema ?? ''));
  if (!match) return [`$schema ${JSON.stringify(manifest.$schema)} is not a Teams manifest schema URL`];
  if (match[1] !== manifest.manifestVersion) return [`$schema is v${match[1]} but manifestVersion is ${JSON.stringify(manifest.manifestVersion)}`];
  if (newerThan(match[1]!, MANIFEST_SCHEMA_VERSION)) return [`manifest schema v${match[1]} is newer than v${MANIFEST_SCHEMA_VERSION}, the newest Teams publishes: write the manifest against v${MANIFEST_SCHEMA_VERSION}`];
  let schema: unknown;
  try {
    schema = JSON.parse(readFileSync(schemaPath(match[1]!), 'utf8').replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b'));
  } catch (e) {
    return [`the Teams manifest schema v${match[1]} is not available offline in @microsoft/app-manifest: ${(e as Error).message}`];
  }
  // The package's types name a generated manifest type; any JSON object is what we validate.
  return AppManifestUtils.validateAgainstSchema(manifest as never, schema as never);
}

/** Reads an icon and checks it is a PNG of the size Teams requires (and that outline is white). */
export function checkIcon(name: keyof typeof ICONS, bytes: Buffer): string[] {
  const size = ICONS[name];
  let image;
  try {
    image = decodePng(bytes);
  } catch (e) {
    return [`${name} is not a readable PNG: ${(e as Error).message}`];
  }
  const problems: string[] = [];
  if (image.width !== size || image.height !== size) problems.push(`${name} is ${image.width}x${image.height}, Teams requires ${size}x${size}`);
  if (name === 'outline.png') {
    for (let i = 0; i < image.pixels.length; i += 4) {
      if (image.pixels[i + 3]! > 0 && (image.pixels[i] !== 255 || image.pixels[i + 1] !== 255 || image.pixels[i + 2] !== 255)) {
        problems.push('outline.png must be white on transparent');
        break;
      }
    }
  }
  return problems;
}

export interface BuiltPackage {
  zipPath: string;
  manifest: Record<string, unknown>;
  bytes: number;
}

export async function buildPackage(settings: PackageSettings, outDir = join(MANIFEST_DIR, 'build'), iconDir = MANIFEST_DIR): Promise<BuiltPackage> {
  const manifest = renderManifest(settings);
  const problems = (await validateManifest(manifest)).map((p) => `manifest schema: ${p}`);
  const icons = Object.fromEntries(Object.keys(ICONS).map((name) => [name, readFileSync(join(iconDir, name))])) as Record<keyof typeof ICONS, Buffer>;
  for (const name of Object.keys(ICONS) as Array<keyof typeof ICONS>) problems.push(...checkIcon(name, icons[name]));
  if (problems.length > 0) throw new ManifestPackageError(problems);

  const zip = new JSZip();
  // A fixed date keeps the archive byte-identical across runs with the same inputs.
  const date = new Date('2000-01-01T00:00:00Z');
  zip.file('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`, { date });
  zip.file('color.png', icons['color.png'], { date });
  zip.file('outline.png', icons['outline.png'], { date });
  const content = await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } });
  mkdirSync(outDir, { recursive: true });
  const zipPath = join(outDir, `app-${settings.version}.zip`);
  writeFileSync(zipPath, content);
  return { zipPath, manifest, bytes: content.length };
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(MANIFEST_DIR, '..', 'package.json'), 'utf8')) as { version: string }).version;
}

export async function main(argv: readonly string[], env: Record<string, string | undefined>): Promise<BuiltPackage> {
  const { outputsFile, stack, ...flags } = parseFlags(argv);
  let fromOutputs: RawSettings = {};
  if (outputsFile) {
    let text: string;
    try {
      text = readFileSync(resolve(outputsFile), 'utf8');
    } catch (e) {
      throw new ManifestPackageError([`cannot read --outputs-file ${outputsFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (scripts/deploy writes cdk.out/outputs-<stage>.json)`]);
    }
    fromOutputs = settingsFromOutputs(text, outputsFile, stack);
  }
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as typeof flags;
  const settings = resolveSettings({ ...fromOutputs, ...defined }, env, packageVersion());
  return buildPackage(settings, flags.outDir ? resolve(flags.outDir) : undefined);
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then(
    (built) => {
      console.log(`wrote ${built.zipPath} (${built.bytes} bytes): manifest v${MANIFEST_SCHEMA_VERSION} for bot ${String(built.manifest.id)}`);
      console.log('Upload it in Teams: Apps > Manage your apps > Upload an app > Upload a custom app.');
    },
    (error: unknown) => {
      console.error(error instanceof ManifestPackageError ? error.message : error);
      process.exitCode = 1;
    },
  );
}
