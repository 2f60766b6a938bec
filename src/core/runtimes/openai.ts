// Client for OpenAI-compatible servers (llama.cpp server, vLLM, LocalAI, LM Studio, TGI's /v1):
// health, models, llama.cpp's /props, Prometheus /metrics and non-streamed completions, with an
// optional API key sent as a bearer token that never appears in an error message.
import { z } from 'zod';
import { describeNonJson, errorMessage, JsonHttpClient, JsonHttpClientOptions, RuntimeError } from './http';
import type { ModelRuntimeKind } from './runtime';

export { RuntimeError };

/** Accepts null as well (servers send it for "unknown") but hands callers plain undefined. */
function opt<T extends z.ZodType>(schema: T) {
  // The outer optional() keeps the key optional in the inferred type, so `meta ?? {}` type-checks.
  return schema
    .nullish()
    .transform((v): z.output<T> | undefined => v ?? undefined)
    .optional();
}
const optionalNumber = opt(z.number());
const optionalString = opt(z.string());

const openAiModelSchema = z.looseObject({
  id: z.string(),
  object: optionalString,
  created: optionalNumber,
  owned_by: optionalString,
  // llama.cpp: null while the model is still loading.
  meta: opt(
    z.looseObject({
      n_params: optionalNumber,
      size: optionalNumber,
      n_ctx_train: optionalNumber,
      n_vocab: optionalNumber,
      n_embd: optionalNumber,
    }),
  ),
  // vLLM.
  max_model_len: optionalNumber,
  root: optionalString,
  // llama.cpp in router mode (llama-server without -m): each model's own state, e.g.
  // {"value":"loaded","args":[…]} or {"value":"unloaded","failed":true,"exit_code":1}
  // (tools/server/server-models.cpp get_router_models).
  status: opt(z.looseObject({ value: z.string(), failed: opt(z.boolean()), exit_code: optionalNumber })),
});
type OpenAiModel = z.infer<typeof openAiModelSchema>;

// TGI answers /v1/models with the one model it serves rather than a list.
const modelsSchema = z.union([z.looseObject({ data: z.array(openAiModelSchema) }), openAiModelSchema]);

const propsSchema = z.looseObject({
  // "router" for llama-server in router mode, whose own /props carries a dummy n_ctx of 0.
  role: optionalString,
  default_generation_settings: opt(
    z.looseObject({
      n_ctx: optionalNumber,
      params: opt(z.looseObject({ n_predict: optionalNumber, temperature: optionalNumber })),
    }),
  ),
  total_slots: optionalNumber,
  model_path: optionalString,
  build_info: optionalString,
  chat_template: optionalString,
  modalities: opt(z.looseObject({ vision: opt(z.boolean()), audio: opt(z.boolean()) })),
});
type LlamaProps = z.infer<typeof propsSchema>;

// TGI's GET /info (router/src/lib.rs struct Info); max_input_length became max_input_tokens in 2.x.
const tgiInfoSchema = z.looseObject({
  model_id: optionalString,
  version: optionalString,
  max_total_tokens: optionalNumber,
  max_input_tokens: optionalNumber,
  max_input_length: optionalNumber,
  max_concurrent_requests: optionalNumber,
});
export type TgiInfo = z.infer<typeof tgiInfoSchema>;

// LM Studio's GET /api/v0/models (REST API v0): every downloaded model, loaded or not.
const lmStudioModelsSchema = z.looseObject({
  data: z.array(
    z.looseObject({
      id: z.string(),
      type: optionalString,
      arch: optionalString,
      quantization: optionalString,
      compatibility_type: optionalString,
      state: optionalString,
      max_context_length: optionalNumber,
      loaded_context_length: optionalNumber,
    }),
  ),
});
export type LmStudioModel = z.infer<typeof lmStudioModelsSchema>['data'][number];

// llama.cpp: {"status":"ok"}; older builds {"status":"loading model"}; vLLM and TGI: an empty body.
const healthSchema = z.looseObject({ status: optionalString });

