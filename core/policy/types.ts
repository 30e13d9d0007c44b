/**
 * Policy-as-code contract. The file format (YAML or JSON) is documented in docs/POLICY.md.
 * `validatePolicy` (policy/validate.ts) validates and normalizes a policy document into `Policy`;
 * `evaluateRequest` / `evaluateApprover` (policy/evaluate.ts) are pure functions.
 */
import type { EffectiveTerms, ReminderTerms, Route, StepUpRequirement } from '../model';

export interface AccountEntry {
  id: string; // 12 digits
  name: string;
  /** Organizational unit ids from the root down to the account's parent, e.g. ["r-ab12", "ou-ab12-11111111"]. */
  ouPath: string[];
}

export interface PermissionSetEntry {
  name: string;
  arn: string;
}

export interface PolicyRule {
  id: string;
  description: string;
  /** Identity Center group display names or group ids. */
  eligibleGroups: string[];
  accounts: { ids: string[]; ous: string[] };
  permissionSets: string[];
  maxDurationSeconds: number;
  defaultDurationSeconds: number;
  maxTotalDurationSeconds: number;
  approverGroups: string[];
  /** 0 = auto-approve. */
  approvalsRequired: number;
  ticket: { required: boolean; pattern?: string };
  breakGlass: { allowed: boolean; maxDurationSeconds: number };
  approvalTimeoutSeconds: number;
  /** Whether expiry also ends the live role sessions (early revocation always does). Default: on when the rule grants an admin permission set. */
  endSessionsAtExpiry?: boolean;
  /** A fresh Entra sign-in to vote on its requests, and (separately) to request break-glass. */
  stepUp?: { approve?: StepUpRequirement; breakGlass?: StepUpRequirement };
  /** Reminders and escalation of undecided requests (docs/POLICY.md `reminders`). */
  reminders?: ReminderTerms;
}

export interface Policy {
  version: 1;
  accounts: AccountEntry[];
  permissionSets: PermissionSetEntry[];
  rules: PolicyRule[];
}

export interface RequestEvaluationInput {
  requesterUserId: string;
  /** Group display names and ids of the requester (both are matched). */
  requesterGroups: readonly string[];
  accountId: string;
  permissionSetName: string;
  durationSeconds: number;
  ticketId?: string;
  breakGlass: boolean;
}

export type PolicyDecision =
  | { allowed: true; route: Route; terms: EffectiveTerms; reason: string }
  | { allowed: false; reason: string; ruleIds: string[] };

export interface ApproverEvaluationInput {
  approverUserId: string;
  approverGroups: readonly string[];
  requesterUserId: string;
  terms: EffectiveTerms;
}

export type ApproverDecision = { allowed: true; reason: string } | { allowed: false; code: 'SELF_APPROVAL' | 'NOT_APPROVER'; reason: string };

/** What a user may request: feeds the request card (permission sets, durations) and typeahead. */
export interface EligibilityEntry {
  account: AccountEntry;
  permissionSets: Array<{
    name: string;
    maxDurationSeconds: number;
    defaultDurationSeconds: number;
    approvalsRequired: number;
    ticketRequired: boolean;
    breakGlassAllowed: boolean;
  }>;
}
