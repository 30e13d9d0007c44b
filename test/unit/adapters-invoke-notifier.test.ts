/**
 * Notices to the bot hosted in the stack: a RequestResponse Lambda invoke of its alias (no
 * secret), what counts as delivered, what is retried, and the time bound that keeps a send inside
 * the calling function's timeout. The Lambda client is aws-sdk-client-mock on an instance.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient, ResourceNotFoundException, ServiceException, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { notificationBodySchema } from '../../contract/notify';
import { DependencyError } from '../../core/errors';
import { FakeClock } from '../../core/memory';
import { BotInvokeNotifier, INVOKE_NOTIFIER, invokeNotifierWorstCaseMs } from '../../lambdas/adapters/bot-invoke-notifier';
import { BotNotifier } from '../../lambdas/adapters/bot-notifier';
import { buildNotifier } from '../../lambdas/composition';
import { parseConfig } from '../../lambdas/config';
import { ENV } from '../../lambdas/contract';
import { problem } from '../../bot/problem';
import { assertCallsConform, mockedCalls, ownSend } from '../support/aws-capture';
import { activeRequest, world } from '../support/core-world';
import { compilePolicy } from '../../core/policy/validate';

const ALIAS_ARN = 'arn:aws:lambda:us-east-1:111111111111:function:jit-access-test-bot:live';
/** What the SDK hands back as Payload (a Uint8Array with string helpers); the notifier reads the bytes. */
const blob = (text: string) => Buffer.from(text) as unknown as NonNullable<InvokeCommandOutput['Payload']>;
const answer = (status: number, body: unknown) => ({ StatusCode: 200, Payload: blob(JSON.stringify({ status, body })) });
const delivered = answer(200, { status: 'delivered', posted: 1, updated: 0, skipped: 0 });

async function stored() {
  const w = world();
  const r = (await w.requests.get(await activeRequest(w)))!;
  return { ...r, taskToken: 'secret-task-token', executionArn: 'arn:aws:states:us-east-1:111111111111:execution:m:x' };
}

