// The idle manager against the real test runtime (server.mjs over llama.cpp, a host process on
// 127.0.0.1): a loaded model is unloaded by itself once unused for unloadMinutes, a use moves that
// moment, a runtime container with nothing loaded is stopped through the stopContainer callback (a
// failing callback is tried again only after a full idle period), a failing unload is not retried
// in a hot loop, and dispose leaves no timer behind.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../../../../src/core/lifecycle';
import { type CatalogHooks, ModelCatalog } from '../../../../src/core/runtimes/catalog';
import { ggufFolderEndpoint } from '../../../../src/core/runtimes/ggufFolder';
import { IdleManager, type IdleSettings } from '../../../../src/core/runtimes/idle';
import type { RuntimeEndpoint } from '../../../../src/core/runtimes/runtime';
import { localServer, waitUntil } from '../../../support/engine';
import { writeTinyGguf } from '../../../support/gguf';
import { type RuntimeProcess, startRuntimeProcess } from '../../../support/runtimeProcess';
import { Sandbox } from '../../../unit/core/registry/support';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, debug: (m) => lines.push(`debug ${m}`), info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

interface Audit {
  readonly operation: string;
  readonly target: string;
  readonly error?: string;
}

describe('Idle manager on the real test runtime (integration)', function () {
  this.timeout(120_000);
  const box = new Sandbox();
  let rt: RuntimeProcess;
  let modelsDir: string;
  let catalog: ModelCatalog;
  let idle: IdleManager | undefined;
  let audits: Audit[];
  let log: ReturnType<typeof capture>;

  const hooks: CatalogHooks = {
    onAudit: (operation, target, error) => {
      audits.push({ operation, target, error });
      return Promise.resolve();
    },
  };
  const endpoint = (name: string, containerId?: string): RuntimeEndpoint => ({
    id: `ollama@${rt.base}`,
    kind: 'ollama',
    api: 'ollama',
    name,
    baseUrl: rt.base,
    source: containerId ? 'container' : 'user',
    containerId,
  });

  before(async () => {
    const dir = box.dir();
    modelsDir = path.join(dir, 'models');
    fs.mkdirSync(modelsDir, { recursive: true });
    writeTinyGguf(path.join(modelsDir, 'tiny__q8.gguf'), { name: 'tiny', contextLength: 256 });
    // A second model that stays on disk, never loaded: the idle manager must leave it alone.
    writeTinyGguf(path.join(modelsDir, 'other__1.gguf'), { name: 'other', contextLength: 128, seed: 5 });
    rt = await startRuntimeProcess({ modelsDir });
  });
  beforeEach(() => {
    audits = [];
    log = capture();
    catalog = new ModelCatalog({ hooks, log });
  });
  afterEach(async () => {
    idle?.dispose();
    idle = undefined;
    catalog.dispose();
    // Each test starts with nothing in memory.
    await fetch(`${rt.base}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'tiny:q8', keep_alive: 0 }) }).then((r) => r.body?.cancel());
  });
  after(async () => {
    await rt?.stop();
    await box.cleanup();
  });

  async function listed(ep: RuntimeEndpoint): Promise<void> {
    catalog.setEndpoints([ep]);
    await catalog.waitFor((c) => c.get(ep.id)?.status === 'ok', 30_000);
  }

  it('reports unloadsAt while loaded, moves it on use, and unloads an unused model by itself', async () => {
    const settings: Mutable<IdleSettings> = { unloadMinutes: 10, stopContainerMinutes: 0 };
    const ep = endpoint('idle-ollama');
    await listed(ep);
    idle = new IdleManager(catalog, { settings: () => settings, log });
    const state = () => catalog.get(ep.id)!;
    const tiny = () => catalog.model(ep.id, 'tiny:q8')!;
    assert.equal(idle.unloadsAt(state(), tiny()), undefined, 'not loaded: nothing to unload');

    await catalog.load(ep.id, 'tiny:q8');
    assert.ok(tiny().loaded);
    const first = idle.unloadsAt(state(), tiny())!;
    // From the last use or, when later, the moment the model was first seen in memory.
    const since = () => Math.max(catalog.lastUsed(ep.id, 'tiny:q8') ?? 0, catalog.loadedAt(ep.id, 'tiny:q8')!);
    assert.ok(catalog.lastUsed(ep.id, 'tiny:q8'), 'a load is a use');
    assert.equal(first, since() + 10 * 60_000);

    await sleep(30);
    await catalog.generate(ep.id, 'tiny:q8', 'hello', { maxTokens: 1 });
    const second = idle.unloadsAt(state(), tiny())!;
    assert.ok(second > first, `a use moves the unload later (${first} → ${second})`);

    settings.unloadMinutes = 0;
    assert.equal(idle.unloadsAt(state(), tiny()), undefined, 'off with the setting 0');

    settings.unloadMinutes = 0.02;
    idle.reschedule();
    const due = idle.unloadsAt(state(), tiny())!;
    assert.equal(due, since() + 1200);
    await catalog.waitFor((c) => !c.model(ep.id, 'tiny:q8')?.loaded, 30_000);
    assert.ok(catalog.model(ep.id, 'other:1'), 'the model that was never loaded is still there');
    assert.ok(Date.now() >= due - 50, `unloaded at ${Date.now()}, due ${due}`);
    await waitUntil('the idle unload to be audited', () => audits.some((a) => a.operation === 'model.unload.idle'), 10_000);
    assert.deepEqual(audits.find((a) => a.operation === 'model.unload.idle'), { operation: 'model.unload.idle', target: 'idle-ollama/tiny:q8', error: undefined });
    assert.ok(log.lines.some((l) => /^info Unloading tiny:q8 from idle-ollama: unused for 0.02 min\./.test(l)), log.lines.join('\n'));
    // Really gone from the runtime, not only from the catalog.
    const ps = (await (await fetch(`${rt.base}/api/ps`)).json()) as { models: unknown[] };
    assert.deepEqual(ps.models, []);
    assert.equal(idle.unloadsAt(state(), tiny()), undefined);
  });

  it('with enforce off (a window whose service does the unloading) answers the due time but unloads nothing, until enforce is on again', async () => {
    const ep = endpoint('idle-ollama');
    await listed(ep);
    let enforce = false;
    idle = new IdleManager(catalog, { settings: () => ({ unloadMinutes: 0.01, stopContainerMinutes: 0 }), log, enforce: () => enforce });
    await catalog.load(ep.id, 'tiny:q8');
    const due = idle.unloadsAt(catalog.get(ep.id)!, catalog.model(ep.id, 'tiny:q8')!);
    assert.ok(due !== undefined, 'the view still shows when the model unloads');
    // Past the due time (0.6 s) and then some: still loaded, as the runtime itself says.
    await sleep(due - Date.now() + 1_000);
    await catalog.refresh(ep.id);
    assert.ok(catalog.model(ep.id, 'tiny:q8')?.loaded, 'nothing was unloaded while enforce was off');
    assert.ok(!audits.some((a) => a.operation === 'model.unload.idle'));
    enforce = true;
    idle.reschedule();
    await catalog.waitFor((c) => !c.model(ep.id, 'tiny:q8')?.loaded, 30_000);
    assert.ok(audits.some((a) => a.operation === 'model.unload.idle'), JSON.stringify(audits));
  });

  it('answers no unload time for a runtime the catalog does not know or one that cannot unload', async () => {
    const ep = endpoint('idle-ollama');
    await listed(ep);
    idle = new IdleManager(catalog, { settings: () => ({ unloadMinutes: 5, stopContainerMinutes: 0 }) });
    await catalog.load(ep.id, 'tiny:q8');
    const state = catalog.get(ep.id)!;
    const m = catalog.model(ep.id, 'tiny:q8')!;
    assert.ok(idle.unloadsAt(state, m));
    assert.equal(idle.unloadsAt({ ...state, endpoint: { ...state.endpoint, id: 'ollama@elsewhere' } }, m), undefined);
    assert.equal(idle.unloadsAt({ ...state, capabilities: { ...state.capabilities!, unload: false } }, m), undefined);
    // Before its first listing, what its API allows: an OpenAI-compatible server cannot unload.
    assert.equal(idle.unloadsAt({ ...state, capabilities: undefined, endpoint: { ...state.endpoint, api: 'openai' } }, m), undefined);
    // A model reported loaded that no listing showed yet counts from now.
    const t = Date.now();
    const fresh = idle.unloadsAt(state, { name: 'never-listed:1', loaded: {} })!;
    assert.ok(fresh >= t + 5 * 60_000 && fresh <= Date.now() + 5 * 60_000, `${fresh - t} ms from now`);
    assert.equal(idle.stopsAt(state), undefined, 'no stop callback, no container id, setting 0');
  });

  it('stops an idle runtime container with nothing loaded through the callback, and not while a model is loaded', async () => {
    const calls: { id: string; name: string; at: number }[] = [];
    const settings: Mutable<IdleSettings> = { unloadMinutes: 0, stopContainerMinutes: 0.005 };
    const ep = endpoint('container-ollama', 'runtime-container-1');
    await listed(ep);
    await catalog.load(ep.id, 'tiny:q8');
    const t0 = Date.now();
    idle = new IdleManager(catalog, {
      settings: () => settings,
      log,
      stopContainer: (id, name) => {
        calls.push({ id, name, at: Date.now() });
        return Promise.resolve();
      },
    });
    assert.equal(idle.stopsAt(catalog.get(ep.id)!), undefined, 'a loaded model keeps the container');
    await sleep(700);
    assert.equal(calls.length, 0);

    await catalog.unload(ep.id, 'tiny:q8');
    const at = idle.stopsAt(catalog.get(ep.id)!)!;
    assert.ok(at >= t0 && at <= Date.now() + 300 + 50, `stopsAt ${at - t0} ms after start`);
    await waitUntil('the stop callback', () => calls.length >= 1, 10_000);
    assert.deepEqual([calls[0].id, calls[0].name], ['runtime-container-1', 'container-ollama']);
    assert.ok(calls[0].at >= at - 50);
    assert.ok(log.lines.some((l) => /^info Stopping the container of container-ollama: idle for 0.005 min\./.test(l)), log.lines.join('\n'));

    // Off with the setting 0, or without a container.
    settings.stopContainerMinutes = 0;
    assert.equal(idle.stopsAt(catalog.get(ep.id)!), undefined);
    settings.stopContainerMinutes = 0.005;
    assert.equal(idle.stopsAt({ ...catalog.get(ep.id)!, endpoint: { ...ep, containerId: undefined } }), undefined);
    assert.equal(idle.stopsAt({ ...catalog.get(ep.id)!, status: 'error' }), undefined, 'not a runtime that is not answering');
  });

  it('stops an OpenAI-compatible runtime container although it holds its models in memory', async () => {
    const calls: string[] = [];
    const ep: RuntimeEndpoint = { id: `llamacpp@${rt.base}`, kind: 'llamacpp', api: 'openai', name: 'llama-box', baseUrl: rt.base, source: 'container', containerId: 'llama-container' };
    await listed(ep);
    assert.ok(catalog.model(ep.id, 'tiny:q8')?.loaded, 'llama.cpp lists what it serves as loaded');
    idle = new IdleManager(catalog, {
      settings: () => ({ unloadMinutes: 0.001, stopContainerMinutes: 0.005 }),
      stopContainer: (id) => {
        calls.push(id);
        return Promise.resolve();
      },
    });
    assert.equal(idle.unloadsAt(catalog.get(ep.id)!, catalog.model(ep.id, 'tiny:q8')!), undefined, 'a llama-server that serves one model cannot unload it');
    await waitUntil('the stop callback', () => calls.length >= 1, 10_000);
    assert.equal(calls[0], 'llama-container');
    assert.ok(!audits.some((a) => a.operation === 'model.unload.idle'));
  });

  it('tries a failing stop callback again only after a full idle period: no hot loop', async () => {
    const calls: number[] = [];
    const period = 500;
    const ep = endpoint('failing-ollama', 'runtime-container-2');
    await listed(ep);
    const t0 = Date.now();
    idle = new IdleManager(catalog, {
      settings: () => ({ unloadMinutes: 0, stopContainerMinutes: period / 60_000 }),
      log,
      stopContainer: () => {
        calls.push(Date.now());
        return Promise.reject(new Error('permission denied on the engine socket'));
      },
    });
    // Listings in between reschedule the timer; they must not bring the next try forward.
    const poke = setInterval(() => void catalog.refresh(ep.id), 100);
    try {
      await sleep(2300);
    } finally {
      clearInterval(poke);
    }
    assert.ok(calls.length >= 2 && calls.length <= 5, `${calls.length} calls in 2.3 s with a ${period} ms period`);
    assert.ok(calls[0] - t0 >= period - 50, `first call after ${calls[0] - t0} ms`);
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i] - calls[i - 1] >= period - 50, `gap ${calls[i] - calls[i - 1]} ms`);
    assert.ok(log.lines.some((l) => /^warn Stopping the idle container of failing-ollama failed: permission denied on the engine socket/.test(l)), log.lines.join('\n'));
  });

  it('dispose clears the timer: no callback after dispose', async () => {
    const calls: number[] = [];
    const ep = endpoint('disposed-ollama', 'runtime-container-3');
    await listed(ep);
    const manager = (idle = new IdleManager(catalog, {
      settings: () => ({ unloadMinutes: 0, stopContainerMinutes: 0.005 }),
      stopContainer: () => {
        calls.push(Date.now());
        return Promise.resolve();
      },
    }));
    await waitUntil('the first stop callback', () => calls.length >= 1, 10_000);
    manager.dispose();
    const n = calls.length;
    // Catalog changes after dispose must not set a timer again.
    await catalog.refresh(ep.id);
    manager.reschedule();
    await sleep(1200);
    assert.equal(calls.length, n, 'no callback after dispose');

    // Disposed before its first timer: never called.
    const never: number[] = [];
    const early = new IdleManager(catalog, {
      settings: () => ({ unloadMinutes: 0, stopContainerMinutes: 0.005 }),
      stopContainer: () => {
        never.push(Date.now());
        return Promise.resolve();
      },
    });
    early.dispose();
    await sleep(700);
    assert.deepEqual(never, []);
  });

  it('sets no timer when nothing can become due (GGUF folders, settings off)', async () => {
    const folder = box.dir();
    writeTinyGguf(path.join(folder, 'a.gguf'), { contextLength: 128 });
    const g = ggufFolderEndpoint(folder);
    await listed(g);
    let calls = 0;
    idle = new IdleManager(catalog, {
      settings: () => ({ unloadMinutes: 0.001, stopContainerMinutes: 0.001 }),
      stopContainer: () => {
        calls++;
        return Promise.resolve();
      },
    });
    assert.equal(idle.stopsAt(catalog.get(g.id)!), undefined, 'a folder has no container');
    assert.equal(idle.unloadsAt(catalog.get(g.id)!, catalog.get(g.id)!.models[0]), undefined);
    await sleep(300);
    assert.equal(calls, 0);
  });
});

describe('Idle manager on a runtime that fails to unload (integration)', function () {
  this.timeout(60_000);

  it('does not try a failed unload again before a full idle period, and audits the failure', async () => {
    let generates = 0;
    const srv = await localServer((q, r) => {
      r.setHeader('content-type', 'application/json');
      if (q.url === '/api/version') return r.end('{"version":"0.5.7"}');
      const model = `{"name":"stuck:1","size":1000,"digest":"${'b'.repeat(64)}","details":{"family":"llama"}}`;
      if (q.url === '/api/tags') return r.end(`{"models":[${model}]}`);
      if (q.url === '/api/ps') return r.end(`{"models":[${model.slice(0, -1)},"size_vram":0}]}`);
      if (q.url === '/api/generate') {
        generates++;
        r.statusCode = 500;
        return r.end('{"error":"llama runner process has terminated"}');
      }
      r.statusCode = 404;
      r.end('{"error":"not found"}');
    });
    const base = srv.url.replace('tcp:', 'http:');
    const ep: RuntimeEndpoint = { id: `ollama@${base}`, kind: 'ollama', api: 'ollama', name: 'stuck-ollama', baseUrl: base, source: 'user' };
    const audits: Audit[] = [];
    const log = capture();
    const catalog = new ModelCatalog({ hooks: { onAudit: (operation, target, error) => (audits.push({ operation, target, error }), Promise.resolve()) } });
    let idle: IdleManager | undefined;
    try {
      catalog.setEndpoints([ep]);
      await catalog.waitFor((c) => c.get(ep.id)?.status === 'ok', 10_000);
      assert.ok(catalog.model(ep.id, 'stuck:1')?.loaded);
      idle = new IdleManager(catalog, { settings: () => ({ unloadMinutes: 0.005, stopContainerMinutes: 0 }), log });
      await waitUntil('the idle unload to be tried', () => generates >= 1, 10_000);
      await waitUntil('the failure to be audited', () => audits.length >= 1, 5_000);
      const t = Date.now();
      // Listings keep coming (the view, container events); none may bring the next try forward.
      const poke = setInterval(() => void catalog.refresh(ep.id), 100);
      try {
        await sleep(1500);
      } finally {
        clearInterval(poke);
      }
      assert.equal(generates, 1, 'one try, then a wait of at least a minute');
      assert.deepEqual(audits, [{ operation: 'model.unload.idle', target: 'stuck-ollama/stuck:1', error: 'Unloading stuck:1 failed: llama runner process has terminated' }]);
      assert.ok(log.lines.some((l) => /^warn Idle unload of stuck:1 on stuck-ollama failed: Unloading stuck:1 failed: llama runner process has terminated/.test(l)), log.lines.join('\n'));
      const next = idle.unloadsAt(catalog.get(ep.id)!, catalog.model(ep.id, 'stuck:1')!)!;
      assert.ok(next >= t + 55_000, `next try in ${next - t} ms`);
    } finally {
      idle?.dispose();
      catalog.dispose();
      await srv.close();
    }
  });
});

describe('Idle manager on a llama.cpp router (integration)', function () {
  this.timeout(120_000);
  const box = new Sandbox();
  let rt: RuntimeProcess;

  before(async () => {
    const modelsDir = path.join(box.dir(), 'models');
    fs.mkdirSync(modelsDir, { recursive: true });
    writeTinyGguf(path.join(modelsDir, 'tiny__q8.gguf'), { name: 'tiny', contextLength: 256 });
    writeTinyGguf(path.join(modelsDir, 'small__q4.gguf'), { name: 'small', contextLength: 128, seed: 3 });
    rt = await startRuntimeProcess({ modelsDir, env: { MODE: 'llamacpp-router' } });
  });
  after(async () => {
    await rt?.stop();
    await box.cleanup();
  });

  it('unloads a router model nobody used, as it does an Ollama one: the unload capability decides, not the API', async () => {
    const ep: RuntimeEndpoint = { id: `llamacpp@${rt.base}`, kind: 'llamacpp', api: 'openai', name: 'router', baseUrl: rt.base, source: 'user' };
    const audits: Audit[] = [];
    const log = capture();
    const catalog = new ModelCatalog({ hooks: { onAudit: (operation, target, error) => (audits.push({ operation, target, error }), Promise.resolve()) }, log });
    let idle: IdleManager | undefined;
    try {
      catalog.setEndpoints([ep]);
      await catalog.waitFor((c) => c.get(ep.id)?.status === 'ok', 30_000);
      await catalog.load(ep.id, 'tiny:q8');
      assert.ok(catalog.model(ep.id, 'tiny:q8')?.loaded, 'the router says loaded');
      idle = new IdleManager(catalog, { settings: () => ({ unloadMinutes: 0.01, stopContainerMinutes: 0 }), log });
      assert.ok(idle.unloadsAt(catalog.get(ep.id)!, catalog.model(ep.id, 'tiny:q8')!), 'a time to unload it');
      await catalog.waitFor((c) => !c.model(ep.id, 'tiny:q8')?.loaded, 30_000);
      await waitUntil('the idle unload to be audited', () => audits.some((a) => a.operation === 'model.unload.idle'), 10_000);
      assert.deepEqual(audits.find((a) => a.operation === 'model.unload.idle'), { operation: 'model.unload.idle', target: 'router/tiny:q8', error: undefined });
      assert.ok(log.lines.some((l) => /^info Unloading tiny:q8 from router: unused for 0.01 min\./.test(l)), log.lines.join('\n'));
      // The router itself says so, not only the catalog.
      const models = (await (await fetch(`${rt.base}/v1/models`)).json()) as { data: { id: string; status?: { value: string } }[] };
      assert.equal(models.data.find((m) => m.id === 'tiny:q8')?.status?.value, 'unloaded');
    } finally {
      idle?.dispose();
      catalog.dispose();
    }
  });
});
