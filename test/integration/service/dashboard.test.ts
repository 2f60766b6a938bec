// The Grafana dashboard in docs/ plots only what the service exports: a service with a GPU (the
// nvidia-smi stand-in), a running container, a runtime and a recorded generation is scraped at
// GET /metrics, and every metric family a panel's query names is in the scrape (histogram queries
// by their _bucket series).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import type { RuntimeEndpoint } from '../../../src/core/runtimes/runtime';
import { RemoteRegistryPort } from '../../../src/service/remotePort';
import { createTestContainer, removeTestContainers, uniqueName, waitUntil } from '../../support/engine';
import { writeTinyGguf } from '../../support/gguf';
import { nvidiaSmiStandIn } from '../../support/nvidiaSmiStandIn';
import { type RuntimeProcess, startRuntimeProcess } from '../../support/runtimeProcess';
import { newHome, serve, stopServed, type Home, type Served } from './support';

const H100 = '0, GPU-5d7e3f1b-2c4a-4e6b-9a1d-7c8e9f0a1b2c, NVIDIA H100 80GB HBM3, 87, 61327, 81559, 64, 512.38';
const DASHBOARD = path.resolve(__dirname, '..', '..', '..', '..', 'docs', 'grafana-dashboard.json');

describe('the Grafana dashboard against GET /metrics (integration)', function () {
  this.timeout(120_000);
  let home: Home;
  let served: Served;
  let rt: RuntimeProcess;
  const smi = nvidiaSmiStandIn({ gpuLines: [H100], appLines: [] });

  before(async () => {
    home = newHome();
    const dir = path.join(home.dir, 'models');
    fs.mkdirSync(dir, { recursive: true });
    writeTinyGguf(path.join(dir, 'chat__1b.gguf'), { name: 'chat', contextLength: 128, seed: 4 });
    rt = await startRuntimeProcess({ modelsDir: dir });
    home.config({ runtimes: { endpoints: [{ url: rt.base, kind: 'ollama', name: 'dash' }] }, metrics: { intervalSeconds: 0.25, gpu: true, nvidiaSmiPath: smi.binary } });
    served = await serve(home);
  });
  after(async () => {
    await removeTestContainers().catch(() => undefined);
    await stopServed(served);
    await rt?.stop();
    smi.dispose();
    home?.cleanup();
  });

  it('every metric a panel plots is exported', async () => {
    const c = await createTestContainer({ name: uniqueName('dash') });
    const runtimeId = `ollama@${rt.base}`;
    const endpoint = (await home.client().call<{ runtimes: RuntimeEndpoint[] }>('models.list', { runtimeId })).runtimes[0];
    const events: string[] = [];
    const stream = home.client().metrics((e) => {
      if (e.type === 'metrics.sample') events.push(...Object.keys(e.values));
    });
    let text = '';
    try {
      // A generation a window ran, as it records it: charted as tokens per second.
      await new RemoteRegistryPort(home.client()).recordUsage(endpoint, 'chat:1b', 'generate', { outputTokens: 40, durationMs: 500 });
      await waitUntil('GPU, container and model series', () => events.some((k) => k.startsWith('gpu.0.')) && events.includes(`container.${c.id}.cpu`) && events.some((k) => k.startsWith('model.')), 30_000, 50);
      text = await new Promise<string>((resolve, reject) =>
        http
          .get({ socketPath: home.paths.socket, path: '/metrics', headers: { host: 'llmstack' } }, (res) => {
            let t = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (t += d));
            res.on('end', () => (res.statusCode === 200 ? resolve(t) : reject(new Error(`GET /metrics answered ${res.statusCode}`))));
          })
          .on('error', reject),
      );
    } finally {
      stream.dispose();
    }
    const exported = new Set(parsePrometheus(text).map((f) => f.name));
    const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const missing: string[] = [];
    let plotted = 0;
    for (const p of dashboard.panels) {
      for (const t of p.targets) {
        for (const name of t.expr.match(/llmstack_[a-z0-9_]+/g) ?? []) {
          plotted++;
          const family = name.replace(/_bucket$/, '');
          if (!exported.has(family)) missing.push(`${p.title}: ${name}`);
        }
      }
    }
    assert.ok(plotted >= 12, `${plotted} metrics plotted`);
    assert.deepEqual(missing, [], `exported: ${[...exported].join(', ')}`);
  });
});
