/**
 * Capturing the AWS SDK commands the adapters send, for contract tests: aws-sdk-client-mock for
 * the service clients, and for DynamoDB a middleware on a real DocumentClient that records the
 * marshalled low-level input (what goes on the wire) and answers without a network.
 */
import { strict as assert } from 'node:assert';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadServiceModel, operationOf, validateInput } from './botocore-model';

export interface CapturedCall {
  command: string;
  input: unknown;
}

/** The calls recorded by an aws-sdk-client-mock stub. */
export function mockedCalls(mock: { calls(): Array<{ args: unknown[] }> }): CapturedCall[] {
  return mock.calls().map((c) => {
    const command = c.args[0] as { constructor: { name: string }; input: unknown };
    return { command: command.constructor.name, input: command.input };
  });
}

/** Fails with every violation of the botocore model, naming the command; returns the unknown (newer) members seen. */
export function assertCallsConform(service: string, calls: readonly CapturedCall[]): string[] {
  const model = loadServiceModel(service);
  assert.ok(calls.length > 0, `no ${service} calls were captured`);
  const errors: string[] = [];
  const unknown = new Set<string>();
  for (const call of calls) {
    const report = validateInput(model, operationOf(call.command), call.input);
    errors.push(...report.errors);
    for (const m of report.unknownMembers) unknown.add(m);
  }
  assert.deepEqual(errors, [], `${service} requests that AWS would reject:\n  ${errors.join('\n  ')}`);
  return [...unknown];
}

/**
 * Answers one low-level request: the JSON body of a 200, or `{status, body}` for an error
 * (`body.__type` names the exception, which the SDK then raises as its own class).
 */
export type DynamoResponder = (command: string, input: Record<string, unknown>) => Record<string, unknown> | { status: number; body: Record<string, unknown> };

/** A DocumentClient whose requests are recorded (marshalled) and answered by `respond` (which may throw SDK errors). */
export function capturingDocumentClient(respond: DynamoResponder): { doc: DynamoDBDocumentClient; calls: CapturedCall[] } {
  const calls: CapturedCall[] = [];
  const client = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, maxAttempts: 1 });
  client.middlewareStack.addRelativeTo(
    ((_next: unknown, context: { commandName?: string }) => async (args: { input: unknown }) => {
      const command = String(context.commandName);
      const input = structuredClone(args.input) as Record<string, unknown>;
      calls.push({ command, input });
      const answer = respond(command, input);
      const status = typeof answer.status === 'number' ? answer.status : 200;
      const body = status === 200 ? answer : (answer.body as Record<string, unknown>);
      // Answered at the wire (an HttpResponse-shaped object), so the SDK's own deserializer (error
      // classes) and the DocumentClient's unmarshalling both apply.
      const response = { statusCode: status, reason: undefined, headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'contract' }, body: new Uint8Array(Buffer.from(JSON.stringify(body))) };
      return { response, output: undefined };
    }) as never,
    { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'contractCapture' },
  );
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { doc, calls };
}

/**
 * Gives a client instance its own, un-stubbed `send`, so that an instance mock
 * (`mockClient(ownSend(new XClient({})))`) neither sees nor disturbs another suite's class mock of
 * the same client (mocha loads every file before running any, and a class mock lives on the prototype).
 */
export function ownSend<T extends object>(client: T): T {
  for (let p: object | null = Object.getPrototypeOf(client); p; p = Object.getPrototypeOf(p)) {
    const send = Object.getOwnPropertyDescriptor(p, 'send')?.value as ((...args: unknown[]) => unknown) & { isSinonProxy?: boolean } | undefined;
    if (typeof send === 'function' && !send.isSinonProxy) {
      Object.defineProperty(client, 'send', { value: send, writable: true, configurable: true });
      return client;
    }
  }
  throw new Error('The client has no send method.');
}
