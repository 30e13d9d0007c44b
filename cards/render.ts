/**
 * View models (pure functions from domain state to template data) and the card functions that
 * expand them into the JSON templates in ./templates. Every value a template binds is defined
 * here: the templating engine leaves an unbound `${x}` in the output verbatim.
 */
import { Template } from 'adaptivecards-templating';
import { LIMITS } from '../core/api';
import type { EligibilityResponse } from '../core/api';
import type { FindingView } from '../contract/notify';
import type { AccessRequest, Actor, RequestState } from '../core/model';
import { REQUEST_FORM_FIELDS } from './actions';
import { escapeMarkdown } from './escape';
import { TEAMS_CARD_MAX_BYTES, cardByteSize, cardTime, formatDuration, plain, plainLine, relative, safeUrl, sessionsEndedText } from './text';
import type { AdaptiveCard, CardChoice } from './types';
import findingsTemplate from './templates/findings.json';
import helpTemplate from './templates/help.json';
import messageTemplate from './templates/message.json';
import requestFormTemplate from './templates/request-form.json';
import requestListTemplate from './templates/request-list.json';
import requestStatusTemplate from './templates/request-status.json';
import welcomeTemplate from './templates/welcome.json';

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
  /** Teams MRIs or AAD object ids of the approvers: the card refreshes itself for them. */
  approverUserIds: string[];
  viewerIsApprover: boolean;
  now: string;
  accessPortalUrl?: string;
  /**
   * SANDBOX ONLY: buttons that vote as a demo person (verb `sandbox.act`). Given only by the
   * sandbox's composition (bot/app.ts drops them outside sandbox mode); shown while a vote can be
   * cast, under a banner that says what they are.
   */
  sandboxActions?: SandboxCardAction[];
}

/** One "Sandbox: approve as Carol" button. */
export interface SandboxCardAction {
  /** The demo person's key (sandbox/demo-directory.json), e.g. "carol". */
  person: string;
  /** The name on the button, e.g. "Carol". */
  name: string;
  decision: 'approve' | 'deny';
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

/** Display bounds: they keep every card well under the Teams payload limit whatever the input. */
const MAX = {
  name: 64,
  accountName: 120,
  ticket: LIMITS.ticketMax,
  justification: LIMITS.justificationMax,
  reason: LIMITS.reasonMax,
  voteReason: 160,
  policyReason: 240,
  ruleIds: 120,
  votesShown: 6,
  errorsShown: 8,
  errorText: 120,
  choiceAccountName: 80,
  accountChoices: 15,
  permissionSetChoices: 30,
  findingTitle: 200,
  findingResource: 200,
  findingsDefault: 10,
  findingsCeiling: 25,
  listItems: 20,
  listName: 48,
  messageTitle: 200,
  messageText: 2000,
  refreshUserIds: 60,
  refreshUserIdLength: 128,
  sandboxActions: 4,
} as const;

// ---------------------------------------------------------------------------------------------
// rendering

/**
 * One prepared Template per template, reused: preparing parses every `${...}` expression (ANTLR),
 * which costs far more than expanding, and `expand` is synchronous, so sharing is safe.
 */
const prepared = new WeakMap<object, Template>();

function render(template: object, data: object): AdaptiveCard {
  let compiled = prepared.get(template);
  if (!compiled) {
    compiled = new Template(template);
    prepared.set(template, compiled);
  }
  const expanded = compiled.expand({ $root: data }) as unknown;
  return prune(expanded) as AdaptiveCard;
}

/** Drops nulls (absent optional values) and empty `actions` arrays left by `$when`. */
function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(prune);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === null || v === undefined) continue;
      if (k === 'actions' && Array.isArray(v) && v.length === 0) continue;
      out[k] = prune(v);
    }
    return out;
  }
  return value;
}

/** Teams' limit less room for the activity envelope around the card. */
const CARD_BUDGET_BYTES = TEAMS_CARD_MAX_BYTES - 2 * 1024;

/**
 * Renders a list card with as many of its items as fit the byte budget (at most all of them), so
 * that long lists degrade to "and N more" instead of a card Teams rejects.
 */
function renderFitting(template: object, model: (shown: number) => object, total: number): AdaptiveCard {
  let card = render(template, model(total));
  if (cardByteSize(card) <= CARD_BUDGET_BYTES) return card;
  let lo = 0;
  let hi = total - 1;
  card = render(template, model(0));
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const candidate = render(template, model(mid));
    if (cardByteSize(candidate) <= CARD_BUDGET_BYTES) {
      lo = mid;
      card = candidate;
    } else hi = mid - 1;
  }
  return lo === 0 ? render(template, model(0)) : card;
}

// ---------------------------------------------------------------------------------------------
// shared view-model pieces

type TextColor = 'Default' | 'Good' | 'Warning' | 'Attention' | 'Accent';
type ContainerStyle = 'default' | 'emphasis' | 'good' | 'attention' | 'warning' | 'accent';

const STATE_LABEL: Record<RequestState, string> = {
  PENDING_APPROVAL: 'Waiting for approval',
  APPROVED: 'Approved',
  GRANTING: 'Approved, granting access',
  ACTIVE: 'Active',
  REVOKING: 'Removing access',
  EXPIRED: 'Expired',
  REVOKED: 'Revoked',
  DENIED: 'Denied',
  TIMED_OUT: 'Timed out',
  CANCELLED: 'Cancelled',
  FAILED: 'Failed',
};