describe('adapters: bot invoke notifier (the hosted bot, over IAM)', () => {
  const client = ownSend(new LambdaClient({ region: 'us-east-1' }));
  const lambda = mockClient(client);
  afterEach(() => lambda.reset());
  const notifier = (clock = new FakeClock(), o: Partial<ConstructorParameters<typeof BotInvokeNotifier>[0]> = {}) =>
    new BotInvokeNotifier({ functionArn: ALIAS_ARN, lambda: client, clock, region: 'us-east-1', random: () => 1, ...INVOKE_NOTIFIER, ...o });

  it('invokes the alias synchronously (RequestResponse) with the NotificationBody itself: no signature, no server-only fields; the call conforms to the Lambda model', async () => {
    lambda.on(InvokeCommand).resolves(delivered);
    const request = await stored();
    await notifier().requestChanged('active', request);
    const [call] = lambda.commandCalls(InvokeCommand);
    const input = call!.args[0].input;
    assert.equal(input.FunctionName, ALIAS_ARN);
    assert.equal(input.InvocationType, 'RequestResponse');
    assert.equal(input.Qualifier, undefined, 'the alias is in the ARN');
    const text = Buffer.from(input.Payload as Uint8Array).toString('utf8');
    const body = notificationBodySchema.parse(JSON.parse(text));
    assert.equal(body.notificationId, `req.${request.id}.active.v${request.version}`);
    assert.doesNotMatch(text, /secret-task-token|taskToken|executionArn|x-jit-signature|auditOutbox/);
    assertCallsConform('lambda', mockedCalls(lambda));
  });

  it('a notice carried forward by a later write keeps the id of its own change (the bot answers DUPLICATE instead of rendering the cards again), as the HTTP notifier does', async () => {
    lambda.on(InvokeCommand).resolves(delivered);
    const request = await stored();
    // flushNotices sends each pending notice with the request as it is now and the version of the change that queued it.
    await notifier().requestChanged('submitted', { ...request, version: request.version + 2 }, request.version);
    const body = notificationBodySchema.parse(JSON.parse(Buffer.from(lambda.commandCalls(InvokeCommand)[0]!.args[0].input.Payload as Uint8Array).toString('utf8')));
    assert.equal(body.notificationId, `req.${request.id}.submitted.v${request.version}`);
    assert.equal(body.kind === 'request' && body.request.version, request.version + 2, 'the cards still show the newest state');
  });

  it('409 DUPLICATE counts as delivered; another 409 does not', async () => {
    lambda.on(InvokeCommand).resolves(answer(409, problem(409, 'DUPLICATE', 'already')));
    await notifier().requestChanged('active', await stored());
    assert.equal(lambda.commandCalls(InvokeCommand).length, 1);
    lambda.reset();
    lambda.on(InvokeCommand).resolves(answer(409, problem(409, 'CONFLICT', 'other')));
    await assert.rejects(notifier().requestChanged('active', await stored()), (e: unknown) => e instanceof DependencyError && !e.retryable);
  });

  it('a function error (the bot threw, timed out) is retried, then a retryable DependencyError; a 503 DELIVERY_FAILED answer too', async () => {
    lambda.on(InvokeCommand).resolvesOnce({ StatusCode: 200, FunctionError: 'Unhandled', Payload: blob('{"errorType":"Error","errorMessage":"boom"}') }).resolves(delivered);
    await notifier().requestChanged('active', await stored());
    assert.equal(lambda.commandCalls(InvokeCommand).length, 2, 'the retry delivered it');
    lambda.reset();
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: blob('{"errorType":"Sandbox.Timedout"}') });
    await assert.rejects(notifier().requestChanged('active', await stored()), (e: unknown) => e instanceof DependencyError && e.retryable && /function error Unhandled/.test(e.message));
    assert.equal(lambda.commandCalls(InvokeCommand).length, INVOKE_NOTIFIER.retry.maxAttempts);
    lambda.reset();
    lambda.on(InvokeCommand).resolves(answer(503, problem(503, 'DELIVERY_FAILED', 'Teams could not be reached')));
    await assert.rejects(notifier().requestChanged('active', await stored()), (e: unknown) => e instanceof DependencyError && e.retryable);
  });

  it('throttling and service errors are retried; a missing function, access denied or a 400 VALIDATION answer are not (configuration or a bug)', async () => {
    lambda.on(InvokeCommand).rejectsOnce(new TooManyRequestsException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } })).rejectsOnce(new ServiceException({ message: 'internal', $metadata: { httpStatusCode: 500 } })).resolves(delivered);
    await notifier(new FakeClock(), { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } }).requestChanged('active', await stored());
    assert.equal(lambda.commandCalls(InvokeCommand).length, 3);
    for (const refusal of [
      new ResourceNotFoundException({ message: 'Function not found', $metadata: { httpStatusCode: 404 } }),
      Object.assign(new Error('not authorized to perform: lambda:InvokeFunction'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } }),
    ]) {
      lambda.reset();
      lambda.on(InvokeCommand).rejects(refusal);
      await assert.rejects(notifier().requestChanged('active', await stored()), (e: unknown) => e instanceof DependencyError && !e.retryable);
      assert.equal(lambda.commandCalls(InvokeCommand).length, 1);
    }
    lambda.reset();
    lambda.on(InvokeCommand).resolves(answer(400, problem(400, 'VALIDATION', 'schema')));
    await assert.rejects(notifier().requestChanged('active', await stored()), (e: unknown) => e instanceof DependencyError && !e.retryable);
    lambda.reset();
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: blob('{"statusCode":200}') });
    await assert.rejects(notifier().requestChanged('active', await stored()), /unexpected answer/, 'not the bot: the alias points at something else');
  });

  it('gives up within its worst case whatever happens (every attempt hanging until aborted), which fits the functions (test/infra)', async () => {
    const budget = invokeNotifierWorstCaseMs();
    assert.ok(budget <= 15_000, `${budget} ms`);
    let clock = new FakeClock();
    lambda.on(InvokeCommand).callsFake(() => {
      clock.set(clock.now() + INVOKE_NOTIFIER.timeoutMs);
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    });
    clock = new FakeClock();
    const t0 = clock.now();
    await assert.rejects(notifier(clock).requestChanged('approval_requested', await stored()), (e: unknown) => e instanceof DependencyError && e.retryable && /timed out after 6000 ms/.test(e.message));
    assert.ok(clock.now() - t0 <= budget, `took ${clock.now() - t0} ms, more than ${budget} ms`);
  });

  it('each attempt carries an abort signal bounded by what is left of the budget', async () => {
    const seen: Array<AbortSignal | undefined> = [];
    const fake = { send: async (_c: InvokeCommand, o?: { abortSignal?: AbortSignal }) => (seen.push(o?.abortSignal), delivered) };
    await new BotInvokeNotifier({ functionArn: ALIAS_ARN, lambda: fake as never, clock: new FakeClock(), region: 'us-east-1' }).requestChanged('active', await stored());
    assert.ok(seen[0] instanceof AbortSignal && !seen[0].aborted);
  });
});

