/**
 * Error answers of the bot's HTTP surface as RFC 9457 problem details
 * (`application/problem+json`: type, title, status, detail; https://www.rfc-editor.org/rfc/rfc9457),
 * with one extension member, `code`, a stable machine-readable reason. Nothing internal ever goes
 * into a problem: no stack, no path, no library message.
 */
import type express from 'express';
import type { Log } from './log';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Status phrases of RFC 9110 (413 is "Content Too Large" there). */
const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

export interface Problem {
  type: 'about:blank';
  title: string;
  status: number;
  detail: string;
  code: string;
  issues?: Array<{ path: string; message: string }>;
}

export function problem(status: number, code: string, detail: string, issues?: Problem['issues']): Problem {
  return { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail, code, ...(issues ? { issues } : {}) };
}

export function sendProblem(res: express.Response, status: number, code: string, detail: string, issues?: Problem['issues']): void {
  res.status(status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem(status, code, detail, issues)));
}

/**
 * What body-parser's errors (`err.type`) mean for the client. Everything else is a 500 whose
 * details stay in the log.
 */
const PARSER_ERRORS: Record<string, { status: number; code: string; detail: string }> = {
  'entity.parse.failed': { status: 400, code: 'MALFORMED_JSON', detail: 'The body is not valid JSON.' },
  'entity.too.large': { status: 413, code: 'PAYLOAD_TOO_LARGE', detail: 'The body is too large.' },
  'encoding.unsupported': { status: 415, code: 'UNSUPPORTED_ENCODING', detail: 'The content encoding is not supported.' },
  'charset.unsupported': { status: 415, code: 'UNSUPPORTED_CHARSET', detail: 'The charset is not supported; send UTF-8.' },
  'request.aborted': { status: 400, code: 'REQUEST_ABORTED', detail: 'The request was aborted before its body was read.' },
  'request.size.invalid': { status: 400, code: 'BAD_CONTENT_LENGTH', detail: 'The body does not match its Content-Length.' },
  'parameters.too.many': { status: 413, code: 'PAYLOAD_TOO_LARGE', detail: 'The body has too many parameters.' },
};

/** The last middleware: every error becomes a problem, never express's HTML page with a stack. */
export function problemErrorHandler(log: Log): express.ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const type = typeof (err as { type?: unknown })?.type === 'string' ? (err as { type: string }).type : undefined;
    const known = type ? PARSER_ERRORS[type] : undefined;
    if (known) {
      log.warn('request refused before processing', { path: req.path, status: known.status, reason: type });
    } else {
      log.error('unhandled request error', { path: req.path, error: err instanceof Error ? err.name : typeof err });
    }
    if (res.headersSent) return void res.end();
    const answer = known ?? { status: 500, code: 'INTERNAL', detail: 'The bot could not process this request.' };
    sendProblem(res, answer.status, answer.code, answer.detail);
  };
}