const STATE_COLOR: Record<RequestState, TextColor> = {
  PENDING_APPROVAL: 'Accent',
  APPROVED: 'Good',
  GRANTING: 'Good',
  ACTIVE: 'Good',
  REVOKING: 'Warning',
  EXPIRED: 'Default',
  REVOKED: 'Warning',
  DENIED: 'Attention',
  TIMED_OUT: 'Warning',
  CANCELLED: 'Default',
  FAILED: 'Attention',
};

const STATE_STYLE: Record<RequestState, ContainerStyle> = {
  PENDING_APPROVAL: 'accent',
  APPROVED: 'good',
  GRANTING: 'good',
  ACTIVE: 'good',
  REVOKING: 'warning',
  EXPIRED: 'emphasis',
  REVOKED: 'warning',
  DENIED: 'attention',
  TIMED_OUT: 'warning',
  CANCELLED: 'emphasis',
  FAILED: 'attention',
};

function stateLabel(state: RequestState): string {
  return STATE_LABEL[state] ?? plainLine(state, 40);
}

function who(actor: Actor | undefined): string {
  if (!actor) return 'unknown';
  const name = plainLine(actor.displayName, MAX.name);
  const user = plainLine(actor.userName, MAX.name);
  if (!name) return user || 'unknown';
  return user && user !== name ? `${name} (${user})` : name;
}

function account(request: AccessRequest): string {
  const name = plainLine(request.accountName, MAX.accountName);
  const id = plainLine(request.accountId, 20);
  return name && name !== id ? `${name} (${id})` : id;
}

function approvalsSoFar(request: AccessRequest): number {
  return request.votes.filter((v) => v.decision === 'approve').length;
}

function approvalsRequired(request: AccessRequest): number {
  const n = request.terms?.approvalsRequired;
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 1;
}

interface StatusLine {
  text: string;
  color: TextColor;
  time: string;
  hasTime: boolean;
}

function line(text: string, at?: string, color: TextColor = 'Default'): StatusLine {
  return { text, color, time: at ? ` · ${cardTime(at)}` : '', hasTime: Boolean(at) };
}

function because(reason: string | undefined, max: number = MAX.reason): string {
  const r = plain(reason, max).trim();
  return r ? `: ${r}` : '';
}

/** How a vote's sign-in was checked (step-up), if it was. */
function verified(v: AccessRequest['votes'][number] | undefined): string {
  if (!v?.stepUp) return '';
  return ` (${v.stepUp.method === 'acrs' ? `verified with sign-in context ${plainLine(v.stepUp.values.filter((x) => /^c\d{1,2}$/.test(x)).join(', '), 40)}` : 'verified with MFA'})`;
}

/** The vote that decided the request (the status line tells it, with its reason), if any. */
function decidingVote(request: AccessRequest): AccessRequest['votes'][number] | undefined {
  const by = request.state !== 'PENDING_APPROVAL' && request.route === 'approval' ? request.decidedBy?.userId : undefined;
  if (!by) return undefined;
  const wanted = request.state === 'DENIED' ? 'deny' : 'approve';
  return [...request.votes].reverse().find((v) => v.approver?.userId === by && v.decision === wanted);
}

/** Who decided and when, for every state: the part of the card everyone sees after a decision. */
function statusLines(request: AccessRequest, now: string, audience: 'approvers' | 'requester'): StatusLine[] {
  const lines: StatusLine[] = [];
  const decided = () => {
    if (request.route === 'break_glass') lines.push(line('Break-glass: granted without approval', undefined, 'Attention'));
    else if (request.route === 'auto_approve') lines.push(line('Approved automatically by policy', request.decidedAt ?? request.createdAt, 'Good'));
    else if (request.decidedBy) lines.push(line(`Approved by ${who(request.decidedBy)}${verified(decidingVote(request))}${because(request.decisionReason ?? decidingVote(request)?.reason)}`, request.decidedAt, 'Good'));
    else lines.push(line('Approved', request.decidedAt, 'Good'));
  };
  switch (request.state) {
    case 'PENDING_APPROVAL': {
      const left = relative(request.approvalDeadline, now);
      // The state label above says "Waiting for approval"; the requester also learns where.
      const waiting = audience === 'requester' ? 'Waiting for an approver in the on-call channel: ' : '';
      lines.push(line(`${waiting}${approvalsSoFar(request)} of ${approvalsRequired(request)} approvals${left ? `, deadline ${left}` : ''}`, request.approvalDeadline, 'Accent'));
      break;
    }
    case 'APPROVED':
    case 'GRANTING':
      decided();
      lines.push(line('Access is being granted in IAM Identity Center.'));
      break;
    case 'ACTIVE': {
      decided();
      const endsAt = request.grant?.endsAt;
      const left = relative(endsAt, now);
      lines.push(line(`Active, ends ${left || 'now'}`, endsAt, 'Good'));
      break;
    }
    case 'REVOKING':
      decided();
      lines.push(line(`Access is being removed${because(request.endReason)}`, request.endedAt, 'Warning'));
      break;
    case 'EXPIRED':
      decided();
      lines.push(line('Expired: access was removed', request.endedAt ?? request.grant?.endsAt));
      break;
    case 'REVOKED':
      decided();
      lines.push(line(`Revoked by ${who(request.endedBy)}${because(request.endReason)}`, request.endedAt, 'Warning'));
      break;
    case 'DENIED':
      lines.push(line(`Denied by ${who(request.decidedBy)}${verified(decidingVote(request))}${because(request.decisionReason ?? decidingVote(request)?.reason)}`, request.decidedAt, 'Attention'));
      break;
    case 'TIMED_OUT':
      lines.push(line('Timed out: no decision before the deadline', request.endedAt ?? request.decidedAt ?? request.approvalDeadline, 'Warning'));
      break;
    case 'CANCELLED':
      lines.push(line(`Cancelled by ${who(request.endedBy ?? request.decidedBy ?? request.requester)}${because(request.endReason)}`, request.endedAt ?? request.decidedAt ?? request.updatedAt));
      break;
    case 'FAILED':
      lines.push(line(`Failed${because(request.failureReason ?? request.endReason)}`, request.endedAt ?? request.updatedAt, 'Attention'));
      break;
  }
  const ended = request.state === 'EXPIRED' || request.state === 'REVOKED' ? sessionsEndedText(request.sessionsEnded) : undefined;
  if (ended) lines.push(line(ended, request.sessionsEnded!.at, 'Good'));
  if (request.route === 'break_glass' && request.review) {
    const note = because(request.review.note);
    lines.push(line(`Post-incident review acknowledged by ${who(request.review.acknowledgedBy)}${note}`, request.review.at, 'Good'));
  }
  return lines;
}