describe('composition: how notices reach the bot', () => {
  const base = {
    [ENV.stage]: 'test',
    [ENV.awsRegion]: 'us-east-1',
    [ENV.requestsTable]: 'req',
    [ENV.ledgerTable]: 'led',
    [ENV.auditTable]: 'aud',
    [ENV.eventBusName]: 'bus',
    [ENV.stateMachineArn]: 'arn:aws:states:us-east-1:111111111111:stateMachine:m',
    [ENV.ssoInstanceArn]: 'arn:aws:sso:::instance/ssoins-1111111111111111',
    [ENV.identityStoreId]: 'd-1111111111',
    [ENV.schedulerGroup]: 'g',
    [ENV.schedulerRoleArn]: 'arn:aws:iam::111111111111:role/s',
    [ENV.schedulerTargetArn]: 'arn:aws:lambda:us-east-1:111111111111:function:revoke',
    [ENV.schedulerDlqArn]: 'arn:aws:sqs:us-east-1:111111111111:dlq',
    [ENV.botAppId]: '00000000-0000-0000-0000-000000000001',
    [ENV.entraTenantId]: '00000000-0000-0000-0000-000000000002',
    [ENV.policyJson]: compilePolicy(parse(readFileSync('sandbox/demo-policy.yaml', 'utf8'))),
    [ENV.noticeFunctionArn]: 'arn:aws:lambda:us-east-1:111111111111:function:jit-access-test-notify',
  };
  const http = { [ENV.notifyUrl]: 'https://bot.example.com/api/notify', [ENV.notifySecretArn]: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:n' };
  const tryParse = (env: Record<string, string>) => {
    try {
      return parseConfig(env);
    } catch (e) {
      return e as Error;
    }
  };

  it('JIT_BOT_FUNCTION_ARN picks the Lambda invoke (and wins over a notify URL); without it, the HMAC HTTP post', () => {
    const hosted = tryParse({ ...base, [ENV.botFunctionArn]: ALIAS_ARN, ...http });
    assert.ok(!(hosted instanceof Error), String(hosted));
    assert.ok(buildNotifier(hosted, { secretsManager: {} as never }) instanceof BotInvokeNotifier);
    const self = tryParse({ ...base, ...http });
    assert.ok(!(self instanceof Error), String(self));
    assert.ok(buildNotifier(self, { secretsManager: {} as never }) instanceof BotNotifier);
  });

  it('refuses a configuration with no way to the bot, or a bot ARN without an alias', () => {
    const none = tryParse(base);
    assert.ok(none instanceof Error);
    assert.match(none.message, /JIT_BOT_FUNCTION_ARN is not set .*nor are both JIT_NOTIFY_URL and JIT_NOTIFY_SECRET_ARN/);
    for (const arn of ['arn:aws:lambda:us-east-1:111111111111:function:jit-access-test-bot', 'arn:aws:lambda:us-east-1:111111111111:function:jit-access-test-bot:$LATEST', 'arn:aws:lambda:us-east-1:111111111111:function:jit-access-test-bot:7']) {
      const bad = tryParse({ ...base, [ENV.botFunctionArn]: arn });
      assert.ok(bad instanceof Error && /JIT_BOT_FUNCTION_ARN must be the bot function's alias ARN/.test(bad.message), `${arn}: ${String(bad)}`);
    }
  });
});
