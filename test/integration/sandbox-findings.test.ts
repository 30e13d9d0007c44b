/**
 * `npm run sandbox:finding` end to end in-process: the sample HIGH finding imported through the
 * Security Hub client reaches the on-call channel through the REAL findings handler (the one the
 * EventBridge rule targets in AWS) and the bot; a re-import of the same finding is not posted twice.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SANDBOX_CREDENTIALS } from '../../sandbox/aws';
import { sampleHighFinding } from '../../sandbox/aws/security-hub';
import { injectSampleFinding } from '../../sandbox/finding';
import { startSandbox, type Sandbox } from '../../sandbox/orchestrator';
import { PLAYGROUND_IDS } from '../../sandbox/playground';
import { ConnectorRecorder } from '../support/connector-recorder';

describe('sandbox: Security Hub findings reach the on-call channel', function () {
  this.timeout(60_000);
  let connector: ConnectorRecorder;
  let sandbox: Sandbox;
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jit-findings-'));
    connector = new ConnectorRecorder();
    await connector.start();
    sandbox = await startSandbox({ dataDir, ports: { bot: 0, bridge: 0, aws: 0 }, playground: false, teamsServiceUrl: connector.url, reconcileIntervalMs: 0, logLevel: 'ERROR', log: () => undefined });
  });
  after(async () => {
    await sandbox?.stop();
    await connector?.close();
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });

  const findingPosts = () => connector.cards().filter(({ call, card }) => call.path === '/v3/conversations' && /Security Hub: \d+ finding/.test(JSON.stringify(card)));

  it('the sample HIGH finding is posted as a new thread in on-call, once', async () => {
    // Imported as the sandbox's own account: Security Hub refuses another AwsAccountId under the default product.
    const target = { endpoint: sandbox.urls.aws, region: sandbox.aws.region, accountId: sandbox.aws.accountId };
    const finding = await injectSampleFinding(target, undefined, Date.parse('2030-01-01T10:00:00Z'));
    const deadline = performance.now() + 15_000;
    while (findingPosts().length === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const posts = findingPosts();
    assert.equal(posts.length, 1, 'one findings card');
    const channel = (posts[0]!.call.body!.channelData as { channel: { id: string } }).channel.id;
    assert.equal(channel, PLAYGROUND_IDS.oncallChannel);
    assert.ok(JSON.stringify(posts[0]!.card).includes(String(finding.Title)), 'the finding title is on the card');
    assert.match(JSON.stringify(posts[0]!.card), /HIGH/);

    // The same finding (same id and update time) imported again is not posted again.
    await injectSampleFinding(target, undefined, Date.parse('2030-01-01T10:00:00Z'));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(findingPosts().length, 1);
  });

  it('the stack\'s findings rule is applied as EventBridge would: a finding of an account outside it, or below its severity, is not delivered', async () => {
    const before = findingPosts().length;
    const client = new SecurityHubClient({ endpoint: sandbox.urls.aws, region: sandbox.aws.region, credentials: { ...SANDBOX_CREDENTIALS }, maxAttempts: 1 });
    try {
      const at = Date.parse('2030-01-01T11:00:00Z');
      const outside = { ...sampleHighFinding({ accountId: sandbox.aws.accountId, region: sandbox.aws.region, now: at, id: 'outside-1' }), ProductArn: `arn:aws:securityhub:${sandbox.aws.region}::product/example/partner`, AwsAccountId: '444444444444' };
      const low = { ...sampleHighFinding({ accountId: sandbox.aws.accountId, region: sandbox.aws.region, now: at, id: 'low-1' }), Severity: { Label: 'LOW' } };
      const out = await client.send(new BatchImportFindingsCommand({ Findings: [outside, low] as never }));
      assert.equal(out.SuccessCount, 2);
      await sandbox.aws.securityHub.idle();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(findingPosts().length, before);
    } finally {
      client.destroy();
    }
  });
});
