// Adapts each runtime client to the one ModelRuntime interface the Models view speaks: Ollama's
// REST API, OpenAI-compatible servers, and folders of GGUF files.
import { GgufFolderRuntime } from './ggufFolder';
import { OllamaClient, type OllamaModel } from './ollama';
import { type LmStudioModel, OpenAiClient, RuntimeError, type TgiInfo } from './openai';
import { baseCapabilities, type GenerateOptions, type GenerateOutcome, type LoadedState, type ModelRuntime, type ModelStatus, type PullUpdate, type RuntimeCapabilities, type RuntimeEndpoint, type RuntimeListing, type RuntimeModel } from './runtime';

export interface AdapterOptions {
  readonly apiKey?: string;
  readonly timeoutMs?: number;
  readonly idleTimeoutMs?: number;
}

/** A size or count the runtime reports, where 0 means "unknown" (llama.cpp router's n_ctx). */
function positive(n: number | undefined): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

function time(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  // Ollama reports "0001-01-01T00:00:00Z" for "never"; far-future dates mean "kept forever".
  return Number.isFinite(t) && t > 0 ? t : undefined;
}

export class OllamaRuntime implements ModelRuntime {
  readonly capabilities: RuntimeCapabilities = baseCapabilities('ollama');
  readonly client: OllamaClient;

  constructor(
    readonly endpoint: RuntimeEndpoint,
    options: AdapterOptions = {},
  ) {
    this.client = new OllamaClient(endpoint.baseUrl, options);
  }

  async list(): Promise<RuntimeListing> {
    const [version, tags, ps] = await Promise.all([this.client.version().catch(() => undefined), this.client.tags(), this.client.ps()]);
    const loaded = new Map<string, LoadedState>();
    for (const p of ps) {
      const vram = p.size_vram ?? 0;
      const ctx = positive(p.context_length);
      loaded.set(p.name, { ramBytes: Math.max(0, p.size - vram), vramBytes: vram, expiresAt: time(p.expires_at), ...(ctx ? { contextLength: ctx } : {}) });
    }
    return { version, models: tags.map((m) => this.toModel(m, loaded.get(m.name))) };
  }

  private toModel(m: OllamaModel, loaded: LoadedState | undefined): RuntimeModel {
    const d = m.details ?? {};
    return {
      name: m.name,
      sizeBytes: m.size,
      digest: /^(sha256:)?[0-9a-f]{64}$/.test(m.digest) ? m.digest : undefined,
      family: d.family || undefined,
      parameterSize: d.parameter_size || undefined,
      quantization: d.quantization_level || undefined,
      format: d.format || undefined,
      modifiedAt: time(m.modified_at),
      loaded,
    };
  }

  pull(name: string, onProgress: (u: PullUpdate) => void, signal?: AbortSignal): Promise<void> {
    return this.client.pull(name, (p) => onProgress({ status: p.status ?? '', completed: p.completed, total: p.total, digest: p.digest }), signal);
  }

  delete(name: string): Promise<void> {
    return this.client.delete(name);
  }

  load(name: string, keepAlive?: string | number): Promise<void> {
    return this.client.load(name, keepAlive);
  }

  unload(name: string): Promise<void> {
    return this.client.unload(name);
  }

  async modelInfo(name: string): Promise<Readonly<Record<string, unknown>> | undefined> {
    return (await this.client.show(name)).model_info;
  }

  async modelfile(name: string): Promise<string | undefined> {
    return (await this.client.show(name)).modelfile;
  }

  async generate(name: string, prompt: string, options: GenerateOptions = {}): Promise<GenerateOutcome> {
    const t0 = performance.now();
    const onChunk = options.onChunk;
    const r = await this.client.generate(name, prompt, { maxTokens: options.maxTokens, signal: options.signal, onText: onChunk ? () => onChunk() : undefined, onThinking: onChunk ? () => onChunk() : undefined });
    return {
      text: r.text,
      thinking: r.thinking,
      promptTokens: r.prompt_eval_count,
      outputTokens: r.eval_count,
      durationMs: r.total_duration ? r.total_duration / 1e6 : performance.now() - t0,
      promptMs: r.prompt_eval_duration !== undefined ? r.prompt_eval_duration / 1e6 : undefined,
      generationMs: r.eval_duration !== undefined ? r.eval_duration / 1e6 : undefined,
    };
  }
}

