// Shared HTTP plumbing of the runtime clients: requests and their bodies bounded in time and size,
// JSON answers validated with zod, NDJSON streams with an idle bound, a line bound and cancellation,
// and RuntimeError, whose messages say which endpoint failed and why.
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { z } from 'zod';
import { LineSplitter, LineTooLongError } from './lineSplitter';
import { formatBytes } from './pullProgress';

export type RuntimeErrorKind = 'unreachable' | 'timeout' | 'protocol' | 'not-found' | 'unauthorized' | 'runtime' | 'cancelled';

export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly kind: RuntimeErrorKind,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}

export interface JsonHttpClientOptions {
  /** Bound on each request without a stream (and on the wait for a stream's first byte). */
  readonly timeoutMs?: number;
  /** Bound on silence between two lines of a stream. */
  readonly idleTimeoutMs?: number;
  /** How messages name the runtime: "the Ollama runtime", "vLLM", "llama-cpp-1 (llama.cpp server)". */
  readonly displayName?: string;
  /** Largest whole answer read (JSON, error pages, metrics); default 16 MiB. */
  readonly maxBodyBytes?: number;
  /** Longest line of an NDJSON stream; default 4 MiB (a generation's last line carries its context). */
  readonly maxLineBytes?: number;
}

const tracer = trace.getTracer('llmstack.runtimes');

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

interface RequestOptions {
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly signal?: AbortSignal;
  /** Replaces the client's timeoutMs for this request (a non-streamed generation answers only when done). */
  readonly timeoutMs?: number;
}

// The error bodies runtimes send: Ollama and TGI {"error":"…"}, OpenAI and llama.cpp
// {"error":{"message":…}}, vLLM {"object":"error","message":…}, FastAPI {"detail":"…"}.
const errorBodySchema = z.union([
  z.looseObject({ error: z.string() }),
  z.looseObject({ error: z.looseObject({ message: z.string() }) }),
  z.looseObject({ message: z.string() }),
  z.looseObject({ detail: z.string() }),
  z.looseObject({ detail: z.array(z.looseObject({ msg: z.string() })).min(1) }),
]);

/** The message of a runtime's error body, whatever its dialect; undefined when there is none. */
export function errorMessage(data: unknown): string | undefined {
  const p = errorBodySchema.safeParse(data);
  if (!p.success) return undefined;
  const d = p.data as { error?: string | { message: string }; message?: string; detail?: string | { msg: string }[] };
  if (typeof d.error === 'string') return d.error;
  if (d.error && typeof d.error === 'object') return d.error.message;
  if (typeof d.message === 'string') return d.message;
  if (typeof d.detail === 'string') return d.detail;
  return d.detail?.map((x) => x.msg).join('; ');
}

/** "an HTML page" or "text that is not JSON", for messages about answers that cannot be parsed. */
export function describeNonJson(text: string): string {
  return /^\s*</.test(text) ? 'an HTML page' : 'text that is not JSON';
}

export abstract class JsonHttpClient {
  readonly base: string;
  readonly displayName: string;
  protected readonly timeoutMs: number;
  protected readonly idleTimeoutMs: number;
  protected readonly maxBodyBytes: number;
  protected readonly maxLineBytes: number;
  /** Responses whose body has not been read yet, with the means to abort their request. */
  private readonly flights = new WeakMap<Response, Flight>();

