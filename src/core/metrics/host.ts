// Samples this machine's CPU, memory, disk and network with cheap, time-bounded calls only.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { errorMessage, type Logger, silentLogger } from '../lifecycle';
import type { SeriesInfo } from './types';

interface HostReading {
  /** CPU use over all cores, 0–100. */
  readonly cpu?: number;
  /** Memory in use (total − available), so the page cache does not count as used. */
  readonly memoryUsed?: number;
  readonly memoryTotal?: number;
  readonly memoryAvailable?: number;
  readonly diskUsed?: number;
  readonly diskTotal?: number;
  readonly diskMount?: string;
  /** Bytes per second over the physical interfaces. */
  readonly netRx?: number;
  readonly netTx?: number;
}

/** Cumulative CPU time (any unit) spent idle and in total since boot. */
interface CpuTimes {
  readonly idle: number;
  readonly total: number;
}

/** Cumulative byte counters of the host's physical interfaces. */
interface NetCounters {
  readonly rx: number;
  readonly tx: number;
}

type HostPart = 'cpu' | 'memory' | 'disk' | 'network';

/** Where readings come from; tests and benchmarks may hand in their own. */
export interface HostSource {
  cpuTimes(): Promise<CpuTimes | undefined>;
  memory(): Promise<{ total: number; available: number } | undefined>;
  disk(mount: string): Promise<{ used: number; total: number; mount: string } | undefined>;
  /** Absent where counting network bytes would cost a process per call. */
  netCounters?(): Promise<NetCounters | undefined>;
  /** Least time between two reads of a part (ms), for parts that cost more than a file read. */
  readonly minIntervalMs?: Partial<Record<HostPart, number>>;
}

export interface HostSamplerOptions {
  readonly log?: Logger;
  readonly now?: () => number;
  readonly source?: HostSource;
  /** Bound on each call (default 2 s); a late answer is dropped, not waited for. */
  readonly callTimeoutMs?: number;
  /** The mount whose usage is shown (default "/", or the system drive on Windows). */
  readonly diskMount?: string;
}

/** Interfaces whose traffic is already counted on a physical one (containers, bridges, tunnels) or never leaves the machine. */
const VIRTUAL_INTERFACE = /^(lo|veth|docker|br-|virbr|vnet|cni|flannel|cali|weave|podman|kube|tun|tap|tailscale|wg|zt|lxc|lxd)/;

/** Sums rx/tx bytes of the physical interfaces in /proc/net/dev text. */
export function parseProcNetDev(text: string): NetCounters | undefined {
  let rx = 0;
  let tx = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (!name || VIRTUAL_INTERFACE.test(name)) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/);
    // receive: bytes packets errs drop fifo frame compressed multicast, then transmit: bytes …
    const r = Number(f[0]);
    const t = Number(f[8]);
    if (!Number.isFinite(r) || !Number.isFinite(t)) continue;
    rx += r;
    tx += t;
    seen = true;
  }
  return seen ? { rx, tx } : undefined;
}

