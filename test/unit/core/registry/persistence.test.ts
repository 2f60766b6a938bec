// Tests how the registry reaches the disk: debounced saves, serialised persistNow, flush, close, and removal of stale temp files.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { loadSqlJs } from '../../../../src/core/registry/sqljs';
import { assertRejectsRegistryError, assertThrowsRegistryError, listDir, sandbox, sha256, waitFor } from './support';

/** What another process would see: the audit targets in the file on disk, read with plain sql.js. */
async function auditTargetsOnDisk(file: string): Promise<string[]> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(fs.readFileSync(file));
  try {
    assert.equal(db.exec('PRAGMA integrity_check')[0].values[0][0], 'ok');
    return (db.exec('SELECT target FROM audit_log ORDER BY id')[0]?.values ?? []).map((v) => String(v[0]));
  } finally {
    db.close();
  }
}

describe('registry persistence (unit)', () => {
  const box = sandbox();

  it('saves on its own a little after a transaction (debounced)', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 40 });
    const repos = new RegistryRepositories(r);
    const before = sha256(file);
    repos.audit({ operation: 'op', target: 'one', outcome: 'ok' });
    repos.audit({ operation: 'op', target: 'two', outcome: 'ok' });
    assert.equal(sha256(file), before, 'the save is not synchronous with the commit');
    await waitFor(() => sha256(file) !== before, 'the debounced save');
    assert.deepEqual(await auditTargetsOnDisk(file), ['one', 'two']);
    assert.equal(r.lastSaveError, undefined);
    assert.deepEqual(
      listDir(path.dirname(file)).filter((n) => n.includes('.tmp-')),
      [],
    );
  });

  it('a rolled-back transaction schedules no save', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 1 });
    const before = sha256(file);
    assert.throws(() =>
      r.transaction(() => {
        r.run("INSERT INTO audit_log (ts, operation, target, outcome) VALUES (1, 'x', 'y', 'ok')");
        throw new Error('abort');
      }),
    );
    assert.equal(r.get<{ n: number }>('SELECT count(*) AS n FROM audit_log')!.n, 0);
    await r.flush();
    assert.equal(sha256(file), before);
  });

  it('concurrent persistNow calls run one after another, all resolve, and the file is a valid registry with everything', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 60_000 });
    const repos = new RegistryRepositories(r);
    const order: number[] = [];
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 12; i++) {
      repos.audit({ operation: 'op', target: `t${i}`, outcome: 'ok' });
      saves.push(r.persistNow().then(() => void order.push(i)));
    }
    await Promise.all(saves);
    assert.deepEqual(
      order,
      order.map((_, i) => i),
      'saves finish in the order they were asked for',
    );
    assert.deepEqual(
      await auditTargetsOnDisk(file),
      Array.from({ length: 12 }, (_, i) => `t${i}`),
    );
    assert.deepEqual(
      listDir(path.dirname(file)).filter((n) => n.includes('.tmp-')),
      [],
      'no temp file is left behind',
    );
    const again = await box.registry({ file });
    assert.equal(again.recovery, undefined);
    assert.equal(new RegistryRepositories(again).recentAudit().length, 12);
  });

  it('flush() resolves only once the data is on disk, for another reader to see', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 60_000 });
    const repos = new RegistryRepositories(r);
    for (let i = 0; i < 3; i++) {
      repos.audit({ operation: 'op', target: `f${i}`, outcome: 'ok' });
      await r.flush();
      const reader = await Registry.open({ file });
      try {
        assert.deepEqual(
          new RegistryRepositories(reader).recentAudit().map((a) => a.target),
          Array.from({ length: i + 1 }, (_, k) => `f${i - k}`),
        );
      } finally {
        await reader.close();
      }
    }
    // Nothing pending: flush writes nothing.
    const hash = sha256(file);
    const mtime = fs.statSync(file).mtimeMs;
    await r.flush();
    assert.equal(sha256(file), hash);
    assert.equal(fs.statSync(file).mtimeMs, mtime);
  });

  it('flush() during a save waits for it', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 60_000 });
    new RegistryRepositories(r).audit({ operation: 'op', target: 'in-flight', outcome: 'ok' });
    const saving = r.persistNow();
    await new Promise((resolve) => setImmediate(resolve)); // the save has started: nothing is dirty any more
    await r.flush();
    assert.deepEqual(await auditTargetsOnDisk(file), ['in-flight']);
    await saving;
  });

  it('close() saves pending work; the closed registry refuses more', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 60_000 });
    const repos = new RegistryRepositories(r);
    repos.audit({ operation: 'op', target: 'pending', outcome: 'ok' });
    assert.deepEqual(await auditTargetsOnDisk(file), []);
    await r.close();
    assert.deepEqual(await auditTargetsOnDisk(file), ['pending']);
    await r.close(); // idempotent
    assertThrowsRegistryError(() => repos.audit({ operation: 'op', target: 'late', outcome: 'ok' }), 'io', /closed/);
    assertThrowsRegistryError(() => r.all('SELECT 1'), 'io', /closed/);
    await assertRejectsRegistryError(r.backupNow(), 'io', /closed/);
  });

  it('dispose() also saves pending work', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 60_000 });
    new RegistryRepositories(r).audit({ operation: 'op', target: 'disposed', outcome: 'ok' });
    const before = sha256(file);
    r.dispose();
    await waitFor(() => sha256(file) !== before, 'the save on dispose');
    assert.deepEqual(await auditTargetsOnDisk(file), ['disposed']);
  });

  it('removes stale temp files of a killed save on open, and nothing else', async () => {
    const dir = box.dir();
    const file = path.join(dir, 'registry.sqlite');
    const first = await Registry.open({ file });
    await first.close();
    const hash = sha256(file);
    const stale = ['registry.sqlite.tmp-4242-deadbeef', 'registry.sqlite.tmp-1-00000000'];
    for (const n of stale) fs.writeFileSync(path.join(dir, n), 'half a database');
    const kept = ['other.sqlite.tmp-1-abcdef00', 'registry.sqlite.bak', 'registry.sqlite.tmpx'];
    for (const n of kept) fs.writeFileSync(path.join(dir, n), 'not ours');
    const r = await box.registry({ file });
    assert.equal(r.recovery, undefined);
    assert.deepEqual(listDir(dir), [...kept, 'registry.sqlite'].sort());
    assert.equal(sha256(file), hash, 'the registry itself is untouched');
  });

  it('opening the same file twice in a row reads what the first wrote', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 60_000 });
    new RegistryRepositories(r).audit({ operation: 'op', target: 'x', outcome: 'ok' });
    await r.close();
    const again = await box.registry({ file });
    assert.equal(again.migrated, undefined);
    assert.deepEqual(
      new RegistryRepositories(again).recentAudit().map((a) => a.target),
      ['x'],
    );
  });
});
