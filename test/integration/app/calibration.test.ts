// The fit estimate calibrated on real loads: the test runtime (real llama.cpp) in a container on
// the real engine, the real metrics sampler and the catalog as the service wires them. Loading a
// model at two contexts records two measurements of the container's memory; models.fit then uses
// the overhead they give and says how far off its estimate was.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadCalibrator } from '../../../src/app/bench/calibration';
import { fitModel } from '../../../src/app/bench/fit';
import { hardwareFingerprint } from '../../../src/app/bench/useCases';
import { call } from '../../../src/app/useCase';
import { MetricsSampler } from '../../../src/core/metrics/sampler';
import { RegistryRepositories } from '../../../src/core/registry/repositories';
import { ModelCatalog } from '../../../src/core/runtimes/catalog';
import type { RuntimeEndpoint } from '../../../src/core/runtimes/runtime';
import { HardwareProbe } from '../../../src/core/stack/hardware';
import { waitUntil } from '../../support/engine';
import { useEngine } from '../../support/engineFixture';
import { writeTinyGguf } from '../../support/gguf';
import { buildRuntimeImage, startRuntime } from '../../support/runtime';
import { Sandbox } from '../../unit/core/registry/support';

describe('fit calibration on measured loads (integration)', function () {
  this.timeout(180_000);
  const env = useEngine({ removeEach: false });
  const box = new Sandbox();
  let sampler: MetricsSampler;
  let catalog: ModelCatalog;
  let calibrator: LoadCalibrator;
  let dir: string;

  before(() => buildRuntimeImage());
  afterEach(async () => {
    calibrator?.dispose();
    catalog?.dispose();
    sampler?.dispose();
    await env.own.removeAll();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await box.cleanup();
  });

  it('records the container memory of each single-model load, and models.fit calibrates on them', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-calibration-'));
    fs.mkdirSync(path.join(dir, 'models'), { recursive: true });
    writeTinyGguf(path.join(dir, 'models', 'calib__1b.gguf'), { name: 'calib', embedding: 256, layers: 4, contextLength: 4096, seed: 3 });
    const rt = await startRuntime(dir, [], env.own);
    const repos = new RegistryRepositories(await box.registry({ file: path.join(box.dir(), 'registry.sqlite'), persistDelayMs: 60_000 }));
    sampler = new MetricsSampler({ engine: env.connection, containers: env.cache, intervalMs: 250 });
    sampler.setContainers([rt.id]);
    catalog = new ModelCatalog({});
    const ep: RuntimeEndpoint = { id: `ollama@${rt.base}`, kind: 'ollama', api: 'ollama', name: 'calib-rt', baseUrl: rt.base, source: 'container', containerId: rt.id };
    catalog.setEndpoints([ep]);
    await catalog.waitFor((c) => c.get(ep.id)?.status === 'ok', 60_000);
    const hardware = new HardwareProbe({});
    const recorded: { model: string; measuredBytes: number; source: string }[] = [];
    calibrator = new LoadCalibrator({ catalog, repos: () => Promise.resolve(repos), hardware, samples: sampler, onRecorded: (m) => recorded.push(m) });
    assert.equal(sampler.isRunning, false, 'nothing loaded: the sampler is not held');

    const loadAt = async (numCtx: number) => {
      const res = await fetch(`${rt.base}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'calib:1b', prompt: 'hi', stream: false, keep_alive: -1, options: { num_ctx: numCtx, num_predict: 2 } }), signal: AbortSignal.timeout(60_000) });
      assert.equal(res.status, 200, await res.clone().text());
      await res.json();
      await catalog.refresh(ep.id);
    };
    await loadAt(512);
    await waitUntil('the first load to be measured', () => recorded.length === 1, 30_000, 50);
    await loadAt(4096);
    await waitUntil('the second load to be measured', () => recorded.length === 2, 30_000, 50);
    // The same load seen again (another listing) is not measured twice.
    await catalog.refresh(ep.id);
    assert.equal(recorded.length, 2);
    assert.deepEqual(recorded.map((r) => [r.model, r.source]), [['calib:1b', 'container memory'], ['calib:1b', 'container memory']]);

    const hw = hardwareFingerprint(await hardware.get());
    const rows = repos.loadMeasurements(hw, 'ollama');
    assert.deepEqual(rows.map((r) => r.contextSize).sort((a, b) => a - b), [512, 4096]);
    const file = fs.statSync(path.join(dir, 'models', 'calib__1b.gguf')).size;
    for (const r of rows) {
      assert.equal(r.weightsBytes, file);
      // The runtime holds at least the weights (mmapped and read) and at most a few hundred MB more.
      assert.ok(r.measuredBytes > r.weightsBytes && r.measuredBytes < r.weightsBytes + 600 * 2 ** 20, `${r.measuredBytes}`);
    }
    const small = rows.find((r) => r.contextSize === 512)!;
    const big = rows.find((r) => r.contextSize === 4096)!;
    assert.ok(big.kvBytes > small.kvBytes * 7, 'the KV cache grows with the context');

    const fit = await call(fitModel, { catalog, repos: () => Promise.resolve(repos), hardware }, { runtimeId: ep.id, name: 'calib:1b', contextSize: 2048 });
    assert.equal(fit.calibration?.measurements, 2);
    assert.ok(fit.calibration!.errorPct !== undefined);
    assert.match(fit.fit.text, /\(calibrated on 2 measured loads here, within [\d.]+ % \(median\)\)$/);
    assert.equal(fit.fit.overheadBytes, fit.calibration!.overheadBytes);
  });
});
