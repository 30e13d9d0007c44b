/**
 * The SessionDuration check (issue 6): revoking an assignment does not end sessions already
 * started, so every managed permission set whose sessions last over an hour is reported at start.
 * DescribePermissionSet is mocked on one client instance (with its own send); other suites use
 * real clients or class mocks.
 */
import { strict as assert } from 'node:assert';
import { DescribePermissionSetCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { mockClient } from 'aws-sdk-client-mock';
import { checkSessionDurations, durationSeconds, SESSION_DURATION_EVENT } from '../../lambdas/adapters/session-duration';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { ownSend } from '../support/aws-capture';
import { world } from '../support/core-world';

const INSTANCE = 'arn:aws:sso:::instance/ssoins-1111111111111111';
const ps = (n: number) => `arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-${String(n).repeat(16).slice(0, 16)}`;

function recordingLog() {
  const lines: Array<{ level: string; message: string; details?: Record<string, unknown> }> = [];
  return {
    lines,
    warn: (message: string, details?: Record<string, unknown>) => void lines.push({ level: 'warn', message, details }),
    info: (message: string, details?: Record<string, unknown>) => void lines.push({ level: 'info', message, details }),
  };
}

describe('adapters: SessionDuration check', () => {
  let client: SSOAdminClient;
  let mock: ReturnType<typeof mockClient>;
  beforeEach(() => {
    // An instance mock with its own send: a class mock of SSOAdminClient elsewhere (scripts) is neither seen nor restored.
    client = ownSend(new SSOAdminClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } }));
    mock = mockClient(client);
  });
  afterEach(() => mock.restore());

  it('warns for every permission set over PT1H, with one structured line each; PT1H, shorter and unset pass', async () => {
    const durations: Record<string, string | undefined> = { [ps(1)]: 'PT1H', [ps(2)]: 'PT12H', [ps(3)]: 'PT30M', [ps(4)]: undefined, [ps(5)]: 'PT1H30M' };
    mock.on(DescribePermissionSetCommand).callsFake((input: { PermissionSetArn: string; InstanceArn: string }) => {
      assert.equal(input.InstanceArn, INSTANCE);
      const d = durations[input.PermissionSetArn];
      return { PermissionSet: { PermissionSetArn: input.PermissionSetArn, Name: `Set${input.PermissionSetArn.slice(-1)}`, ...(d ? { SessionDuration: d } : {}) } };
    });
    const log = recordingLog();
    const warnings = await checkSessionDurations(client, INSTANCE, Object.keys(durations), log);
    assert.deepEqual(warnings, [
      { permissionSetArn: ps(2), name: 'Set2', sessionDuration: 'PT12H', seconds: 43_200 },
      { permissionSetArn: ps(5), name: 'Set5', sessionDuration: 'PT1H30M', seconds: 5_400 },
    ]);
    assert.equal(log.lines.length, 2);
    for (const l of log.lines) {
      assert.equal(l.level, 'warn');
      assert.equal(l.details?.event, SESSION_DURATION_EVENT);
      assert.match(l.message, /outlive a revocation/);
    }
    assert.match(log.lines[0]!.message, /Set2 has a session duration of PT12H.*720 minutes/);
  });

  it('a permission set that cannot be read (AccessDenied, throttled, deleted) is logged and skipped; the others are still checked', async () => {
    mock
      .on(DescribePermissionSetCommand, { PermissionSetArn: ps(1) })
      .rejects(Object.assign(new Error('User is not authorized to perform sso:DescribePermissionSet'), { name: 'AccessDeniedException' }))
      .on(DescribePermissionSetCommand, { PermissionSetArn: ps(2) })
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .on(DescribePermissionSetCommand, { PermissionSetArn: ps(3) })
      .resolves({ PermissionSet: { Name: 'Admin', SessionDuration: 'PT8H' } });
    const log = recordingLog();
    const warnings = await checkSessionDurations(client, INSTANCE, [ps(1), ps(2), ps(3)], log);
    assert.deepEqual(warnings.map((w) => w.name), ['Admin']);
    assert.deepEqual(log.lines.filter((l) => l.message.startsWith('could not read')).map((l) => l.details?.error), ['AccessDeniedException', 'ThrottlingException']);
  });

  it('asks once per permission set even when the policy lists one twice; an unparseable duration is reported, not guessed', async () => {
    mock.on(DescribePermissionSetCommand).resolves({ PermissionSet: { Name: 'Odd', SessionDuration: 'twelve hours' } });
    const log = recordingLog();
    assert.deepEqual(await checkSessionDurations(client, INSTANCE, [ps(1), ps(1)], log), []);
    assert.equal(mock.commandCalls(DescribePermissionSetCommand).length, 1);
    assert.equal(log.lines.length, 1);
    assert.match(log.lines[0]!.message, /unrecognized session duration/);
  });

  it('parses the ISO 8601 durations Identity Center uses', () => {
    assert.equal(durationSeconds('PT1H'), 3600);
    assert.equal(durationSeconds('PT12H'), 43_200);
    assert.equal(durationSeconds('PT2H30M'), 9000);
    assert.equal(durationSeconds('PT90S'), 90);
    assert.equal(durationSeconds('P1D'), 86_400);
    for (const bad of ['', 'P', 'PT', '1H', 'PTH', 'twelve hours', 'PT-1H']) assert.equal(durationSeconds(bad), undefined, bad);
  });

  it('reconcile runs the check once per cold start, and a failing check never fails the sweep', async () => {
    const w = world();
    let calls = 0;
    const log = { lines: [] as string[], debug() {}, info() {}, error() {}, warn(m: string) { this.lines.push(m); } };
    const handler = createReconcileHandler(w.deps, {
      log,
      startupCheck: async () => {
        calls += 1;
        throw new Error('sso-admin unreachable');
      },
    });
    await handler();
    await handler();
    assert.equal(calls, 1);
    assert.deepEqual(log.lines, ['startup check failed']);
  });
});
