/**
 * `npm run bootstrap -- aws://ACCOUNT/REGION` must not synthesize the app: `cdk bootstrap` runs
 * the app named in cdk.json first unless told otherwise, and the app requires the `stage`
 * context (TOOLCHAIN.md, "CDK CLI"). With no credentials at all, the command must get past
 * synthesis and stop at the credentials: that error proves it never needed `stage`.
 * Bounded: a 60 s kill, the EC2 metadata lookup off, no AWS config files, no notices, no telemetry.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

function offlineEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // No credentials, profiles, endpoints or CDK defaults leak in from the machine.
    if (!/^(AWS_|CDK_)/.test(k)) env[k] = v;
  }
  return {
    ...env,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    // Anything that still tried the network would fail fast instead of hanging.
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '',
  };
}

function run(args: string[], home: string) {
  return spawnSync('npm', ['run', '--silent', ...args], { cwd: ROOT, env: offlineEnv(home), encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
}

describe('npm run bootstrap', function () {
  this.timeout(90_000);
  let home: string;
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'jit-bootstrap-'));
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  it('is a package script that tells cdk bootstrap not to run the app', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.match(scripts.bootstrap ?? '', /^cdk bootstrap --app ''$/);
  });

  it('gets past synthesis without any stage context and stops at the missing credentials', () => {
    const r = run(['bootstrap', '--', 'aws://111111111111/us-east-1', '--no-notices'], home);
    assert.equal(r.error, undefined, `did not finish: ${String(r.error)}`);
    const out = `${r.stdout}\n${r.stderr}`;
    assert.notEqual(r.status, 0, 'without credentials it cannot succeed');
    assert.doesNotMatch(out, /context key 'stage'|Invalid deployment configuration|infra\/app\.ts/, out);
    assert.match(out, /no credentials have been configured|Unable to resolve AWS account|credentials/i, out);
    assert.match(out, /111111111111/, 'it reached the per-account bootstrap step');
  });
});
