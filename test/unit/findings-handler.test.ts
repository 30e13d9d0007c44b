/**
 * The findings forwarder: Security Hub "Findings - Imported" events to one findings card, what the
 * channel gets (and does not) for severity, repeats, bursts and malformed events.
 */
import { strict as assert } from 'node:assert';
import { notificationBodySchema } from '../../contract/notify';
import type { NotificationBody } from '../../contract/notify';
import { createFindingsHandler } from '../../lambdas/findings/handler';
import { toAsff } from '../../lambdas/adapters/securityhub-findings';

function asff(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    SchemaVersion: '2018-10-08',
    Id: 'arn:aws:securityhub:us-east-1:222222222222:subscription/aws-foundational-security-best-practices/v/1.0.0/IAM.1/finding/0001',
    ProductArn: 'arn:aws:securityhub:us-east-1::product/aws/securityhub',
    ProductName: 'Security Hub',
    AwsAccountId: '222222222222',
    Region: 'us-east-1',
    Title: 'IAM policies should not allow full "*" administrative privileges',
    UpdatedAt: '2026-01-01T09:00:00.000Z',
    Severity: { Label: 'HIGH' },
    Resources: [{ Type: 'AwsIamPolicy', Id: 'arn:aws:iam::222222222222:policy/too-broad' }],
    ...over,
  };
}

const event = (findings: unknown[]) => ({ version: '0', source: 'aws.securityhub', 'detail-type': 'Security Hub Findings - Imported', region: 'us-east-1', detail: { findings } });

function recorder() {
  const sent: NotificationBody[] = [];
  return { sent, sender: { send: async (b: NotificationBody) => void sent.push(b) } };
}

