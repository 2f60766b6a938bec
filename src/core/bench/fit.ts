// Will a model fit on this machine, and how fast will it run here? Memory from what the model is
// (core/stack/resolve.ts reads layers, size, trained context and KV bytes per token from a GGUF
// header): the weights, the KV cache for the context (f16 unless the cache type says otherwise),
// and a runtime overhead (compute buffers and the server itself), split between VRAM and RAM by
// the layers on the GPU, as llama.cpp places them. Speed from this machine's own benchmark
// history: generation reads every weight once per token, so tokens/s × model bytes is about
// constant for a machine and runtime; fitted over the history (median, with the range), or, with
// no history, a stated first guess from typical memory bandwidth.
import { formatBytesGB, kvPerToken, type ModelFacts } from '../stack/resolve';
import type { HardwareInfo } from '../stack/types';
import { percentile } from './stats';

const median = (xs: readonly number[]) => percentile([...xs].sort((a, b) => a - b), 50);

/** Compute buffers and the server's own memory when nothing better is known (llama.cpp, a small model). */
export const DEFAULT_OVERHEAD_BYTES = 512 * 1024 * 1024;
/** Share of free memory a model may plan on (as the stack's auto values use). */
const USABLE_SHARE = 0.9;
/** Bytes per cache element relative to f16: q8_0 holds half, q4_0 about a quarter. */
const CACHE_FACTOR: Record<string, number> = { f16: 1, bf16: 1, f32: 2, q8_0: 0.53, q4_0: 0.28 };

interface FitOptions {
  readonly contextSize: number;
  /** Layers on the GPU; default: as many as fit. */
  readonly gpuLayers?: number;
  readonly cacheType?: string;
  /** The runtime's overhead on this machine (calibrated from measured loads), else the default. */
  readonly overheadBytes?: number;
  /** Plan for a GPU (false: CPU only even where there is one). */
  readonly useGpu?: boolean;
}

interface FitEstimate {
  readonly contextSize: number;
  readonly layers?: number;
  readonly gpuLayers: number;
  readonly weightsBytes?: number;
  readonly kvBytes: number;
  readonly kvEstimated: boolean;
  readonly overheadBytes: number;
  readonly ramBytes: number;
  readonly vramBytes: number;
  readonly verdict: 'gpu' | 'partial' | 'cpu' | 'too-big' | 'unknown';
  readonly text: string;
}

export function estimateFit(facts: ModelFacts, o: FitOptions, hw: HardwareInfo): FitEstimate {
  const kv = kvPerToken(facts);
  const kvBytes = Math.round(kv.bytes * o.contextSize * (CACHE_FACTOR[o.cacheType ?? 'f16'] ?? 1));
  const overhead = o.overheadBytes ?? DEFAULT_OVERHEAD_BYTES;
  const W = facts.sizeBytes;
  const L = facts.layers;
  const ctx = `ctx ${o.contextSize}`;
  if (W === undefined) return { contextSize: o.contextSize, layers: L, gpuLayers: 0, kvBytes, kvEstimated: kv.estimated, overheadBytes: overhead, ramBytes: kvBytes + overhead, vramBytes: 0, verdict: 'unknown', text: `model size unknown: the KV cache alone needs ${formatBytesGB(kvBytes)} at ${ctx}` };
  const vram = (o.useGpu ?? true) ? hw.gpus.reduce((a, g) => a + g.memoryFree, 0) * USABLE_SHARE : 0;
  const ram = hw.freeMemoryBytes * USABLE_SHARE;
  const layers = L ?? 1;
  // Layers on the GPU: what was asked, else as many as fit with their share of the KV cache and the
  // compute buffer on the GPU too.
  let n = 0;
  if (vram > 0) {
    const perLayer = (W + kvBytes) / layers;
    n = o.gpuLayers !== undefined ? Math.min(layers, Math.max(0, Math.floor(o.gpuLayers))) : Math.min(layers, Math.max(0, Math.floor((vram - overhead / 2) / perLayer)));
  }
  const onGpu = n / layers;
  const vramBytes = n > 0 ? Math.round((W + kvBytes) * onGpu + overhead / 2) : 0;
  const ramBytes = Math.round((W + kvBytes) * (1 - onGpu) + (n > 0 ? overhead / 2 : overhead));
  const kvNote = kv.estimated ? ', KV cache estimated' : '';
  const base = { contextSize: o.contextSize, layers: L, gpuLayers: n, weightsBytes: W, kvBytes, kvEstimated: kv.estimated, overheadBytes: overhead, ramBytes, vramBytes };
  if (n === layers && vram > 0 && vramBytes <= vram) return { ...base, verdict: 'gpu', text: `fits in VRAM with ${ctx}: ${formatBytesGB(vramBytes)} of ${formatBytesGB(vram)} usable${kvNote}` };
  if (ramBytes > ram) {
    return { ...base, verdict: 'too-big', text: `does not fit with ${ctx}: needs ${formatBytesGB(ramBytes)} of RAM${n ? ` besides ${formatBytesGB(vramBytes)} of VRAM` : ''}, ${formatBytesGB(ram)} usable; try a smaller quantization or context${kvNote}` };
  }
  if (n > 0) return { ...base, verdict: 'partial', text: `${n} of ${layers} layers on the GPU with ${ctx}: ${formatBytesGB(vramBytes)} of VRAM and ${formatBytesGB(ramBytes)} of RAM${kvNote}` };
  return { ...base, verdict: 'cpu', text: `runs on the CPU with ${ctx}: ${formatBytesGB(ramBytes)} of ${formatBytesGB(ram)} usable RAM${kvNote}` };
}

