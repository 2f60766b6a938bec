// Fills a stack file's `auto` values (gpu, threads, GPU layers, context size) from the detected
// hardware and what is known of each runtime's model, with a one-line reason per value.
//
// The rules, kept simple enough to state in a hover:
// - gpu auto: every NVIDIA GPU when there is one, else none (CPU only). An absent `gpu` is "none":
//   containers get no GPU unless asked, as in Docker.
// - threads auto (llama.cpp, LocalAI): cores − 1 (one left for the system), at least 1, at most 16
//   (token generation is memory-bound; more threads only contend). Other kinds choose their own.
// - contextSize auto: the model's trained context (8192 when unknown, 4096 on machines under 8 GB RAM),
//   capped by the memory the KV cache can have, rounded down to a power of two, at least 2048 (but
//   never above a trained context smaller than that). The KV cache gets: with a GPU, the usable VRAM
//   (90 % of free) left after the weights; when the weights do not fit in VRAM, at most half the usable
//   VRAM (the rest holds layers) and no more than VRAM + RAM left after the weights; CPU only, the usable
//   RAM (90 % of free) left after the weights. Without the model's size there is no cap: the default.
// - gpuLayers auto (llama.cpp): 0 without a GPU. With one: layers = min(all, ⌊(usable VRAM − KV cache
//   for the chosen context) / (model size / layers)⌋); when every layer fits, 999 (llama.cpp's "all",
//   which also moves the output layer). Without the model's size or the VRAM size: 999, and the reason
//   says to set a number if it does not fit.
// - Numbers written in the file are kept; a reason is added only where one is worth a look.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type GgufInfo, type GgufValue, readGgufInfo } from '../runtimes/gguf';
import { commandArgs, parseVolume } from './normalize';
import type { GpuSpec, RuntimeSpec, StackFile, StackRuntimeKind } from './schema';
import type { AutoExplanation, GpuInfo, HardwareInfo, ResolvedGpu, ResolvedParams, ResolvedStack } from './types';

/** What is known of the model a runtime serves; every field optional. */
export interface ModelFacts {
  /** Repeating layers (GGUF block_count). */
  readonly layers?: number;
  /** Weights on disk, all split parts together. */
  readonly sizeBytes?: number;
  /** Context length the model was trained for. */
  readonly trainedContext?: number;
  readonly name?: string;
  /** f16 KV-cache bytes per token of context, from the attention shape; estimated when absent. */
  readonly kvBytesPerToken?: number;
}

interface ResolveOptions {
  readonly modelInfo?: (service: string) => ModelFacts | undefined;
}

/** llama.cpp's --n-gpu-layers for "every layer, output included". */
export const ALL_GPU_LAYERS = 999;
const MIN_CONTEXT = 2048;
const DEFAULT_CONTEXT = 8192;
const SMALL_MACHINE_CONTEXT = 4096;
const MAX_AUTO_THREADS = 16;
const GIB = 1024 ** 3;
const SMALL_MACHINE_BYTES = 8 * GIB;
/** Share of free memory a model may plan on; the rest covers compute buffers and other processes. */
const USABLE_SHARE = 0.9;
/** f16 K and V with 8 KV heads of 128 (Llama 3, Mistral, most GQA models): 2 × 2 bytes × 1024 per layer. */
const KV_BYTES_PER_LAYER_TOKEN = 4096;
/** When not even the layer count is known: a 7–8B GQA model. */
const KV_BYTES_PER_TOKEN_FALLBACK = 128 * 1024;

const KIND_NAMES: Record<StackRuntimeKind, string> = {
  ollama: 'Ollama',
  llamacpp: 'llama.cpp',
  vllm: 'vLLM',
  tgi: 'TGI',
  localai: 'LocalAI',
  other: 'An image of kind other',
};

function gbNumber(n: number): string {
  const g = n / GIB;
  if (g >= 10) return String(Math.round(g));
  if (g >= 1) return String(Math.round(g * 10) / 10);
  return String(Math.round(g * 100) / 100);
}

