import { parseBotConfig } from '../../bot/config';
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import JSZip from 'jszip';
import { ACCENT_COLOR, colorIcon, outlineIcon } from '../../manifest/icons';
import { MANIFEST_DIR, MANIFEST_SCHEMA_VERSION, ManifestPackageError, buildPackage, checkIcon, main, parseFlags, renderManifest, resolveSettings, validateManifest } from '../../manifest/package';
import { decodePng, encodePng } from '../../manifest/png';

const PLACEHOLDER_ID = '00000000-0000-0000-0000-000000000000';
const BASE = 'https://jit.example.com';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ManifestPackageError, String(e));
    return e.problems;
  }
  assert.fail('expected a ManifestPackageError');
}

describe('manifest: settings', () => {
  it('takes flags over environment, normalizes the URL and derives the valid domain', () => {
    const s = resolveSettings(parseFlags(['--bot-app-id', 'AAAAAAAA-0000-0000-0000-000000000000', '--app-base-url=https://jit.example.com/']), { BOT_APP_ID: 'ignored', APP_VERSION: '2.3.4' }, '0.1.0');
    assert.deepEqual(s, { botAppId: 'aaaaaaaa-0000-0000-0000-000000000000', appBaseUrl: BASE, appDomain: 'jit.example.com', version: '2.3.4', sso: false });
    assert.equal(resolveSettings({}, { BOT_APP_ID: PLACEHOLDER_ID, APP_BASE_URL: BASE }, '0.1.0').version, '0.1.0');
  });

  it('reports every missing or invalid value at once, each saying how to fix it', () => {
    const missing = problemsOf(() => resolveSettings({}, {}, '0.1.0'));
    assert.equal(missing.length, 2);
    assert.match(missing[0]!, /BOT_APP_ID is missing: pass --bot-app-id or set BOT_APP_ID/);
    assert.match(missing[1]!, /APP_BASE_URL is missing/);

    const invalid = problemsOf(() => resolveSettings({ botAppId: 'my-bot', appBaseUrl: 'http://jit.example.com', version: '1.0' }, {}, '0.1.0'));
    assert.equal(invalid.length, 3);
    assert.match(invalid[0]!, /"my-bot" is not a GUID/);
    assert.match(invalid[1]!, /must use https/);
    assert.match(invalid[2]!, /"1.0" is not MAJOR.MINOR.PATCH/);

    for (const url of ['jit.example.com', 'https://jit.example.com:8443', 'https://u:p@jit.example.com', 'https://jit.example.com/?a=1']) {
      assert.equal(problemsOf(() => resolveSettings({ botAppId: PLACEHOLDER_ID, appBaseUrl: url }, {}, '0.1.0')).length, 1, url);
    }
    assert.match(problemsOf(() => resolveSettings({ botAppId: `${PLACEHOLDER_ID}0` }, { APP_BASE_URL: BASE }, '0.1.0'))[0]!, /not a GUID/);
  });

  it('rejects unknown flags and flags without values', () => {
    assert.match(problemsOf(() => parseFlags(['--bot-id', 'x']))[0]!, /unknown argument "--bot-id"/);
    assert.match(problemsOf(() => parseFlags(['--bot-app-id']))[0]!, /--bot-app-id needs a value/);
    assert.match(problemsOf(() => parseFlags(['--bot-app-id', '--sso']))[0]!, /needs a value/);
    assert.equal(parseFlags(['--sso']).sso, true);
  });
});

