/**
 * The cards' public API. Every function is pure: a card is a function of the state it is given
 * (and `now`), rendered from a JSON template in ./templates and re-rendered on every change.
 */
export type { AdaptiveCard, CardAction, CardChoice, CardElement, CardRefresh } from './types';
export { CARD_VERBS, ALL_CARD_VERBS, REQUEST_FORM_FIELDS, cardActionSchemas, isCardVerb, parseCardAction } from './actions';
export type { CardVerb, CardActionData } from './actions';
export {
  requestFormCard,
  approvalCard,
  requesterCard,
  findingsCard,
  welcomeCard,
  helpCard,
  requestListCard,
  messageCard,
  accountSearchResults,
  STATIC_ACCOUNT_CHOICES_MAX,
} from './render';
export type { RequestFormInput, ApprovalCardOptions, SandboxCardAction, RequesterCardOptions, FindingsCardOptions, RequestListOptions, MessageCardOptions } from './render';
export { TEAMS_CARD_MAX_BYTES, cardByteSize } from './text';
export { escapeMarkdown, escapeMessageText, escapeXml } from './escape';
export { channelPostLead, requesterSummary } from './notice-text';
export { kpiCard, chartProblems, TEAMS_CHART_TYPES } from './kpi';
export type { KpiCardOptions, KpiCardReport } from './kpi';