/** "16 GB", "7.5 GB", "0.49 GB"; below 0.1 GB in MB or KB (binary units, as OSes show memory). */
export function formatBytesGB(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '0 GB';
  if (n >= 0.1 * GIB) return `${gbNumber(n)} GB`;
  if (n >= 1024 * 1024) return `${Math.round(n / (1024 * 1024))} MB`;
  return `${Math.max(1, Math.round(n / 1024))} KB`;
}

/** "8 of 16 GB", or with a unit on each side when the smaller one needs another unit. */
function ofTotal(part: number, total: number): string {
  return part >= 0.1 * GIB ? `${gbNumber(part)} of ${formatBytesGB(total)}` : `${formatBytesGB(part)} of ${formatBytesGB(total)}`;
}

function pow2Floor(n: number): number {
  return n < 1 ? 0 : 2 ** Math.floor(Math.log2(n));
}

const positive = (v: number | undefined): number | undefined => (v !== undefined && Number.isFinite(v) && v > 0 ? v : undefined);

function cleanFacts(f: ModelFacts | undefined): ModelFacts {
  if (!f) return {};
  const layers = positive(f.layers);
  return {
    layers: layers === undefined ? undefined : Math.floor(layers),
    sizeBytes: positive(f.sizeBytes),
    trainedContext: positive(f.trainedContext) === undefined ? undefined : Math.floor(f.trainedContext!),
    name: f.name,
    kvBytesPerToken: positive(f.kvBytesPerToken),
  };
}

function resolveGpu(spec: GpuSpec | undefined, hw: HardwareInfo): ResolvedGpu {
  if (spec === undefined || spec === 'none') return { kind: 'none' };
  if (spec === 'all') return { kind: 'all' };
  if (spec === 'auto') return hw.gpus.length > 0 ? { kind: 'all' } : { kind: 'none' };
  if (spec.devices) return { kind: 'devices', devices: [...spec.devices] };
  if (spec.count !== undefined) return { kind: 'count', count: spec.count };
  return { kind: 'all' };
}

/** The detected GPUs a container with this GPU request gets (Docker's count takes the first ones). */
function gpusInUse(gpu: ResolvedGpu, hw: HardwareInfo): GpuInfo[] {
  const sorted = [...hw.gpus].sort((a, b) => a.index - b.index);
  switch (gpu.kind) {
    case 'none':
      return [];
    case 'all':
      return sorted;
    case 'count':
      return sorted.slice(0, gpu.count);
    case 'devices':
      return sorted.filter((g) => gpu.devices.includes(String(g.index)) || gpu.devices.includes(g.uuid));
  }
}

function describeGpus(gpus: readonly GpuInfo[]): string {
  const names = [...new Set(gpus.map((g) => g.name))];
  const list = names.map((n) => {
    const k = gpus.filter((g) => g.name === n).length;
    return k > 1 ? `${k}× ${n}` : n;
  });
  const total = gpus.reduce((s, g) => s + g.memoryTotal, 0);
  const count = gpus.length === 1 ? '1 NVIDIA GPU' : `${gpus.length} NVIDIA GPUs`;
  return `${count} found (${list.join(', ')}${total > 0 ? `, ${formatBytesGB(total)} VRAM` : ''})`;
}

/** Memory figures for one runtime: what its container may plan on. */
interface Budget {
  readonly gpuInUse: boolean;
  readonly gpus: readonly GpuInfo[];
  readonly vramFree: number;
  readonly vramTotal: number;
  /** Usable VRAM (share of free); 0 when unknown. */
  readonly vram: number;
  /** Usable RAM (share of free). */
  readonly ram: number;
  /** "8 of 16 GB VRAM free", "… on 2 GPUs". */
  readonly vramText: string;
}

