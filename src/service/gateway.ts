// The gateway: /runtimes/<name>/<path> forwards to a runtime's own API (Ollama's, an OpenAI-
// compatible server's), streaming both ways, behind the service's door: on TCP every route of the
// runtime needs a token (GET: viewer; anything else: operator), not only /v1. The caller's Host,
// Origin, Authorization and cookies never reach the runtime; the runtime's own key (kept by the
// service) is added where one is set. A model outside the token's list is refused before anything
// is sent. The answer carries x-llmstack-gateway-ms: the time the gateway took before the runtime
// got the request. What a generation cost (tokens in and out, time to first token) is read from the
// answer as it streams past (core/runtimes/usageTap.ts) and recorded.
import * as http from 'node:http';
import * as https from 'node:https';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { errorMessage } from '../core/lifecycle';
import type { RuntimeEndpoint } from '../core/runtimes/runtime';
import { UsageTap, type GenerationUsage } from '../core/runtimes/usageTap';
import { GuardError, type Principal } from './tcpGuard';
import { genAiOperation } from './tracing';

const tracer = trace.getTracer('llmstack.gateway');

/** The runtime request's span: a GenAI one ("chat llama3.2:1b") for a generation, an HTTP one otherwise. */
function gatewaySpan(endpoint: RuntimeEndpoint, method: string, path: string, target: URL, model: string | undefined): Span {
  const op = genAiOperation(path);
  const span = tracer.startSpan(op ? `${op}${model ? ` ${model}` : ''}` : `${method} ${path}`, { kind: SpanKind.CLIENT });
  // Attributes only for a span that is exported (no tracing configured: a request costs nothing more).
  if (!span.isRecording()) return span;
  span.setAttributes({ 'http.request.method': method, 'url.path': path, 'server.address': target.hostname, 'server.port': Number(target.port || (target.protocol === 'https:' ? 443 : 80)), 'llmstack.runtime': endpoint.name });
  if (op) span.setAttributes({ 'gen_ai.operation.name': op, 'gen_ai.provider.name': endpoint.kind, ...(model ? { 'gen_ai.request.model': model } : {}) });
  return span;
}

/** Headers not forwarded: hop-by-hop ones, and what identifies the caller rather than the request. */
const DROPPED = new Set(['host', 'origin', 'referer', 'authorization', 'cookie', 'traceparent', 'tracestate', 'connection', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length']);
const MAX_BODY = 32 * 1024 * 1024;
// Connections to the runtimes are kept open between requests (a new one costs as much as the rest
// of the gateway's work).
const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }), https: new https.Agent({ keepAlive: true, maxSockets: 64 }) };

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface GatewayOptions {
  /** The runtime a path names (its name or id, URL-decoded). */
  readonly runtime: (name: string) => RuntimeEndpoint | undefined;
  readonly apiKey: (endpoint: RuntimeEndpoint) => Promise<string | undefined>;
  /** Told of the gateway's own time (ms) before the runtime got each request. */
  readonly onOverhead?: (ms: number) => void;
  /** Told of what each generation through the gateway cost (tokens in and out, time to first token). */
  readonly onUsage?: (endpoint: RuntimeEndpoint, usage: GenerationUsage, who: Principal | undefined) => void;
}

/** The PERMISSIONS key of a gateway request. */
export function gatewayRoute(method: string | undefined): string {
  return method === 'GET' || method === 'HEAD' ? 'GET /runtimes/*' : 'POST /runtimes/*';
}

