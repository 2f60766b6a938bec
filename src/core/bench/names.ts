// What a model's name says before it is pulled: its parameter count ("7b", "0.5b", "270m",
// "8x7b"), its quantization ("q4_K_M", "q8_0", "fp16"; Ollama's library tags default to Q4_K_M)
// and so its size, a typical layer count for that size, and what it is for (chat, code,
// embedding). The numbers are first guesses, marked as such wherever they are shown.
import type { ModelFacts } from '../stack/resolve';

/** Bits per weight of the usual GGUF quantizations (llama.cpp's quantize table, rounded). */
const BITS_PER_WEIGHT: Record<string, number> = {
  q2_k: 3.35,
  q3_k_s: 3.5,
  q3_k_m: 3.91,
  q3_k_l: 4.27,
  iq3_m: 3.66,
  iq4_xs: 4.25,
  q4_0: 4.55,
  q4_1: 5.0,
  q4_k_s: 4.58,
  q4_k_m: 4.89,
  q5_0: 5.54,
  q5_k_s: 5.54,
  q5_k_m: 5.69,
  q6_k: 6.56,
  q8_0: 8.5,
  f16: 16,
  fp16: 16,
  bf16: 16,
  f32: 32,
};
/** What Ollama's library serves for a tag that names no quantization. */
const DEFAULT_QUANT = 'q4_k_m';

export type ModelUse = 'chat' | 'code' | 'embedding';

interface NameFacts extends ModelFacts {
  readonly parameters?: number;
  readonly quantization?: string;
  readonly use: ModelUse;
}

const EMBEDDING = /(embed|bge-|\bbge\b|\be5-|minilm|gte-|arctic-embed|paraphrase|mxbai)/i;
const CODE = /(code|coder|starcoder|codestral|devstral|codegemma|granite-code|sqlcoder|qwq-coder)/i;

export function useOfName(name: string): ModelUse {
  if (EMBEDDING.test(name)) return 'embedding';
  if (CODE.test(name)) return 'code';
  return 'chat';
}

/** Parameters from "7b", "1.5b", "270m", "8x7b" (experts × size, about 85 % of the product: attention is shared). */
function parametersOf(name: string): number | undefined {
  const moe = /(?:^|[^a-z0-9.])(\d+)x(\d+(?:\.\d+)?)b(?![a-z])/i.exec(name);
  if (moe) return Number(moe[1]) * Number(moe[2]) * 1e9 * 0.85;
  const all = [...name.matchAll(/(?:^|[^a-z0-9.])(\d+(?:\.\d+)?)([bm])(?![a-z])/gi)];
  const last = all[all.length - 1];
  if (!last) return undefined;
  return Number(last[1]) * (last[2].toLowerCase() === 'b' ? 1e9 : 1e6);
}

/** A typical layer count for a dense model of this size (Llama, Qwen, Gemma and Mistral families). */
function typicalLayers(parameters: number): number {
  const b = parameters / 1e9;
  if (b < 0.8) return 24;
  if (b < 2) return 28;
  if (b < 5) return 32;
  if (b < 10) return 32;
  if (b < 20) return 48;
  if (b < 40) return 64;
  return 80;
}

export function factsFromName(name: string): NameFacts {
  const use = useOfName(name);
  const lower = name.toLowerCase();
  const quant = Object.keys(BITS_PER_WEIGHT)
    .sort((a, b) => b.length - a.length)
    .find((q) => new RegExp(`(^|[^a-z0-9])${q}($|[^a-z0-9])`).test(lower));
  const parameters = parametersOf(lower.replace(/q\d_k_[sml]|q\d_\d|iq\d_\w+/g, ''));
  if (parameters === undefined) return { name, use, quantization: quant };
  const q = quant ?? DEFAULT_QUANT;
  return {
    name,
    use,
    parameters,
    quantization: q.toUpperCase(),
    sizeBytes: Math.round((parameters * BITS_PER_WEIGHT[q]) / 8),
    layers: typicalLayers(parameters),
  };
}
