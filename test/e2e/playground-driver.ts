/**
 * Drives the Agents Playground for the end-to-end suite:
 * - the UI in headless Chromium (playwright-core, Debian's /usr/bin/chromium): the current user
 *   (Alice) types in the compose box, and every step is photographed;
 * - card buttons clicked in the UI (`clickInUi`), among them the sandbox's "Sandbox: approve as
 *   Carol" votes;
 * - the playground's own conversation API for what its UI cannot do headlessly here: acting as
 *   another configured user (`from.id`), and card actions (`POST /_conversation/v1/invoke`, an
 *   `adaptiveCard/action` invoke exactly as the UI sends it);
 * - the playground's conversation stream (WebSocket) to see every message and card update the
 *   bot sends, with the ids that card actions reply to.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export type Json = Record<string, unknown>;

export interface StreamedMessage {
  action: 'createMessage' | 'updateMessage';
  conversationId: string;
  messageId: string;
  postConversationId?: string;
  text?: string;
  cards: Json[];
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The data of the first Action.Execute with `verb` anywhere in a card. */
export function actionData(card: unknown, verb: string): Json | undefined {
  let found: Json | undefined;
  const walk = (node: unknown) => {
    if (found || !node || typeof node !== 'object') return;
    const n = node as Json;
    if (n.type === 'Action.Execute' && n.verb === verb) found = (n.data ?? {}) as Json;
    for (const v of Object.values(n)) walk(v);
  };
  walk(card);
  return found;
}

export class PlaygroundDriver {
  readonly messages: StreamedMessage[] = [];
  private ws?: WebSocket;
  private browser?: Browser;
  page?: Page;
  private shot = 0;

  constructor(
    readonly baseUrl: string,
    readonly botId: string,
    readonly artifactsDir: string,
  ) {
    mkdirSync(artifactsDir, { recursive: true });
    writeFileSync(this.streamLog, '');
  }

