/**
 * What the AWS SDK v3 clients expect on the wire from a service, for the two JSON protocols the
 * stand-ins speak:
 *   awsJson1_0 / awsJson1_1: POST / with `X-Amz-Target: <Prefix>.<Operation>`; errors carry
 *     `__type` in the body (and the `x-amzn-errortype` header) and a `message`.
 *   restJson1: the operation is the method + path; errors carry the `x-amzn-errortype` header
 *     and the HTTP status from the service model.
 * The SDK turns the error type into an exception class of the same name (ThrottlingException,
 * ConflictException, ...), so the handler code under test sees exactly what AWS would raise.
 */
import type { z } from 'zod';

export class AwsError extends Error {
  constructor(
    /** The modeled exception name, e.g. `ThrottlingException`. */
    readonly code: string,
    message: string,
    /** HTTP status (AWS JSON protocols answer modeled client errors with 400, server faults with 500). */
    readonly status = 400,
    /** Extra modeled members (e.g. identitystore's `ResourceType`, `ResourceId`). */
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }
}

export const validation = (message: string) => new AwsError('ValidationException', message, 400);

/** Parses an operation's input with a schema; a mismatch is the service's validation error naming the member. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, errorCode = 'ValidationException', status = 400): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? issue.path.join('.') : 'input';
  const message =
    issue?.code === 'invalid_type' && issue.input === undefined
      ? `1 validation error detected: Value null at '${path}' failed to satisfy constraint: Member must not be null`
      : `1 validation error detected: Value at '${path}' failed to satisfy constraint: ${issue?.message ?? 'invalid'}`;
  throw new AwsError(errorCode, message, status);
}

/** AWS JSON protocols encode timestamps as epoch seconds (fractional allowed). */
export const epochSeconds = (ms: number) => ms / 1000;

/** Opaque pagination tokens: base64 of the next offset (matches the models' token patterns). */
export function encodePageToken(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64');
}

export function decodePageToken(token: string | undefined, errorCode = 'ValidationException'): number {
  if (token === undefined || token === '') return 0;
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const match = /^o:(\d+)$/.exec(decoded);
  if (!match) throw new AwsError(errorCode, 'The pagination token is invalid.', 400);
  return Number(match[1]);
}

export function paginate<T>(items: readonly T[], nextToken: string | undefined, maxResults: number, errorCode?: string): { page: T[]; nextToken?: string } {
  const offset = decodePageToken(nextToken, errorCode);
  const page = items.slice(offset, offset + maxResults);
  const next = offset + maxResults < items.length ? encodePageToken(offset + maxResults) : undefined;
  return next ? { page, nextToken: next } : { page };
}

/** Strips undefined members so that responses carry only what is set (as AWS does). */
export function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