interface SpeedGuess {
  readonly tokensPerSecond: number;
  readonly low: number;
  readonly high: number;
  readonly basis: 'history' | 'first guess';
  readonly text: string;
}

/** Typical memory bandwidth a generation reaches: a CPU's DDR, a consumer GPU's VRAM. */
const FIRST_GUESS_BANDWIDTH = { cpu: 20e9, gpu: 300e9 };

/**
 * Generation tokens/s for a model of `sizeBytes`: from earlier runs on this machine and runtime
 * (each gives tokens/s × its model's bytes), else a first guess from typical bandwidth.
 */
export function predictSpeed(history: readonly { genTps: number; sizeBytes: number }[], sizeBytes: number, onGpu: boolean): SpeedGuess {
  const k = history.filter((h) => h.genTps > 0 && h.sizeBytes > 0).map((h) => h.genTps * h.sizeBytes).sort((a, b) => a - b);
  if (k.length) {
    const [t, lo, hi] = [median(k), k[0], k[k.length - 1]].map((x) => x / sizeBytes);
    return { tokensPerSecond: t, low: lo, high: hi, basis: 'history', text: `about ${t.toFixed(1)} tokens/s here (${lo.toFixed(1)}–${hi.toFixed(1)}, from ${k.length} benchmark${k.length === 1 ? '' : 's'} on this machine)` };
  }
  const bw = onGpu ? FIRST_GUESS_BANDWIDTH.gpu : FIRST_GUESS_BANDWIDTH.cpu;
  const t = bw / sizeBytes;
  return { tokensPerSecond: t, low: t * 0.5, high: t * 1.5, basis: 'first guess', text: `perhaps ${t.toFixed(0)} tokens/s (a first guess from typical ${onGpu ? 'GPU' : 'CPU'} memory bandwidth; run llmstack bench for this machine's figure)` };
}

interface Measured {
  readonly weightsBytes: number;
  readonly kvBytes: number;
  readonly measuredBytes: number;
}

interface Calibration {
  /** The runtime's overhead on this machine: the median of measured − (weights + KV cache). */
  readonly overheadBytes: number;
  readonly measurements: number;
  /**
   * Median absolute error of the estimate against the measured loads, in % of what was measured:
   * each load estimated with the overhead calibrated on the others (leave one out), so a single
   * measurement reports no error.
   */
  readonly errorPct?: number;
  readonly text: string;
}


/** The overhead that makes weights + KV + overhead match what loads on this machine measured, and the estimate's error. */
export function calibrate(ms: readonly Measured[]): Calibration | undefined {
  const usable = ms.filter((m) => m.measuredBytes > 0 && m.weightsBytes >= 0 && m.kvBytes >= 0);
  if (!usable.length) return undefined;
  const rest = usable.map((m) => m.measuredBytes - m.weightsBytes - m.kvBytes);
  const overheadBytes = Math.max(0, Math.round(median(rest)));
  const errors =
    usable.length > 1
      ? usable.map((m, i) => {
          const others = Math.max(0, median(rest.filter((_, j) => j !== i)));
          return (Math.abs(m.weightsBytes + m.kvBytes + others - m.measuredBytes) / m.measuredBytes) * 100;
        })
      : [];
  const errorPct = errors.length ? Math.round(median(errors) * 10) / 10 : undefined;
  const n = usable.length;
  return {
    overheadBytes,
    measurements: n,
    errorPct,
    text: `calibrated on ${n} measured load${n === 1 ? '' : 's'} here${errorPct === undefined ? '' : `, within ${errorPct} % (median)`}`,
  };
}
