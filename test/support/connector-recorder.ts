/**
 * A recording stand-in for the Bot Framework connector (the `serviceUrl` of Teams activities), on
 * 127.0.0.1:0. It serves the routes the bot uses and records every call:
 *   POST /v3/conversations                                  create a conversation / channel thread
 *   POST /v3/conversations/:id/activities                   proactive send
 *   POST /v3/conversations/:id/activities/:replyToId        reply inside a turn
 *   PUT  /v3/conversations/:id/activities/:activityId       update in place
 *   GET  /v3/conversations/:id/members/:userId              TeamsInfo.getMember
 * `script` lets a test answer the next calls with, e.g., 429 + Retry-After.
 *
 * It is as strict as Teams on the rules the bot depends on (see sandbox/FIDELITY.md), and refuses
 * a violation the way Teams answers it, so that a bot that breaks one fails a test:
 *   - message size: the activity, measured in UTF-16 as Teams does, above 80 KB -> 413
 *     `MessageSizeTooBig` ("Format your bot messages": limit about 100 KB UTF-16, keep within 80 KB
 *     to guarantee delivery; base64 images are not counted and the bot sends none);
 *   - rate limits per bot per conversation ("Optimize your bot with rate limiting in Teams", per
 *     bot per thread limit): sends and updates 7/1 s, 8/2 s, 60/30 s, 1800/3600 s; create
 *     conversation the same per channel; get members 14/1 s, 16/2 s, 120/30 s, 3600/3600 s ->
 *     429 with Retry-After;
 *   - an update must name an activity that was posted in that conversation -> 404 otherwise;
 *   - conversation and channel ids must have Teams' forms (`19:…@thread.tacv2`, `a:…`): a Graph
 *     team GUID names no conversation -> 404 `ConversationNotFound`;
 *   - @mentions: each mention entity's `<at>…</at>` text must be in the message text (a card's
 *     `msteams.entities`: in a TextBlock of that card), and it names
 *     someone (`mentioned.id`, `mentioned.name`); Teams ignores such a mention silently, the
 *     recorder answers 400 `BadArgument` ("Channel and group chat conversations with a bot", Add
 *     mentions to your messages);
 *   - Adaptive Cards: `type: AdaptiveCard` and a `version` of at most 1.5 ("Cards reference":
 *     Teams supports Adaptive Cards up to v1.5); `refresh.action` an Action.Execute with a verb
 *     and `refresh.userIds` at most 60 user MRIs ("Universal Actions: User Specific Views":
 *     maximum 60 users, "user MRI"s: `29:` ids from `activity.from.id`, or `8:orgid:<object id>`); every Action.Execute carries a
 *     verb (the bot routes invokes on it); every {{DATE()}}/{{TIME()}} function well formed ("Text
 *     features", https://learn.microsoft.com/adaptive-cards/authoring-cards/text-features: upper
 *     case, no spaces inside, strict RFC 3339 `YYYY-MM-DDThh:mm:ssZ` or `±hh:mm`; the clients'
 *     pattern, adaptivecards lib/text-formatters.js, admits no fractional seconds; a malformed one
 *     is shown to the viewer as the raw string). Teams' own answer to a malformed card is not
 *     documented (it may accept the message and render an error); the recorder answers 400
 *     `BadArgument`, deliberately, so the defect cannot pass unnoticed.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';

export interface RecordedConnectorCall {
  method: string;
  path: string;
  conversationId?: string;
  activityId?: string;
  body: Record<string, unknown> | undefined;
  headers: Record<string, string | undefined>;
  /** Status the recorder answered with. */
  status: number;
  /** The Teams rule the recorder refused the call for (size, rate, card, unknown activity). */
  refusedBy?: string;
  /** Date.now() when it arrived (a fake clock in tests that install one). */
  at: number;
}

export interface Member {
  id: string;
  aadObjectId: string;
  name: string;
  userPrincipalName: string;
  email: string;
  tenantId?: string;
}

export type ScriptedAnswer = { status: number; headers?: Record<string, string>; body?: unknown };

/** A sliding-window limit: at most `max` operations in any `seconds`. */
export interface RateWindow {
  seconds: number;
  max: number;
}

