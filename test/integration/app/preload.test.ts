// Preloading on the real test runtime (llama.cpp behind Ollama's API) and a real sql.js registry:
// a model asked for at the same time of day on four of the last days is loaded when its lead
// window opens; one asked for on two days is not; with preloading off nothing is loaded.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Preloader } from '../../../src/app/models/preload';
import { RegistryRepositories } from '../../../src/core/registry/repositories';
import { ModelCatalog } from '../../../src/core/runtimes/catalog';
import { RegistrySync, runtimeInput } from '../../../src/core/runtimes/registrySync';
import type { RuntimeEndpoint } from '../../../src/core/runtimes/runtime';
import { writeTinyGguf } from '../../support/gguf';
import { type RuntimeProcess, startRuntimeProcess } from '../../support/runtimeProcess';
import { Sandbox } from '../../unit/core/registry/support';

const DAY = 86_400_000;

describe('preloading models used at regular times (integration)', function () {
  this.timeout(120_000);
  const box = new Sandbox();
  let rt: RuntimeProcess;
  let catalog: ModelCatalog;
  let repos: RegistryRepositories;
  let ep: RuntimeEndpoint;
  const preloaders: Preloader[] = [];

  before(async () => {
    const models = path.join(box.dir(), 'models');
    fs.mkdirSync(models);
    writeTinyGguf(path.join(models, 'regular__1b.gguf'), { name: 'regular', seed: 4 });
    writeTinyGguf(path.join(models, 'seldom__1b.gguf'), { name: 'seldom', seed: 5 });
    rt = await startRuntimeProcess({ modelsDir: models });
    repos = new RegistryRepositories(await box.registry({ file: path.join(box.dir(), 'registry.sqlite'), persistDelayMs: 60_000 }));
    const sync = new RegistrySync(() => Promise.resolve(repos));
    catalog = new ModelCatalog({ hooks: { onListing: (e, l) => sync.onListing(e, l), onUsage: (e, m, k, d) => sync.onUsage(e, m, k, d) } });
    ep = { id: `ollama@${rt.base}`, kind: 'ollama', api: 'ollama', name: 'preload-rt', baseUrl: rt.base, source: 'user' };
    catalog.setEndpoints([ep]);
    await catalog.waitFor((c) => (c.get(ep.id)?.models.length ?? 0) === 2, 60_000);
    // Asked for five minutes from now (time of day) on four earlier days; "seldom" on two.
    const rtId = repos.upsertRuntime(runtimeInput(ep));
    const regular = repos.upsertModel({ runtimeId: rtId, name: 'regular', tag: '1b' }).id;
    const seldom = repos.upsertModel({ runtimeId: rtId, name: 'seldom', tag: '1b' }).id;
    const soon = Date.now() + 5 * 60_000;
    for (const d of [1, 2, 3, 5]) repos.recordUsage({ modelId: regular, kind: 'generate', ts: soon - d * DAY, outputTokens: 3 });
    for (const d of [1, 2]) repos.recordUsage({ modelId: seldom, kind: 'generate', ts: soon - d * DAY, outputTokens: 3 });
  });
  after(async () => {
    for (const p of preloaders) p.dispose();
    catalog?.dispose();
    await rt?.stop();
    await box.cleanup();
  });

  const preloader = (leadMinutes: number, seen: string[]) => {
    const p = new Preloader({ catalog, repos: () => Promise.resolve(repos), leadMinutes: () => leadMinutes, utcOffsetMinutes: () => 0, onPreloaded: (_r, name) => seen.push(name) });
    preloaders.push(p);
    return p;
  };

  it('off (0 minutes): nothing is loaded', async () => {
    const seen: string[] = [];
    await preloader(0, seen).settled();
    await catalog.refresh(ep.id);
    assert.deepEqual(seen, []);
    assert.ok(catalog.get(ep.id)!.models.every((m) => !m.loaded));
  });

  it('10 minutes ahead: the regular model is loaded now, once; the seldom one is not', async () => {
    const seen: string[] = [];
    const p = preloader(10, seen);
    await catalog.waitFor((c) => !!c.get(ep.id)?.models.find((m) => m.name === 'regular:1b')?.loaded, 60_000);
    await p.settled();
    assert.deepEqual(seen, ['regular:1b']);
    assert.ok(!catalog.get(ep.id)!.models.find((m) => m.name === 'seldom:1b')!.loaded);
    // The load was recorded as usage, as any load is.
    const id = repos.findModel(repos.listRuntimes()[0].id, 'regular', '1b')!.id;
    assert.ok(repos.usageByDay(id, 1).some((u) => u.kind === 'load'));
    // Planned again (settings changed): the slot was served; it is not loaded twice.
    p.reschedule();
    await p.settled();
    assert.deepEqual(seen, ['regular:1b']);
  });
});