describe('manifest: rendering and schema validation', () => {
  const settings = resolveSettings({ botAppId: PLACEHOLDER_ID, appBaseUrl: BASE }, {}, '0.1.0');

  it('with placeholder ids the manifest validates against the Teams schema (offline)', async () => {
    const manifest = renderManifest(settings);
    assert.deepEqual(await validateManifest(manifest), []);
    assert.equal(manifest.manifestVersion, '1.29', 'the newest manifest schema Teams publishes');
    assert.equal(manifest.$schema, 'https://developer.microsoft.com/en-us/json-schemas/teams/v1.29/MicrosoftTeams.schema.json');
    assert.equal(MANIFEST_SCHEMA_VERSION, manifest.manifestVersion, 'the packager reports the version the template is written against');
    assert.equal(manifest.id, PLACEHOLDER_ID);
    assert.deepEqual(manifest.validDomains, ['jit.example.com']);
    assert.equal((manifest.developer as { privacyUrl: string }).privacyUrl, `${BASE}/privacy`);
    assert.equal(manifest.accentColor, ACCENT_COLOR);
    const [bot] = manifest.bots as Array<{ botId: string; scopes: string[]; supportsFiles: boolean; commandLists: Array<{ scopes: string[]; commands: Array<{ title: string }> }> }>;
    assert.equal(bot!.botId, PLACEHOLDER_ID);
    assert.deepEqual(bot!.scopes, ['personal', 'team']);
    assert.equal(bot!.supportsFiles, false);
    assert.deepEqual(bot!.commandLists[0]!.commands.map((c) => c.title), ['request', 'my requests', 'pending', 'help']);
    assert.equal(manifest.composeExtensions, undefined);
    assert.equal(manifest.webApplicationInfo, undefined);
    assert.ok(!JSON.stringify(manifest).includes('${'));
  });

  it('adds webApplicationInfo for SSO when asked, in the botid- form Teams bot SSO requires, still valid', async () => {
    const manifest = renderManifest({ ...settings, sso: true });
    // "Configure bot app in Microsoft Entra ID": a bot's Application ID URI is api://<domain>/botid-<app id>.
    assert.deepEqual(manifest.webApplicationInfo, { id: PLACEHOLDER_ID, resource: `api://jit.example.com/botid-${PLACEHOLDER_ID}` });
    assert.deepEqual(await validateManifest(manifest), []);
    // The same URI the bot is configured with (JIT_SSO_APPLICATION_ID_URI): the SSO token's audience.
    const sso = parseBotConfig({
      JIT_BOT_MODE: 'test',
      JIT_ALLOWED_TENANT_IDS: '00000000-0000-0000-0000-000000000000',
      JIT_BRIDGE_URL: 'http://127.0.0.1:1',
      JIT_NOTIFY_SECRET: 'test-notify-secret-0123456789-abcdefghij',
      JIT_ONCALL_TEAM_ID: '19:team@thread.tacv2',
      JIT_ONCALL_CHANNEL_ID: '19:oncall@thread.tacv2',
      JIT_SSO_CONNECTION_NAME: 'jit-sso',
      JIT_SSO_APPLICATION_ID_URI: (manifest.webApplicationInfo as { resource: string }).resource,
    }).sso;
    assert.equal(sso?.appId, PLACEHOLDER_ID.toLowerCase());
  });

  it('schema violations are reported, not ignored', async () => {
    const manifest = renderManifest(settings);
    delete manifest.developer;
    (manifest.bots as Array<Record<string, unknown>>)[0]!.scopes = ['personal', 'everywhere'];
    const problems = await validateManifest(manifest);
    assert.ok(problems.some((p) => /developer/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /scopes/.test(p)), problems.join('\n'));
    assert.match((await validateManifest({ ...renderManifest(settings), manifestVersion: '1.20' }))[0]!, /manifestVersion/);
  });

  it('a schema newer than the newest Teams publishes is refused, though @microsoft/app-manifest ships it (v1.30)', async () => {
    const v130 = { ...renderManifest(settings), manifestVersion: '1.30', $schema: 'https://developer.microsoft.com/en-us/json-schemas/teams/v1.30/MicrosoftTeams.schema.json' };
    assert.match((await validateManifest(v130)).join('\n'), /v1\.30 is newer than v1\.29, the newest Teams publishes/);
    // Older schemas stay acceptable (Teams keeps accepting them): only "newer than published" is refused.
    const v119 = { ...renderManifest(settings), manifestVersion: '1.19', $schema: 'https://developer.microsoft.com/en-us/json-schemas/teams/v1.19/MicrosoftTeams.schema.json' };
    assert.deepEqual(await validateManifest(v119), []);
  });

  it('template values are JSON-escaped and unknown placeholders are refused', () => {
    assert.match(problemsOf(() => renderManifest(settings, '{"a":"${NOT_KNOWN}"}'))[0]!, /NOT_KNOWN/);
    assert.deepEqual(renderManifest({ ...settings, appBaseUrl: 'https://x.example.com/a"b' }, '{"u":"${APP_BASE_URL}"}'), { u: 'https://x.example.com/a"b' });
  });
});

