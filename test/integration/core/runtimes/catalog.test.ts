// The model catalog with RegistrySync on a real registry file, against the real test runtime
// (server.mjs over llama.cpp, run as a host process on 127.0.0.1): listing, pull with progress,
// load/unload, generate, delete, refresh coalescing, a runtime killed in the middle of a pull and
// the resumed pull, the OpenAI-compatible API of the same server (with and without an API key),
// GGUF folders, capability errors, and endpoints that answer HTML, malformed JSON or nothing.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import { Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { CatalogError, type CatalogHooks, ModelCatalog, modelKey } from '../../../../src/core/runtimes/catalog';
import { ggufFolderEndpoint } from '../../../../src/core/runtimes/ggufFolder';
import { RuntimeError } from '../../../../src/core/runtimes/http';
import { OllamaClient } from '../../../../src/core/runtimes/ollama';
import type { PullSnapshot } from '../../../../src/core/runtimes/pullProgress';
import { RegistrySync } from '../../../../src/core/runtimes/registrySync';
import type { RuntimeEndpoint } from '../../../../src/core/runtimes/runtime';
import { localServer } from '../../../support/engine';
import { tinyParameterCount, writeTinyGguf } from '../../../support/gguf';
import { type RuntimeProcess, startRuntimeProcess } from '../../../support/runtimeProcess';
import { Sandbox } from '../../../unit/core/registry/support';
import { freePort } from '../../../support/net';
import { captureLog, testEndpoint } from '../../../support/fixtures';

const TINY = { name: 'tiny', contextLength: 256 };
const CHAT = { name: 'chat', contextLength: 256, seed: 7 };

const ollamaEndpoint = (base: string, name = 'ollama-test', containerId?: string): RuntimeEndpoint =>
  testEndpoint('ollama', base, { name, source: containerId ? 'container' : 'user', containerId });
const llamaEndpoint = (base: string, name = 'llama-server', requiresKey?: boolean): RuntimeEndpoint => testEndpoint('llamacpp', base, { name, requiresKey });

const isRuntimeError = (kind: RuntimeError['kind'], re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof RuntimeError, `expected a RuntimeError, got ${String(e)}`);
  assert.equal(e.kind, kind, e.message);
  if (re) assert.match(e.message, re);
  return true;
};
const isCatalogError = (kind: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof CatalogError, `expected a CatalogError, got ${String(e)}`);
  assert.equal(e.kind, kind, e.message);
  if (re) assert.match(e.message, re);
  return true;
};


/** The registry, its RegistrySync, and hooks that count listings and hand out API keys. */
class Harness {
  readonly keys = new Map<string, string>();
  listings: string[] = [];
  readonly sync: RegistrySync;
  readonly hooks: CatalogHooks;

  constructor(
    readonly registry: Registry,
    readonly repos: RegistryRepositories,
  ) {
    this.sync = new RegistrySync(() => Promise.resolve(repos));
    this.hooks = {
      apiKey: (ep) => Promise.resolve(this.keys.get(ep.id)),
      onListing: (ep, listing) => {
        this.listings.push(ep.id);
        return this.sync.onListing(ep, listing);
      },
      onUsage: (ep, model, kind, detail) => this.sync.onUsage(ep, model, kind, detail),
      onAudit: (op, target, error) => this.sync.onAudit(op, target, error),
    };
  }

  runtimeRow(ep: RuntimeEndpoint) {
    return this.repos.listRuntimes().find((r) => r.kind === ep.kind && r.endpoint === ep.baseUrl);
  }

  modelRow(ep: RuntimeEndpoint, name: string, tag: string) {
    const rt = this.runtimeRow(ep);
    return rt && this.repos.findModel(rt.id, name, tag);
  }

  usage(modelId: number) {
    return this.registry.all<{ kind: string; duration_ms: number | null; prompt_tokens: number | null; output_tokens: number | null }>(
      'SELECT kind, duration_ms, prompt_tokens, output_tokens FROM usage_events WHERE model_id = ? ORDER BY id',
      [modelId],
    );
  }

  usageCount(): number {
    return Number(this.registry.all<{ n: number }>('SELECT COUNT(*) AS n FROM usage_events')[0].n);
  }

  audits(operation: string) {
    return this.repos.recentAudit(1000).filter((a) => a.operation === operation);
  }
}

async function openHarness(box: Sandbox): Promise<Harness> {
  const registry = await box.registry({ file: box.file(), persistDelayMs: 60_000 });
  return new Harness(registry, new RegistryRepositories(registry));
}