  protected constructor(baseUrl: string, options: JsonHttpClientOptions, defaultDisplayName: string) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.displayName = options.displayName?.trim() || defaultDisplayName;
  }

  /** Headers every request carries (credentials); may throw a RuntimeError when they cannot be sent. */
  protected headers(): Record<string, string> {
    return {};
  }

  /** Removes secrets from text that goes into an error message. */
  protected redact(text: string): string {
    return text;
  }

  protected async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const { body, signal } = options;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = { ...this.headers() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    // A span for the request where a tracer is set up (the service), its traceparent sent along, so
    // a runtime that honours it (vLLM and others) joins the caller's trace. No-ops otherwise.
    const span = tracer.startSpan(`${method} ${path.split('?')[0]}`, { kind: SpanKind.CLIENT });
    // Attributes only for a span that is exported: the listings and probes run this all the time.
    if (span.isRecording()) span.setAttributes({ 'http.request.method': method, 'url.full': this.redact(`${this.base}${path}`), 'llmstack.runtime': this.displayName });
    propagation.inject(trace.setSpan(context.active(), span), headers);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new RuntimeError(`${method} ${this.base}${path} did not answer within ${timeoutMs} ms`, 'timeout')), timeoutMs);
    const onAbort = () => ac.abort(new RuntimeError('Cancelled.', 'cancelled'));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await fetch(`${this.base}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers, signal: ac.signal });
      // The body is still to come: its readers bound it and abort this same request.
      this.flights.set(res, { controller: ac, timeoutMs, signal });
      span.setAttribute('http.response.status_code', res.status);
      if (res.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      return res;
    } catch (e) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
      span.end();
      if (ac.signal.reason instanceof RuntimeError) throw ac.signal.reason;
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new RuntimeError(this.redact(`Cannot reach ${this.displayName} at ${this.base} (${cause}). Is its container running and the port published?`), 'unreachable');
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Reads a JSON answer; an HTML page or malformed JSON becomes a clear protocol error. */
  protected async json<S extends z.ZodType>(res: Response, schema: S, what: string): Promise<z.infer<S>> {
    return this.parseJson(res, await this.readText(res, what), schema, what);
  }

  /** json() on a body already read, for callers that look at the text first. */
  protected parseJson<S extends z.ZodType>(res: Response, text: string, schema: S, what: string): z.infer<S> {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      // A proxy in front of the runtime often answers 401/403 with its own HTML page.
      if (isAuthStatus(res.status)) throw this.httpError(res.status, undefined, what);
      throw new RuntimeError(`${what}: ${this.base} answered ${describeNonJson(text)} (HTTP ${res.status}); is that really ${this.displayName}?`, 'protocol', res.status);
    }
    if (!res.ok) throw this.httpError(res.status, data, what);
    const parsed = schema.safeParse(data);
    // Some servers report failures with HTTP 200 and an error body.
    const failure = parsed.success ? undefined : errorMessage(data);
    if (failure !== undefined) throw new RuntimeError(`${what} failed: ${this.redact(failure)}`, 'runtime', res.status);
    if (!parsed.success) throw new RuntimeError(`${what}: the answer of ${this.base} has an unexpected shape (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}).`, 'protocol', res.status);
    return parsed.data;
  }

  /**
   * Reads a whole body, bounded in time (the request's timeout, from the first byte of the body on)
   * and size (maxBodyBytes): a server may send headers and then trickle bytes or never stop. Either
   * aborts the request, which closes the connection, so nothing is left waiting on it.
   */
  protected async readText(res: Response, what: string): Promise<string> {
    const flight = this.flights.get(res);
    const url = this.redact(res.url || this.base);
    const limit = this.maxBodyBytes;
    const body = new BodyReader(res, flight, what);
    if (!body.open) return '';
    const tooLarge = () => new RuntimeError(`${what}: ${url} sent an answer larger than ${formatBytes(limit)}; stopped reading. Is that really ${this.displayName}?`, 'protocol', res.status);
    const timeoutMs = flight?.timeoutMs ?? this.timeoutMs;
    const timer = setTimeout(() => body.fail(new RuntimeError(`${what}: ${url} did not finish sending its answer within ${timeoutMs} ms.`, 'timeout', res.status)), timeoutMs);
    const parts: Uint8Array[] = [];
    let size = 0;
    try {
      // A declared length over the limit is refused before reading.
      if (Number(res.headers.get('content-length')) > limit) throw body.fail(tooLarge());
      for (;;) {
        const chunk = await body.read();
        if (chunk === undefined) break;
        size += chunk.byteLength;
        if (size > limit) throw body.fail(tooLarge());
        parts.push(chunk);
      }
    } catch (e) {
      if (e instanceof RuntimeError) throw e;
      throw new RuntimeError(`${what}: ${this.base} stopped sending its answer (${(e as Error).message}).`, 'unreachable', res.status);
    } finally {
      clearTimeout(timer);
      body.close();
    }
    return Buffer.concat(parts, size).toString('utf8');
  }

  /** Builds the error for an HTTP failure from the runtime's error body (any dialect) and status. */
  protected httpError(status: number, data: unknown, what: string): RuntimeError {
    const msg = this.redact(errorMessage(data) ?? `HTTP ${status}`);
    if (isAuthStatus(status)) return new RuntimeError(this.unauthorizedMessage(what, msg, status), 'unauthorized', status);
    return new RuntimeError(`${what} failed: ${msg}`, status === 404 ? 'not-found' : 'runtime', status);
  }

  protected unauthorizedMessage(what: string, detail: string, status: number): string {
    return `${what}: ${this.base} rejected the request (HTTP ${status}: ${detail}).`;
  }

  /**
   * Reads an NDJSON stream line by line, each validated. A stream may last (a pull takes hours), so
   * its bound is idleTimeoutMs without a complete line, not a total; a line longer than maxLineBytes
   * stops it. Either aborts the request. LineSplitter cuts lines in time linear in their length.
   */
  protected async *lines<S extends z.ZodType>(res: Response, schema: S, what: string, signal?: AbortSignal, format: 'ndjson' | 'sse' = 'ndjson'): AsyncGenerator<z.infer<S>> {
    if (!res.ok || !res.body) {
      const text = await this.readText(res, what);
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        if (isAuthStatus(res.status)) throw this.httpError(res.status, undefined, what);
        throw new RuntimeError(`${what}: ${this.base} answered HTTP ${res.status} with ${describeNonJson(text)}.`, 'protocol', res.status);
      }
      throw this.httpError(res.status, data, what);
    }
    const url = this.redact(res.url || this.base);
    const maxLine = this.maxLineBytes;
    const idleMs = this.idleTimeoutMs;
    const body = new BodyReader(res, this.flights.get(res), what, signal);
    const splitter = new LineSplitter(maxLine);
    const idle = setTimeout(() => {
      const unfinished = splitter.unfinishedBytes;
      const detail = unfinished ? `no complete line for ${idleMs} ms (${unfinished} bytes of an unfinished line)` : `nothing for ${idleMs} ms`;
      body.fail(new RuntimeError(`${what}: ${this.base} sent ${detail}.`, 'timeout'));
    }, idleMs);
    try {
      for (;;) {
        if (signal?.aborted) throw new RuntimeError(`${what} was cancelled.`, 'cancelled');
        let chunk: Uint8Array | undefined;
        try {
          chunk = await body.read();
        } catch (e) {
          if (e instanceof RuntimeError) throw e;
          throw new RuntimeError(`${what}: the connection to ${this.base} broke in the middle of the answer (${(e as Error).message}). Was the runtime stopped? Try again once it runs.`, 'unreachable');
        }
        if (chunk === undefined) break;
        let lines: string[];
        try {
          lines = splitter.push(chunk);
        } catch (e) {
          if (!(e instanceof LineTooLongError)) throw e;
          throw body.fail(new RuntimeError(`${what}: ${url} sent a line longer than ${formatBytes(maxLine)} without a line break; stopped reading. Is that really ${this.displayName}?`, 'protocol'));
        }
        for (const raw of lines) {
          let line = raw.trim();
          if (!line) continue;
          if (format === 'sse') {
            // Server-sent events (OpenAI-compatible streams): the JSON is in `data:` fields; comments
            // (`:`) and the other fields are skipped; `data: [DONE]` ends the stream.
            if (!line.startsWith('data:')) continue;
            line = line.slice(5).trim();
            if (line === '[DONE]') return;
            if (!line) continue;
          }
          let data: unknown;
          try {
            data = JSON.parse(line);
          } catch {
            throw new RuntimeError(this.redact(`${what}: ${this.base} sent a line that is not JSON: ${line.slice(0, 80)}`), 'protocol');
          }
          const parsed = schema.safeParse(data);
          if (!parsed.success) throw new RuntimeError(this.redact(`${what}: unexpected line from ${this.base}: ${line.slice(0, 80)}`), 'protocol');
          if (signal?.aborted) throw new RuntimeError(`${what} was cancelled.`, 'cancelled');
          yield parsed.data;
          // The consumer's time with a line is not the server's silence.
          idle.refresh();
        }
      }
      if (splitter.rest().trim()) throw new RuntimeError(`${what}: the stream from ${this.base} ended in the middle of a line.`, 'protocol');
    } finally {
      clearTimeout(idle);
      body.close();
    }
  }
}

/** What request() keeps of a response until its body is read: the way to abort it, and its bound. */
interface Flight {
  readonly controller: AbortController;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * One body being read. Every wait ends as soon as fail() is called (a bound or the caller's signal),
 * whatever the stream does: fail() aborts the request, which also closes the connection, and
 * read() rejects at once with the reason rather than waiting for the stream to notice.
 */
class BodyReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private readonly stopped: Promise<never>;
  private stop: (e: RuntimeError) => void = () => undefined;
  private failure: RuntimeError | undefined;
  private done = false;
  private readonly onAbort: () => void;

  constructor(
    res: Response,
    private readonly flight: Flight | undefined,
    what: string,
    private readonly signal = flight?.signal,
  ) {
    this.reader = res.body?.getReader();
    this.stopped = new Promise<never>((_, reject) => (this.stop = reject));
    this.stopped.catch(() => undefined);
    this.onAbort = () => this.fail(new RuntimeError(`${what} was cancelled.`, 'cancelled'));
    if (this.signal?.aborted) this.onAbort();
    else this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get open(): boolean {
    return this.reader !== undefined;
  }

  /** The next chunk; undefined at the end of the body. */
  async read(): Promise<Uint8Array | undefined> {
    if (this.failure) throw this.failure;
    const r = await Promise.race([this.reader!.read(), this.stopped]);
    if (r.done) {
      this.done = true;
      return undefined;
    }
    return r.value;
  }

  /** Stops reading for this reason (the first one wins); returns it, for `throw body.fail(…)`. */
  fail(e: RuntimeError): RuntimeError {
    if (this.failure) return this.failure;
    this.failure = e;
    this.flight?.controller.abort(e);
    this.stop(e);
    return e;
  }

  /** Releases the body: one not read to its end is cancelled and its request aborted. */
  close(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    if (this.done) return;
    this.flight?.controller.abort(this.failure ?? new RuntimeError('The answer was not read to its end.', 'cancelled'));
    this.reader?.cancel().catch(() => undefined);
  }
}

function isAuthStatus(status: number): boolean {
  return status === 401 || status === 403;
}
