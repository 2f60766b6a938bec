// The feed relay between two real samplers (host figures from a steady stand-in source, manual
// timers): the holders move with a switch, the samples and resets come from the feed followed.
import * as assert from 'node:assert/strict';
import { FeedRelay } from '../../../../src/core/metrics/feed';
import { MetricsSampler, type SampleEvent } from '../../../../src/core/metrics/sampler';
import { steadyHost } from '../../../support/fixtures';


describe('metrics feed relay (unit)', () => {
  const samplers: MetricsSampler[] = [];
  const make = () => {
    // Timers that never fire by themselves: samples are taken with sampleNow().
    const s = new MetricsSampler({ nvidia: false, host: { source: steadyHost() }, timers: { setTimeout: () => 0, clearTimeout: () => undefined } });
    samplers.push(s);
    return s;
  };
  afterEach(() => samplers.splice(0).forEach((s) => s.dispose()));

  it('moves its holders to the feed it switches to, forwards only that feed, and says the store changed', async () => {
    const a = make();
    const b = make();
    const relay = new FeedRelay(a);
    const seen: SampleEvent[] = [];
    let resets = 0;
    relay.onDidSample((e) => seen.push(e));
    relay.onDidReset(() => resets++);
    const lease = relay.acquire('panel');
    assert.ok(a.isRunning && !b.isRunning);
    assert.deepEqual(relay.reasons, ['panel']);
    await a.sampleNow();
    assert.equal(seen.length, 1);
    assert.equal(relay.samplesTaken, 1);
    assert.equal(relay.store, a.store);

    relay.use(b);
    assert.equal(resets, 1);
    assert.ok(!a.isRunning && b.isRunning, 'the holder moved');
    assert.equal(relay.current, b);
    await b.sampleNow();
    assert.equal(seen.length, 2, "b's sample is forwarded");
    assert.equal(relay.store, b.store);
    assert.deepEqual(relay.gpuStatus, b.gpuStatus);
    assert.equal(relay.isRunning, true);
    assert.match(await relay.toPrometheus(), /llmstack_host_memory_bytes 6000000000/);
    assert.match(await relay.snapshotJson(60_000), /"window"/);
    relay.use(b);
    assert.equal(resets, 1, 'the same feed again changes nothing');

    lease.dispose();
    assert.equal(b.isRunning, false, 'released on the feed it moved to');
    const again = relay.acquire('status bar');
    relay.dispose();
    assert.equal(b.isRunning, false, 'dispose releases every holder');
    again.dispose();
  });
});
