// Container stats streams on the real engine: busy CPU, memory, streams ending on stop and removal, pids.
import * as assert from 'node:assert/strict';
import { ContainerStats, StreamEnd } from '../../../../src/core/metrics/containerStats';
import { createTestContainer, engine, removeTestContainers, waitUntil } from '../../../support/engine';

const BUSY = 'trap "exit 0" TERM; while true; do :; done';

for (const source of ['stream', 'auto'] as const) describe(`container stats (${source === 'stream' ? 'stats streams' : "the kernel's cgroup files"}) on a real engine (integration)`, function () {
  this.timeout(90_000);
  const docker = engine();
  let stats: ContainerStats;
  let ended: StreamEnd[];
  /** Kernel sources notice a stopped container when they are read; streams by themselves. */
  const endOf = (id: string) => () => {
    stats.readings(5000);
    return ended.find((x) => x.id === id);
  };

  before(async () => removeTestContainers());
  beforeEach(() => {
    stats = new ContainerStats(() => docker, { source });
    ended = [];
    stats.onDidEnd((e) => ended.push(e));
  });
  afterEach(async () => {
    stats.dispose();
    await removeTestContainers();
  });

  it('shows a busy container above 20 % CPU with its memory, within bounded time', async () => {
    const c = await createTestContainer({ script: BUSY });
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
    const c = await createTestContainer();
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
    const c = await createTestContainer();
    stats.setContainers([c.id]);
    await waitUntil('a first reading', () => stats.latest(c.id), 20_000, 100);
    await c.remove({ force: true });
    const e = await waitUntil('the stream to end', endOf(c.id), 20_000, 50);
    assert.ok(e.reason === 'not-running' || e.reason === 'closed', `${e.reason}: ${e.message}`);
    assert.deepEqual(stats.active, []);
  });

  it('a container that is not running gets no stream that lingers', async () => {
    const c = await createTestContainer({ start: false });
    stats.setContainers([c.id]);
    const e = await waitUntil('the stream to end', endOf(c.id), 20_000, 50);
    assert.equal(e.reason, 'not-running');
    assert.equal(stats.latest(c.id), undefined);
  });

  it('closes streams of containers no longer shown, without an end event', async () => {
    const a = await createTestContainer();
    const b = await createTestContainer();
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
    const c = await createTestContainer({ script: 'trap "exit 0" TERM; sleep 300 & while true; do sleep 1; done' });
    const main = (await c.inspect()).State.Pid;
    const pids = await stats.containerPids(c.id);
    assert.ok(pids.includes(main), `${main} in ${pids.join(',')}`);
    assert.ok(pids.length >= 2, 'the background sleep is listed too');
    assert.equal(stats.containerPids(c.id), stats.containerPids(c.id), 'one request per 30 s');
    assert.deepEqual(await new ContainerStats(() => docker).containerPids('no-such-container'), []);
  });
});

describe('cgroup files and stats stream agree on a real engine (integration)', function () {
  this.timeout(90_000);
  const docker = engine();
  const both: ContainerStats[] = [];
  afterEach(async () => {
    for (const s of both.splice(0)) s.dispose();
    await removeTestContainers();
  });

  it('gives the same CPU and memory for a busy container from both sources', async () => {
    const c = await createTestContainer({ script: `${BUSY.replace('while true; do :; done', '')} head -c 20000000 /dev/zero > /tmp/blob; while true; do :; done` });
    const kernel = new ContainerStats(() => docker, { source: 'auto' });
    const stream = new ContainerStats(() => docker, { source: 'stream' });
    both.push(kernel, stream);
    kernel.setContainers([c.id]);
    stream.setContainers([c.id]);
    await waitUntil('the cgroup files to open', () => kernel.kernelRead.includes(c.id), 20_000, 50);
    // Both must see the container busy on one core; memory includes the 20 MB file in /tmp (tmpfs-less, so page cache may vary).
    const k = await waitUntil('kernel CPU above 50 %', () => { const x = kernel.latest(c.id); return x?.cpu !== undefined && x.cpu > 50 && x; }, 30_000, 300);
    const s = await waitUntil('stream CPU above 50 %', () => { const x = stream.latest(c.id); return x?.cpu !== undefined && x.cpu > 50 && x; }, 30_000, 300);
    assert.ok(k.cpu! < 130 && s.cpu! < 130, `one busy loop: kernel ${k.cpu}, stream ${s.cpu}`);
    assert.ok(k.memory! > 0 && s.memory! > 0);
    const ratio = k.memory! / s.memory!;
    assert.ok(ratio > 0.5 && ratio < 2, `memory kernel ${k.memory} vs stream ${s.memory}`);
    const net = await waitUntil('kernel network rates', () => { const x = kernel.latest(c.id); return x?.netRx !== undefined && x; }, 10_000, 300);
    assert.ok(net.netRx! >= 0 && net.netTx! >= 0);
  });
});

