// NVIDIA GPU and GPU-process readings from nvidia-smi, run once in loop mode as long-lived child processes.
// This module is the one place nvidia-smi is started: the sampler's loops (NvidiaSmi) and the
// hardware probe's one bounded run (runNvidiaSmiOnce, core/stack/hardware.ts) both go through it.
import { type ChildProcess, spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { Emitter, errorMessage, type Event, type IDisposable, type Logger, silentLogger } from '../lifecycle';
import type { GpuStatus } from './types';

const GPU_QUERY = 'index,uuid,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw';
const APPS_QUERY = 'gpu_uuid,pid,used_memory';
const MIB = 1024 * 1024;

interface GpuReading {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  /** Percent of the last sample period a kernel ran. */
  readonly utilization?: number;
  readonly memoryUsed?: number;
  readonly memoryTotal?: number;
  /** °C */
  readonly temperature?: number;
  /** Watts */
  readonly power?: number;
  /** When the line arrived (epoch ms). */
  readonly at: number;
}

interface GpuProcess {
  readonly gpuUuid: string;
  readonly pid: number;
  /** Bytes; undefined where the driver does not say (Windows WDDM answers [N/A]). */
  readonly usedMemory?: number;
  readonly at: number;
}

/** A number field, or undefined for "[N/A]", "[Not Supported]", "[Unknown Error]" and the like. */
export function csvNumber(field: string | undefined): number | undefined {
  if (field === undefined) return undefined;
  const s = field.trim();
  if (!s || s.startsWith('[') || /^n\/?a$/i.test(s)) return undefined;
  const v = Number(s);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * One line of `--query-gpu=${GPU_QUERY} --format=csv,noheader,nounits`. Fields are split from
 * both ends, so a name holding a comma stays whole: only the name is free text.
 */
export function parseGpuLine(line: string, at = 0): GpuReading | undefined {
  const f = line.split(',');
  if (f.length < 8) return undefined;
  const index = csvNumber(f[0]);
  const uuid = f[1].trim();
  if (index === undefined || !Number.isInteger(index) || !/^(GPU|MIG)-/.test(uuid)) return undefined;
  const tail = f.slice(-5);
  const name = f.slice(2, f.length - 5).join(',').trim();
  const mem = (s: string) => {
    const v = csvNumber(s);
    return v === undefined ? undefined : v * MIB;
  };
  return {
    index,
    uuid,
    name,
    utilization: csvNumber(tail[0]),
    memoryUsed: mem(tail[1]),
    memoryTotal: mem(tail[2]),
    temperature: csvNumber(tail[3]),
    power: csvNumber(tail[4]),
    at,
  };
}

/** One line of `--query-compute-apps=${APPS_QUERY} --format=csv,noheader,nounits`. */
export function parseComputeAppLine(line: string, at = 0): GpuProcess | undefined {
  const f = line.split(',');
  if (f.length !== 3) return undefined;
  const gpuUuid = f[0].trim();
  const pid = csvNumber(f[1]);
  if (!/^(GPU|MIG)-/.test(gpuUuid) || pid === undefined || !Number.isInteger(pid) || pid <= 0) return undefined;
  const used = csvNumber(f[2]);
  return { gpuUuid, pid, usedMemory: used === undefined ? undefined : used * MIB, at };
}

/** What nvidia-smi prints where there is no usable NVIDIA GPU, as opposed to a failure worth reporting. */
const NO_GPU = /NVIDIA-SMI has failed|No devices were found|couldn't communicate with the NVIDIA driver|Failed to initialize NVML|NVML Shared Library Not Found|Driver Not Loaded/i;

/** The status after nvidia-smi exited or failed to start, from its output and exit. */
export function classifyFailure(output: string, code: number | null, signal: NodeJS.Signals | null, errnoCode?: string): GpuStatus {
  if (errnoCode === 'ENOENT') return { kind: 'absent', message: 'No NVIDIA GPU found: nvidia-smi is not installed (not on PATH).' };
  const firstLine = output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => NO_GPU.test(l));
  if (firstLine) return { kind: 'absent', message: `No NVIDIA GPU available: ${firstLine.slice(0, 300)}` };
  const how = errnoCode ? `could not be started (${errnoCode})` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
  const detail = output.trim().split(/\r?\n/).slice(-3).join(' ').slice(0, 400);
  return { kind: 'error', message: `nvidia-smi ${how}${detail ? `: ${detail}` : ''}` };
}

/** Starts nvidia-smi; throws where spawn throws (an unusable path: empty, a NUL byte). */
function spawnNvidiaSmi(binary: string, args: readonly string[]): ChildProcess {
  return spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
}

/** SIGTERM, then SIGKILL after graceMs: a driver-hung nvidia-smi may ignore SIGTERM. */
function stopNvidiaSmi(child: ChildProcess, graceMs: number): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, graceMs);
  timer.unref?.();
  child.once('close', () => clearTimeout(timer));
}