function budgetOf(gpu: ResolvedGpu, hw: HardwareInfo): Budget {
  const gpus = gpusInUse(gpu, hw);
  const vramFree = gpus.reduce((s, g) => s + g.memoryFree, 0);
  const vramTotal = gpus.reduce((s, g) => s + g.memoryTotal, 0);
  const on = gpus.length > 1 ? ` on ${gpus.length} GPUs` : '';
  return {
    gpuInUse: gpu.kind !== 'none',
    gpus,
    vramFree,
    vramTotal,
    vram: vramTotal > 0 ? vramFree * USABLE_SHARE : 0,
    ram: Math.max(0, hw.freeMemoryBytes) * USABLE_SHARE,
    vramText: `${ofTotal(vramFree, vramTotal)} VRAM free${on}`,
  };
}

/** Why VRAM cannot be planned on, for a runtime that has a GPU request. */
function vramUnknownReason(b: Budget, hw: HardwareInfo): string {
  if (b.gpus.length === 0) return hw.gpuNote ? `GPU requested but none detected (${hw.gpuNote.replace(/\.$/, '')})` : 'GPU requested but none detected';
  return 'VRAM size unknown (nvidia-smi did not say)';
}

export function kvPerToken(f: ModelFacts): { bytes: number; estimated: boolean } {
  if (f.kvBytesPerToken) return { bytes: f.kvBytesPerToken, estimated: false };
  if (f.layers) return { bytes: f.layers * KV_BYTES_PER_LAYER_TOKEN, estimated: true };
  return { bytes: KV_BYTES_PER_TOKEN_FALLBACK, estimated: true };
}

interface ContextChoice {
  readonly value: number;
  readonly text: string;
}

/** The context rule (see the top of the file). */
function chooseContext(f: ModelFacts, b: Budget, hw: HardwareInfo): ContextChoice {
  const small = hw.memoryBytes < SMALL_MACHINE_BYTES;
  const fallback = small ? SMALL_MACHINE_CONTEXT : DEFAULT_CONTEXT;
  const fallbackWhy = small ? `the default with ${formatBytesGB(hw.memoryBytes)} RAM, under 8 GB` : 'the default';
  const trained = f.trainedContext;
  if (trained !== undefined && trained < MIN_CONTEXT) return { value: trained, text: `trained for ${trained} tokens → ctx ${trained}` };
  const target = trained ?? fallback;
  const trainedText = trained !== undefined ? `trained for ${trained}` : undefined;

  const W = f.sizeBytes;
  const vramUnknown = b.gpuInUse && b.vram <= 0;
  if (W === undefined || vramUnknown) {
    const why = W === undefined ? 'model size unknown' : 'VRAM size unknown';
    const value = Math.max(MIN_CONTEXT, pow2Floor(Math.min(target, fallback)));
    return { value, text: `${trainedText ? `${trainedText}, ` : ''}${why} → ctx ${value} (${fallbackWhy})` };
  }

  const kv = kvPerToken(f);
  let where: string;
  let pool: number;
  if (b.gpuInUse && W <= b.vram) {
    where = `${formatBytesGB(W)} model fits in ${b.vramText}`;
    pool = b.vram - W;
  } else if (b.gpuInUse) {
    where = `${formatBytesGB(W)} model > ${formatBytesGB(b.vram)} usable VRAM, KV cache kept within half of it`;
    pool = Math.min(b.vram / 2, b.vram + b.ram - W);
  } else {
    where = `${formatBytesGB(W)} model in ${ofTotal(hw.freeMemoryBytes, hw.memoryBytes)} RAM free`;
    pool = b.ram - W;
  }
  const room = Math.max(0, Math.floor(pool / kv.bytes));
  const capped = Math.min(target, room);
  const value = Math.max(MIN_CONTEXT, pow2Floor(capped));
  const kvText = `${formatBytesGB(kv.bytes)}/token${kv.estimated ? ' estimated' : ''}`;
  let tail: string;
  if (room < MIN_CONTEXT) tail = ' (tight: even this may not fit; the model may need a smaller quantization)';
  else if (trained !== undefined && room >= trained) tail = ` (trained context${value !== trained ? ` ${trained} rounded down` : ''})`;
  else if (trained === undefined && room >= target) tail = ` (${fallbackWhy}: trained context unknown)`;
  else tail = trainedText ? ` (memory-bound; ${trainedText})` : ' (memory-bound)';
  return { value, text: `${where}: room for ${room} tokens of KV cache (${kvText}) → ctx ${value}${tail}` };
}