/**
 * The policy line, once: the core's reason already names its rules ("Rule x: 1 approval from …"),
 * so the rule ids are added only when the reason does not mention them.
 */
function policyText(request: AccessRequest): string {
  const reason = plainLine(request.policyReason, MAX.policyReason);
  const rules = (request.terms?.ruleIds ?? []).map((r) => plainLine(r, 64)).filter(Boolean);
  const unnamed = rules.filter((r) => !reason.includes(r));
  const prefix = unnamed.length > 0 ? plainLine(`${unnamed.length === 1 ? 'Rule' : 'Rules'} ${unnamed.join(', ')}`, MAX.ruleIds) : '';
  return [prefix, reason].filter(Boolean).join(': ') || 'no rule';
}

/**
 * The request at a glance, as a FactSet. FactSet values are rendered as markdown (unlike TextRuns),
 * so every value that carries user or directory text goes through escapeMarkdown; times are the
 * client's DATE/TIME functions (cardTime), which FactSet values expand.
 */
function requestFacts(request: AccessRequest, audience: 'approvers' | 'requester'): Array<{ title: string; value: string }> {
  const md = (s: string) => escapeMarkdown(s);
  const ticket = plainLine(request.ticketId, MAX.ticket);
  return [
    ...(audience === 'approvers' ? [{ title: 'Requester', value: md(who(request.requester)) }] : []),
    { title: 'Account', value: md(account(request)) },
    { title: 'Role', value: `${md(plainLine(request.permissionSetName, 64))} for ${formatDuration(request.grant?.totalSeconds ?? request.requestedDurationSeconds)}` },
    ...(ticket ? [{ title: 'Ticket', value: md(ticket) }] : []),
    { title: 'Policy', value: md(policyText(request)) },
    { title: 'Requested', value: cardTime(request.createdAt) },
    { title: 'Id', value: md(plainLine(request.id, 64)) },
  ];
}

/**
 * Votes, without the one the status line already tells ("Approved by Carol: looks right" is not
 * repeated as Carol's vote): only a quorum's other votes, or the votes while still pending.
 */
function votes(request: AccessRequest) {
  const decisive = decidingVote(request);
  const shown = request.votes.filter((v) => v !== decisive);
  const items = shown.slice(0, MAX.votesShown).map((v) => ({
    decision: v.decision === 'approve' ? 'Approved' : 'Denied',
    color: (v.decision === 'approve' ? 'Good' : 'Attention') as TextColor,
    text: ` by ${who(v.approver)}${verified(v)}${because(v.reason, MAX.voteReason)}`,
    time: ` · ${cardTime(v.at)}`,
  }));
  return { items, listed: shown.length };
}

function refreshFor(requestId: string, userIds: string[]) {
  const ids = [...new Set(userIds.filter((u) => typeof u === 'string' && u.length > 0 && u.length <= MAX.refreshUserIdLength))].slice(0, MAX.refreshUserIds);
  if (ids.length === 0) return null;
  return { action: { type: 'Action.Execute', verb: 'approval.refresh', data: { requestId } }, userIds: ids };
}

