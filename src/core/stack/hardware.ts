// What this machine has for a stack's `auto` values: CPU cores, memory, and NVIDIA GPUs from one short
// nvidia-smi run (started by core/metrics/nvidia.ts, which owns nvidia-smi for the sampler too).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { classifyFailure, csvNumber, runNvidiaSmiOnce } from '../metrics/nvidia';
import type { GpuStatus } from '../metrics/types';
import type { GpuInfo, HardwareInfo } from './types';

/** The columns asked of nvidia-smi, in this order. */
export const GPU_INVENTORY_QUERY = 'index,uuid,name,memory.total,memory.free';
const MIB = 1024 * 1024;
/** Output beyond this is dropped: an inventory is a few lines per GPU. */
const MAX_OUTPUT = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 5000;

interface DetectHardwareOptions {
  /** Path or name of nvidia-smi (default "nvidia-smi" on PATH). */
  readonly nvidiaSmiPath?: string;
  /** nvidia-smi gets this long before it is killed and GPUs are left out (default 5000). */
  readonly timeoutMs?: number;
  /** Aborting rejects with the signal's reason and kills nvidia-smi. */
  readonly signal?: AbortSignal;
}

/**
 * Lines of `--query-gpu=${GPU_INVENTORY_QUERY} --format=csv,noheader,nounits` (MiB) as GPUs (bytes).
 * Fields are split from both ends so a name holding a comma stays whole. A memory figure the
 * driver does not give ("[N/A]") becomes 0 total, or free = total, so the GPU is still listed;
 * lines that are not GPU rows (messages, garbage) are skipped.
 */
export function parseGpuInventory(csv: string): GpuInfo[] {
  const out: GpuInfo[] = [];
  for (const raw of csv.split(/\r?\n/)) {
    const f = raw.split(',');
    if (f.length < 5) continue;
    const index = csvNumber(f[0]);
    const uuid = f[1].trim();
    if (index === undefined || !Number.isInteger(index) || index < 0 || !/^(GPU|MIG)-\S+$/.test(uuid)) continue;
    const name = f.slice(2, f.length - 2).join(',').trim();
    const total = csvNumber(f[f.length - 2]);
    const free = csvNumber(f[f.length - 1]);
    const memoryTotal = total !== undefined && total >= 0 ? total * MIB : 0;
    const memoryFree = free !== undefined && free >= 0 ? Math.min(free * MIB, memoryTotal || Infinity) : memoryTotal;
    out.push({ index, uuid, name, memoryTotal, memoryFree });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** MemAvailable (bytes) from /proc/meminfo text: what can be allocated without swapping, page cache included. */
export function parseMemAvailable(meminfo: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}

function cpuCores(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, n);
}

async function freeMemory(): Promise<number> {
  if (process.platform === 'linux') {
    try {
      const avail = parseMemAvailable(await fs.promises.readFile('/proc/meminfo', 'utf8'));
      if (avail !== undefined) return avail;
    } catch {
      // /proc not mounted (some sandboxes): os.freemem() reads the same counter through libuv.
    }
  }
  // Windows: ullAvailPhys, the honest figure. macOS counts free pages only (low); good enough for a hint.
  return os.freemem();
}

function noteOf(s: GpuStatus): string | undefined {
  return s.kind === 'ok' ? undefined : s.message;
}

interface InventoryResult {
  readonly gpus: GpuInfo[];
  readonly note?: string;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** The GPU inventory from one `nvidia-smi --query-gpu` run, bounded by timeoutMs; never rejects except on abort. */
async function queryGpus(binary: string, timeoutMs: number, signal?: AbortSignal): Promise<InventoryResult> {
  const run = await runNvidiaSmiOnce(binary, [`--query-gpu=${GPU_INVENTORY_QUERY}`, '--format=csv,noheader,nounits'], { timeoutMs, signal, maxOutput: MAX_OUTPUT });
  switch (run.kind) {
    case 'unusable':
      return { gpus: [], note: `No GPU information: nvidia-smi could not be started (${run.message}).` };
    case 'timeout':
      return { gpus: [], note: `No GPU information: nvidia-smi did not answer within ${seconds(timeoutMs)} (the NVIDIA driver may be busy or hung).` };
    case 'failed':
      if (run.errnoCode === 'ENOENT') {
        return { gpus: [], note: binary === 'nvidia-smi' ? 'No NVIDIA GPU found (nvidia-smi is not installed).' : `No NVIDIA GPU found (nvidia-smi not found at ${binary}).` };
      }
      return { gpus: [], note: noteOf(classifyFailure('', null, null, run.errnoCode)) };
    case 'exited': {
      const gpus = parseGpuInventory(run.output);
      if (gpus.length) return { gpus };
      const status = classifyFailure(run.output, run.code, run.signal);
      // Exit 0 without rows and without a known message: nvidia-smi ran and simply listed nothing.
      const note = run.code === 0 && status.kind === 'error' ? 'No NVIDIA GPU found (nvidia-smi listed none).' : noteOf(status);
      return { gpus: [], note };
    }
  }
}

/**
 * Cores, memory and NVIDIA GPUs. GPU problems (no nvidia-smi, no driver, a hang) end up in
 * `gpuNote` with an empty GPU list; only an abort rejects.
 */
export async function detectHardware(o: DetectHardwareOptions = {}): Promise<HardwareInfo> {
  const timeoutMs = Math.max(1, o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const [inventory, free] = await Promise.all([queryGpus(o.nvidiaSmiPath ?? 'nvidia-smi', timeoutMs, o.signal), freeMemory()]);
  return {
    cpuCores: cpuCores(),
    memoryBytes: os.totalmem(),
    freeMemoryBytes: free,
    gpus: inventory.gpus,
    ...(inventory.gpus.length === 0 && inventory.note ? { gpuNote: inventory.note } : {}),
  };
}

interface HardwareProbeOptions extends Omit<DetectHardwareOptions, 'signal'> {
  /** How long an answer is reused (default 60 s: hardware rarely changes, free memory is a hint anyway). */
  readonly ttlMs?: number;
  readonly now?: () => number;
  /** Stand-in for detectHardware (benchmarks, callers with their own source). */
  readonly detect?: (o: DetectHardwareOptions) => Promise<HardwareInfo>;
}

/** The one owner of hardware detection: callers share a cached answer and at most one nvidia-smi run at a time. */
export class HardwareProbe {
  private cached: { at: number; value: Promise<HardwareInfo> } | undefined;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly detect: (o: DetectHardwareOptions) => Promise<HardwareInfo>;

  constructor(private readonly options: HardwareProbeOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.detect = options.detect ?? detectHardware;
  }

  /** The cached answer when younger than the TTL, else a fresh detection (shared with concurrent callers). */
  get(): Promise<HardwareInfo> {
    const c = this.cached;
    if (c && this.now() - c.at < this.ttlMs) return c.value;
    const value = this.detect({ nvidiaSmiPath: this.options.nvidiaSmiPath, timeoutMs: this.options.timeoutMs });
    const entry = { at: this.now(), value };
    this.cached = entry;
    // A failed detection is not remembered.
    value.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return value;
  }

  /** Forget the cached answer (after a driver install, a "Refresh" command). */
  invalidate(): void {
    this.cached = undefined;
  }
}
