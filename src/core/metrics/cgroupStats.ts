// Container CPU, memory, network and block IO read straight from the kernel (cgroup files and the
// container's /proc/<pid>/net/dev) when the engine runs on this machine. Twenty Docker stats
// streams cost about 1 % of a core here just to receive (one socket wake-up and one HTTP chunk
// per container per second, ~0.6 ms each on a small VM, measured with nothing parsed); reading
// five small files per container once per sample costs a fraction of that. Anything that does
// not check out (another machine's engine, Docker Desktop's VM, a cgroup namespace that hides
// the path) falls back to the stats stream, so the figures are the same either way.
import * as fs from 'node:fs';
import type { ContainerStatsReading } from './containerStats/figures';

/** The files of one container, kept open: each sample is one pread per file, no open/close. */
interface Files {
  cpu: number;
  /** cgroup v1 cpuacct.usage is nanoseconds; v2 cpu.stat usage_usec is microseconds. */
  cpuV2: boolean;
  memUsage: number;
  memStat: number;
  memLimit: number | undefined;
  io: number | undefined;
  ioV2: boolean;
  net: number | undefined;
}

const MAX_READ = 64 * 1024;
/** One buffer for every read: the reads are synchronous and never overlap. */
let shared: Buffer | undefined;

function readFd(fd: number): string {
  shared ??= Buffer.allocUnsafe(MAX_READ);
  const n = fs.readSync(fd, shared, 0, MAX_READ, 0);
  if (n <= 0) throw new Error('empty read');
  return shared.toString('latin1', 0, n);
}

/** The number after `key ` at the start of a line of a "key value" file (memory.stat, cpu.stat). */
export function statValue(text: string, key: string): number | undefined {
  let at = text.startsWith(`${key} `) ? 0 : text.indexOf(`\n${key} `);
  if (at < 0) return undefined;
  if (at > 0) at++;
  const end = text.indexOf('\n', at);
  const v = Number(text.slice(at + key.length + 1, end < 0 ? undefined : end));
  return Number.isFinite(v) ? v : undefined;
}

/** Bytes received and sent over every interface but loopback, from /proc/<pid>/net/dev. */
export function parseNetDev(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo' || name.includes('|')) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/);
    rx += Number(f[0]) || 0;
    tx += Number(f[8]) || 0;
  }
  return { rx, tx };
}

/** Read and write bytes from blkio.throttle.io_service_bytes (v1, "8:0 Read 123") or io.stat (v2, "8:0 rbytes=1 wbytes=2"). */
export function parseBlockIo(text: string, v2: boolean): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    if (v2) {
      for (const part of line.split(' ')) {
        if (part.startsWith('rbytes=')) read += Number(part.slice(7)) || 0;
        else if (part.startsWith('wbytes=')) write += Number(part.slice(7)) || 0;
      }
    } else {
      const f = line.split(' ');
      if (f.length !== 3) continue;
      if (f[1] === 'Read') read += Number(f[2]) || 0;
      else if (f[1] === 'Write') write += Number(f[2]) || 0;
    }
  }
  return { read, write };
}

/**
 * The container's cgroup folders from /proc/<pid>/cgroup: the v2 path, or per v1 controller.
 * Only paths that name the container id count: anything else is another machine's pid or a
 * namespace that hides the container's own path.
 */
export function cgroupPaths(procCgroup: string, containerId: string): { v2?: string; v1: Map<string, string> } {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of procCgroup.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const p = line.slice(second + 1).trim();
    if (!p.includes(containerId)) continue;
    if (controllers === '') v2 = p;
    else for (const c of controllers.split(',')) v1.set(c, p);
  }
  return { v2, v1 };
}

