/**
 * The contract between the bot's invoke dispatcher and the one-handler-per-verb files: a handler
 * gets the card's action data ALREADY validated with the cards' zod schema, an actor taken from
 * the authenticated activity, and returns the card that replaces the clicked one.
 */
import type { z } from 'zod';
import type { Clock } from '../../core/ports';
import type { Turn } from '../activity';
import type { ActorIdentity, BridgeClient } from '../bridge-client';
import type { EligibilityCache } from '../eligibility';
import type { Log } from '../log';
import type { ConversationStore } from '../storage/types';
import type { ApproverDirectory } from '../notifications';
import type { StepUpVerifier } from '../step-up';

export type { AdaptiveCard } from '../../cards';
import type { AdaptiveCard, CardVerb, SandboxCardAction } from '../../cards';
import type { RequestView } from '../../core/api';

/**
 * SANDBOX ONLY: clicks that vote as a demo person (sandbox/click-act.ts implements it with
 * `sandbox:act`'s own function). bot/app.ts passes it on only when the bot runs in sandbox mode;
 * without it the `sandbox.act` verb is refused and no card shows the buttons.
 */
export interface SandboxActing {
  /** The labelled buttons for a request's channel card (empty when nobody can be played). */
  actionsFor(request: RequestView): SandboxCardAction[];
  /** Votes as `person` through the bridge exactly as `npm run sandbox:act` does. */
  act(person: string, decision: 'approve' | 'deny', requestId: string): Promise<{ ok: boolean; lines: string[]; actor?: ActorIdentity }>;
}

export interface HandlerDeps {
  bridge: BridgeClient;
  eligibility: EligibilityCache;
  store: ConversationStore;
  approvers: ApproverDirectory;
  clock: Clock;
  log: Log;
  accessPortalUrl?: string;
  /** Makes a fresh idempotency key for a new request form. */
  newClientRequestId: () => string;
  /** Checks Teams SSO tokens for step-up; absent when SSO is not configured (step-up votes are then refused). */
  stepUp?: StepUpVerifier;
  /** Sandbox mode only (see SandboxActing). */
  sandbox?: SandboxActing;
}

export interface ActionContext {
  turn: Turn;
  deps: HandlerDeps;
  /** Who clicked: from `activity.from.aadObjectId` + tenant (+ roster UPN), never from card data. Memoized. */
  actor(): Promise<ActorIdentity>;
  now: number;
}

export interface ActionHandler<S extends z.ZodType = z.ZodType, V extends CardVerb = CardVerb> {
  verb: V;
  schema: S;
  handle(ctx: ActionContext, data: z.output<S>): Promise<AdaptiveCard>;
  /** A better answer than the generic error card when the data fails the schema; undefined for the generic one. */
  onInvalid?(ctx: ActionContext, raw: unknown, issues: Array<{ path: string; message: string }>): Promise<AdaptiveCard | undefined>;
}

/** Builds a handler with the schema's output type flowing into `handle`, and its verb kept as a literal type. */
export function defineHandler<V extends CardVerb, S extends z.ZodType>(verb: V, schema: S, handle: (ctx: ActionContext, data: z.output<S>) => Promise<AdaptiveCard>): ActionHandler<S, V> {
  return { verb, schema, handle };
}
