/**
 * The state machine synthesized from infra/ (what is deployed), run by the sandbox's Step
 * Functions stand-in and driven by the REAL @aws-sdk/client-sfn: the approval task's token reaches
 * the notify payload; SendTaskSuccess grants; SendTaskFailure(Denied) closes.
 */
import { strict as assert } from 'node:assert';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { synthesizeWorkflowDefinition } from '../../infra/build';
import { STATES, TASK_FUNCTIONS } from '../../infra/constructs/approval-workflow';
import { type AwsStandIns, ManualClock, startAwsStandIns } from '../../sandbox/aws';
import type { AslDefinition, TaskHandler } from '../../sandbox/aws/step-functions';

describe('sandbox Step Functions stand-in with the synthesized workflow', () => {
  let aws: AwsStandIns;
  let sfn: SFNClient;
  afterEach(async () => {
    sfn?.destroy();
    await aws?.stop();
  });

  it('runs the state machine synthesized from infra/ (approve and deny), driven by the real sfn client', async function () {
    this.timeout(120_000);
    const definition = synthesizeWorkflowDefinition() as unknown as AslDefinition;
    const calls: Array<{ state: string; input: unknown }> = [];
    const results: Record<string, (input: unknown) => unknown> = {
      [STATES.validate]: (input) => ({ requestId: (input as { requestId: string }).requestId, route: 'approval', approvalTimeoutSeconds: 3600 }),
      // The approval wait lasts what is left after the card's post, not what Validate saw.
      [STATES.postApprovalCard]: (input) => ({ requestId: (input as { requestId: string }).requestId, approvalTimeoutSeconds: 60, posted: true }),
      [STATES.startGrant]: (input) => ({ requestId: (input as { requestId: string }).requestId, status: 'SUCCEEDED', operationId: '00000000-0000-4000-8000-000000000001' }),
    };
    const taskHandlers = Object.fromEntries(
      Object.keys(TASK_FUNCTIONS).map((state) => [
        state,
        ((input: unknown) => {
          calls.push({ state, input });
          return results[state]?.(input) ?? {};
        }) satisfies TaskHandler,
      ]),
    );
    aws = await startAwsStandIns({ port: 0, dataDir: false, clock: new ManualClock(), stepFunctions: { log: () => undefined } });
    const arn = aws.stepFunctions.registerStateMachine({ name: 'jit-access-test-approval', definition, taskHandlers, waitTimeOverrides: { [STATES.waitForGrant]: 0 } });
    sfn = new SFNClient({ ...aws.clientConfig, maxAttempts: 1 });

    await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'req-synth-ok', input: JSON.stringify({ requestId: 'req-synth-ok' }) }));
    const token = await aws.stepFunctions.waitingTask('req-synth-ok', STATES.requestApproval);
    const notify = calls.find((c) => c.state === STATES.requestApproval)?.input as { Payload: { requestId: string; taskToken: string; approvalTimeoutSeconds: number } };
    assert.deepEqual(notify.Payload, { requestId: 'req-synth-ok', taskToken: token, approvalTimeoutSeconds: 60 });
    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approved: true, approvedBy: 'carol' }) }));
    const ok = await aws.stepFunctions.settled('req-synth-ok');
    assert.equal(ok.status, 'SUCCEEDED');
    assert.deepEqual(ok.path, [STATES.validate, STATES.route, STATES.postApprovalCard, STATES.requestApproval, STATES.startGrant, STATES.grantStatus, STATES.completeGrant, STATES.granted]);

    await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'req-synth-deny', input: JSON.stringify({ requestId: 'req-synth-deny' }) }));
    const denyToken = await aws.stepFunctions.waitingTask('req-synth-deny', STATES.requestApproval);
    await sfn.send(new SendTaskFailureCommand({ taskToken: denyToken, error: 'Denied', cause: 'Denied by carol' }));
    const denied = await aws.stepFunctions.settled('req-synth-deny');
    assert.equal(denied.status, 'SUCCEEDED');
    assert.deepEqual(denied.path, [STATES.validate, STATES.route, STATES.postApprovalCard, STATES.requestApproval, STATES.closed, STATES.done]);
    const closed = calls.filter((c) => c.state === STATES.closed).at(-1)?.input as { action: string; error: string; cause: string };
    assert.deepEqual(closed, { action: 'closed', requestId: 'req-synth-deny', error: 'Denied', cause: 'Denied by carol' });
  });
});
