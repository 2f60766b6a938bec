// One sampler for every window: the service samples the real host and engine only while a client
// is subscribed to /v1/metrics/events, sends the history first and each sample after, and a
// window's RemoteSampler mirrors it into a store the charts read.
import * as assert from 'node:assert/strict';
import type { MetricsEvent } from '../../../src/service/protocol';
import { RemoteSampler } from '../../../src/service/remoteSampler';
import { Emitter } from '../../../src/core/lifecycle';
import { createTestContainer, removeTestContainers, uniqueName, waitUntil } from '../../support/engine';
import { newHome, serve, stopServed, type Home, type Served } from './support';

interface Status {
  metrics: { sampling: boolean; samplesTaken: number; intervalMs: number };
}

describe('metrics from the service (integration)', function () {
  this.timeout(120_000);
  let home: Home;
  let served: Served;

  before(async () => {
    home = newHome();
    // Samples every 250 ms; no nvidia-smi here.
    home.config({ metrics: { intervalSeconds: 0.25, gpu: false } });
    served = await serve(home);
  });
  after(async () => {
    await removeTestContainers().catch(() => undefined);
    await stopServed(served);
    home?.cleanup();
  });

  const status = () => home.client().get<Status>('/v1/status');

  it("samples only while a client is subscribed: the history first, then each sample with the running containers' series", async () => {
    assert.equal((await status()).metrics.sampling, false, 'nobody subscribed: no sampling');
    const name = uniqueName('sampled');
    const c = await createTestContainer({ name });
    const events: MetricsEvent[] = [];
    const sub = home.client().metrics((e) => events.push(e));
    try {
      await waitUntil("the container's CPU series", () => events.some((e) => e.type === 'metrics.sample' && `container.${c.id}.cpu` in e.values), 30_000, 50);
      assert.equal(events[0].type, 'metrics.init', 'the history comes first');
      assert.ok(events.some((e) => e.type === 'metrics.sample' && e.added.some((s) => s.key === `container.${c.id}.memory` && s.entity === name)));
      assert.ok(events.some((e) => e.type === 'metrics.sample' && typeof e.values['host.cpu'] === 'number'));
      const s = await status();
      assert.equal(s.metrics.sampling, true);
      assert.equal(s.metrics.intervalMs, 250);
      assert.match((await home.client().call<{ text: string }>('metrics.prometheus', {})).text, new RegExp(`llmstack_container_cpu_percent\\{[^}]*container="${name}"`));
      const snap = await home.client().call<{ series: { key: string }[]; window?: { t: number[]; columns: unknown[][] } }>('metrics.snapshot', { windowMinutes: 1 });
      assert.ok(snap.series.some((x) => x.key === 'host.cpu'));
      assert.ok(snap.window && snap.window.t.length > 1 && snap.window.columns.length === snap.series.length);
    } finally {
      sub.dispose();
    }
    await waitUntil('sampling to stop with the last subscriber', async () => !(await status()).metrics.sampling, 10_000, 50);
    const taken = (await status()).metrics.samplesTaken;
    // Four intervals with nobody subscribed (a check that nothing happens).
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await status()).metrics.samplesTaken, taken, 'no sample while nobody looks');
    await assert.rejects(home.client().call('metrics.snapshot', { windowMinutes: -1 }), /windowMinutes/);
  });

  it("a window's RemoteSampler: held, it fills its store from the history and the samples; released, the service stops", async () => {
    const connected = new Emitter<unknown>();
    const lines: string[] = [];
    const remote = new RemoteSampler({
      subscribe: (l, end) => Promise.resolve(home.client().metrics(l, end)),
      call: (n, i) => home.client().call(n, i),
      onDidConnect: connected.event,
      log: { debug: () => undefined, info: () => undefined, warn: (m) => lines.push(m), error: (m) => lines.push(m) },
    });
    try {
      let resets = 0;
      remote.onDidReset(() => resets++);
      const lease = remote.acquire('panel');
      assert.deepEqual(remote.reasons, ['panel']);
      await waitUntil('samples in the window', () => remote.samplesTaken >= 3, 30_000, 50);
      assert.equal(resets, 1, 'the history arrived once');
      assert.ok(remote.isRunning);
      const points = remote.store.ring('host.cpu')!.length;
      assert.ok(points >= 3, `${points} points of host.cpu`);
      lease.dispose();
      assert.equal(remote.isRunning, false);
      await waitUntil('the service to stop sampling', async () => !(await status()).metrics.sampling, 10_000, 50);
      // Held again: the history the service kept comes back first (at least what was seen).
      const again = remote.acquire('status bar');
      await waitUntil('the history again', () => resets === 2, 30_000, 50);
      assert.ok(remote.store.ring('host.cpu')!.length >= points, 'the history holds the earlier points');
      again.dispose();
      assert.match(await remote.toPrometheus(), /llmstack_host_memory_bytes \d+/);
      assert.match(await remote.snapshotJson(60_000), /"window"/);
      assert.deepEqual(lines, []);
    } finally {
      remote.dispose();
      connected.dispose();
    }
  });
});
