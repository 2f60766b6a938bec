// Types shared by the stack modules (document, resolve, spec, plan, apply, export).
import type { StackFile } from './schema';

/** A 0-based position, as VS Code counts (line, UTF-16 column). */
export interface StackPosition {
  readonly line: number;
  readonly character: number;
}

export interface StackRange {
  readonly start: StackPosition;
  readonly end: StackPosition;
}

/** A problem in a stack file, located at the value (or key) it is about. */
export interface StackDiagnostic {
  readonly severity: 'error' | 'warning' | 'info';
  readonly message: string;
  /** The path of the value in the document, e.g. ["runtimes", "ollama", "ports", 0]. */
  readonly path: readonly (string | number)[];
  readonly range: StackRange;
  /** A stable code for quick fixes and tests, e.g. "schema", "yaml", "duplicate-port", "missing-dependency", "cycle". */
  readonly code: string;
}

/** What the machine has, for `auto` values. Bytes throughout. */
export interface HardwareInfo {
  readonly cpuCores: number;
  readonly memoryBytes: number;
  readonly freeMemoryBytes: number;
  readonly gpus: readonly GpuInfo[];
  /** Why there are no GPUs listed, when there are none ("nvidia-smi not found", …). */
  readonly gpuNote?: string;
}

export interface GpuInfo {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly memoryTotal: number;
  readonly memoryFree: number;
}

export type ResolvedGpu =
  | { readonly kind: 'none' }
  | { readonly kind: 'all' }
  | { readonly kind: 'count'; readonly count: number }
  | { readonly kind: 'devices'; readonly devices: readonly string[] };

/** A runtime's parameters with every `auto` replaced by a number (absent = the runtime's own default). */
export interface ResolvedParams {
  readonly threads?: number;
  readonly gpuLayers?: number;
  readonly contextSize?: number;
  readonly parallel?: number;
  readonly gpu: ResolvedGpu;
}

/** Why an `auto` became what it became; shown on hover over the `auto`. */
export interface AutoExplanation {
  readonly service: string;
  readonly field: 'threads' | 'gpuLayers' | 'contextSize' | 'gpu';
  /** Path of the `auto` value in the file, e.g. ["runtimes", "llm", "params", "gpuLayers"]. */
  readonly path: readonly (string | number)[];
  /** e.g. "8 of 16 GB VRAM free → 35 of 35 layers on GPU, ctx 8192". */
  readonly text: string;
  /** A literal value that will not work as written (more layers than the model has…). */
  readonly severity?: 'info' | 'warning';
}

/** A stack file with its hardware-dependent values filled in. */
export interface ResolvedStack {
  readonly file: StackFile;
  /** Per runtime service name; UIs have none. */
  readonly params: ReadonlyMap<string, ResolvedParams>;
  readonly explanations: readonly AutoExplanation[];
}