/** Per bot per thread limits (Teams docs, "Optimize your bot with rate limiting in Teams"). */
export const TEAMS_SEND_LIMITS: readonly RateWindow[] = [
  { seconds: 1, max: 7 },
  { seconds: 2, max: 8 },
  { seconds: 30, max: 60 },
  { seconds: 3600, max: 1800 },
];
export const TEAMS_MEMBER_LIMITS: readonly RateWindow[] = [
  { seconds: 1, max: 14 },
  { seconds: 2, max: 16 },
  { seconds: 30, max: 120 },
  { seconds: 3600, max: 3600 },
];
/** "Format your bot messages": about 100 KB of UTF-16; within 80 KB delivery is guaranteed. */
export const TEAMS_MESSAGE_MAX_UTF16_BYTES = 80 * 1024;
/** "Cards reference": Teams renders Adaptive Cards up to version 1.5. */
export const TEAMS_MAX_CARD_VERSION = '1.5';
/**
 * A Teams user MRI: the `29:` id the bot sees in `activity.from.id` (what the docs' samples put in
 * refresh.userIds), or Teams' `8:orgid:<Entra object id>`. A bare object id, a UPN or a made-up id
 * is not one.
 */
export const TEAMS_USER_MRI = /^(29:\S+|8:orgid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
/** "Universal Actions for Adaptive Cards: User Specific Views": at most 60 users. */
export const TEAMS_MAX_REFRESH_USER_IDS = 60;

export interface ConnectorRecorderOptions {
  /** The recorder's clock for rate limits and `at` (default Date.now, which fake timers replace). */
  now?: () => number;
  /** Rate limits per conversation; `false` turns them off (a test of something else that floods on purpose). */
  rateLimits?: { send: readonly RateWindow[]; members: readonly RateWindow[] } | false;
  maxMessageUtf16Bytes?: number;
}

/**
 * Teams conversation ids: a channel or its thread `19:…@thread.tacv2` (older teams
 * `@thread.skype`, with `;messageid=N` for a thread), a group chat `19:…@thread.v2`, a personal
 * chat `a:…`. A Graph team or group GUID, or an Entra object id, is not one.
 */
export const TEAMS_CONVERSATION_ID = /^(19:[^\s@]+@thread\.(tacv2|skype|v2)(;messageid=\d+)?|a:\S+)$/;
export const TEAMS_CHANNEL_ID = /^19:[^\s@]+@thread\.(tacv2|skype)$/;

/** Why Teams would refuse a card, or undefined when it is acceptable. */
export function cardViolation(card: unknown): string | undefined {
  if (!card || typeof card !== 'object') return 'the Adaptive Card attachment has no content object';
  const c = card as Record<string, unknown>;
  if (c.type !== 'AdaptiveCard') return `content.type must be "AdaptiveCard", not ${JSON.stringify(c.type)}`;
  const version = typeof c.version === 'string' ? /^(\d+)\.(\d+)$/.exec(c.version) : null;
  if (!version) return `the card needs a version "major.minor", not ${JSON.stringify(c.version)}`;
  const [maxMajor, maxMinor] = TEAMS_MAX_CARD_VERSION.split('.').map(Number) as [number, number];
  const [major, minor] = [Number(version[1]), Number(version[2])];
  if (major > maxMajor || (major === maxMajor && minor > maxMinor)) return `card version ${c.version} is newer than ${TEAMS_MAX_CARD_VERSION}, the newest Teams renders`;
  if (c.refresh !== undefined) {
    const refresh = c.refresh as { action?: { type?: unknown; verb?: unknown }; userIds?: unknown };
    if (refresh.action?.type !== 'Action.Execute') return 'refresh.action must be an Action.Execute';
    if (refresh.userIds !== undefined) {
      if (!Array.isArray(refresh.userIds)) return 'refresh.userIds must be an array';
      if (refresh.userIds.length > TEAMS_MAX_REFRESH_USER_IDS) return `refresh.userIds has ${refresh.userIds.length} ids; Teams allows at most ${TEAMS_MAX_REFRESH_USER_IDS}`;
      const bad = refresh.userIds.find((u) => typeof u !== 'string' || !TEAMS_USER_MRI.test(u));
      if (bad !== undefined) return `refresh.userIds must hold Teams user MRIs (29:... or 8:orgid:<object id>), not ${JSON.stringify(bad)}`;
    }
  }
  const badTime = malformedDateTimeFunction(c);
  if (badTime) return `${JSON.stringify(badTime)} is not a DATE/TIME function Teams expands (upper case, no spaces, RFC 3339 date-time with Z or ±hh:mm and whole seconds): it would be shown raw`;
  const unnamed = findExecuteWithoutVerb(c);
  if (unnamed) return `an Action.Execute${unnamed === true ? '' : ` (${unnamed})`} has no verb`;
  return undefined;
}

/** "Text features" (Adaptive Cards): the DATE/TIME functions as the clients parse them. */
const RFC3339_WHOLE_SECONDS = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})`;
const DATE_TIME_FUNCTION = new RegExp(String.raw`^\{\{(?:DATE\((${RFC3339_WHOLE_SECONDS})(?:, ?(?:COMPACT|LONG|SHORT))?\)|TIME\((${RFC3339_WHOLE_SECONDS})\))\}\}`);
/** Anything a card author meant as one: `{{`, optional spaces, date/time in any case, `(`. */
const DATE_TIME_ATTEMPT = /\{\{\s*(?:date|time)\s*\(/gi;

/** The first DATE/TIME function in any string of the card that the clients would not expand. */
export function malformedDateTimeFunction(node: unknown): string | undefined {
  if (typeof node === 'string') {
    for (const m of node.matchAll(DATE_TIME_ATTEMPT)) {
      const rest = node.slice(m.index);
      const ok = DATE_TIME_FUNCTION.exec(rest);
      // "Must be a valid date and time": 2030-02-30T25:00:00Z is not expanded either.
      const fields = ok ? (ok[1] ?? ok[2])!.slice(0, 19) : '';
      if (!ok || Number.isNaN(Date.parse(`${fields}Z`)) || new Date(`${fields}Z`).toISOString().slice(0, 19) !== fields) return rest.slice(0, 60);
    }
    return undefined;
  }
  if (Array.isArray(node)) {
    for (const n of node) {
      const found = malformedDateTimeFunction(n);
      if (found) return found;
    }
    return undefined;
  }
  if (node && typeof node === 'object') return malformedDateTimeFunction(Object.values(node));
  return undefined;
}

function findExecuteWithoutVerb(node: unknown): string | true | undefined {
  if (Array.isArray(node)) {
    for (const n of node) {
      const found = findExecuteWithoutVerb(n);
      if (found) return found;
    }
    return undefined;
  }
  if (!node || typeof node !== 'object') return undefined;
  const o = node as Record<string, unknown>;
  if (o.type === 'Action.Execute' && (typeof o.verb !== 'string' || o.verb.length === 0)) return typeof o.title === 'string' ? o.title : true;
  for (const v of Object.values(o)) {
    const found = findExecuteWithoutVerb(v);
    if (found) return found;
  }
  return undefined;
}

/**
 * Why Teams would not show a mention of this activity, or undefined. "Channel and group chat
 * conversations with a bot", Add mentions to your messages
 * (learn.microsoft.com/microsoftteams/platform/bots/how-to/conversations/channel-and-group-conversations):
 * the mention is `<at>name</at>` in the message text and an entity `{type: "mention", text, mentioned:
 * {id, name}}` (a tag: `mentioned.type: "tag"`); "The text field in the object in the entities
 * array must match a portion of the message text field. If it doesn't, the mention is ignored."
 * Teams drops such a mention silently (nobody is notified); the recorder refuses it with 400
 * `BadArgument`, deliberately, so that the defect fails a test instead of reaching a channel.
 */
export function mentionViolation(activity: Record<string, unknown> | undefined): string | undefined {
  const entities = activity?.entities;
  if (Array.isArray(entities)) {
    const text = typeof activity?.text === 'string' ? activity.text : '';
    const problem = entitiesViolation(entities.filter((e: { type?: unknown } | null) => e?.type === 'mention'), 'the message text', (tag) => text.includes(tag));
    if (problem) return problem;
  }
  return cardMentionViolation(activity);
}

/** One rule for both places a mention lives: its tag is `<at>name</at>`, shown where it is said, naming someone. */
function entitiesViolation(entities: unknown[], where: string, shows: (tag: string) => boolean): string | undefined {
  for (const e of entities as Array<Record<string, unknown> | null>) {
    if (e?.type !== 'mention') return `an entity here must be a mention, not ${JSON.stringify(e?.type)}`;
    const tag = e.text;
    const mentioned = e.mentioned as { id?: unknown; name?: unknown } | undefined;
    if (typeof tag !== 'string' || !/^<at>[^<]+<\/at>$/.test(tag)) return `a mention's text must be its <at>name</at> tag, not ${JSON.stringify(tag)}`;
    if (!shows(tag)) return `the mention ${tag} is not in ${where}, so Teams would ignore it`;
    if (typeof mentioned?.id !== 'string' || mentioned.id.length === 0 || typeof mentioned.name !== 'string') return `the mention ${tag} names nobody (mentioned.id and mentioned.name are required)`;
  }
  return undefined;
}

/**
 * The same rule for mentions inside an Adaptive Card ("Mention support within Adaptive Cards"):
 * the card's `msteams.entities` hold the mention entities, and each entity's `<at>name</at>` text
 * must be in a TextBlock of that card, or the mention is not rendered and nobody is notified.
 */
function cardMentionViolation(activity: Record<string, unknown> | undefined): string | undefined {
  const attachments = Array.isArray(activity?.attachments) ? (activity.attachments as Array<{ contentType?: unknown; content?: unknown }>) : [];
  for (const a of attachments) {
    if (a?.contentType !== 'application/vnd.microsoft.card.adaptive' || typeof a.content !== 'object' || a.content === null) continue;
    const card = a.content as { msteams?: { entities?: unknown } };
    const entities = card.msteams?.entities;
    if (entities === undefined) continue;
    if (!Array.isArray(entities)) return 'msteams.entities of a card must be an array';
    const texts: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (typeof node !== 'object' || node === null) return;
      const n = node as Record<string, unknown>;
      if (n.type === 'TextBlock' && typeof n.text === 'string') texts.push(n.text);
      for (const v of Object.values(n)) if (typeof v === 'object') walk(v);
    };
    walk(card);
    const problem = entitiesViolation(entities, 'any TextBlock of the card', (tag) => texts.some((t) => t.includes(tag)));
    if (problem) return problem;
  }
  return undefined;
}