  /** Every event of the playground's conversation stream, one JSON per line (a test artifact for diagnosis). */
  get streamLog(): string {
    return join(this.artifactsDir, 'stream.jsonl');
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`${this.baseUrl.replace(/^http/, 'ws')}/_ws_conversation/v1/conversations/stream`);
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error('cannot open the playground conversation stream'));
      ws.onmessage = (m) => this.record(String(m.data));
      this.ws = ws;
    });
    this.browser = await chromium.launch({ executablePath: process.env.JIT_CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const context = await this.browser.newContext({ viewport: { width: 1440, height: 1000 } });
    this.page = await context.newPage();
    await this.page.goto(`${this.baseUrl}/`);
    await this.page.getByText('Type a message').first().waitFor({ timeout: 20_000 }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.ws?.close();
    await this.browser?.close();
  }

  private record(raw: string): void {
    appendFileSync(this.streamLog, `${raw}\n`);
    let event: { action?: string; actionConversationId?: string; message?: Json };
    try {
      event = JSON.parse(raw) as typeof event;
    } catch {
      return;
    }
    if ((event.action !== 'createMessage' && event.action !== 'updateMessage') || !event.message) return;
    const m = event.message;
    const attachments = (m.attachments as Array<{ contentType?: string; content?: Json }> | undefined) ?? [];
    const messageId = String(m.messageId ?? m.id ?? '');
    // An update names the channel, not the thread: the thread is the one the message was created in.
    const createdIn = this.messages.find((x) => x.messageId === messageId && x.postConversationId)?.postConversationId;
    this.messages.push({
      action: event.action,
      conversationId: String(event.actionConversationId ?? ''),
      messageId,
      postConversationId: typeof m.postConversationId === 'string' ? m.postConversationId : createdIn,
      text: typeof m.text === 'string' ? m.text : undefined,
      cards: attachments.filter((a) => a.contentType === 'application/vnd.microsoft.card.adaptive' && a.content).map((a) => a.content!),
    });
  }

  /** Latest version of each message (updates replace the card), in the conversation. */
  latest(conversationId: string): StreamedMessage[] {
    const byId = new Map<string, StreamedMessage>();
    for (const m of this.messages) if (m.conversationId.startsWith(conversationId) || (m.postConversationId ?? '').startsWith(conversationId)) byId.set(m.messageId, m);
    return [...byId.values()];
  }

  async waitForCard(what: string, conversationId: string, predicate: (card: Json, message: StreamedMessage) => boolean, after = 0, timeoutMs = 20_000): Promise<{ card: Json; message: StreamedMessage }> {
    return until(what, () => {
      for (const m of this.messages.slice(after).reverse()) {
        if (!m.conversationId.startsWith(conversationId) && !(m.postConversationId ?? '').startsWith(conversationId)) continue;
        const card = m.cards.find((c) => predicate(c, m));
        if (card) return { card, message: m };
      }
      return undefined;
    }, timeoutMs).catch((e: Error) => {
      const seen = this.messages.slice(after).map((m) => `${m.action} ${m.conversationId} post=${m.postConversationId ?? '-'} cards=${m.cards.length} ${m.text?.slice(0, 60) ?? ''}`);
      throw new Error(`${e.message}; messages seen since: ${seen.join(' | ') || 'none'}`);
    });
  }

  /** Sends a message as a configured user through the playground's conversation API. */
  async say(fromId: string, conversationId: string, text: string, mentionBot = false): Promise<void> {
    const body: Json = { from: { id: fromId }, text: mentionBot ? `<at>JIT Access</at> ${text}` : text, textFormat: 'plain' };
    if (mentionBot) body.mentions = [{ mentioned: { id: this.botId }, text: '<at>JIT Access</at>' }];
    const res = await fetch(`${this.baseUrl}/_conversation/v1/conversations/${encodeURIComponent(conversationId)}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`playground message refused: ${res.status} ${await res.text()}`);
  }

  /**
   * Clicks an Action.Execute on a card as a configured user (the invoke the UI sends). Returns the
   * bot's answer. `authentication` is what Teams adds when it re-sends the action after the bot's
   * loginRequest (the playground has no SSO; it passes the invoke's value through unchanged).
   */
  async click(fromId: string, conversationId: string, replyToId: string, verb: string, data: Json, authentication?: { id: string; connectionName: string; token: string }): Promise<Json> {
    const res = await fetch(`${this.baseUrl}/_conversation/v1/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'adaptiveCard/action', from: { id: fromId }, conversation: { id: conversationId }, replyToId, value: { action: { type: 'Action.Execute', verb, data }, ...(authentication ? { authentication } : {}) } }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`playground invoke ${verb} refused: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as Json) : {};
  }

  /**
   * Types in the UI's compose box of the open conversation, as the current user, and sends with
   * Enter. The box is a Lexical editor (`data-lexical-editor`); the page has another
   * contenteditable (the log panel), so a generic selector finds the wrong one.
   */
  async typeInUi(text: string): Promise<void> {
    const box = this.page!.locator('[data-lexical-editor="true"][role="textbox"]');
    await box.click();
    await this.page!.keyboard.type(text);
    await until(`"${text}" in the compose box`, async () => (await box.innerText()).includes(text) || undefined, 5000);
    const sent = this.page!.waitForRequest((r) => r.method() === 'POST' && /\/_conversation\/v1\/conversations\/[^/]+\/messages$/.test(r.url()), { timeout: 10_000 });
    await this.page!.keyboard.press('Enter');
    await sent;
  }

  /**
   * Clicks a card button in the UI, as the current user (the playground sends the
   * `adaptiveCard/action` invoke itself). `within` picks the card: the one whose text contains it
   * (a request id), the newest if several do. Resolves with the bot's answer to the invoke.
   */
  async clickInUi(title: string, within: string): Promise<string> {
    const page = this.page!;
    const button = page.locator('.ac-adaptiveCard', { hasText: within }).getByRole('button', { name: title, exact: true }).last();
    await button.scrollIntoViewIfNeeded({ timeout: 10_000 });
    const answered = page.waitForResponse((r) => r.request().method() === 'POST' && /invoke/i.test(r.url()), { timeout: 30_000 });
    await button.click();
    const response = await answered;
    return response.text().catch(() => '');
  }

  /** Opens a conversation in the UI by its sidebar label ("Personal Chat", "Platform - on-call"). */
  async open(label: string): Promise<void> {
    await this.page!.locator(`button[aria-label="${label}"]`).first().click();
    await this.page!.waitForTimeout(400);
  }

  /** Photographs the page; `focus` scrolls the last element with that text into view first. */
  async screenshot(name: string, focus?: RegExp): Promise<string> {
    this.shot += 1;
    const file = join(this.artifactsDir, `${String(this.shot).padStart(2, '0')}-${name}.png`);
    await this.page!.waitForTimeout(500);
    if (focus) await this.page!.getByText(focus).last().scrollIntoViewIfNeeded({ timeout: 5000 });
    await this.page!.screenshot({ path: file, fullPage: false });
    return file;
  }
}
