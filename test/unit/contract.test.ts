/**
 * contract/: the one error catalogue as both edges use it (bridge status, bot card title, "show the
 * request's state"), the one strip of server-only fields, and the one list of notification events.
 */
import { strict as assert } from 'node:assert';
import { BridgeClient, BridgeRefusal } from '../../bot/bridge-client';
import { errorCard, isRefusalAboutRequest } from '../../bot/handlers/render';
import { staticTokenProvider } from '../../bot/token-provider';
import { ERROR_CATALOGUE, isDomainErrorCode } from '../../contract/errors';
import { notificationBodySchema } from '../../contract/notify';
import { approvalRequestedSchema, revokePayloadSchema, workflowPayloadSchema } from '../../contract/workflow';
import {
  AlreadyExistsError,
  ConcurrentModificationError,
  DependencyError,
  StepUpRejectedError,
  StepUpRequiredError,
  DOMAIN_ERROR_CODES,
  DomainError,
  ForbiddenError,
  IllegalTransitionError,
  LimitExceededError,
  NotApproverError,
  NotEligibleError,
  NotFoundError,
  OpenRequestExistsError,
  PolicyError,
  SelfApprovalError,
  UnknownUserError,
  ValidationError,
} from '../../core/errors';
import { SERVER_ONLY_FIELDS, stripServerFields, toRequestView } from '../../core/model';
import { NOTIFICATION_EVENTS } from '../../core/ports';
import * as svc from '../../core/services';
import { requestNotificationId } from '../../lambdas/adapters/bot-notifier';
import { errorResponse, json } from '../../lambdas/http';
import { activeRequest, actor, body, startWorkflow, world } from '../support/core-world';

/** One instance of every typed error core throws. */
const EVERY_DOMAIN_ERROR: DomainError[] = [
  new ValidationError('The input is not valid.', [{ path: 'justification', message: 'too short' }]),
  new PolicyError([{ path: 'rules[0].maxDuration', message: 'must be positive' }]),
  new NotFoundError('Request', 'req-0000000000'),
  new NotEligibleError('No rule makes you eligible.'),
  new NotApproverError('You are not an approver of this request.'),
  new SelfApprovalError(),
  new ForbiddenError('Only the requester may cancel.'),
  new IllegalTransitionError('ACTIVE', 'APPROVED', 'This request is already active.'),
  new ConcurrentModificationError('Request', 'req-0000000000'),
  new AlreadyExistsError('Request', 'req-0000000000'),
  new OpenRequestExistsError('req-0000000000'),
  new UnknownUserError('alice@example.com'),
  new LimitExceededError('The grant would exceed its maximum total duration.'),
  new DependencyError('Identity Center', 'throttled', true),
  new StepUpRequiredError('To vote on this request you must sign in again with multi-factor authentication.', { acrs: [], amr: ['mfa'], maxTokenAgeSeconds: 600 }),
  new StepUpRejectedError('Your sign-in is 20 minutes old. Nothing was recorded.'),
];

function clientAnswering(status: number, responseBody: string): BridgeClient {
  const fetchImpl = (async () => new Response(responseBody, { status, headers: { 'content-type': 'application/json' } })) as typeof fetch;
  return new BridgeClient({ baseUrl: 'https://bridge.example.com', tokens: staticTokenProvider('t'), fetch: fetchImpl, retryDelayMs: 1 });
}

const ALICE = { aadObjectId: '00000000-0000-4000-8000-00000000a11c', tenantId: '00000000-0000-0000-0000-000000000000' };

describe('contract/errors.ts: one error catalogue for both edges', () => {
  it('has an entry for every code core defines, and every typed error carries one of them', () => {
    assert.deepEqual(Object.keys(ERROR_CATALOGUE).sort(), [...DOMAIN_ERROR_CODES].sort());
    assert.deepEqual([...new Set(EVERY_DOMAIN_ERROR.map((e) => e.code))].sort(), [...DOMAIN_ERROR_CODES].sort());
    assert.equal(isDomainErrorCode('INTERNAL'), false);
    assert.equal(isDomainErrorCode('NOT_FOUND'), true);
  });

  for (const error of EVERY_DOMAIN_ERROR) {
    it(`${error.name} (${error.code}): the bridge answers the catalogue's status, and the bot shows the catalogue's title`, async () => {
      const entry = ERROR_CATALOGUE[error.code];
      const res = errorResponse(error);
      assert.equal(res.statusCode, entry.status);
      const thrown = await clientAnswering(res.statusCode, res.body)
        .getRequest(ALICE, 'req-0000000000')
        .then(
          () => assert.fail('the client accepted an error answer'),
          (e: unknown) => e,
        );
      if (error.code === 'DEPENDENCY_FAILED') {
        // Not a refusal: the bot says "try again".
        assert.match(JSON.stringify(errorCard(thrown)), /Please try again/);
        return;
      }
      assert.ok(thrown instanceof DomainError, `the bot got ${String(thrown)}`);
      assert.equal(thrown.code, error.code);
      assert.match(JSON.stringify(errorCard(thrown)), new RegExp(`"${entry.title}"`));
      assert.equal(isRefusalAboutRequest(thrown), entry.aboutRequestState && thrown instanceof BridgeRefusal);
    });
  }

  it('a body that is not the error schema falls back on the status: a 403 is a FORBIDDEN refusal, a 418 a protocol failure', async () => {
    const forbidden = await clientAnswering(403, '{"error":{"code":42}}').getRequest(ALICE, 'req-0000000000').catch((e: unknown) => e);
    assert.ok(forbidden instanceof BridgeRefusal && forbidden.code === 'FORBIDDEN');
    const teapot = await clientAnswering(418, '{"error":{"code":"TEAPOT","message":"short and stout"}}').getRequest(ALICE, 'req-0000000000').catch((e: unknown) => e);
    assert.equal((teapot as { reason?: string }).reason, 'protocol');
  });

  it('a 200 that is not the route\'s answer is a protocol failure, never a card from half a request', async () => {
    const half = await clientAnswering(200, JSON.stringify({ request: { id: 'req-0000000000', state: 'ACTIVE', requester: {} } })).getRequest(ALICE, 'req-0000000000').catch((e: unknown) => e);
    assert.equal((half as { reason?: string }).reason, 'protocol');
  });
});

