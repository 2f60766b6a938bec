// Tests opening damaged registry files: the bad file is moved aside untouched, the newest good backup restored, and a newer schema refused without touching anything.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LATEST_VERSION, migrations } from '../../../../src/core/registry/migrations';
import { Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { loadSqlJs } from '../../../../src/core/registry/sqljs';
import { assertRejectsRegistryError, Clock, journalOf, listDir, modelNames, sandbox, seed, sha256 } from './support';

interface Prepared {
  dir: string;
  file: string;
  backup?: string;
  clock: Clock;
}

/** A registry holding "good" models, backed up, then "later" models saved after the backup. */
async function prepare(dir: string, withBackup: boolean): Promise<Prepared> {
  const file = path.join(dir, 'registry.sqlite');
  const clock = new Clock();
  const r = await Registry.open({ file, now: clock.now });
  const repos = new RegistryRepositories(r, clock.now);
  seed(repos, 'good');
  let backup: string | undefined;
  if (withBackup) backup = (await r.backupNow('manual')).file;
  clock.advance(60_000);
  seed(repos, 'later');
  await r.close();
  return { dir, file, backup, clock };
}

async function sqliteFile(build: (db: import('sql.js').Database) => void): Promise<Buffer> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  build(db);
  const bytes = Buffer.from(db.export());
  db.close();
  return bytes;
}

const damages: [string, (good: Buffer) => Promise<Buffer> | Buffer][] = [
  ['a truncated file (half of it)', (good) => good.subarray(0, Math.floor(good.length / 2) + 123)],
  ['a file truncated inside the header', (good) => good.subarray(0, 50)],
  ['random bytes', () => randomBytes(20_000)],
  ['random bytes after a valid SQLite header', (good) => Buffer.concat([good.subarray(0, 100), randomBytes(good.length - 100)])],
  ['an empty file', () => Buffer.alloc(0)],
  ['a valid SQLite file of another application', () => sqliteFile((db) => db.run("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('hello')"))],
  [
    'a valid SQLite file claiming a registry schema without its tables',
    () =>
      sqliteFile((db) => {
        db.run('CREATE TABLE things (x)');
        db.run(`PRAGMA user_version = ${LATEST_VERSION}`);
      }),
  ],
];