interface LayersChoice {
  readonly value: number;
  readonly text: string;
}

/** The GPU-layer rule for llama.cpp (see the top of the file); `ctx` is the context actually used. */
function chooseGpuLayers(f: ModelFacts, b: Budget, hw: HardwareInfo, ctx: number | undefined): LayersChoice {
  if (!b.gpuInUse) return { value: 0, text: `${hw.gpus.length ? 'no GPU given to the container' : 'no NVIDIA GPU'} → CPU only, 0 layers on GPU` };
  const ctxText = ctx !== undefined ? `, ctx ${ctx}` : '';
  if (b.vram <= 0) {
    return { value: ALL_GPU_LAYERS, text: `${vramUnknownReason(b, hw)} → all layers on GPU (${ALL_GPU_LAYERS})${ctxText}; set a number if the model does not fit` };
  }
  const L = f.layers;
  const W = f.sizeBytes;
  if (L === undefined || W === undefined) {
    return {
      value: ALL_GPU_LAYERS,
      text: `${b.vramText}, model size unknown → all layers on GPU (${ALL_GPU_LAYERS})${ctxText}; set a number if the model does not fit`,
    };
  }
  // Without a context (a kind that takes none) the KV cache is the runtime's default: plan for the default.
  const kv = kvPerToken(f);
  const kvBytes = (ctx ?? DEFAULT_CONTEXT) * kv.bytes;
  const perLayer = W / L;
  const fit = Math.floor(Math.max(0, b.vram - kvBytes) / perLayer);
  const n = Math.max(0, Math.min(L, fit));
  const detail = `${formatBytesGB(W)} model, ${formatBytesGB(perLayer)} per layer, ${formatBytesGB(kvBytes)} KV cache${kv.estimated ? ' estimated' : ''}`;
  const value = n === L ? ALL_GPU_LAYERS : n;
  const all = n === L ? ` (${ALL_GPU_LAYERS}: all, output layer included)` : '';
  return { value, text: `${b.vramText} → ${n} of ${L} layers on GPU${all}${ctxText} (${detail})` };
}

function chooseThreads(cores: number): { value: number; text: string } {
  const c = Math.max(1, Math.floor(cores));
  const value = Math.min(MAX_AUTO_THREADS, Math.max(1, c - 1));
  if (c === 1) return { value, text: '1 core → 1 thread' };
  const capped = c - 1 > MAX_AUTO_THREADS ? `; at most ${MAX_AUTO_THREADS}: generation is memory-bound beyond that` : '';
  return { value, text: `${c} cores → ${value} thread${value === 1 ? '' : 's'} (one left for the system${capped})` };
}

const THREAD_KINDS: readonly StackRuntimeKind[] = ['llamacpp', 'localai'];
const CONTEXT_KINDS: readonly StackRuntimeKind[] = ['llamacpp', 'ollama', 'vllm', 'tgi', 'localai'];

function leftToRuntime(kind: StackRuntimeKind, field: 'threads' | 'gpuLayers' | 'contextSize'): string {
  if (kind === 'other') return 'kind other → left to the image';
  if (kind === 'ollama' && field === 'threads') return 'Ollama sets threads per model (num_thread) → left to the runtime';
  if (kind === 'ollama' && field === 'gpuLayers') return 'Ollama offloads layers itself (num_gpu per model) → left to the runtime';
  if (kind === 'localai' && field === 'gpuLayers') return "LocalAI sets GPU layers per model (gpu_layers in the model's config) → left to the runtime";
  if (field === 'gpuLayers') return `${KIND_NAMES[kind]} keeps the whole model on the GPU → no layer count`;
  return `${KIND_NAMES[kind]} takes no ${field === 'threads' ? 'thread count' : 'context size'} flag → left to the runtime`;
}