describe('manifest: icons and the zip', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-manifest-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the committed icons are what the generator draws, at the sizes Teams requires', () => {
    assert.ok(readFileSync(join(MANIFEST_DIR, 'color.png')).equals(colorIcon()), 'color.png is stale: run npx tsx manifest/icons.ts');
    assert.ok(readFileSync(join(MANIFEST_DIR, 'outline.png')).equals(outlineIcon()), 'outline.png is stale: run npx tsx manifest/icons.ts');
    assert.deepEqual(checkIcon('color.png', colorIcon()), []);
    assert.deepEqual(checkIcon('outline.png', outlineIcon()), []);
    const outline = decodePng(outlineIcon());
    const alphas = new Set<number>();
    for (let i = 0; i < outline.pixels.length; i += 4) alphas.add(outline.pixels[i + 3]!);
    assert.ok(alphas.has(0) && alphas.has(255), 'outline has both transparent and opaque pixels');
  });

  it('wrong sizes, non-white outlines and non-PNG files are caught', () => {
    assert.match(checkIcon('color.png', outlineIcon())[0]!, /32x32, Teams requires 192x192/);
    const red = encodePng({ width: 32, height: 32, pixels: new Uint8Array(32 * 32 * 4).fill(255).map((v, i) => (i % 4 === 1 || i % 4 === 2 ? 0 : v)) });
    assert.match(checkIcon('outline.png', red)[0]!, /white on transparent/);
    assert.match(checkIcon('outline.png', Buffer.from('GIF89a'))[0]!, /not a readable PNG/);
  });

  it('packages exactly manifest.json, color.png and outline.png into app-<version>.zip', async () => {
    const built = await main(['--bot-app-id', PLACEHOLDER_ID, '--app-base-url', BASE, '--version', '1.2.3', '--out-dir', dir], {});
    assert.equal(built.zipPath, join(dir, 'app-1.2.3.zip'));
    const zip = await JSZip.loadAsync(readFileSync(built.zipPath));
    assert.deepEqual(Object.keys(zip.files).sort(), ['color.png', 'manifest.json', 'outline.png']);
    const manifest = JSON.parse(await zip.file('manifest.json')!.async('string')) as Record<string, unknown>;
    assert.equal(manifest.version, '1.2.3');
    assert.deepEqual(await validateManifest(manifest), []);
    const color = decodePng(await zip.file('color.png')!.async('nodebuffer'));
    const outline = decodePng(await zip.file('outline.png')!.async('nodebuffer'));
    assert.deepEqual([color.width, color.height, outline.width, outline.height], [192, 192, 32, 32]);
    // Same inputs, same bytes: the package is reproducible.
    const again = await main(['--bot-app-id', PLACEHOLDER_ID, '--app-base-url', BASE, '--version', '1.2.3', '--out-dir', dir], {});
    assert.equal(again.bytes, built.bytes);
  });

  it('refuses to package with missing ids or a broken icon, and writes nothing', async () => {
    await assert.rejects(main(['--out-dir', dir], {}), (e: unknown) => e instanceof ManifestPackageError && /BOT_APP_ID is missing/.test(e.message));
    const settings = resolveSettings({ botAppId: PLACEHOLDER_ID, appBaseUrl: BASE }, {}, '0.1.0');
    const iconDir = join(dir, 'icons');
    const out = join(dir, 'out');
    rmSync(iconDir, { recursive: true, force: true });
    mkdirSync(iconDir);
    copyFileSync(join(MANIFEST_DIR, 'color.png'), join(iconDir, 'outline.png'));
    writeFileSync(join(iconDir, 'color.png'), Buffer.from('not a png'));
    await assert.rejects(buildPackage(settings, out, iconDir), (e: unknown) => e instanceof ManifestPackageError && /color.png is not a readable PNG/.test(e.message) && /outline.png is 192x192, Teams requires 32x32/.test(e.message));
    assert.throws(() => readFileSync(join(out, 'app-0.1.0.zip')));
  });
});

