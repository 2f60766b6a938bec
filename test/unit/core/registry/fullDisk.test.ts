// Tests a save that fails for real on a full disk (a tiny tmpfs filled up; ENOTDIR where mounting is not allowed): the old file survives, nothing is left behind, the data waits in memory.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { assertRejectsRegistryError, listDir, modelNames, Sandbox, seed, sha256, waitFor } from './support';

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

  it('a failing save rejects with a clear error; the previous file is intact; the new data waits in memory until space is freed', async () => {
    const { dir, file, registry, repos } = await setUp();
    const hash = sha256(file);
    const disk = breakDisk(dir, file);

    repos.audit({ operation: 'unsaved', target: 'one', outcome: 'ok' });
    await assertRejectsRegistryError(registry.persistNow(), 'io', disk.message);

    // The previous file: byte-identical, opens, holds the previous data only.
    assert.equal(sha256(disk.previousFile), hash);
    const reader = await Registry.open({ file: disk.previousFile, backupsDir: path.join(box.dir(), 'b') });
    try {
      assert.equal(reader.recovery, undefined);
      const r = new RegistryRepositories(reader);
      assert.deepEqual(modelNames(r), ['saved-llama', 'saved-qwen']);
      assert.ok(!r.recentAudit().some((a) => a.operation === 'unsaved'));
    } finally {
      await reader.close();
    }
    // No temp file left behind.
    assert.deepEqual(listDir(path.dirname(disk.previousFile)), ['registry.sqlite']);
    // The registry in memory still has the new row and keeps working.
    assert.equal(repos.recentAudit(1)[0].operation, 'unsaved');

    // The automatic save fails too, and says so.
    repos.audit({ operation: 'unsaved', target: 'two', outcome: 'ok' });
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
    assert.deepEqual(listDir(path.dirname(disk.previousFile)), ['registry.sqlite']);

    // Space again: the next save writes everything that waited.
    disk.fix();
    await registry.flush();
    assert.equal(registry.lastSaveError, undefined);
    assert.notEqual(sha256(file), hash);
    const after = await Registry.open({ file, backupsDir: path.join(box.dir(), 'b') });
    try {
      assert.deepEqual(
        new RegistryRepositories(after).recentAudit().filter((a) => a.operation === 'unsaved').map((a) => a.target),
        ['two', 'one'],
      );
    } finally {
      await after.close();
    }
  });

  it('close() on a full disk rejects instead of losing the data silently', async () => {
    const { dir, file, registry, repos } = await setUp();
    const hash = sha256(file);
    const disk = breakDisk(dir, file);
    try {
      repos.audit({ operation: 'unsaved', target: 'close', outcome: 'ok' });
      await assertRejectsRegistryError(registry.close(), 'io', disk.message);
      assert.equal(sha256(disk.previousFile), hash);
      assert.deepEqual(listDir(path.dirname(disk.previousFile)), ['registry.sqlite']);
    } finally {
      disk.fix();
    }
  });
});