/** The aggregate "cpu" line of /proc/stat; iowait counts as idle, guest time is already in user. */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.slice(0, text.indexOf('\n') >>> 0);
  const m = /^cpu\s+(.*)$/.exec(line);
  if (!m) return undefined;
  const f = m[1].trim().split(/\s+/).map(Number);
  if (f.length < 4 || f.some((x) => !Number.isFinite(x))) return undefined;
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { idle: idle + iowait, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

function cpuTimesFromOs(): CpuTimes | undefined {
  let idle = 0;
  let total = 0;
  for (const c of os.cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
  }
  return total > 0 ? { idle, total } : undefined;
}

let statfsMissing = false;
/** fsSize() runs df (PowerShell on Windows): its answer is reused for a minute. */
let fsSizeCache: { at: number; list: Promise<{ mount: string; size: number; used: number }[]> } | undefined;

/** Loaded on first use: evaluating systeminformation costs about 50 ms, and Linux and Windows need it only where statfs is missing. */
const systeminformation = () => import('systeminformation');

/**
 * systeminformation where it is cheap, plain Node elsewhere: its currentLoad() runs a synchronous
 * shell on Linux (about 10 ms of blocked event loop per call), its mem() starts PowerShell on
 * Windows and vm_stat on macOS, and its fsSize() runs df or PowerShell. The kernel counters behind
 * them are one file read or one syscall away.
 */
const defaultHostSource: HostSource = {
  async cpuTimes() {
    if (process.platform === 'linux') return parseProcStat(readProcFile('/proc/stat')) ?? cpuTimesFromOs();
    return cpuTimesFromOs();
  },
  async memory() {
    // os.freemem() is MemAvailable on Linux and ullAvailPhys on Windows; on macOS it counts free pages only.
    if (process.platform === 'darwin') {
      const m = await (await systeminformation()).mem();
      return { total: m.total, available: m.available };
    }
    return { total: os.totalmem(), available: os.freemem() };
  },
  async disk(mount) {
    if (!statfsMissing) {
      try {
        const s = await fs.promises.statfs(mount);
        return { used: (s.blocks - s.bfree) * s.bsize, total: s.blocks * s.bsize, mount };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSYS' && typeof fs.promises.statfs === 'function') throw e;
        statfsMissing = true;
      }
    }
    if (!fsSizeCache || Date.now() - fsSizeCache.at > 60_000) {
      fsSizeCache = { at: Date.now(), list: systeminformation().then((si) => si.fsSize()) };
    }
    const pick = pickFilesystem(await fsSizeCache.list, mount);
    return pick && { used: pick.used, total: pick.size, mount: pick.mount };
  },
  async netCounters() {
    if (process.platform === 'linux') return parseProcNetDev(readProcFile('/proc/net/dev'));
    // Windows would answer through PowerShell: far too dear for one chart.
    if (process.platform === 'win32') return undefined;
    const stats = await (await systeminformation()).networkStats();
    if (!stats.length) return undefined;
    return { rx: stats.reduce((s, x) => s + (x.rx_bytes || 0), 0), tx: stats.reduce((s, x) => s + (x.tx_bytes || 0), 0) };
  },
  minIntervalMs: {
    // macOS: vm_stat and netstat are processes.
    memory: process.platform === 'darwin' ? 10_000 : 0,
    network: process.platform === 'linux' ? 0 : 10_000,
    disk: 10_000,
  },
};

const procBuffer = Buffer.alloc(64 * 1024);

/**
 * Reads a /proc file synchronously: the kernel renders it from memory in microseconds, while the
 * promise API costs four thread-pool round trips and a FileHandle per read. Bounded to 1 MiB.
 */
function readProcFile(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    let text = '';
    for (let pos = 0; pos < 1024 * 1024; ) {
      const n = fs.readSync(fd, procBuffer, 0, procBuffer.length, pos);
      if (n <= 0) break;
      text += procBuffer.toString('latin1', 0, n);
      pos += n;
    }
    return text;
  } finally {
    fs.closeSync(fd);
  }
}

export function pickFilesystem<T extends { mount: string; size: number }>(list: readonly T[], mount: string): T | undefined {
  const norm = (m: string) => m.toLowerCase().replace(/[\\/]+$/, '') || '/';
  const usable = list.filter((f) => f.size > 0);
  return usable.find((f) => norm(f.mount) === norm(mount)) ?? usable.reduce<T | undefined>((a, b) => (!a || b.size > a.size ? b : a), undefined);
}

const HOST_ENTITY = 'this machine';

export class HostSampler {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly source: HostSource;
  private readonly callTimeoutMs: number;
  private readonly diskMount: string;
  private readonly lastRead = new Map<HostPart, number>();
  private prevCpu: CpuTimes | undefined;
  private prevNet: { at: number; counters: NetCounters } | undefined;
  private memory: { total: number; available: number } | undefined;
  private disk: { used: number; total: number; mount: string } | undefined;
  private net: NetCounters | undefined;
  /** Calls still running past their bound are not started again until they settle, so they cannot pile up. */
  private readonly pending = new Set<HostPart>();
  private readonly warned = new Set<HostPart>();

  constructor(options: HostSamplerOptions = {}) {
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.source = options.source ?? defaultHostSource;
    this.callTimeoutMs = options.callTimeoutMs ?? 2000;
    this.diskMount = options.diskMount ?? (process.platform === 'win32' ? `${process.env.SystemDrive ?? 'C:'}\\` : '/');
  }

  /** Forgets rates and cached readings, so the first tick after a pause does not average over the pause. */
  reset(): void {
    this.prevCpu = undefined;
    this.prevNet = undefined;
    this.net = undefined;
    this.lastRead.clear();
  }

  async sample(): Promise<HostReading> {
    const now = this.now();
    const [cpu] = await Promise.all([this.readCpu(), this.readMemory(now), this.readDisk(now), this.readNet(now)]);
    const mem = this.memory;
    return {
      cpu,
      memoryUsed: mem && mem.total > 0 ? Math.max(0, mem.total - mem.available) : undefined,
      memoryTotal: mem?.total,
      memoryAvailable: mem?.available,
      diskUsed: this.disk?.used,
      diskTotal: this.disk?.total,
      diskMount: this.disk?.mount,
      netRx: this.net?.rx,
      netTx: this.net?.tx,
    };
  }