/** Bytes of the JSON activity in UTF-16, as Teams counts a message. */
export function utf16Bytes(value: unknown): number {
  return JSON.stringify(value ?? null).length * 2;
}

export class ConnectorRecorder {
  readonly calls: RecordedConnectorCall[] = [];
  readonly members = new Map<string, Member>();
  /** Answers consumed in order for matching calls before the normal behaviour applies. */
  private readonly scripted: Array<{ match: (method: string, path: string) => boolean; answer: ScriptedAnswer }> = [];
  private server?: Server;
  private seq = 1000;
  /** Activity ids posted per conversation (updates must name one). */
  private readonly posted = new Map<string, Set<string>>();
  /** Operation times per rate key. */
  private readonly operations = new Map<string, number[]>();
  private readonly now: () => number;
  private readonly rateLimits: { send: readonly RateWindow[]; members: readonly RateWindow[] } | false;
  private readonly maxMessageBytes: number;
  url = '';

  constructor(options: ConnectorRecorderOptions = {}) {
    this.now = options.now ?? (() => Date.now());
    this.rateLimits = options.rateLimits ?? { send: TEAMS_SEND_LIMITS, members: TEAMS_MEMBER_LIMITS };
    this.maxMessageBytes = options.maxMessageUtf16Bytes ?? TEAMS_MESSAGE_MAX_UTF16_BYTES;
  }