function baseStatusModel(request: AccessRequest, now: string, audience: 'approvers' | 'requester') {
  const state = request.state;
  const isBreakGlass = request.route === 'break_glass';
  const { items: voteItems, listed } = votes(request);
  const shownOf = listed > voteItems.length ? ` (showing ${voteItems.length} of ${listed})` : '';
  return {
    requestId: plainLine(request.id, 64),
    version: Number.isSafeInteger(request.version) ? request.version : 0,
    breakGlass: isBreakGlass,
    breakGlassText: 'Granted at once without approval. A CRITICAL Security Hub finding was raised; an approver must acknowledge the post-incident review.',
    showBanner: false,
    bannerText: '',
    headerStyle: STATE_STYLE[state] ?? 'default',
    heading: `${plainLine(request.permissionSetName, 64)} on ${plainLine(request.accountName, MAX.accountName) || plainLine(request.accountId, 20)}`,
    stateLabel: stateLabel(state),
    stateColor: STATE_COLOR[state] ?? 'Default',
    statusLines: statusLines(request, now, audience),
    facts: requestFacts(request, audience),
    justification: plain(request.justification, MAX.justification) || '(none)',
    hasVotes: voteItems.length > 0,
    votesHeading: `${state === 'PENDING_APPROVAL' ? 'Votes' : 'Other votes'}${shownOf}`,
    votes: voteItems,
    hasSignIn: false,
    signInText: '',
    reasonMax: LIMITS.reasonMax,
    canVote: false,
    canAcknowledge: false,
    canExtend: false,
    canRevoke: false,
    canCancel: false,
    hasPortal: false,
    portalUrl: '',
    extendLabel: '',
    extendMaxMinutes: 1,
    extendDefaultMinutes: 1,
    extendErrorMessage: '',
    extendStyle: 'default',
    hasExtendNote: false,
    extendNote: '',
    refresh: null as ReturnType<typeof refreshFor>,
    hasSandboxActions: false,
    sandboxActions: [] as Array<{ title: string; person: string; decision: string }>,
  };
}

// ---------------------------------------------------------------------------------------------
// approval card (on-call channel)

export function approvalViewModel(request: AccessRequest, opts: ApprovalCardOptions) {
  const model = baseStatusModel(request, opts.now, 'approvers');
  const pending = request.state === 'PENDING_APPROVAL';
  const granted = request.grant !== undefined || request.state === 'ACTIVE';
  model.canVote = pending && opts.viewerIsApprover && request.route === 'approval';
  model.canAcknowledge = request.route === 'break_glass' && granted && !request.review && opts.viewerIsApprover;
  model.refresh = refreshFor(model.requestId, opts.approverUserIds);
  const sandbox = pending && request.route === 'approval' ? (opts.sandboxActions ?? []).slice(0, MAX.sandboxActions) : [];
  model.hasSandboxActions = sandbox.length > 0;
  model.sandboxActions = sandbox.map((a) => ({
    title: plainLine(`Sandbox: ${a.decision === 'deny' ? 'deny' : 'approve'} as ${a.name}`, 64),
    person: plainLine(a.person, 32),
    decision: a.decision === 'deny' ? 'deny' : 'approve',
  }));
  if (request.route === 'break_glass' && granted && !request.review) {
    model.showBanner = true;
    model.bannerText = 'Post-incident review pending: an approver must acknowledge it.';
  }
  return model;
}

export function approvalCard(request: AccessRequest, opts: ApprovalCardOptions): AdaptiveCard {
  return render(requestStatusTemplate, approvalViewModel(request, opts));
}

// ---------------------------------------------------------------------------------------------
// requester card (1:1 chat)

export function requesterViewModel(request: AccessRequest, opts: RequesterCardOptions) {
  const model = baseStatusModel(request, opts.now, 'requester');
  const state = request.state;
  const portal = safeUrl(opts.accessPortalUrl);
  model.canCancel = state === 'PENDING_APPROVAL';
  if (state === 'ACTIVE') {
    model.canRevoke = true;
    model.hasSignIn = true;
    model.signInText = `Sign in at the AWS access portal${portal ? '' : ' (ask your administrator for its address)'}: account ${account(request)}, role ${plainLine(request.permissionSetName, 64)}.`;
    model.hasPortal = Boolean(portal);
    model.portalUrl = portal ?? '';
    const maxTotal = request.terms?.maxTotalDurationSeconds ?? 0;
    const used = request.grant?.totalSeconds ?? request.requestedDurationSeconds;
    const extendable = Math.min(Math.floor((maxTotal - used) / 60), LIMITS.durationMinutesMax);
    if (Number.isFinite(extendable) && extendable >= 1) {
      model.canExtend = true;
      model.extendMaxMinutes = extendable;
      model.extendDefaultMinutes = Math.min(extendable, 60);
      model.extendLabel = `Extend by minutes (up to ${extendable} = ${formatDuration(extendable * 60)})`;
      model.extendErrorMessage = `Enter 1 to ${extendable} minutes`;
      model.extendStyle = opts.expiringSoon ? 'positive' : 'default';
    } else {
      model.hasExtendNote = true;
      model.extendNote = "This grant has reached the policy's total time limit and cannot be extended. Request access again if you need more.";
    }
    if (opts.expiringSoon) {
      const left = relative(request.grant?.endsAt, opts.now);
      model.showBanner = true;
      model.bannerText = `Your access expires soon${left ? ` (${left})` : ''}.${model.canExtend ? ' Extend it below if you still need it.' : ''}`;
    }
  }
  return model;
}