function resolveRuntime(name: string, spec: RuntimeSpec, hw: HardwareInfo, facts: ModelFacts, out: AutoExplanation[]): ResolvedParams {
  const explain = (field: AutoExplanation['field'], text: string) => {
    const p = field === 'gpu' ? ['runtimes', name, 'gpu'] : ['runtimes', name, 'params', field];
    out.push({ service: name, field, path: p, text });
  };
  const p = spec.params ?? {};
  const gpu = resolveGpu(spec.gpu, hw);
  if (spec.gpu === 'auto') {
    explain('gpu', hw.gpus.length ? `${describeGpus(hw.gpus)} → all GPUs` : `${(hw.gpuNote ?? 'No NVIDIA GPU found').replace(/\.$/, '')} → CPU only`);
  }
  const b = budgetOf(gpu, hw);

  let threads: number | undefined;
  if (p.threads === 'auto') {
    if (THREAD_KINDS.includes(spec.kind)) {
      const t = chooseThreads(hw.cpuCores);
      threads = t.value;
      explain('threads', t.text);
    } else explain('threads', leftToRuntime(spec.kind, 'threads'));
  } else threads = p.threads;

  let contextSize: number | undefined;
  if (p.contextSize === 'auto') {
    if (CONTEXT_KINDS.includes(spec.kind)) {
      const c = chooseContext(facts, b, hw);
      contextSize = c.value;
      explain('contextSize', c.text);
    } else explain('contextSize', leftToRuntime(spec.kind, 'contextSize'));
  } else contextSize = p.contextSize;

  let gpuLayers: number | undefined;
  if (p.gpuLayers === 'auto') {
    if (spec.kind === 'llamacpp') {
      const g = chooseGpuLayers(facts, b, hw, contextSize);
      gpuLayers = g.value;
      explain('gpuLayers', g.text);
    } else explain('gpuLayers', leftToRuntime(spec.kind, 'gpuLayers'));
  } else {
    gpuLayers = p.gpuLayers;
    // Numbers stay as written; two cases deserve a word on hover.
    if (gpuLayers !== undefined && gpuLayers > 0 && spec.kind === 'llamacpp' && !b.gpuInUse) {
      explain('gpuLayers', `no GPU given to the container → ${gpuLayers} GPU layers have no effect; set gpu: auto or all`);
    } else if (gpuLayers !== undefined && facts.layers !== undefined && gpuLayers > facts.layers) {
      explain('gpuLayers', `the model has ${facts.layers} layers: ${gpuLayers} puts all of them on GPU`);
    }
  }

  return {
    ...(threads !== undefined ? { threads } : {}),
    ...(gpuLayers !== undefined ? { gpuLayers } : {}),
    ...(contextSize !== undefined ? { contextSize } : {}),
    ...(p.parallel !== undefined ? { parallel: p.parallel } : {}),
    gpu,
  };
}

/** Every runtime's parameters with `auto` filled in, and the reason for each. Deterministic: same input, same output. */
export function resolveStack(file: StackFile, hw: HardwareInfo, o: ResolveOptions = {}): ResolvedStack {
  const params = new Map<string, ResolvedParams>();
  const explanations: AutoExplanation[] = [];
  for (const [name, spec] of Object.entries(file.runtimes ?? {})) {
    params.set(name, resolveRuntime(name, spec, hw, cleanFacts(o.modelInfo?.(name)), explanations));
  }
  return { file, params, explanations };
}

