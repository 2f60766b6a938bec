// Tests the registry repositories on a real sql.js file: upserts and versions, the Models view query, usage, tags, notes, audit, retention, validation and SQL injection.
import * as assert from 'node:assert/strict';
import { RegistryError } from '../../../../src/core/registry/fileStore';
import { Registry } from '../../../../src/core/registry/registry';
import { ModelRow, RegistryRepositories } from '../../../../src/core/registry/repositories';
import { assertThrowsRegistryError, Clock, DAY, digestOf, sandbox, savedHashes, scalar, tableNames } from './support';

describe('registry repositories (unit)', () => {
  const box = sandbox();
  let registry: Registry;
  let repos: RegistryRepositories;
  let clock: Clock;
  let file: string;

  beforeEach(async () => {
    file = box.file();
    clock = new Clock();
    registry = await box.registry({ file, persistDelayMs: 60_000, now: clock.now });
    repos = new RegistryRepositories(registry, clock.now);
  });

  describe('runtimes and models', () => {
    it('upsertRuntime is keyed by kind + endpoint and updates name and container', () => {
      const a = repos.upsertRuntime({ kind: 'ollama', name: 'one', endpoint: 'http://a' });
      clock.advance(1000);
      const again = repos.upsertRuntime({ kind: 'ollama', name: 'renamed', endpoint: 'http://a', containerId: 'abc' });
      const other = repos.upsertRuntime({ kind: 'vllm', name: 'one', endpoint: 'http://a' });
      assert.equal(again, a);
      assert.notEqual(other, a);
      const rows = repos.listRuntimes();
      assert.equal(rows.length, 2);
      const row = rows.find((r) => r.id === a)!;
      assert.equal(row.name, 'renamed');
      assert.equal(row.container_id, 'abc');
      assert.equal(row.updated_at, row.created_at + 1000);
    });

    it('upsertModel: a new digest is a new version, the same digest only moves last_seen', () => {
      const rt = repos.upsertRuntime({ kind: 'ollama', name: 'o', endpoint: 'http://o' });
      const t0 = clock.t;
      const first = repos.upsertModel({ runtimeId: rt, name: 'llama3', digest: digestOf(1), sizeBytes: 10 });
      assert.deepEqual({ created: first.created, newVersion: first.newVersion }, { created: true, newVersion: true });

      clock.advance(5000);
      const same = repos.upsertModel({ runtimeId: rt, name: 'llama3', digest: digestOf(1), sizeBytes: 11 });
      assert.deepEqual(same, { id: first.id, created: false, newVersion: false });
      let versions = repos.versions(first.id);
      assert.equal(versions.length, 1);
      assert.equal(versions[0].firstSeen, t0);
      assert.equal(versions[0].lastSeen, t0 + 5000);
      assert.equal(repos.getModel(first.id)!.size_bytes, 11);
      assert.equal(repos.getModel(first.id)!.updated_at, t0 + 5000);

      clock.advance(5000);
      // The digest without its prefix is the same digest.
      const bare = digestOf(2).slice('sha256:'.length);
      const changed = repos.upsertModel({ runtimeId: rt, name: 'llama3', digest: bare });
      assert.deepEqual(changed, { id: first.id, created: false, newVersion: true });
      clock.advance(5000);
      assert.equal(repos.upsertModel({ runtimeId: rt, name: 'llama3', digest: digestOf(2) }).newVersion, false);
      versions = repos.versions(first.id);
      assert.deepEqual(
        versions.map((v) => v.digest),
        [digestOf(2), digestOf(1)],
        'newest first',
      );
      assert.equal(repos.getModel(first.id)!.digest, digestOf(2));

      // No digest: no version row.
      const plain = repos.upsertModel({ runtimeId: rt, name: 'nodigest' });
      assert.equal(plain.newVersion, false);
      assert.deepEqual(repos.versions(plain.id), []);
      assert.equal(repos.findModel(rt, 'nodigest')!.tag, 'latest');
    });

    it('setPinned pins one version and rejects a bad digest', () => {
      const rt = repos.upsertRuntime({ kind: 'ollama', name: 'o', endpoint: 'http://o' });
      const { id } = repos.upsertModel({ runtimeId: rt, name: 'm', digest: digestOf(1) });
      assert.equal(repos.setPinned(id, digestOf(1), true), true);
      assert.equal(repos.setPinned(id, digestOf(3), true), false);
      assert.deepEqual(
        repos.versions(id).map((v) => v.pinned),
        [true],
      );
      assertThrowsRegistryError(() => repos.setPinned(id, 'nope', true), 'validation');
    });

    it('deleteModel cascades to versions, usage, tags, notes and benchmarks (foreign keys stay on after a save)', async () => {
      const rt = repos.upsertRuntime({ kind: 'ollama', name: 'o', endpoint: 'http://o' });
      const { id } = repos.upsertModel({ runtimeId: rt, name: 'm', digest: digestOf(1) });
      repos.recordUsage({ modelId: id, kind: 'load' });
      repos.setTags(id, ['a']);
      repos.setNote(id, 'n');
      repos.recordBenchmark({ modelId: id, hardware: 'h', promptSet: 'p' });
      // export() in a compaction resets pragmas; the registry turns foreign keys on again.
      await registry.compact();
      assert.equal(repos.deleteModel(id), true);
      assert.equal(repos.deleteModel(id), false);
      for (const t of ['model_versions', 'usage_events', 'model_tags', 'model_notes', 'benchmark_results']) assert.equal(scalar(registry, `SELECT count(*) FROM ${t}`), 0, t);
    });
  });

  describe('listModels', () => {
    let rtA: number;
    let rtB: number;
    let all: ModelRow[];

    beforeEach(() => {
      rtA = repos.upsertRuntime({ kind: 'ollama', name: 'A', endpoint: 'http://a' });
      rtB = repos.upsertRuntime({ kind: 'llamacpp', name: 'B', endpoint: 'http://b' });
      const specs: [number, string, string, string | null, number | null][] = [
        [rtA, 'llama3', '8b', 'llama', 4_000],
        [rtA, 'llama3', '70b', 'llama', 40_000],
        [rtA, 'qwen2', 'latest', 'qwen', 1_500],
        [rtA, '50%-off', 'latest', null, 700],
        [rtA, 'a_b', 'latest', null, null],
        [rtA, 'axb', 'latest', null, 700],
        [rtB, 'Llama-GGUF', 'q4', 'llama', 3_000],
        [rtB, 'phi', 'mini', 'phi', null],
      ];
      for (const [runtimeId, name, tag, family, sizeBytes] of specs) {
        repos.upsertModel({ runtimeId, name, tag, family, sizeBytes });
        clock.advance(1);
      }
      all = repos.listModels({ limit: 10_000 });
      // Usage for some models, at distinct times.
      const byName = (n: string, tag = 'latest') => all.find((m) => m.name === n && m.tag === tag)!.id;
      repos.recordUsage({ modelId: byName('qwen2'), kind: 'generate', ts: clock.t + 3000 });
      repos.recordUsage({ modelId: byName('llama3', '8b'), kind: 'generate', ts: clock.t + 1000 });
      repos.recordUsage({ modelId: byName('phi', 'mini'), kind: 'load', ts: clock.t + 2000 });
      all = repos.listModels({ limit: 10_000 });
    });

    const key = (m: ModelRow) => `${m.name}:${m.tag}`;
    /** SQLite order: NULL first, then values; ties by id. */
    const cmpNullable = (a: number | null, b: number | null) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a - b);
    const cmpText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

    it('filters by runtime and by family', () => {
      assert.deepEqual(repos.listModels({ runtimeId: rtB }).map(key), ['Llama-GGUF:q4', 'phi:mini']);
      assert.equal(repos.listModels({ runtimeId: rtA }).length, 6);
      assert.deepEqual(repos.listModels({ family: 'llama' }).map(key), ['Llama-GGUF:q4', 'llama3:70b', 'llama3:8b']);
      assert.deepEqual(repos.listModels({ family: 'llama', runtimeId: rtA }).map(key), ['llama3:70b', 'llama3:8b']);
      assert.deepEqual(repos.listModels({ family: 'none' }), []);
      assert.deepEqual(repos.listModels({ runtimeId: 999 }), []);
    });

    it('search is a case-insensitive substring where % and _ are literal', () => {
      assert.deepEqual(repos.listModels({ search: 'LLAMA' }).map(key), ['Llama-GGUF:q4', 'llama3:70b', 'llama3:8b']);
      assert.deepEqual(repos.listModels({ search: '%' }).map(key), ['50%-off:latest']);
      assert.deepEqual(repos.listModels({ search: '_' }).map(key), ['a_b:latest']);
      assert.deepEqual(repos.listModels({ search: 'a_b' }).map(key), ['a_b:latest'], '_ does not match the x of axb');
      assert.deepEqual(repos.listModels({ search: '0%-' }).map(key), ['50%-off:latest']);
      assert.deepEqual(repos.listModels({ search: '\\' }), []);
      assert.deepEqual(repos.listModels({ search: 'wen', runtimeId: rtA }).map(key), ['qwen2:latest']);
      assert.deepEqual(repos.listModels({ search: 'wen', runtimeId: rtB }), []);
    });

    it('sorts by name, size and last use, ascending and descending', () => {
      const expected = {
        name: [...all].sort((a, b) => cmpText(a.name, b.name) || cmpText(a.tag, b.tag)),
        size: [...all].sort((a, b) => cmpNullable(a.size_bytes, b.size_bytes) || a.id - b.id),
        lastUsed: [...all].sort((a, b) => cmpNullable(a.last_used_at, b.last_used_at) || a.id - b.id),
      };
      for (const sort of ['name', 'size', 'lastUsed'] as const) {
        assert.deepEqual(repos.listModels({ sort }).map(key), expected[sort].map(key), `${sort} asc`);
        assert.deepEqual(repos.listModels({ sort, descending: true }).map(key), [...expected[sort]].reverse().map(key), `${sort} desc`);
        const inA = expected[sort].filter((m) => m.runtime_id === rtA);
        assert.deepEqual(repos.listModels({ sort, runtimeId: rtA }).map(key), inA.map(key), `${sort} asc in runtime A`);
        assert.deepEqual(repos.listModels({ sort, runtimeId: rtA, descending: true }).map(key), [...inA].reverse().map(key), `${sort} desc in runtime A`);
      }
      assert.deepEqual(repos.listModels({ sort: 'lastUsed', descending: true, limit: 3 }).map(key), ['qwen2:latest', 'phi:mini', 'llama3:8b']);
    });

    it('pages with limit and offset', () => {
      const full = repos.listModels({ sort: 'size' }).map(key);
      const pages: string[] = [];
      for (let offset = 0; offset < full.length + 3; offset += 3) pages.push(...repos.listModels({ sort: 'size', limit: 3, offset }).map(key));
      assert.deepEqual(pages, full);
      assert.deepEqual(repos.listModels({ limit: 2, offset: 100 }), []);
      assertThrowsRegistryError(() => repos.listModels({ limit: 0 }), 'validation');
      assertThrowsRegistryError(() => repos.listModels({ offset: -1 }), 'validation');
      assertThrowsRegistryError(() => repos.listModels({ sort: 'evil; DROP TABLE models' as 'name' }), 'validation');
    });
  });

  describe('usage', () => {
    let model: number;
    beforeEach(() => {
      const rt = repos.upsertRuntime({ kind: 'ollama', name: 'o', endpoint: 'http://o' });
      model = repos.upsertModel({ runtimeId: rt, name: 'm' }).id;
    });

    it('recordUsage sets last_used_at to the newest event, never back', () => {
      assert.equal(repos.getModel(model)!.last_used_at, null);
      repos.recordUsage({ modelId: model, kind: 'load', ts: 5000 });
      assert.equal(repos.getModel(model)!.last_used_at, 5000);
      repos.recordUsage({ modelId: model, kind: 'generate', ts: 3000 });
      assert.equal(repos.getModel(model)!.last_used_at, 5000);
      repos.recordUsage({ modelId: model, kind: 'unload' });
      assert.equal(repos.getModel(model)!.last_used_at, clock.t);
    });

    it('usageByDay groups by UTC day and kind inside the window', () => {
      const now = Date.UTC(2026, 2, 31, 18, 0, 0);
      const at = (daysAgo: number, hour: number) => Date.UTC(2026, 2, 31 - daysAgo, hour);
      repos.recordUsage({ modelId: model, kind: 'generate', ts: at(0, 1), outputTokens: 10, durationMs: 100 });
      repos.recordUsage({ modelId: model, kind: 'generate', ts: at(0, 17), outputTokens: 5, durationMs: 50, promptTokens: 3, ttftMs: 41, client: 'ci' });
      repos.recordUsage({ modelId: model, kind: 'load', ts: at(0, 2), durationMs: 7 });
      repos.recordUsage({ modelId: model, kind: 'generate', ts: at(1, 23) });
      repos.recordUsage({ modelId: model, kind: 'generate', ts: at(29, 19) });
      repos.recordUsage({ modelId: model, kind: 'generate', ts: now - 30 * DAY }); // exactly at the edge: in
      repos.recordUsage({ modelId: model, kind: 'generate', ts: now - 30 * DAY - 1 }); // just outside
      repos.recordUsage({ modelId: model, kind: 'pull', ts: at(45, 12) }); // far outside
      const other = repos.upsertModel({ runtimeId: repos.listRuntimes()[0].id, name: 'other' }).id;
      repos.recordUsage({ modelId: other, kind: 'generate', ts: at(0, 3) });

      assert.deepEqual(repos.usageByDay(model, 30, now), [
        { day: '2026-03-01', kind: 'generate', count: 1, outputTokens: 0, promptTokens: 0, durationMs: 0, ttftMs: null },
        { day: '2026-03-02', kind: 'generate', count: 1, outputTokens: 0, promptTokens: 0, durationMs: 0, ttftMs: null },
        { day: '2026-03-30', kind: 'generate', count: 1, outputTokens: 0, promptTokens: 0, durationMs: 0, ttftMs: null },
        { day: '2026-03-31', kind: 'generate', count: 2, outputTokens: 15, promptTokens: 3, durationMs: 150, ttftMs: 41 },
        { day: '2026-03-31', kind: 'load', count: 1, outputTokens: 0, promptTokens: 0, durationMs: 7, ttftMs: null },
      ]);
      assert.deepEqual(
        repos.usageByDay(model, 1, now).map((d) => `${d.day}/${d.kind}/${d.count}`),
        ['2026-03-30/generate/1', '2026-03-31/generate/2', '2026-03-31/load/1'],
      );
      // 60 days: the pull 45 days ago, and the event just outside 30 days joins its day (2026-03-01).
      assert.deepEqual(
        repos.usageByDay(model, 60, now).map((d) => `${d.day}/${d.kind}/${d.count}`),
        ['2026-02-14/pull/1', '2026-03-01/generate/2', '2026-03-02/generate/1', '2026-03-30/generate/1', '2026-03-31/generate/2', '2026-03-31/load/1'],
      );
      assert.deepEqual(repos.usageByDay(12345, 30, now), []);
    });

    it('stats report usage range and counts', () => {
      repos.recordUsage({ modelId: model, kind: 'load', ts: 100 });
      repos.recordUsage({ modelId: model, kind: 'load', ts: 900 });
      const s = repos.stats(1234);
      assert.equal(s.oldestUsage, 100);
      assert.equal(s.newestUsage, 900);
      assert.equal(s.counts.usage_events, 2);
      assert.equal(s.fileBytes, 1234);
      assert.equal(s.encrypted, false);
    });
  });

  describe('benchmarks, tags, notes, audit, retention', () => {
    let model: number;
    let rt: number;
    beforeEach(() => {
      rt = repos.upsertRuntime({ kind: 'ollama', name: 'o', endpoint: 'http://o' });
      model = repos.upsertModel({ runtimeId: rt, name: 'm' }).id;
    });

    it('benchmarks come back newest first, limited', () => {
      for (let i = 0; i < 5; i++) repos.recordBenchmark({ modelId: model, runtimeId: rt, hardware: 'rtx', promptSet: `p${i}`, genTps: i, ts: 1000 + i });
      const rows = repos.benchmarks(model, 3);
      assert.deepEqual(
        rows.map((r) => r.prompt_set),
        ['p4', 'p3', 'p2'],
      );
      assert.equal(rows[0].gen_tps, 4);
      assert.equal(rows[0].runtime_id, rt);
      assertThrowsRegistryError(() => repos.recordBenchmark({ modelId: model, hardware: '', promptSet: 'p' }), 'validation');
      assertThrowsRegistryError(() => repos.recordBenchmark({ modelId: model, hardware: 'h', promptSet: 'p', genTps: -1 }), 'validation');
    });

    it('setTags replaces, trims and dedupes; modelsWithTag finds them', () => {
      repos.setTags(model, ['chat', 'code', 'chat', ' code ', 'zeta']);
      assert.deepEqual(repos.tags(model), ['chat', 'code', 'zeta']);
      const other = repos.upsertModel({ runtimeId: rt, name: 'other' }).id;
      repos.setTags(other, ['chat']);
      assert.deepEqual(repos.modelsWithTag('chat'), [model, other]);
      repos.setTags(model, ['solo']);
      assert.deepEqual(repos.tags(model), ['solo']);
      assert.deepEqual(repos.modelsWithTag('chat'), [other]);
      repos.setTags(model, []);
      assert.deepEqual(repos.tags(model), []);
      assertThrowsRegistryError(() => repos.setTags(model, ['ok', '   ']), 'validation');
    });

    it('setNote upserts; an empty or blank note deletes it', () => {
      assert.equal(repos.note(model), undefined);
      repos.setNote(model, 'first');
      repos.setNote(model, 'second');
      assert.equal(repos.note(model), 'second');
      repos.setNote(model, '   ');
      assert.equal(repos.note(model), undefined);
      repos.setNote(model, 'again');
      repos.setNote(model, '');
      assert.equal(repos.note(model), undefined);
      assert.equal(scalar(registry, 'SELECT count(*) FROM model_notes'), 0);
    });

    it('audit entries come back newest first (ties by insertion), limited', () => {
      repos.audit({ operation: 'start', target: 'c1', outcome: 'ok', ts: 10 });
      repos.audit({ operation: 'stop', target: 'c1', outcome: 'error', error: 'boom', ts: 30 });
      repos.audit({ operation: 'remove', target: 'c1', outcome: 'ok', ts: 30 });
      repos.audit({ operation: 'pull', target: 'm', outcome: 'ok', ts: 20 });
      assert.deepEqual(
        repos.recentAudit().map((a) => a.operation),
        ['remove', 'stop', 'pull', 'start'],
      );
      assert.deepEqual(repos.recentAudit(1), [{ ts: 30, operation: 'remove', target: 'c1', outcome: 'ok', error: null }]);
      assertThrowsRegistryError(() => repos.audit({ operation: 'x', target: 't', outcome: 'maybe' as 'ok' }), 'validation');
    });

    it('retention settings drive prune of usage and audit', () => {
      assert.deepEqual(repos.retention(), { usageDays: 365, auditDays: 365, usageRawDays: 30 });
      repos.setRetention({ usageDays: 10, auditDays: 5 });
      assert.deepEqual(repos.retention(), { usageDays: 10, auditDays: 5, usageRawDays: 30 });
      const now = clock.t;
      for (const d of [1, 6, 11, 400]) {
        repos.recordUsage({ modelId: model, kind: 'load', ts: now - d * DAY });
        repos.audit({ operation: 'op', target: String(d), outcome: 'ok', ts: now - d * DAY });
      }
      assert.deepEqual(repos.prune(now), { usage: 2, rolledUp: 0, audit: 3, deliveries: 0 });
      assert.deepEqual(
        repos.recentAudit().map((a) => a.target),
        ['1'],
      );
      assert.equal(scalar(registry, 'SELECT count(*) FROM usage_events'), 2);
      assert.deepEqual(repos.prune(now), { usage: 0, rolledUp: 0, audit: 0, deliveries: 0 });
      assertThrowsRegistryError(() => repos.setRetention({ usageDays: 0 }), 'validation');
      assertThrowsRegistryError(() => repos.setRetention({ auditDays: 1.5 }), 'validation');
      assert.deepEqual(repos.retention(), { usageDays: 10, auditDays: 5, usageRawDays: 30 });
    });
    it('raw usage older than usageRawDays is rolled up per day and kind: the history reads the same, the raw rows are gone', () => {
      repos.setRetention({ usageRawDays: 2 });
      const now = Date.UTC(2027, 5, 15, 12);
      const at = (days: number, h = 0) => Date.UTC(2027, 5, 15 - days, h);
      repos.recordUsage({ modelId: model, kind: 'generate', ts: at(0, 1), promptTokens: 5, outputTokens: 7, ttftMs: 40 });
      repos.recordUsage({ modelId: model, kind: 'generate', ts: at(3, 1), promptTokens: 10, outputTokens: 20, durationMs: 100, ttftMs: 30 });
      repos.recordUsage({ modelId: model, kind: 'generate', ts: at(3, 5), promptTokens: 1, outputTokens: 2, durationMs: 50 });
      repos.recordUsage({ modelId: model, kind: 'generate', ts: at(3, 9), promptTokens: 4, outputTokens: 6, durationMs: 10, ttftMs: 50 });
      repos.recordUsage({ modelId: model, kind: 'load', ts: at(5, 2), durationMs: 900 });
      const before = repos.usageByDay(model, 30, now);
      assert.deepEqual(repos.prune(now), { usage: 4, rolledUp: 2, audit: 0, deliveries: 0 });
      assert.equal(scalar(registry, 'SELECT count(*) FROM usage_events'), 1);
      assert.equal(scalar(registry, 'SELECT count(*) FROM usage_daily'), 2);
      assert.deepEqual(repos.usageByDay(model, 30, now), before);
      assert.deepEqual(
        before.find((d) => d.day === '2027-06-12'),
        { day: '2027-06-12', kind: 'generate', count: 3, outputTokens: 28, promptTokens: 15, durationMs: 160, ttftMs: 40 },
      );
      // A later event of a rolled-up day (an import, a late write) adds to that day's totals.
      repos.recordUsage({ modelId: model, kind: 'generate', ts: at(3, 20), outputTokens: 2 });
      assert.deepEqual(repos.prune(now), { usage: 1, rolledUp: 1, audit: 0, deliveries: 0 });
      assert.equal(repos.usageByDay(model, 30, now).find((d) => d.day === '2027-06-12')?.count, 4);
      // Roll-ups older than usageDays go too.
      repos.setRetention({ usageDays: 4 });
      repos.prune(now);
      assert.deepEqual(registry.all('SELECT day, kind FROM usage_daily'), [{ day: '2027-06-12', kind: 'generate' }]);
    });

    it('unused models: last used (or, never used, first seen) before the cut, largest first', () => {
      const now = clock.t;
      const big = repos.upsertModel({ runtimeId: rt, name: 'big', sizeBytes: 9e9 }).id;
      const used = repos.upsertModel({ runtimeId: rt, name: 'used', sizeBytes: 5e9 }).id;
      repos.recordUsage({ modelId: big, kind: 'generate', ts: now - 60 * DAY });
      repos.recordUsage({ modelId: used, kind: 'generate', ts: now - DAY });
      assert.deepEqual(repos.unusedModels(30, now + 20 * DAY).map((m) => m.name), ['big']);
      // 50 days on: 'used' and the never-used 'm' (first seen now) join, largest first.
      assert.deepEqual(repos.unusedModels(30, now + 50 * DAY).map((m) => m.name), ['big', 'used', 'm']);
      assert.deepEqual(repos.unusedModels(90, now), []);
    });

    it('load measurements are kept per machine and runtime kind, newest first, and validated', () => {
      const m = { hardware: 'hw', runtimeKind: 'ollama', model: 'a:1b', contextSize: 2048, weightsBytes: 1e9, kvBytes: 2e8, measuredBytes: 1.5e9, source: 'container memory' };
      repos.recordLoadMeasurement({ ...m, ts: 1 });
      repos.recordLoadMeasurement({ ...m, ts: 2, model: 'b:3b' });
      repos.recordLoadMeasurement({ ...m, ts: 3, hardware: 'other' });
      assert.deepEqual(repos.loadMeasurements('hw', 'ollama').map((x) => x.model), ['b:3b', 'a:1b']);
      assert.deepEqual(repos.loadMeasurements('hw', 'openai'), []);
      assertThrowsRegistryError(() => repos.recordLoadMeasurement({ ...m, measuredBytes: 0 }), 'validation');
    });
  });

  describe('validation', () => {
    it('rejects bad input with kind validation and writes nothing', async () => {
      const rt = repos.upsertRuntime({ kind: 'ollama', name: 'o', endpoint: 'http://o' });
      const { id } = repos.upsertModel({ runtimeId: rt, name: 'm' });
      await registry.flush();
      const counts = registry.counts();
      const hashes = savedHashes(file);
      const model = repos.getModel(id);

      const bad: [string, () => unknown, RegExp][] = [
        ['empty runtime name', () => repos.upsertRuntime({ kind: 'ollama', name: '   ', endpoint: 'http://x' }), /name/],
        ['unknown runtime kind', () => repos.upsertRuntime({ kind: 'docker' as 'ollama', name: 'x', endpoint: 'http://x' }), /kind/],
        ['empty model name', () => repos.upsertModel({ runtimeId: rt, name: '' }), /name/],
        ['negative size', () => repos.upsertModel({ runtimeId: rt, name: 'm', sizeBytes: -1 }), /sizeBytes/],
        ['fractional size', () => repos.upsertModel({ runtimeId: rt, name: 'm', sizeBytes: 1.5 }), /sizeBytes/],
        ['bad digest', () => repos.upsertModel({ runtimeId: rt, name: 'm', digest: 'sha256:xyz' }), /digest/],
        ['upper-case digest', () => repos.upsertModel({ runtimeId: rt, name: 'm', digest: digestOf(1).toUpperCase() }), /digest/],
        ['unknown runtime id', () => repos.upsertModel({ runtimeId: 999, name: 'new-model' }), /runtime 999 does not exist/],
        ['bad runtime id', () => repos.upsertModel({ runtimeId: 0, name: 'x' }), /runtimeId/],
        ['bad usage kind', () => repos.recordUsage({ modelId: id, kind: 'explode' as 'load' }), /kind/],
        ['negative tokens', () => repos.recordUsage({ modelId: id, kind: 'load', outputTokens: -3 }), /outputTokens/],
        ['too long note', () => repos.setNote(id, 'x'.repeat(100_001)), /note/],
        ['empty audit operation', () => repos.audit({ operation: '', target: 't', outcome: 'ok' }), /operation/],
      ];
      for (const [what, fn, message] of bad) {
        assert.throws(
          fn,
          (e: unknown) => e instanceof RegistryError && e.kind === 'validation' && message.test(e.message),
          what,
        );
      }
      assert.deepEqual(registry.counts(), counts);
      assert.deepEqual(repos.getModel(id), model);
      await registry.flush();
      assert.deepEqual(savedHashes(file), hashes, 'no save was scheduled: the file and its journal are byte-identical');
    });
  });

  describe('SQL injection', () => {
    it('names, tags, notes and searches with SQL in them stay data', async () => {
      const evil = "x'); DROP TABLE models;--";
      const rt = repos.upsertRuntime({ kind: 'other', name: evil, endpoint: `http://h/${evil}` });
      const { id } = repos.upsertModel({ runtimeId: rt, name: evil, tag: `'; DELETE FROM runtimes; --`, family: "' OR 1=1 --" });
      repos.setTags(id, [evil]);
      repos.setNote(id, evil);
      repos.audit({ operation: evil, target: evil, outcome: 'ok' });
      const safe = repos.upsertModel({ runtimeId: rt, name: 'innocent' }).id;

      assert.equal(repos.getModel(id)!.name, evil);
      assert.deepEqual(repos.listModels({ search: evil }).map((m) => m.id), [id]);
      assert.deepEqual(repos.listModels({ search: "' OR '1'='1" }), []);
      assert.deepEqual(repos.listModels({ family: "' OR 1=1 --" }).map((m) => m.id), [id]);
      assert.deepEqual(repos.listModels({ family: "x' OR '1'='1" }), []);
      assert.equal(repos.findModel(rt, evil, `'; DELETE FROM runtimes; --`)!.id, id);
      assert.deepEqual(repos.modelsWithTag(evil), [id]);
      assert.equal(repos.note(id), evil);
      assert.equal(repos.recentAudit(1)[0].operation, evil);
      assert.ok(tableNames(registry).includes('models'));
      assert.equal(repos.listModels().length, 2);
      assert.ok(repos.getModel(safe));

      await registry.close();
      const reopened = await box.registry({ file });
      const r2 = new RegistryRepositories(reopened);
      assert.equal(r2.getModel(id)!.name, evil);
      assert.equal(r2.listRuntimes()[0].name, evil);
    });
  });
});