function tryOpen(file: string): number | undefined {
  try {
    return fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
}

/** Opens the files of a container whose init process is `pid`, or says why it cannot. */
export function openCgroupFiles(containerId: string, pid: number, root = '/sys/fs/cgroup', proc = '/proc'): Files | string {
  if (!(pid > 0)) return 'the container has no process';
  let procCgroup: string;
  try {
    procCgroup = fs.readFileSync(`${proc}/${pid}/cgroup`, 'utf8');
  } catch (e) {
    return `cannot read ${proc}/${pid}/cgroup (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  const paths = cgroupPaths(procCgroup, containerId);
  const opened: number[] = [];
  const open = (file: string) => {
    const fd = tryOpen(file);
    if (fd !== undefined) opened.push(fd);
    return fd;
  };
  const fail = (why: string) => {
    for (const fd of opened) fs.closeSync(fd);
    return why;
  };
  let files: Files | undefined;
  const pureV2 = fs.existsSync(`${root}/cgroup.controllers`);
  if (pureV2 && paths.v2 !== undefined) {
    const dir = `${root}${paths.v2}`;
    const cpu = open(`${dir}/cpu.stat`);
    const memUsage = open(`${dir}/memory.current`);
    const memStat = open(`${dir}/memory.stat`);
    if (cpu === undefined || memUsage === undefined || memStat === undefined) return fail(`cannot open the cgroup v2 files in ${dir}`);
    files = { cpu, cpuV2: true, memUsage, memStat, memLimit: open(`${dir}/memory.max`), io: open(`${dir}/io.stat`), ioV2: true, net: undefined };
  } else {
    const dirOf = (controller: string, mount = controller) => {
      const p = paths.v1.get(controller);
      return p === undefined ? undefined : `${root}/${mount}${p}`;
    };
    const cpuDir = dirOf('cpuacct') ?? dirOf('cpuacct', 'cpu,cpuacct');
    const memDir = dirOf('memory');
    if (!cpuDir || !memDir) return fail('no cgroup v1 cpuacct/memory path for the container');
    const cpu = open(`${cpuDir}/cpuacct.usage`) ?? open(`${root}/cpu,cpuacct${paths.v1.get('cpuacct')}/cpuacct.usage`);
    const memUsage = open(`${memDir}/memory.usage_in_bytes`);
    const memStat = open(`${memDir}/memory.stat`);
    if (cpu === undefined || memUsage === undefined || memStat === undefined) return fail(`cannot open the cgroup v1 files in ${cpuDir} and ${memDir}`);
    const blkDir = dirOf('blkio');
    const io = blkDir ? (open(`${blkDir}/blkio.throttle.io_service_bytes_recursive`) ?? open(`${blkDir}/blkio.throttle.io_service_bytes`)) : undefined;
    files = { cpu, cpuV2: false, memUsage, memStat, memLimit: open(`${memDir}/memory.limit_in_bytes`), io, ioV2: false, net: undefined };
  }
  files.net = open(`${proc}/${pid}/net/dev`);
  return files;
}

/** Turns consecutive readings of a container's files into the same reading a stats frame gives. */
export class CgroupStatsSource {
  private prev: { t: number; cpuNs: number; net?: { rx: number; tx: number }; blk?: { read: number; write: number } } | undefined;
  private closed = false;

  constructor(
    readonly id: string,
    private readonly files: Files,
    private readonly now: () => number = Date.now,
  ) {}

  /** One reading; throws when the files no longer answer (the container stopped or restarted). */
  read(): ContainerStatsReading {
    if (this.closed) throw new Error('closed');
    const f = this.files;
    const at = this.now();
    const t = performance.now();
    const cpuText = readFd(f.cpu);
    const cpuNs = f.cpuV2 ? (statValue(cpuText, 'usage_usec') ?? NaN) * 1000 : Number(cpuText);
    const usage = Number(readFd(f.memUsage));
    const stat = readFd(f.memStat);
    const inactive = statValue(stat, f.cpuV2 ? 'inactive_file' : 'total_inactive_file');
    const memory = inactive !== undefined && inactive < usage ? usage - inactive : usage;
    let memoryLimit: number | undefined;
    if (f.memLimit !== undefined) {
      const raw = readFd(f.memLimit).trim();
      const n = raw === 'max' ? NaN : Number(raw);
      // An unlimited v1 cgroup reports a huge page-rounded number.
      memoryLimit = Number.isFinite(n) && n < 2 ** 60 ? n : undefined;
    }
    const net = f.net !== undefined ? parseNetDev(readFd(f.net)) : undefined;
    const blk = f.io !== undefined ? parseBlockIo(readFd(f.io), f.ioV2) : undefined;
    const prev = this.prev;
    this.prev = { t, cpuNs, net, blk };
    const dt = prev ? (t - prev.t) / 1000 : 0;
    const rate = (cur: number | undefined, before: number | undefined) =>
      dt > 0 && cur !== undefined && before !== undefined && cur >= before ? (cur - before) / dt : undefined;
    const cpuRate = rate(cpuNs, prev?.cpuNs);
    return {
      at,
      // ns of CPU per s of wall time, in percent of one core: what `docker stats` shows.
      cpu: cpuRate === undefined ? undefined : cpuRate / 1e7,
      memory,
      memoryLimit,
      netRx: rate(net?.rx, prev?.net?.rx),
      netTx: rate(net?.tx, prev?.net?.tx),
      blockRead: rate(blk?.read, prev?.blk?.read),
      blockWrite: rate(blk?.write, prev?.blk?.write),
    };
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    const f = this.files;
    for (const fd of [f.cpu, f.memUsage, f.memStat, f.memLimit, f.io, f.net]) {
      if (fd === undefined) continue;
      try {
        fs.closeSync(fd);
      } catch {
        // already gone
      }
    }
  }
}
