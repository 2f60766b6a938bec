// The service's HTTP API on its Unix socket (a named pipe on Windows). Each use case is one POST
// route whose body and answer are checked with the use case's own zod schemas; an `Accept:
// application/x-ndjson` request gets its progress streamed, line by line, before the result; closing
// the request cancels the work. GET /v1/events streams what changes (server-sent events).
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { RegistryError } from '../core/registry/fileStore';
import { Disposable, Emitter, errorMessage, type Logger } from '../core/lifecycle';
import { callAny, Cancelled, InvalidInput, type AnyUseCase, type Progress } from '../app/useCase';
import { PERMISSIONS } from './permissions';
import { GuardError, type Principal, type TcpGuard } from './tcpGuard';
import { GatewayError, gatewayRoute } from './gateway';
import { ensurePropagation, isPropagating } from './tracing';
import type { RequestMetrics } from './requestMetrics';
import { NDJSON, routeOf, type ErrorBody, type MetricsEvent, type ServiceEvent, type ServiceVersion } from './protocol';

/** A use case bound to what it runs on: what the server exposes. */
export interface Route {
  readonly useCase: {
    readonly name: string;
    readonly summary: string;
    readonly input: z.ZodType;
    readonly output: z.ZodType;
  };
  /** Runs it (through `call`, so input and output are checked). */
  readonly run: (input: unknown, options: { signal: AbortSignal; progress: (p: Progress) => void }) => Promise<unknown>;
  /** Whether it writes the registry: its answer is sent only once the write is on disk. */
  readonly writes?: boolean;
}

/** Binds a use case to its deps. */
export function route<D>(useCase: AnyUseCase<D>, deps: D, writes = false): Route {
  return { useCase, writes, run: (input, options) => callAny(useCase, deps, input, options) };
}

interface ServerOptions {
  readonly routes: readonly Route[];
  readonly version: () => ServiceVersion;
  readonly status: () => Promise<unknown>;
  readonly openapi: () => unknown;
  /** Runs after a writing route succeeded, before the answer (the registry's flush). */
  readonly afterWrite?: () => Promise<void>;
  /** Told of each use case that succeeded, before the write is flushed (webhooks queue their deliveries). */
  readonly onDone?: (useCase: string, result: unknown) => Promise<void>;
  /** Awaited before each use case: a fresh service first loads the engine's containers and lists its runtimes. */
  readonly ready?: () => Promise<void>;
  /** Asked by `POST /v1/service/stop`: finish current work, then exit. */
  readonly onStop?: () => void;
  readonly log: Logger;
  /** Largest request body; bigger ones are refused with 413 before they are read. */
  readonly maxBodyBytes?: number;
  /** A request body must arrive within this time (a trickling client is cut off). */
  readonly bodyTimeoutMs?: number;
  /**
   * GET /v1/metrics/events: subscribes one client to the metrics (the sampler runs while any is
   * subscribed); `send` takes each event, the returned handle ends the subscription.
   */
  readonly metrics?: (send: (event: MetricsEvent) => void) => { dispose(): void };
  /** Told of each admitted TCP request (the audit log records it when the answer has gone). */
  readonly onTcpRequest?: (who: Principal, route: string, res: http.ServerResponse) => void;
  /** /runtimes/<name>/…: forwards to the runtime (the guard has admitted `who` on TCP). */
  readonly gateway?: (req: http.IncomingMessage, res: http.ServerResponse, pathname: string, search: string, who: Principal | undefined) => Promise<void>;
  /** The service's own request figures (GET /metrics shows them). */
  readonly requestMetrics?: RequestMetrics;
  /** GET /metrics: the sampler's figures in the Prometheus text format (after the service's own). */
  readonly prometheus?: () => string;
  /** Told of each request once it is answered (the log's request lines). */
  readonly onRequestDone?: (r: { reqId: string; method: string; route: string; transport: 'socket' | 'tcp'; status: number; ms: number }) => void;
  /** Told of each TCP request the guard refused (the audit log records it). */
  readonly onTcpRefused?: (route: string, why: GuardError) => void;
}

const MAX_BODY = 1024 * 1024;
const tracer = trace.getTracer('llmstack.service');

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: readonly string[],
  ) {
    super(message);
  }
}

