/**
 * GuardDuty findings in the channel (optional guardrails stack): the same findings card as
 * Security Hub's, severity mapped from GuardDuty's 1-10 score, below-threshold findings dropped,
 * malformed events refused without sending anything.
 */
import { strict as assert } from 'node:assert';
import type { NotificationBody } from '../../contract/notify';
import { createFindingsHandler } from '../../lambdas/findings/handler';
import { guardDutyConsoleLink, guardDutyFindingView, labelFromGuardDutyScore } from '../../lambdas/findings/guardduty';

function guardDutyEvent(over: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: '00000000-0000-4000-8000-00000000dd01',
    'detail-type': 'GuardDuty Finding',
    source: 'aws.guardduty',
    account: '111111111111',
    time: '2026-01-01T09:00:00Z',
    region: 'eu-west-1',
    detail: {
      schemaVersion: '2.0',
      accountId: '111111111111',
      region: 'eu-west-1',
      partition: 'aws',
      id: '16afba5c5c43e07c9e3e5e2e544e95df',
      arn: 'arn:aws:guardduty:eu-west-1:111111111111:detector/123456/finding/16afba5c5c43e07c9e3e5e2e544e95df',
      type: 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS',
      resource: { resourceType: 'AccessKey', accessKeyDetails: { accessKeyId: 'ASIAEXAMPLEEXAMPLE', userName: 'deploy-role', principalId: 'AROAEXAMPLE' } },
      severity: 8,
      createdAt: '2026-01-01T08:59:00.000Z',
      updatedAt: '2026-01-01T09:00:00.000Z',
      title: 'Credentials for instance role deploy-role used from an external IP address.',
      description: 'long text',
      ...over,
    },
  };
}

function recordingSender() {
  const sent: NotificationBody[] = [];
  return { sent, send: async (b: NotificationBody) => void sent.push(b) };
}

describe('findings: GuardDuty events', () => {
  it('a HIGH GuardDuty finding becomes one findings card naming the resource (never the access key id) with a console link', async () => {
    const sender = recordingSender();
    const result = await createFindingsHandler(sender, { minSeverity: 'HIGH' })(guardDutyEvent());
    assert.deepEqual(result, { received: 1, sent: 1, belowSeverity: 0, duplicates: 0, capped: 0 });
    const body = sender.sent[0]!;
    assert.equal(body.kind, 'findings');
    const [view] = body.kind === 'findings' ? body.findings : [];
    assert.equal(view!.severity, 'HIGH');
    assert.equal(view!.productName, 'GuardDuty');
    assert.equal(view!.resourceId, 'AccessKey deploy-role');
    assert.equal(view!.accountId, '111111111111');
    assert.match(view!.link!, /^https:\/\/eu-west-1\.console\.aws\.amazon\.com\/guardduty\/home\?region=eu-west-1#\/findings\?macros=current&fId=16afba5c5c43e07c9e3e5e2e544e95df$/);
    assert.ok(!JSON.stringify(body).includes('ASIAEXAMPLE'));
  });

  it('maps GuardDuty scores to labels at 1, 4, 7 and 9; findings below the channel threshold are not sent', async () => {
    assert.deepEqual([0.5, 1, 3.9, 4, 6.9, 7, 8.9, 9, 10].map(labelFromGuardDutyScore), ['INFORMATIONAL', 'LOW', 'LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'HIGH', 'CRITICAL', 'CRITICAL']);
    const sender = recordingSender();
    const result = await createFindingsHandler(sender, { minSeverity: 'HIGH' })(guardDutyEvent({ severity: 5 }));
    assert.equal(result.belowSeverity, 1);
    assert.equal(sender.sent.length, 0);
  });

  it('a malformed GuardDuty event is InvalidFindingsEvent and sends nothing', async () => {
    const sender = recordingSender();
    const handler = createFindingsHandler(sender, { minSeverity: 'LOW' });
    for (const bad of [{ accountId: 'not-an-account' }, { severity: 11 }, { updatedAt: 'yesterday' }, { id: '' }]) {
      await assert.rejects(handler(guardDutyEvent(bad)), { name: 'InvalidFindingsEvent', message: /GuardDuty Finding/ });
    }
    await assert.rejects(handler({ ...guardDutyEvent(), source: 'evil.source' }), { name: 'InvalidFindingsEvent' });
    assert.equal(sender.sent.length, 0);
  });

  it('no link for a forged region or id; the title falls back to the finding type', () => {
    assert.equal(guardDutyConsoleLink('eu-west-1"><script>', 'abc'), undefined);
    assert.equal(guardDutyConsoleLink('eu-west-1', 'abc/../x'), undefined);
    const view = guardDutyFindingView({ id: 'abc', accountId: '111111111111', region: 'eu-west-1', type: 'Recon:EC2/PortProbeUnprotectedPort', severity: 2, updatedAt: '2026-01-01T09:00:00Z', resource: { resourceType: 'Instance', instanceDetails: { instanceId: 'i-0123456789abcdef0' } } });
    assert.equal(view.title, 'Recon:EC2/PortProbeUnprotectedPort');
    assert.equal(view.resourceId, 'Instance i-0123456789abcdef0');
    assert.equal(view.updatedAt, '2026-01-01T09:00:00.000Z');
  });
});