const completionSchema = z.looseObject({
  choices: z.array(z.looseObject({ text: z.string(), finish_reason: optionalString })).min(1),
  usage: opt(z.looseObject({ prompt_tokens: optionalNumber, completion_tokens: optionalNumber })),
});

/**
 * One chunk of a streamed completion: llama.cpp's partial results (tools/server/server-task.cpp
 * server_task_result_cmpl_partial / _final to_json_oaicompat at 00efb3e184262872916bf136b3df63c1822a19bd:
 * choices[].text, finish_reason on the last, usage and llama.cpp's timings there too), and vLLM's
 * with stream_options.include_usage (a last chunk with no choices and the usage).
 */
const completionChunkSchema = z.looseObject({
  choices: opt(z.array(z.looseObject({ text: opt(z.string()), finish_reason: optionalString }))),
  usage: opt(z.looseObject({ prompt_tokens: optionalNumber, completion_tokens: optionalNumber })),
  timings: opt(z.looseObject({ prompt_ms: optionalNumber, predicted_ms: optionalNumber })),
});

interface OpenAiHealth {
  /** ok: answers requests; loading: up but still loading its model; unavailable: up but failing (5xx). */
  readonly status: 'ok' | 'loading' | 'unavailable';
  readonly detail?: string;
}

interface OpenAiCompletion {
  readonly text: string;
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  readonly finishReason?: string;
  readonly durationMs: number;
  /** The server's own times (llama.cpp's timings), where it sends them. */
  readonly promptMs?: number;
  readonly generationMs?: number;
}

interface OpenAiClientOptions extends JsonHttpClientOptions {
  /** Sent as "Authorization: Bearer <key>"; surrounding whitespace (a pasted line break) is dropped. */
  readonly apiKey?: string;
}

const SET_API_KEY_HINT = "Set it with 'LLM Stack: Set Runtime API Key…'.";

/** A key this short could match ordinary words of a message; redacting it would garble the text. */
const MIN_REDACTED_KEY_LENGTH = 4;

export class OpenAiClient extends JsonHttpClient {
  // An ES private field: util.inspect, JSON.stringify and loggers never see it.
  readonly #apiKey: string | undefined;

  constructor(baseUrl: string, options: OpenAiClientOptions = {}) {
    super(baseUrl, options, 'the OpenAI-compatible server');
    this.#apiKey = options.apiKey?.trim() || undefined;
  }

  get hasApiKey(): boolean {
    return this.#apiKey !== undefined;
  }