/** The status and body a failure is answered with. */
function errorAnswer(e: unknown): { status: number; body: ErrorBody } {
  if (e instanceof GatewayError) return { status: e.status, body: { error: { code: e.code, message: e.message } } };
  if (e instanceof GuardError) return { status: e.status, body: { error: { code: e.code, message: e.message } } };
  if (e instanceof HttpError) return { status: e.status, body: { error: { code: e.code, message: e.message, ...(e.issues ? { issues: [...e.issues] } : {}) } } };
  if (e instanceof InvalidInput) return { status: 400, body: { error: { code: 'invalid_input', message: e.message, issues: [...e.issues] } } };
  if (e instanceof Cancelled) return { status: 499, body: { error: { code: 'cancelled', message: e.message } } };
  if (e instanceof RegistryError && (e.kind === 'validation' || e.kind === 'import')) return { status: 400, body: { error: { code: `registry_${e.kind}`, message: e.message } } };
  if (e instanceof z.ZodError) return { status: 500, body: { error: { code: 'bad_output', message: `The service produced an answer that does not match its schema: ${e.message}` } } };
  const name = e instanceof Error && e.name !== 'Error' ? e.name : undefined;
  return { status: 500, body: { error: { code: name ? name.replace(/Error$/, '').toLowerCase() || 'failed' : 'failed', message: errorMessage(e) } } };
}

export class ServiceServer extends Disposable {
  private readonly server: http.Server;
  private readonly byPath = new Map<string, Route>();
  private readonly eventEmitter = this.register(new Emitter<ServiceEvent>());
  private readonly activityEmitter = this.register(new Emitter<void>());
  /** Fires when a connection or a request starts or ends (the idle timer listens). */
  readonly onDidChangeActivity = this.activityEmitter.event;
  private readonly clientGoneEmitter = this.register(new Emitter<string>());
  /** Fires with a client's id when its event stream (GET /v1/events?client=ID) ends. */
  readonly onClientGone = this.clientGoneEmitter.event;
  private connections = 0;
  private inFlight = 0;
  private subscribers = 0;

  constructor(private readonly options: ServerOptions) {
    super();
    for (const r of options.routes) this.byPath.set(routeOf(r.useCase.name), r);
    this.server = this.httpServer();
  }

