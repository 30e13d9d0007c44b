/**
 * Typed domain errors. They carry a stable `code`; only the edges (bridge, bot, lambdas) map
 * codes to HTTP status codes or card titles, through the one catalogue in contract/errors.ts.
 */
export const DOMAIN_ERROR_CODES = [
  'VALIDATION',
  'POLICY_INVALID',
  'NOT_FOUND',
  'NOT_ELIGIBLE',
  'NOT_APPROVER',
  'SELF_APPROVAL',
  'FORBIDDEN',
  'ILLEGAL_TRANSITION',
  'CONCURRENT_MODIFICATION',
  'ALREADY_EXISTS',
  'UNKNOWN_USER',
  'LIMIT_EXCEEDED',
  'DEPENDENCY_FAILED',
  'STEP_UP_REQUIRED',
  'STEP_UP_REJECTED',
] as const;
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: DomainErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

export interface FieldIssue {
  /** Dotted path, e.g. `rules[2].maxDuration` or `justification`. */
  path: string;
  message: string;
}

export class ValidationError extends DomainError {
  readonly issues: FieldIssue[];
  constructor(message: string, issues: FieldIssue[] = []) {
    super('VALIDATION', message, { issues });
    this.issues = issues;
  }
}

/** A policy file that fails its schema or semantic checks. Issues name the rule id and field. */
export class PolicyError extends DomainError {
  readonly issues: FieldIssue[];
  constructor(issues: FieldIssue[]) {
    super('POLICY_INVALID', `Invalid policy: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
    this.issues = issues;
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, id: string) {
    super('NOT_FOUND', `${what} ${id} was not found`, { what, id });
  }
}

export class NotEligibleError extends DomainError {
  constructor(reason: string) {
    super('NOT_ELIGIBLE', reason);
  }
}

export class NotApproverError extends DomainError {
  constructor(reason: string) {
    super('NOT_APPROVER', reason);
  }
}

export class SelfApprovalError extends DomainError {
  constructor() {
    super('SELF_APPROVAL', 'You cannot approve your own request.');
  }
}

export class ForbiddenError extends DomainError {
  constructor(reason: string) {
    super('FORBIDDEN', reason);
  }
}

export class IllegalTransitionError extends DomainError {
  constructor(
    readonly from: string,
    readonly to: string,
    reason?: string,
  ) {
    super('ILLEGAL_TRANSITION', reason ?? `A request cannot go from ${from} to ${to}.`, { from, to });
  }
}

/** A compare-and-swap write lost the race. Callers re-read and re-decide; they never blindly retry. */
export class ConcurrentModificationError extends DomainError {
  constructor(what: string, id: string) {
    super('CONCURRENT_MODIFICATION', `${what} ${id} was changed by someone else; reload and try again.`, { what, id });
  }
}

export class AlreadyExistsError extends DomainError {
  constructor(what: string, id: string) {
    super('ALREADY_EXISTS', `${what} ${id} already exists`, { what, id });
  }
}

/**
 * The requester already has an open request for the same (account, permission set). Thrown by the
 * request store's atomic create (so two concurrent submits give one request) and by the check before it.
 */
export class OpenRequestExistsError extends AlreadyExistsError {
  constructor(
    readonly existingRequestId: string,
    description = existingRequestId,
  ) {
    super('An open request for this access', description);
  }
}

export class UnknownUserError extends DomainError {
  constructor(who: string) {
    super('UNKNOWN_USER', `No IAM Identity Center user matches ${who}. Ask your platform team to provision you.`, { who });
  }
}

export class LimitExceededError extends DomainError {
  constructor(reason: string) {
    super('LIMIT_EXCEEDED', reason);
  }
}

/** An outside dependency failed in a way the caller may retry. */
export class DependencyError extends DomainError {
  constructor(
    readonly dependency: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super('DEPENDENCY_FAILED', message, { dependency, retryable });
  }
}

/**
 * The policy wants a fresh Entra sign-in for this action and none came with it. The bot answers
 * the Teams click with a sign-in request (loginRequest) and Teams sends the action again with a token.
 */
export class StepUpRequiredError extends DomainError {
  constructor(reason: string, requirement: { acrs: string[]; amr: string[]; maxTokenAgeSeconds: number }) {
    super('STEP_UP_REQUIRED', reason, { requirement });
  }
}

/** A step-up sign-in came but does not meet the rule (too old, another user, too weak): a refusal, never a retry loop. */
export class StepUpRejectedError extends DomainError {
  constructor(reason: string) {
    super('STEP_UP_REJECTED', reason);
  }
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
