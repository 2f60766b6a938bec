// Every models use case driven through call(...) from plain Node, as a CLI or the HTTP API will:
// the real test runtime (server.mjs over llama.cpp) as host processes speaking Ollama's API and a
// llama.cpp router's, a GGUF folder, a real sql.js registry file in a temp folder kept in step by
// RegistrySync as in the extension, and, on the real engine, the runtime in a container whose
// model files verify reaches through the container's mounts.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  acceptModelVersion,
  deleteModels,
  listModels,
  loadModels,
  modelDetails,
  type ModelsDeps,
  pullModels,
  tryPrompt,
  unloadModels,
  verifyModel,
} from '../../../src/app/models';
import { call, Cancelled, type Progress } from '../../../src/app/useCase';
import type { Logger } from '../../../src/core/lifecycle';
import { Registry } from '../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../src/core/registry/repositories';
import { ModelCatalog } from '../../../src/core/runtimes/catalog';
import { ggufFolderEndpoint } from '../../../src/core/runtimes/ggufFolder';
import { RegistrySync } from '../../../src/core/runtimes/registrySync';
import type { RuntimeEndpoint } from '../../../src/core/runtimes/runtime';
import { engine, TestContainers } from '../../support/engine';
import { writeTinyGguf } from '../../support/gguf';
import { buildRuntimeImage, startRuntime } from '../../support/runtime';
import { type RuntimeProcess, startRuntimeProcess } from '../../support/runtimeProcess';
import { Sandbox } from '../../unit/core/registry/support';
import { LocalRegistryPort } from '../../../src/app/registry/port';

function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, debug: (m) => lines.push(`debug ${m}`), info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

/** A catalog whose listings, uses and audits go to the registry through RegistrySync, as the extension wires it. */
function wiredCatalog(repos: RegistryRepositories): ModelCatalog {
  const sync = new RegistrySync(() => Promise.resolve(repos));
  return new ModelCatalog({ hooks: { onListing: (e, l) => sync.onListing(e, l), onUsage: (e, m, k, d) => sync.onUsage(e, m, k, d), onAudit: (op, t, err) => sync.onAudit(op, t, err) } });
}

const ollamaEndpoint = (base: string, name: string, containerId?: string): RuntimeEndpoint => ({ id: `ollama@${base}`, kind: 'ollama', api: 'ollama', name, baseUrl: base, source: containerId ? 'container' : 'user', containerId });

