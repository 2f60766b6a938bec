// Per-container CPU, memory, network and block IO from the engine's stats stream, as `docker stats` computes them, plus container pids.
import type Docker from 'dockerode';
import { StringDecoder } from 'node:string_decoder';
import { Emitter, errorMessage, type Event, type IDisposable, type Logger, silentLogger } from '../lifecycle';
import { withTimeout } from '../docker/connection';
import { CgroupStatsSource, openCgroupFiles } from './cgroupStats';

/** The fields of a stats frame used here (Engine API ContainerStatsResponse); all optional, engines differ. */
export interface StatsFrame {
  read?: string;
  preread?: string;
  num_procs?: number;
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: {
    usage?: number;
    limit?: number;
    stats?: Record<string, number>;
    /** Windows */
    privateworkingset?: number;
  };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op?: string; value?: number }[] | null };
}

interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null };
  system_cpu_usage?: number;
  online_cpus?: number;
}

export interface ContainerStatsReading {
  /** When the frame arrived (epoch ms, the sampler's clock). */
  readonly at: number;
  /** Percent of one core, as `docker stats` shows it (400 % = four cores busy). */
  readonly cpu?: number;
  /** Bytes in use without the reclaimable page cache. */
  readonly memory?: number;
  readonly memoryLimit?: number;
  readonly netRx?: number;
  readonly netTx?: number;
  readonly blockRead?: number;
  readonly blockWrite?: number;
}

/** Docker sends all-zero frames, read time "0001-01-01…", for a container that is not running. */
export function isNotRunningFrame(f: StatsFrame): boolean {
  return !f.read || f.read.startsWith('0001-01-01');
}

/** CPU percent as the Docker CLI computes it: on Linux from the system-time delta, on Windows from 100 ns intervals. */
export function cpuPercent(f: StatsFrame): number | undefined {
  const cur = f.cpu_stats;
  const pre = f.precpu_stats;
  const total = cur?.cpu_usage?.total_usage;
  const preTotal = pre?.cpu_usage?.total_usage;
  if (total === undefined || preTotal === undefined) return undefined;
  const cpuDelta = total - preTotal;
  if (cur?.system_cpu_usage !== undefined) {
    // The first frame of a stream has no previous reading: its delta would span the whole uptime.
    if (!pre?.system_cpu_usage) return undefined;
    const systemDelta = cur.system_cpu_usage - pre.system_cpu_usage;
    const online = cur.online_cpus || cur.cpu_usage?.percpu_usage?.length || 0;
    if (systemDelta <= 0 || online === 0) return undefined;
    return cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
  }
  if (f.num_procs && f.read && f.preread) {
    const ns = (Date.parse(f.read) - Date.parse(f.preread)) * 1e6;
    const possible = (ns / 100) * f.num_procs;
    if (!(possible > 0)) return undefined;
    return cpuDelta > 0 ? (cpuDelta / possible) * 100 : 0;
  }
  return undefined;
}

/**
 * Memory without the page cache the kernel can drop, like `docker stats`: total_inactive_file on
 * cgroup v1 (older CLIs took `cache`, which also holds active file pages; it is used only where
 * total_inactive_file is missing), inactive_file on cgroup v2, the private working set on Windows.
 */
export function memoryUsage(f: StatsFrame): { used: number; limit?: number } | undefined {
  const m = f.memory_stats;
  if (!m) return undefined;
  if (m.usage === undefined) return m.privateworkingset !== undefined ? { used: m.privateworkingset } : undefined;
  const s = m.stats ?? {};
  const cache = s.total_inactive_file ?? s.inactive_file ?? s.cache;
  const used = cache !== undefined && cache < m.usage ? m.usage - cache : m.usage;
  // An unlimited container reports the host's memory (or a huge number) as its limit.
  const limit = m.limit && m.limit < 2 ** 60 ? m.limit : undefined;
  return { used, limit };
}

