/**
 * HTTP edge helpers for the bridge: typed domain errors become status codes here and only here,
 * by the one error catalogue (contract/errors.ts). Unknown errors become a bare 500: no message,
 * stack or dependency detail leaves the function.
 */
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import type { core } from 'zod/mini';

/** Classic and mini schemas alike fail with a $ZodError (the bridge's schemas are zod/mini). */
type ZodError = core.$ZodError;
import { isDomainError, ValidationError } from '../core/errors';
import { stripServerFields } from '../core/model';
import { ERROR_CATALOGUE, type ErrorResponse } from '../contract/errors';

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const BASE_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { ...BASE_HEADERS, ...headers }, body: JSON.stringify(stripServerFields(body)) };
}

export function errorBody(code: string, message: string, issues?: Array<{ path: string; message: string }>): ErrorResponse {
  return { error: issues && issues.length > 0 ? { code, message, issues } : { code, message } };
}

export function zodIssues(error: ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
}

/** Throws a ValidationError carrying the schema's issues (one shape of 400 for every route). */
export function validationFromZod(what: string, error: ZodError): ValidationError {
  return new ValidationError(`Invalid ${what}.`, zodIssues(error));
}

/** The handlers log to the one Log (core/ports): JSON lines on AWS (observability/json-log.ts) and in the sandbox, silent in tests. */
import type { Log } from '../core/ports';
export type { Log };

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** Maps any thrown value to a response. Domain errors keep their (user-facing) message; anything else is a generic 500. */
export function errorResponse(e: unknown, log?: Log): HttpResponse {
  if (isDomainError(e)) {
    const status = ERROR_CATALOGUE[e.code]?.status ?? 500;
    const issues = e instanceof ValidationError || 'issues' in e ? ((e as { issues?: Array<{ path: string; message: string }> }).issues ?? undefined) : undefined;
    if (status >= 500) {
      log?.error('dependency failed', { code: e.code, error: e.message, details: e.details });
      const headers = e.code === 'DEPENDENCY_FAILED' ? { 'retry-after': '2' } : undefined;
      return json(status, errorBody(e.code, 'A backend dependency is unavailable; try again shortly.'), headers);
    }
    log?.warn('request rejected', { code: e.code, error: e.message });
    return json(status, errorBody(e.code, e.message, issues));
  }
  log?.error('unhandled error', { error: e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : String(e) });
  return json(500, errorBody('INTERNAL', 'Something went wrong on our side. It has been logged.'));
}

export type { APIGatewayProxyResultV2 };