  /** Marks an activity as posted in a conversation (for tests whose bot updates a card posted before the recorder started). */
  knowActivity(conversationId: string, activityId: string): void {
    const ids = this.posted.get(conversationId) ?? new Set<string>();
    ids.add(activityId);
    this.posted.set(conversationId, ids);
  }

  /** Calls the recorder refused the way Teams would (4xx it chose, not scripted ones). */
  refusals(): RecordedConnectorCall[] {
    return this.calls.filter((c) => c.status >= 400 && c.refusedBy !== undefined);
  }

  /**
   * Seconds until one more operation fits in every window for `key`, or 0 (and the operation is
   * counted) when it fits now.
   */
  private take(key: string, windows: readonly RateWindow[]): number {
    if (windows.length === 0) return 0;
    const now = this.now();
    const longest = Math.max(...windows.map((w) => w.seconds)) * 1000;
    const times = (this.operations.get(key) ?? []).filter((t) => t > now - longest);
    let waitMs = 0;
    for (const w of windows) {
      const inWindow = times.filter((t) => t > now - w.seconds * 1000);
      if (inWindow.length >= w.max) waitMs = Math.max(waitMs, inWindow[inWindow.length - w.max]! + w.seconds * 1000 - now);
    }
    if (waitMs > 0) {
      this.operations.set(key, times);
      return Math.max(1, Math.ceil(waitMs / 1000));
    }
    times.push(now);
    this.operations.set(key, times);
    return 0;
  }