export function networkTotals(f: StatsFrame): { rx: number; tx: number } | undefined {
  if (!f.networks) return undefined;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(f.networks)) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  return { rx, tx };
}

export function blockTotals(f: StatsFrame): { read: number; write: number } | undefined {
  const list = f.blkio_stats?.io_service_bytes_recursive;
  if (!list) return undefined;
  let read = 0;
  let write = 0;
  for (const e of list) {
    const op = e.op?.toLowerCase();
    if (op === 'read') read += e.value ?? 0;
    else if (op === 'write') write += e.value ?? 0;
  }
  return { read, write };
}

/** Turns consecutive frames into rates; counters come from the frame's own read time, not arrival. */
export class StatsRates {
  private prev: { t: number; net?: { rx: number; tx: number }; blk?: { read: number; write: number } } | undefined;

  update(f: StatsFrame, at: number): ContainerStatsReading {
    const t = f.read ? Date.parse(f.read) : NaN;
    const net = networkTotals(f);
    const blk = blockTotals(f);
    const mem = memoryUsage(f);
    const prev = this.prev;
    this.prev = Number.isFinite(t) ? { t, net, blk } : undefined;
    const dt = prev && Number.isFinite(t) ? (t - prev.t) / 1000 : 0;
    const rate = (cur: number | undefined, before: number | undefined) =>
      dt > 0 && cur !== undefined && before !== undefined && cur >= before ? (cur - before) / dt : undefined;
    return {
      at,
      cpu: cpuPercent(f),
      memory: mem?.used,
      memoryLimit: mem?.limit,
      netRx: rate(net?.rx, prev?.net?.rx),
      netTx: rate(net?.tx, prev?.net?.tx),
      blockRead: rate(blk?.read, prev?.blk?.read),
      blockWrite: rate(blk?.write, prev?.blk?.write),
    };
  }
}

export type StreamEndReason = 'not-running' | 'closed' | 'error' | 'disposed';

/**
 * Where container figures come from: 'auto' reads the kernel's cgroup files when the engine runs
 * on this machine and the container's files can be opened, and the stats stream otherwise;
 * 'stream' always uses the stream.
 */
export type ContainerStatsSource = 'auto' | 'stream';

export interface StreamEnd {
  readonly id: string;
  readonly reason: StreamEndReason;
  readonly message?: string;
}

const MAX_FRAME = 1024 * 1024;

/** One container's stats stream; ends by itself when the container stops or goes away. */
export class ContainerStatsStream implements IDisposable {
  private readonly onDidEndEmitter = new Emitter<StreamEnd>();
  readonly onDidEnd: Event<StreamEnd> = this.onDidEndEmitter.event;
  private readonly abort = new AbortController();
  private stream: NodeJS.ReadableStream | undefined;
  private readonly rates = new StatsRates();
  private latestReading: ContainerStatsReading | undefined;
  private endedWith: StreamEnd | undefined;
  private frameCount = 0;

  constructor(
    readonly id: string,
    container: Docker.Container,
    private readonly now: () => number = Date.now,
  ) {
    const opts = { stream: true as const, abortSignal: this.abort.signal };
    container.stats(opts).then(
      (stream) => this.attach(stream),
      (e: unknown) => this.end(this.abort.signal.aborted ? 'disposed' : 'error', errorMessage(e)),
    );
  }

  get latest(): ContainerStatsReading | undefined {
    return this.latestReading;
  }

  get ended(): StreamEnd | undefined {
    return this.endedWith;
  }

  get frames(): number {
    return this.frameCount;
  }

  dispose(): void {
    this.end('disposed');
  }