  private httpServer(guard?: TcpGuard, tls?: { cert: Buffer; key: Buffer }): http.Server {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res, guard);
    const server = tls ? https.createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, handler) : http.createServer(handler);
    server.keepAliveTimeout = 5_000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 0; // long operations stream; bodies have their own timeout below
    server.on('connection', (socket) => {
      this.connections++;
      this.activityEmitter.fire();
      socket.on('close', () => {
        this.connections--;
        this.activityEmitter.fire();
      });
    });
    return server;
  }

  /** Open connections and running requests: the service is idle when both are 0. */
  get activity(): { connections: number; inFlight: number; subscribers: number } {
    return { connections: this.connections, inFlight: this.inFlight, subscribers: this.subscribers };
  }

  /** Sends an event to every subscriber of /v1/events. */
  publish(event: ServiceEvent): void {
    this.eventEmitter.fire(event);
  }

  listen(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(path, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  private tcp: http.Server | undefined;

  /**
   * Listens on TCP as well, behind the guard (Host, Origin, token and role on every request).
   * Resolves with the bound address (port 0 picks a free one).
   */
  listenTcp(host: string, port: number, guard: TcpGuard, tls?: { cert: Buffer; key: Buffer }): Promise<AddressInfo> {
    const tcp = (this.tcp = this.httpServer(guard, tls));
    return new Promise((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => {
        tcp.off('error', reject);
        const a = tcp.address() as AddressInfo;
        guard.listening(host, a.port);
        resolve(a);
      });
    });
  }

  /** For tests of TCP-free paths: the bound address. */
  get address(): string | AddressInfo | null {
    return this.server.address();
  }

  /** Stops accepting, ends event streams, and resolves once running requests have answered. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.tcp?.close();
      this.tcp?.closeIdleConnections();
      this.server.close(() => resolve());
      this.eventEmitter.dispose();
      this.server.closeIdleConnections();
      for (const end of this.streamEnds) end();
    });
  }

  private readonly streamEnds = new Set<() => void>();

  /** The route a request is counted under: a PERMISSIONS key, or "other" (a bounded set of labels). */
  private routeKey(method: string | undefined, pathname: string): string {
    if (pathname.startsWith('/runtimes/')) return gatewayRoute(method);
    const r = this.byPath.get(pathname);
    if (r) return r.useCase.name;
    const key = `${method} ${pathname}`;
    return PERMISSIONS[key] ? key : 'other';
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, guard?: TcpGuard): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://llmstack');
    // Every request has an id: the caller's X-Request-Id when it is a plain token, else a new one.
    // It is answered, logged, and forwarded to the runtime by the gateway.
    const given = req.headers['x-request-id'];
    const reqId = typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
    req.headers['x-request-id'] = reqId;
    res.setHeader('x-request-id', reqId);
    const started = performance.now();
    // The request's span: the caller's traceparent is its parent; what runs for it (the gateway,
    // the runtime clients) runs inside it.
    // A traced caller: the context manager and propagator are loaded at the first such request.
    if (req.headers.traceparent && !isPropagating()) await ensurePropagation();
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const key = this.routeKey(req.method, url.pathname);
    const span = tracer.startSpan(key.startsWith(`${req.method} `) ? key : `${req.method} ${key}`, {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': req.method ?? '', 'url.path': url.pathname, 'llmstack.request_id': reqId, 'llmstack.transport': guard ? 'tcp' : 'socket' },
    }, parent);
    res.once('close', () => {
      const route = key;
      const seconds = (performance.now() - started) / 1000;
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      this.options.requestMetrics?.record(route, guard ? 'tcp' : 'socket', res.statusCode, seconds);
      this.options.onRequestDone?.({ reqId, method: req.method ?? '', route, transport: guard ? 'tcp' : 'socket', status: res.statusCode, ms: Math.round(seconds * 1000) });
    });
    return context.with(trace.setSpan(parent, span), () => this.answer(req, res, url, reqId, guard));
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse, url: URL, reqId: string, guard?: TcpGuard): Promise<void> {
    try {
      const toRuntime = url.pathname.startsWith('/runtimes/') && this.options.gateway;
      if (guard) {
        const r = toRuntime ? undefined : this.byPath.get(url.pathname);
        const route = toRuntime ? gatewayRoute(req.method) : r ? r.useCase.name : `${req.method} ${url.pathname}`;
        let who: Principal;
        try {
          who = guard.admit(req, r || PERMISSIONS[route] ? route : undefined);
        } catch (e) {
          if (e instanceof GuardError) this.options.onTcpRefused?.(route, e);
          throw e;
        }
        this.options.onTcpRequest?.(who, route, res);
        if (toRuntime) return await toRuntime(req, res, url.pathname, url.search, who);
        if (r && req.method === 'POST') {
          const input = await this.body(req);
          guard.checkModels(who, route, input);
          if (/^(containers|models)\./.test(r.useCase.name)) await this.options.ready?.();
          return await this.runRoute(r, input, req, res);
        }
      }
      if (toRuntime) return await toRuntime(req, res, url.pathname, url.search, undefined);
      if (req.method === 'GET' && url.pathname === '/metrics' && this.options.prometheus) {
        const text = `${this.options.requestMetrics?.toPrometheus() ?? ''}${this.options.prometheus()}`;
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        return void res.end(text);
      }
      if (req.method === 'GET' && url.pathname === '/v1/version') return json(res, 200, this.options.version());
      if (req.method === 'GET' && url.pathname === '/v1/status') {
        await this.options.ready?.();
        return json(res, 200, await this.options.status());
      }
      if (req.method === 'GET' && url.pathname === '/openapi.json') return json(res, 200, this.options.openapi());
      if (req.method === 'GET' && url.pathname === '/v1/events') return this.events(req, res, url.searchParams.get('client')?.slice(0, 128) || undefined);
      if (req.method === 'GET' && url.pathname === '/v1/metrics/events' && this.options.metrics) {
        const subscribe = this.options.metrics;
        return this.stream(req, res, (send) => subscribe(send));
      }
      if (req.method === 'POST' && url.pathname === '/v1/service/stop') {
        json(res, 202, { stopping: true });
        this.options.onStop?.();
        return;
      }
      const r = this.byPath.get(url.pathname);
      if (!r) throw new HttpError(404, 'not_found', `No route ${req.method} ${url.pathname}. The routes are listed at GET /openapi.json.`);
      if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', `${url.pathname} takes POST with a JSON body.`);
      const input = await this.body(req);
      // What lists containers or models waits for the service's first look; the registry does not.
      if (/^(containers|models)\./.test(r.useCase.name)) await this.options.ready?.();
      await this.runRoute(r, input, req, res);
    } catch (e) {
      const a = errorAnswer(e);
      if (a.status >= 500) this.options.log.warn(`${req.method} ${url.pathname} (request ${reqId}): ${a.body.error.message}`);
      // A request whose body was not read to its end leaves the connection unusable: close it.
      if (a.status === 408 || a.status === 413) res.setHeader('connection', 'close');
      if (a.status === 401 && !res.headersSent) res.setHeader('www-authenticate', 'Bearer realm="llmstack"');
      if (e instanceof GuardError && e.retryAfter !== undefined && !res.headersSent) res.setHeader('retry-after', String(e.retryAfter));
      if (!res.headersSent) json(res, a.status, a.body);
      else res.end(`${JSON.stringify(a.body)}\n`);
    }
  }

  private async runRoute(r: Route, input: unknown, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const controller = new AbortController();
    // The client went away before the answer: cancel the work (a pull stops; an apply reports what it did).
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const stream = (req.headers.accept ?? '').includes(NDJSON);
    if (stream) {
      res.writeHead(200, { 'content-type': NDJSON, 'cache-control': 'no-store' });
      res.flushHeaders();
    }
    let lastProgress = 0;
    const progress = (p: Progress) => {
      if (!stream || res.writableEnded) return;
      // At most about 20 lines a second: a download reports far more often than anyone reads.
      const now = performance.now();
      if (now - lastProgress < 50 && p.fraction !== 1) return;
      lastProgress = now;
      res.write(`${JSON.stringify({ progress: p })}\n`);
    };
    this.inFlight++;
    this.activityEmitter.fire();
    try {
      const result = await r.run(input, { signal: controller.signal, progress });
      await this.options.onDone?.(r.useCase.name, result);
      if (r.writes) await this.options.afterWrite?.();
      if (r.writes) this.publish({ type: 'registry', operation: r.useCase.name });
      if (stream) res.end(`${JSON.stringify({ result })}\n`);
      else json(res, 200, result);
    } finally {
      this.inFlight--;
      this.activityEmitter.fire();
    }
  }

  private body(req: http.IncomingMessage): Promise<unknown> {
    const max = this.options.maxBodyBytes ?? MAX_BODY;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) return Promise.reject(new HttpError(413, 'too_large', `The request body is ${declared} bytes; at most ${max} are accepted.`));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      // The answer goes out, then the connection is closed (connection: close below); the rest of
      // the body is never read.
      const timer = setTimeout(() => {
        req.pause();
        reject(new HttpError(408, 'timeout', `The request body did not arrive within ${this.options.bodyTimeoutMs ?? 10_000} ms.`));
      }, this.options.bodyTimeoutMs ?? 10_000);
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) {
          clearTimeout(timer);
          req.pause();
          reject(new HttpError(413, 'too_large', `The request body is over ${max} bytes.`));
          return;
        }
        chunks.push(c);
      });
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8').trim();
        if (!text) return resolve({});
        try {
          resolve(JSON.parse(text));
        } catch (e) {
          reject(new HttpError(400, 'invalid_json', `The request body is not JSON: ${errorMessage(e)}`));
        }
      });
    });
  }

  private events(req: http.IncomingMessage, res: http.ServerResponse, client?: string): void {
    this.stream<ServiceEvent>(
      req,
      res,
      (send) => {
        const v = this.options.version();
        send({ type: 'hello', version: v.version, protocol: v.protocol });
        return this.eventEmitter.event(send);
      },
      () => {
        if (client) this.clientGoneEmitter.fire(client);
      },
    );
  }

  /** A server-sent event stream: open until the client closes it or the server stops. */
  private stream<E extends { type: string }>(req: http.IncomingMessage, res: http.ServerResponse, subscribe: (send: (e: E) => void) => { dispose(): void }, onEnd?: () => void): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const send = (e: E) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    const sub = subscribe(send);
    // A comment line now and then: a proxy or a client's idle timer sees the stream is alive.
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    this.subscribers++;
    this.activityEmitter.fire();
    const end = () => {
      if (!this.streamEnds.delete(end)) return;
      sub.dispose();
      clearInterval(ping);
      this.subscribers--;
      this.activityEmitter.fire();
      res.end();
      onEnd?.();
    };
    this.streamEnds.add(end);
    req.on('close', end);
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