describe('Model catalog on the real test runtime (integration)', function () {
  this.timeout(120_000);
  const box = new Sandbox();
  let dir: string;
  let rt: RuntimeProcess;
  let h: Harness;
  let catalog: ModelCatalog;
  let ep: RuntimeEndpoint;
  let tinySize: number;

  before(async () => {
    dir = box.dir();
    fs.mkdirSync(path.join(dir, 'source'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'models'), { recursive: true });
    writeTinyGguf(path.join(dir, 'source', 'tiny__q8.gguf'), TINY);
    writeTinyGguf(path.join(dir, 'source', 'plain__latest.gguf'), { ...TINY, seed: 3 });
    writeTinyGguf(path.join(dir, 'models', 'chat__1b.gguf'), CHAT);
    tinySize = fs.statSync(path.join(dir, 'source', 'tiny__q8.gguf')).size;
    rt = await startRuntimeProcess({ modelsDir: path.join(dir, 'models'), sourceDir: path.join(dir, 'source') });
    h = await openHarness(box);
    catalog = new ModelCatalog({ hooks: h.hooks });
    ep = ollamaEndpoint(rt.base, 'ollama-test', 'container-1');
  });
  after(async () => {
    catalog?.dispose();
    await rt?.stop();
    await box.cleanup();
  });

  it('lists a new endpoint at once: status ok, version, models, and the registry rows', async () => {
    const changes: string[][] = [];
    const sub = catalog.onDidChange((ids) => changes.push([...ids]));
    catalog.setEndpoints([ep]);
    assert.equal(catalog.get(ep.id)?.status, 'pending');
    await catalog.waitFor((c) => c.get(ep.id)?.status === 'ok', 30_000);
    sub.dispose();
    const state = catalog.get(ep.id)!;
    assert.equal(state.version, '0.5.7');
    assert.equal(state.refreshing, false);
    assert.equal(state.error, undefined);
    assert.ok(state.refreshedAt! > 0);
    assert.deepEqual(
      state.models.map((m) => [m.name, m.format, m.loaded]),
      [['chat:1b', 'gguf', undefined]],
    );
    assert.match(state.models[0].digest ?? '', /^[0-9a-f]{64}$/);
    assert.equal(catalog.modelCount, 1);
    assert.deepEqual(
      catalog.list().map((s) => s.endpoint.id),
      [ep.id],
    );
    assert.ok(changes.length >= 2 && changes.every((c) => c.includes(ep.id)), JSON.stringify(changes));
    const row = h.runtimeRow(ep)!;
    assert.deepEqual([row.name, row.container_id], ['ollama-test', 'container-1']);
    const chat = h.modelRow(ep, 'chat', '1b')!;
    assert.equal(chat.size_bytes, fs.statSync(path.join(dir, 'models', 'chat__1b.gguf')).size);
    assert.equal(chat.digest, `sha256:${state.models[0].digest}`);
  });

  it('pulls with progress snapshots, then the model is listed, in the registry, used and audited', async () => {
    const snaps: PullSnapshot[] = [];
    const usageBefore = h.usageCount();
    await catalog.pull(ep.id, ' tiny:q8 ', (s) => snaps.push(s));
    const sized = snaps.filter((s) => s.total > 0);
    assert.ok(sized.length >= 1, JSON.stringify(snaps));
    assert.ok(sized.every((s) => s.total === tinySize && s.completed <= s.total));
    assert.equal(sized.at(-1)!.fraction, 1);
    assert.equal(sized.at(-1)!.completed, tinySize);
    assert.match(sized.at(-1)!.message, /of/);
    assert.equal(snaps.at(-1)!.status, 'success');
    for (let i = 1; i < sized.length; i++) assert.ok(sized[i].completed >= sized[i - 1].completed, 'progress never runs backwards');

    const m = catalog.model(ep.id, 'tiny:q8');
    assert.ok(m, 'listed after the pull');
    assert.equal(m.sizeBytes, tinySize);
    assert.ok(catalog.lastUsed(ep.id, 'tiny:q8')! > 0);
    const row = h.modelRow(ep, 'tiny', 'q8')!;
    assert.ok(row, 'registry row');
    assert.equal(row.size_bytes, tinySize);
    assert.deepEqual(
      h.usage(row.id).map((u) => u.kind),
      ['pull'],
    );
    assert.ok(h.usage(row.id)[0].duration_ms! >= 0);
    assert.equal(h.usageCount(), usageBefore + 1);
    const audit = h.audits('model.pull')[0];
    assert.deepEqual([audit.target, audit.outcome, audit.error], ['ollama-test/tiny:q8', 'ok', null]);
  });

  it('a pull without a tag is listed and recorded as name:latest; "x" and "x:latest" are one model', async () => {
    const snaps: PullSnapshot[] = [];
    await catalog.pull(ep.id, 'plain', (s) => snaps.push(s));
    assert.equal(snaps.at(-1)!.fraction, 1);
    assert.equal(catalog.model(ep.id, 'plain'), undefined);
    assert.ok(catalog.model(ep.id, 'plain:latest'));
    const row = h.modelRow(ep, 'plain', 'latest')!;
    assert.deepEqual(
      h.usage(row.id).map((u) => u.kind),
      ['pull'],
    );
    await catalog.delete(ep.id, 'plain');
    assert.equal(catalog.model(ep.id, 'plain:latest'), undefined);
    assert.deepEqual(
      h.usage(row.id).map((u) => u.kind),
      ['pull', 'delete'],
    );
    assert.equal(h.repos.listModels({ limit: 1000 }).filter((m) => m.name === 'plain').length, 1);
  });

  it('records operations on a model that appeared after the last listing under its name, and the next listing fills the row in', async () => {
    const models = path.join(dir, 'models');
    /** A new model file the catalog has not listed yet (nothing is in flight when it appears). */
    const appear = async (name: string) => {
      await catalog.refresh(ep.id);
      writeTinyGguf(path.join(models, `${name}__1.gguf`), { ...TINY, seed: name.length });
      assert.equal(catalog.model(ep.id, `${name}:1`), undefined);
    };
    await appear('late-a');
    await catalog.unload(ep.id, 'late-a:1');
    await appear('late-b');
    await catalog.load(ep.id, 'late-b:1');
    await appear('late-c');
    const out = await catalog.generate(ep.id, 'late-c:1', 'hello', { maxTokens: 1 });
    await appear('late-d');
    await catalog.delete(ep.id, 'late-d:1');
    await catalog.refresh(ep.id);
    const kinds = (name: string) => h.usage(h.modelRow(ep, name, '1')!.id);
    assert.deepEqual(
      ['late-a', 'late-b', 'late-c', 'late-d'].map((n) => kinds(n).map((u) => u.kind)),
      [['unload'], ['load'], ['generate'], ['delete']],
    );
    assert.deepEqual([kinds('late-c')[0].prompt_tokens, kinds('late-c')[0].output_tokens], [out.promptTokens, out.outputTokens]);
    const a = h.modelRow(ep, 'late-a', '1')!;
    assert.equal(a.size_bytes, fs.statSync(path.join(models, 'late-a__1.gguf')).size, 'the listing filled in the bare row');
    assert.equal(h.modelRow(ep, 'late-d', '1')!.size_bytes, null, 'deleted before any listing named it');
    for (const n of ['late-a', 'late-b', 'late-c']) await catalog.delete(ep.id, `${n}:1`);
    assert.deepEqual(
      catalog.get(ep.id)!.models.map((m) => m.name).sort(),
      ['chat:1b', 'tiny:q8'],
    );
  });

  it('loads (with ramBytes), records the load, and unloads', async () => {
    await catalog.load(ep.id, 'tiny:q8');
    const m = catalog.model(ep.id, 'tiny:q8')!;
    assert.ok(m.loaded, 'loaded after load()');
    assert.equal(m.loaded.ramBytes, tinySize);
    assert.equal(m.loaded.vramBytes, 0);
    assert.ok(m.loaded.expiresAt! > Date.now(), 'the runtime reports when it will unload');
    assert.ok(catalog.loadedAt(ep.id, 'tiny:q8')! > 0);
    const row = h.modelRow(ep, 'tiny', 'q8')!;
    assert.deepEqual(
      h.usage(row.id).map((u) => u.kind),
      ['pull', 'load'],
    );
    await catalog.unload(ep.id, 'tiny:q8');
    assert.equal(catalog.model(ep.id, 'tiny:q8')!.loaded, undefined);
    assert.equal(catalog.loadedAt(ep.id, 'tiny:q8'), undefined, 'forgotten once the listing no longer shows it loaded');
    assert.deepEqual(
      h.usage(row.id).map((u) => u.kind),
      ['pull', 'load', 'unload'],
    );
    assert.deepEqual(
      h.audits('model.unload').map((a) => [a.target, a.outcome])[0],
      ['ollama-test/tiny:q8', 'ok'],
    );
    assert.equal(h.audits('model.load')[0].outcome, 'ok');
  });

  it('generates real text and records a generate usage with the token counts', async () => {
    const before = catalog.lastUsed(ep.id, 'tiny:q8')!;
    const out = await catalog.generate(ep.id, 'tiny:q8', 'hello world', { maxTokens: 4 });
    assert.equal(typeof out.text, 'string');
    assert.ok(out.outputTokens! >= 1 && out.outputTokens! <= 4, `output tokens ${out.outputTokens}`);
    assert.ok(out.promptTokens! >= 1);
    assert.ok(out.durationMs > 0);
    assert.ok(catalog.lastUsed(ep.id, 'tiny:q8')! >= before);
    const row = h.modelRow(ep, 'tiny', 'q8')!;
    const gen = h.usage(row.id).at(-1)!;
    assert.deepEqual([gen.kind, gen.prompt_tokens, gen.output_tokens], ['generate', out.promptTokens, out.outputTokens]);
    assert.equal(gen.duration_ms, Math.round(out.durationMs));
    // The listing that follows a generation shows the model in memory.
    await catalog.waitFor((c) => !!c.model(ep.id, 'tiny:q8')?.loaded, 10_000);
  });

  it('counts a use by someone else when the runtime moves the expiry of a loaded model', async () => {
    await catalog.refresh(ep.id);
    const before = catalog.lastUsed(ep.id, 'tiny:q8')!;
    assert.ok(catalog.model(ep.id, 'tiny:q8')?.loaded?.expiresAt);
    // Ollama keeps a used model for its keep_alive from the last use: a later use moves the expiry.
    await new Promise((r) => setTimeout(r, 1200));
    const t = Date.now();
    await new OllamaClient(rt.base).generate('tiny:q8', 'the model', { maxTokens: 1 });
    await catalog.refresh(ep.id);
    assert.ok(catalog.lastUsed(ep.id, 'tiny:q8')! >= t, `lastUsed ${catalog.lastUsed(ep.id, 'tiny:q8')} before ${t} (was ${before})`);
  });

  it('coalesces concurrent refreshes: ten calls make at most two listings', async () => {
    await catalog.refresh(ep.id);
    await catalog.refresh(ep.id);
    h.listings = [];
    await Promise.all(Array.from({ length: 10 }, () => catalog.refresh(ep.id)));
    assert.ok(h.listings.length >= 1 && h.listings.length <= 2, `listings: ${h.listings.length}`);
    h.listings = [];
    await Promise.all(Array.from({ length: 10 }, () => catalog.refresh()));
    assert.ok(h.listings.length >= 1 && h.listings.length <= 2, `listings after refresh(): ${h.listings.length}`);
  });

  it('deletes: gone from the listing, a delete usage; deleting again fails as not-found and is audited', async () => {
    const row = h.modelRow(ep, 'tiny', 'q8')!;
    await catalog.delete(ep.id, 'tiny:q8');
    assert.equal(catalog.model(ep.id, 'tiny:q8'), undefined);
    assert.ok(!fs.existsSync(path.join(dir, 'models', 'tiny__q8.gguf')));
    assert.equal(h.usage(row.id).at(-1)!.kind, 'delete');
    assert.ok(h.repos.getModel(row.id), 'the registry keeps the history of a deleted model');
    const usage = h.usageCount();
    await assert.rejects(catalog.delete(ep.id, 'tiny:q8'), isRuntimeError('not-found', /Deleting tiny:q8 failed: model 'tiny:q8' not found/));
    assert.equal(h.usageCount(), usage, 'a failed delete is no use');
    const [last, first] = h.audits('model.delete');
    assert.deepEqual([first.outcome, first.error], ['ok', null]);
    assert.equal(last.outcome, 'error');
    assert.match(last.error ?? '', /not found/);
    assert.equal(last.target, 'ollama-test/tiny:q8');
  });

  it('an unknown model fails to load with a clear error, and nothing is recorded as usage', async () => {
    const usage = h.usageCount();
    const models = h.repos.listModels({ limit: 1000 }).length;
    await assert.rejects(catalog.load(ep.id, 'nope:1'), isRuntimeError('not-found', /Loading nope:1 failed: model 'nope:1' not found/));
    await assert.rejects(catalog.generate(ep.id, 'nope:1', 'hi', { maxTokens: 1 }), isRuntimeError('not-found'));
    await assert.rejects(catalog.pull(ep.id, 'nope:1', () => undefined), isRuntimeError('runtime', /file does not exist/));
    assert.equal(h.usageCount(), usage);
    assert.equal(h.repos.listModels({ limit: 1000 }).length, models, 'no registry row for a model that does not exist');
    assert.equal(h.audits('model.load')[0].outcome, 'error');
    assert.equal(h.audits('model.pull')[0].outcome, 'error');
  });

  it('refuses a malformed model name and operations on an unknown runtime', async () => {
    for (const bad of ['', '  ', 'two words']) await assert.rejects(catalog.pull(ep.id, bad, () => undefined), isCatalogError('invalid', /is not a model name/));
    const ghost = 'ollama@http://127.0.0.1:1';
    await assert.rejects(catalog.pull(ghost, 'x', () => undefined), isCatalogError('not-found', /no longer known/));
    await assert.rejects(catalog.delete(ghost, 'x'), isCatalogError('not-found'));
    await assert.rejects(catalog.load(ghost, 'x'), isCatalogError('not-found'));
    await assert.rejects(catalog.unload(ghost, 'x'), isCatalogError('not-found'));
    await assert.rejects(catalog.generate(ghost, 'x', 'y'), isCatalogError('not-found'));
    await catalog.refresh(ghost);
    assert.equal(catalog.get(ghost), undefined);
    await assert.rejects(catalog.waitFor(() => false, 50), /not met within 50 ms/);
  });

  it('lists the same server through its OpenAI-compatible API: parameter count, context, loaded, and generates', async () => {
    const oa = llamaEndpoint(rt.base);
    catalog.setEndpoints([ep, oa]);
    await catalog.waitFor((c) => c.get(oa.id)?.status === 'ok', 30_000);
    const state = catalog.get(oa.id)!;
    assert.match(state.version ?? '', /\S/, 'build_info from /props');
    assert.deepEqual(
      state.models.map((m) => m.name),
      ['chat:1b'],
    );
    const m = state.models[0];
    assert.equal(m.parameterCount, tinyParameterCount(CHAT));
    assert.equal(m.contextLength, 256);
    assert.equal(m.format, 'gguf');
    assert.deepEqual(m.loaded, {}, 'a llama.cpp server holds what it lists in memory');
    assert.equal(m.sizeBytes, fs.statSync(path.join(dir, 'models', 'chat__1b.gguf')).size);
    const row = h.modelRow(oa, 'chat', '1b')!;
    assert.deepEqual([row.parameter_count, row.context_length, row.format], [tinyParameterCount(CHAT), 256, 'gguf']);
    assert.notEqual(row.runtime_id, h.modelRow(ep, 'chat', '1b')!.runtime_id, 'one registry runtime per API');

    const out = await catalog.generate(oa.id, 'chat:1b', 'once upon', { maxTokens: 3 });
    assert.ok(out.outputTokens! >= 1 && out.outputTokens! <= 3);
    assert.ok(out.promptTokens! >= 1);
    const gen = h.usage(row.id).at(-1)!;
    assert.deepEqual([gen.kind, gen.output_tokens], ['generate', out.outputTokens]);
    await assert.rejects(catalog.generate(oa.id, 'nope', 'x', { maxTokens: 1 }), isRuntimeError('not-found', /Generating with nope failed/));
  });

  it('names what an OpenAI-compatible endpoint cannot do as unsupported, and audits the refused pull', async () => {
    const oa = llamaEndpoint(rt.base);
    await assert.rejects(catalog.pull(oa.id, 'chat:1b', () => undefined), isCatalogError('unsupported', /llama-server \(llamacpp\) cannot pull models through its API/));
    await assert.rejects(catalog.delete(oa.id, 'chat:1b'), isCatalogError('unsupported', /cannot delete/));
    await assert.rejects(catalog.load(oa.id, 'chat:1b'), isCatalogError('unsupported', /cannot load/));
    await assert.rejects(catalog.unload(oa.id, 'chat:1b'), isCatalogError('unsupported', /cannot unload/));
    const pull = h.audits('model.pull')[0];
    assert.deepEqual([pull.target, pull.outcome], ['llama-server/chat:1b', 'error']);
    assert.match(pull.error ?? '', /cannot pull/);
    assert.ok(fs.existsSync(path.join(dir, 'models', 'chat__1b.gguf')), 'nothing was deleted');
  });

  it('setEndpoints: a removed endpoint fires onDidChange and is forgotten; a renamed one keeps its listing', async () => {
    const oa = llamaEndpoint(rt.base);
    const changes: string[][] = [];
    const sub = catalog.onDidChange((ids) => changes.push([...ids]));
    catalog.setEndpoints([ep]);
    sub.dispose();
    assert.deepEqual(changes, [[oa.id]]);
    assert.equal(catalog.get(oa.id), undefined);
    assert.equal(catalog.model(oa.id, 'chat:1b'), undefined);
    assert.deepEqual(
      catalog.list().map((s) => s.endpoint.id),
      [ep.id],
    );
    await assert.rejects(catalog.generate(oa.id, 'chat:1b', 'x'), isCatalogError('not-found'));

    // The same set again changes nothing; a new name or container keeps the models and says so.
    const again: string[][] = [];
    const sub2 = catalog.onDidChange((ids) => again.push([...ids]));
    catalog.setEndpoints([ep, ep]);
    assert.deepEqual(again, []);
    const renamed = { ...ep, name: 'ollama-renamed', containerId: 'container-2' };
    catalog.setEndpoints([renamed]);
    sub2.dispose();
    assert.deepEqual(again, [[ep.id]]);
    assert.equal(catalog.get(ep.id)!.endpoint.name, 'ollama-renamed');
    assert.equal(catalog.get(ep.id)!.status, 'ok');
    assert.ok(catalog.model(ep.id, 'chat:1b'));
    await catalog.refresh(ep.id);
    assert.deepEqual([h.runtimeRow(ep)!.name, h.runtimeRow(ep)!.container_id], ['ollama-renamed', 'container-2']);
    catalog.setEndpoints([ep]);
  });

  it('forgets an endpoint removed while its listing is in flight: no state, no registry rows', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow = await localServer((q, r) => {
      void gate.then(() => {
        r.writeHead(200, { 'content-type': 'application/json' });
        r.end(q.url === '/api/version' ? '{"version":"9.9.9"}' : '{"models":[]}');
      });
    });
    const base = slow.url.replace('tcp:', 'http:');
    const gone = ollamaEndpoint(base, 'gone-soon');
    try {
      h.listings = [];
      catalog.setEndpoints([ep, gone]);
      const listing = catalog.refresh(gone.id);
      catalog.setEndpoints([ep]);
      release();
      await listing;
      assert.equal(catalog.get(gone.id), undefined);
      assert.ok(!h.listings.includes(gone.id), 'no listing handed to the registry');
      assert.equal(h.runtimeRow(gone), undefined);
    } finally {
      release();
      await slow.close();
    }
  });

  it('lists a GGUF folder: files with metadata from their headers, and a file it cannot read', async () => {
    const folder = path.join(box.dir(), 'ggufs');
    fs.mkdirSync(path.join(folder, 'sub'), { recursive: true });
    writeTinyGguf(path.join(folder, 'sub', 'tiny-q8.gguf'), TINY);
    fs.writeFileSync(path.join(folder, 'junk.gguf'), 'not a gguf file');
    const g = ggufFolderEndpoint(folder);
    const missing = ggufFolderEndpoint(path.join(folder, 'nope'));
    catalog.setEndpoints([ep, g, missing]);
    await catalog.waitFor((c) => c.get(g.id)?.status === 'ok' && c.get(missing.id)?.status === 'error', 10_000);
    const models = catalog.get(g.id)!.models;
    assert.deepEqual(
      models.map((m) => m.name),
      ['junk.gguf', 'sub/tiny-q8.gguf'],
    );
    const tiny = models[1];
    assert.deepEqual([tiny.parameterCount, tiny.contextLength, tiny.family, tiny.file], [tinyParameterCount(TINY), 256, 'llama', path.join(folder, 'sub', 'tiny-q8.gguf')]);
    assert.match(models[0].problem ?? '', /\S/);
    assert.match(catalog.get(missing.id)!.error ?? '', /does not exist/);
    assert.equal(catalog.get(missing.id)!.errorKind, 'error');
    const row = h.modelRow(g, 'sub/tiny-q8.gguf', 'latest')!;
    assert.deepEqual([row.parameter_count, row.source], [tinyParameterCount(TINY), path.join(folder, 'sub', 'tiny-q8.gguf')]);
    assert.equal(h.runtimeRow(missing), undefined);
    await assert.rejects(catalog.generate(g.id, 'sub/tiny-q8.gguf', 'x'), isCatalogError('unsupported', /cannot generate/));
    await assert.rejects(catalog.load(g.id, 'sub/tiny-q8.gguf'), isCatalogError('unsupported'));
    catalog.setEndpoints([ep]);
  });

  it('keeps working when the registry hooks fail: the listing and the operation succeed, the failure is logged', async () => {
    const log = captureLog();
    const broken = new ModelCatalog({
      log,
      hooks: {
        onListing: () => Promise.reject(new Error('registry is read-only')),
        onUsage: () => Promise.reject(new Error('usage table locked')),
        onAudit: () => Promise.reject(new Error('audit table locked')),
      },
    });
    try {
      broken.setEndpoints([ep]);
      await broken.waitFor((c) => c.get(ep.id)?.status === 'ok', 30_000);
      assert.ok(broken.model(ep.id, 'chat:1b'));
      const out = await broken.generate(ep.id, 'chat:1b', 'hello', { maxTokens: 1 });
      assert.ok(out.outputTokens! >= 1);
      await broken.unload(ep.id, 'chat:1b');
      // The test runtime, like an unload through keep_alive 0, accepts a model it does not hold.
      await broken.unload(ep.id, 'unlisted:9');
      assert.ok(log.lines.some((l) => /^warn Recording unload of unlisted:9 failed: usage table locked/.test(l)), log.lines.join('\n'));
      assert.ok(log.lines.some((l) => /^warn Recording the models of ollama-test in the registry failed: registry is read-only/.test(l)), log.lines.join('\n'));
      assert.ok(log.lines.some((l) => /^warn Recording generate of chat:1b failed: usage table locked/.test(l)), log.lines.join('\n'));
      assert.ok(log.lines.some((l) => /^warn Writing the audit entry for model.unload ollama-test\/chat:1b failed: audit table locked/.test(l)), log.lines.join('\n'));
    } finally {
      broken.dispose();
    }
    // A disposed catalog changes no state and fires nothing.
    const fired: string[][] = [];
    broken.onDidChange((ids) => fired.push([...ids]));
    await broken.refresh(ep.id);
    assert.deepEqual(fired, []);
  });

  it('works without hooks at all', async () => {
    const bare = new ModelCatalog();
    try {
      bare.setEndpoints([ep]);
      await bare.waitFor((c) => c.get(ep.id)?.status === 'ok', 30_000);
      assert.ok(bare.model(ep.id, 'chat:1b'));
      await bare.unload(ep.id, 'chat:1b');
      await assert.rejects(bare.delete(ep.id, 'nope:1'), isRuntimeError('not-found'));
    } finally {
      bare.dispose();
    }
  });

  it('keys models by runtime and name', () => {
    assert.equal(modelKey('a', 'b'), 'a\u0000b');
    assert.notEqual(modelKey('a:b', 'c'), modelKey('a', 'b:c'));
  });
});

