// Tests how the registry reaches the disk: debounced saves (journal appends), serialised persistNow, flush, close, and removal of stale temp files.
// What was saved is read back the way another process would: Registry.open on a copy of the snapshot and its journal.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJournal } from '../../../../src/core/registry/journal';
import { Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { assertRejectsRegistryError, assertThrowsRegistryError, journalOf, journalSize, listDir, rawRecords, sandbox, savedAuditTargets, savedHashes, sha256, waitFor } from './support';

describe('registry persistence (unit)', () => {
  const box = sandbox();

  it('saves on its own a little after a transaction (debounced)', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 40 });
    const repos = new RegistryRepositories(r);
    const before = savedHashes(file);
    const size = journalSize(file);
    repos.audit({ operation: 'op', target: 'one', outcome: 'ok' });
    repos.audit({ operation: 'op', target: 'two', outcome: 'ok' });
    assert.equal(journalSize(file), size, 'the save is not synchronous with the commit');
    assert.deepEqual(await savedAuditTargets(file), []);
    await waitFor(() => journalSize(file) > size, 'the debounced save');
    // Both commits went out in one save, as two journal records; the snapshot was not rewritten.
    assert.equal(rawRecords(fs.readFileSync(journalOf(file))).length, 1 + 2);
    assert.equal(sha256(file), before.snapshot);
    assert.deepEqual(await savedAuditTargets(file), ['one', 'two']);
    assert.equal(r.lastSaveError, undefined);
    assert.deepEqual(
      listDir(path.dirname(file)).filter((n) => n.includes('.tmp-')),
      [],
    );
  });

  it('a rolled-back transaction schedules no save', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 1 });
    const before = savedHashes(file);
    assert.throws(() =>
      r.transaction(() => {
        r.run("INSERT INTO audit_log (ts, operation, target, outcome) VALUES (1, 'x', 'y', 'ok')");
        throw new Error('abort');
      }),
    );
    assert.equal(r.get<{ n: number }>('SELECT count(*) AS n FROM audit_log')!.n, 0);
    await r.flush();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(savedHashes(file), before);
  });

  it('concurrent persistNow calls run one after another, all resolve, and the files hold everything in order', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 60_000, compactAfterBytes: 1500 });
    const repos = new RegistryRepositories(r);
    // Watch the files the saves open: the journal (appends) and the temp files of compactions.
    const real = fs.promises.open;
    let active = 0;
    let maxActive = 0;
    fs.promises.open = (async (...args: Parameters<typeof real>) => {
      const name = String(args[0]);
      const mine = name === journalOf(file) || name.startsWith(`${file}.tmp-`) || name.startsWith(`${journalOf(file)}.tmp-`);
      const handle = await real(...args);
      if (!mine) return handle;
      maxActive = Math.max(maxActive, ++active);
      const close = handle.close.bind(handle);
      handle.close = async () => {
        active--;
        return close();
      };
      return handle;
    }) as typeof real;
    const order: number[] = [];
    const saves: Promise<void>[] = [];
    try {
      for (let i = 0; i < 24; i++) {
        repos.audit({ operation: 'op', target: `t${i}`, outcome: 'ok' });
        saves.push(r.persistNow().then(() => void order.push(i)));
        // The first half asks all at once; the second half while earlier saves are writing.
        if (i >= 12) await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(saves);
    } finally {
      fs.promises.open = real;
    }
    assert.deepEqual(
      order,
      order.map((_, i) => i),
      'saves finish in the order they were asked for',
    );
    assert.equal(maxActive, 1, 'never two saves writing at once');
    const j = parseJournal(fs.readFileSync(journalOf(file)), undefined);
    assert.equal(j.torn, false);
    const seqs = j.txns.map((t) => t.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => 24 - seqs.length + 1 + i),
      'the journal holds the latest transactions, each once, in order',
    );
    assert.deepEqual(
      await savedAuditTargets(file),
      Array.from({ length: 24 }, (_, i) => `t${i}`),
    );
    assert.deepEqual(
      listDir(path.dirname(file)).filter((n) => n.includes('.tmp-')),
      [],
      'no temp file is left behind',
    );
    const again = await box.registry({ file });
    assert.equal(again.recovery, undefined);
    assert.equal(new RegistryRepositories(again).recentAudit().length, 24);
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
    // Nothing pending: flush writes nothing, to the snapshot or the journal.
    const hashes = savedHashes(file);
    const mtimes = [fs.statSync(file).mtimeMs, fs.statSync(journalOf(file)).mtimeMs];
    await r.flush();
    assert.deepEqual(savedHashes(file), hashes);
    assert.deepEqual([fs.statSync(file).mtimeMs, fs.statSync(journalOf(file)).mtimeMs], mtimes);
  });

  it('flush() during a save waits for it', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 60_000 });
    new RegistryRepositories(r).audit({ operation: 'op', target: 'in-flight', outcome: 'ok' });
    const saving = r.persistNow();
    await new Promise((resolve) => setImmediate(resolve)); // the save has started: nothing is dirty any more
    await r.flush();
    assert.deepEqual(await savedAuditTargets(file), ['in-flight']);
    await saving;
  });

  it('close() saves pending work; the closed registry refuses more', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 60_000 });
    const repos = new RegistryRepositories(r);
    repos.audit({ operation: 'op', target: 'pending', outcome: 'ok' });
    assert.deepEqual(await savedAuditTargets(file), []);
    await r.close();
    assert.deepEqual(await savedAuditTargets(file), ['pending']);
    await r.close(); // idempotent
    assertThrowsRegistryError(() => repos.audit({ operation: 'op', target: 'late', outcome: 'ok' }), 'io', /closed/);
    assertThrowsRegistryError(() => r.all('SELECT 1'), 'io', /closed/);
    await assertRejectsRegistryError(r.backupNow(), 'io', /closed/);
  });

  it('dispose() also saves pending work', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 60_000 });
    new RegistryRepositories(r).audit({ operation: 'op', target: 'disposed', outcome: 'ok' });
    const size = journalSize(file);
    r.dispose();
    await waitFor(() => journalSize(file) > size, 'the save on dispose');
    assert.deepEqual(await savedAuditTargets(file), ['disposed']);
  });

  it('removes stale temp files of a killed save on open, of the file and of its journal, and nothing else', async () => {
    const dir = box.dir();
    const file = path.join(dir, 'registry.sqlite');
    const first = await Registry.open({ file });
    new RegistryRepositories(first).audit({ operation: 'op', target: 'kept', outcome: 'ok' });
    await first.close();
    const hashes = savedHashes(file);
    const stale = ['registry.sqlite.tmp-4242-deadbeef', 'registry.sqlite.tmp-1-00000000', 'registry.sqlite.journal.tmp-4242-cafebabe'];
    for (const n of stale) fs.writeFileSync(path.join(dir, n), 'half a database');
    const kept = ['other.sqlite.tmp-1-abcdef00', 'registry.sqlite.bak', 'registry.sqlite.tmpx', 'registry.sqlite.journalx.tmp-1-abcdef00', 'other.sqlite.journal.tmp-1-abcdef00'];
    for (const n of kept) fs.writeFileSync(path.join(dir, n), 'not ours');
    const r = await box.registry({ file });
    assert.equal(r.recovery, undefined);
    assert.deepEqual(listDir(dir), [...kept, 'registry.sqlite', 'registry.sqlite.journal'].sort());
    assert.deepEqual(savedHashes(file), hashes, 'the registry and its journal are untouched');
    assert.deepEqual(
      new RegistryRepositories(r).recentAudit().map((a) => a.target),
      ['kept'],
    );
  });

  it('a transaction committed while a save is writing is saved by the next save, not dropped', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 60_000 });
    const repos = new RegistryRepositories(r);
    repos.audit({ operation: 'op', target: 'c0', outcome: 'ok' });
    let n = 1;
    // Commit on every turn of the event loop while saves are in flight, so that some commits land in the middle of an append.
    for (let round = 0; round < 5; round++) {
      let done = false;
      const saving = r.persistNow().then(() => void (done = true));
      while (!done) {
        await new Promise((resolve) => setImmediate(resolve));
        repos.audit({ operation: 'op', target: `c${n++}`, outcome: 'ok' });
      }
      await saving;
    }
    await r.flush();
    const all = Array.from({ length: n }, (_, i) => `c${i}`);
    assert.deepEqual(await savedAuditTargets(file), all);
    await r.close();
    const again = await box.registry({ file });
    assert.deepEqual(
      again.all<{ target: string }>('SELECT target FROM audit_log ORDER BY id').map((a) => a.target),
      all,
    );
  });

  it('a journal removed behind its back is written again with a new snapshot at the next save', async () => {
    const file = box.file();
    const r = await box.registry({ file, persistDelayMs: 60_000 });
    const repos = new RegistryRepositories(r);
    repos.audit({ operation: 'op', target: 'before', outcome: 'ok' });
    await r.flush();
    fs.rmSync(journalOf(file));
    repos.audit({ operation: 'op', target: 'after', outcome: 'ok' });
    await r.flush();
    assert.equal(r.lastSaveError, undefined);
    assert.deepEqual(await savedAuditTargets(file), ['before', 'after']);
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