export function requesterCard(request: AccessRequest, opts: RequesterCardOptions): AdaptiveCard {
  return render(requestStatusTemplate, requesterViewModel(request, opts));
}

// ---------------------------------------------------------------------------------------------
// request form (1:1 chat)

type Eligible = EligibilityResponse['accounts'][number];
type EligiblePermissionSet = Eligible['permissionSets'][number];

type FormError = { path: string; text: string };

/** Server-side validation errors: per form field, and the rest as general lines (prefixed with their path). */
function formErrors(input: RequestFormInput) {
  const errors: FormError[] = (input.errors ?? []).slice(0, MAX.errorsShown).map((e) => ({ path: String(e.path ?? ''), text: plain(e.message, MAX.errorText) }));
  const fieldIds = new Set<string>(Object.values(REQUEST_FORM_FIELDS));
  const fieldOf = (path: string) => path.split(/[.[]/)[0] ?? '';
  const errorsFor = (field: string) => errors.filter((e) => fieldOf(e.path) === field).map((e) => ({ text: e.text }));
  const general = errors
    .filter((e) => !fieldIds.has(fieldOf(e.path)))
    .map((e) => ({ text: e.path && e.path !== '(data)' ? `${plainLine(e.path, 40)}: ${e.text}` : e.text }));
  const firstError = (field: string, fallback: string) => errorsFor(field)[0]?.text ?? fallback;
  return { errorsFor, general, firstError };
}

function accountTitle(a: { id: string; name: string }): string {
  const name = plainLine(a.name, MAX.choiceAccountName);
  const id = plainLine(a.id, 20);
  return name && name !== id ? `${name} (${id})` : id;
}

/**
 * Up to this many eligible accounts, the account input is a plain dropdown with every account as a
 * static choice; above it, a typeahead on the `Data.Query` dataset (the first page as static
 * choices). Why 15: Teams shows at most 15 options in a dynamic typeahead's dropdown ("Typeahead
 * search in Adaptive Cards", https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/dynamic-search),
 * so up to 15 the plain dropdown shows the same list without typing or a search round trip; 15 rows
 * is about two screens of a phone's native picker; and 15 choices add under 2 KB to the card, far
 * from Teams' 28 KB card limit. Hosts without dynamic typeahead (the Agents Playground) can then
 * offer every account. The bridge re-validates whatever is submitted.
 */
export const STATIC_ACCOUNT_CHOICES_MAX = 15;

/**
 * Account choices. Static (every eligible account is in hand and there are few): all of them in
 * name order. Typeahead: the first page, the selected one first (it may have come from a search
 * beyond this page).
 */
function accountChoices(accounts: Eligible[], accountId: string | undefined, selectedAccount: Eligible | undefined, complete: boolean): CardChoice[] {
  const choices: CardChoice[] = [];
  if (accountId && !(complete && selectedAccount)) choices.push({ title: selectedAccount ? accountTitle(selectedAccount) : plainLine(accountId, 20), value: plainLine(accountId, 20) });
  for (const a of accounts) {
    if (!complete && choices.length >= MAX.accountChoices) break;
    if (complete || a.id !== accountId) choices.push({ title: accountTitle(a), value: plainLine(a.id, 20) });
  }
  return choices;
}

/**
 * Permission sets: for the selected account, or every eligible one with its account count.
 * `variants` holds every (account, permission set) pair on offer: the same set may have other
 * limits on another account, and the duration must suit whichever the requester ends up with.
 */
function permissionSetCandidates(accounts: Eligible[], selectedAccount: Eligible | undefined) {
  const candidates: EligiblePermissionSet[] = [];
  const variants: EligiblePermissionSet[] = [];
  const accountsPerSet = new Map<string, number>();
  const hasSets = (a: Eligible) => (a.permissionSets ?? []).some((ps) => plainLine(ps.name, 64).length > 0);
  const source = selectedAccount && hasSets(selectedAccount) ? [selectedAccount] : accounts;
  const narrowed = selectedAccount !== undefined && source[0] === selectedAccount;
  for (const a of source) {
    for (const ps of a.permissionSets ?? []) {
      if (!plainLine(ps.name, 64)) continue;
      accountsPerSet.set(ps.name, (accountsPerSet.get(ps.name) ?? 0) + 1);
      variants.push(ps);
      if (!candidates.some((c) => c.name === ps.name)) candidates.push(ps);
    }
  }
  return { candidates, variants, accountsPerSet, narrowed };
}

function permissionSetChoices(sets: ReturnType<typeof permissionSetCandidates>, selectedSet: EligiblePermissionSet | undefined): CardChoice[] {
  const { candidates, accountsPerSet, narrowed } = sets;
  const choices: CardChoice[] = candidates.slice(0, MAX.permissionSetChoices).map((ps) => {
    const name = plainLine(ps.name, 64);
    const limits = `up to ${formatDuration(ps.maxDurationMinutes * 60)}, ${ps.approvalsRequired > 0 ? `${ps.approvalsRequired} approval${ps.approvalsRequired === 1 ? '' : 's'}` : 'no approval'}`;
    const count = accountsPerSet.get(ps.name) ?? 0;
    return { title: narrowed ? `${name} (${limits})` : `${name} (${count} account${count === 1 ? '' : 's'}; ${limits})`, value: name };
  });
  if (selectedSet && !choices.some((c) => c.value === selectedSet.name)) choices.unshift({ title: plainLine(selectedSet.name, 64), value: plainLine(selectedSet.name, 64) });
  return choices;
}

/**
 * The duration input. Adaptive Cards 1.5 cannot recompute one input when another changes (no
 * change events; Teams stops at 1.5), so the preselected value must be valid for every permission
 * set the dropdown offers, not only the preselected one: a requester who switches the set and
 * submits at once must not be refused for a value they never typed.
 * - Preselected (nothing typed): the selected set's policy default (defaultDuration; with none
 *   selected, the smallest default on offer), never above the smallest maximum on offer. Each
 *   default is at most its own maximum (the policy schema checks it), so the smallest default is
 *   always valid for every option.
 * - Typed: kept, but never above the selected set's maximum (else the largest on offer).
 * - `max` (client-side check only): the largest maximum on offer, so that no valid value is blocked
 *   in the client; the bridge checks the exact maximum of the set submitted.
 * `preset` is the preselected value, sent back by "Refresh choices": a duration still equal to it
 * was not chosen by the requester, so the refreshed form may preselect the new set's default.
 */
function durationInput(variants: EligiblePermissionSet[], selectedSet: EligiblePermissionSet | undefined, requested: number | undefined) {
  const bounded = (n: number) => Math.max(1, Math.min(Math.floor(Number.isFinite(n) ? n : 1), LIMITS.durationMinutesMax));
  const offered = variants.length > 0 ? variants : selectedSet ? [selectedSet] : [];
  const maxima = offered.map((v) => bounded(v.maxDurationMinutes));
  const largest = Math.max(1, ...maxima);
  const smallest = maxima.length > 0 ? Math.min(...maxima) : 1;
  if (requested !== undefined) {
    const cap = selectedSet ? bounded(selectedSet.maxDurationMinutes) : largest;
    return { max: largest, sameMax: smallest === largest, value: Math.min(bounded(requested), cap), preset: null };
  }
  const sameName = selectedSet ? offered.filter((v) => v.name === selectedSet.name) : offered;
  const wanted = Math.min(...(sameName.length > 0 ? sameName : offered).map((v) => bounded(Math.min(v.defaultDurationMinutes, v.maxDurationMinutes))));
  const value = Math.min(Number.isFinite(wanted) ? wanted : 1, smallest);
  return { max: largest, sameMax: smallest === largest, value, preset: value };
}

function durationLabel(d: ReturnType<typeof durationInput>, selectedSet: EligiblePermissionSet | undefined): string {
  const most = (minutes: number) => `${minutes} = ${formatDuration(minutes * 60)}`;
  if (d.sameMax) return `Duration in minutes (at most ${most(d.max)})`;
  const own = selectedSet ? `at most ${most(Math.min(selectedSet.maxDurationMinutes, d.max))} for ${plainLine(selectedSet.name, 64)}; ` : '';
  return `Duration in minutes (${own}each permission set's maximum is in its name)`;
}

function ticketLabel(required: boolean, sometimes: boolean): string {
  if (required) return 'Ticket id (required; its format is checked)';
  if (sometimes) return 'Ticket id (required for some permission sets; its format is checked)';
  return 'Ticket id (optional; its format is checked)';
}

export function requestFormViewModel(input: RequestFormInput) {
  const values = input.values ?? {};
  // Entries without an id cannot be chosen (and would make the choice set invalid).
  const accounts = (input.eligibility.accounts ?? []).filter((a) => typeof a.id === 'string' && plainLine(a.id, 20).length > 0);
  // Every eligible account is in hand, and few enough for a plain dropdown.
  const total = Number.isInteger(input.eligibility.total) ? input.eligibility.total : Number.POSITIVE_INFINITY;
  const staticAccounts = accounts.length > 0 && accounts.length >= total && accounts.length <= STATIC_ACCOUNT_CHOICES_MAX;
  // One account to choose from: it is chosen.
  const onlyAccount = staticAccounts && accounts.length === 1 ? accounts[0]!.id : undefined;
  const accountId = plainLine(input.selectedAccountId ?? values.accountId ?? onlyAccount, 20) || undefined;
  const selectedAccount = accountId ? accounts.find((a) => a.id === accountId) : undefined;
  const { errorsFor, general, firstError } = formErrors(input);

  const sets = permissionSetCandidates(accounts, selectedAccount);
  const permissionSetName = input.selectedPermissionSet ?? values.permissionSetName;
  // One permission set to choose from: it is chosen. Among several none is preselected: which
  // privilege to ask for is the requester's decision.
  const selectedSet = permissionSetName ? sets.candidates.find((c) => c.name === permissionSetName) : sets.candidates.length === 1 ? sets.candidates[0] : undefined;
  const setChoices = permissionSetChoices(sets, selectedSet);
  const duration = durationInput(sets.variants, selectedSet, values.durationMinutes);

  const scope = selectedSet ? [selectedSet] : sets.candidates;
  const ticketRequired = scope.length > 0 && scope.every((c) => c.ticketRequired);
  const requester = input.eligibility.user;
  return {
    requesterLine: `Requesting as ${who({ userId: requester?.userId ?? '', userName: requester?.userName ?? '', displayName: requester?.displayName ?? '' })}`,
    eligible: setChoices.length > 0,
    notEligible: setChoices.length === 0,
    generalErrors: general,
    searchDataset: plainLine(input.searchDataset, 64),
    clientRequestId: plainLine(input.clientRequestId, LIMITS.clientRequestIdMax),
    account: {
      static: staticAccounts,
      typeahead: !staticAccounts,
      value: accountId ? plainLine(accountId, 20) : null,
      choices: accountChoices(accounts, accountId, selectedAccount, staticAccounts),
      errors: errorsFor('accountId'),
      errorMessage: firstError('accountId', 'Choose an AWS account'),
    },
    permissionSet: {
      label: sets.narrowed && selectedAccount ? 'Permission set (your options for this account)' : 'Permission set (all you are eligible for; pick an account and Refresh choices to narrow)',
      value: selectedSet ? plainLine(selectedSet.name, 64) : null,
      choices: setChoices,
      errors: errorsFor('permissionSetName'),
      errorMessage: firstError('permissionSetName', 'Choose a permission set'),
    },
    duration: {
      label: durationLabel(duration, selectedSet),
      max: duration.max,
      value: duration.value,
      preset: duration.preset,
      errors: errorsFor('durationMinutes'),
      errorMessage: firstError('durationMinutes', `Enter 1 to ${duration.max} minutes`),
    },
    justification: {
      maxLength: LIMITS.justificationMax,
      regex: `^[\\s\\S]{${LIMITS.justificationMin},${LIMITS.justificationMax}}$`,
      value: values.justification === undefined ? null : plain(values.justification, LIMITS.justificationMax),
      errors: errorsFor('justification'),
      errorMessage: firstError('justification', `Explain why you need access (${LIMITS.justificationMin}-${LIMITS.justificationMax} characters)`),
    },
    ticket: {
      label: ticketLabel(ticketRequired, scope.some((c) => c.ticketRequired)),
      required: ticketRequired,
      maxLength: LIMITS.ticketMax,
      value: values.ticketId === undefined ? null : plainLine(values.ticketId, LIMITS.ticketMax),
      errors: errorsFor('ticketId'),
      errorMessage: firstError('ticketId', 'Enter the ticket id for this work'),
    },
    breakGlass: {
      offered: scope.some((c) => c.breakGlassAllowed),
      value: values.breakGlass ? 'true' : 'false',
      note: 'Only in an emergency: access is granted at once for a short time, the on-call channel is alerted, a CRITICAL finding is raised and a post-incident review is required.',
      errors: errorsFor('breakGlass'),
    },
  };
}

export function requestFormCard(input: RequestFormInput): AdaptiveCard {
  return render(requestFormTemplate, requestFormViewModel(input));
}

/** Results for the `application/search` invoke that backs the account typeahead. */
export function accountSearchResults(entries: Array<{ id: string; name: string }>): CardChoice[] {
  return entries.slice(0, LIMITS.searchLimitMax).map((e) => {
    const id = plainLine(e.id, 20);
    const name = plainLine(e.name, MAX.accountName);
    return { title: name && name !== id ? `${name} (${id})` : id, value: id };
  });
}

// ---------------------------------------------------------------------------------------------
// findings

const SEVERITY_COLOR: Record<FindingView['severity'], TextColor> = {
  CRITICAL: 'Attention',
  HIGH: 'Attention',
  MEDIUM: 'Warning',
  LOW: 'Accent',
  INFORMATIONAL: 'Default',
};

function findingsLimit(opts: FindingsCardOptions): number {
  return Math.max(1, Math.min(Math.floor(opts.maxItems ?? MAX.findingsDefault) || MAX.findingsDefault, MAX.findingsCeiling));
}

/**
 * A human label for a finding's resource instead of its raw id:
 * - our own findings name an Identity Center account assignment by its key,
 *   `<account>|<permission set ARN>|<principal id>` (core/model.ts assignmentKeyId);
 * - an ARN (`arn:partition:service:region:account:resource`) is labelled by service and resource;
 * - Security Hub's account resource `AWS::::Account:<id>` is the account.
 * Anything else is shown as given.
 */
export function resourceLabel(resourceId: string): string {
  const id = plainLine(resourceId, MAX.findingResource);
  const assignment = /^\d{12}\|arn:aws[a-z-]*:sso:::permissionSet\/[^/|]+\/(ps-[0-9a-z]+)\|([^|]+)$/.exec(resourceId);
  if (assignment) return `Identity Center assignment of ${assignment[1]} to user ${plainLine(assignment[2], 64)}`;
  const account = /^AWS::::Account:(\d{12})$/.exec(resourceId);
  if (account) return `AWS account ${account[1]}`;
  const arn = /^arn:aws[a-z-]*:([a-z0-9-]+):[a-z0-9-]*:(\d{12})?:(.+)$/.exec(resourceId);
  if (arn) {
    const service = ARN_SERVICE[arn[1]!] ?? arn[1]!.toUpperCase();
    const [kind, ...rest] = arn[3]!.split(/[/:]/);
    const name = rest.length > 0 ? rest.join('/') : kind!;
    return plainLine(`${service} ${rest.length > 0 ? `${kind!.replace(/-/g, ' ')} ` : ''}${name}`, MAX.findingResource);
  }
  return id || 'no resource';
}

const ARN_SERVICE: Record<string, string> = { iam: 'IAM', s3: 'S3 bucket', ec2: 'EC2', sso: 'IAM Identity Center', lambda: 'Lambda', rds: 'RDS', kms: 'KMS', sts: 'STS' };

export function findingsViewModel(findings: FindingView[], opts: FindingsCardOptions, limit = findingsLimit(opts)) {
  const shown = findings.slice(0, limit);
  const more = findings.length - shown.length;
  const open = findings.filter((f) => f.status !== 'RESOLVED');
  const worst = open.some((f) => f.severity === 'CRITICAL' || f.severity === 'HIGH');
  return {
    headerStyle: worst ? 'attention' : open.length === 0 && findings.length > 0 ? 'good' : 'emphasis',
    heading: `Security Hub: ${findings.length} finding${findings.length === 1 ? '' : 's'}`,
    isEmpty: findings.length === 0,
    items: shown.map((f) => {
      const link = safeUrl(f.link);
      return {
        severity: SEVERITY_COLOR[f.severity] ? f.severity : plainLine(f.severity, 16),
        color: SEVERITY_COLOR[f.severity] ?? 'Default',
        title: plainLine(f.title, MAX.findingTitle),
        facts: [
          { title: 'Resource', value: escapeMarkdown(resourceLabel(f.resourceId)) },
          { title: 'Account', value: escapeMarkdown(plainLine(f.accountId, 20)) },
          { title: 'Source', value: escapeMarkdown(plainLine(f.productName, 80)) },
          { title: 'Updated', value: cardTime(f.updatedAt) },
        ],
        isResolved: f.status === 'RESOLVED',
        hasLink: Boolean(link),
        link: link ?? '',
      };
    }),
    hasMore: more > 0,
    moreText: `and ${more} more (see Security Hub)`,
  };
}

export function findingsCard(findings: FindingView[], opts: FindingsCardOptions): AdaptiveCard {
  const limit = Math.min(findingsLimit(opts), findings.length);
  return renderFitting(findingsTemplate, (n) => findingsViewModel(findings, opts, n), limit);
}

// ---------------------------------------------------------------------------------------------
// menus, lists, messages

export function welcomeCard(opts: { isApproverHint?: boolean }): AdaptiveCard {
  return render(welcomeTemplate, { isApproverHint: Boolean(opts.isApproverHint) });
}

export function helpCard(): AdaptiveCard {
  return render(helpTemplate, {});
}

export function requestListViewModel(requests: AccessRequest[], opts: RequestListOptions, limit: number = MAX.listItems) {
  const shown = requests.slice(0, limit);
  const more = requests.length - shown.length;
  return {
    title: plainLine(opts.title, MAX.messageTitle),
    isEmpty: requests.length === 0,
    emptyText: plain(opts.emptyText, MAX.messageText),
    items: shown.map((r) => {
      const at = r.state === 'ACTIVE' ? r.grant?.endsAt : r.state === 'PENDING_APPROVAL' ? r.approvalDeadline : (r.endedAt ?? r.decidedAt ?? r.updatedAt);
      const when = r.state === 'ACTIVE' ? 'Expires' : r.state === 'PENDING_APPROVAL' ? 'Deadline' : 'Updated';
      const rel = relative(at, opts.now);
      return {
        requestId: plainLine(r.id, 64),
        headline: `${plainLine(r.accountName, MAX.listName) || plainLine(r.accountId, 20)} (${plainLine(r.accountId, 20)}) · ${plainLine(r.permissionSetName, 64)}`,
        stateLabel: stateLabel(r.state),
        stateColor: STATE_COLOR[r.state] ?? 'Default',
        detail: `${plainLine(r.requester?.displayName, MAX.listName) || plainLine(r.requester?.userName, MAX.listName)} · ${formatDuration(r.grant?.totalSeconds ?? r.requestedDurationSeconds)}${r.route === 'break_glass' ? ' · BREAK-GLASS' : ''}`,
        time: `${when} ${cardTime(at)}${rel ? ` · ${rel}` : ''}`,
      };
    }),
    hasMore: more > 0,
    moreText: `and ${more} more`,
  };
}

export function requestListCard(requests: AccessRequest[], opts: RequestListOptions): AdaptiveCard {
  const limit = Math.min(MAX.listItems, requests.length);
  return renderFitting(requestListTemplate, (n) => requestListViewModel(requests, opts, n), limit);
}

const TONE: Record<MessageCardOptions['tone'], { style: ContainerStyle; color: TextColor }> = {
  good: { style: 'good', color: 'Good' },
  warning: { style: 'warning', color: 'Warning' },
  attention: { style: 'attention', color: 'Attention' },
  default: { style: 'emphasis', color: 'Default' },
};

export function messageCard(opts: MessageCardOptions): AdaptiveCard {
  const tone = TONE[opts.tone] ?? TONE.default;
  return render(messageTemplate, { ...tone, title: plainLine(opts.title, MAX.messageTitle) || ' ', text: plain(opts.text, MAX.messageText) || ' ' });
}

