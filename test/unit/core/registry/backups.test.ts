// Tests registry backups: the .sqlite + .json pair, newest-first listing, pruning to keepBackups, and restore (with its own safety backup).
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LATEST_VERSION, migrations } from '../../../../src/core/registry/migrations';
import { COUNTED_TABLES, Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { loadSqlJs } from '../../../../src/core/registry/sqljs';
import { assertRejectsRegistryError, Clock, listDir, modelNames, sandbox, savedHashes, seed } from './support';

describe('registry backups (unit)', () => {
  const box = sandbox();
  let dir: string;
  let file: string;
  let clock: Clock;

  beforeEach(() => {
    dir = box.dir();
    file = path.join(dir, 'registry.sqlite');
    clock = new Clock();
  });

  it('backupNow writes the database and a JSON sidecar with counts', async () => {
    const r = await box.registry({ file, now: clock.now });
    const repos = new RegistryRepositories(r, clock.now);
    seed(repos);
    const info = await r.backupNow('manual');
    assert.equal(path.dirname(info.file), path.join(dir, 'backups'));
    assert.match(path.basename(info.file), /^registry-\d{8}-\d{6}-\d{3}-manual\.sqlite$/);
    assert.equal(info.createdAt, clock.t);
    assert.equal(info.reason, 'manual');
    assert.equal(info.schemaVersion, LATEST_VERSION);
    assert.equal(info.encrypted, false);
    assert.deepEqual(Object.keys(info.counts).sort(), [...COUNTED_TABLES].sort());
    assert.deepEqual(info.counts, r.counts());
    assert.equal(info.counts.models, 2);

    const sidecar = JSON.parse(fs.readFileSync(`${info.file}.json`, 'utf8'));
    assert.deepEqual(sidecar, { ...info });
    // The backup is a complete registry on its own.
    const SQL = await loadSqlJs();
    const db = new SQL.Database(fs.readFileSync(info.file));
    assert.equal(db.exec('PRAGMA integrity_check')[0].values[0][0], 'ok');
    assert.equal(db.exec('SELECT count(*) FROM models')[0].values[0][0], 2);
    db.close();
    assert.deepEqual(r.listBackups(), [info]);
  });

  it('a reason is made safe for a file name', async () => {
    const r = await box.registry({ file, now: clock.now });
    const info = await r.backupNow('../../etc/passwd and more');
    assert.equal(path.dirname(info.file), path.join(dir, 'backups'));
    assert.match(path.basename(info.file), /^registry-[\d-]+-etc-passwd-and-more\.sqlite$/);
    assert.equal(info.reason, '../../etc/passwd and more');
  });

  it('listBackups is newest first; keepBackups prunes the oldest pairs', async () => {
    const r = await box.registry({ file, now: clock.now, keepBackups: 3 });
    const made = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1500);
      made.push(await r.backupNow(`b${i}`));
    }
    const listed = r.listBackups();
    assert.deepEqual(
      listed.map((b) => b.reason),
      ['b4', 'b3', 'b2'],
    );
    assert.deepEqual(
      listed.map((b) => b.createdAt),
      [made[4].createdAt, made[3].createdAt, made[2].createdAt],
    );
    const names = listDir(path.join(dir, 'backups'));
    assert.equal(names.length, 6, 'three .sqlite and their three .json');
    for (const old of made.slice(0, 2)) {
      assert.ok(!fs.existsSync(old.file));
      assert.ok(!fs.existsSync(`${old.file}.json`));
    }
  });

  it('a backup without its sidecar is still listed, dated by its mtime', async () => {
    const r = await box.registry({ file, now: clock.now });
    const info = await r.backupNow('x');
    fs.rmSync(`${info.file}.json`);
    const [b] = r.listBackups();
    assert.equal(b.file, info.file);
    assert.equal(b.reason, 'unknown');
    assert.equal(b.createdAt, fs.statSync(info.file).mtimeMs);
  });

  it('restore() brings the backup back, after backing up the current state', async () => {
    const r = await box.registry({ file, now: clock.now, persistDelayMs: 60_000 });
    const repos = new RegistryRepositories(r, clock.now);
    seed(repos, 'before');
    const b = await r.backupNow('manual');
    clock.advance(1000);
    seed(repos, 'after');
    repos.setTags(repos.listModels()[0].id, ['changed']);
    assert.equal(modelNames(repos).length, 4);

    await r.restore(b.file);
    assert.deepEqual(modelNames(repos), ['before-llama', 'before-qwen']);
    const safety = r.listBackups().find((x) => x.reason === 'before-restore');
    assert.ok(safety, 'a before-restore backup was taken');
    assert.equal(safety.counts.models, 4);
    // The restored state is on disk at once.
    const reopened = await box.registry({ file });
    assert.deepEqual(modelNames(new RegistryRepositories(reopened)), ['before-llama', 'before-qwen']);
    // And the safety backup can undo the restore.
    clock.advance(1000);
    await r.restore(safety.file);
    assert.equal(modelNames(repos).length, 4);
    // Prepared statements were renewed with the database: writes work.
    repos.audit({ operation: 'after-restore', target: 't', outcome: 'ok' });
    assert.equal(repos.recentAudit(1)[0].operation, 'after-restore');
  });

  it('restoring a corrupt backup throws and leaves the current data intact', async () => {
    const r = await box.registry({ file, now: clock.now, persistDelayMs: 60_000 });
    const repos = new RegistryRepositories(r, clock.now);
    seed(repos, 'current');
    await r.flush();
    const hashes = savedHashes(file);
    const fake = path.join(dir, 'backups', 'registry-20260101-000000-000-manual.sqlite');
    fs.mkdirSync(path.dirname(fake), { recursive: true });
    for (const bytes of [randomBytes(8192), Buffer.from(fs.readFileSync(file)).subarray(0, 3000)]) {
      fs.writeFileSync(fake, bytes);
      await assertRejectsRegistryError(r.restore(fake), 'corrupt');
      assert.deepEqual(modelNames(repos), ['current-llama', 'current-qwen']);
      assert.deepEqual(savedHashes(file), hashes);
    }
    assert.equal(r.listBackups().filter((b) => b.reason === 'before-restore').length, 0, 'no safety backup for a restore that never started');
    repos.audit({ operation: 'still-works', target: 't', outcome: 'ok' });
    await r.flush();
  });

  it('restoring a backup from a newer version throws kind version', async () => {
    const r = await box.registry({ file, now: clock.now });
    seed(new RegistryRepositories(r, clock.now));
    const b = await r.backupNow();
    const SQL = await loadSqlJs();
    const db = new SQL.Database(fs.readFileSync(b.file));
    db.run(`PRAGMA user_version = ${LATEST_VERSION + 1}`);
    fs.writeFileSync(b.file, db.export());
    db.close();
    await assertRejectsRegistryError(r.restore(b.file), 'version');
    assert.equal(modelNames(new RegistryRepositories(r)).length, 2);
  });

  it('restoring an older-schema backup migrates it', async () => {
    const r = await box.registry({ file, now: clock.now });
    const old = path.join(dir, 'v1.sqlite');
    const SQL = await loadSqlJs();
    const db = new SQL.Database();
    db.run(migrations[0].sql);
    db.run('PRAGMA user_version = 1');
    db.run("INSERT INTO runtimes (kind, name, endpoint, created_at, updated_at) VALUES ('ollama', 'o', 'http://o', 1, 1)");
    fs.writeFileSync(old, db.export());
    db.close();
    await r.restore(old);
    assert.equal(r.schemaVersion, LATEST_VERSION);
    const repos = new RegistryRepositories(r);
    assert.equal(repos.listRuntimes().length, 1);
    assert.deepEqual(repos.retention(), { usageDays: 365, auditDays: 365, usageRawDays: 30 });
    await r.close();
    const again = await Registry.open({ file });
    assert.equal(again.schemaVersion, LATEST_VERSION);
    await again.close();
  });
});