  private attach(stream: NodeJS.ReadableStream): void {
    this.stream = stream;
    if (this.endedWith) {
      this.destroy();
      return;
    }
    const decoder = new StringDecoder('utf8');
    let buffer = '';
    stream.on('data', (chunk: Buffer | string) => {
      buffer += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0 && !this.endedWith) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) this.onFrame(line);
      }
      if (buffer.length > MAX_FRAME) this.end('error', 'a stats frame exceeded 1 MiB');
    });
    stream.on('end', () => this.end('closed'));
    stream.on('close', () => this.end('closed'));
    stream.on('error', (e: unknown) => this.end(this.abort.signal.aborted ? 'disposed' : 'error', errorMessage(e)));
  }

  private onFrame(line: string): void {
    let frame: StatsFrame;
    try {
      frame = JSON.parse(line) as StatsFrame;
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    this.frameCount++;
    if (isNotRunningFrame(frame)) {
      this.end('not-running');
      return;
    }
    this.latestReading = this.rates.update(frame, this.now());
  }

  private end(reason: StreamEndReason, message?: string): void {
    if (this.endedWith) return;
    this.endedWith = { id: this.id, reason, message };
    this.abort.abort();
    this.destroy();
    this.onDidEndEmitter.fire(this.endedWith);
    this.onDidEndEmitter.dispose();
  }

  private destroy(): void {
    const s = this.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
    if (!s) return;
    // The abort already errors the socket; the listener keeps that error from going unhandled.
    s.on('error', () => undefined);
    s.destroy?.();
  }
}

export interface ContainerStatsOptions {
  readonly log?: Logger;
  readonly now?: () => number;
  /** How long the pid list of a container is reused (default 30 s). */
  readonly pidsTtlMs?: number;
  /** Least time before a stream that ended is opened again for a container still wanted, or a failed pid listing asked again (default 5 s). */
  readonly reopenAfterMs?: number;
  readonly requestTimeoutMs?: number;
  /** Default 'auto'. */
  readonly source?: ContainerStatsSource;
}

/** A container's pids as `docker top` gave them at `at`, reused for `ttl` ms. */
interface PidList {
  readonly at: number;
  ttl: number;
  pids: Promise<number[]>;
}

/** A container read from its cgroup files; `last` is reused for reads closer together than 250 ms. */
interface KernelEntry {
  readonly source: CgroupStatsSource;
  last?: ContainerStatsReading;
}

/** The figures of the containers being shown: from the kernel's cgroup files where possible, else stats streams. */
export class ContainerStats implements IDisposable {
  private readonly onDidEndEmitter = new Emitter<StreamEnd>();
  /** A stream ended: the container stopped, was removed, or the engine went away. */
  readonly onDidEnd: Event<StreamEnd> = this.onDidEndEmitter.event;
  private readonly streams = new Map<string, ContainerStatsStream>();
  private readonly endedAt = new Map<string, number>();
  private readonly pidCache = new Map<string, PidList>();
  private readonly kernel = new Map<string, KernelEntry>();
  /** Containers whose kernel files are being located (an inspect in flight). */
  private readonly locating = new Set<string>();
  /** Containers whose kernel files could not be opened: they get a stream. */
  private readonly streamOnly = new Set<string>();
  /** Bumped by stop(), so a locate that finishes afterwards is thrown away. */
  private epoch = 0;
  private readonly source: ContainerStatsSource;
  private wanted = new Set<string>();
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly pidsTtlMs: number;
  private readonly reopenAfterMs: number;
  private readonly requestTimeoutMs: number;
  private disposed = false;

  constructor(
    /** The engine client of the moment (EngineConnection.docker); undefined while disconnected. */
    private readonly docker: () => Docker | undefined,
    options: ContainerStatsOptions = {},
  ) {
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.pidsTtlMs = options.pidsTtlMs ?? 30_000;
    this.reopenAfterMs = options.reopenAfterMs ?? 5000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.source = options.source ?? (process.platform === 'linux' ? 'auto' : 'stream');
  }

  /** Ids with an open stream or open kernel files (or being located). */
  get active(): string[] {
    return [...this.streams.keys(), ...this.locating, ...this.kernel.keys()];
  }