describe('findings forwarder', () => {
  it('sends a findings card the bot accepts: severity, title, resource, account, product, console link', async () => {
    const { sent, sender } = recorder();
    const result = await createFindingsHandler(sender, { minSeverity: 'HIGH' })(event([asff()]));
    assert.deepEqual(result, { received: 1, sent: 1, belowSeverity: 0, duplicates: 0, capped: 0 });
    const body = notificationBodySchema.parse(sent[0]);
    assert.equal(body.kind, 'findings');
    const view = body.kind === 'findings' ? body.findings[0]! : undefined;
    assert.equal(view?.severity, 'HIGH');
    assert.equal(view?.resourceId, 'arn:aws:iam::222222222222:policy/too-broad');
    assert.equal(view?.productName, 'Security Hub');
    assert.match(view?.link ?? '', /^https:\/\/us-east-1\.console\.aws\.amazon\.com\/securityhub\/home\?region=us-east-1#\/findings\?search=/);
  });

  it('drops findings below the configured severity (Label or the deprecated Normalized score)', async () => {
    const { sent, sender } = recorder();
    const result = await createFindingsHandler(sender, { minSeverity: 'HIGH' })(
      event([asff({ Id: 'low', Severity: { Label: 'LOW' } }), asff({ Id: 'medium', Severity: { Normalized: 50 } }), asff({ Id: 'crit', Severity: { Normalized: 95 } })]),
    );
    assert.equal(result.belowSeverity, 2);
    assert.deepEqual(sent[0]?.kind === 'findings' && sent[0].findings.map((f) => [f.id, f.severity]), [['crit', 'CRITICAL']]);
  });

  it('nothing at or above the severity: nothing is sent', async () => {
    const { sent, sender } = recorder();
    await createFindingsHandler(sender, { minSeverity: 'CRITICAL' })(event([asff()]));
    assert.equal(sent.length, 0);
  });

  it('the same finding twice in one event (same id and UpdatedAt) is sent once; a newer update is its own line', async () => {
    const { sent, sender } = recorder();
    const result = await createFindingsHandler(sender, { minSeverity: 'LOW' })(event([asff(), asff(), asff({ UpdatedAt: '2026-01-01T10:00:00.000Z' })]));
    assert.equal(result.duplicates, 1);
    assert.equal(sent[0]?.kind === 'findings' && sent[0].findings.length, 2);
  });

  it('a burst is capped per call, keeping the most severe; the notification id is stable for a retry', async () => {
    const findings = Array.from({ length: 40 }, (_, i) => asff({ Id: `f-${i}`, Severity: { Label: i === 39 ? 'CRITICAL' : 'HIGH' } }));
    const a = recorder();
    const result = await createFindingsHandler(a.sender, { minSeverity: 'HIGH', maxPerCall: 10 })(event(findings));
    assert.equal(result.capped, 30);
    const body = a.sent[0]!;
    assert.equal(body.kind === 'findings' && body.findings.length, 10);
    assert.equal(body.kind === 'findings' && body.findings[0]!.id, 'f-39');
    const b = recorder();
    await createFindingsHandler(b.sender, { minSeverity: 'HIGH', maxPerCall: 10 })(event([...findings].reverse()));
    assert.equal(b.sent[0]!.notificationId, body.notificationId);
  });

  for (const [name, bad] of [
    ['not an event', 'hello'],
    ['another detail type', { ...event([asff()]), 'detail-type': 'AWS API Call via CloudTrail' }],
    ['no findings', event([])],
    ['a finding without an account id', event([asff({ AwsAccountId: 'abc' })])],
    ['a finding without a severity', event([asff({ Severity: {} })])],
  ] as const) {
    it(`a malformed event (${name}) is a clear error and sends nothing`, async () => {
      const { sent, sender } = recorder();
      await assert.rejects(createFindingsHandler(sender, { minSeverity: 'LOW' })(bad), (e: unknown) => e instanceof Error && e.name === 'InvalidFindingsEvent' && /Security Hub Findings - Imported/.test(e.message));
      assert.equal(sent.length, 0);
    });
  }
});

describe('findings forwarder: the product\'s own findings (issue 11, item 3)', () => {
  const STACK = '333333333333';
  const MEMBER = '222222222222';
  const own = (over: Record<string, unknown> = {}) =>
    toAsff(
      { id: 'jit/drift/x', kind: 'assignment_drift', severity: 'HIGH', title: 'Unmanaged assignment', description: 'd', accountId: MEMBER, resourceId: `${MEMBER}|arn:aws:sso:::permissionSet/ssoins-1/ps-1|u-1`, at: '2030-01-01T00:00:00.000Z', ...over },
      { productArn: `arn:aws:securityhub:us-east-1:${STACK}:product/${STACK}/default`, region: 'us-east-1', partition: 'aws', accountId: STACK },
    ) as unknown as Record<string, unknown>;

  it('shows the member account the finding is about (ProductFields), and the assignment as its resource, not the stack account', async () => {
    const { sent, sender } = recorder();
    await createFindingsHandler(sender, { minSeverity: 'HIGH' })(event([own()]));
    const body = notificationBodySchema.parse(sent[0]);
    const view = body.kind === 'findings' ? body.findings[0]! : undefined;
    assert.equal(view?.accountId, MEMBER);
    assert.equal(view?.resourceId, `${MEMBER}|arn:aws:sso:::permissionSet/ssoins-1/ps-1|u-1`);
    assert.equal(view?.status, undefined);
  });

  it('does not believe jit/targetAccountId from another product or generator', async () => {
    const { sent, sender } = recorder();
    await createFindingsHandler(sender, { minSeverity: 'HIGH' })(event([asff({ ProductFields: { 'jit/targetAccountId': '444444444444' }, GeneratorId: 'teams-jit-access/assignment_drift' }), { ...own(), Id: 'forged', GeneratorId: 'someone-else' }]));
    const body = notificationBodySchema.parse(sent[0]);
    const accounts = body.kind === 'findings' ? body.findings.map((f) => f.accountId).sort() : [];
    assert.deepEqual(accounts, [MEMBER, STACK].sort());
  });

  it('an archived (resolved) finding is marked RESOLVED for the card', async () => {
    const { sent, sender } = recorder();
    await createFindingsHandler(sender, { minSeverity: 'HIGH' })(event([own({ resolved: true, at: '2030-01-01T01:00:00.000Z' })]));
    const body = notificationBodySchema.parse(sent[0]);
    assert.equal(body.kind === 'findings' ? body.findings[0]?.status : undefined, 'RESOLVED');
  });
});

describe('findings forwarder: Security Hub "Findings Imported V2" (OCSF) events (issue 11, item 5)', () => {
  // The shape of the documented V2 event (securityhub-v2-cwe-event-formats), with an OCSF finding.
  const v2 = (findings: unknown[]) => ({ version: '0', id: 'e-1', 'detail-type': 'Findings Imported V2', source: 'aws.securityhub', account: '555555555555', time: '2030-01-01T00:00:00Z', region: 'us-east-1', resources: ['e51603d1054aad9d9f498d82d6e81acf4cf6bc88140e8ad2273123c73b81084'], detail: { findings } });
  const ocsf = (over: Record<string, unknown> = {}) => ({
    finding_info: { uid: 'arn:aws:guardduty:us-east-1:222222222222:detector/d-1/finding/f-1', title: 'Unusual console login', desc: 'A login from an unusual place', modified_time_dt: '2030-01-01T09:00:00.000Z' },
    severity: 'High',
    severity_id: 4,
    cloud: { account: { uid: '222222222222' }, region: 'us-east-1', provider: 'AWS' },
    resources: [{ uid: 'arn:aws:iam::222222222222:user/alice', type: 'AWS::IAM::User' }],
    metadata: { product: { name: 'GuardDuty', uid: 'arn:aws:securityhub:us-east-1::productv2/aws/guardduty' }, version: '1.1.0' },
    status: 'New',
    activity_name: 'Create',
    ...over,
  });

  it('sends an OCSF finding as the same card line as an ASFF one: severity, title, resource, account, product', async () => {
    const { sent, sender } = recorder();
    const result = await createFindingsHandler(sender, { minSeverity: 'HIGH' })(v2([ocsf()]));
    assert.equal(result.sent, 1);
    const body = notificationBodySchema.parse(sent[0]);
    const view = body.kind === 'findings' ? body.findings[0] : undefined;
    assert.deepEqual({ ...view }, {
      id: 'arn:aws:guardduty:us-east-1:222222222222:detector/d-1/finding/f-1',
      severity: 'HIGH',
      title: 'Unusual console login',
      resourceId: 'arn:aws:iam::222222222222:user/alice',
      accountId: '222222222222',
      productName: 'GuardDuty',
      updatedAt: '2030-01-01T09:00:00.000Z',
    });
  });

  it('maps OCSF severities (severity_id first; Fatal is CRITICAL), epoch-millisecond times, and Resolved/Close as RESOLVED', async () => {
    const { sent, sender } = recorder();
    await createFindingsHandler(sender, { minSeverity: 'LOW' })(
      v2([
        ocsf({ finding_info: { uid: 'fatal', title: 't', modified_time: Date.UTC(2030, 0, 1, 10) }, severity: 'Fatal', severity_id: 6 }),
        ocsf({ finding_info: { uid: 'by-name', title: 't', modified_time_dt: '2030-01-01T08:00:00.000Z' }, severity: 'Low', severity_id: undefined }),
        ocsf({ finding_info: { uid: 'closed', title: 't', modified_time_dt: '2030-01-01T07:00:00.000Z' }, status: 'Resolved', activity_name: 'Close' }),
        ocsf({ finding_info: { uid: 'info', title: 't', modified_time_dt: '2030-01-01T07:00:00.000Z' }, severity: 'Informational', severity_id: 1 }),
      ]),
    );
    const body = notificationBodySchema.parse(sent[0]);
    const views = body.kind === 'findings' ? Object.fromEntries(body.findings.map((f) => [f.id, f])) : {};
    assert.equal(views.fatal?.severity, 'CRITICAL');
    assert.equal(views.fatal?.updatedAt, '2030-01-01T10:00:00.000Z');
    assert.equal(views['by-name']?.severity, 'LOW');
    assert.equal(views.closed?.status, 'RESOLVED');
    assert.equal(views.info, undefined, 'below the minimum');
  });

  for (const [name, finding] of [
    ['no finding_info.uid', ocsf({ finding_info: { title: 't', modified_time_dt: '2030-01-01T00:00:00.000Z' } })],
    ['no account', ocsf({ cloud: { region: 'us-east-1' } })],
    ['an unknown severity and no severity_id', ocsf({ severity: 'Dire', severity_id: undefined })],
    ['no time at all', ocsf({ finding_info: { uid: 'x', title: 't' }, time: undefined })],
  ] as const) {
    it(`a malformed V2 event (${name}) is a clear error and sends nothing`, async () => {
      const { sent, sender } = recorder();
      await assert.rejects(createFindingsHandler(sender, { minSeverity: 'HIGH' })(v2([finding])), /not a valid "Findings Imported V2" event/);
      assert.equal(sent.length, 0);
    });
  }
});
