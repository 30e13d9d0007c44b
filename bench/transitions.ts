/**
 * State transitions of the approve path on the real synthesized state machine
 * (test/support/workflow-harness.ts runs it with aws-local-stepfunctions, every Task bound to the
 * real handlers over in-memory ports). Step Functions Standard bills per transition: every state
 * entered, and every retry. Typical: Identity Center is done at the first status check (2 s after
 * the create; contract/workflow.ts GRANT_POLL_WAITS_SECONDS); also reported with 3 checks (a slower
 * Identity Center) and for an auto-approved request. bench/approve-to-active.ts reports what the
 * executions in the sandbox took with Identity Center completing in 1-3 s.
 */
import * as svc from '../core/services';
import { actor, body, world } from '../test/support/core-world';
import { countTransitions, statePath, withLocalWorkflow } from '../test/support/workflow-harness';

async function approvePath(pollsToComplete: number, permissionSetName = 'PowerUser'): Promise<{ transitions: number; path: string[] }> {
  const w = world({ pollsToComplete });
  const flow = withLocalWorkflow(w, { waitMs: 0, retryMs: 0 });
  const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body({ permissionSetName, durationMinutes: permissionSetName === 'ReadOnly' ? 10 : 30 }) });
  if (permissionSetName !== 'ReadOnly') {
    await flow.awaitingApproval(request.id);
    await svc.castVote(w.deps, { requestId: request.id, actor: actor('carol'), decision: 'approve' });
  }
  const ex = await flow.settled(request.id);
  if (ex.status !== 'SUCCEEDED') throw new Error(`approve path ended ${ex.status}: ${JSON.stringify(ex.error)}`);
  return { transitions: countTransitions(ex.events), path: statePath(ex.events) };
}

export interface TransitionsResult {
  approveTypical: number;
  approveTypicalPath: string[];
  approveSlowIdentityCenter: number;
  autoApproved: number;
}

export async function runTransitions(): Promise<TransitionsResult> {
  const typical = await approvePath(1);
  const slow = await approvePath(3);
  const auto = await approvePath(1, 'ReadOnly');
  return { approveTypical: typical.transitions, approveTypicalPath: typical.path, approveSlowIdentityCenter: slow.transitions, autoApproved: auto.transitions };
}

if (require.main === module) void runTransitions().then((r) => console.log(r));
