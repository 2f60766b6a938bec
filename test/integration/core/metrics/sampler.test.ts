// The sampler wired as the extension wires it, on the real engine: held-only sampling and container series.
import * as assert from 'node:assert/strict';
import { MetricsSampler, SampleEvent } from '../../../../src/core/metrics/sampler';
import { uniqueName, waitUntil } from '../../../support/engine';
import { useEngine } from '../../../support/engineFixture';

describe('metrics sampler on a real engine (integration)', function () {
  this.timeout(90_000);
  // The sampler is disposed before its containers go: removeEach is left to the afterEach below.
  const env = useEngine({ removeEach: false });
  const own = env.own;
  let sampler: MetricsSampler;

  beforeEach(() => {
    sampler = new MetricsSampler({ engine: env.connection, containers: env.cache, intervalMs: 250 });
  });
  afterEach(async () => {
    sampler.dispose();
    await own.removeAll();
  });

  it('samples host and container series only while held, and stops streaming on release', async () => {
    const name = uniqueName('metrics-busy');
    const c = await own.create({ name, script: 'trap "exit 0" TERM; while true; do :; done' });
    await env.cache.waitFor((cache) => cache.get(c.id)?.state === 'running', 20_000);
    sampler.setContainers([c.id]);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(sampler.samplesTaken, 0, 'nothing while nobody looks');
    assert.deepEqual(sampler.streamedContainers, []);

    const events: SampleEvent[] = [];
    sampler.onDidSample((e) => events.push(e));
    const hold = sampler.acquire('panel');
    const cpuKey = `container.${c.id}.cpu`;
    await waitUntil('container CPU above 20 % in a sample', () => events.some((e) => (e.batch.values.get(cpuKey) ?? 0) > 20), 30_000, 100);
    assert.deepEqual(sampler.streamedContainers, [c.id]);
    for (const key of ['host.memory', 'host.disk', 'host.cpu', `container.${c.id}.memory`]) assert.ok(sampler.store.has(key), key);
    const info = sampler.store.info(cpuKey)!;
    assert.equal(info.entity, name);
    assert.equal(info.entityId, c.id);
    assert.ok(events.flatMap((e) => e.added).some((a) => a.key === cpuKey), 'announced in an added list');
    assert.match(sampler.toPrometheus(), new RegExp(`llmstack_container_cpu_percent\\{container="${name}",container_id="${c.id}"\\} \\d`));
    // No NVIDIA GPU on the CI machine: said plainly rather than charted as zeros.
    if (sampler.gpuStatus.kind === 'absent') assert.match(sampler.gpuStatus.message, /^No NVIDIA GPU/);

    hold.dispose();
    const taken = sampler.samplesTaken;
    assert.deepEqual(sampler.streamedContainers, [], 'streams closed on release');
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(sampler.samplesTaken, taken, 'no samples after release');
  });

  it('closes the stream of a container that stops, and drops its series once no longer shown', async () => {
    const c = await own.create();
    await env.cache.waitFor((cache) => cache.get(c.id)?.state === 'running', 20_000);
    const events: SampleEvent[] = [];
    sampler.onDidSample((e) => events.push(e));
    sampler.setContainers([c.id]);
    const hold = sampler.acquire('panel');
    const memKey = `container.${c.id}.memory`;
    await waitUntil('container memory', () => sampler.store.has(memKey), 30_000, 100);

    await c.stop({ t: 1 });
    await waitUntil('the stream to close', () => sampler.streamedContainers.length === 0, 20_000, 100);
    assert.ok(sampler.store.has(memKey), 'a stopped container still shown keeps its history');

    sampler.setContainers([]);
    const removed = await waitUntil('the series to be removed', () => events.find((e) => e.removed.includes(memKey)), 10_000, 50);
    assert.ok(removed.removed.every((k) => k.startsWith(`container.${c.id}.`)));
    assert.equal(sampler.store.has(memKey), false);
    hold.dispose();
  });
});
