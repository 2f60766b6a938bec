// Per-container CPU, memory, network and block IO, as `docker stats` computes them, plus container pids.
// The source of each container's figures is chosen here (the kernel's cgroup files or a stats
// stream); the figures are worked out in containerStats/figures.ts, the stream read in
// containerStats/stream.ts, and the engine's answers parsed in containerStats/answers.ts.
import type Docker from 'dockerode';
import { Emitter, errorMessage, type Event, type IDisposable, type Logger, silentLogger } from '../lifecycle';
import { withTimeout } from '../docker/connection';
import { CgroupStatsSource, openCgroupFiles } from './cgroupStats';
import { parseInspectState, parseTopPids } from './containerStats/answers';
import type { ContainerStatsReading } from './containerStats/figures';
import { ContainerStatsStream, type StreamEnd } from './containerStats/stream';

export { parseTopPids, type StatsFrame } from './containerStats/answers';
export { blockTotals, cpuPercent, isNotRunningFrame, memoryUsage, networkTotals, StatsRates, type ContainerStatsReading } from './containerStats/figures';
export { ContainerStatsStream, type StreamEnd, type StreamEndReason } from './containerStats/stream';

/**
 * Where container figures come from: 'auto' reads the kernel's cgroup files when the engine runs
 * on this machine and the container's files can be opened, and the stats stream otherwise;
 * 'stream' always uses the stream.
 */
type ContainerStatsSource = 'auto' | 'stream';

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
      (docker.getContainer(id).inspect as (o: object) => Promise<unknown>)({ abortSignal }),
    ).then(
      (info) => {
        if (!stillWanted()) return;
        const state = parseInspectState(info);
        if (!state) {
          this.ended(id, { id, reason: 'error', message: 'the engine answered the inspect with something other than a container' });
          return;
        }
        if (!state.running) {
          this.ended(id, { id, reason: 'not-running' });
          return;
        }
        const files = openCgroupFiles(id, state.pid);
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
    const s = new ContainerStatsStream(id, docker.getContainer(id), this.now, this.log);
    this.streams.set(id, s);
    this.endedAt.delete(id);
    s.onDidEnd((e) => {
      if (this.streams.get(id) !== s) return;
      this.streams.delete(id);
      this.ended(id, e);
    });
  }
}