/** How one bounded run of nvidia-smi ended. */
type NvidiaSmiRun =
  /** It exited; `output` is stdout and stderr together, cut at maxOutput. */
  | { readonly kind: 'exited'; readonly output: string; readonly code: number | null; readonly signal: NodeJS.Signals | null }
  /** spawn threw: the path cannot name a program. */
  | { readonly kind: 'unusable'; readonly message: string }
  /** It could not be started (ENOENT, EACCES…). */
  | { readonly kind: 'failed'; readonly errnoCode: string }
  /** It did not exit within timeoutMs and was killed. */
  | { readonly kind: 'timeout' };

interface NvidiaSmiRunOptions {
  readonly timeoutMs: number;
  /** Aborting rejects with the signal's reason and kills nvidia-smi. */
  readonly signal?: AbortSignal;
  /** Output beyond this is dropped. */
  readonly maxOutput: number;
  /** SIGKILL follows SIGTERM after this (default 1 s). */
  readonly killTimeoutMs?: number;
}

/** One nvidia-smi run to its exit, bounded by timeoutMs; never rejects except on abort. */
export function runNvidiaSmiOnce(binary: string, args: readonly string[], o: NvidiaSmiRunOptions): Promise<NvidiaSmiRun> {
  const { signal } = o;
  return new Promise<NvidiaSmiRun>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    let settled = false;
    let output = '';
    let child: ChildProcess;
    try {
      child = spawnNvidiaSmi(binary, args);
    } catch (e) {
      return resolve({ kind: 'unusable', message: (e as Error).message });
    }
    const kill = () => stopNvidiaSmi(child, o.killTimeoutMs ?? 1000);
    const finish = (r: NvidiaSmiRun | { error: unknown }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if ('error' in r) reject(r.error);
      else resolve(r);
    };
    const onAbort = () => {
      kill();
      finish({ error: signal!.reason ?? new Error('aborted') });
    };
    // Resolve at the bound without waiting for 'close': a hung child (or one whose children hold the pipes) must not hold us.
    const timer = setTimeout(() => {
      kill();
      finish({ kind: 'timeout' });
    }, o.timeoutMs);
    timer.unref?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    const collect = (chunk: Buffer) => {
      if (output.length < o.maxOutput) output += chunk.toString('utf8');
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // a failed kill; 'close' follows
      finish({ kind: 'failed', errnoCode: e.code ?? e.message });
    });
    child.once('close', (code, sig) => finish({ kind: 'exited', output, code, signal: sig }));
  });
}

export interface NvidiaSmiOptions {
  /** Path or name of the binary (default "nvidia-smi" on PATH). */
  readonly binary?: string;
  /** Loop interval handed to -lms (default 1000). */
  readonly intervalMs?: number;
  readonly log?: Logger;
  readonly now?: () => number;
  /** Delays before restarting a loop that died; one restart per entry, then status 'error' (default 1, 2, 5, 10, 30 s). */
  readonly restartDelaysMs?: readonly number[];
  /** A loop that ran this long before dying gets its restarts back (default 60 s). */
  readonly stableAfterMs?: number;
  /** Readings older than this are dropped (default 3 intervals, at least 3 s). */
  readonly staleAfterMs?: number;
  /** SIGKILL follows SIGTERM after this (default 2 s). */
  readonly killTimeoutMs?: number;
}

type LoopKind = 'gpu' | 'apps';

interface Loop {
  readonly kind: LoopKind;
  readonly child: ChildProcess;
  readonly startedAt: number;
  /** The last lines that were not CSV readings and stderr, for messages. */
  output: string;
  ended: boolean;
}

const MAX_LINE = 16 * 1024;
const MAX_OUTPUT = 4 * 1024;