describe('manifest: values from the stack outputs file (cdk deploy --outputs-file)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-manifest-outputs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const BOT = '00000000-0000-0000-0000-0000000000b0';
  const write = (name: string, doc: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
    return file;
  };

  it('takes the bot app id and the base URL (origin of the messaging endpoint) from the stack\'s outputs; flags still win', async () => {
    const file = write('outputs.json', { 'JitAccess-dev': { BotAppId: BOT, BotMessagingEndpoint: 'https://abc123defg.execute-api.us-east-1.amazonaws.com/api/messages', BridgeBridgeUrl1A2B3C4D: 'https://x' } });
    const built = await main(['--outputs-file', file, '--version', '1.0.0', '--out-dir', join(dir, 'a')], {});
    assert.equal(built.manifest.id, BOT);
    assert.deepEqual(built.manifest.validDomains, ['abc123defg.execute-api.us-east-1.amazonaws.com']);
    const flagWins = await main(['--outputs-file', file, '--app-base-url', BASE, '--version', '1.0.0', '--out-dir', join(dir, 'b')], {});
    assert.deepEqual(flagWins.manifest.validDomains, ['jit.example.com']);
  });

  it('several stacks need --stack; a stack without the bot needs --app-base-url; bad files are named', async () => {
    const two = write('two.json', { 'JitAccess-dev': { BotAppId: BOT, BotMessagingEndpoint: 'https://dev.example.com/api/messages' }, 'JitAccess-prod': { BotAppId: BOT, BotMessagingEndpoint: 'https://prod.example.com/api/messages' } });
    await assert.rejects(main(['--outputs-file', two, '--out-dir', join(dir, 'c')], {}), /several stacks \(JitAccess-dev, JitAccess-prod\): pass --stack/);
    const prod = await main(['--outputs-file', two, '--stack', 'JitAccess-prod', '--version', '1.0.0', '--out-dir', join(dir, 'd')], {});
    assert.deepEqual(prod.manifest.validDomains, ['prod.example.com']);
    const selfHosted = write('self.json', { 'JitAccess-dev': { BotAppId: BOT } });
    await assert.rejects(main(['--outputs-file', selfHosted, '--out-dir', join(dir, 'e')], {}), /APP_BASE_URL is missing/);
    assert.equal((await main(['--outputs-file', selfHosted, '--app-base-url', BASE, '--version', '1.0.0', '--out-dir', join(dir, 'f')], {})).manifest.id, BOT);
    await assert.rejects(main(['--outputs-file', write('bad.json', '{"JitAccess-dev": '), '--out-dir', join(dir, 'g')], {}), /bad\.json is not JSON/);
    await assert.rejects(main(['--outputs-file', join(dir, 'missing.json'), '--out-dir', join(dir, 'h')], {}), /cannot read --outputs-file .*missing\.json: ENOENT/);
    await assert.rejects(main(['--outputs-file', write('none.json', { Other: {} }), '--out-dir', join(dir, 'i')], {}), /holds no JitAccess-<stage> stack/);
  });
});