/** Servers that keep the models they list in memory (one process per model). */
const servesLoaded = new Set(['llamacpp', 'vllm', 'tgi']);

/** How often a router's model status is read while waiting for a load or unload. */
const ROUTER_POLL_MS = 250;

export class OpenAiRuntime implements ModelRuntime {
  private caps: RuntimeCapabilities = baseCapabilities('openai');
  readonly client: OpenAiClient;
  private readonly waitMs: number;

  constructor(
    readonly endpoint: RuntimeEndpoint,
    options: AdapterOptions = {},
  ) {
    this.client = new OpenAiClient(endpoint.baseUrl, { ...options, displayName: endpoint.name });
    this.waitMs = options.idleTimeoutMs ?? 60_000;
  }

  /** Load and unload appear once a listing found a llama.cpp router, which has endpoints for them. */
  get capabilities(): RuntimeCapabilities {
    return this.caps;
  }

  async list(): Promise<RuntimeListing> {
    const kind = this.endpoint.kind;
    const [models, props, tgi, lmStudio] = await Promise.all([
      this.client.models(),
      kind === 'llamacpp' ? this.client.props().catch(() => undefined) : Promise.resolve(undefined),
      kind === 'tgi' ? this.client.tgiInfo().catch(() => undefined) : Promise.resolve(undefined),
      kind === 'lmstudio' ? this.client.lmStudioModels().catch(() => undefined) : Promise.resolve(undefined),
    ]);
    if (lmStudio) return { models: lmStudio.map(lmStudioModel) };
    // llama-server without -m serves many models, each with a status, and answers /props as "router".
    const router = props?.role === 'router' || models.some((m) => m.status !== undefined);
    this.caps = { ...this.caps, load: router, unload: router };
    const loaded = servesLoaded.has(this.endpoint.kind);
    // The router's own n_ctx is a dummy 0; each loaded model's context comes from its own /props.
    const nCtx = router ? undefined : positive(props?.default_generation_settings?.n_ctx);
    const modelCtx = new Map<string, number>();
    if (router) {
      await Promise.all(
        models
          .filter((m) => m.status?.value === 'loaded')
          .map(async (m) => {
            const n = positive((await this.client.props(m.id).catch(() => undefined))?.default_generation_settings?.n_ctx);
            if (n) modelCtx.set(m.id, n);
          }),
      );
    }
    const tgiContext = positive(tgi?.max_total_tokens);
    return {
      version: props?.build_info ?? tgi?.version,
      info: tgi ? tgiFacts(tgi) : undefined,
      models: models.map((m) => {
        const meta = m.meta ?? {};
        return {
          name: m.id,
          sizeBytes: meta.size,
          parameterCount: meta.n_params,
          contextLength: modelCtx.get(m.id) ?? nCtx ?? positive(meta.n_ctx_train) ?? positive(m.max_model_len) ?? tgiContext,
          format: m.id.toLowerCase().endsWith('.gguf') || this.endpoint.kind === 'llamacpp' ? 'gguf' : undefined,
          loaded: (router ? m.status?.value === 'loaded' : loaded) ? {} : undefined,
          status: routerStatus(m.status),
        } satisfies RuntimeModel;
      }),
    };
  }

  /** Loads through a llama.cpp router and waits (bounded) until its status says loaded or failed. */
  async load(name: string): Promise<void> {
    await this.client.routerAction('load', name);
    const s = await this.waitForStatus(name, (v) => v !== 'loading' && v !== 'unloaded', 'load');
    if (s?.failed || s?.value !== 'loaded') throw new RuntimeError(`Loading ${name} failed: ${this.endpoint.name} reports it ${describeStatus(s)}. Its log says why.`, 'runtime');
  }