describe('Model catalog on an OpenAI-compatible server with an API key (integration)', function () {
  this.timeout(120_000);
  const box = new Sandbox();
  const key = `sk-test-${randomBytes(8).toString('hex')}`;
  let rt: RuntimeProcess;
  let h: Harness;
  let catalog: ModelCatalog;

  before(async () => {
    const dir = box.dir();
    fs.mkdirSync(path.join(dir, 'models'), { recursive: true });
    writeTinyGguf(path.join(dir, 'models', 'chat__1b.gguf'), CHAT);
    rt = await startRuntimeProcess({ modelsDir: path.join(dir, 'models'), env: { API_KEY: key } });
    h = await openHarness(box);
    catalog = new ModelCatalog({ hooks: h.hooks });
  });
  after(async () => {
    catalog?.dispose();
    await rt?.stop();
    await box.cleanup();
  });

  it('lists without a key (as llama.cpp, /v1/models is open) but cannot generate; the key from the apiKey hook makes it work', async () => {
    const oa = llamaEndpoint(rt.base, 'keyed-llama', true);
    catalog.setEndpoints([oa]);
    await catalog.waitFor((c) => c.get(oa.id)?.status === 'ok', 30_000);
    assert.deepEqual(
      catalog.get(oa.id)!.models.map((m) => m.name),
      ['chat:1b'],
    );
    assert.equal(catalog.get(oa.id)!.version, undefined, '/props needs the key, so no build info');
    assert.equal(catalog.get(oa.id)!.models[0].contextLength, 256, 'n_ctx_train from /v1/models');
    const usage = h.usageCount();
    await assert.rejects(catalog.generate(oa.id, 'chat:1b', 'hi', { maxTokens: 1 }), isRuntimeError('unauthorized', /it needs an API key and none is set/));
    assert.equal(h.usageCount(), usage);

    h.keys.set(oa.id, `${key}-wrong`);
    await assert.rejects(catalog.generate(oa.id, 'chat:1b', 'hi', { maxTokens: 1 }), (e: unknown) => isRuntimeError('unauthorized', /the API key is wrong/)(e) && !(e as Error).message.includes(key));

    h.keys.set(oa.id, key);
    const out = await catalog.generate(oa.id, 'chat:1b', 'hi', { maxTokens: 2 });
    assert.ok(out.outputTokens! >= 1);
    await catalog.refresh(oa.id);
    assert.match(catalog.get(oa.id)!.version ?? '', /\S/, 'with the key /props answers');
    assert.equal(h.usage(h.modelRow(oa, 'chat', '1b')!.id).at(-1)!.kind, 'generate');
  });

  it('an Ollama endpoint on the keyed server is an error of kind unauthorized, with no registry rows', async () => {
    const o = ollamaEndpoint(rt.base, 'keyed-ollama');
    catalog.setEndpoints([o]);
    await catalog.waitFor((c) => c.get(o.id)?.status === 'error', 30_000);
    const s = catalog.get(o.id)!;
    assert.equal(s.errorKind, 'unauthorized');
    assert.match(s.error ?? '', /HTTP 401/);
    assert.deepEqual(s.models, []);
    assert.equal(h.runtimeRow(o), undefined);
  });
});

