// Container stats streams on the real engine: busy CPU, memory, streams ending on stop and removal, pids.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type Docker from 'dockerode';
import { ContainerStats, StreamEnd } from '../../../../src/core/metrics/containerStats';
import { engine, TestContainers, waitUntil } from '../../../support/engine';

const BUSY = 'trap "exit 0" TERM; while true; do :; done';

/** A host process's command line as the host's /proc shows it ('' once it is gone). */
function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** The commands `docker top` lists for a container, straight from the engine. */
async function topCommands(c: Docker.Container): Promise<string[]> {
  const top = (await c.top()) as { Titles: string[]; Processes: string[][] };
  const col = top.Titles.indexOf('CMD');
  return top.Processes.map((p) => p[col]);
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds a host process has used (utime + stime of /proc/<pid>/stat): the kernel's own count, read by neither source. */
function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}

for (const source of ['stream', 'auto'] as const) describe(`container stats (${source === 'stream' ? 'stats streams' : "the kernel's cgroup files"}) on a real engine (integration)`, function () {
  this.timeout(90_000);
  const docker = engine();
  const own = new TestContainers(docker);
  let stats: ContainerStats;
  let ended: StreamEnd[];
  /** Kernel sources notice a stopped container when they are read; streams by themselves. */
  const endOf = (id: string) => () => {
    stats.readings(5000);
    return ended.find((x) => x.id === id);
  };

  beforeEach(() => {
    stats = new ContainerStats(() => docker, { source });
    ended = [];
    stats.onDidEnd((e) => ended.push(e));
  });
  afterEach(async () => {
    stats.dispose();
    await own.removeAll();
  });

  it('shows a busy container above 20 % CPU with its memory, within bounded time', async () => {
    const c = await own.create({ script: BUSY });
    stats.setContainers([c.id]);
    assert.deepEqual(stats.active, [c.id]);
    // This machine's engine is local: auto mode reads its cgroup files rather than a stream.
    if (source === 'auto') await waitUntil('the cgroup files to open', () => stats.kernelRead.includes(c.id), 20_000, 50);
    const r = await waitUntil('CPU above 20 %', () => {
      const x = stats.latest(c.id);
      return x && x.cpu !== undefined && x.cpu > 20 && x;
    }, 30_000, 100);
    assert.ok(r.memory! > 0, `memory ${r.memory}`);
    const withRates = await waitUntil('network and block rates from a second frame', () => {
      const x = stats.latest(c.id);
      return x && x.netRx !== undefined && x;
    }, 15_000, 100);
    assert.ok(withRates.netRx! >= 0 && withRates.netTx! >= 0);
    if (source === 'stream') assert.equal(stats.readings(5000).get(c.id), stats.latest(c.id));
    else assert.equal(stats.readings(5000).get(c.id)?.at, stats.latest(c.id)?.at, 'reads closer than 250 ms reuse the last one');
    assert.deepEqual(ended, []);
  });

  it("ends a container's stream when the container stops", async () => {
    const c = await own.create();
    stats.setContainers([c.id]);
    await waitUntil('a first reading', () => stats.latest(c.id), 20_000, 100);
    await c.stop({ t: 1 });
    const e = await waitUntil('the stream to end', endOf(c.id), 20_000, 50);
    assert.ok(e.reason === 'not-running' || e.reason === 'closed', `${e.reason}: ${e.message}`);
    assert.deepEqual(stats.active, []);
    // Still wanted: a restart gets a stream again once reconciled.
    await c.start();
    stats.reconcile(true);
    await waitUntil('a reading after the restart', () => stats.latest(c.id), 20_000, 100);
    if (source === 'auto') assert.deepEqual(stats.kernelRead, [c.id], 'read from its new cgroup files');
  });

  it("ends a removed container's stream cleanly", async () => {
    const c = await own.create();
    stats.setContainers([c.id]);
    await waitUntil('a first reading', () => stats.latest(c.id), 20_000, 100);
    await c.remove({ force: true });
    const e = await waitUntil('the stream to end', endOf(c.id), 20_000, 50);
    assert.ok(e.reason === 'not-running' || e.reason === 'closed', `${e.reason}: ${e.message}`);
    assert.deepEqual(stats.active, []);
  });

  it('a container that is not running gets no stream that lingers', async () => {
    const c = await own.create({ start: false });
    stats.setContainers([c.id]);
    const e = await waitUntil('the stream to end', endOf(c.id), 20_000, 50);
    assert.equal(e.reason, 'not-running');
    assert.equal(stats.latest(c.id), undefined);
  });

  it('closes streams of containers no longer shown, without an end event', async () => {
    const a = await own.create();
    const b = await own.create();
    stats.setContainers([a.id, b.id]);
    await waitUntil('readings of both', () => stats.latest(a.id) && stats.latest(b.id), 20_000, 100);
    if (source === 'auto') assert.deepEqual(stats.kernelRead.sort(), [a.id, b.id].sort());
    stats.setContainers([b.id]);
    assert.deepEqual(stats.active, [b.id]);
    stats.stop();
    assert.deepEqual(stats.active, []);
    assert.deepEqual(ended, []);
  });

  it("lists the host pids of a container's processes, its main process included, and caches them", async () => {
    const c = await own.create({ script: 'trap "exit 0" TERM; sleep 300 & while true; do sleep 1; done' });
    const main = (await c.inspect()).State.Pid;
    // The shell forks its background sleep a moment after the container starts: ask once the engine lists it.
    await waitUntil('docker top to list the background sleep', async () => (await topCommands(c)).includes('sleep 300'), 20_000, 50);
    const pids = await stats.containerPids(c.id);
    assert.ok(pids.includes(main), `${main} in ${pids.join(',')}`);
    // Host pids, not the container's own pid namespace: the host's /proc shows the sleep under one of them.
    assert.ok(pids.some((p) => cmdline(p) === 'sleep 300'), `the background sleep among ${pids.map((p) => `${p}: ${cmdline(p)}`).join('; ')}`);
    assert.equal(stats.containerPids(c.id), stats.containerPids(c.id), 'one request per 30 s');
    assert.deepEqual(await new ContainerStats(() => docker).containerPids('no-such-container'), []);
  });
});