  async unload(name: string): Promise<void> {
    await this.client.routerAction('unload', name);
    await this.waitForStatus(name, (v) => v !== 'loaded' && v !== 'loading', 'unload');
  }

  private async waitForStatus(name: string, done: (value: string) => boolean, what: string): Promise<{ value: string; failed?: boolean; exit_code?: number } | undefined> {
    const deadline = Date.now() + this.waitMs;
    // The router flips the status to "loading" only once its child process is spawned.
    let s = (await this.client.models()).find((m) => m.id === name)?.status;
    while (s && !s.failed && !done(s.value)) {
      if (Date.now() > deadline) throw new RuntimeError(`${name} did not ${what} within ${Math.round(this.waitMs / 1000)} s on ${this.endpoint.name} (still ${s.value}).`, 'timeout');
      await new Promise((r) => setTimeout(r, ROUTER_POLL_MS));
      s = (await this.client.models()).find((m) => m.id === name)?.status;
    }
    return s;
  }

  /** Streamed when the caller follows the chunks (a benchmark's time to first token), else one answer. */
  async generate(name: string, prompt: string, options: GenerateOptions = {}): Promise<GenerateOutcome> {
    const { onChunk } = options;
    const r = onChunk
      ? await this.client.stream(name, prompt, { maxTokens: options.maxTokens, signal: options.signal, onText: () => onChunk() })
      : await this.client.complete(name, prompt, { maxTokens: options.maxTokens, signal: options.signal });
    return { text: r.text, promptTokens: r.promptTokens, outputTokens: r.completionTokens, durationMs: r.durationMs, promptMs: r.promptMs, generationMs: r.generationMs };
  }
}

/** TGI's limits, for the runtime's tooltip. */
function tgiFacts(i: TgiInfo): [string, string][] {
  const rows: [string, number | string | undefined][] = [
    ['Model', i.model_id],
    ['Max total tokens', i.max_total_tokens],
    ['Max input tokens', i.max_input_tokens ?? i.max_input_length],
    ['Max concurrent requests', i.max_concurrent_requests],
  ];
  return rows.filter((r): r is [string, number | string] => r[1] !== undefined && r[1] !== '').map(([k, v]) => [k, String(v)]);
}

/** An LM Studio model: loaded or not as its state says, with the context it can take and the one it was loaded with. */
function lmStudioModel(m: LmStudioModel): RuntimeModel {
  const loaded = m.state === 'loaded';
  return {
    name: m.id,
    family: m.arch || undefined,
    quantization: m.quantization || undefined,
    format: m.compatibility_type || undefined,
    contextLength: positive(m.max_context_length),
    loaded: loaded ? (positive(m.loaded_context_length) ? { contextLength: m.loaded_context_length } : {}) : undefined,
  };
}

/** A router model's status worth showing: anything but plain loaded or unloaded, and every failure. */
function routerStatus(s: { value: string; failed?: boolean; exit_code?: number } | undefined): ModelStatus | undefined {
  if (!s || ((s.value === 'loaded' || s.value === 'unloaded') && !s.failed)) return undefined;
  return { value: s.failed ? 'failed' : s.value, failed: s.failed || undefined, detail: s.failed && s.exit_code !== undefined ? `its process exited with code ${s.exit_code}` : undefined };
}

function describeStatus(s: { value: string; failed?: boolean; exit_code?: number } | undefined): string {
  if (!s) return 'no longer listed';
  return s.failed ? `failed${s.exit_code !== undefined ? ` (exit code ${s.exit_code})` : ''}` : s.value;
}

export function createRuntime(endpoint: RuntimeEndpoint, options: AdapterOptions = {}): ModelRuntime {
  switch (endpoint.api) {
    case 'ollama':
      return new OllamaRuntime(endpoint, options);
    case 'gguf':
      return new GgufFolderRuntime(endpoint);
    default:
      return new OpenAiRuntime(endpoint, options);
  }
}
