// Client for the Ollama REST API (version, tags, ps, show, pull with streamed progress, delete,
// generate, load and unload through keep_alive). Every answer is validated with zod; every request
// is bounded in time; errors say which endpoint failed and why.
import { z } from 'zod';

export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'timeout' | 'protocol' | 'not-found' | 'runtime' | 'cancelled',
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}

const detailsSchema = z.looseObject({
  format: z.string().optional(),
  family: z.string().optional(),
  families: z.array(z.string()).nullish(),
  parameter_size: z.string().optional(),
  quantization_level: z.string().optional(),
});

export const ollamaModelSchema = z.looseObject({
  name: z.string(),
  model: z.string().optional(),
  modified_at: z.string().optional(),
  size: z.number(),
  digest: z.string(),
  details: detailsSchema.optional(),
});
export type OllamaModel = z.infer<typeof ollamaModelSchema>;

export const ollamaRunningSchema = ollamaModelSchema.extend({ expires_at: z.string().optional(), size_vram: z.number().optional() });
export type OllamaRunning = z.infer<typeof ollamaRunningSchema>;

const versionSchema = z.looseObject({ version: z.string() });
const tagsSchema = z.looseObject({ models: z.array(ollamaModelSchema).nullish() });
const psSchema = z.looseObject({ models: z.array(ollamaRunningSchema).nullish() });
const showSchema = z.looseObject({ details: detailsSchema.optional(), model_info: z.record(z.string(), z.unknown()).optional(), modelfile: z.string().optional() });
const errorSchema = z.looseObject({ error: z.string() });
const pullLineSchema = z.looseObject({ status: z.string().optional(), digest: z.string().optional(), total: z.number().optional(), completed: z.number().optional(), error: z.string().optional() });
export type PullProgress = z.infer<typeof pullLineSchema>;
const generateLineSchema = z.looseObject({
  response: z.string().optional(),
  done: z.boolean(),
  done_reason: z.string().optional(),
  total_duration: z.number().optional(),
  load_duration: z.number().optional(),
  prompt_eval_count: z.number().optional(),
  eval_count: z.number().optional(),
  eval_duration: z.number().optional(),
  error: z.string().optional(),
});
export type GenerateResult = z.infer<typeof generateLineSchema> & { text: string };

export interface OllamaClientOptions {
  /** Bound on each request without a stream (and on the wait for a stream's first byte). */
  readonly timeoutMs?: number;
  /** Bound on silence between two lines of a stream (pull, generate). */
  readonly idleTimeoutMs?: number;
}

export class OllamaClient {
  readonly base: string;
  private readonly timeoutMs: number;
  private readonly idleTimeoutMs: number;

