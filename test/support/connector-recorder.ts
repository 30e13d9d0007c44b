/**
 * A recording stand-in for the Bot Framework connector (the `serviceUrl` of Teams activities), on
 * 127.0.0.1:0. It serves the routes the bot uses and records every call:
 *   POST /v3/conversations                                  create a conversation / channel thread
 *   POST /v3/conversations/:id/activities                   proactive send
 *   POST /v3/conversations/:id/activities/:replyToId        reply inside a turn
 *   PUT  /v3/conversations/:id/activities/:activityId       update in place
 *   GET  /v3/conversations/:id/members/:userId              TeamsInfo.getMember
 * `script` lets a test answer the next calls with, e.g., 429 + Retry-After.
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

export class ConnectorRecorder {
  readonly calls: RecordedConnectorCall[] = [];
  readonly members = new Map<string, Member>();
  /** Answers consumed in order for matching calls before the normal behaviour applies. */
  private readonly scripted: Array<{ match: (method: string, path: string) => boolean; answer: ScriptedAnswer }> = [];
  private server?: Server;
  private seq = 1000;
  url = '';

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
      this.calls.push({ method: req.method, path: req.path, body: req.body as Record<string, unknown> | undefined, headers: { ...req.headers } as Record<string, string | undefined>, status, at: Date.now(), ...extra });
    };
    app.use((req, res, next) => {
      const i = this.scripted.findIndex((s) => s.match(req.method, req.path));
      if (i < 0) return next();
      const answer = this.scripted.splice(i, 1)[0]!.answer;
      record(req, answer.status, { conversationId: req.path.split('/')[3] ? decodeURIComponent(req.path.split('/')[3]!) : undefined });
      res.status(answer.status).set(answer.headers ?? {}).json(answer.body ?? { error: { code: 'Scripted', message: `scripted ${answer.status}` } });
    });
    app.post('/v3/conversations', (req, res) => {
      const id = String(this.seq++);
      const channel = (req.body as { channelData?: { channel?: { id?: string } } })?.channelData?.channel?.id ?? 'a:new-chat';
      const conversationId = `${channel};messageid=${id}`;
      record(req, 201, { conversationId, activityId: id });
      res.status(201).json({ id: conversationId, activityId: id });
    });
    app.post('/v3/conversations/:id/activities', (req, res) => {
      const id = String(this.seq++);
      record(req, 201, { conversationId: req.params.id, activityId: id });
      res.status(201).json({ id });
    });
    app.post('/v3/conversations/:id/activities/:replyToId', (req, res) => {
      const id = String(this.seq++);
      record(req, 201, { conversationId: req.params.id, activityId: id });
      res.status(201).json({ id });
    });
    app.put('/v3/conversations/:id/activities/:activityId', (req, res) => {
      record(req, 200, { conversationId: req.params.id, activityId: req.params.activityId });
      res.status(200).json({ id: req.params.activityId });
    });
    app.get('/v3/conversations/:id/members/:userId', (req, res) => {
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