describe('registry corruption recovery (unit)', () => {
  const box = sandbox();

  for (const [what, damage] of damages) {
    it(`${what}: moved aside byte-identical, newest good backup restored`, async () => {
      const p = await prepare(box.dir(), true);
      const bad = await damage(fs.readFileSync(p.file));
      fs.writeFileSync(p.file, bad);
      const journal = fs.readFileSync(journalOf(p.file));

      const r = await box.registry({ file: p.file, now: p.clock.now });
      assert.ok(r.recovery, 'a recovery report is set');
      assert.equal(r.recovery.restoredFrom, p.backup);
      assert.match(path.basename(r.recovery.movedTo), /^registry\.sqlite\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
      assert.equal(path.dirname(r.recovery.movedTo), p.dir);
      assert.deepEqual(fs.readFileSync(r.recovery.movedTo), bad, 'the damaged file is kept, byte for byte');
      assert.deepEqual(fs.readFileSync(`${r.recovery.movedTo}.journal`), journal, 'and its journal beside it: its records followed the damaged file, not the backup');
      assert.ok(r.recovery.reason.length > 0);

      const repos = new RegistryRepositories(r);
      assert.deepEqual(modelNames(repos), ['good-llama', 'good-qwen'], 'the backup data is back; what came after it is lost');
      assert.equal(repos.tags(repos.findModel(repos.listRuntimes()[0].id, 'good-llama', '8b')!.id).length, 2);
      // The restored registry works and saves.
      repos.audit({ operation: 'after-recovery', target: 'x', outcome: 'ok' });
      await r.close();
      const again = await box.registry({ file: p.file });
      assert.equal(again.recovery, undefined);
      assert.equal(new RegistryRepositories(again).recentAudit(1)[0].operation, 'after-recovery');
    });
  }

  it('with no backup a new registry is started and restoredFrom is undefined', async () => {
    const p = await prepare(box.dir(), false);
    const bad = randomBytes(5000);
    fs.writeFileSync(p.file, bad);
    const r = await box.registry({ file: p.file, now: p.clock.now });
    assert.ok(r.recovery);
    assert.equal(r.recovery.restoredFrom, undefined);
    assert.deepEqual(fs.readFileSync(r.recovery.movedTo), bad);
    assert.equal(r.schemaVersion, LATEST_VERSION);
    assert.deepEqual(modelNames(new RegistryRepositories(r)), []);
    assert.ok(fs.existsSync(p.file), 'the new registry is saved in place');
    assert.notDeepEqual(fs.readFileSync(p.file), bad);
  });

  it('an empty file with no backup also starts afresh, with the empty file kept aside', async () => {
    const dir = box.dir();
    const file = path.join(dir, 'registry.sqlite');
    fs.writeFileSync(file, '');
    const r = await box.registry({ file });
    assert.ok(r.recovery);
    assert.equal(r.recovery.restoredFrom, undefined);
    assert.equal(fs.statSync(r.recovery.movedTo).size, 0);
    assert.equal(r.schemaVersion, LATEST_VERSION);
  });

  it('a corrupt newest backup is skipped for an older good one', async () => {
    const dir = box.dir();
    const file = path.join(dir, 'registry.sqlite');
    const clock = new Clock();
    const r = await Registry.open({ file, now: clock.now });
    const repos = new RegistryRepositories(r, clock.now);
    seed(repos, 'old');
    const older = await r.backupNow('older');
    clock.advance(1000);
    seed(repos, 'mid');
    const newer = await r.backupNow('newer');
    clock.advance(1000);
    seed(repos, 'last');
    const newest = await r.backupNow('newest');
    await r.close();
    assert.deepEqual(
      r.listBackups().map((b) => b.file),
      [newest.file, newer.file, older.file],
    );
    // The newest is garbage, the middle one is a registry from the future (not usable by this version).
    fs.writeFileSync(newest.file, randomBytes(4096));
    const SQL = await loadSqlJs();
    const future = new SQL.Database(fs.readFileSync(newer.file));
    future.run(`PRAGMA user_version = ${LATEST_VERSION + 1}`);
    fs.writeFileSync(newer.file, future.export());
    future.close();
    const newestHash = sha256(newest.file);
    fs.writeFileSync(file, randomBytes(3000));

    const opened = await box.registry({ file, now: clock.now });
    assert.equal(opened.recovery?.restoredFrom, older.file);
    assert.deepEqual(modelNames(new RegistryRepositories(opened)), ['old-llama', 'old-qwen']);
    assert.equal(sha256(newest.file), newestHash, 'a bad backup is left as it is');
  });

  it('a file with a newer schema throws kind version and is left byte-identical, in place', async () => {
    const p = await prepare(box.dir(), true);
    const SQL = await loadSqlJs();
    const db = new SQL.Database(fs.readFileSync(p.file));
    db.run(`PRAGMA user_version = ${LATEST_VERSION + 1}`);
    db.run('CREATE TABLE from_the_future (x)');
    fs.writeFileSync(p.file, db.export());
    db.close();
    const hash = sha256(p.file);
    const names = listDir(p.dir);
    const backups = listDir(path.join(p.dir, 'backups'));

    await assertRejectsRegistryError(Registry.open({ file: p.file, now: p.clock.now }), 'version', new RegExp(`schema ${LATEST_VERSION + 1}`));
    assert.equal(sha256(p.file), hash);
    assert.deepEqual(listDir(p.dir), names, 'not moved aside, nothing written beside it');
    assert.deepEqual(listDir(path.join(p.dir, 'backups')), backups, 'no backup restored or taken');
  });

  it('the migrations list matches what a new registry is built from', async () => {
    // Guards the corruption fixtures above: a registry at LATEST_VERSION has every table of every migration.
    const r = await box.registry({ file: box.file() });
    const tables = (r.raw.exec("SELECT name FROM sqlite_master WHERE type = 'table'")[0]?.values ?? []).map((v) => String(v[0]));
    for (const m of migrations) for (const [, t] of m.sql.matchAll(/CREATE TABLE (\w+)/g)) assert.ok(tables.includes(t), t);
  });
});
