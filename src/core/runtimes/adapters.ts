// Adapts each runtime client to the one ModelRuntime interface the Models view speaks: Ollama's
// REST API, OpenAI-compatible servers, and folders of GGUF files.
import { GgufFolderRuntime } from './ggufFolder';
import { OllamaClient, type OllamaModel } from './ollama';
import { OpenAiClient } from './openai';
import type { GenerateOutcome, LoadedState, ModelRuntime, PullUpdate, RuntimeCapabilities, RuntimeEndpoint, RuntimeListing, RuntimeModel } from './runtime';

export interface AdapterOptions {
  readonly apiKey?: string;
  readonly timeoutMs?: number;
  readonly idleTimeoutMs?: number;
}

function time(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  // Ollama reports "0001-01-01T00:00:00Z" for "never"; far-future dates mean "kept forever".
  return Number.isFinite(t) && t > 0 ? t : undefined;
}

export class OllamaRuntime implements ModelRuntime {
  readonly capabilities: RuntimeCapabilities = { pull: true, delete: true, load: true, unload: true, generate: true };
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
      loaded.set(p.name, { ramBytes: Math.max(0, p.size - vram), vramBytes: vram, expiresAt: time(p.expires_at) });
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

  async generate(name: string, prompt: string, options: { maxTokens?: number; signal?: AbortSignal } = {}): Promise<GenerateOutcome> {
    const t0 = performance.now();
    const r = await this.client.generate(name, prompt, { maxTokens: options.maxTokens, signal: options.signal });
    return {
      text: r.text,
      promptTokens: r.prompt_eval_count,
      outputTokens: r.eval_count,
      durationMs: r.total_duration ? r.total_duration / 1e6 : performance.now() - t0,
    };
  }
}

/** Servers that keep the models they list in memory (one process per model). */
const servesLoaded = new Set(['llamacpp', 'vllm', 'tgi']);

export class OpenAiRuntime implements ModelRuntime {
  readonly capabilities: RuntimeCapabilities = { pull: false, delete: false, load: false, unload: false, generate: true };
  readonly client: OpenAiClient;

  constructor(
    readonly endpoint: RuntimeEndpoint,
    options: AdapterOptions = {},
  ) {
    this.client = new OpenAiClient(endpoint.baseUrl, { ...options, displayName: endpoint.name });
  }

  async list(): Promise<RuntimeListing> {
    const [models, props] = await Promise.all([
      this.client.models(),
      this.endpoint.kind === 'llamacpp' ? this.client.props().catch(() => undefined) : Promise.resolve(undefined),
    ]);
    const loaded = servesLoaded.has(this.endpoint.kind);
    const nCtx = props?.default_generation_settings?.n_ctx;
    return {
      version: props?.build_info,
      models: models.map((m) => {
        const meta = m.meta ?? {};
        const maxLen = (m as { max_model_len?: unknown }).max_model_len;
        return {
          name: m.id,
          sizeBytes: meta.size,
          parameterCount: meta.n_params,
          contextLength: nCtx ?? meta.n_ctx_train ?? (typeof maxLen === 'number' ? maxLen : undefined),
          format: m.id.toLowerCase().endsWith('.gguf') || this.endpoint.kind === 'llamacpp' ? 'gguf' : undefined,
          loaded: loaded ? {} : undefined,
        } satisfies RuntimeModel;
      }),
    };
  }

  async generate(name: string, prompt: string, options: { maxTokens?: number; signal?: AbortSignal } = {}): Promise<GenerateOutcome> {
    const r = await this.client.complete(name, prompt, options);
    return { text: r.text, promptTokens: r.promptTokens, outputTokens: r.completionTokens, durationMs: r.durationMs };
  }
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