  addMember(m: Member): void {
    this.members.set(m.id, m);
    this.members.set(m.aadObjectId, m);
  }

  /** The next `times` calls matching `match` get `answer`. */
  script(match: (method: string, path: string) => boolean, answer: ScriptedAnswer, times = 1): void {
    for (let i = 0; i < times; i++) this.scripted.push({ match, answer });
  }

  /** Calls that wrote an activity (send, reply, update, create). */
  writes(): RecordedConnectorCall[] {
    return this.calls.filter((c) => c.method !== 'GET' && c.status < 300);
  }

  /** Adaptive cards attached to successful writes, in order. */
  cards(): Array<{ call: RecordedConnectorCall; card: Record<string, unknown> }> {
    const out: Array<{ call: RecordedConnectorCall; card: Record<string, unknown> }> = [];
    for (const call of this.writes()) {
      const activity = (call.path === '/v3/conversations' ? (call.body?.activity as Record<string, unknown> | undefined) : call.body) ?? {};
      const attachments = (activity.attachments as Array<{ contentType: string; content: Record<string, unknown> }> | undefined) ?? [];
      for (const a of attachments) if (a.contentType === 'application/vnd.microsoft.card.adaptive') out.push({ call, card: a.content });
    }
    return out;
  }

  async start(): Promise<string> {
    const app = express();
    app.use(express.json({ limit: '1mb' }));
    const record = (req: express.Request, status: number, extra: Partial<RecordedConnectorCall> = {}) => {
      this.calls.push({ method: req.method, path: req.path, body: req.body as Record<string, unknown> | undefined, headers: { ...req.headers } as Record<string, string | undefined>, status, at: this.now(), ...extra });
    };
    const refuse = (req: express.Request, res: express.Response, status: number, code: string, message: string, extra: Partial<RecordedConnectorCall> = {}, headers: Record<string, string> = {}) => {
      record(req, status, { ...extra, refusedBy: `${code}: ${message}` });
      res.status(status).set(headers).json({ error: { code, message } });
    };
    /** Teams' checks on a message write; true when the call was refused (and answered). */
    const refused = (req: express.Request, res: express.Response, activity: Record<string, unknown> | undefined, rateKey: string, extra: Partial<RecordedConnectorCall>): boolean => {
      if (this.rateLimits) {
        const retryAfter = this.take(rateKey, this.rateLimits.send);
        if (retryAfter > 0) {
          refuse(req, res, 429, 'TooManyRequests', `More than the per bot per conversation limit of messages in ${rateKey}.`, extra, { 'Retry-After': String(retryAfter) });
          return true;
        }
      }
      const size = utf16Bytes(activity);
      if (size > this.maxMessageBytes) {
        refuse(req, res, 413, 'MessageSizeTooBig', `The message is ${size} bytes in UTF-16; the limit is ${this.maxMessageBytes}.`, extra);
        return true;
      }
      const badMention = mentionViolation(activity);
      if (badMention) {
        refuse(req, res, 400, 'BadArgument', `Invalid mention: ${badMention}.`, extra);
        return true;
      }
      const attachments = (activity?.attachments as Array<{ contentType?: string; content?: unknown }> | undefined) ?? [];
      for (const a of attachments) {
        if (a.contentType !== 'application/vnd.microsoft.card.adaptive') continue;
        const why = cardViolation(a.content);
        if (why) {
          refuse(req, res, 400, 'BadArgument', `Invalid Adaptive Card: ${why}.`, extra);
          return true;
        }
      }
      return false;
    };
    const newActivity = (conversationId: string): string => {
      const id = String(this.seq++);
      this.knowActivity(conversationId, id);
      return id;
    };
    app.use((req, res, next) => {
      const i = this.scripted.findIndex((s) => s.match(req.method, req.path));
      if (i < 0) return next();
      const answer = this.scripted.splice(i, 1)[0]!.answer;
      record(req, answer.status, { conversationId: req.path.split('/')[3] ? decodeURIComponent(req.path.split('/')[3]!) : undefined });
      res.status(answer.status).set(answer.headers ?? {}).json(answer.body ?? { error: { code: 'Scripted', message: `scripted ${answer.status}` } });
    });
    // A conversation id that is not one of Teams' forms names no conversation.
    app.use('/v3/conversations/:id', (req, res, next) => {
      const id = req.params.id as string;
      if (TEAMS_CONVERSATION_ID.test(id)) return next();
      refuse(req, res, 404, 'ConversationNotFound', `${id} is not a Teams conversation id (19:…@thread.tacv2, 19:…@thread.v2, a:…).`, { conversationId: id });
    });
    app.post('/v3/conversations', (req, res) => {
      const body = req.body as { channelData?: { channel?: { id?: string } }; activity?: Record<string, unknown> } | undefined;
      const requested = body?.channelData?.channel?.id;
      if (requested !== undefined && !TEAMS_CHANNEL_ID.test(requested)) return void refuse(req, res, 404, 'ConversationNotFound', `${requested} is not a Teams channel id (19:…@thread.tacv2).`);
      const channel = requested ?? 'a:new-chat';
      if (refused(req, res, body?.activity, `create:${channel}`, {})) return;
      const id = String(this.seq++);
      const conversationId = `${channel};messageid=${id}`;
      this.knowActivity(conversationId, id);
      record(req, 201, { conversationId, activityId: id });
      res.status(201).json({ id: conversationId, activityId: id });
    });
    app.post('/v3/conversations/:id/activities', (req, res) => {
      if (refused(req, res, req.body as Record<string, unknown>, req.params.id, { conversationId: req.params.id })) return;
      const id = newActivity(req.params.id);
      record(req, 201, { conversationId: req.params.id, activityId: id });
      res.status(201).json({ id });
    });
    app.post('/v3/conversations/:id/activities/:replyToId', (req, res) => {
      if (refused(req, res, req.body as Record<string, unknown>, req.params.id, { conversationId: req.params.id })) return;
      const id = newActivity(req.params.id);
      record(req, 201, { conversationId: req.params.id, activityId: id });
      res.status(201).json({ id });
    });
    app.put('/v3/conversations/:id/activities/:activityId', (req, res) => {
      const extra = { conversationId: req.params.id, activityId: req.params.activityId };
      // Only a message the bot posted in this conversation can be updated.
      if (!this.posted.get(req.params.id)?.has(req.params.activityId)) return void refuse(req, res, 404, 'ActivityNotFoundInConversation', `No activity ${req.params.activityId} in conversation ${req.params.id}.`, extra);
      if (refused(req, res, req.body as Record<string, unknown>, req.params.id, extra)) return;
      record(req, 200, extra);
      res.status(200).json({ id: req.params.activityId });
    });
    app.get('/v3/conversations/:id/members/:userId', (req, res) => {
      if (this.rateLimits) {
        const retryAfter = this.take(`members:${req.params.id}`, this.rateLimits.members);
        if (retryAfter > 0) return void refuse(req, res, 429, 'TooManyRequests', 'More than the per bot per conversation limit of member lookups.', { conversationId: req.params.id }, { 'Retry-After': String(retryAfter) });
      }
      const m = this.members.get(req.params.userId);
      record(req, m ? 200 : 404, { conversationId: req.params.id });
      if (!m) return void res.status(404).json({ error: { code: 'MemberNotFoundInConversation', message: 'The member was not found.' } });
      res.json({ ...m, givenName: m.name.split(' ')[0], surname: m.name.split(' ')[1] ?? '', userRole: 'user' });
    });
    app.use((req, res) => {
      record(req, 404);
      res.status(404).json({ error: { code: 'NotFound', message: `${req.method} ${req.path}` } });
    });
    await new Promise<void>((resolve) => {
      this.server = app.listen(0, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/`;
    return this.url;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections?.();
  }
}
