// The registry's use cases from plain Node: a real sql.js file in a temp folder, a key store that
// keeps the key in memory, and every use case driven through call(), as the CLI and HTTP API will.
import { LATEST_VERSION } from '../../../src/core/registry/migrations';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KEY_SECRET, KeyStore, RegistryHost, RegistrySettings } from '../../../src/app/registry/host';
import * as uc from '../../../src/app/registry/useCases';
import { call, InvalidInput } from '../../../src/app/useCase';
import { RegistryError } from '../../../src/core/registry/fileStore';
import type { RecoveryReport } from '../../../src/core/registry/registry';

class MemoryKeys implements KeyStore {
  readonly map = new Map<string, string>();
  get(name: string) {
    return Promise.resolve(this.map.get(name));
  }
  set(name: string, value: string) {
    this.map.set(name, value);
    return Promise.resolve();
  }
  delete(name: string) {
    this.map.delete(name);
    return Promise.resolve();
  }
}

function logger() {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => void lines.push(`${level}: ${m}`);
  return { lines, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

const defaults: RegistrySettings = { encrypt: false, keepBackups: 10, backupIntervalHours: 24, usageDays: 365 };

async function rejects(p: Promise<unknown>, kind: RegistryError['kind'], message?: RegExp): Promise<RegistryError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  assert.ok(e instanceof RegistryError, `expected a RegistryError, got ${String(e)}`);
  assert.equal(e.kind, kind, e.message);
  if (message) assert.match(e.message, message);
  return e;
}

describe('registry use cases (integration)', function () {
  this.timeout(30_000);
  let dir: string;
  const hosts: RegistryHost[] = [];
  let settings: RegistrySettings;

  function host(o: { file?: string; keys?: KeyStore; onRecovery?: (r: RecoveryReport) => void; log?: ReturnType<typeof logger>['log'] } = {}): { h: RegistryHost; deps: uc.RegistryDeps } {
    const h = new RegistryHost({
      file: o.file ?? path.join(dir, 'registry.sqlite'),
      settings: () => settings,
      keys: o.keys ?? new MemoryKeys(),
      log: o.log ?? logger().log,
      onRecovery: o.onRecovery,
      maintenanceEveryMs: 0,
    });
    hosts.push(h);
    return { h, deps: { registry: h } };
  }

  async function seed(h: RegistryHost, name: string): Promise<void> {
    const { repos } = await h.get();
    const rt = repos.upsertRuntime({ kind: 'ollama', name: 'test', endpoint: 'http://127.0.0.1:1/app-test' });
    repos.upsertModel({ runtimeId: rt, name, tag: 'q4', digest: 'a'.repeat(64), sizeBytes: 1234 });
    repos.recordUsage({ modelId: repos.findModel(rt, name, 'q4')!.id, kind: 'generate', durationMs: 5, outputTokens: 3 });
  }

  async function modelNames(h: RegistryHost): Promise<string[]> {
    const { registry } = await h.get();
    return registry.all<{ name: string }>('SELECT name FROM models ORDER BY name').map((r) => r.name);
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-app-registry-'));
    settings = { ...defaults };
  });
  afterEach(async () => {
    for (const h of hosts.splice(0)) {
      h.dispose();
      await h.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('auditSoon: entries written together within a moment, before a read of the log, and on close; a flood is bounded', async () => {
    const { h, deps } = host();
    for (let i = 0; i < 3; i++) h.auditSoon('api GET /v1/status', `t${i} (viewer) 200 1 ms`);
    h.auditSoon('api POST /runtimes/*', 'refused 401', 'unauthorized');
    const { entries } = await call(uc.auditLog, deps, { limit: 10 });
    assert.deepEqual(entries.map((e) => [e.operation, e.outcome]).reverse(), [
      ['api GET /v1/status', 'ok'],
      ['api GET /v1/status', 'ok'],
      ['api GET /v1/status', 'ok'],
      ['api POST /runtimes/*', 'error'],
    ]);
    // 500 queued write at once, without waiting for the timer.
    const { registry } = await h.get();
    const before = registry.writeCount;
    for (let i = 0; i < 500; i++) h.auditSoon('api GET /metrics', `n${i}`);
    await new Promise((r) => setImmediate(r));
    await h.flushAudits();
    assert.equal(registry.writeCount - before, 1, 'one transaction for 500 entries');
    // A flood past 10,000 queued is dropped and counted, not kept in memory.
    const { log, lines } = logger();
    const { h: flooded } = host({ file: path.join(dir, 'flood.sqlite'), log });
    for (let i = 0; i < 10_050; i++) flooded.auditSoon('api x', `n${i}`);
    await flooded.close();
    assert.ok(lines.some((l) => /audit entries were dropped/.test(l)), lines.join('\n'));
    h.auditSoon('api late', 'on close');
    await h.close();
    const reopened = host().h;
    const newest = (await reopened.get()).repos.recentAudit(3);
    assert.equal(newest[0].operation, 'api late', JSON.stringify(newest));
  });

  it('backup, listBackups and restore: the state comes back, the current one is kept as a backup, each step is audited', async () => {
    const { h, deps } = host();
    await seed(h, 'first');
    const b = await call(uc.backup, deps, {});
    assert.equal(b.reason, 'manual');
    assert.equal(b.counts.models, 1);
    assert.match(path.basename(b.file), /^registry-\d{8}-\d{6}-\d{3}-manual\.sqlite$/);
    assert.ok(fs.existsSync(b.file));
    await seed(h, 'second');
    assert.deepEqual(await modelNames(h), ['first', 'second']);
    assert.deepEqual((await call(uc.listBackups, deps, {})).backups, [b]);

    // By file name, as a CLI user would type it.
    const restored = await call(uc.restore, deps, { file: path.basename(b.file) });
    assert.equal(restored.file, b.file);
    assert.deepEqual(await modelNames(h), ['first']);
    const { backups } = await call(uc.listBackups, deps, {});
    assert.deepEqual(
      backups.map((x) => x.reason),
      ['before-restore', 'manual'],
    );
    const audited = async () => (await call(uc.auditLog, deps, { limit: 10 })).entries.map((e) => [e.operation, e.target, e.outcome]);
    // The backup was taken before its own audit entry was written: the restored log holds the restore only.
    assert.deepEqual(await audited(), [['registry.restore', path.basename(b.file), 'ok']]);
    // The state before the restore is one restore away (its audit log, too: taken before the restore was recorded).
    await call(uc.restore, deps, { file: backups[0].file });
    assert.deepEqual(await modelNames(h), ['first', 'second']);
    assert.deepEqual((await audited()).slice(0, 2), [
      ['registry.restore', path.basename(backups[0].file), 'ok'],
      ['registry.backup', path.basename(b.file), 'ok'],
    ]);
    await h.audit('container.stop', 'gone (0123456789ab)', 'the container no longer exists');
    const [failed, ...rest] = (await call(uc.auditLog, deps, { limit: 2 })).entries;
    assert.deepEqual([failed.operation, failed.outcome, failed.error], ['container.stop', 'error', 'the container no longer exists']);
    assert.equal(rest.length, 1);
    await assert.rejects(call(uc.auditLog, deps, { limit: 0 }), InvalidInput);
  });

  it('restore refuses a file that is not one of the backups and changes nothing', async () => {
    const { h, deps } = host();
    await seed(h, 'kept');
    const stranger = path.join(dir, 'elsewhere.sqlite');
    fs.copyFileSync(h.file, stranger);
    await rejects(call(uc.restore, deps, { file: stranger }), 'validation', /is not one of the registry's backups\. Nothing was restored\./);
    assert.deepEqual(await modelNames(h), ['kept']);
    assert.deepEqual((await call(uc.listBackups, deps, {})).backups, []);
    await assert.rejects(call(uc.restore, deps, { file: '' }), InvalidInput);
  });

  it('export writes the JSON file safely; import merges it into another registry, once', async () => {
    const { h, deps } = host();
    await seed(h, 'exported');
    const out = path.join(dir, 'out', 'export.json');
    fs.mkdirSync(path.dirname(out));
    const r = await call(uc.exportToFile, deps, { file: out });
    assert.deepEqual(r, { file: fs.realpathSync(out), models: 1, usage: 1 });
    const data = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.equal(data.format, 'llm-local-stack-registry');
    assert.equal(data.models[0].key.name, 'exported');
    // An existing file is replaced only when asked (the front end asked the user).
    await assert.rejects(call(uc.exportToFile, deps, { file: out }), /already exists/);
    assert.equal((await call(uc.exportToFile, deps, { file: out, overwrite: true })).models, 1);
    const again = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.equal(again.audit.length, 1, 'the first export was audited');
    // Never through a link, never a relative path.
    const link = path.join(dir, 'out', 'link.json');
    fs.symlinkSync(path.join(dir, 'target.json'), link);
    await assert.rejects(call(uc.exportToFile, deps, { file: link, overwrite: true }), /symbolic link/);
    assert.equal(fs.existsSync(path.join(dir, 'target.json')), false);
    await assert.rejects(call(uc.exportToFile, deps, { file: 'relative.json' }), InvalidInput);

    const other = host({ file: path.join(dir, 'other', 'registry.sqlite') });
    const report = await call(uc.importFromFile, other.deps, { file: out });
    assert.deepEqual(report, { runtimes: 1, models: 1, versions: 1, usage: 1, benchmarks: 0, audit: 1 });
    assert.deepEqual(await modelNames(other.h), ['exported']);
    assert.deepEqual(await call(uc.importFromFile, other.deps, { file: out }), { runtimes: 0, models: 0, versions: 0, usage: 0, benchmarks: 0, audit: 0 });
    const reasons = (await call(uc.listBackups, other.deps, {})).backups.map((b) => b.reason);
    assert.deepEqual(reasons, ['before-import', 'before-import']);
    const ops = (await call(uc.auditLog, other.deps, {})).entries.filter((e) => e.operation === 'registry.import');
    assert.equal(ops.length, 2);
    assert.equal(ops[0].target, out);
    assert.ok((await call(uc.auditLog, deps, {})).entries.some((e) => e.operation === 'registry.export' && e.target === out));
  });

  it('a malformed or unreadable import is refused with a clear error and imports nothing', async () => {
    const { h, deps } = host();
    await seed(h, 'kept');
    const { registry } = await h.get();
    const before = registry.counts();
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"format":"llm-local-stack-registry","version":1,"models":"nope"}');
    await rejects(call(uc.importFromFile, deps, { file: bad }), 'import', /bad\.json is not a registry export: at \w+: .+\. Nothing was imported\./);
    fs.writeFileSync(bad, 'not json');
    await rejects(call(uc.importFromFile, deps, { file: bad }), 'import', /is not JSON: .+\. Nothing was imported\./);
    await rejects(call(uc.importFromFile, deps, { file: path.join(dir, 'missing.json') }), 'import', /missing\.json cannot be read \(ENOENT\)\. Nothing was imported\./);
    assert.deepEqual(registry.counts(), before);
    assert.deepEqual((await call(uc.listBackups, deps, {})).backups, [], 'no backup for an import that never started');
  });

  it('stats: the file, its size, schema, counts, usage range and backups', async () => {
    const { h, deps } = host();
    const empty = await call(uc.stats, deps, {});
    assert.equal(empty.newestBackupAt, null);
    assert.equal(empty.oldestUsage, null);
    await seed(h, 'counted');
    const b = await call(uc.backup, deps, { reason: 'for-stats' });
    const s = await call(uc.stats, deps, {});
    assert.equal(s.file, h.file);
    assert.equal(s.fileBytes, fs.statSync(h.file).size);
    assert.ok(s.fileBytes > 0);
    assert.equal(s.encrypted, false);
    assert.equal(s.schemaVersion, LATEST_VERSION);
    assert.equal(s.counts.models, 1);
    assert.equal(s.counts.usage_events, 1);
    assert.equal(s.backups, 1);
    assert.equal(s.backupsDir, path.join(dir, 'backups'));
    assert.equal(s.newestBackupAt, b.createdAt);
    assert.ok(s.oldestUsage !== null && s.oldestUsage === s.newestUsage);
  });

  it('encryption on: the key is created in the key store, the file and its backups are encrypted; off again: plain, key kept', async () => {
    const keys = new MemoryKeys();
    settings = { ...defaults, encrypt: true };
    const { h, deps } = host({ keys });
    await seed(h, 'secret-model-name');
    const { registry } = await h.get();
    await registry.compact();
    const key = keys.map.get(KEY_SECRET);
    assert.ok(key);
    assert.equal(Buffer.from(key, 'base64').length, 32);
    const head = () => fs.readFileSync(h.file).subarray(0, 16).toString('latin1');
    assert.ok(head().startsWith('LLMSREG\x01'), head());
    assert.equal(fs.readFileSync(h.file).includes(Buffer.from('secret-model-name')), false);
    const b = await call(uc.backup, deps, {});
    assert.equal(b.encrypted, true);
    assert.equal(fs.readFileSync(b.file).includes(Buffer.from('secret-model-name')), false);
    assert.equal((await call(uc.stats, deps, {})).encrypted, true);

    // Another process without the key: the file stays as it is, and the error says why.
    const stranger = host({ file: h.file });
    await h.close();
    await rejects(stranger.h.get(), 'key');

    // Turned off: written plain at the next open, the key stays to read encrypted backups.
    settings = { ...defaults, encrypt: false };
    await h.get();
    await h.onSettingsChanged();
    await (await h.get()).registry.compact();
    assert.ok(head().startsWith('SQLite format 3'), head());
    assert.equal(keys.map.get(KEY_SECRET), key);
    assert.deepEqual(await modelNames(h), ['secret-model-name']);
    await call(uc.restore, deps, { file: b.file });
    assert.deepEqual(await modelNames(h), ['secret-model-name']);
  });

  it('encryption off with no key: nothing is put in the key store', async () => {
    const keys = new MemoryKeys();
    const { h } = host({ keys });
    await seed(h, 'plain');
    await (await h.get()).registry.compact();
    assert.equal(keys.map.size, 0);
    assert.ok(fs.readFileSync(h.file).subarray(0, 15).toString('latin1').startsWith('SQLite format 3'));
  });

  it('maintenance takes a scheduled backup when one is due, and opens nothing without a file or a schedule', async () => {
    const { lines, log } = logger();
    const { h, deps } = host({ log });
    assert.equal(await h.maintenance(), undefined);
    assert.equal(h.isOpen, false, 'no file yet: nothing opened');
    await seed(h, 'scheduled');
    await (await h.get()).registry.flush();
    const first = await h.maintenance();
    assert.ok(first && /-scheduled\.sqlite$/.test(first));
    assert.ok(lines.some((l) => l === `info: Scheduled registry backup: ${first}`));
    assert.equal(await h.maintenance(), undefined, 'the newest backup is recent');
    const later = await h.maintenance(Date.now() + 25 * 3_600_000);
    assert.ok(later && later !== first);
    settings = { ...defaults, backupIntervalHours: 0 };
    assert.equal(await h.maintenance(Date.now() + 100 * 3_600_000), undefined);
    assert.equal((await call(uc.listBackups, deps, {})).backups.length, 2);
  });

  it('maintenance runs by itself on its schedule', async () => {
    const { h, deps } = host();
    await seed(h, 'timed');
    await (await h.get()).registry.flush();
    const timed = new RegistryHost({ file: h.file, settings: () => settings, keys: new MemoryKeys(), log: logger().log, maintenanceEveryMs: 50 });
    hosts.push(timed);
    await h.close();
    const deadline = Date.now() + 10_000;
    // The sidecar (with the reason) is written after the snapshot: wait for both.
    while (!(await call(uc.listBackups, { registry: timed }, {})).backups.some((b) => b.reason === 'scheduled')) {
      assert.ok(Date.now() < deadline, 'no scheduled backup within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    await timed.close();
    timed.dispose();
    assert.equal((await call(uc.listBackups, deps, {})).backups[0].reason, 'scheduled');
  });

  it('keepBackups bounds the backups; retention days are applied on open', async () => {
    settings = { ...defaults, keepBackups: 2, usageDays: 30 };
    const { h, deps } = host();
    for (let i = 0; i < 4; i++) await call(uc.backup, deps, { reason: `b${i}` });
    assert.deepEqual(
      (await call(uc.listBackups, deps, {})).backups.map((b) => b.reason),
      ['b3', 'b2'],
    );
    assert.deepEqual((await h.get()).repos.retention(), { usageDays: 30, auditDays: 30, usageRawDays: 30 });
  });

  it('a damaged file is moved aside and the front end is told; audit never throws', async () => {
    const seen: RecoveryReport[] = [];
    const { h, deps } = host({ onRecovery: (r) => seen.push(r) });
    await seed(h, 'before-damage');
    await call(uc.backup, deps, {});
    await h.close();
    fs.writeFileSync(h.file, Buffer.alloc(4096, 7));
    fs.rmSync(`${h.file}.journal`, { force: true });
    assert.deepEqual(await modelNames(h), ['before-damage']);
    assert.equal(seen.length, 1);
    assert.ok(fs.existsSync(seen[0].movedTo));
    assert.ok(seen[0].restoredFrom);

    // A registry that cannot open: the audit entry is given up with a warning, the caller goes on.
    const { lines, log } = logger();
    const blocked = path.join(dir, 'a-file');
    fs.writeFileSync(blocked, 'x');
    const broken = host({ file: path.join(blocked, 'registry.sqlite'), log });
    await broken.h.audit('container.stop', 'x');
    assert.ok(lines.some((l) => l.startsWith('warn: Could not write the audit entry for container.stop x:')), lines.join('\n'));
  });
});
