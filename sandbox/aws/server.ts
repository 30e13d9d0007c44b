/**
 * One HTTP server on 127.0.0.1 that speaks the AWS wire protocols of the stand-ins, so the real
 * AWS SDK v3 clients work against it unchanged (`endpoint: 'http://127.0.0.1:<port>'`):
 *   - awsJson1_1 / awsJson1_0: POST / with `X-Amz-Target` = `SWBExternalService.<Op>` (sso-admin),
 *     `AWSIdentityStore.<Op>` (identitystore), `AWSStepFunctions.<Op>` (sfn);
 *   - restJson1: Scheduler (`/schedules/{Name}`) and Security Hub (`/findings/import`, `/findings`);
 *   - `/_sandbox/...`: inspection and fault injection for tests, benchmarks and the e2e suite
 *     (see admin.ts).
 * Requests are not signature-checked: any static fake credentials do.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AdminContext, handleAdmin } from './admin';
import { AwsError } from './protocol';
import type { RestJsonService } from './rest-service';
import type { JsonRpcService } from './service';

const MAX_BODY_BYTES = 6 * 1024 * 1024;

export interface AwsServerOptions {
  rpcServices: readonly JsonRpcService[];
  restServices: readonly RestJsonService[];
  admin: AdminContext;
  /** Logs one line per failed request when set (the sandbox passes its logger; tests leave it quiet). */
  log?: (message: string) => void;
}

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

export function createAwsServer(options: AwsServerOptions): Server {
  const rpc = new Map(options.rpcServices.map((s) => [s.targetPrefix, s]));
  const server = createServer((req, res) => {
    void dispatch(req, res).catch((e: unknown) => {
      options.log?.(`[sandbox-aws] ${req.method} ${req.url} failed: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent) sendJson(res, 500, { __type: 'InternalFailure', message: 'Internal failure in the sandbox AWS stand-in.' }, 'application/json', { 'x-amzn-errortype': 'InternalFailure' });
      else res.destroy();
    });
  });
  // Keep-alive connections from SDK clients must not hold `close()` open for long.
  server.keepAliveTimeout = 5_000;

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const requestId = randomUUID();
    res.setHeader('x-amzn-requestid', requestId);
    let raw: string;
    try {
      raw = await readBody(req);
    } catch (e) {
      sendError(res, new AwsError('SerializationException', (e as Error).message, 413), 'application/json');
      return;
    }

    if (url.pathname.startsWith('/_sandbox/') || url.pathname === '/_sandbox') {
      await handleAdmin(options.admin, { method: req.method ?? 'GET', url, raw }, res);
      return;
    }

    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const dot = target.indexOf('.');
      const service = rpc.get(target.slice(0, dot));
      const operation = target.slice(dot + 1);
      const contentType = `application/x-amz-json-${service?.jsonVersion ?? '1.1'}`;
      if (!service || dot < 0) {
        sendError(res, new AwsError('UnknownOperationException', `No sandbox service answers X-Amz-Target ${target}.`, 400), contentType);
        return;
      }
      try {
        const body = parseJsonBody(raw);
        const fault = service.faults.take(operation, ['throttle', 'conflict', 'internal']);
        if (fault) throw service.faultError(fault.kind as 'throttle' | 'conflict' | 'internal', operation, fault.message);
        const output = await service.handle(operation, body);
        sendJson(res, 200, output ?? {}, contentType);
      } catch (e) {
        if (!(e instanceof AwsError)) throw e;
        options.log?.(`[sandbox-aws] ${target} -> ${e.code}: ${e.message}`);
        sendError(res, e, contentType);
      }
      return;
    }

    const segments = url.pathname
      .split('/')
      .slice(1)
      .map((s) => decodeURIComponent(s));
    for (const service of options.restServices) {
      let body: unknown;
      try {
        body = parseJsonBody(raw);
      } catch (e) {
        sendError(res, e as AwsError, 'application/json');
        return;
      }
      const route = service.route({ method: req.method ?? 'GET', segments, query: url.searchParams, body });
      if (!route) continue;
      try {
        const fault = service.faults.take(route.operation, ['throttle', 'conflict', 'internal']);
        if (fault) throw service.faultError(fault.kind as 'throttle' | 'conflict' | 'internal', route.operation, fault.message);
        sendJson(res, 200, (await route.run()) ?? {}, 'application/json');
      } catch (e) {
        if (!(e instanceof AwsError)) throw e;
        options.log?.(`[sandbox-aws] ${service.name}.${route.operation} -> ${e.code}: ${e.message}`);
        sendError(res, e, 'application/json');
      }
      return;
    }
    sendError(res, new AwsError('UnknownOperationException', `No sandbox service answers ${req.method} ${url.pathname}.`, 404), 'application/json');
  }

  return server;
}

/** Starts the server on 127.0.0.1 (port 0 picks a free port). */
export async function listen(server: Server, port: number, host = '127.0.0.1'): Promise<RunningServer> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    port: address.port,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`Request body larger than ${MAX_BODY_BYTES} bytes.`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJsonBody(raw: string): unknown {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw new AwsError('SerializationException', 'The request body is not valid JSON.', 400);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, contentType: string, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, error: AwsError, contentType: string): void {
  // `__type` for the JSON RPC protocols, the header for restJson1; `message` and `Message` because
  // models differ in which member they name (the SDK reads either).
  sendJson(res, error.status, { __type: error.code, message: error.message, Message: error.message, ...error.fields }, contentType, { 'x-amzn-errortype': error.code });
}