  /** Ids read from the kernel's cgroup files rather than a stream. */
  get kernelRead(): string[] {
    return [...this.kernel.keys()];
  }

  get containers(): ReadonlySet<string> {
    return this.wanted;
  }

  /** Streams exactly these containers: new ones are opened, the others closed. */
  setContainers(ids: Iterable<string>): void {
    if (this.disposed) return;
    this.wanted = new Set(ids);
    for (const [id, s] of this.streams) {
      if (!this.wanted.has(id)) {
        this.streams.delete(id);
        s.dispose();
      }
    }
    for (const [id, k] of this.kernel) {
      if (!this.wanted.has(id)) {
        this.kernel.delete(id);
        k.source.dispose();
      }
    }
    for (const id of this.streamOnly) if (!this.wanted.has(id)) this.streamOnly.delete(id);
    for (const id of this.endedAt.keys()) if (!this.wanted.has(id)) this.endedAt.delete(id);
    for (const id of this.pidCache.keys()) if (!this.wanted.has(id)) this.pidCache.delete(id);
    this.reconcile(true);
  }

  /** Opens streams that are wanted but ended a while ago (a container started again, the engine came back). */
  reconcile(force = false): void {
    if (this.disposed) return;
    const docker = this.docker();
    if (!docker) return;
    const now = this.now();
    for (const id of this.wanted) {
      if (this.streams.has(id) || this.kernel.has(id) || this.locating.has(id)) continue;
      const ended = this.endedAt.get(id);
      if (!force && ended !== undefined && now - ended < this.reopenAfterMs) continue;
      this.open(docker, id);
    }
  }

  /** Closes every stream and forgets the set (sampling stopped). */
  stop(): void {
    this.wanted = new Set();
    this.epoch++;
    const open = [...this.streams.values()];
    this.streams.clear();
    for (const s of open) s.dispose();
    for (const k of this.kernel.values()) k.source.dispose();
    this.kernel.clear();
    this.locating.clear();
    this.streamOnly.clear();
    this.endedAt.clear();
    this.pidCache.clear();
  }

  /** The latest reading: a stream's last frame, or the container's cgroup files read now. */
  latest(id: string): ContainerStatsReading | undefined {
    const k = this.kernel.get(id);
    return k ? this.readKernel(id, k) : this.streams.get(id)?.latest;
  }

  /** Readings that arrived within maxAgeMs (streams), and the cgroup files read now. */
  readings(maxAgeMs: number): Map<string, ContainerStatsReading> {
    const cutoff = this.now() - maxAgeMs;
    const out = new Map<string, ContainerStatsReading>();
    for (const [id, s] of this.streams) {
      const r = s.latest;
      if (r && r.at >= cutoff) out.set(id, r);
    }
    for (const [id, k] of [...this.kernel]) {
      const r = this.readKernel(id, k);
      if (r) out.set(id, r);
    }
    return out;
  }

  /**
   * Host pids of the container's processes (`docker top`), reused for pidsTtlMs; GPU processes
   * are matched against them. Empty where the container is gone or the engine cannot tell; that
   * answer is reused only for reopenAfterMs, so one failed request (a busy engine timing out, a
   * container not started yet) does not hide the container's GPU memory for the whole TTL.
   */
  containerPids(id: string): Promise<number[]> {
    const cached = this.pidCache.get(id);
    const now = this.now();
    if (cached && now - cached.at < cached.ttl) return cached.pids;
    const docker = this.docker();
    if (!docker) return Promise.resolve([]);
    const entry: PidList = { at: now, ttl: this.pidsTtlMs, pids: Promise.resolve([]) };
    entry.pids = withTimeout(`Listing the processes of ${id.slice(0, 12)}`, this.requestTimeoutMs, (abortSignal) =>
      (docker.getContainer(id).top as (o: object) => Promise<unknown>)({ abortSignal }),
    ).then(parseTopPids, (e: unknown) => {
      this.log.debug(`docker top ${id.slice(0, 12)} failed: ${errorMessage(e)}`);
      entry.ttl = Math.min(this.pidsTtlMs, this.reopenAfterMs);
      return [] as number[];
    });
    this.pidCache.set(id, entry);
    return entry.pids;
  }