  protected override headers(): Record<string, string> {
    if (!this.#apiKey) return {};
    // fetch would reject such a value with a message that quotes it, key included.
    if (!/^[\x20-\x7e]+$/.test(this.#apiKey)) {
      throw new RuntimeError(`The API key for ${this.displayName} at ${this.base} contains line breaks or characters an HTTP header cannot carry. Set it again with 'LLM Stack: Set Runtime API Key…'.`, 'unauthorized');
    }
    return { authorization: `Bearer ${this.#apiKey}` };
  }

  protected override redact(text: string): string {
    const key = this.#apiKey;
    return key && key.length >= MIN_REDACTED_KEY_LENGTH ? text.split(key).join('[API key]') : text;
  }

  protected override unauthorizedMessage(what: string, detail: string, status: number): string {
    const which = this.#apiKey ? 'the API key is wrong' : 'it needs an API key and none is set';
    return `${what}: ${this.base} rejected the request (HTTP ${status}: ${detail}): ${which}. ${SET_API_KEY_HINT}`;
  }

  /**
   * Whether the server is ready. llama.cpp's /health says "loading" with a 503; servers without
   * /health (LM Studio, LocalAI) count as ok when /v1/models answers. A server that cannot be
   * reached, or rejects the key, is an error rather than a status.
   */
  async health(kind?: ModelRuntimeKind): Promise<OpenAiHealth> {
    if (kind === 'localai') return this.readiness();
    const what = 'Checking health';
    const res = await this.request('GET', '/health');
    const text = await this.readText(res, what);
    const data = parseOrUndefined(text);
    if (isAbsent(res.status) || (res.ok && isErrorBody(data))) return this.healthFromModels();
    if (res.status === 401 || res.status === 403) throw this.httpError(res.status, data, what);
    if (res.ok) {
      if (/^\s*</.test(text)) throw new RuntimeError(`${what}: ${this.base} answered an HTML page (HTTP ${res.status}); is that really ${this.displayName}?`, 'protocol', res.status);
      return { status: 'ok' };
    }
    const status = healthSchema.safeParse(data);
    const detail = this.redact(errorMessage(data) ?? (status.success ? status.data.status : undefined) ?? `HTTP ${res.status}${data === undefined && text.trim() ? ` with ${describeNonJson(text)}` : ''}`);
    if (res.status === 503 && /loading/i.test(detail)) return { status: 'loading', detail };
    if (res.status >= 500) return { status: 'unavailable', detail };
    throw this.httpError(res.status, data, what);
  }

  /**
   * LocalAI's readiness: /readyz answers 503 until its start-up (model preloads, backends) is done,
   * while /v1/models already answers (mudler/LocalAI core/http/routes/health_test.go at
   * 54396074c3dcffc4644da1040fa4072cdb92cf56). Older LocalAI answers 200 always, or has no /readyz.
   */
  private async readiness(): Promise<OpenAiHealth> {
    const what = 'Checking readiness';
    const res = await this.request('GET', '/readyz');
    const text = await this.readText(res, what);
    if (isAbsent(res.status)) return this.healthFromModels();
    if (res.ok) return { status: 'ok' };
    const data = parseOrUndefined(text);
    if (res.status === 503) return { status: 'loading', detail: this.redact(errorMessage(data) ?? 'starting (GET /readyz answers 503)') };
    if (res.status >= 500) return { status: 'unavailable', detail: this.redact(errorMessage(data) ?? `HTTP ${res.status}`) };
    throw this.httpError(res.status, data, what);
  }

  private async healthFromModels(): Promise<OpenAiHealth> {
    try {
      await this.models();
      return { status: 'ok', detail: 'no /health endpoint; /v1/models answered' };
    } catch (e) {
      if (e instanceof RuntimeError && e.kind === 'runtime' && (e.status ?? 0) >= 500) return { status: 'unavailable', detail: e.message };
      throw e;
    }
  }

  async models(): Promise<OpenAiModel[]> {
    const list = await this.json(await this.request('GET', '/v1/models'), modelsSchema, 'Listing models');
    return 'data' in list && Array.isArray(list.data) ? list.data : [list as OpenAiModel];
  }

  /**
   * llama.cpp's server properties (context size, slots, model file); undefined on other servers.
   * With a model, a router's answer for that model, only while it is loaded (autoload=false: asking
   * must not load it).
   */
  async props(model?: string): Promise<LlamaProps | undefined> {
    const what = model === undefined ? 'Reading the server properties' : `Reading the properties of ${model}`;
    const res = await this.request('GET', model === undefined ? '/props' : `/props?model=${encodeURIComponent(model)}&autoload=false`);
    if (isAbsent(res.status)) {
      await res.body?.cancel().catch(() => undefined);
      return undefined;
    }
    const text = await this.readText(res, what);
    if (res.ok && isErrorBody(parseOrUndefined(text))) return undefined;
    return this.parseJson(res, text, propsSchema, what);
  }

  /** TGI's /info (version, token limits); undefined where the server has no such route. */
  async tgiInfo(): Promise<TgiInfo | undefined> {
    return this.optionalJson('/info', tgiInfoSchema, 'Reading the server information');
  }

  /** LM Studio's own model list (state, context limits); undefined where the server has no such route. */
  async lmStudioModels(): Promise<LmStudioModel[] | undefined> {
    return (await this.optionalJson('/api/v0/models', lmStudioModelsSchema, 'Listing models'))?.data;
  }

  private async optionalJson<S extends z.ZodType>(path: string, schema: S, what: string): Promise<z.infer<S> | undefined> {
    const res = await this.request('GET', path);
    if (isAbsent(res.status)) {
      await res.body?.cancel().catch(() => undefined);
      return undefined;
    }
    const text = await this.readText(res, what);
    if (res.ok && isErrorBody(parseOrUndefined(text))) return undefined;
    return this.parseJson(res, text, schema, what);
  }

  /**
   * Asks a llama.cpp router to load or unload a model (POST /models/load, /models/unload). The
   * router answers {"success":true} at once and loads in the background: callers wait on the
   * model's status in models().
   */
  async routerAction(action: 'load' | 'unload', model: string): Promise<void> {
    const what = `${action === 'load' ? 'Loading' : 'Unloading'} ${model}`;
    await this.json(await this.request('POST', `/models/${action}`, { body: { model } }), z.looseObject({ success: z.boolean().optional() }), what);
  }

  /**
   * The Prometheus metrics, keyed by `name{labels}`; undefined where the server has no /metrics
   * or serves it only on request (llama.cpp without --metrics answers 501).
   */
  async metrics(): Promise<Map<string, number> | undefined> {
    const what = 'Reading metrics';
    const res = await this.request('GET', '/metrics');
    if (isAbsent(res.status)) {
      await res.body?.cancel().catch(() => undefined);
      return undefined;
    }
    const text = await this.readText(res, what);
    const data = parseOrUndefined(text);
    if (!res.ok) {
      if (data === undefined && !(res.status === 401 || res.status === 403)) {
        throw new RuntimeError(`${what}: ${this.base} answered HTTP ${res.status} with ${describeNonJson(text)}.`, 'protocol', res.status);
      }
      throw this.httpError(res.status, data, what);
    }
    if (isErrorBody(data)) return undefined;
    if (/^\s*[<{[]/.test(text)) throw new RuntimeError(`${what}: ${this.base} answered ${/^\s*</.test(text) ? 'an HTML page' : 'JSON'} instead of Prometheus metrics (HTTP ${res.status}).`, 'protocol', res.status);
    return parsePrometheus(text);
  }

  /**
   * One non-streamed completion. It answers only once the whole text is generated, so its bound is
   * idleTimeoutMs unless timeoutMs says otherwise; without maxTokens the server's default applies.
   */
  async complete(model: string, prompt: string, options: { maxTokens?: number; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<OpenAiCompletion> {
    const what = `Generating with ${model}`;
    const t0 = performance.now();
    const res = await this.request('POST', '/v1/completions', {
      body: { model, prompt, max_tokens: options.maxTokens, stream: false },
      signal: options.signal,
      timeoutMs: options.timeoutMs ?? this.idleTimeoutMs,
    });
    const data = await this.json(res, completionSchema, what);
    const choice = data.choices[0]!;
    return {
      text: choice.text,
      promptTokens: data.usage?.prompt_tokens,
      completionTokens: data.usage?.completion_tokens,
      finishReason: choice.finish_reason,
      durationMs: Math.round(performance.now() - t0),
    };
  }

  /**
   * One streamed completion (server-sent events): onText is called with each piece as it comes, so
   * a caller sees the first token when the server sends it. Bounded by idleTimeoutMs of silence,
   * not a total; the usage comes from the chunk that carries it (stream_options.include_usage).
   */
  async stream(model: string, prompt: string, options: { maxTokens?: number; signal?: AbortSignal; onText?: (text: string) => void } = {}): Promise<OpenAiCompletion> {
    const what = `Generating with ${model}`;
    const t0 = performance.now();
    const res = await this.request('POST', '/v1/completions', {
      body: { model, prompt, max_tokens: options.maxTokens, stream: true, stream_options: { include_usage: true } },
      signal: options.signal,
      // Headers may wait for the prompt to be processed (llama.cpp sends them with the first chunk).
      timeoutMs: this.idleTimeoutMs,
    });
    let text = '';
    let out: Omit<OpenAiCompletion, 'text' | 'durationMs'> = {};
    for await (const chunk of this.lines(res, completionChunkSchema, what, options.signal, 'sse')) {
      for (const c of chunk.choices ?? []) {
        if (c.text) {
          text += c.text;
          options.onText?.(c.text);
        }
        if (c.finish_reason) out = { ...out, finishReason: c.finish_reason };
      }
      if (chunk.usage) out = { ...out, promptTokens: chunk.usage.prompt_tokens ?? out.promptTokens, completionTokens: chunk.usage.completion_tokens ?? out.completionTokens };
      if (chunk.timings) out = { ...out, promptMs: chunk.timings.prompt_ms ?? out.promptMs, generationMs: chunk.timings.predicted_ms ?? out.generationMs };
    }
    return { text, ...out, durationMs: Math.round(performance.now() - t0) };
  }
}

/** 404 and 405: no such route; 501: llama.cpp's answer for an endpoint switched off (/metrics). */
function isAbsent(status: number): boolean {
  return status === 404 || status === 405 || status === 501;
}

/** LM Studio answers unknown routes with HTTP 200 and {"error":"Unexpected endpoint or method…"}. */
function isErrorBody(data: unknown): boolean {
  return typeof data === 'object' && data !== null && 'error' in data && errorMessage(data) !== undefined;
}

function parseOrUndefined(text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// Prometheus text exposition format, version 0.0.4 (what llama.cpp, vLLM and LocalAI serve).

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/**
 * Parses Prometheus text into a map keyed by `name` or `name{a="b",c="d"}` (labels in their order,
 * values escaped as in the format). Comments, blank lines and lines that are not samples are skipped;
 * timestamps and OpenMetrics exemplars are ignored. A name that repeats keeps its last value.
 */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const sample = parseSample(line);
    if (sample) out.set(sample.key, sample.value);
  }
  return out;
}

/** The sum of every series of one metric (all its label sets); undefined when it has none. */
export function metricValue(metrics: ReadonlyMap<string, number>, name: string): number | undefined {
  let sum: number | undefined;
  for (const [key, value] of metrics) {
    if (key === name || key.startsWith(`${name}{`)) sum = (sum ?? 0) + value;
  }
  return sum;
}

function parseSample(line: string): { key: string; value: number } | undefined {
  const name = METRIC_NAME.exec(line)?.[0];
  if (!name) return undefined;
  let rest = line.slice(name.length).trimStart();
  const labels: [string, string][] = [];
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith('}')) {
        rest = rest.slice(1);
        break;
      }
      const label = LABEL_NAME.exec(rest)?.[0];
      if (!label) return undefined;
      rest = rest.slice(label.length).trimStart();
      if (!rest.startsWith('=')) return undefined;
      rest = rest.slice(1).trimStart();
      if (!rest.startsWith('"')) return undefined;
      let value = '';
      let i = 1;
      for (; i < rest.length && rest[i] !== '"'; i++) {
        if (rest[i] === '\\' && i + 1 < rest.length) {
          i++;
          value += rest[i] === 'n' ? '\n' : rest[i];
        } else value += rest[i];
      }
      if (i >= rest.length) return undefined;
      labels.push([label, value]);
      rest = rest.slice(i + 1).trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) return undefined;
    }
  }
  // The value, then an optional timestamp, then (OpenMetrics) an optional "# {…} exemplar".
  const fields = rest.trim().split(/\s+/);
  const value = parseValue(fields[0] ?? '');
  if (value === undefined) return undefined;
  const key = labels.length ? `${name}{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : name;
  return { key, value };
}

function parseValue(token: string): number | undefined {
  if (/^[+-]?nan$/i.test(token)) return NaN;
  const inf = /^([+-]?)inf(inity)?$/i.exec(token);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(token)) return undefined;
  return Number(token);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
