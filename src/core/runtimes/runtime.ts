// The one interface the Models view speaks to every runtime: Ollama, OpenAI-compatible servers
// (llama.cpp server, vLLM, LocalAI, LM Studio, TGI) and folders of GGUF files.
import type { z } from 'zod';
import type { runtimeKindSchema } from '../registry/repositories';

export type ModelRuntimeKind = z.infer<typeof runtimeKindSchema>;
type RuntimeApi = 'ollama' | 'openai' | 'gguf';

export const runtimeKindLabels: Record<ModelRuntimeKind, string> = {
  ollama: 'Ollama',
  llamacpp: 'llama.cpp server',
  vllm: 'vLLM',
  tgi: 'Text Generation Inference',
  localai: 'LocalAI',
  lmstudio: 'LM Studio',
  openai: 'OpenAI-compatible',
  gguf: 'GGUF files',
  other: 'LLM runtime',
};

/** Where a runtime answers, and how it was found. */
export interface RuntimeEndpoint {
  /** Stable id: `${kind}@${baseUrl}` for servers, `gguf@${folder}` for folders. */
  readonly id: string;
  readonly kind: ModelRuntimeKind;
  readonly api: RuntimeApi;
  /** Display name: the container's name, the user's label or the folder. */
  readonly name: string;
  /** http://127.0.0.1:11434 for servers; an absolute folder path for GGUF folders. */
  readonly baseUrl: string;
  readonly source: 'container' | 'user' | 'folder';
  readonly containerId?: string;
  /** True when the user said this endpoint needs an API key (kept in SecretStorage under the endpoint id). */
  readonly requiresKey?: boolean;
}

export interface LoadedState {
  readonly ramBytes?: number;
  readonly vramBytes?: number;
  /** When the runtime itself will unload the model (epoch ms), as Ollama's /api/ps reports. */
  readonly expiresAt?: number;
  /** The context the model was loaded with (Ollama's /api/ps context_length), which may be less than it was trained for. */
  readonly contextLength?: number;
}

/**
 * What a runtime that manages its models says of one, beyond in memory or not: llama.cpp's router
 * ("loading", "sleeping", "failed"), LM Studio's "not-loaded". Shown as is; undefined for the others.
 */
export interface ModelStatus {
  readonly value: string;
  /** A load that failed (llama.cpp router: the model's process exited with this code). */
  readonly failed?: boolean;
  readonly detail?: string;
}

export interface RuntimeModel {
  /** The name the runtime knows it by ("llama3.2:1b" for Ollama, the model id for OpenAI-compatible servers, the file for GGUF). */
  readonly name: string;
  readonly sizeBytes?: number;
  readonly digest?: string;
  readonly family?: string;
  /** As the runtime reports it ("1.2B"); parameterCount when it is known exactly. */
  readonly parameterSize?: string;
  readonly parameterCount?: number;
  readonly quantization?: string;
  readonly contextLength?: number;
  readonly format?: string;
  readonly modifiedAt?: number;
  /** Absolute path of the model file when the extension can read it (GGUF folders). */
  readonly file?: string;
  /** Present when the model is in memory. */
  readonly loaded?: LoadedState;
  /** The runtime's own word on the model's state, where it reports one. */
  readonly status?: ModelStatus;
  /** Why the metadata could not be read (a truncated or foreign file in a GGUF folder). */
  readonly problem?: string;
}

export interface RuntimeListing {
  readonly version?: string;
  /** Facts about the server itself for its tooltip ("Max total tokens: 4096"). */
  readonly info?: readonly (readonly [string, string])[];
  readonly models: readonly RuntimeModel[];
}

export interface PullUpdate {
  readonly status: string;
  readonly completed?: number;
  readonly total?: number;
  readonly digest?: string;
}

export interface GenerateOutcome {
  /** The answer, without the reasoning. */
  readonly text: string;
  /** The reasoning a thinking model streamed apart from the answer (Ollama's `thinking`). */
  readonly thinking?: string;
  readonly promptTokens?: number;
  readonly outputTokens?: number;
  readonly durationMs: number;
  /** The runtime's own time for the prompt and for the output (Ollama's prompt_eval_duration and eval_duration). */
  readonly promptMs?: number;
  readonly generationMs?: number;
}

/** What generate takes: a bound, cancellation, and a callback per streamed chunk (benchmarks time them). */
export interface GenerateOptions {
  readonly maxTokens?: number;
  readonly signal?: AbortSignal;
  readonly onChunk?: () => void;
}

export interface RuntimeCapabilities {
  readonly pull: boolean;
  readonly delete: boolean;
  readonly load: boolean;
  readonly unload: boolean;
  readonly generate: boolean;
  /** Names the file it reads a model from (Ollama's Modelfile), so the file may be found through its container's mounts. */
  readonly modelfile: boolean;
}

const noCapabilities: RuntimeCapabilities = { pull: false, delete: false, load: false, unload: false, generate: false, modelfile: false };

/** What a runtime of this API can do before a listing says more (a llama.cpp router adds load and unload). */
export function baseCapabilities(api: RuntimeApi): RuntimeCapabilities {
  if (api === 'ollama') return { pull: true, delete: true, load: true, unload: true, generate: true, modelfile: true };
  return { ...noCapabilities, generate: api !== 'gguf' };
}

/** What a runtime can do: as its last listing found, or before one what its API always allows. */
export function capabilitiesOf(state: { readonly endpoint: RuntimeEndpoint; readonly capabilities?: RuntimeCapabilities }): RuntimeCapabilities {
  return state.capabilities ?? baseCapabilities(state.endpoint.api);
}

/**
 * Whether a model's file may be hashed on this machine: a GGUF folder's file, or one its runtime
 * names from a container of this engine (a model not listed yet included: the check says why not).
 */
export function canVerify(state: { readonly endpoint: RuntimeEndpoint; readonly capabilities?: RuntimeCapabilities }, model: RuntimeModel | undefined): boolean {
  return !!model?.file || (capabilitiesOf(state).modelfile && !!state.endpoint.containerId);
}

export interface ModelRuntime {
  readonly endpoint: RuntimeEndpoint;
  /** May grow after a listing: a llama.cpp server found to be a router can load and unload. */
  readonly capabilities: RuntimeCapabilities;
  list(signal?: AbortSignal): Promise<RuntimeListing>;
  pull?(name: string, onProgress: (u: PullUpdate) => void, signal?: AbortSignal): Promise<void>;
  delete?(name: string): Promise<void>;
  load?(name: string, keepAlive?: string | number): Promise<void>;
  unload?(name: string): Promise<void>;
  generate?(name: string, prompt: string, options?: GenerateOptions): Promise<GenerateOutcome>;
  /** The Modelfile text that names the model's file (Ollama's show). */
  modelfile?(name: string): Promise<string | undefined>;
  /** The model's GGUF metadata as the runtime reports it (Ollama's show model_info). */
  modelInfo?(name: string): Promise<Readonly<Record<string, unknown>> | undefined>;
}

/** Splits "name:tag" the way Ollama does ("library/x:q4" → ["library/x", "q4"]); no tag means "latest". */
export function splitModelName(full: string): { name: string; tag: string } {
  const slash = full.lastIndexOf('/');
  const colon = full.lastIndexOf(':');
  if (colon > slash && colon > 0) return { name: full.slice(0, colon), tag: full.slice(colon + 1) || 'latest' };
  return { name: full, tag: 'latest' };
}
