/**
 * The Security Hub stand-in through the REAL @aws-sdk/client-securityhub, the EventBridge-shaped
 * events it emits, and the `npm run sandbox:finding` command.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BatchImportFindingsCommand, BatchUpdateFindingsCommand, GetFindingsCommand, InvalidInputException, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { type AwsStandIns, ManualClock, startAwsStandIns } from '../../sandbox/aws';
import { type SecurityHubImportedEvent, sampleHighFinding } from '../../sandbox/aws/security-hub';
import { SandboxNotRunningError, injectSampleFinding, readSandboxEndpoints } from '../../sandbox/finding';
import { DEMO_PRODUCT_ACCOUNT_ID } from '../../sandbox/seed';
import { FakeClock } from '../../core/memory';
import type { SecurityFinding } from '../../core/model';
import { DependencyError } from '../../core/errors';
import { SecurityHubFindingsSink, toAsff } from '../../lambdas/adapters/securityhub-findings';
import { recordingMetrics } from '../../lambdas/observability/emf';

/** The stand-in's own (calling) account: with the default product only its findings are accepted. */
const ACCOUNT = DEMO_PRODUCT_ACCOUNT_ID;
const MEMBER = '222222222222';

function finding(id: string, label: 'LOW' | 'HIGH' | 'CRITICAL', extra: Record<string, unknown> = {}) {
  return { ...sampleHighFinding({ accountId: ACCOUNT, now: Date.UTC(2030, 0, 1), id }), Severity: { Label: label }, ...extra };
}