describe('server-only fields: stripped by one function (core/model.ts)', () => {
  it('a stored request with a task token, an execution and an audit outbox leaves through core, the bridge and the notices without them', async () => {
    const w = world();
    const { request } = await svc.submitRequest(w.deps, { actor: actor('alice'), body: body() });
    await startWorkflow(w, request.id);
    const stored = { ...w.requests.items.get(request.id)!, executionArn: 'arn:aws:states:eu-west-1:111111111111:execution:jit:x', auditOutbox: [] };
    assert.ok(stored.taskToken, 'the test needs a stored task token');
    for (const view of [toRequestView(stored), svc.toView(stored)]) {
      for (const field of SERVER_ONLY_FIELDS) assert.ok(!(field in view), `${field} left core`);
      assert.equal(view.id, request.id);
    }
    const wire = json(200, { request: stored, nested: [{ deeper: stored }] }).body;
    for (const field of SERVER_ONLY_FIELDS) assert.ok(!wire.includes(`"${field}"`), `${field} left the bridge`);
    assert.ok(!wire.includes(stored.taskToken!));
  });

  it('strips at any depth and copies: the original is untouched', () => {
    const original = { a: { taskToken: 't', keep: [{ executionArn: 'e', auditOutbox: [1], x: 1 }] } };
    assert.deepEqual(stripServerFields(original), { a: { keep: [{ x: 1 }] } });
    assert.equal(original.a.taskToken, 't');
  });

  it('an active grant is a full request view after stripping (contract/request-view.ts parses it)', async () => {
    const w = world();
    const id = await activeRequest(w);
    const view = toRequestView(w.requests.items.get(id)!);
    const parsed = notificationBodySchema.safeParse({ kind: 'request', event: 'active', request: view, notificationId: requestNotificationId(id, 'active', view.version) });
    assert.ok(parsed.success, parsed.error?.message);
  });
});

describe('contract/notify.ts and contract/workflow.ts', () => {
  it('a notice takes every event of core/ports.ts NOTIFICATION_EVENTS, and no other', async () => {
    const w = world();
    const id = await activeRequest(w);
    const request = toRequestView(w.requests.items.get(id)!);
    for (const event of NOTIFICATION_EVENTS) {
      assert.ok(notificationBodySchema.safeParse({ kind: 'request', event, request, notificationId: `req.${id}.${event}.v1` }).success, event);
    }
    assert.ok(!notificationBodySchema.safeParse({ kind: 'request', event: 'exploded', request, notificationId: `req.${id}.x.v1` }).success);
  });

  it('payloads are refused when malformed: an unknown action, a missing token, an unknown revoke source', () => {
    assert.ok(workflowPayloadSchema.safeParse({ action: 'check_grant', requestId: 'req-1', operationId: 'op', polls: 0 }).success);
    assert.ok(!workflowPayloadSchema.safeParse({ action: 'check_grant', requestId: 'req-1', polls: 0 }).success);
    assert.ok(!workflowPayloadSchema.safeParse({ action: 'check_grant', requestId: 'req-1', operationId: 'op' }).success, 'the count of checks is what bounds the polling');
    assert.ok(!workflowPayloadSchema.safeParse({ action: 'check_grant', requestId: 'req-1', operationId: 'op', polls: -1 }).success);
    assert.ok(!workflowPayloadSchema.safeParse({ action: 'delete_everything', requestId: 'req-1' }).success);
    assert.ok(!approvalRequestedSchema.safeParse({ requestId: 'req-1' }).success);
    assert.ok(!approvalRequestedSchema.safeParse({ requestId: 'req-1', taskToken: 'x'.repeat(1025) }).success);
    assert.ok(revokePayloadSchema.safeParse({ requestId: 'req-1', source: 'compensation', cause: 'boom' }).success);
    assert.ok(!revokePayloadSchema.safeParse({ requestId: 'req-1', source: 'someone' }).success);
  });
});