export async function forward(req: http.IncomingMessage, res: http.ServerResponse, pathname: string, search: string, who: Principal | undefined, o: GatewayOptions): Promise<void> {
  const started = performance.now();
  const m = /^\/runtimes\/([^/]+)(\/.*)?$/.exec(pathname);
  const name = m ? safeDecode(m[1]) : undefined;
  const endpoint = name ? o.runtime(name) : undefined;
  if (!endpoint) throw new GatewayError(404, 'not_found', `No runtime "${name ?? ''}". GET /v1/status lists them; the gateway path is /runtimes/<name or id>/<the runtime's own path>.`);
  if (endpoint.api === 'gguf') throw new GatewayError(404, 'not_found', `${endpoint.name} is a folder of GGUF files: it has no API to forward to.`);
  const body = await readBody(req);
  const model = modelOf(body);
  if (who?.models) {
    if (model !== undefined && !who.models.includes(model) && !who.models.includes(model.replace(/:latest$/, ''))) throw new GuardError(403, 'model_not_allowed', `The token "${who.name}" may not use ${model}; it may use ${who.models.join(', ')}.`);
  }
  const target = new URL((m?.[2] ?? '/') + search, endpoint.baseUrl.endsWith('/') ? endpoint.baseUrl : `${endpoint.baseUrl}/`);
  // The runtime's base path is kept: /runtimes/x/v1/models → <baseUrl>/v1/models.
  target.pathname = `${new URL(endpoint.baseUrl).pathname.replace(/\/$/, '')}${m?.[2] ?? '/'}`;
  const headers: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) if (!DROPPED.has(k) && v !== undefined) headers[k] = v;
  const key = await o.apiKey(endpoint);
  if (key) headers.authorization = `Bearer ${key}`;
  if (body.length) headers['content-length'] = body.length;
  const secure = target.protocol === 'https:';
  const client = secure ? https : http;
  // This request's span is the runtime's parent: its traceparent replaces the caller's.
  const span = gatewaySpan(endpoint, req.method ?? 'GET', m?.[2] ?? '/', target, model);
  propagation.inject(trace.setSpan(context.active(), span), headers);
  let ended = false;
  const endSpan = (status: number | undefined, error?: string, usage?: { promptTokens?: number; outputTokens?: number }) => {
    if (ended) return;
    ended = true;
    if (status !== undefined) span.setAttribute('http.response.status_code', status);
    if (usage?.promptTokens !== undefined) span.setAttribute('gen_ai.usage.input_tokens', usage.promptTokens);
    if (usage?.outputTokens !== undefined) span.setAttribute('gen_ai.usage.output_tokens', usage.outputTokens);
    if (error || (status ?? 0) >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end();
  };
  await new Promise<void>((resolve) => {
    const upstream = client.request(target, { method: req.method, headers, agent: secure ? agents.https : agents.http, timeout: 30_000 }, (up) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(up.headers)) if (!DROPPED.has(k) && v !== undefined) out[k] = v;
      if (up.headers['content-length'] !== undefined) out['content-length'] = up.headers['content-length'];
      out['x-llmstack-gateway-ms'] = sent.toFixed(2);
      res.writeHead(up.statusCode ?? 502, out);
      const status = up.statusCode ?? 502;
      const tap = o.onUsage && status >= 200 && status < 300 ? UsageTap.for(m?.[2] ?? '/', body, started) : undefined;
      if (tap) up.on('data', (c: Buffer) => tap.chunk(c));
      up.on('end', () => {
        const usage = tap?.end();
        if (usage) o.onUsage?.(endpoint, usage, who);
        endSpan(status, undefined, usage);
      });
      up.pipe(res);
      up.on('end', resolve);
      up.on('error', (e) => {
        endSpan(status, errorMessage(e));
        res.destroy();
        resolve();
      });
    });
    // The answer is streamed: once it starts, the timeout no longer applies (a long generation).
    upstream.on('response', () => upstream.setTimeout(0));
    upstream.on('timeout', () => upstream.destroy(new Error(`${endpoint.name} did not answer within 30 s`)));
    upstream.on('error', (e) => {
      endSpan(undefined, errorMessage(e));
      if (!res.headersSent) {
        const text = JSON.stringify({ error: { code: 'bad_gateway', message: `${endpoint.name} (${endpoint.baseUrl}) could not be reached: ${errorMessage(e)}` } });
        res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      } else res.destroy();
      resolve();
    });
    // The caller went away: so does the runtime request (a generation stops).
    res.on('close', () => {
      if (!res.writableFinished) {
        endSpan(undefined, 'the caller closed the request');
        upstream.destroy();
      }
      resolve();
    });
    const sent = performance.now() - started;
    o.onOverhead?.(sent);
    upstream.end(body);
  });
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) return Promise.reject(new GatewayError(413, 'too_large', `The request body is over ${MAX_BODY} bytes.`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      req.pause();
      reject(new GatewayError(408, 'timeout', 'The request body did not arrive within 10 s.'));
    }, 10_000);
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        clearTimeout(timer);
        req.pause();
        return reject(new GatewayError(413, 'too_large', `The request body is over ${MAX_BODY} bytes.`));
      }
      chunks.push(c);
    });
    req.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The model a runtime request names: Ollama's and OpenAI's "model", Ollama's older "name". */
function modelOf(body: Buffer): string | undefined {
  if (!body.length || body[0] !== 0x7b) return undefined;
  try {
    const o = JSON.parse(body.toString('utf8')) as { model?: unknown; name?: unknown };
    return typeof o.model === 'string' ? o.model : typeof o.name === 'string' ? o.name : undefined;
  } catch {
    return undefined;
  }
}