  private due(part: HostPart, now: number): boolean {
    const min = this.source.minIntervalMs?.[part] ?? 0;
    const last = this.lastRead.get(part);
    if (last !== undefined && now - last < min) return false;
    this.lastRead.set(part, now);
    return true;
  }

  private async readCpu(): Promise<number | undefined> {
    const times = await this.call('cpu', () => this.source.cpuTimes());
    if (!times) return undefined;
    const prev = this.prevCpu;
    this.prevCpu = times;
    if (!prev) return undefined;
    const total = times.total - prev.total;
    const idle = times.idle - prev.idle;
    if (total <= 0 || idle < 0) return undefined;
    return clamp(((total - idle) / total) * 100, 0, 100);
  }

  private async readMemory(now: number): Promise<void> {
    if (!this.due('memory', now)) return;
    this.memory = await this.call('memory', () => this.source.memory());
  }

  private async readDisk(now: number): Promise<void> {
    if (!this.due('disk', now)) return;
    this.disk = await this.call('disk', () => this.source.disk(this.diskMount));
  }

  private async readNet(now: number): Promise<void> {
    const read = this.source.netCounters;
    if (!read || !this.due('network', now)) return;
    const counters = await this.call('network', () => read.call(this.source));
    const prev = this.prevNet;
    this.prevNet = counters && { at: now, counters };
    if (!counters || !prev || now <= prev.at) {
      if (!counters) this.net = undefined;
      return;
    }
    const dt = (now - prev.at) / 1000;
    const rx = counters.rx - prev.counters.rx;
    const tx = counters.tx - prev.counters.tx;
    // Counters restart when an interface goes away; a gap beats a negative rate.
    this.net = rx >= 0 && tx >= 0 ? { rx: rx / dt, tx: tx / dt } : undefined;
  }

  private async call<T>(part: HostPart, fn: () => Promise<T | undefined>): Promise<T | undefined> {
    if (this.pending.has(part)) return undefined;
    this.pending.add(part);
    let p: Promise<T | undefined>;
    try {
      p = fn();
    } catch (e) {
      p = Promise.reject(e);
    }
    const settled = () => this.pending.delete(part);
    p.then(settled, settled);
    let timer: NodeJS.Timeout | undefined;
    try {
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${this.callTimeoutMs} ms`)), this.callTimeoutMs);
        timer.unref?.();
      });
      const v = await Promise.race([p, bound]);
      if (this.warned.delete(part)) this.log.info(`Host ${part} readings are back.`);
      return v;
    } catch (e) {
      if (!this.warned.has(part)) {
        this.warned.add(part);
        this.log.warn(`Reading the host ${part} failed (${errorMessage(e)}); its chart shows a gap until it answers again.`);
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** The host series a reading has values for. */
export function hostSeries(r: HostReading): SeriesInfo[] {
  const base = { group: 'host' as const, entity: HOST_ENTITY, entityId: 'host' };
  const out: SeriesInfo[] = [];
  if (r.cpu !== undefined) out.push({ ...base, key: 'host.cpu', metric: 'cpu', unit: '%', max: 100 });
  if (r.memoryUsed !== undefined) out.push({ ...base, key: 'host.memory', metric: 'memory', unit: 'bytes', max: r.memoryTotal });
  if (r.diskUsed !== undefined) out.push({ ...base, key: 'host.disk', metric: 'disk', unit: 'bytes', max: r.diskTotal });
  if (r.netRx !== undefined) out.push({ ...base, key: 'host.net.rx', metric: 'net.rx', unit: 'B/s' });
  if (r.netTx !== undefined) out.push({ ...base, key: 'host.net.tx', metric: 'net.tx', unit: 'B/s' });
  return out;
}

/** The values of a reading, keyed as hostSeries() names them. */
export function hostValues(r: HostReading, into: Map<string, number>): void {
  if (r.cpu !== undefined) into.set('host.cpu', r.cpu);
  if (r.memoryUsed !== undefined) into.set('host.memory', r.memoryUsed);
  if (r.diskUsed !== undefined) into.set('host.disk', r.diskUsed);
  if (r.netRx !== undefined) into.set('host.net.rx', r.netRx);
  if (r.netTx !== undefined) into.set('host.net.tx', r.netTx);
}