describe('Model catalog when a runtime dies in the middle of a pull (integration)', function () {
  this.timeout(120_000);
  const box = new Sandbox();
  const big = { name: 'big', embedding: 256, layers: 4, contextLength: 256 };
  let dir: string;
  let rt: RuntimeProcess | undefined;
  let h: Harness;
  let catalog: ModelCatalog;

  before(async () => {
    dir = box.dir();
    fs.mkdirSync(path.join(dir, 'source'), { recursive: true });
    writeTinyGguf(path.join(dir, 'source', 'big__q8.gguf'), big);
    h = await openHarness(box);
    catalog = new ModelCatalog({ hooks: h.hooks });
  });
  after(async () => {
    catalog?.dispose();
    await rt?.stop();
    await box.cleanup();
  });

  const start = (port?: number) => startRuntimeProcess({ modelsDir: path.join(dir, 'models'), sourceDir: path.join(dir, 'source'), port, env: { PULL_CHUNK_DELAY_MS: '25' } });

  it('rejects with a clear message and an error audit, records no pull; after a restart the pull resumes', async () => {
    rt = await start();
    let ep = ollamaEndpoint(rt.base, 'dying-ollama');
    catalog.setEndpoints([ep]);
    await catalog.waitFor((c) => c.get(ep.id)?.status === 'ok', 30_000);
    const total = fs.statSync(path.join(dir, 'source', 'big__q8.gguf')).size;
    assert.ok(total > 4 * 256 * 1024, `the source is large enough for several chunks (${total} B)`);

    let seenAtKill = 0;
    const first: PullSnapshot[] = [];
    const victim = rt;
    await assert.rejects(
      catalog.pull(ep.id, 'big:q8', (s) => {
        first.push(s);
        if (!seenAtKill && s.completed >= 3 * 256 * 1024) {
          seenAtKill = s.completed;
          victim.kill('SIGKILL');
        }
      }),
      (e: unknown) => {
        assert.ok(e instanceof RuntimeError, String(e));
        assert.match(e.message, /Pulling big:q8: .*(stopped|broke)/);
        return true;
      },
    );
    assert.ok(seenAtKill > 0 && seenAtKill < total);
    await victim.stop();
    const partial = path.join(dir, 'models', 'big__q8.gguf.partial');
    const onDisk = fs.statSync(partial).size;
    assert.ok(onDisk >= seenAtKill, `${onDisk} B on disk, ${seenAtKill} B reported`);
    const audit = h.audits('model.pull')[0];
    assert.deepEqual([audit.target, audit.outcome], ['dying-ollama/big:q8', 'error']);
    assert.match(audit.error ?? '', /Pulling big:q8/);
    assert.equal(h.usageCount(), 0, 'no pull usage for a failed pull');
    await catalog.waitFor((c) => c.get(ep.id)?.status === 'error', 10_000);
    assert.equal(catalog.get(ep.id)!.errorKind, 'unreachable');
    assert.match(catalog.get(ep.id)!.error ?? '', /Cannot reach/);

    // The same folders again, on the same port when it is still free (else on a new endpoint).
    rt = await start(victim.port).catch(() => start());
    if (rt.base !== ep.baseUrl) {
      ep = ollamaEndpoint(rt.base, 'dying-ollama');
      catalog.setEndpoints([ep]);
    }
    await catalog.refresh(ep.id);
    await catalog.waitFor((c) => c.get(ep.id)?.status === 'ok', 30_000);
    const resumed: PullSnapshot[] = [];
    await catalog.pull(ep.id, 'big:q8', (s) => resumed.push(s));
    const sized = resumed.filter((s) => s.total > 0);
    assert.ok(sized[0].completed > onDisk, `resumed at ${sized[0].completed} B with ${onDisk} B on disk`);
    assert.ok(sized[0].completed > 0);
    assert.equal(sized.at(-1)!.completed, total);
    assert.equal(sized.at(-1)!.fraction, 1);
    assert.ok(!fs.existsSync(partial));
    assert.ok(catalog.model(ep.id, 'big:q8'));
    const row = h.modelRow(ep, 'big', 'q8')!;
    assert.deepEqual(
      h.usage(row.id).map((u) => u.kind),
      ['pull'],
    );
    assert.equal(h.audits('model.pull')[0].outcome, 'ok');
  });
});

