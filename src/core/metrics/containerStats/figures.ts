// Container figures from stats frames, as `docker stats` computes them: CPU percent, memory less
// the reclaimable page cache, network and block IO summed, and rates between two frames.
import type { StatsFrame } from './answers';

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