export class NvidiaSmi implements IDisposable {
  private readonly onDidChangeStatusEmitter = new Emitter<GpuStatus>();
  readonly onDidChangeStatus: Event<GpuStatus> = this.onDidChangeStatusEmitter.event;
  private readonly onDidReadEmitter = new Emitter<LoopKind>();
  /** Fires after each reading line is parsed (tests, and callers that want the freshest figures). */
  readonly onDidRead: Event<LoopKind> = this.onDidReadEmitter.event;

  private readonly binary: string;
  private readonly intervalMs: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly restartDelaysMs: readonly number[];
  private readonly stableAfterMs: number;
  private readonly staleAfterMs: number;
  private readonly killTimeoutMs: number;

  private readonly loops = new Map<LoopKind, Loop>();
  private readonly restartTimers = new Map<LoopKind, NodeJS.Timeout>();
  private readonly restarts = new Map<LoopKind, number>();
  private readonly gpuReadings = new Map<number, GpuReading>();
  private readonly appReadings = new Map<string, GpuProcess>();
  private readonly exiting = new Set<Promise<void>>();
  private current: GpuStatus = { kind: 'ok', gpus: 0 };
  private wanted = false;
  private disposed = false;

  constructor(options: NvidiaSmiOptions = {}) {
    this.binary = options.binary ?? 'nvidia-smi';
    this.intervalMs = Math.max(100, Math.round(options.intervalMs ?? 1000));
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.restartDelaysMs = options.restartDelaysMs ?? [1000, 2000, 5000, 10_000, 30_000];
    this.stableAfterMs = options.stableAfterMs ?? 60_000;
    this.staleAfterMs = options.staleAfterMs ?? Math.max(3000, 3 * this.intervalMs);
    this.killTimeoutMs = options.killTimeoutMs ?? 2000;
  }

  /** 'ok' with gpus 0 until the first reading arrives; 'absent' where there is no NVIDIA GPU. */
  get status(): GpuStatus {
    return this.current;
  }

  get running(): boolean {
    return this.wanted;
  }

  /** Process ids of the running loops (tests check they are gone after stop()). */
  get childPids(): number[] {
    return [...this.loops.values()].map((l) => l.child.pid).filter((p): p is number => p !== undefined);
  }

  /** Starts both loops unless they run; a GPU found absent before is looked for again. */
  start(): void {
    if (this.disposed || this.wanted) return;
    this.wanted = true;
    this.restarts.clear();
    this.spawnLoop('gpu');
    this.spawnLoop('apps');
  }

  /** Kills both loops; resolves once they have exited. Readings are forgotten, the status is kept. */
  stop(): Promise<void> {
    this.wanted = false;
    for (const t of this.restartTimers.values()) clearTimeout(t);
    this.restartTimers.clear();
    for (const loop of [...this.loops.values()]) this.kill(loop);
    this.gpuReadings.clear();
    this.appReadings.clear();
    return Promise.all([...this.exiting]).then(() => undefined);
  }

  /** The latest reading per GPU, by index; stale ones (a GPU gone, a loop stalled) are left out. */
  gpus(): GpuReading[] {
    const cutoff = this.now() - this.staleAfterMs;
    return [...this.gpuReadings.values()].filter((g) => g.at >= cutoff).sort((a, b) => a.index - b.index);
  }

