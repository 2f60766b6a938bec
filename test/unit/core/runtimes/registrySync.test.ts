// Keeping the registry in step with runtime listings, usage and audit, on real sql.js registry files:
// syncListing (create, unchanged = no write, new versions, digest kept, absent models kept, invalid
// entries skipped, last use in listing order), the RegistrySync hooks, and the input mappers.
import * as assert from 'node:assert/strict';
import { Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { modelInput, parseParameterSize, RegistrySync, runtimeInput } from '../../../../src/core/runtimes/registrySync';
import type { RuntimeModel } from '../../../../src/core/runtimes/runtime';
import { Clock, digestOf, sandbox, savedHashes, scalar } from '../registry/support';
import { captureLog, testEndpoint } from '../../../support/fixtures';

const ep = testEndpoint('ollama', 'http://127.0.0.1:11434', { name: 'ollama-main', source: 'container', containerId: 'c0ffee' });
const llamaEp = testEndpoint('llamacpp', 'http://127.0.0.1:8080', { name: 'llama-server' });

const llama3: RuntimeModel = { name: 'llama3:8b', sizeBytes: 4_700_000_000, digest: digestOf(1), family: 'llama', parameterSize: '8.0B', quantization: 'Q4_K_M', format: 'gguf' };
const qwen: RuntimeModel = { name: 'qwen2.5', sizeBytes: 986_000_000, digest: digestOf(2).slice('sha256:'.length), family: 'qwen2', parameterSize: '1.5B', quantization: 'Q8_0' };
const phi: RuntimeModel = { name: 'phi3:mini', sizeBytes: 2_200_000_000, family: 'phi3', parameterCount: 3_820_000_000 };


describe('registry sync of runtime listings (unit)', () => {
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

  const sync = (models: readonly RuntimeModel[], endpoint = ep) => repos.syncListing(runtimeInput(endpoint), models.map(modelInput));
  const journalSeq = () => Number(scalar(registry, "SELECT value FROM registry_meta WHERE key = 'journal_seq'"));
  const model = (runtimeId: number, full: string) => {
    const [name, tag] = full.split(':');
    return repos.findModel(runtimeId, name, tag ?? 'latest');
  };

  describe('syncListing', () => {
    it('creates the runtime and its models, with a version per digest', () => {
      const t0 = clock.t;
      const r = sync([llama3, qwen, phi]);
      assert.deepEqual({ ...r, runtimeId: undefined }, { runtimeId: undefined, created: 3, updated: 0, newVersions: [], lastUsed: [null, null, null], skipped: [] });
      const runtimes = repos.listRuntimes();
      assert.equal(runtimes.length, 1);
      assert.deepEqual(
        { id: runtimes[0].id, kind: runtimes[0].kind, name: runtimes[0].name, endpoint: runtimes[0].endpoint, container: runtimes[0].container_id },
        { id: r.runtimeId, kind: 'ollama', name: 'ollama-main', endpoint: 'http://127.0.0.1:11434', container: 'c0ffee' },
      );
      const l = model(r.runtimeId, 'llama3:8b')!;
      assert.deepEqual(
        [l.family, l.parameter_count, l.quantization, l.size_bytes, l.digest, l.format, l.created_at, l.last_used_at],
        ['llama', 8e9, 'Q4_K_M', 4_700_000_000, digestOf(1), 'gguf', t0, null],
      );
      const q = model(r.runtimeId, 'qwen2.5')!;
      assert.equal(q.tag, 'latest');
      assert.equal(q.digest, digestOf(2), 'a bare digest gets its sha256: prefix');
      assert.equal(q.parameter_count, 1.5e9);
      const p = model(r.runtimeId, 'phi3:mini')!;
      assert.equal(p.digest, null);
      assert.equal(p.parameter_count, 3_820_000_000);
      assert.deepEqual(repos.versions(l.id), [{ digest: digestOf(1), firstSeen: t0, lastSeen: t0, pinned: false }]);
      assert.deepEqual(repos.versions(p.id), []);
      assert.deepEqual(registry.counts(), { runtimes: 1, models: 3, model_versions: 2, usage_events: 0, usage_daily: 0, benchmark_results: 0, load_measurements: 0, audit_log: 0 });
    });

    it('an identical second listing writes nothing: no transaction, same saved files, same timestamps', async () => {
      const first = sync([llama3, qwen, phi]);
      await registry.persistNow();
      const saved = savedHashes(file);
      const seq = journalSeq();
      const rows = repos.listModels({ limit: 100 });
      const versions = rows.map((m) => repos.versions(m.id));

      clock.advance(60_000);
      const again = sync([phi, llama3, qwen]);
      assert.deepEqual(again, { runtimeId: first.runtimeId, created: 0, updated: 0, newVersions: [], lastUsed: [null, null, null], skipped: [] });
      assert.equal(journalSeq(), seq, 'no transaction was committed');
      await registry.persistNow();
      assert.deepEqual(savedHashes(file), saved, 'the snapshot and journal did not change');
      assert.deepEqual(repos.listModels({ limit: 100 }), rows, 'updated_at and every column unchanged');
      assert.deepEqual(
        rows.map((m) => repos.versions(m.id)),
        versions,
        'last_seen of versions unchanged',
      );
      assert.equal(repos.listRuntimes()[0].updated_at, repos.listRuntimes()[0].created_at);
    });

    it('a changed digest becomes a new version and is reported; other changes are updates', () => {
      const first = sync([llama3, qwen]);
      const id = model(first.runtimeId, 'llama3:8b')!.id;
      clock.advance(1000);
      const r = sync([{ ...llama3, digest: digestOf(3) }, { ...qwen, sizeBytes: 1_000_000_000 }]);
      assert.equal(r.created, 0);
      assert.equal(r.updated, 2);
      assert.deepEqual(r.newVersions, ['llama3:8b']);
      const l = model(first.runtimeId, 'llama3:8b')!;
      assert.equal(l.id, id);
      assert.equal(l.digest, digestOf(3));
      assert.equal(l.updated_at, clock.t);
      assert.deepEqual(
        repos.versions(id).map((v) => v.digest),
        [digestOf(3), digestOf(1)],
      );
      assert.equal(model(first.runtimeId, 'qwen2.5')!.size_bytes, 1_000_000_000);
      assert.equal(repos.versions(model(first.runtimeId, 'qwen2.5')!.id).length, 1);
    });

    it('a listing without a digest keeps the recorded one (and writes nothing when nothing else changed)', async () => {
      const first = sync([llama3]);
      await registry.persistNow();
      const saved = savedHashes(file);
      const seq = journalSeq();
      const noDigest = { ...llama3, digest: undefined };

      const same = sync([noDigest]);
      assert.deepEqual([same.created, same.updated, same.newVersions], [0, 0, []]);
      assert.equal(journalSeq(), seq);
      await registry.persistNow();
      assert.deepEqual(savedHashes(file), saved);

      clock.advance(1000);
      const bigger = sync([{ ...noDigest, sizeBytes: 5_000_000_000 }]);
      assert.deepEqual([bigger.created, bigger.updated, bigger.newVersions], [0, 1, []]);
      const l = model(first.runtimeId, 'llama3:8b')!;
      assert.equal(l.digest, digestOf(1));
      assert.equal(l.size_bytes, 5_000_000_000);
      assert.equal(repos.versions(l.id).length, 1);
    });

    it('a model missing from the next listing stays, with its history', () => {
      const first = sync([llama3, qwen]);
      const qid = model(first.runtimeId, 'qwen2.5')!.id;
      repos.recordUsage({ modelId: qid, kind: 'generate', outputTokens: 5 });
      const r = sync([llama3]);
      assert.deepEqual([r.created, r.updated], [0, 0]);
      const q = repos.getModel(qid)!;
      assert.equal(q.name, 'qwen2.5');
      assert.equal(q.last_used_at, clock.t);
      assert.equal(repos.versions(qid).length, 1);
      assert.equal(registry.counts().usage_events, 1);
    });

    it('skips an invalid entry with a reason and stores the others', () => {
      const long = 'x'.repeat(400);
      const r = sync([llama3, { name: long, sizeBytes: 1 }, { name: 'neg:1b', sizeBytes: -5 }, { name: 'bad-digest', digest: 'md5:abc' }, phi]);
      assert.equal(r.created, 2);
      assert.equal(r.skipped.length, 3);
      assert.match(r.skipped[0], new RegExp(`^${'x'.repeat(100)}: name `));
      assert.ok(!r.skipped[0].includes('x'.repeat(101)), 'the name is cut to 100 characters in the reason');
      assert.match(r.skipped[1], /^neg: sizeBytes /);
      assert.match(r.skipped[2], /^bad-digest: digest /);
      assert.deepEqual(r.lastUsed, [null, null, null, null, null]);
      assert.ok(model(r.runtimeId, 'llama3:8b'));
      assert.ok(model(r.runtimeId, 'phi3:mini'));
      assert.equal(registry.counts().models, 2);
    });

    it('answers the recorded last use of each listed model in listing order', () => {
      const first = sync([llama3, qwen, phi]);
      const ids = [llama3, qwen, phi].map((m) => model(first.runtimeId, m.name)!.id);
      repos.recordUsage({ modelId: ids[0], kind: 'generate', ts: 1_000 });
      repos.recordUsage({ modelId: ids[2], kind: 'load', ts: 3_000 });
      // qwen unchanged, phi changed (an update), llama3 unchanged, one new model.
      const r = sync([qwen, { ...phi, sizeBytes: 1 }, { name: 'new:1b' }, llama3]);
      assert.deepEqual(r.lastUsed, [null, 3_000, null, 1_000]);
      assert.deepEqual([r.created, r.updated], [1, 1]);
    });

    it('a renamed runtime (new container) is updated in place, its models are untouched', () => {
      const first = sync([llama3]);
      const before = repos.listModels({ limit: 10 });
      clock.advance(1000);
      const r = sync([llama3], { ...ep, name: 'ollama-2', containerId: 'beef' });
      assert.equal(r.runtimeId, first.runtimeId);
      assert.deepEqual([r.created, r.updated], [0, 0]);
      const row = repos.listRuntimes()[0];
      assert.deepEqual([row.name, row.container_id, row.updated_at], ['ollama-2', 'beef', clock.t]);
      assert.deepEqual(repos.listModels({ limit: 10 }), before);
    });
  });

  describe('RegistrySync hooks', () => {
    let log: ReturnType<typeof captureLog>;
    let hooks: RegistrySync;

    beforeEach(() => {
      log = captureLog();
      hooks = new RegistrySync(() => Promise.resolve(repos), log);
    });

    it('onListing stores the listing and answers last uses keyed by the runtime\'s model name', async () => {
      const first = await hooks.onListing(ep, { version: '0.5.7', models: [llama3, qwen, phi] });
      assert.equal(first.size, 0, 'nothing used yet');
      assert.ok(log.lines.some((l) => l === 'info Registry: ollama-main lists 3 models (3 new, 0 changed).'), log.lines.join('\n'));
      const rt = repos.listRuntimes()[0].id;
      repos.recordUsage({ modelId: repos.findModel(rt, 'llama3', '8b')!.id, kind: 'generate', ts: 5_000 });
      repos.recordUsage({ modelId: repos.findModel(rt, 'qwen2.5', 'latest')!.id, kind: 'load', ts: 7_000 });
      log.lines.length = 0;
      const again = await hooks.onListing(ep, { models: [llama3, qwen, phi] });
      assert.deepEqual([...again], [
        ['llama3:8b', 5_000],
        ['qwen2.5', 7_000],
      ]);
      assert.deepEqual(log.lines, [], 'an unchanged listing logs nothing');
    });

    it('onListing logs new versions and skipped entries', async () => {
      await hooks.onListing(ep, { models: [llama3] });
      log.lines.length = 0;
      await hooks.onListing(ep, { models: [{ ...llama3, digest: digestOf(9) }, { name: 'bad', sizeBytes: -1 }] });
      assert.ok(log.lines.includes('info Registry: new version of llama3:8b on ollama-main.'), log.lines.join('\n'));
      assert.ok(log.lines.some((l) => /^warn Registry: left out a model of ollama-main: bad: sizeBytes /.test(l)), log.lines.join('\n'));
    });

    it('onUsage for a model not listed yet creates a bare row (and the runtime) and records the usage', async () => {
      const t = clock.t;
      await hooks.onUsage(llamaEp, 'library/phi3:mini', 'generate', { durationMs: 1234.6, promptTokens: 10.4, outputTokens: Number.NaN });
      const rt = repos.listRuntimes();
      assert.deepEqual(
        rt.map((r) => [r.kind, r.name, r.endpoint, r.container_id]),
        [['llamacpp', 'llama-server', 'http://127.0.0.1:8080', null]],
      );
      const m = repos.findModel(rt[0].id, 'library/phi3', 'mini')!;
      assert.ok(m, 'bare row by name and tag');
      assert.deepEqual([m.family, m.size_bytes, m.digest, m.last_used_at], [null, null, null, t]);
      const events = registry.all('SELECT model_id, ts, kind, duration_ms, prompt_tokens, output_tokens FROM usage_events');
      assert.deepEqual(events, [{ model_id: m.id, ts: t, kind: 'generate', duration_ms: 1235, prompt_tokens: 10, output_tokens: null }]);

      // A second use of the same model reuses the row; a RuntimeModel is accepted as well; infinities are null, negatives 0.
      clock.advance(1000);
      await hooks.onUsage(llamaEp, { name: 'library/phi3:mini' }, 'load', { durationMs: Number.POSITIVE_INFINITY, outputTokens: -3 });
      assert.equal(registry.counts().models, 1);
      const last = registry.get<{ kind: string; duration_ms: number | null; prompt_tokens: number | null; output_tokens: number | null }>(
        'SELECT kind, duration_ms, prompt_tokens, output_tokens FROM usage_events ORDER BY id DESC',
      );
      assert.deepEqual({ ...last }, { kind: 'load', duration_ms: null, prompt_tokens: null, output_tokens: 0 });
      assert.equal(repos.getModel(m.id)!.last_used_at, clock.t);

      // The next listing names it and hands its last use back under the runtime's name.
      const used = await hooks.onListing(llamaEp, { models: [{ name: 'library/phi3:mini' }, { name: 'other' }] });
      assert.deepEqual([...used], [['library/phi3:mini', clock.t]]);
      assert.equal(registry.counts().models, 2);
    });

    it('onUsage of a listed model records against its row; "x" and "x:latest" are the same model', async () => {
      await hooks.onListing(ep, { models: [qwen] });
      await hooks.onUsage(ep, 'qwen2.5:latest', 'pull', { durationMs: 10 });
      await hooks.onUsage(ep, qwen, 'delete', {});
      assert.equal(registry.counts().models, 1);
      const kinds = registry.all<{ kind: string; model_id: number }>('SELECT kind, model_id FROM usage_events ORDER BY id');
      const id = repos.findModel(repos.listRuntimes()[0].id, 'qwen2.5')!.id;
      assert.deepEqual(
        kinds.map((k) => [k.kind, k.model_id]),
        [
          ['pull', id],
          ['delete', id],
        ],
      );
    });

    it('onAudit writes ok and error entries', async () => {
      await hooks.onAudit('model.pull', 'ollama-main/llama3:8b');
      clock.advance(1000);
      await hooks.onAudit('model.delete', 'ollama-main/qwen2.5', 'model not found');
      assert.deepEqual(repos.recentAudit(), [
        { ts: clock.t, operation: 'model.delete', target: 'ollama-main/qwen2.5', outcome: 'error', error: 'model not found' },
        { ts: clock.t - 1000, operation: 'model.pull', target: 'ollama-main/llama3:8b', outcome: 'ok', error: null },
      ]);
    });
  });

  describe('input mappers', () => {
    it('parseParameterSize reads K, M, B and T, any case, and nothing else', () => {
      const cases: [string | undefined, number | undefined][] = [
        ['7B', 7e9],
        ['1.5b', 1.5e9],
        ['1.2B', 1.2e9],
        ['135M', 135e6],
        ['2T', 2e12],
        ['500K', 5e5],
        [' 8 B ', 8e9],
        ['', undefined],
        ['abc', undefined],
        ['8x7B', undefined],
        ['7', undefined],
        ['-7B', undefined],
        [undefined, undefined],
      ];
      for (const [s, n] of cases) assert.equal(parseParameterSize(s), n, String(s));
      for (const s of ['7B', '1.5b', '1.2B', '135M']) assert.ok(Number.isInteger(parseParameterSize(s)), s);
    });

    it('modelInput splits name and tag and maps the fields', () => {
      assert.deepEqual(modelInput({ name: 'library/x:q4', parameterSize: '8B', sizeBytes: 10, digest: 'sha256:' + 'b'.repeat(64), file: '/m/x.gguf', contextLength: 4096, format: 'gguf' }), {
        name: 'library/x',
        tag: 'q4',
        family: null,
        parameterCount: 8e9,
        quantization: null,
        contextLength: 4096,
        sizeBytes: 10,
        digest: 'sha256:' + 'b'.repeat(64),
        format: 'gguf',
        source: '/m/x.gguf',
      });
      const bare = modelInput({ name: 'x' });
      assert.deepEqual([bare.name, bare.tag, bare.parameterCount, bare.sizeBytes, bare.digest, bare.source], ['x', 'latest', null, null, null, null]);
      assert.equal(modelInput({ name: 'x', parameterCount: 7_241_732_096, parameterSize: '7B' }).parameterCount, 7_241_732_096, 'the exact count wins');
      assert.deepEqual([modelInput({ name: 'localhost:5000/library/x' }).name, modelInput({ name: 'localhost:5000/library/x' }).tag], ['localhost:5000/library/x', 'latest']);
    });

    it('runtimeInput maps the endpoint', () => {
      assert.deepEqual(runtimeInput(ep), { kind: 'ollama', name: 'ollama-main', endpoint: 'http://127.0.0.1:11434', containerId: 'c0ffee' });
      assert.deepEqual(runtimeInput(llamaEp), { kind: 'llamacpp', name: 'llama-server', endpoint: 'http://127.0.0.1:8080', containerId: null });
    });
  });
});
