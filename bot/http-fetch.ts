/**
 * The part of `fetch` the bridge client uses (method, headers, string body, abort signal; status
 * and text of the answer), on node:http / node:https with Node's keep-alive global agents.
 *
 * Why not the global `fetch`: it is undici behind WHATWG streams, and a bridge call through it
 * cost about 0.4 ms more CPU than the same call through node:http (measured in bench/bot-load.ts
 * profiles: undici's request/stream machinery was the bot's largest cost after garbage collection).
 * Every card action makes one such call, so it set the bot's latency under a burst of clicks.
 *
 * Same observable behaviour as `fetch(url, { redirect: 'error' })` where the bridge client relies
 * on it: a redirect is a network error (the bridge never redirects, so one is never followed), an
 * aborted signal rejects with its reason and tears the connection down, a broken connection while
 * reading the body rejects `text()`.
 */
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  ok: boolean;
  status: number;
  text(): Promise<string>;
}

export interface HttpFetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** What the bridge client calls: the global `fetch` fits this shape, and so does `httpFetch`. */
export type FetchLike = (url: string, init: HttpFetchInit & { redirect?: 'error' }) => Promise<HttpAnswer>;

const abortReason = (signal: AbortSignal): unknown => signal.reason ?? new DOMException('This operation was aborted', 'AbortError');

export function httpFetch(url: string, init: HttpFetchInit): Promise<HttpAnswer> {
  const { signal } = init;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return Promise.reject(new TypeError(`Unsupported protocol ${target.protocol}`));
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string | number> = { ...init.headers };
  if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = send(target, { method: init.method, headers });
    const onAbort = () => req.destroy(signal ? (abortReason(signal) as Error) : undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    req.once('error', (e) => {
      done();
      reject(signal?.aborted ? abortReason(signal) : new TypeError('fetch failed', { cause: e }));
    });
    req.once('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        // As fetch's redirect: 'error': a redirect is never followed.
        res.resume();
        done();
        reject(new TypeError('fetch failed', { cause: new Error(`unexpected redirect (${status})`) }));
        return;
      }
      const text = new Promise<string>((resolveText, rejectText) => {
        res.setEncoding('utf8');
        let body = '';
        res.on('data', (chunk: string) => (body += chunk));
        res.once('end', () => {
          done();
          resolveText(body);
        });
        res.once('error', (e) => {
          done();
          rejectText(signal?.aborted ? abortReason(signal) : new TypeError('terminated', { cause: e }));
        });
        res.once('close', () => {
          if (res.complete) return;
          done();
          rejectText(signal?.aborted ? abortReason(signal) : new TypeError('terminated'));
        });
      });
      // A body nobody reads must not become an unhandled rejection.
      text.catch(() => undefined);
      resolve({ ok: status >= 200 && status < 300, status, text: () => text });
    });
    req.end(init.body);
  });
}
