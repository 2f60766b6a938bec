// Client for the Ollama REST API (version, tags, ps, show, pull with streamed progress, delete,
// generate, load and unload through keep_alive). Every answer is validated with zod; every request
// is bounded in time; errors say which endpoint failed and why.
import { z } from 'zod';
import { JsonHttpClient, JsonHttpClientOptions, RuntimeError } from './http';

// RuntimeError lived here first; existing imports from this module keep working.
export { RuntimeError };
export type { RuntimeErrorKind } from './http';

const detailsSchema = z.looseObject({
  format: z.string().optional(),
  family: z.string().optional(),
  families: z.array(z.string()).nullish(),
  parameter_size: z.string().optional(),
  quantization_level: z.string().optional(),
});

const ollamaModelSchema = z.looseObject({
  name: z.string(),
  model: z.string().optional(),
  modified_at: z.string().optional(),
  size: z.number(),
  digest: z.string(),
  details: detailsSchema.optional(),
});
export type OllamaModel = z.infer<typeof ollamaModelSchema>;

// context_length: the context the runner was started with (api/types.go ProcessModelResponse).
const ollamaRunningSchema = ollamaModelSchema.extend({ expires_at: z.string().optional(), size_vram: z.number().optional(), context_length: z.number().optional() });
type OllamaRunning = z.infer<typeof ollamaRunningSchema>;

const versionSchema = z.looseObject({ version: z.string() });
const tagsSchema = z.looseObject({ models: z.array(ollamaModelSchema).nullish() });
const psSchema = z.looseObject({ models: z.array(ollamaRunningSchema).nullish() });
const showSchema = z.looseObject({ details: detailsSchema.optional(), model_info: z.record(z.string(), z.unknown()).optional(), modelfile: z.string().optional() });
const pullLineSchema = z.looseObject({ status: z.string().optional(), digest: z.string().optional(), total: z.number().optional(), completed: z.number().optional(), error: z.string().optional() });
export type PullProgress = z.infer<typeof pullLineSchema>;
// A stream that fails after it began ends with a bare {"error": "…"} line, without "done"
// (ollama/ollama server/routes.go streamResponse), so "done" may be missing on that line only.
const generateLineSchema = z.looseObject({
  response: z.string().optional(),
  // A thinking model's reasoning (api/types.go GenerateResponse.Thinking), streamed apart from response.
  thinking: z.string().optional(),
  done: z.boolean().optional(),
  done_reason: z.string().optional(),
  total_duration: z.number().optional(),
  load_duration: z.number().optional(),
  prompt_eval_count: z.number().optional(),
  prompt_eval_duration: z.number().optional(),
  eval_count: z.number().optional(),
  eval_duration: z.number().optional(),
  error: z.string().optional(),
});
type GenerateResult = z.infer<typeof generateLineSchema> & { text: string; thinking?: string };

type OllamaClientOptions = JsonHttpClientOptions;

export class OllamaClient extends JsonHttpClient {
  constructor(baseUrl: string, options: OllamaClientOptions = {}) {
    super(baseUrl, options, 'the Ollama runtime');
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
    return this.json(await this.request('POST', '/api/show', { body: { model } }), showSchema, `Showing ${model}`);
  }

  async delete(model: string): Promise<void> {
    const res = await this.request('DELETE', '/api/delete', { body: { model } });
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
    this.failedLine(await this.json(await this.request('POST', '/api/generate', { body: { model, keep_alive: keepAlive, stream: false } }), generateLineSchema, `Loading ${model}`), `Loading ${model}`);
  }

  async unload(model: string): Promise<void> {
    this.failedLine(await this.json(await this.request('POST', '/api/generate', { body: { model, keep_alive: 0, stream: false } }), generateLineSchema, `Unloading ${model}`), `Unloading ${model}`);
  }

  /** Throws the runtime's own message for an {"error": …} line. */
  private failedLine(line: { error?: string }, what: string): void {
    if (line.error !== undefined) throw new RuntimeError(`${what} failed: ${line.error}`, 'runtime');
  }

  /** Pulls a model, reporting each progress line; resolves on "success", rejects on an error line. */
  async pull(model: string, onProgress: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    const what = `Pulling ${model}`;
    let success = false;
    for await (const line of this.lines(await this.request('POST', '/api/pull', { body: { model, stream: true }, signal }), pullLineSchema, what, signal)) {
      this.failedLine(line, what);
      onProgress(line);
      if (line.status === 'success') success = true;
    }
    if (!success) throw new RuntimeError(`${what}: the runtime closed the stream before it reported success (was it stopped?). Pull again to resume.`, 'runtime');
  }

  /**
   * Generates text, streaming chunks to onText; resolves with Ollama's final statistics, the answer
   * in text and a thinking model's reasoning in thinking. `think` is sent only when given: Ollama
   * then turns thinking on for the models that can, and refuses true for those that cannot.
   */
  async generate(
    model: string,
    prompt: string,
    options: { maxTokens?: number; keepAlive?: string | number; think?: boolean; onText?: (t: string) => void; onThinking?: (t: string) => void; signal?: AbortSignal; numCtx?: number } = {},
  ): Promise<GenerateResult> {
    const what = `Generating with ${model}`;
    let text = '';
    let thinking = '';
    const body = { model, prompt, stream: true, keep_alive: options.keepAlive, think: options.think, options: options.maxTokens || options.numCtx ? { num_predict: options.maxTokens, num_ctx: options.numCtx } : undefined };
    for await (const line of this.lines(await this.request('POST', '/api/generate', { body, signal: options.signal }), generateLineSchema, what, options.signal)) {
      this.failedLine(line, what);
      if (line.thinking) {
        thinking += line.thinking;
        options.onThinking?.(line.thinking);
      }
      if (line.response) {
        text += line.response;
        options.onText?.(line.response);
      }
      if (line.done) return { ...line, text, thinking: thinking || undefined };
    }
    throw new RuntimeError(`${what}: the stream ended without a final "done" line.`, 'protocol');
  }
}