describe('models use cases on the real test runtime (integration)', function () {
  this.timeout(120_000);
  const box = new Sandbox();
  let dir: string;
  let ollama: RuntimeProcess;
  let router: RuntimeProcess;
  let registry: Registry;
  let repos: RegistryRepositories;
  let catalog: ModelCatalog;
  let deps: ModelsDeps;
  let log: ReturnType<typeof capture>;
  let ep: RuntimeEndpoint;
  let routerEp: RuntimeEndpoint;
  let folderEp: RuntimeEndpoint;
  let registryFile: string;

  before(async () => {
    dir = box.dir();
    for (const d of ['source', 'models', 'router', 'folder/family']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    writeTinyGguf(path.join(dir, 'source', 'tiny__q8.gguf'), { name: 'tiny', contextLength: 256 });
    // Seven chunks of the runtime's 256 kB: a pull long enough to cancel in its middle.
    writeTinyGguf(path.join(dir, 'source', 'big__latest.gguf'), { name: 'big', embedding: 128, seed: 2 });
    writeTinyGguf(path.join(dir, 'models', 'chat__1b.gguf'), { name: 'chat', contextLength: 256, seed: 7 });
    writeTinyGguf(path.join(dir, 'router', 'tiny__q8.gguf'), { name: 'tiny', contextLength: 256 });
    writeTinyGguf(path.join(dir, 'router', 'small__q4.gguf'), { name: 'small', contextLength: 128, seed: 3 });
    writeTinyGguf(path.join(dir, 'folder', 'family', 'tiny-q.gguf'), { name: 'tiny-q', embedding: 128, seed: 9 });
    [ollama, router] = await Promise.all([
      startRuntimeProcess({ modelsDir: path.join(dir, 'models'), sourceDir: path.join(dir, 'source'), env: { PULL_CHUNK_DELAY_MS: '150' } }),
      startRuntimeProcess({ modelsDir: path.join(dir, 'router'), env: { MODE: 'llamacpp-router' } }),
    ]);
    registryFile = path.join(box.dir(), 'registry.sqlite');
    registry = await box.registry({ file: registryFile, persistDelayMs: 60_000 });
    repos = new RegistryRepositories(registry);
    catalog = wiredCatalog(repos);
    log = capture();
    deps = { catalog, registry: new LocalRegistryPort(() => Promise.resolve(repos)), log };
    ep = ollamaEndpoint(ollama.base, 'ollama-app');
    routerEp = { id: `llamacpp@${router.base}`, kind: 'llamacpp', api: 'openai', name: 'router-app', baseUrl: router.base, source: 'user' };
    folderEp = ggufFolderEndpoint(path.join(dir, 'folder'));
    catalog.setEndpoints([ep, routerEp, folderEp]);
    await catalog.waitFor((c) => c.list().every((s) => s.status === 'ok'), 60_000);
  });
  after(async () => {
    catalog?.dispose();
    await Promise.all([ollama?.stop(), router?.stop()]);
    await box.cleanup();
  });

  it('models.list: every runtime with its models and what it can do, as the runtimes say after a listing', async () => {
    const { runtimes } = await call(listModels, deps, { refresh: true });
    assert.deepEqual(
      runtimes.map((r) => [r.name, r.kind, r.status, r.models.map((m) => m.name)]),
      [
        ['ollama-app', 'ollama', 'ok', ['chat:1b']],
        ['router-app', 'llamacpp', 'ok', ['small:q4', 'tiny:q8']],
        ['folder', 'gguf', 'ok', ['family/tiny-q.gguf']],
      ],
    );
    const [o, r, g] = runtimes;
    assert.deepEqual(o.capabilities, { pull: true, delete: true, load: true, unload: true, generate: true, modelfile: true });
    // The router was found to be one by its listing: load and unload, no pull, no delete.
    assert.deepEqual(r.capabilities, { pull: false, delete: false, load: true, unload: true, generate: true, modelfile: false });
    assert.deepEqual(g.capabilities, { pull: false, delete: false, load: false, unload: false, generate: false, modelfile: false });
    assert.equal(o.version, '0.5.7');
    assert.match(o.models[0].digest ?? '', /^[0-9a-f]{64}$/);
    assert.equal(g.models[0].file, path.join(dir, 'folder', 'family', 'tiny-q.gguf'));
    // Plain JSON: what the HTTP API will send is what was returned.
    assert.deepEqual(JSON.parse(JSON.stringify(runtimes)), runtimes);
    const one = await call(listModels, deps, { runtimeId: routerEp.id });
    assert.deepEqual(one.runtimes.map((x) => x.id), [routerEp.id]);
    await assert.rejects(call(listModels, deps, { runtimeId: 'ollama@http://127.0.0.1:1' }), /is no longer known/);
  });

  it('models.pull: several names in parallel, each with its outcome; progress in bytes up to the whole; the registry records it', async () => {
    const seen: Progress[] = [];
    const out = await call(pullModels, deps, { runtimeId: ep.id, names: ['tiny:q8', 'missing:1', 'tiny:q8'] }, { progress: (p) => seen.push(p) });
    assert.equal(out.runtimeName, 'ollama-app');
    assert.deepEqual(
      out.results.map((r) => [r.name, r.outcome]),
      [
        ['tiny:q8', 'pulled'],
        ['missing:1', 'failed'],
      ],
      'each name once',
    );
    assert.match(out.results[1].error ?? '', /Pulling missing:1 failed: pull model manifest: file does not exist/);
    assert.ok(seen.some((p) => /^tiny:q8: [\d.]+ kB of [\d.]+ kB/.test(p.message ?? '')), seen.map((p) => p.message).join(' | '));
    const fractions = seen.map((p) => p.fraction).filter((f): f is number => f !== undefined);
    for (let i = 1; i < fractions.length; i++) assert.ok(fractions[i] >= fractions[i - 1], 'never backwards');
    assert.equal(fractions.at(-1), 0.5, 'one of two names done: half of the whole');
    assert.ok(catalog.model(ep.id, 'tiny:q8'), 'listed after the pull');
    const rt = repos.listRuntimes().find((r) => r.endpoint === ollama.base)!;
    const row = repos.findModel(rt.id, 'tiny', 'q8')!;
    assert.deepEqual(repos.usageByDay(row.id, 1).map((u) => u.kind), ['pull']);
    assert.ok(repos.recentAudit(20).some((a) => a.operation === 'model.pull' && a.target === 'ollama-app/missing:1' && a.outcome === 'error'));
    // One name: the bytes themselves.
    const single: Progress[] = [];
    await call(pullModels, deps, { runtimeId: ep.id, names: ['tiny:q8'] }, { progress: (p) => single.push(p) });
    const last = single.filter((p) => p.total).at(-1)!;
    assert.equal(last.completed, last.total);
    assert.equal(last.total, fs.statSync(path.join(dir, 'source', 'tiny__q8.gguf')).size);
    assert.equal(last.fraction, 1);
  });

  it('models.pull: a cancelled pull is reported cancelled and resumable, and the next pull resumes where it stopped', async () => {
    const ac = new AbortController();
    const first: Progress[] = [];
    const out = await call(pullModels, deps, { runtimeId: ep.id, names: ['big'] }, {
      signal: ac.signal,
      progress: (p) => {
        first.push(p);
        if ((p.completed ?? 0) > 0) ac.abort();
      },
    });
    assert.deepEqual(out.results, [{ name: 'big', outcome: 'cancelled', resumable: true }]);
    const partial = path.join(dir, 'models', 'big__latest.gguf.partial');
    assert.ok(fs.existsSync(partial), 'the partial download stays');
    assert.ok(!catalog.model(ep.id, 'big:latest'));
    // Aborted before it starts: nothing is pulled at all.
    await assert.rejects(call(pullModels, deps, { runtimeId: ep.id, names: ['big'] }, { signal: AbortSignal.abort() }), (e: unknown) => e instanceof Cancelled && /models\.pull was cancelled/.test(e.message));

    const again: Progress[] = [];
    const done = await call(pullModels, deps, { runtimeId: ep.id, names: ['big'] }, { progress: (p) => again.push(p) });
    assert.deepEqual(done.results, [{ name: 'big', outcome: 'pulled' }]);
    const firstSized = again.find((p) => p.total)!;
    assert.ok(firstSized.completed! > 0, `resumed at ${firstSized.completed} bytes, not from 0`);
    assert.ok(catalog.model(ep.id, 'big:latest'), 'listed');
    assert.ok(!fs.existsSync(partial));
  });

  it('models.load and models.unload: Ollama and a llama.cpp router alike; one failure does not stop the others', async () => {
    const loaded = await call(loadModels, deps, {
      models: [
        { runtimeId: ep.id, name: 'chat:1b' },
        { runtimeId: routerEp.id, name: 'tiny:q8' },
        { runtimeId: routerEp.id, name: 'nope' },
      ],
    });
    assert.deepEqual(
      loaded.results.map((r) => [r.name, r.ok]),
      [
        ['chat:1b', true],
        ['tiny:q8', true],
        ['nope', false],
      ],
    );
    assert.match(loaded.results[2].error ?? '', /Loading nope failed: model is not found/);
    const listed = await call(listModels, deps, {});
    const isLoaded = (rid: string, name: string) => !!listed.runtimes.find((r) => r.id === rid)?.models.find((m) => m.name === name)?.loaded;
    assert.ok(isLoaded(ep.id, 'chat:1b'));
    assert.ok(isLoaded(routerEp.id, 'tiny:q8'));
    assert.ok(!isLoaded(routerEp.id, 'small:q4'));
    assert.ok(listed.runtimes[0].models.find((m) => m.name === 'chat:1b')!.lastUsedAt! > Date.now() - 60_000, 'a load is a use');

    const unloaded = await call(unloadModels, deps, {
      models: [
        { runtimeId: ep.id, name: 'chat:1b' },
        { runtimeId: routerEp.id, name: 'tiny:q8' },
      ],
    });
    assert.ok(unloaded.results.every((r) => r.ok), JSON.stringify(unloaded));
    assert.ok(!catalog.model(ep.id, 'chat:1b')?.loaded);
    assert.ok(!catalog.model(routerEp.id, 'tiny:q8')?.loaded);
    // A runtime that cannot: said so by the catalog, per model.
    const refused = await call(loadModels, deps, { models: [{ runtimeId: folderEp.id, name: 'family/tiny-q.gguf' }] });
    assert.match(refused.results[0].error ?? '', /folder \(gguf\) cannot load models through its API/);
  });

  it('models.tryPrompt: the answer, token counts, duration and speed, recorded as a use; a cancelled one says so', async () => {
    const out = await call(tryPrompt, deps, { runtimeId: ep.id, name: 'chat:1b', prompt: 'Hello there', maxTokens: 8 });
    assert.ok(out.text.length > 0, JSON.stringify(out));
    assert.ok(out.outputTokens! >= 1 && out.outputTokens! <= 8);
    assert.ok(out.promptTokens! >= 1);
    assert.ok(out.durationMs > 0);
    assert.equal(out.tokensPerSecond, out.outputTokens! / (out.durationMs / 1000));
    const rt = repos.listRuntimes().find((r) => r.endpoint === ollama.base)!;
    const gen = repos.usageByDay(repos.findModel(rt.id, 'chat', '1b')!.id, 1).find((u) => u.kind === 'generate');
    assert.ok(gen && gen.count === 1 && gen.outputTokens === out.outputTokens, JSON.stringify(gen));
    // Through a router's OpenAI-compatible API too.
    const viaRouter = await call(tryPrompt, deps, { runtimeId: routerEp.id, name: 'small:q4', prompt: 'Hi', maxTokens: 4 });
    assert.ok(viaRouter.outputTokens! >= 1);

    const ac = new AbortController();
    const pending = call(tryPrompt, deps, { runtimeId: ep.id, name: 'chat:1b', prompt: 'Hello', maxTokens: 8 }, { signal: ac.signal });
    ac.abort();
    await assert.rejects(pending, (e: unknown) => e instanceof Cancelled && /cancelled/i.test(e.message));
    await assert.rejects(call(tryPrompt, deps, { runtimeId: folderEp.id, name: 'family/tiny-q.gguf', prompt: 'Hi' }), /cannot generate models/);
  });

  it('models.verify: no record → recorded as the reference, then a match, then a changed file caught and audited; models.acceptVersion takes it', async () => {
    const target = { runtimeId: folderEp.id, name: 'family/tiny-q.gguf' };
    const file = path.join(dir, 'folder', 'family', 'tiny-q.gguf');
    const seen: Progress[] = [];
    const first = await call(verifyModel, deps, target, { progress: (p) => seen.push(p) });
    assert.equal(first.status, 'no-record');
    assert.match(first.message, /^family\/tiny-q\.gguf: no digest was recorded; recorded sha256:[0-9a-f]{12}… as its reference\. Verify again later to detect changes\.$/);
    assert.equal(first.file, file);
    assert.equal(first.bytes, fs.statSync(file).size);
    assert.deepEqual(seen[0], { fraction: 0 }, 'the check announces its start');
    assert.deepEqual(seen.at(-1), { message: `${(first.bytes! / 1e6).toFixed(2)} MB of ${(first.bytes! / 1e6).toFixed(2)} MB`, fraction: 1, completed: first.bytes, total: first.bytes });
    const rt = repos.listRuntimes().find((r) => r.kind === 'gguf')!;
    assert.equal(repos.findModel(rt.id, 'family/tiny-q.gguf', 'latest')!.digest, first.actual);

    const second = await call(verifyModel, deps, target);
    assert.equal(second.status, 'match');
    assert.equal(second.message, `family/tiny-q.gguf: sha256 matches the recorded digest (${first.actual!.slice(7, 19)}…, ${(first.bytes! / 1e6).toFixed(2)} MB).`);

    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, fs.statSync(file).size - 1);
    fs.closeSync(fd);
    const third = await call(verifyModel, deps, target);
    assert.equal(third.status, 'mismatch');
    assert.equal(third.expected, first.actual);
    assert.notEqual(third.actual, first.actual);
    assert.match(third.message, /the file changed — its sha256 is sha256:[0-9a-f]{12}…, the registry recorded sha256:[0-9a-f]{12}…\. It was modified or damaged since/);
    const audits = repos.recentAudit(50).filter((a) => a.operation === 'model.verify' && a.target === 'folder/family/tiny-q.gguf');
    assert.deepEqual(audits.map((a) => a.outcome), ['error', 'ok', 'ok']);
    assert.equal(audits[0].error, third.message);

    assert.deepEqual(await call(acceptModelVersion, deps, { ...target, digest: third.actual! }), { digest: third.actual });
    assert.ok(repos.recentAudit(5).some((a) => a.operation === 'model.acceptVersion' && a.target === 'folder/family/tiny-q.gguf' && a.outcome === 'ok'));
    assert.equal((await call(verifyModel, deps, target)).status, 'match', 'the accepted digest is the reference now');
    await assert.rejects(call(acceptModelVersion, deps, { ...target, name: 'gone.gguf', digest: third.actual! }), /folder no longer lists gone\.gguf; nothing was recorded/);
    await assert.rejects(call(acceptModelVersion, deps, { ...target, runtimeId: 'gguf@/nowhere', digest: third.actual! }), /is no longer known/);
  });

  it('models.verify: cancelled in its middle says so; out of reach it says why, and writes nothing', async () => {
    const ac = new AbortController();
    const file = path.join(dir, 'folder', 'family', 'tiny-q.gguf');
    await assert.rejects(
      call(verifyModel, deps, { runtimeId: folderEp.id, name: 'family/tiny-q.gguf' }, { signal: ac.signal, progress: () => ac.abort() }),
      (e: unknown) => e instanceof Cancelled && e.message === `Checking ${file} was cancelled.`,
    );
    const auditsBefore = repos.recentAudit(1000).length;
    const noContainer = await call(verifyModel, deps, { runtimeId: ep.id, name: 'chat:1b' });
    assert.deepEqual(noContainer, { status: 'unavailable', message: 'chat:1b: its integrity cannot be checked here: its runtime does not run in a container of this engine.' });
    const notListed = await call(verifyModel, deps, { runtimeId: ep.id, name: 'never:1' });
    assert.equal(notListed.message, 'never:1: its integrity cannot be checked here: the runtime no longer lists it.');
    // A file gone since the last listing: the check's own error, not a result.
    writeTinyGguf(path.join(dir, 'folder', 'brief.gguf'), { name: 'brief', seed: 11 });
    await call(listModels, deps, { runtimeId: folderEp.id, refresh: true });
    fs.rmSync(path.join(dir, 'folder', 'brief.gguf'));
    await assert.rejects(call(verifyModel, deps, { runtimeId: folderEp.id, name: 'brief.gguf' }), /Cannot check .*brief\.gguf: the file does not exist\./);
    // A server that names no file: the same answer, whatever its API.
    assert.equal((await call(verifyModel, deps, { runtimeId: routerEp.id, name: 'tiny:q8' })).status, 'unavailable');
    assert.equal(repos.recentAudit(1000).length, auditsBefore);
    await call(listModels, deps, { runtimeId: folderEp.id, refresh: true });
  });

  it('models.details: what the runtime reports and what the registry remembers; the runtime part stands when the registry cannot be read', async () => {
    const d = await call(modelDetails, deps, { runtimeId: ep.id, name: 'chat:1b' });
    assert.deepEqual(d.runtime, { id: ep.id, name: 'ollama-app', kind: 'ollama', baseUrl: ollama.base });
    assert.equal(d.model?.name, 'chat:1b');
    assert.equal(d.model?.sizeBytes, fs.statSync(path.join(dir, 'models', 'chat__1b.gguf')).size);
    const r = d.registry!;
    assert.equal(r.versions.length, 1);
    assert.equal(r.versions[0].digest, `sha256:${d.model!.digest}`);
    assert.deepEqual(r.usage.map((u) => u.kind).sort(), ['generate', 'load', 'unload']);
    assert.ok(r.lastUsedAt! > Date.now() - 120_000);
    assert.deepEqual(r.benchmarks, []);
    assert.deepEqual(r.audit.map((a) => a.operation).sort(), ['model.load', 'model.unload']);

    const rt = repos.listRuntimes().find((x) => x.endpoint === ollama.base)!;
    repos.recordBenchmark({ modelId: repos.findModel(rt.id, 'chat', '1b')!.id, runtimeId: rt.id, hardware: 'cpu', promptSet: 'short', ttftMs: 12.5, promptTps: null, genTps: 40, ts: 1_700_000_000_000 });
    const b = (await call(modelDetails, deps, { runtimeId: ep.id, name: 'chat:1b' })).registry!.benchmarks;
    assert.deepEqual(b, [{ ts: 1_700_000_000_000, hardware: 'cpu', promptSet: 'short', ttftMs: 12.5, promptTps: null, genTps: 40 }]);

    const gone = await call(modelDetails, deps, { runtimeId: 'ollama@http://127.0.0.1:1', name: 'x:1' });
    assert.deepEqual(gone, { name: 'x:1' });
    const notListed = await call(modelDetails, deps, { runtimeId: ep.id, name: 'never:1' });
    assert.equal(notListed.model, undefined);
    assert.ok(notListed.registry, 'the registry part still answers');
    const locked = await call(modelDetails, { ...deps, registry: new LocalRegistryPort(() => Promise.reject(new Error('The registry file is locked.'))) }, { runtimeId: ep.id, name: 'chat:1b' });
    assert.equal(locked.registryError, 'The registry file is locked.');
    assert.equal(locked.model?.name, 'chat:1b');
    assert.equal(locked.registry, undefined);
  });

  it('models.delete: gone from the runtime, history kept in the registry; a runtime that cannot delete says so', async () => {
    const out = await call(deleteModels, deps, {
      models: [
        { runtimeId: ep.id, name: 'big:latest' },
        { runtimeId: routerEp.id, name: 'small:q4' },
      ],
    });
    assert.deepEqual(out.results[0], { runtimeId: ep.id, name: 'big:latest', ok: true });
    assert.equal(out.results[1].ok, false);
    assert.match(out.results[1].error ?? '', /router-app \(llamacpp\) cannot delete models through its API/);
    assert.ok(!catalog.model(ep.id, 'big:latest'));
    assert.ok(!fs.existsSync(path.join(dir, 'models', 'big__latest.gguf')));
    const rt = repos.listRuntimes().find((r) => r.endpoint === ollama.base)!;
    const row = repos.findModel(rt.id, 'big', 'latest')!;
    assert.deepEqual(repos.usageByDay(row.id, 1).map((u) => u.kind).sort(), ['delete', 'pull']);
  });

  it('what was recorded is in the registry file: reopened, the verified digest and the audit are there', async () => {
    await registry.flush();
    const again = await Registry.open({ file: registryFile });
    try {
      const r = new RegistryRepositories(again);
      const rt = r.listRuntimes().find((x) => x.kind === 'gguf')!;
      assert.match(r.findModel(rt.id, 'family/tiny-q.gguf', 'latest')!.digest ?? '', /^sha256:[0-9a-f]{64}$/);
      assert.ok(r.recentAudit(100).some((a) => a.operation === 'model.acceptVersion'));
    } finally {
      await again.close();
    }
  });
});