describe('sandbox Security Hub stand-in (real securityhub SDK client)', () => {
  let aws: AwsStandIns;
  let client: SecurityHubClient;
  let events: SecurityHubImportedEvent[];

  const start = async (dataDir: string | false = false) => {
    aws = await startAwsStandIns({ port: 0, dataDir, clock: new ManualClock(), securityHub: { log: () => undefined } });
    events = [];
    aws.securityHub.onFindingsImported((e) => {
      events.push(e);
    });
    client = new SecurityHubClient({ ...aws.clientConfig, maxAttempts: 1 });
  };
  afterEach(async () => {
    client?.destroy();
    await aws?.stop();
  });

  it('stores imported findings, deduplicates by Id and updates on re-import', async () => {
    await start();
    const first = await client.send(new BatchImportFindingsCommand({ Findings: [finding('f-1', 'HIGH'), finding('f-2', 'LOW')] as never }));
    assert.equal(first.SuccessCount, 2);
    assert.equal(first.FailedCount, 0);
    const updated = await client.send(new BatchImportFindingsCommand({ Findings: [finding('f-1', 'CRITICAL', { Title: 'Escalated', UpdatedAt: '2030-01-01T01:00:00.000Z' })] as never }));
    assert.equal(updated.SuccessCount, 1);
    const all = await client.send(new GetFindingsCommand({}));
    assert.equal(all.Findings?.length, 2);
    const f1 = all.Findings?.find((f) => f.Id === 'f-1');
    assert.equal(f1?.Title, 'Escalated');
    assert.equal(f1?.Severity?.Label, 'CRITICAL');
    assert.equal(aws.securityHub.list().find((s) => s.finding.Id === 'f-1')?.imports, 2);
  });

  it('emits one EventBridge "Security Hub Findings - Imported" event per imported finding, updates included', async () => {
    await start();
    await client.send(new BatchImportFindingsCommand({ Findings: [finding('f-1', 'HIGH'), finding('f-2', 'LOW')] as never }));
    await client.send(new BatchImportFindingsCommand({ Findings: [finding('f-1', 'CRITICAL', { UpdatedAt: '2030-01-01T00:05:00.000Z' })] as never }));
    await aws.securityHub.idle();
    assert.equal(events.length, 3);
    const e = events[0]!;
    assert.equal(e['detail-type'], 'Security Hub Findings - Imported');
    assert.equal(e.source, 'aws.securityhub');
    assert.equal(e.account, aws.accountId);
    assert.equal(e.region, 'us-east-1');
    assert.match(e.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.equal(e.detail.findings.length, 1);
    assert.equal(e.detail.findings[0]?.Id, 'f-1');
    assert.deepEqual(e.resources, [`${e.detail.findings[0]?.ProductArn}/f-1`]);
    assert.equal(events[2]?.detail.findings[0]?.Severity?.Label, 'CRITICAL');
  });

  it('a failing listener does not fail the import', async () => {
    await start();
    aws.securityHub.onFindingsImported(() => {
      throw new Error('channel unavailable');
    });
    const out = await client.send(new BatchImportFindingsCommand({ Findings: [finding('f-9', 'HIGH')] as never }));
    assert.equal(out.SuccessCount, 1);
    await aws.securityHub.idle();
    assert.equal(events.length, 1);
  });

  it('reports findings that break the format per finding, stores the rest, and emits nothing for the failures', async () => {
    await start();
    const { Types: _drop, ...noTypes } = finding('bad-1', 'HIGH');
    const out = await client.send(new BatchImportFindingsCommand({ Findings: [noTypes, finding('good-1', 'HIGH'), finding('bad-2', 'HIGH', { CreatedAt: '01/01/2030' })] as never }));
    assert.equal(out.SuccessCount, 1);
    assert.equal(out.FailedCount, 2);
    assert.deepEqual(out.FailedFindings?.map((f) => [f.Id, f.ErrorCode]), [['bad-1', 'InvalidInput'], ['bad-2', 'InvalidInput']]);
    assert.match(out.FailedFindings?.[0]?.ErrorMessage ?? '', /^Finding does not adhere to Amazon Finding Format\. data\.Types/);
    assert.match(out.FailedFindings?.[1]?.ErrorMessage ?? '', /CreatedAt/);
    await aws.securityHub.idle();
    assert.deepEqual(events.map((e) => e.detail.findings[0]?.Id), ['good-1']);
    assert.deepEqual(aws.securityHub.list().map((s) => s.finding.Id), ['good-1']);
  });

  it('refuses a batch of more than 100 findings (InvalidInputException) and stores none', async () => {
    await start();
    const batch = Array.from({ length: 101 }, (_, i) => finding(`f-${i}`, 'LOW'));
    await assert.rejects(client.send(new BatchImportFindingsCommand({ Findings: batch as never })), InvalidInputException);
    assert.deepEqual(aws.securityHub.list(), []);
  });

  it('enforces the ASFF required attributes per finding: Severity (Label or Normalized), Types, Resources 1..32 with Type and Id, SchemaVersion, ISO 8601 times', async () => {
    await start();
    const { Severity: _s, ...noSeverity } = finding('no-severity', 'HIGH');
    const cases = [
      noSeverity,
      finding('empty-severity', 'HIGH', { Severity: {} }),
      finding('empty-types', 'HIGH', { Types: [] }),
      finding('no-resources', 'HIGH', { Resources: [] }),
      finding('33-resources', 'HIGH', { Resources: Array.from({ length: 33 }, (_, i) => ({ Type: 'Other', Id: `r-${i}` })) }),
      finding('resource-without-type', 'HIGH', { Resources: [{ Id: 'r-1' }] }),
      finding('old-schema', 'HIGH', { SchemaVersion: '2017-01-01' }),
      finding('bad-time', 'HIGH', { UpdatedAt: 'yesterday' }),
    ];
    const out = await client.send(new BatchImportFindingsCommand({ Findings: cases as never }));
    assert.equal(out.SuccessCount, 0);
    assert.deepEqual(out.FailedFindings?.map((f) => f.Id), cases.map((c) => c.Id));
    assert.ok(out.FailedFindings?.every((f) => f.ErrorCode === 'InvalidInput'));
    assert.deepEqual(aws.securityHub.list(), []);
  });

  it('refuses a finding over 240 KB on its own (FailedFindings), and imports the rest of the batch', async () => {
    await start();
    const big = finding('big', 'HIGH', { ProductFields: { blob: 'x'.repeat(240 * 1024) } });
    const out = await client.send(new BatchImportFindingsCommand({ Findings: [big, finding('small', 'HIGH')] as never }));
    assert.equal(out.SuccessCount, 1);
    assert.deepEqual(out.FailedFindings?.map((f) => [f.Id, f.ErrorCode]), [['big', 'InvalidInput']]);
    assert.match(out.FailedFindings?.[0]?.ErrorMessage ?? '', /240 KB/);
    assert.deepEqual(aws.securityHub.list().map((x) => x.finding.Id), ['small']);
  });

  it('a missing required member of the API model fails the whole call (InvalidInputException) and stores nothing', async () => {
    await start();
    const { Title: _t, ...noTitle } = finding('no-title', 'HIGH');
    await assert.rejects(client.send(new BatchImportFindingsCommand({ Findings: [finding('ok', 'HIGH'), noTitle] as never })), (e: Error) => e.name === 'InvalidInputException' && /findings\.2\.member\.title/.test(e.message));
    assert.deepEqual(aws.securityHub.list(), []);
  });

  it('the default product ARN: AwsAccountId must be the calling account, and the product must be its own (AccessDeniedException, nothing stored)', async () => {
    await start();
    const memberFinding = finding('member', 'HIGH', { AwsAccountId: MEMBER });
    await assert.rejects(client.send(new BatchImportFindingsCommand({ Findings: [finding('ok', 'HIGH'), memberFinding] as never })), (e: Error) => e.name === 'AccessDeniedException' && /securityhub:BatchImportFindings/.test(e.message));
    const otherProduct = finding('other-product', 'HIGH', { ProductArn: `arn:aws:securityhub:us-east-1:${MEMBER}:product/${MEMBER}/default`, AwsAccountId: MEMBER });
    await assert.rejects(client.send(new BatchImportFindingsCommand({ Findings: [otherProduct] as never })), (e: Error) => e.name === 'AccessDeniedException');
    assert.deepEqual(aws.securityHub.list(), []);
  });

  it('a re-import cannot change the customer\'s Workflow; archiving then re-activating resets it to NEW', async () => {
    await start();
    await client.send(new BatchImportFindingsCommand({ Findings: [finding('wf', 'HIGH', { Workflow: { Status: 'NEW' } })] as never }));
    const stored = () => aws.securityHub.list().find((x) => x.finding.Id === 'wf')!.finding as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- ASFF JSON
    await client.send(new BatchImportFindingsCommand({ Findings: [finding('wf', 'HIGH', { Workflow: { Status: 'RESOLVED' }, RecordState: 'ARCHIVED', UpdatedAt: '2030-01-01T01:00:00.000Z' })] as never }));
    assert.equal(stored().Workflow.Status, 'NEW', 'Workflow is ignored on update');
    assert.equal(stored().RecordState, 'ARCHIVED', 'RecordState is the provider\'s');
    // The customer's side (BatchUpdateFindings) resolves the workflow; UpdatedAt stays.
    const upd = await client.send(new BatchUpdateFindingsCommand({ FindingIdentifiers: [{ Id: 'wf', ProductArn: String(stored().ProductArn) }, { Id: 'nope', ProductArn: String(stored().ProductArn) }], Workflow: { Status: 'RESOLVED' } }));
    assert.deepEqual(upd.ProcessedFindings?.map((f) => f.Id), ['wf']);
    assert.deepEqual(upd.UnprocessedFindings?.map((f) => [f.FindingIdentifier?.Id, f.ErrorCode]), [['nope', 'FindingNotFound']]);
    assert.equal(stored().Workflow.Status, 'RESOLVED');
    assert.equal(stored().UpdatedAt, '2030-01-01T01:00:00.000Z');
    await client.send(new BatchImportFindingsCommand({ Findings: [finding('wf', 'HIGH', { RecordState: 'ACTIVE', UpdatedAt: '2030-01-01T02:00:00.000Z' })] as never }));
    assert.equal(stored().Workflow.Status, 'NEW', 'un-archiving resets the workflow');
    assert.equal(stored().RecordState, 'ACTIVE');
    await assert.rejects(client.send(new BatchUpdateFindingsCommand({ FindingIdentifiers: [] })), InvalidInputException);
    await assert.rejects(client.send(new BatchUpdateFindingsCommand({ FindingIdentifiers: [{ Id: 'wf', ProductArn: String(stored().ProductArn) }] })), InvalidInputException, 'nothing to update');
  });

  it('an update whose UpdatedAt is not later than the stored one is ignored: nothing stored, no event', async () => {
    await start();
    await client.send(new BatchImportFindingsCommand({ Findings: [finding('u', 'HIGH', { UpdatedAt: '2030-01-01T01:00:00.000Z' })] as never }));
    const same = await client.send(new BatchImportFindingsCommand({ Findings: [finding('u', 'CRITICAL', { UpdatedAt: '2030-01-01T01:00:00.000Z' }), finding('u2', 'HIGH')] as never }));
    assert.equal(same.SuccessCount, 2);
    await client.send(new BatchImportFindingsCommand({ Findings: [finding('u', 'CRITICAL', { UpdatedAt: '2030-01-01T00:30:00.000Z' })] as never }));
    await aws.securityHub.idle();
    assert.equal(aws.securityHub.list().find((x) => x.finding.Id === 'u')?.finding.Severity?.Label, 'HIGH');
    assert.deepEqual(events.map((e) => e.detail.findings[0]?.Id), ['u', 'u2']);
  });

  it('the product\'s findings (SecurityHubFindingsSink) are accepted: the stack account in AwsAccountId, the member account as a resource and in ProductFields', async () => {
    await start();
    const metrics = recordingMetrics();
    const sink = new SecurityHubFindingsSink(client, { region: 'us-east-1', accountId: ACCOUNT, clock: new FakeClock(), metrics });
    const bg: SecurityFinding = { id: 'jit/break-glass/r-1', kind: 'break_glass_used', severity: 'CRITICAL', title: 'Break-glass', description: 'd', accountId: MEMBER, resourceId: `${MEMBER}|arn:aws:sso:::permissionSet/ssoins-1/ps-1|u-1`, requestId: 'r-1', at: '2030-01-01T00:00:00.000Z' };
    await sink.publish([bg]);
    const [stored] = aws.securityHub.list();
    assert.equal(stored?.finding.AwsAccountId, ACCOUNT);
    assert.deepEqual((stored?.finding.ProductFields as Record<string, string>)['jit/targetAccountId'], MEMBER);
    assert.ok(stored?.finding.Resources.some((r) => r.Type === 'AwsAccount' && r.Id === `AWS::::Account:${MEMBER}`));
    assert.deepEqual(metrics.points, []);
  });

  it('a resolved finding from the sink is archived by the import and its workflow RESOLVED by BatchUpdateFindings; a retry changes nothing', async () => {
    await start();
    const sink = new SecurityHubFindingsSink(client, { region: 'us-east-1', accountId: ACCOUNT, clock: new FakeClock() });
    const drift: SecurityFinding = { id: 'jit/drift/k', kind: 'assignment_drift', severity: 'HIGH', title: 'Unmanaged', description: 'd', accountId: MEMBER, resourceId: 'k', at: '2030-01-01T00:00:00.000Z' };
    await sink.publish([drift]);
    const gone = { ...drift, resolved: true, at: '2030-01-01T00:10:00.000Z', createdAt: drift.at };
    await sink.publish([gone]);
    await sink.publish([gone]);
    await aws.securityHub.idle();
    const [stored] = aws.securityHub.list();
    assert.equal(stored?.finding.RecordState, 'ARCHIVED');
    assert.equal((stored?.finding.Workflow as { Status: string }).Status, 'RESOLVED');
    assert.equal(stored?.finding.CreatedAt, drift.at);
    assert.equal(stored?.finding.UpdatedAt, gone.at);
    // created, archived, workflow resolved (same UpdatedAt), then the retry: ignored import, one more workflow event.
    assert.deepEqual(events.map((e) => [e.detail.findings[0]?.RecordState, (e.detail.findings[0]?.Workflow as { Status: string }).Status]), [['ACTIVE', 'NEW'], ['ARCHIVED', 'NEW'], ['ARCHIVED', 'RESOLVED'], ['ARCHIVED', 'RESOLVED']]);
  });

  it('the old shape (member account in AwsAccountId) is refused by the stand-in; the sink throws and counts a break-glass failure', async () => {
    await start();
    const metrics = recordingMetrics();
    const old = { ...toAsff({ id: 'jit/break-glass/r-2', kind: 'break_glass_used', severity: 'CRITICAL', title: 't', description: 'd', accountId: MEMBER, resourceId: 'x', at: '2030-01-01T00:00:00.000Z' }, { productArn: `arn:aws:securityhub:us-east-1:${ACCOUNT}:product/${ACCOUNT}/default`, region: 'us-east-1', partition: 'aws', accountId: ACCOUNT }), AwsAccountId: MEMBER };
    await assert.rejects(client.send(new BatchImportFindingsCommand({ Findings: [old] })), (e: Error) => e.name === 'AccessDeniedException');
    // A sink configured with the wrong (member) account as its own: refused, thrown, counted.
    const wrong = new SecurityHubFindingsSink(client, { region: 'us-east-1', accountId: MEMBER, clock: new FakeClock(), metrics, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    await assert.rejects(wrong.publish([{ id: 'jit/break-glass/r-3', kind: 'break_glass_used', severity: 'CRITICAL', title: 't', description: 'd', accountId: MEMBER, resourceId: 'x', at: '2030-01-01T00:00:00.000Z' }]), DependencyError);
    assert.deepEqual(metrics.points.map((p) => p.dimensions.kind), ['breakglass_finding']);
    assert.deepEqual(aws.securityHub.list(), []);
  });

  it('filters (EQUALS/PREFIX ORed, NOT_EQUALS ANDed), sorts and pages GetFindings', async () => {
    await start();
    await client.send(
      new BatchImportFindingsCommand({
        Findings: [finding('a-1', 'HIGH', { UpdatedAt: '2030-01-01T00:00:01.000Z' }), finding('a-2', 'CRITICAL', { UpdatedAt: '2030-01-01T00:00:02.000Z' }), finding('b-1', 'LOW', { UpdatedAt: '2030-01-01T00:00:03.000Z' }), finding('a-3', 'HIGH', { AwsAccountId: MEMBER, ProductArn: 'arn:aws:securityhub:us-east-1::product/example/partner', UpdatedAt: '2030-01-01T00:00:04.000Z' })] as never,
      }),
    );
    const severe = await client.send(new GetFindingsCommand({ Filters: { SeverityLabel: [{ Value: 'HIGH', Comparison: 'EQUALS' }, { Value: 'CRITICAL', Comparison: 'EQUALS' }], AwsAccountId: [{ Value: ACCOUNT, Comparison: 'EQUALS' }] } }));
    assert.deepEqual(severe.Findings?.map((f) => f.Id), ['a-2', 'a-1'], 'newest UpdatedAt first by default');
    const notLow = await client.send(new GetFindingsCommand({ Filters: { SeverityLabel: [{ Value: 'LOW', Comparison: 'NOT_EQUALS' }], Id: [{ Value: 'a-', Comparison: 'PREFIX' }] }, SortCriteria: [{ Field: 'UpdatedAt', SortOrder: 'asc' }] }));
    assert.deepEqual(notLow.Findings?.map((f) => f.Id), ['a-1', 'a-2', 'a-3']);
    const page1 = await client.send(new GetFindingsCommand({ MaxResults: 3 }));
    const page2 = await client.send(new GetFindingsCommand({ MaxResults: 3, NextToken: page1.NextToken }));
    assert.equal(page1.Findings?.length, 3);
    assert.equal(page2.Findings?.length, 1);
    assert.equal(page2.NextToken, undefined);
    await assert.rejects(client.send(new GetFindingsCommand({ Filters: { MalwareName: [{ Value: 'x', Comparison: 'EQUALS' }] } })), InvalidInputException);
    await assert.rejects(client.send(new GetFindingsCommand({ Filters: { Id: [{ Value: 'a-1', Comparison: 'EQUALS' }, { Value: 'a-2', Comparison: 'NOT_EQUALS' }] } })), InvalidInputException);
  });

  it('keeps findings across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-sandbox-sh-'));
    try {
      await start(dir);
      await client.send(new BatchImportFindingsCommand({ Findings: [finding('kept', 'HIGH')] as never }));
      client.destroy();
      await aws.stop();
      await start(dir);
      const all = await client.send(new GetFindingsCommand({}));
      assert.deepEqual(all.Findings?.map((f) => f.Id), ['kept']);
    } finally {
      client.destroy();
      await aws.stop();
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
  });

  it('`sandbox:finding` injects a sample HIGH finding that reaches the findings listener', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-sandbox-finding-'));
    try {
      await start(dir);
      const target = readSandboxEndpoints(dir);
      assert.equal(target.endpoint, aws.endpoint);
      const sample = await injectSampleFinding(target);
      await aws.securityHub.idle();
      assert.equal(events.length, 1);
      assert.equal(events[0]?.detail.findings[0]?.Id, sample.Id);
      assert.equal(events[0]?.detail.findings[0]?.Severity?.Label, 'HIGH');

      // The command itself, as `npm run sandbox:finding` runs it.
      const run = await promisify(execFile)(process.execPath, ['--require', 'tsx/cjs', 'sandbox/finding.ts'], { env: { ...process.env, JIT_SANDBOX_DATA_DIR: dir } });
      assert.match(run.stdout, /Imported a sample HIGH finding/);
      await aws.securityHub.idle();
      assert.equal(events.length, 2);

      client.destroy();
      await aws.stop();
      assert.ok(!existsSync(join(dir, 'endpoints.json')), 'a stopped sandbox is not advertised');
      assert.throws(() => readSandboxEndpoints(dir), SandboxNotRunningError);
      await assert.rejects(injectSampleFinding({ endpoint: target.endpoint, region: 'us-east-1' }), SandboxNotRunningError);
    } finally {
      client.destroy();
      await aws.stop();
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
  });
});
