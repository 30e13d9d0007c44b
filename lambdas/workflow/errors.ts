/**
 * Errors for Step Functions: the state machine matches on the error NAME (Lambda's errorType),
 * so handlers rethrow with names the definition's Retry/Catch lists know (WORKFLOW_ERRORS).
 */
import { DependencyError, isDomainError } from '../../core/errors';
import { WORKFLOW_ERRORS } from '../../contract/workflow';

export class WorkflowError extends Error {
  constructor(name: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

/** SDK error names that Step Functions retries as they are (ThrottlingException, ConflictException). */
const PASS_THROUGH = new Set(['ThrottlingException', 'ConflictException', 'TooManyRequestsException']);

/**
 * Lost compare-and-swap races and retryable dependency failures become `RetryableError`; SDK
 * throttling keeps its name; anything else keeps its domain error name (so a Catch on
 * States.ALL handles it) with the domain message as the cause.
 */
export function toWorkflowError(e: unknown): Error {
  if (e instanceof WorkflowError) return e;
  if (isDomainError(e)) {
    if (e.code === 'CONCURRENT_MODIFICATION') return new WorkflowError(WORKFLOW_ERRORS.retryable, e.message, { cause: e });
    if (e instanceof DependencyError && e.retryable) return new WorkflowError(WORKFLOW_ERRORS.retryable, e.message, { cause: e });
    return new WorkflowError(e.name, e.message, { cause: e });
  }
  if (e instanceof Error) {
    if (PASS_THROUGH.has(e.name)) return new WorkflowError(e.name, e.message, { cause: e });
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const retryable = (e as { $retryable?: unknown }).$retryable !== undefined || (status !== undefined && status >= 500);
    if (retryable) return new WorkflowError(WORKFLOW_ERRORS.retryable, e.message, { cause: e });
    return e;
  }
  return new Error(String(e));
}
