// Container stats streams on the real engine: busy CPU, memory, streams ending on stop and removal, pids.
import * as assert from 'node:assert/strict';
import { ContainerStats, StreamEnd } from '../../../../src/core/metrics/containerStats';
import { createTestContainer, engine, removeTestContainers, waitUntil } from '../../../support/engine';

const BUSY = 'trap "exit 0" TERM; while true; do :; done';

describe('container stats streams on a real engine (integration)', function () {
  this.timeout(90_000);
  const docker = engine();
  let stats: ContainerStats;
  let ended: StreamEnd[];

  before(async () => removeTestContainers());
  beforeEach(() => {
    stats = new ContainerStats(() => docker);
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
    assert.equal(stats.readings(5000).get(c.id), stats.latest(c.id));
    assert.deepEqual(ended, []);
  });

  it("ends a container's stream when the container stops", async () => {
    const c = await createTestContainer();
    stats.setContainers([c.id]);
    await waitUntil('a first reading', () => stats.latest(c.id), 20_000, 100);
    await c.stop({ t: 1 });
    const e = await waitUntil('the stream to end', () => ended.find((x) => x.id === c.id), 20_000, 50);
    assert.ok(e.reason === 'not-running' || e.reason === 'closed', `${e.reason}: ${e.message}`);
    assert.deepEqual(stats.active, []);
    // Still wanted: a restart gets a stream again once reconciled.
    await c.start();
    stats.reconcile(true);
    await waitUntil('a reading after the restart', () => stats.latest(c.id), 20_000, 100);
  });

  it("ends a removed container's stream cleanly", async () => {
    const c = await createTestContainer();
    stats.setContainers([c.id]);
    await waitUntil('a first reading', () => stats.latest(c.id), 20_000, 100);
    await c.remove({ force: true });
    const e = await waitUntil('the stream to end', () => ended.find((x) => x.id === c.id), 20_000, 50);
    assert.ok(e.reason === 'not-running' || e.reason === 'closed', `${e.reason}: ${e.message}`);
    assert.deepEqual(stats.active, []);
  });

  it('a container that is not running gets no stream that lingers', async () => {
    const c = await createTestContainer({ start: false });
    stats.setContainers([c.id]);
    const e = await waitUntil('the stream to end', () => ended.find((x) => x.id === c.id), 20_000, 50);
    assert.equal(e.reason, 'not-running');
    assert.equal(stats.latest(c.id), undefined);
  });

  it('closes streams of containers no longer shown, without an end event', async () => {
    const a = await createTestContainer();
    const b = await createTestContainer();
    stats.setContainers([a.id, b.id]);
    await waitUntil('readings of both', () => stats.latest(a.id) && stats.latest(b.id), 20_000, 100);
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
