// Idle unload with the service and a window: the service unloads a model nobody uses, but not one a
// window keeps using (the window records its uses through the service, and the service reads them
// back from the registry before it unloads anything).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RuntimeEndpoint } from '../../../src/core/runtimes/runtime';
import { Emitter } from '../../../src/core/lifecycle';
import { ModelCatalog } from '../../../src/core/runtimes/catalog';
import { ServiceModelsFollower } from '../../../src/service/modelsFollower';
import type { ServiceEvent } from '../../../src/service/protocol';
import { RemoteRegistryPort } from '../../../src/service/remotePort';
import { waitUntil } from '../../support/engine';
import { writeTinyGguf } from '../../support/gguf';
import { type RuntimeProcess, startRuntimeProcess } from '../../support/runtimeProcess';
import { newHome, serve, stopServed, type Home, type Served } from './support';

interface Listed {
  runtimes: { id: string; models: { name: string; loaded?: unknown }[] }[];
}

describe('idle unload in the service with a window using the model (integration)', function () {
  this.timeout(120_000);
  let home: Home;
  let served: Served;
  let ollama: RuntimeProcess;
  let runtimeId: string;

  before(async () => {
    home = newHome();
    const dir = path.join(home.dir, 'models');
    fs.mkdirSync(dir, { recursive: true });
    writeTinyGguf(path.join(dir, 'chat__1b.gguf'), { name: 'chat', contextLength: 256, seed: 7 });
    ollama = await startRuntimeProcess({ modelsDir: dir });
    runtimeId = `ollama@${ollama.base}`;
    // 0.05 minutes: a model unused for 3 s is unloaded.
    home.config({ runtimes: { endpoints: [{ url: ollama.base, kind: 'ollama', name: 'idle-ollama' }] }, models: { idleUnloadMinutes: 0.05 } });
    served = await serve(home);
  });
  after(async () => {
    await stopServed(served);
    await ollama?.stop();
    home?.cleanup();
  });

  const loaded = async () => {
    const { runtimes } = await home.client().call<Listed>('models.list', { runtimeId, refresh: true });
    return !!runtimes[0].models.find((m) => m.name === 'chat:1b')?.loaded;
  };

  it('keeps a model a window uses every second loaded past the idle time, and unloads it once the window stops', async () => {
    await home.client().call('models.load', { models: [{ runtimeId, name: 'chat:1b' }] });
    assert.equal(await loaded(), true);
    const endpoint = ((await home.client().call<{ runtimes: RuntimeEndpoint[] }>('models.list', { runtimeId })).runtimes[0] as unknown) as RuntimeEndpoint;
    const window = new RemoteRegistryPort(home.client());
    // The window uses the model (through its own connection to the runtime) and records each use:
    // 7 s of uses, more than twice the idle time.
    const until = Date.now() + 7_000;
    while (Date.now() < until) {
      await window.recordUsage(endpoint, 'chat:1b', 'generate', { outputTokens: 1, durationMs: 1 });
      await new Promise((r) => setTimeout(r, 1_000));
    }
    assert.equal(await loaded(), true, 'the service did not unload a model the window was using');
    // The window's own catalog shows the model loaded, and follows the service's events.
    const events = new Emitter<ServiceEvent>();
    const stream = home.client().events((e) => events.fire(e));
    const windowCatalog = new ModelCatalog();
    const follower = new ServiceModelsFollower(windowCatalog, events.event);
    try {
      windowCatalog.setEndpoints([endpoint]);
      await windowCatalog.waitFor((c) => !!c.model(runtimeId, 'chat:1b')?.loaded, 30_000);
      // Unused from now on: the service unloads it (waited for, bounded), and the window's view follows.
      await waitUntil('the service to unload the idle model', async () => !(await loaded()), 30_000, 250);
      await windowCatalog.waitFor((c) => !c.model(runtimeId, 'chat:1b')?.loaded, 30_000);
    } finally {
      follower.dispose();
      windowCatalog.dispose();
      stream.dispose();
      events.dispose();
    }
    const { entries } = await home.client().call<{ entries: { operation: string; target: string }[] }>('registry.audit', { limit: 50 });
    assert.ok(entries.some((e) => e.operation === 'model.unload.idle' && e.target.endsWith('/chat:1b')), JSON.stringify(entries));
  });

  it('unloads a model a window loaded itself: the recorded load makes the service list the runtime again', async () => {
    await home.client().call('models.unload', { models: [{ runtimeId, name: 'chat:1b' }] }).catch(() => undefined);
    await waitUntil('nothing loaded', async () => !(await loaded()), 30_000, 250);
    const endpoint = ((await home.client().call<{ runtimes: RuntimeEndpoint[] }>('models.list', { runtimeId })).runtimes[0] as unknown) as RuntimeEndpoint;
    // The window's own request to the runtime (as Ollama's API loads a model), then its record of it.
    const res = await fetch(`${ollama.base}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'chat:1b' }) });
    await res.text();
    await new RemoteRegistryPort(home.client()).recordUsage(endpoint, 'chat:1b', 'load', {});
    // Without a listing the service would not know it is in memory; it lists, then unloads it when idle.
    await waitUntil('the service to unload the model the window loaded', async () => {
      const { entries } = await home.client().call<{ entries: { operation: string; target: string; ts: number }[] }>('registry.audit', { limit: 50 });
      return entries.filter((e) => e.operation === 'model.unload.idle' && e.target.endsWith('/chat:1b')).length >= 2;
    }, 30_000, 250);
    assert.equal(await loaded(), false);
  });

  it("follows a window's idle setting: turned off (0), a loaded model stays; the setting is kept for the next start", async () => {
    const settings = { registry: { encrypt: false, keepBackups: 10, backupIntervalHours: 24, retentionDays: 365 }, idle: { idleUnloadMinutes: 0, idleStopContainerMinutes: 0 } };
    assert.deepEqual(await home.client().call('service.configure', settings), { changed: ['idle'] });
    assert.deepEqual(await home.client().call('service.configure', settings), { changed: [] }, 'the same settings again change nothing');
    const saved = JSON.parse(fs.readFileSync(path.join(home.paths.dataDir, 'config.json'), 'utf8')) as { models: { idleUnloadMinutes: number; ggufFolders?: unknown }; runtimes: { endpoints: unknown[] } };
    assert.equal(saved.models.idleUnloadMinutes, 0);
    assert.equal(saved.runtimes.endpoints.length, 1, 'the rest of config.json is kept');
    await home.client().call('models.load', { models: [{ runtimeId, name: 'chat:1b' }] });
    // Past the old idle time (3 s), with nobody using it: a check that nothing happens.
    await new Promise((r) => setTimeout(r, 4_500));
    assert.equal(await loaded(), true, 'no idle unload while the setting is 0');
  });
});