  /**
   * Processes seen within the stale bound. nvidia-smi prints nothing when no process uses a GPU,
   * so a process that ended simply stops appearing and drops out here.
   */
  processes(): GpuProcess[] {
    const cutoff = this.now() - this.staleAfterMs;
    const out: GpuProcess[] = [];
    for (const [k, p] of this.appReadings) {
      if (p.at >= cutoff) out.push(p);
      else this.appReadings.delete(k);
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    void this.stop();
    this.disposed = true;
    this.onDidChangeStatusEmitter.dispose();
    this.onDidReadEmitter.dispose();
  }

  private setStatus(s: GpuStatus): void {
    const same =
      s.kind === this.current.kind && (s.kind === 'ok' ? s.gpus === (this.current as { gpus: number }).gpus : s.message === (this.current as { message: string }).message);
    if (same) return;
    this.current = s;
    if (s.kind !== 'ok') this.log.info(`GPU metrics: ${s.message}`);
    this.onDidChangeStatusEmitter.fire(s);
  }

  private spawnLoop(kind: LoopKind): void {
    if (!this.wanted || this.loops.has(kind)) return;
    const query = kind === 'gpu' ? `--query-gpu=${GPU_QUERY}` : `--query-compute-apps=${APPS_QUERY}`;
    const args = [query, '--format=csv,noheader,nounits', '-lms', String(this.intervalMs)];
    let child: ChildProcess;
    try {
      child = spawnNvidiaSmi(this.binary, args);
    } catch (e) {
      this.failed(kind, classifyFailure('', null, null, (e as NodeJS.ErrnoException).code ?? errorMessage(e)), 0);
      return;
    }
    const loop: Loop = { kind, child, startedAt: this.now(), output: '', ended: false };
    this.loops.set(kind, loop);
    const exited = new Promise<void>((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null, errnoCode?: string) => {
        if (done) return;
        done = true;
        this.exiting.delete(exited);
        resolve();
        this.onLoopEnd(loop, code, signal, errnoCode);
      };
      child.on('error', (e: NodeJS.ErrnoException) => {
        // A failed spawn has no pid; other errors (a failed kill) are followed by 'close' or nothing to do.
        if (child.pid === undefined) finish(null, null, e.code ?? 'error');
      });
      child.once('close', (code, signal) => finish(code, signal));
    });
    this.exiting.add(exited);

    const stdout = new StringDecoder('utf8');
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += stdout.write(chunk);
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        this.onLine(loop, line);
      }
      if (buffer.length > MAX_LINE) buffer = '';
    });
    child.stderr!.on('data', (chunk: Buffer) => this.remember(loop, chunk.toString('utf8')));
  }

  private onLine(loop: Loop, line: string): void {
    if (!line.trim() || loop.ended) return;
    const at = this.now();
    if (loop.kind === 'gpu') {
      const g = parseGpuLine(line, at);
      if (!g) return this.remember(loop, `${line}\n`);
      this.gpuReadings.set(g.index, g);
      this.setStatus({ kind: 'ok', gpus: this.gpus().length });
    } else {
      const p = parseComputeAppLine(line, at);
      if (!p) return this.remember(loop, `${line}\n`);
      this.appReadings.set(`${p.gpuUuid}/${p.pid}`, p);
    }
    this.onDidReadEmitter.fire(loop.kind);
  }

  private remember(loop: Loop, text: string): void {
    loop.output = (loop.output + text).slice(-MAX_OUTPUT);
  }

  private kill(loop: Loop): void {
    loop.ended = true;
    this.loops.delete(loop.kind);
    stopNvidiaSmi(loop.child, this.killTimeoutMs);
  }

  private onLoopEnd(loop: Loop, code: number | null, signal: NodeJS.Signals | null, errnoCode?: string): void {
    if (loop.ended) return;
    loop.ended = true;
    this.loops.delete(loop.kind);
    const status = classifyFailure(loop.output, code, signal, errnoCode);
    this.failed(loop.kind, status, this.now() - loop.startedAt);
  }

  private failed(kind: LoopKind, status: GpuStatus, ranMs: number): void {
    if (!this.wanted) return;
    if (status.kind === 'absent') {
      // Nothing to restart: the other loop would only fail the same way.
      this.setStatus(status);
      void this.stop();
      return;
    }
    const message = status.kind === 'error' ? status.message : '';
    if (ranMs >= this.stableAfterMs) this.restarts.set(kind, 0);
    const attempt = this.restarts.get(kind) ?? 0;
    if (attempt >= this.restartDelaysMs.length) {
      if (kind === 'gpu') {
        this.gpuReadings.clear();
        this.setStatus({ kind: 'error', message: `GPU metrics stopped: ${message}` });
      } else {
        this.log.warn(`GPU process metrics stopped: ${message}`);
      }
      return;
    }
    this.restarts.set(kind, attempt + 1);
    const delay = this.restartDelaysMs[attempt];
    this.log.warn(`${message}; restarting in ${delay} ms (${attempt + 1}/${this.restartDelaysMs.length})`);
    const timer = setTimeout(() => {
      this.restartTimers.delete(kind);
      this.spawnLoop(kind);
    }, delay);
    timer.unref?.();
    this.restartTimers.set(kind, timer);
  }
}
