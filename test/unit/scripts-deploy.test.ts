import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { startAwsStandIns } from '../../sandbox/aws';

/**
 * scripts/deploy with a fake `aws` CLI (sts only) and a fake `npx cdk` on PATH, and the sandbox
 * AWS stand-ins answering the read-only preflight (scripts/preflight.ts) over HTTP: the checks
 * must stop a wrong deploy with a clear message before CloudFormation is ever reached.
 */
const INSTANCE = 'arn:aws:sso:::instance/ssoins-1111111111111111';
const CONTEXT = {
  ssoInstanceArn: INSTANCE,
  identityStoreId: 'd-1111111111',
  entraTenantId: '00000000-0000-0000-0000-000000000000',
  bridgeAudience: '00000000-0000-4000-8000-0000000b71d6',
  botAppId: '00000000-0000-0000-0000-000000000000',
  approvalChannelId: '19:abc@thread.tacv2',
  botNotifyUrl: 'https://bot.example.com/api/notify',
  oncallTeamId: '19:team@thread.tacv2',
};

interface Fake {
  dir: string;
  contextFile: string;
  awsLog: string;
  cdkLog: string;
  run(args: string[], env?: Record<string, string>): { status: number | null; stdout: string; stderr: string };
  /** Like run, without blocking the event loop (the stand-ins answer in this process). */
  runAsync(args: string[], env?: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }>;
}

function fake(): Fake {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-'));
  const bin = join(dir, 'bin');
  const awsLog = join(dir, 'aws.log');
  const cdkLog = join(dir, 'cdk.log');
  spawnSync('mkdir', ['-p', bin]);
  // The fake aws answers from env vars so each test shapes the account it "sees".
  writeFileSync(
    join(bin, 'aws'),
    `#!/usr/bin/env bash
echo "$*" >> ${JSON.stringify(awsLog)}
case "$1 $2" in
  "sts get-caller-identity") [ -n "$FAKE_NO_CREDS" ] && { echo "Unable to locate credentials" >&2; exit 255; }
    echo '{"Account":"${DEPLOYER}","Arn":"arn:aws:iam::${DEPLOYER}:role/deployer","UserId":"X"}' ;;
  "configure get") echo us-east-1 ;;
  *) echo "unexpected aws $*" >&2; exit 9 ;;
esac
`,
  );
  const realNpx = spawnSync('bash', ['-c', 'command -v npx'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(
    join(bin, 'npx'),
    `#!/usr/bin/env bash
if [ "$1" = --no-install ] && [ "$2" = cdk ]; then
  echo "$*" >> ${JSON.stringify(cdkLog)}
  # Like cdk deploy --outputs-file: the stack outputs the test gives in FAKE_OUTPUTS.
  prev=""; for a in "$@"; do if [ "$prev" = --outputs-file ] && [ -n "$FAKE_OUTPUTS" ]; then mkdir -p "$(dirname "$a")"; printf '%s' "$FAKE_OUTPUTS" > "$a"; fi; prev="$a"; done
  exit 0
fi
exec ${JSON.stringify(realNpx)} "$@"
`,
  );
  chmodSync(join(bin, 'aws'), 0o755);
  chmodSync(join(bin, 'npx'), 0o755);
  const contextFile = join(dir, 'dev.json');
  writeFileSync(contextFile, JSON.stringify(CONTEXT));
  return {
    dir,
    contextFile,
    awsLog,
    cdkLog,
    run(args, env = {}) {
      const r = spawnSync('bash', ['scripts/deploy', ...args], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}`, AWS_REGION: 'us-east-1', ...env },
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    runAsync(args, env = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn('bash', ['scripts/deploy', ...args], { env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}`, AWS_REGION: 'us-east-1', ...env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
        child.on('error', reject);
        child.on('close', (status) => {
          clearTimeout(timer);
          resolve({ status, stdout, stderr });
        });
      });
    },
  };
}

const DEPLOYER = '444444444444';