  constructor(baseUrl: string, options: OllamaClientOptions = {}) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  }

  private async request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new RuntimeError(`${method} ${this.base}${path} did not answer within ${this.timeoutMs} ms`, 'timeout')), this.timeoutMs);
    const onAbort = () => ac.abort(new RuntimeError('Cancelled.', 'cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await fetch(`${this.base}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? undefined : { 'content-type': 'application/json' }, signal: ac.signal });
    } catch (e) {
      if (ac.signal.reason instanceof RuntimeError) throw ac.signal.reason;
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new RuntimeError(`Cannot reach the Ollama runtime at ${this.base} (${cause}). Is its container running and the port published?`, 'unreachable');
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Reads a JSON answer; an HTML page or malformed JSON becomes a clear protocol error. */
  private async json<S extends z.ZodType>(res: Response, schema: S, what: string): Promise<z.infer<S>> {
    const text = await this.readText(res, what);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      const hint = /^\s*</.test(text) ? 'an HTML page' : 'text that is not JSON';
      throw new RuntimeError(`${what}: ${this.base} answered ${hint} (HTTP ${res.status}); is this an Ollama endpoint?`, 'protocol', res.status);
    }
    if (!res.ok) throw this.httpError(res.status, data, what);
    const parsed = schema.safeParse(data);
    if (!parsed.success) throw new RuntimeError(`${what}: the answer of ${this.base} has an unexpected shape (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}).`, 'protocol', res.status);
    return parsed.data;
  }

  private async readText(res: Response, what: string): Promise<string> {
    const timer = setTimeout(() => void res.body?.cancel().catch(() => undefined), this.timeoutMs);
    try {
      return await res.text();
    } catch {
      throw new RuntimeError(`${what}: ${this.base} stopped sending its answer.`, 'timeout', res.status);
    } finally {
      clearTimeout(timer);
    }
  }

  private httpError(status: number, data: unknown, what: string): RuntimeError {
    const e = errorSchema.safeParse(data);
    const msg = e.success ? e.data.error : `HTTP ${status}`;
    return new RuntimeError(`${what} failed: ${msg}`, status === 404 ? 'not-found' : 'runtime', status);
  }

  async version(): Promise<string> {
    return (await this.json(await this.request('GET', '/api/version'), versionSchema, 'Reading the Ollama version')).version;
  }

  async tags(): Promise<OllamaModel[]> {
    return (await this.json(await this.request('GET', '/api/tags'), tagsSchema, 'Listing models')).models ?? [];
  }

  async ps(): Promise<OllamaRunning[]> {
    return (await this.json(await this.request('GET', '/api/ps'), psSchema, 'Listing loaded models')).models ?? [];
  }

  async show(model: string): Promise<z.infer<typeof showSchema>> {
    return this.json(await this.request('POST', '/api/show', { model }), showSchema, `Showing ${model}`);
  }

  async delete(model: string): Promise<void> {
    const res = await this.request('DELETE', '/api/delete', { model });
    if (res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return;
    }
    const text = await this.readText(res, `Deleting ${model}`);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
    throw this.httpError(res.status, data, `Deleting ${model}`);
  }

  /** Loads a model into memory (an empty generate), keeping it for keepAlive (Ollama duration). */
  async load(model: string, keepAlive: string | number = '5m'): Promise<void> {
    await this.json(await this.request('POST', '/api/generate', { model, keep_alive: keepAlive, stream: false }), generateLineSchema, `Loading ${model}`);
  }

  async unload(model: string): Promise<void> {
    await this.json(await this.request('POST', '/api/generate', { model, keep_alive: 0, stream: false }), generateLineSchema, `Unloading ${model}`);
  }

  /** Reads an NDJSON stream line by line, each validated; silence longer than idleTimeoutMs aborts. */
  private async *lines<S extends z.ZodType>(res: Response, schema: S, what: string, signal?: AbortSignal): AsyncGenerator<z.infer<S>> {
    if (!res.ok || !res.body) {
      const text = await this.readText(res, what);
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        throw new RuntimeError(`${what}: ${this.base} answered HTTP ${res.status} with ${/^\s*</.test(text) ? 'an HTML page' : 'text that is not JSON'}.`, 'protocol', res.status);
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
            throw new RuntimeError(`${what}: ${this.base} sent a line that is not JSON: ${line.slice(0, 80)}`, 'protocol');
          }
          const parsed = schema.safeParse(data);
          if (!parsed.success) throw new RuntimeError(`${what}: unexpected line from ${this.base}: ${line.slice(0, 80)}`, 'protocol');
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

  /** Pulls a model, reporting each progress line; resolves on "success", rejects on an error line. */
  async pull(model: string, onProgress: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    const what = `Pulling ${model}`;
    let success = false;
    for await (const line of this.lines(await this.request('POST', '/api/pull', { model, stream: true }, signal), pullLineSchema, what, signal)) {
      if (line.error) throw new RuntimeError(`${what} failed: ${line.error}`, 'runtime');
      onProgress(line);
      if (line.status === 'success') success = true;
    }
    if (!success) throw new RuntimeError(`${what}: the runtime closed the stream before it reported success (was it stopped?). Pull again to resume.`, 'runtime');
  }

  /** Generates text, streaming chunks to onText; resolves with Ollama's final statistics. */
  async generate(model: string, prompt: string, options: { maxTokens?: number; keepAlive?: string | number; onText?: (t: string) => void; signal?: AbortSignal } = {}): Promise<GenerateResult> {
    const what = `Generating with ${model}`;
    let text = '';
    const body = { model, prompt, stream: true, keep_alive: options.keepAlive, options: options.maxTokens ? { num_predict: options.maxTokens } : undefined };
    for await (const line of this.lines(await this.request('POST', '/api/generate', body, options.signal), generateLineSchema, what, options.signal)) {
      if (line.error) throw new RuntimeError(`${what} failed: ${line.error}`, 'runtime');
      if (line.response) {
        text += line.response;
        options.onText?.(line.response);
      }
      if (line.done) return { ...line, text };
    }
    throw new RuntimeError(`${what}: the stream ended without a final "done" line.`, 'protocol');
  }
}