function metaNumber(v: GgufValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** Sum over layers of a per-model or per-layer (array) attention figure. */
function perLayerSum(v: GgufValue | undefined, layers: number): number | undefined {
  const n = metaNumber(v);
  if (n !== undefined) return n * layers;
  if (v && typeof v === 'object' && v.values && v.values.length) {
    const nums = v.values.map((x) => (typeof x === 'bigint' ? Number(x) : typeof x === 'number' ? x : NaN));
    return nums.every(Number.isFinite) ? nums.reduce((a, c) => a + c, 0) : undefined;
  }
  return undefined;
}

/** f16 K and V per token: 2 bytes × Σ KV heads × (key length + value length). */
function kvBytesFromGguf(info: Pick<GgufInfo, 'architecture' | 'blockCount' | 'embeddingLength' | 'metadata'>): number | undefined {
  const arch = info.architecture;
  const L = info.blockCount;
  if (!arch || !L) return undefined;
  const m = info.metadata;
  const heads = metaNumber(m.get(`${arch}.attention.head_count`));
  const kvHeadsSum = perLayerSum(m.get(`${arch}.attention.head_count_kv`) ?? m.get(`${arch}.attention.head_count`), L);
  const headDim = heads && info.embeddingLength ? info.embeddingLength / heads : undefined;
  const keyLen = metaNumber(m.get(`${arch}.attention.key_length`)) ?? headDim;
  const valLen = metaNumber(m.get(`${arch}.attention.value_length`)) ?? headDim;
  if (!kvHeadsSum || !keyLen || !valLen) return undefined;
  return 2 * kvHeadsSum * (keyLen + valLen);
}

/**
 * Layers, trained context and KV bytes per token from a model's GGUF metadata as a runtime reports
 * it (Ollama's /api/show model_info: the header's keys, arrays left empty), with its size from the
 * listing. Undefined without an architecture to read the keys under.
 */
export function modelFactsFromMetadata(kv: Readonly<Record<string, unknown>>, sizeBytes?: number): ModelFacts | undefined {
  const arch = kv['general.architecture'];
  if (typeof arch !== 'string' || !arch) return undefined;
  const value = (v: unknown): GgufValue | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : Array.isArray(v) && v.every((x) => typeof x === 'number') ? { arrayType: 0, length: v.length, values: v as number[] } : undefined);
  const metadata = new Map<string, GgufValue>();
  for (const [k, v] of Object.entries(kv)) {
    const g = value(v);
    if (g !== undefined) metadata.set(k, g);
  }
  const n = (key: string) => metaNumber(metadata.get(`${arch}.${key}`));
  const info = { architecture: arch, blockCount: n('block_count'), embeddingLength: n('embedding_length'), metadata };
  const facts: ModelFacts = { layers: info.blockCount, sizeBytes, trainedContext: n('context_length'), kvBytesPerToken: kvBytesFromGguf(info) };
  return Object.fromEntries(Object.entries(facts).filter(([, v]) => v !== undefined)) as ModelFacts;
}

const SPLIT_NAME = /-(\d{5})-of-(\d{5})\.gguf$/i;

/**
 * Layers, size, trained context and KV bytes per token of a GGUF file, from its header. A split
 * model ("…-00001-of-00003.gguf") counts all its parts (the metadata is read from the first part);
 * undefined when the file cannot be read as GGUF. The path comes from a stack file, so the header is
 * read asynchronously and only from a regular file, within readGgufInfo's bounds.
 */
