// Tests a save that fails for real on a full disk (a tiny tmpfs filled up; ENOTDIR where mounting is not allowed): the journal append is cut back, the saved files survive byte for byte, nothing is left behind, the data waits in memory.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { assertRejectsRegistryError, journalOf, listDir, modelNames, rawRecords, Sandbox, savedHashes, seed, waitFor } from './support';

/** Writes to the end of the file system; returns the filler's path. */
function fillUp(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  const chunk = Buffer.alloc(16 * 1024, 0x5a);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

/**
 * A transaction bigger than a page (a file system page is at most 4 KiB here): appending it cannot fit
 * in the slack at the end of the journal's last page, so a full disk really refuses it.
 */
function bigAudit(registry: Registry, repos: RegistryRepositories, target: string): void {
  registry.transaction(() => {
    for (let i = 0; i < 3; i++) repos.audit({ operation: 'unsaved', target: i ? `${target}-${i}` : target, outcome: 'error', error: 'e'.repeat(4000) });
  });
}

interface BrokenDisk {
  /** Where the last good file is while the disk is broken. */
  readonly previousFile: string;
  readonly message: RegExp;
  fix(): void;
}

describe('registry on a full disk (unit)', () => {
  const box = new Sandbox();
  let root: string;
  let mode: 'tmpfs' | 'enotdir' = 'enotdir';

  before(() => {
    root = path.join(box.dir(), 'mnt');
    fs.mkdirSync(root);
    if (process.env.REGISTRY_TEST_NO_TMPFS) return;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', root], { stdio: 'pipe' });
      mode = 'tmpfs';
    } catch (e) {
      // Not root (or no mount namespace): fall back to a path whose parent is a regular file (ENOTDIR).
      console.warn(`    (cannot mount a tmpfs: ${(e as Error).message.split('\n')[0]}; simulating the failing save with ENOTDIR instead)`);
    }
  });

  after(async () => {
    // Unmount first: removing the folders would stop at the mount point.
    if (mode === 'tmpfs') {
      try {
        execFileSync('umount', [root], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', root], { stdio: 'pipe' });
      }
    }
    await box.cleanup();
  });

  let n = 0;
  async function setUp(): Promise<{ dir: string; file: string; registry: Registry; repos: RegistryRepositories }> {
    const dir = path.join(root, `case${n++}`);
    const file = path.join(dir, 'registry.sqlite');
    // Backups live elsewhere: this is about the registry file itself.
    const registry = await box.registry({ file, backupsDir: path.join(box.dir(), 'backups'), persistDelayMs: 20 });
    const repos = new RegistryRepositories(registry);
    seed(repos, 'saved');
    await registry.flush();
    return { dir, file, registry, repos };
  }

  function breakDisk(dir: string, file: string): BrokenDisk {
    if (mode === 'tmpfs') {
      const filler = fillUp(root);
      return { previousFile: file, message: /disk is full \(ENOSPC\).*last saved registry file is intact/, fix: () => fs.rmSync(filler) };
    }
    const aside = `${dir}-real`;
    fs.renameSync(dir, aside);
    fs.writeFileSync(dir, 'a regular file where the folder was');
    return {
      previousFile: path.join(aside, path.basename(file)),
      message: /Saving the registry failed/,
      fix: () => {
        fs.rmSync(dir);
        fs.renameSync(aside, dir);
      },
    };
  }

  it('a failing save rejects with a clear error; the previous files are intact; the new data waits in memory until space is freed', async () => {
    const { dir, file, registry, repos } = await setUp();
    const before = savedHashes(file);
    const journalBefore = fs.readFileSync(journalOf(file));
    assert.ok(rawRecords(journalBefore).length > 1, 'the saved data is in journal records');
    const disk = breakDisk(dir, file);
    const previousDir = path.dirname(disk.previousFile);

    bigAudit(registry, repos, 'one');
    await assertRejectsRegistryError(registry.persistNow(), 'io', disk.message);

    // The previous files: byte-identical (a partial append was cut off again), open, hold the previous data only.
    assert.deepEqual(savedHashes(disk.previousFile), before);
    const reader = await Registry.open({ file: disk.previousFile, backupsDir: path.join(box.dir(), 'b') });
    try {
      assert.equal(reader.recovery, undefined);
      const r = new RegistryRepositories(reader);
      assert.deepEqual(modelNames(r), ['saved-llama', 'saved-qwen']);
      assert.ok(!r.recentAudit().some((a) => a.operation === 'unsaved'));
    } finally {
      await reader.close();
    }
    // No temp file left behind, no torn journal tail.
    assert.deepEqual(listDir(previousDir), ['registry.sqlite', 'registry.sqlite.journal']);
    assert.deepEqual(fs.readFileSync(journalOf(disk.previousFile)), journalBefore);
    // The registry in memory still has the new rows and keeps working.
    assert.equal(repos.recentAudit(1)[0].operation, 'unsaved');

    // The automatic save fails too, and says so.
    bigAudit(registry, repos, 'two');
    await waitFor(() => registry.lastSaveError !== undefined, 'the automatic save to fail');
    assert.equal(registry.lastSaveError!.kind, 'io');
    assert.match(registry.lastSaveError!.message, disk.message);
    await assertRejectsRegistryError(registry.flush(), 'io', disk.message);

    // A flush while a failing save is in flight reports the failure instead of resolving.
    const inFlight = registry.persistNow();
    inFlight.catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    await assertRejectsRegistryError(registry.flush(), 'io', disk.message);
    await assert.rejects(inFlight);
    assert.deepEqual(listDir(previousDir), ['registry.sqlite', 'registry.sqlite.journal']);
    assert.deepEqual(savedHashes(disk.previousFile), before);

    // Space again: the next save appends everything that waited.
    disk.fix();
    await registry.flush();
    assert.equal(registry.lastSaveError, undefined);
    assert.equal(savedHashes(file).snapshot, before.snapshot, 'appended to the journal, not a new snapshot');
    assert.ok(fs.statSync(journalOf(file)).size > journalBefore.length, 'the journal grew');
    const after = await Registry.open({ file, backupsDir: path.join(box.dir(), 'b') });
    try {
      assert.equal(after.recovery, undefined);
      assert.deepEqual(
        new RegistryRepositories(after).recentAudit().filter((a) => a.operation === 'unsaved').map((a) => a.target),
        ['two-2', 'two-1', 'two', 'one-2', 'one-1', 'one'],
      );
      assert.deepEqual(modelNames(new RegistryRepositories(after)), ['saved-llama', 'saved-qwen']);
    } finally {
      await after.close();
    }
  });

  it('close() on a full disk rejects instead of losing the data silently', async () => {
    const { dir, file, registry, repos } = await setUp();
    const before = savedHashes(file);
    const disk = breakDisk(dir, file);
    try {
      bigAudit(registry, repos, 'close');
      await assertRejectsRegistryError(registry.close(), 'io', disk.message);
      assert.deepEqual(savedHashes(disk.previousFile), before);
      assert.deepEqual(listDir(path.dirname(disk.previousFile)), ['registry.sqlite', 'registry.sqlite.journal']);
    } finally {
      disk.fix();
    }
  });
});
