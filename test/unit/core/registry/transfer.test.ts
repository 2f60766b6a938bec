// Tests registry export to JSON and import: a faithful round trip, idempotent re-import, and bad files rejected with nothing written.
import * as assert from 'node:assert/strict';
import { Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { EXPORT_FORMAT, exportRegistry, importRegistry, parseExport, RegistryExport } from '../../../../src/core/registry/transfer';
import { assertThrowsRegistryError, Clock, DAY, digestOf, sandbox, savedHashes, seed } from './support';

/** A registry with a bit of everything: two runtimes, versions (one pinned), usage, benchmarks (one without runtime), tags, notes, audit. */
function populate(repos: RegistryRepositories): void {
  const ollama = repos.upsertRuntime({ kind: 'ollama', name: 'Ollama', endpoint: 'http://127.0.0.1:11434', containerId: 'c0ffee' });
  const llama = repos.upsertRuntime({ kind: 'llamacpp', name: 'llama.cpp', endpoint: 'http://127.0.0.1:8080' });
  const a = repos.upsertModel({
    runtimeId: ollama,
    name: 'llama3.1',
    tag: '8b-instruct-q4_K_M',
    family: 'llama',
    parameterCount: 8_000_000_000,
    quantization: 'Q4_K_M',
    contextLength: 131072,
    sizeBytes: 4_920_000_000,
    digest: digestOf(1),
    format: 'gguf',
    source: 'https://ollama.com/library/llama3.1',
    license: 'llama3.1',
  }).id;
  repos.upsertModel({ runtimeId: ollama, name: 'llama3.1', tag: '8b-instruct-q4_K_M', digest: digestOf(2), family: 'llama', sizeBytes: 4_930_000_000 });
  repos.setPinned(a, digestOf(1), true);
  const b = repos.upsertModel({ runtimeId: llama, name: 'qwen2.5-coder', tag: '7b', family: 'qwen', digest: digestOf(3) }).id;
  const c = repos.upsertModel({ runtimeId: llama, name: 'bare' }).id;
  for (let i = 0; i < 6; i++) repos.recordUsage({ modelId: i % 2 ? a : b, kind: i % 3 ? 'generate' : 'load', durationMs: i * 10, promptTokens: i, outputTokens: i * 2 });
  repos.recordUsage({ modelId: c, kind: 'pull', ts: 1_000 });
  repos.recordBenchmark({ modelId: a, runtimeId: ollama, hardware: 'RTX 4090', promptSet: 'short', ttftMs: 35.5, promptTps: 2000.25, genTps: 120.75, memoryBytes: 6_000_000_000 });
  repos.recordBenchmark({ modelId: b, hardware: 'M3 Max', promptSet: 'long', genTps: 40 });
  repos.setTags(a, ['chat', 'default']);
  repos.setTags(b, ['code']);
  repos.setNote(a, 'Good all-rounder.\nSecond line, "quoted", \u00e9t\u00e9 \ud83d\ude80');
  repos.audit({ operation: 'pull', target: 'llama3.1', outcome: 'ok' });
  repos.audit({ operation: 'remove', target: 'old', outcome: 'error', error: 'in use' });
}

function roundTrip(data: RegistryExport): RegistryExport {
  return parseExport(JSON.stringify(data, null, 2), 'export.json');
}

describe('registry export and import (unit)', () => {
  const box = sandbox();
  let source: Registry;
  let clock: Clock;

  beforeEach(async () => {
    clock = new Clock(Date.UTC(2026, 0, 15), 7);
    source = await box.registry({ file: box.file(), now: clock.now, persistDelayMs: 60_000 });
    populate(new RegistryRepositories(source, clock.now));
  });

  it('export → import into a fresh registry gives the same export', async () => {
    const exported = exportRegistry(source, 123);
    assert.equal(exported.format, EXPORT_FORMAT);
    assert.equal(exported.exportedAt, 123);
    assert.equal(exported.models.length, 3);
    assert.equal(exported.versions.length, 3);
    assert.equal(exported.usage.length, 7);
    assert.equal(exported.benchmarks.length, 2);
    assert.equal(JSON.stringify(exported).includes('"id"'), false, 'no database ids travel');

    const target = await box.registry({ file: box.file(), persistDelayMs: 60_000 });
    const report = importRegistry(target, roundTrip(exported));
    assert.deepEqual(report, { runtimes: 2, models: 3, versions: 3, usage: 7, benchmarks: 2, audit: 2 });
    assert.deepEqual(exportRegistry(target, 456), { ...exported, exportedAt: 456 });

    // What the repositories read is the same too (ids aside).
    const src = new RegistryRepositories(source);
    const dst = new RegistryRepositories(target);
    const strip = <T extends { id?: number; runtime_id?: number }>(rows: T[]) => rows.map(({ id: _i, runtime_id: _r, ...rest }) => rest);
    assert.deepEqual(strip(dst.listModels({ sort: 'lastUsed' })), strip(src.listModels({ sort: 'lastUsed' })));
    const findB = (r: RegistryRepositories) => r.listModels({ search: 'qwen' })[0].id;
    assert.deepEqual(dst.usageByDay(findB(dst), 30, clock.t), src.usageByDay(findB(src), 30, clock.t));

    // And it survives the trip to disk.
    await target.close();
    const reopened = await box.registry({ file: target.file });
    assert.deepEqual(exportRegistry(reopened, 456), { ...exported, exportedAt: 456 });
  });

  it('importing the same file twice adds nothing the second time', async () => {
    const data = roundTrip(exportRegistry(source, 1));
    const target = await box.registry({ file: box.file(), persistDelayMs: 60_000 });
    importRegistry(target, data);
    const once = exportRegistry(target, 1);
    const counts = target.counts();
    assert.deepEqual(importRegistry(target, data), { runtimes: 0, models: 0, versions: 0, usage: 0, benchmarks: 0, audit: 0 });
    assert.deepEqual(target.counts(), counts);
    assert.deepEqual(exportRegistry(target, 1), once);
    // Into the registry it came from: nothing either.
    assert.deepEqual(importRegistry(source, data), { runtimes: 0, models: 0, versions: 0, usage: 0, benchmarks: 0, audit: 0 });
  });

  it('an import merges with what the target already holds, keeping the target rows', async () => {
    const target = await box.registry({ file: box.file(), persistDelayMs: 60_000 });
    const repos = new RegistryRepositories(target);
    seed(repos, 'local');
    const ollama = repos.upsertRuntime({ kind: 'ollama', name: 'Local name', endpoint: 'http://127.0.0.1:11434' });
    repos.upsertModel({ runtimeId: ollama, name: 'llama3.1', tag: '8b-instruct-q4_K_M', family: 'local-family' });
    const report = importRegistry(target, roundTrip(exportRegistry(source)));
    assert.equal(report.runtimes, 1, 'the existing Ollama endpoint is kept');
    assert.equal(report.models, 2);
    assert.equal(repos.listRuntimes().find((r) => r.id === ollama)!.name, 'Local name');
    assert.equal(repos.findModel(ollama, 'llama3.1', '8b-instruct-q4_K_M')!.family, 'local-family');
    assert.equal(repos.listModels().length, 5);
  });

  describe('bad files', () => {
    let target: Registry;
    let before: { counts: Record<string, number>; data: RegistryExport; hashes: { snapshot: string; journal: string } };

    beforeEach(async () => {
      target = await box.registry({ file: box.file(), persistDelayMs: 60_000 });
      seed(new RegistryRepositories(target), 'target');
      await target.flush();
      before = { counts: target.counts(), data: exportRegistry(target, 0), hashes: savedHashes(target.file) };
    });

    async function assertUnchanged(): Promise<void> {
      assert.deepEqual(target.counts(), before.counts);
      assert.deepEqual(exportRegistry(target, 0), before.data);
      await target.flush();
      assert.deepEqual(savedHashes(target.file), before.hashes, 'nothing was saved');
    }

    const valid = () => JSON.parse(JSON.stringify(exportRegistry(source, 1))) as Record<string, unknown> & RegistryExport;

    const unparsable: [string, () => string, RegExp][] = [
      ['malformed JSON', () => '{"format": "llm-local-stack-registry", ', /is not JSON/],
      ['empty text', () => '', /is not JSON/],
      ['a JSON array', () => '[]', /is not a registry export/],
      ['another format', () => JSON.stringify({ ...valid(), format: 'something-else' }), /at format/],
      ['a newer export version', () => JSON.stringify({ ...valid(), version: 2 }), /at version/],
      ['missing models', () => JSON.stringify({ ...valid(), models: undefined }), /at models/],
      ['a bad usage kind', () => JSON.stringify({ ...valid(), usage: [{ ...valid().usage[0], kind: 'explode' }] }), /at usage\.0\.kind/],
      ['a bad runtime kind', () => JSON.stringify({ ...valid(), runtimes: [{ ...valid().runtimes[0], kind: 'docker' }] }), /at runtimes\.0\.kind/],
    ];
    for (const [what, text, message] of unparsable) {
      it(`parseExport rejects ${what} with kind import`, async () => {
        assertThrowsRegistryError(() => parseExport(text(), 'file.json'), 'import', message);
        await assertUnchanged();
      });
    }

    it('a model whose runtime is not in the file: kind import, nothing written', async () => {
      const data = valid();
      data.runtimes = data.runtimes.filter((r) => r.kind !== 'llamacpp');
      const parsed = parseExport(JSON.stringify(data), 'file.json');
      assertThrowsRegistryError(() => importRegistry(target, parsed), 'import', /runtime the file does not list/);
      await assertUnchanged();
    });

    it('usage of a model that is not in the file: kind import, the runtimes and models added before are rolled back', async () => {
      const data = valid();
      data.usage.push({ ...data.usage[0], model: { ...data.usage[0].model, name: 'ghost' } });
      assertThrowsRegistryError(() => importRegistry(target, parseExport(JSON.stringify(data), 'file.json')), 'import', /ghost/);
      await assertUnchanged();
    });
  });

  it('usage older than the window still travels (ts kept exactly)', async () => {
    const data = exportRegistry(source, 0);
    const old = data.usage.find((u) => u.kind === 'pull')!;
    assert.equal(old.ts, 1_000);
    assert.ok(clock.t - old.ts > 365 * DAY);
  });
});