export async function modelFactsFromGguf(file: string): Promise<ModelFacts | undefined> {
  let info: GgufInfo;
  const split = SPLIT_NAME.exec(file);
  const partName = (i: number) => file.replace(SPLIT_NAME, `-${String(i).padStart(5, '0')}-of-${split![2]}.gguf`);
  const size = (f: string) => fs.promises.stat(f).then((st) => st.size, () => undefined);
  try {
    const first = split && Number(split[1]) !== 1 ? partName(1) : file;
    info = await readGgufInfo((await size(first)) !== undefined ? first : file);
  } catch {
    return undefined;
  }
  let sizeBytes: number | undefined = info.fileSize;
  const parts = metaNumber(info.metadata.get('split.count')) ?? (split ? Number(split[2]) : 1);
  if (parts > 1) {
    // A missing part makes the size a guess: none then. One part at a time: the count is the file's word.
    let sum: number | undefined = split ? 0 : undefined;
    for (let i = 1; i <= parts && sum !== undefined; i++) {
      const n = await size(partName(i));
      sum = n === undefined ? undefined : sum + n;
    }
    sizeBytes = sum;
  }
  const facts: ModelFacts = {
    layers: info.blockCount,
    sizeBytes,
    trainedContext: info.contextLength,
    name: info.name,
    kvBytesPerToken: kvBytesFromGguf(info),
  };
  return Object.fromEntries(Object.entries(facts).filter(([, v]) => v !== undefined)) as ModelFacts;
}

/**
 * The facts of every llama.cpp runtime's GGUF file in a stack file, read in parallel beforehand, as
 * the modelInfo that resolveStack asks synchronously.
 */
export async function stackModelInfo(file: StackFile, stackDir: string): Promise<(service: string) => ModelFacts | undefined> {
  const facts = new Map<string, ModelFacts | undefined>();
  await Promise.all(
    Object.keys(file.runtimes ?? {}).map(async (service) => {
      const gguf = ggufPathForService(file, service, stackDir);
      if (gguf) facts.set(service, await modelFactsFromGguf(gguf));
    }),
  );
  return (service) => facts.get(service);
}

/** The model path inside the container: `-m`/`--model` in the command, else LLAMA_ARG_MODEL, else an absolute model entry. */
function containerModelPath(spec: RuntimeSpec): string | undefined {
  const args = commandArgs(spec.command);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if ((a === '-m' || a === '--model') && i + 1 < args.length) return args[i + 1];
    const eq = /^(?:-m|--model)=(.+)$/.exec(a);
    if (eq) return eq[1];
  }
  const env = spec.env?.LLAMA_ARG_MODEL;
  if (typeof env === 'string' && env) return env;
  for (const m of spec.models ?? []) {
    const n = typeof m === 'string' ? m : m.name;
    if (n.startsWith('/')) return n;
  }
  return undefined;
}

/**
 * The host path of a llama.cpp runtime's GGUF file: its container path mapped back through the
 * service's bind mounts (the most specific mount wins, as in Docker; relative sources are relative to
 * stackDir, "~" is the home folder). Undefined when the model is in a named volume, in the image, or
 * given as a relative path.
 */
export function ggufPathForService(file: StackFile, service: string, stackDir: string): string | undefined {
  const spec = file.runtimes?.[service];
  if (!spec || spec.kind !== 'llamacpp') return undefined;
  const raw = containerModelPath(spec);
  if (!raw || !raw.startsWith('/')) return undefined;
  const inContainer = path.posix.normalize(raw);
  let best: { source?: string; target: string } | undefined;
  for (const v of spec.volumes ?? []) {
    const vol = parseVolume(v);
    const target = path.posix.normalize(vol.target).replace(/(.)\/$/, '$1');
    const under = target === '/' || inContainer === target || inContainer.startsWith(`${target}/`);
    if (!under || (best && best.target.length >= target.length)) continue;
    best = { source: vol.kind === 'bind' ? vol.source : undefined, target };
  }
  if (!best || best.source === undefined) return undefined;
  const rest = inContainer.slice(best.target === '/' ? 1 : best.target.length).replace(/^\//, '');
  const src = best.source;
  const hostRoot = src === '~' || src.startsWith('~/') ? path.join(os.homedir(), src.slice(1)) : path.resolve(stackDir, src);
  return rest ? path.join(hostRoot, ...rest.split('/')) : hostRoot;
}