describe('container pids over time on a real engine (integration)', function () {
  this.timeout(60_000);
  const docker = engine();
  const own = new TestContainers(docker);
  afterEach(() => own.removeAll());

  it('asks again 5 s after a failed listing, and after 30 s for processes started since', async () => {
    let clock = 1_000_000;
    const stats = new ContainerStats(() => docker, { now: () => clock });
    try {
      const c = await own.create({ start: false });
      assert.deepEqual(await stats.containerPids(c.id), [], 'not running: the engine lists no processes');
      await c.start();
      const main = (await c.inspect()).State.Pid;
      clock += 1000;
      assert.deepEqual(await stats.containerPids(c.id), [], 'a failed listing is reused for a moment, not asked every sample');
      clock += 4000;
      assert.ok((await stats.containerPids(c.id)).includes(main), 'asked again 5 s after the failure');

      // A process started later in the container shows once the list is 30 s old.
      const exec = await c.exec({ Cmd: ['sleep', '301'] });
      await exec.start({ Detach: true });
      await waitUntil('docker top to list the new process', async () => (await topCommands(c)).includes('sleep 301'), 20_000, 50);
      const isNew = (p: number) => cmdline(p) === 'sleep 301';
      clock += 29_000;
      assert.ok(!(await stats.containerPids(c.id)).some(isNew), 'reused within 30 s');
      clock += 1000;
      const later = await stats.containerPids(c.id);
      assert.ok(later.some(isNew) && later.includes(main), `the new process and the main one in ${later.join(',')}`);
    } finally {
      stats.dispose();
    }
  });
});

describe('cgroup files and stats stream agree on a real engine (integration)', function () {
  this.timeout(90_000);
  const docker = engine();
  const own = new TestContainers(docker);
  const both: ContainerStats[] = [];
  afterEach(async () => {
    for (const s of both.splice(0)) s.dispose();
    await own.removeAll();
  });

  it('gives the CPU the kernel counted for a busy container from both sources, and the same memory', async () => {
    const c = await own.create({ script: `${BUSY.replace('while true; do :; done', '')} head -c 20000000 /dev/zero > /tmp/blob; while true; do :; done` });
    const pid = (await c.inspect()).State.Pid;
    const kernel = new ContainerStats(() => docker, { source: 'auto' });
    const stream = new ContainerStats(() => docker, { source: 'stream' });
    both.push(kernel, stream);
    kernel.setContainers([c.id]);
    stream.setContainers([c.id]);
    await waitUntil('the cgroup files to open', () => kernel.kernelRead.includes(c.id), 20_000, 50);
    // From here on only the busy shell (the main process) uses CPU in the container.
    await waitUntil('head to finish writing the blob', async () => (await topCommands(c)).length === 1, 20_000, 50);

    // One window for all three: from one stream frame to the fifth after it. A frame covers the
    // time since the frame before, so the frames' mean covers the window; the cgroup files are read
    // at both ends, so their rate covers it too. How much CPU the container gets depends on what
    // else runs on the machine: the kernel's count for the process is the reference, not a fixed figure.
    const nextFrame = (after?: object) =>
      waitUntil('a stream frame', () => { const x = stream.latest(c.id); return x && x !== after && x; }, 20_000, 10);
    let frame = await nextFrame();
    const t0 = performance.now();
    const cpu0 = processCpuSeconds(pid);
    kernel.latest(c.id);
    const streamCpu: number[] = [];
    while (streamCpu.length < 5) {
      frame = await nextFrame(frame);
      assert.ok(frame.cpu !== undefined, 'every frame after the first has CPU');
      streamCpu.push(frame.cpu);
    }
    const k = kernel.latest(c.id)!;
    const got = ((processCpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
    const s = streamCpu.reduce((a, b) => a + b, 0) / streamCpu.length;
    const figures = `the process used ${got.toFixed(1)} % of a core; cgroup files ${k.cpu?.toFixed(1)}, stream ${s.toFixed(1)} (${streamCpu.map((x) => x.toFixed(0)).join(', ')})`;
    assert.ok(got > 10, `the busy container got too little CPU to compare: ${figures}`);
    // Percent of one core: a source off by the core count (2 here) or reading 0 lands far outside.
    assert.ok(k.cpu !== undefined && Math.abs(k.cpu / got - 1) < 0.15, `cgroup files: ${figures}`);
    assert.ok(Math.abs(s / got - 1) < 0.3, `stream: ${figures}`);

    // Memory includes the 20 MB file in /tmp (tmpfs-less, so page cache may vary).
    assert.ok(k.memory! > 0 && frame.memory! > 0);
    const ratio = k.memory! / frame.memory!;
    assert.ok(ratio > 0.5 && ratio < 2, `memory kernel ${k.memory} vs stream ${frame.memory}`);
    const net = await waitUntil('kernel network rates', () => { const x = kernel.latest(c.id); return x?.netRx !== undefined && x; }, 10_000, 300);
    assert.ok(net.netRx! >= 0 && net.netTx! >= 0);
  });
});