describe('Model catalog on broken endpoints (integration)', function () {
  this.timeout(60_000);
  const box = new Sandbox();
  const servers: { close: () => Promise<void> }[] = [];
  let h: Harness;
  let catalog: ModelCatalog;

  const serve = async (handler: http.RequestListener) => {
    const s = await localServer(handler);
    servers.push(s);
    return s.url.replace('tcp:', 'http:');
  };

  before(async () => {
    h = await openHarness(box);
    catalog = new ModelCatalog({ hooks: h.hooks, timeoutMs: 500 });
  });
  after(async () => {
    catalog?.dispose();
    await Promise.all(servers.map((s) => s.close()));
    await box.cleanup();
  });

  it('an endpoint that answers HTML, malformed JSON, nothing, or refuses is an error state with a clear message and no registry rows', async () => {
    const html = ollamaEndpoint(
      await serve((_q, r) => {
        r.writeHead(502, { 'content-type': 'text/html' });
        r.end('<html><body>Bad gateway</body></html>');
      }),
      'html-proxy',
    );
    const bad = ollamaEndpoint(await serve((_q, r) => r.end('{"models": [ oops')), 'bad-json');
    const hang = ollamaEndpoint(await serve(() => undefined), 'hanging');
    const refused = ollamaEndpoint(`http://127.0.0.1:${await freePort()}`, 'refused');
    const webui = llamaEndpoint(
      await serve((_q, r) => {
        r.writeHead(200, { 'content-type': 'text/html' });
        r.end('<!doctype html><html><body>Open WebUI</body></html>');
      }),
      'webui',
    );
    const all = [html, bad, hang, refused, webui];
    h.listings = [];
    const t0 = Date.now();
    catalog.setEndpoints(all);
    await catalog.waitFor((c) => all.every((e) => c.get(e.id)?.status === 'error'), 10_000);
    assert.ok(Date.now() - t0 < 5000, 'the hang is bounded by timeoutMs');
    const s = (e: RuntimeEndpoint) => catalog.get(e.id)!;
    assert.equal(s(html).errorKind, 'protocol');
    assert.match(s(html).error!, /answered an HTML page \(HTTP 502\); is that really the Ollama runtime\?/);
    assert.equal(s(bad).errorKind, 'protocol');
    assert.match(s(bad).error!, /text that is not JSON/);
    assert.equal(s(hang).errorKind, 'timeout');
    assert.match(s(hang).error!, /did not answer within 500 ms/);
    assert.equal(s(refused).errorKind, 'unreachable');
    assert.match(s(refused).error!, /Cannot reach the Ollama runtime at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    assert.equal(s(webui).errorKind, 'protocol');
    assert.match(s(webui).error!, /HTML page \(HTTP 200\); is that really webui\?/);
    for (const e of all) {
      assert.deepEqual(s(e).models, []);
      assert.equal(s(e).refreshing, false);
      assert.ok(s(e).refreshedAt! > 0);
    }
    assert.deepEqual(h.listings, []);
    assert.deepEqual(h.repos.listRuntimes(), [], 'no registry rows for broken endpoints');
    assert.equal(h.repos.listModels({ limit: 10 }).length, 0);
  });

  it('a broken endpoint that recovers lists again and clears its error', async () => {
    let healthy = false;
    const e = ollamaEndpoint(
      await serve((q, r) => {
        if (!healthy) {
          r.writeHead(500, { 'content-type': 'application/json' });
          return r.end('{"error":"runtime is starting"}');
        }
        r.writeHead(200, { 'content-type': 'application/json' });
        if (q.url === '/api/version') return r.end('{"version":"0.6.0"}');
        if (q.url === '/api/tags') return r.end(`{"models":[{"name":"x:1","size":5,"digest":"${'a'.repeat(64)}","details":{"parameter_size":"1.5B","family":"qwen2"}}]}`);
        return r.end('{"models":[]}');
      }),
      'flaky',
    );
    catalog.setEndpoints([e]);
    await catalog.waitFor((c) => c.get(e.id)?.status === 'error', 10_000);
    assert.equal(catalog.get(e.id)!.errorKind, 'runtime');
    assert.match(catalog.get(e.id)!.error!, /Listing (loaded )?models failed: runtime is starting/);
    healthy = true;
    await catalog.refresh(e.id);
    const s = catalog.get(e.id)!;
    assert.deepEqual([s.status, s.error, s.errorKind, s.version], ['ok', undefined, undefined, '0.6.0']);
    assert.equal(h.modelRow(e, 'x', '1')!.parameter_count, 1.5e9);
  });

  it('retries a failed listing by itself with bounded backoff: a runtime that starts answering late is listed', async () => {
    let answers = 0;
    let calls = 0;
    const e = ollamaEndpoint(
      await serve((q, r) => {
        calls++;
        if (answers < 2) {
          if (q.url === '/api/tags') answers++;
          r.writeHead(503, { 'content-type': 'application/json' });
          return r.end('{"error":"starting"}');
        }
        r.writeHead(200, { 'content-type': 'application/json' });
        if (q.url === '/api/version') return r.end('{"version":"0.6.1"}');
        return r.end('{"models":[]}');
      }),
      'late',
    );
    const retrying = new ModelCatalog({ hooks: h.hooks, timeoutMs: 500, retryDelaysMs: [50, 100, 200] });
    try {
      retrying.setEndpoints([e]);
      await retrying.waitFor((c) => c.get(e.id)?.status === 'ok', 10_000);
      assert.equal(retrying.get(e.id)!.version, '0.6.1');
      assert.equal(answers, 2, 'two failed listings before the good one');
    } finally {
      retrying.dispose();
    }
    // A wrong key is not retried, and the tries stop after the last delay.
    let hits = 0;
    const never = ollamaEndpoint(
      await serve((_q, r) => {
        hits++;
        r.writeHead(500, { 'content-type': 'application/json' });
        r.end('{"error":"broken for good"}');
      }),
      'broken',
    );
    const bounded = new ModelCatalog({ hooks: h.hooks, timeoutMs: 500, retryDelaysMs: [20, 20] });
    try {
      bounded.setEndpoints([never]);
      await assert.rejects(bounded.waitFor((c) => c.get(never.id)?.status === 'ok', 1500), /not met within 1500 ms/);
      const tags = hits;
      assert.ok(tags <= 3 * 3, `at most 3 listings (3 requests each), saw ${tags} requests`);
    } finally {
      bounded.dispose();
    }
    assert.ok(calls > 0);
  });
});

describe('Model catalog on the dialects of other runtimes (integration)', function () {
  this.timeout(60_000);
  const box = new Sandbox();
  const servers: { close: () => Promise<void> }[] = [];
  let h: Harness;
  let catalog: ModelCatalog;

  /** A local server answering "METHOD path" from a table: [status, body, content-type?]; requests are counted. */
  const serve = async (table: Record<string, [number, string, string?]>, seen: string[] = []) => {
    const s = await localServer((q, r) => {
      const route = `${q.method} ${q.url}`;
      seen.push(route);
      const [status, body, type] = table[route] ?? [404, '{"error":"not found"}'];
      r.writeHead(status, { 'content-type': type ?? 'application/json' });
      r.end(body);
    });
    servers.push(s);
    return s.url.replace('tcp:', 'http:');
  };

  before(async () => {
    h = await openHarness(box);
    catalog = new ModelCatalog({ hooks: h.hooks });
  });
  after(async () => {
    catalog?.dispose();
    await Promise.all(servers.map((s) => s.close()));
    await box.cleanup();
  });

  it('maps an older Ollama: no /api/version, models without details, odd digests, "never" dates, no VRAM field, bare pull and generate lines', async () => {
    const digest = 'c'.repeat(64);
    const base = await serve({
      'GET /api/tags': [
        200,
        JSON.stringify({
          models: [
            { name: 'odd:1', size: 10, digest: 'not-a-digest', modified_at: '0001-01-01T00:00:00Z' },
            { name: 'fine:2', size: 20, digest: `sha256:${digest}`, modified_at: '2025-01-02T03:04:05Z', details: { family: '', parameter_size: '', quantization_level: 'Q4_0', format: 'gguf' } },
          ],
        }),
      ],
      'GET /api/ps': [
        200,
        JSON.stringify({
          models: [
            { name: 'odd:1', size: 10, digest: 'not-a-digest' },
            { name: 'fine:2', size: 20, digest: `sha256:${digest}`, size_vram: 15, expires_at: '0001-01-01T00:00:00Z' },
          ],
        }),
      ],
      'POST /api/pull': [200, '{"digest":"sha256:x","total":100,"completed":40}\n{"digest":"sha256:x","total":100,"completed":100}\n{"status":"success"}\n', 'application/x-ndjson'],
      'POST /api/generate': [200, '{"response":"ok","done":false}\n{"done":true}\n', 'application/x-ndjson'],
    });
    const ep = ollamaEndpoint(base, 'old-ollama');
    catalog.setEndpoints([ep]);
    await catalog.waitFor((c) => c.get(ep.id)?.status === 'ok', 10_000);
    const s = catalog.get(ep.id)!;
    assert.equal(s.version, undefined, 'no /api/version is no version, not an error');
    const [odd, fine] = s.models;
    assert.deepEqual(
      { digest: odd.digest, family: odd.family, modifiedAt: odd.modifiedAt, parameterSize: odd.parameterSize, loaded: odd.loaded },
      { digest: undefined, family: undefined, modifiedAt: undefined, parameterSize: undefined, loaded: { ramBytes: 10, vramBytes: 0, expiresAt: undefined } },
    );
    assert.deepEqual(
      { digest: fine.digest, family: fine.family, parameterSize: fine.parameterSize, quantization: fine.quantization, format: fine.format, modifiedAt: fine.modifiedAt, loaded: fine.loaded },
      { digest: `sha256:${digest}`, family: undefined, parameterSize: undefined, quantization: 'Q4_0', format: 'gguf', modifiedAt: Date.UTC(2025, 0, 2, 3, 4, 5), loaded: { ramBytes: 5, vramBytes: 15, expiresAt: undefined } },
    );
    assert.equal(h.modelRow(ep, 'odd', '1')!.digest, null, 'an odd digest does not keep the model out of the registry');

    const snaps: PullSnapshot[] = [];
    await catalog.pull(ep.id, 'fine:2', (p) => snaps.push(p));
    assert.deepEqual(
      snaps.map((p) => [p.completed, p.total]),
      [
        [40, 100],
        [100, 100],
        [100, 100],
      ],
    );
    assert.equal(snaps.at(-1)!.status, 'success');
    // A pulled model the runtime lists under another name is still recorded, under the name asked for.
    await catalog.pull(ep.id, 'registry.example/new:3', () => undefined);
    assert.equal(catalog.model(ep.id, 'registry.example/new:3'), undefined);
    assert.deepEqual(
      h.usage(h.modelRow(ep, 'registry.example/new', '3')!.id).map((u) => u.kind),
      ['pull'],
    );

    const out = await catalog.generate(ep.id, 'fine:2', 'hi');
    assert.equal(out.text, 'ok');
    assert.deepEqual([out.promptTokens, out.outputTokens], [undefined, undefined]);
    assert.ok(out.durationMs >= 0 && out.durationMs < 10_000, `measured ${out.durationMs} ms`);
    const gen = h.usage(h.modelRow(ep, 'fine', '2')!.id).at(-1)!;
    assert.deepEqual([gen.kind, gen.prompt_tokens, gen.output_tokens], ['generate', null, null]);
  });

  it('maps vLLM (max_model_len, no /props), LM Studio (nothing loaded, .gguf ids) and a llama.cpp server still loading (meta null, no /props)', async () => {
    const vllmSeen: string[] = [];
    const vllm = { id: '', kind: 'vllm', api: 'openai', name: 'vllm', baseUrl: '', source: 'user' } as RuntimeEndpoint;
    const vllmBase = await serve(
      {
        'GET /v1/models': [200, JSON.stringify({ object: 'list', data: [{ id: 'Qwen/Qwen2.5-1.5B-Instruct', object: 'model', owned_by: 'vllm', max_model_len: 32768 }] })],
        'POST /v1/completions': [200, JSON.stringify({ choices: [{ text: ' there', finish_reason: 'length' }], usage: { prompt_tokens: 3, completion_tokens: 1 } })],
      },
      vllmSeen,
    );
    const v: RuntimeEndpoint = { ...vllm, id: `vllm@${vllmBase}`, baseUrl: vllmBase };
    const lmBase = await serve({ 'GET /v1/models': [200, JSON.stringify({ data: [{ id: 'qwen2.5-7b-instruct.GGUF' }, { id: 'text-embedding-nomic' }] })] });
    const lm: RuntimeEndpoint = { id: `lmstudio@${lmBase}`, kind: 'lmstudio', api: 'openai', name: 'lm-studio', baseUrl: lmBase, source: 'user' };
    const loadingBase = await serve({ 'GET /v1/models': [200, JSON.stringify({ object: 'list', data: [{ id: 'model.gguf', object: 'model', meta: null }] })] });
    const loading = llamaEndpoint(loadingBase, 'llama-loading');
    catalog.setEndpoints([v, lm, loading]);
    await catalog.waitFor((c) => [v, lm, loading].every((e) => c.get(e.id)?.status === 'ok'), 10_000);

    const [qwen] = catalog.get(v.id)!.models;
    assert.deepEqual(
      { name: qwen.name, contextLength: qwen.contextLength, format: qwen.format, loaded: qwen.loaded, parameterCount: qwen.parameterCount },
      { name: 'Qwen/Qwen2.5-1.5B-Instruct', contextLength: 32768, format: undefined, loaded: {}, parameterCount: undefined },
    );
    assert.equal(catalog.get(v.id)!.version, undefined);
    assert.ok(!vllmSeen.includes('GET /props'), 'only llama.cpp is asked for /props');
    const out = await catalog.generate(v.id, 'Qwen/Qwen2.5-1.5B-Instruct', 'hi', { maxTokens: 1 });
    assert.deepEqual([out.text, out.promptTokens, out.outputTokens], [' there', 3, 1]);
    assert.equal(h.modelRow(v, 'Qwen/Qwen2.5-1.5B-Instruct', 'latest')!.context_length, 32768);

    assert.deepEqual(
      catalog.get(lm.id)!.models.map((m) => [m.name, m.format, m.loaded]),
      [
        ['qwen2.5-7b-instruct.GGUF', 'gguf', undefined],
        ['text-embedding-nomic', undefined, undefined],
      ],
    );
    assert.deepEqual(
      catalog.get(loading.id)!.models.map((m) => [m.name, m.contextLength, m.sizeBytes, m.format]),
      [['model.gguf', undefined, undefined, 'gguf']],
    );
    assert.equal(catalog.get(loading.id)!.version, undefined);
  });
});