/** The stand-ins as the deploying account sees them: Identity Center's delegated administrator. */
async function aws(options: Parameters<typeof startAwsStandIns>[0] = {}): Promise<{ env: Record<string, string>; stop(): Promise<void> }> {
  const standIns = await startAwsStandIns({ port: 0, dataDir: false, region: 'us-east-1', accountId: DEPLOYER, ...options });
  return { env: { ...standIns.env, AWS_ENDPOINT_URL: standIns.endpoint, AWS_EC2_METADATA_DISABLED: 'true' }, stop: () => standIns.stop() };
}

describe('scripts/deploy: preflight checks', function () {
  this.timeout(120_000);

  it('refuses a missing or unknown stage', () => {
    const f = fake();
    const none = f.run([]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /missing stage/);
    const staging = f.run(['staging']);
    assert.equal(staging.status, 1);
    assert.match(staging.stderr, /unknown stage 'staging': use dev or prod/);
  });

  it('lists every missing context key by name and never calls AWS', () => {
    const f = fake();
    const r = f.run(['dev', '-c', 'botAppId=00000000-0000-0000-0000-000000000000']);
    assert.equal(r.status, 1);
    for (const key of ['ssoInstanceArn', 'identityStoreId', 'entraTenantId', 'bridgeAudience', 'approvalChannelId', 'policyFile', 'oncallTeamId']) {
      assert.match(r.stderr, new RegExp(`missing: ${key} `));
    }
    assert.doesNotMatch(r.stderr, /missing: botAppId/);
    // The hosted bot gets its notices over IAM: no notify URL to ask for.
    assert.doesNotMatch(r.stderr, /missing: botNotifyUrl/);
    assert.match(r.stderr, /7 required context key\(s\) missing/);
    assert.ok(!existsSync(f.awsLog));
    // Hosting the bot yourself: the stack does not need the on-call team.
    const selfHosted = f.run(['dev', '-c', 'botAppId=00000000-0000-0000-0000-000000000000', '-c', 'hostBot=false']);
    assert.match(selfHosted.stderr, /7 required context key\(s\) missing/);
    assert.doesNotMatch(selfHosted.stderr, /missing: oncallTeamId/);
    assert.match(selfHosted.stderr, /missing: botNotifyUrl /);
  });

  it('an invalid policy file stops the deploy with errors naming the field', () => {
    const f = fake();
    const bad = join(f.dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\naccounts: []\npermissionSets: []\nrules:\n  - id: r1\n    aproverGroups: [x]\n');
    const r = f.run(['dev', '--context-file', f.contextFile, '--policy', bad]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the policy file .*bad\.yaml is invalid/);
    assert.match(r.stderr, /rules/);
    assert.ok(!existsSync(f.cdkLog));
  });

  it('--dry-run checks locally, prints the AWS calls and the cdk command, and runs neither', () => {
    const f = fake();
    const r = f.run(['dev', '--context-file', f.contextFile, '--policy', 'infra/policy.example.yaml', '-c', 'alarmEmail=ops@example.com', '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ok: 4 rules, 2 accounts, 3 permission sets/);
    assert.match(r.stdout, /would run: aws sts get-caller-identity/);
    assert.match(r.stdout, /cdk deploy JitAccess-dev -c stage=dev .*-c alarmEmail=ops@example\.com .*-c policyFile=infra\/policy\.example\.yaml --outputs-file cdk\.out\/outputs-dev\.json --require-approval broadening/);
    assert.match(r.stdout, /the bot's messaging endpoint \(output BotMessagingEndpoint\) is printed here/);
    assert.match(r.stdout, /Dry run: nothing was deployed/);
    assert.ok(!existsSync(f.awsLog), 'no AWS call in a dry run');
    assert.ok(!existsSync(f.cdkLog), 'no deploy in a dry run');
  });

  it('no credentials: a clear error, no deploy', () => {
    const f = fake();
    const r = f.run(['dev', '--context-file', f.contextFile, '--policy', 'infra/policy.example.yaml'], { FAKE_NO_CREDS: '1' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no working AWS credentials/);
    assert.ok(!existsSync(f.cdkLog));
  });

  it('the Identity Center instance is not in this account/Region, and Security Hub is off: every problem listed, no deploy', async () => {
    const f = fake();
    const stand = await aws({ identityCenter: { instanceArn: 'arn:aws:sso:::instance/ssoins-2222222222222222', permissionSets: [], preexistingAssignments: [] }, securityHubAccount: { enabled: false } });
    try {
      const r = await f.runAsync(['dev', '--context-file', f.contextFile, '--policy', 'infra/policy.example.yaml'], stand.env);
      assert.equal(r.status, 1);
      assert.match(r.stdout, /problem: instance arn:aws:sso:::instance\/ssoins-1111111111111111 is not visible in account 444444444444, Region us-east-1/);
      assert.match(r.stdout, /problem: Security Hub is not enabled in account 444444444444/);
      assert.match(r.stderr, /the AWS preflight found problems/);
      assert.ok(!existsSync(f.cdkLog));
    } finally {
      await stand.stop();
    }
  });

  it('an identity store id that is not the instance\'s, a policy account outside the organization: a clear error, no deploy', async () => {
    const f = fake();
    const stand = await aws({ organizations: { accounts: [{ id: '111111111111', name: 'workloads-dev' }, { id: DEPLOYER, name: 'identity' }] } });
    try {
      const r = await f.runAsync(['dev', '--context-file', f.contextFile, '--policy', 'infra/policy.example.yaml', '-c', 'identityStoreId=d-9999999999'], stand.env);
      assert.equal(r.status, 1);
      assert.match(r.stdout, /identityStoreId is d-9999999999 but the instance's identity store is d-1111111111/);
      assert.match(r.stdout, /policy accounts not in the organization: 222222222222 \(workloads-prod\)/);
      assert.ok(!existsSync(f.cdkLog));
    } finally {
      await stand.stop();
    }
  });

  it('all checks pass: runs cdk deploy for the stage with every context key and approval of broadening changes', async () => {
    const f = fake();
    const stand = await aws();
    let r: { status: number | null; stdout: string; stderr: string };
    try {
      r = await f.runAsync(['prod', '--context-file', f.contextFile, '--policy', 'infra/policy.example.yaml', '--outputs-file', join(f.dir, 'outputs.json'), '--', '--profile', 'jit-prod'], {
        ...stand.env,
        FAKE_OUTPUTS: JSON.stringify({ 'JitAccess-prod': { BotMessagingEndpoint: 'https://abc123defg.execute-api.us-east-1.amazonaws.com/api/messages', BotAppId: CONTEXT.botAppId, BotCredentialsSecretArn: 'arn:aws:secretsmanager:us-east-1:444444444444:secret:jit-access-prod/bot-credentials-AbCdEf' } }),
      });
    } finally {
      await stand.stop();
    }
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ok: account 444444444444 is IAM Identity Center's delegated administrator/);
    assert.match(r.stdout, /preflight passed/);
    const cdk = readFileSync(f.cdkLog, 'utf8');
    assert.match(cdk, /^--no-install cdk deploy JitAccess-prod -c stage=prod /);
    assert.match(cdk, /-c ssoInstanceArn=arn:aws:sso:::instance\/ssoins-1111111111111111/);
    assert.match(cdk, /--require-approval broadening --profile jit-prod\n$/);
    assert.match(cdk, new RegExp(`--outputs-file ${join(f.dir, 'outputs.json')} `), 'the outputs are written for package:manifest');
    // One deploy: the bot's messaging endpoint to paste into the Azure Bot resource, and the next steps.
    assert.match(r.stdout, /Messaging endpoint of the bot; paste it into the Azure Bot resource/);
    assert.match(r.stdout, /^ {4}https:\/\/abc123defg\.execute-api\.us-east-1\.amazonaws\.com\/api\/messages$/m);
    assert.match(r.stdout, /npm run package:manifest -- --outputs-file .*outputs\.json/);
    assert.match(r.stdout, /jit-access-prod\/bot-credentials/);
    assert.doesNotMatch(cdk, /@aws-cdk\//, 'feature flags stay in cdk.json');
    const awsCli = readFileSync(f.awsLog, 'utf8');
    assert.match(awsCli, /sts get-caller-identity/);
  });

  it('refuses -c stage=... (the stage is the first argument) and unknown options', () => {
    const f = fake();
    assert.match(f.run(['dev', '-c', 'stage=prod']).stderr, /the stage is the first argument/);
    assert.match(f.run(['dev', '--yolo']).stderr, /unknown option --yolo/);
  });
});
