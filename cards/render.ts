import type { AccessRequest } from '../core/model';
import type { EligibilityResponse, FindingView } from '../core/api';
import type { AdaptiveCard, CardChoice } from './types';

export interface RequestFormInput {
  eligibility: EligibilityResponse;
  selectedAccountId?: string;
  selectedPermissionSet?: string;
  values?: Partial<{ accountId: string; permissionSetName: string; durationMinutes: number; justification: string; ticketId: string; breakGlass: boolean }>;
  errors?: Array<{ path: string; message: string }>;
  clientRequestId: string;
  searchDataset: string;
}
export interface ApprovalCardOptions {
  approverUserIds: string[];
  viewerIsApprover: boolean;
  now: string;
  accessPortalUrl?: string;
}
export interface RequesterCardOptions {
  now: string;
  accessPortalUrl?: string;
  expiringSoon?: boolean;
}
export interface FindingsCardOptions {
  now: string;
  maxItems?: number;
}
export interface RequestListOptions {
  title: string;
  now: string;
  emptyText: string;
}
export interface MessageCardOptions {
  title: string;
  text: string;
  tone: 'good' | 'warning' | 'attention' | 'default';
}

const todo = (): never => {
  throw new Error('cards: not implemented yet');
};
export function requestFormCard(_input: RequestFormInput): AdaptiveCard { return todo(); }
export function approvalCard(_request: AccessRequest, _opts: ApprovalCardOptions): AdaptiveCard { return todo(); }
export function requesterCard(_request: AccessRequest, _opts: RequesterCardOptions): AdaptiveCard { return todo(); }
export function findingsCard(_findings: FindingView[], _opts: FindingsCardOptions): AdaptiveCard { return todo(); }
export function welcomeCard(_opts: { isApproverHint?: boolean }): AdaptiveCard { return todo(); }
export function helpCard(): AdaptiveCard { return todo(); }
export function requestListCard(_requests: AccessRequest[], _opts: RequestListOptions): AdaptiveCard { return todo(); }
export function messageCard(_opts: MessageCardOptions): AdaptiveCard { return todo(); }
export function accountSearchResults(_entries: Array<{ id: string; name: string }>): CardChoice[] { return todo(); }
