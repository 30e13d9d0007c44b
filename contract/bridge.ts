/**
 * The bridge API's wire contract between the bot (client, bot/bridge-client.ts) and lambdas/bridge
 * (server). Request bodies and queries are the core services' inputs, so their schemas live in
 * core/api.ts and are re-exported here; the responses are defined here. The bot parses every
 * answer with these schemas, and the bridge's tests check every answer against them.
 *
 * The actor is never part of a body: the bot puts the identity it took from the authenticated
 * Teams activity into the ACTOR_HEADERS, and the bridge (behind the JWT authorizer that admits
 * only the bot's app registration) maps it to an Identity Center user itself.
 */
import '../core/zod-locale';
import * as z from 'zod/mini';
import { eligibilityResponseSchema } from '../core/api';
import { kpiResponseSchema } from './kpi';
import { requestViewSchema } from './request-view';

export {
  cancelBodySchema,
  createRequestBodySchema,
  decisionBodySchema,
  eligibilityQuerySchema,
  eligibilityResponseSchema,
  extendBodySchema,
  listQuerySchema,
  requestIdSchema,
  reviewBodySchema,
  revokeBodySchema,
} from '../core/api';
export type { CancelBody, CreateRequestBody, DecisionBody, EligibilityQuery, EligibilityResponse, ExtendBody, ListQuery, ReviewBody, RevokeBody } from '../core/api';
export { errorResponseSchema, type ErrorResponse } from './errors';
export { requestViewSchema } from './request-view';
export { kpiQuerySchema, kpiResponseSchema, kpiReportViewSchema, type KpiQuery, type KpiResponse, type KpiReportView } from './kpi';

export const ACTOR_HEADERS = {
  aadObjectId: 'x-jit-actor-oid',
  upn: 'x-jit-actor-upn',
  displayName: 'x-jit-actor-name',
  tenantId: 'x-jit-tenant-id',
} as const;

/** POST /requests, GET /requests/{id}, and the cancel, revoke, extend and review actions. */
export const requestResponseSchema = z.object({
  request: requestViewSchema,
  /** True when an idempotent replay returned an existing request instead of creating one. */
  replayed: z.optional(z.boolean()),
});
export type RequestResponse = z.infer<typeof requestResponseSchema>;

/** GET /requests?view=mine|pending */
export const requestListResponseSchema = z.object({ requests: z.array(requestViewSchema) });
export type RequestListResponse = z.infer<typeof requestListResponseSchema>;

/** POST /requests/{id}/decisions: a second vote by the same approver is `duplicate`. */
export const decisionResponseSchema = z.object({ request: requestViewSchema, decided: z.boolean(), duplicate: z.boolean() });
export type DecisionResponse = z.infer<typeof decisionResponseSchema>;

/**
 * The answer of every route on success, by API Gateway route key (infra/constructs/bridge-api.ts
 * has the same routes). Any other status carries an ErrorResponse.
 */
export const BRIDGE_RESPONSES = {
  'POST /requests': requestResponseSchema,
  'GET /requests': requestListResponseSchema,
  'GET /requests/{id}': requestResponseSchema,
  'POST /requests/{id}/decisions': decisionResponseSchema,
  'POST /requests/{id}/cancel': requestResponseSchema,
  'POST /requests/{id}/revoke': requestResponseSchema,
  'POST /requests/{id}/extend': requestResponseSchema,
  'POST /requests/{id}/review': requestResponseSchema,
  'GET /eligibility': eligibilityResponseSchema,
  'GET /kpis': kpiResponseSchema,
} as const satisfies Record<string, z.ZodMiniType>;
export type BridgeRouteKey = keyof typeof BRIDGE_RESPONSES;