describe('models.verify through a runtime container on the real engine (integration)', function () {
  this.timeout(240_000);
  const box = new Sandbox();
  const containers = new TestContainers();
  let catalog: ModelCatalog | undefined;

  before(function () {
    this.timeout(600_000);
    buildRuntimeImage();
  });
  after(async () => {
    catalog?.dispose();
    await containers.removeAll();
    await box.cleanup();
  });

  it("an Ollama model's file reached through the container's bind mount: pulled, then verified against the digest the listing recorded", async () => {
    const dir = box.dir();
    fs.mkdirSync(path.join(dir, 'source'), { recursive: true });
    writeTinyGguf(path.join(dir, 'source', 'medium__latest.gguf'), { name: 'medium', seed: 4 });
    const rt = await startRuntime(dir);
    containers.add(rt.id);
    const registry = await box.registry({ file: box.file(), persistDelayMs: 60_000 });
    const repos = new RegistryRepositories(registry);
    catalog = wiredCatalog(repos);
    const ep = ollamaEndpoint(rt.base, 'container-app', rt.id);
    catalog.setEndpoints([ep]);
    await catalog.waitFor((c) => c.get(ep.id)?.status === 'ok', 60_000);
    const deps: ModelsDeps = { catalog, registry: new LocalRegistryPort(() => Promise.resolve(repos)), inspectContainer: (id) => engine().getContainer(id).inspect() };

    const pulled = await call(pullModels, deps, { runtimeId: ep.id, names: ['medium'] });
    assert.deepEqual(pulled.results, [{ name: 'medium', outcome: 'pulled' }]);
    const out = await call(verifyModel, deps, { runtimeId: ep.id, name: 'medium:latest' });
    assert.equal(out.status, 'match', out.message);
    // The host side of the bind mount (compared as real paths: the engine may report a resolved one).
    assert.equal(fs.realpathSync(out.file!), fs.realpathSync(path.join(dir, 'models', 'medium__latest.gguf')));
    assert.equal(out.expected, out.actual);
    // Without the engine's inspect, the same model is out of reach, and the answer says why.
    const blind = await call(verifyModel, { ...deps, inspectContainer: undefined }, { runtimeId: ep.id, name: 'medium:latest' });
    assert.equal(blind.status, 'unavailable');
  });
});