  dispose(): void {
    if (this.disposed) return;
    this.stop();
    this.disposed = true;
    this.onDidEndEmitter.dispose();
  }

  private open(docker: Docker, id: string): void {
    if (this.source === 'auto' && !this.streamOnly.has(id)) this.locate(docker, id);
    else this.openStream(docker, id);
  }

  /**
   * Finds the container's init pid and opens its cgroup files; a container that is not running
   * ends as a stream would, and one whose files cannot be opened gets a stream instead.
   */
  private locate(docker: Docker, id: string): void {
    const epoch = this.epoch;
    this.locating.add(id);
    this.endedAt.delete(id);
    const stillWanted = () => epoch === this.epoch && !this.disposed && this.wanted.has(id) && this.locating.delete(id);
    withTimeout(`Inspecting ${id.slice(0, 12)}`, this.requestTimeoutMs, (abortSignal) =>
      (docker.getContainer(id).inspect as (o: object) => Promise<{ State?: { Running?: boolean; Pid?: number } }>)({ abortSignal }),
    ).then(
      (info) => {
        if (!stillWanted()) return;
        if (!info.State?.Running) {
          this.ended(id, { id, reason: 'not-running' });
          return;
        }
        const files = openCgroupFiles(id, info.State.Pid ?? 0);
        if (typeof files === 'string') {
          this.log.debug(`Stats of ${id.slice(0, 12)} come from the stats stream: ${files}.`);
          this.streamOnly.add(id);
          this.openStream(docker, id);
          return;
        }
        this.kernel.set(id, { source: new CgroupStatsSource(id, files, this.now) });
      },
      (e: unknown) => {
        if (!stillWanted()) return;
        this.ended(id, { id, reason: 'error', message: errorMessage(e) });
      },
    );
  }

  private readKernel(id: string, k: KernelEntry): ContainerStatsReading | undefined {
    if (k.last && this.now() - k.last.at < 250) return k.last;
    try {
      k.last = k.source.read();
      return k.last;
    } catch (e) {
      // The container stopped or restarted: its files are gone. Located again on reconcile.
      k.source.dispose();
      this.kernel.delete(id);
      this.ended(id, { id, reason: 'closed', message: errorMessage(e) });
      return undefined;
    }
  }

  private ended(id: string, e: StreamEnd): void {
    this.endedAt.set(id, this.now());
    if (e.reason === 'error') this.log.debug(`Stats of ${id.slice(0, 12)} ended: ${e.message}`);
    this.onDidEndEmitter.fire(e);
  }

  private openStream(docker: Docker, id: string): void {
    const s = new ContainerStatsStream(id, docker.getContainer(id), this.now);
    this.streams.set(id, s);
    this.endedAt.delete(id);
    s.onDidEnd((e) => {
      if (this.streams.get(id) !== s) return;
      this.streams.delete(id);
      this.ended(id, e);
    });
  }
}

/** The PID column of a `docker top` answer ({ Titles, Processes }). */
export function parseTopPids(top: unknown): number[] {
  const t = top as { Titles?: unknown; Processes?: unknown } | undefined;
  if (!t || !Array.isArray(t.Titles) || !Array.isArray(t.Processes)) return [];
  const col = t.Titles.findIndex((x) => String(x).toUpperCase() === 'PID');
  if (col < 0) return [];
  const out: number[] = [];
  for (const row of t.Processes) {
    const v = Array.isArray(row) ? Number(row[col]) : NaN;
    if (Number.isInteger(v) && v > 0) out.push(v);
  }
  return out;
}
