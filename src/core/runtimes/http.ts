// Shared HTTP plumbing of the runtime clients: bounded requests, JSON answers validated with zod,
// NDJSON streams with an idle bound and cancellation, and RuntimeError, whose messages say which
// endpoint failed and why.
import { z } from 'zod';

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
}

export interface RequestOptions {
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

  protected constructor(baseUrl: string, options: JsonHttpClientOptions, defaultDisplayName: string) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
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
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new RuntimeError(`${method} ${this.base}${path} did not answer within ${timeoutMs} ms`, 'timeout')), timeoutMs);
    const onAbort = () => ac.abort(new RuntimeError('Cancelled.', 'cancelled'));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await fetch(`${this.base}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers, signal: ac.signal });
    } catch (e) {
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

  /** Reads a whole body, bounded by timeoutMs: a server may send headers and then stall. */
  protected async readText(res: Response, what: string): Promise<string> {
    const timer = setTimeout(() => void res.body?.cancel().catch(() => undefined), this.timeoutMs);
    try {
      return await res.text();
    } catch {
      throw new RuntimeError(`${what}: ${this.base} stopped sending its answer.`, 'timeout', res.status);
    } finally {
      clearTimeout(timer);
    }
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

  /** Reads an NDJSON stream line by line, each validated; silence longer than idleTimeoutMs aborts. */
  protected async *lines<S extends z.ZodType>(res: Response, schema: S, what: string, signal?: AbortSignal): AsyncGenerator<z.infer<S>> {
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
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    // One listener for the whole stream, not one per chunk.
    let onAbort: (() => void) | undefined;
    const cancelled = new Promise<never>((_, reject) => {
      onAbort = () => reject(new RuntimeError(`${what} was cancelled.`, 'cancelled'));
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    cancelled.catch(() => undefined);
    try {
      for (;;) {
        if (signal?.aborted) throw new RuntimeError(`${what} was cancelled.`, 'cancelled');
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new RuntimeError(`${what}: ${this.base} sent nothing for ${this.idleTimeoutMs} ms.`, 'timeout')), this.idleTimeoutMs);
        });
        let chunk: { done: boolean; value?: Uint8Array };
        try {
          chunk = await Promise.race([reader.read(), idle, cancelled]);
        } catch (e) {
          if (e instanceof RuntimeError) throw e;
          throw new RuntimeError(`${what}: the connection to ${this.base} broke in the middle of the answer (${(e as Error).message}). Was the runtime stopped? Try again once it runs.`, 'unreachable');
        } finally {
          clearTimeout(timer);
        }
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (!line) continue;
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
        }
      }
      if (buffer.trim()) throw new RuntimeError(`${what}: the stream from ${this.base} ended in the middle of a line.`, 'protocol');
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      reader.cancel().catch(() => undefined);
    }
  }
}

function isAuthStatus(status: number): boolean {
  return status === 401 || status === 403;
}
