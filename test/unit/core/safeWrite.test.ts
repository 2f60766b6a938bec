// safeTarget and writeFileSafely on real files, folders and symbolic links in a temp folder: a
// link at the target or between is refused and its target left untouched, names cannot leave the folder.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { safeTarget, SafeWriteError, writeFileSafely } from '../../../src/core/safeWrite';

describe('safe file writes (unit)', () => {
  let root: string;
  let work: string;
  let outside: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-safewrite-'));
    work = path.join(root, 'workspace');
    outside = path.join(root, 'outside');
    fs.mkdirSync(work);
    fs.mkdirSync(outside);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const leftovers = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));

  it('writes a new file, and replaces an existing one only when asked', async () => {
    const written = await writeFileSafely(work, 'docker-compose.yaml', 'one\n');
    assert.equal(written, path.join(fs.realpathSync(work), 'docker-compose.yaml'));
    assert.equal(fs.readFileSync(written, 'utf8'), 'one\n');
    await assert.rejects(writeFileSafely(work, 'docker-compose.yaml', 'two\n'), (e: Error) => e instanceof SafeWriteError && /already exists: confirm replacing it/.test(e.message));
    assert.equal(fs.readFileSync(written, 'utf8'), 'one\n');
    await writeFileSafely(work, 'docker-compose.yaml', 'two\n', { overwrite: true });
    assert.equal(fs.readFileSync(written, 'utf8'), 'two\n');
    assert.deepEqual(leftovers(work), [], 'no temporary file is left behind');
  });

  it('refuses a symbolic link at the target and leaves the file it points to untouched', async () => {
    const victim = path.join(outside, 'bashrc');
    fs.writeFileSync(victim, 'precious\n');
    fs.symlinkSync(victim, path.join(work, 'docker-compose.yaml'));
    await assert.rejects(safeTarget(work, 'docker-compose.yaml'), /is a symbolic link \(to .*bashrc\)\. LLM Stack does not write through links/);
    for (const overwrite of [false, true]) {
      await assert.rejects(writeFileSafely(work, 'docker-compose.yaml', 'services: {}\n', { overwrite }), (e: Error) => e instanceof SafeWriteError && /delete the link/.test(e.message));
    }
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n', 'the link target keeps its content');
    assert.ok(fs.lstatSync(path.join(work, 'docker-compose.yaml')).isSymbolicLink(), 'the link itself is left as it was');
    assert.deepEqual(leftovers(work), []);
  });

  it('refuses a dangling link too (writing would create its target outside the folder)', async () => {
    const victim = path.join(outside, 'autostart.desktop');
    fs.symlinkSync(victim, path.join(work, 'demo.k8s.yaml'));
    await assert.rejects(writeFileSafely(work, 'demo.k8s.yaml', 'x', { overwrite: true }), /symbolic link/);
    assert.equal(fs.existsSync(victim), false);
  });

  it('refuses a linked folder between the folder and the file', async () => {
    fs.symlinkSync(outside, path.join(work, 'out'));
    await assert.rejects(writeFileSafely(work, path.join('out', 'file.yaml'), 'x'), /workspace\/out is a symbolic link/);
    assert.deepEqual(fs.readdirSync(outside), []);
    fs.writeFileSync(path.join(work, 'plain'), '');
    await assert.rejects(writeFileSafely(work, path.join('plain', 'file.yaml'), 'x'), /plain is not a folder/);
    await assert.rejects(writeFileSafely(work, path.join('missing', 'file.yaml'), 'x'), /missing does not exist/);
    fs.mkdirSync(path.join(work, 'sub'));
    assert.equal(await writeFileSafely(work, path.join('sub', 'file.yaml'), 'x'), path.join(fs.realpathSync(work), 'sub', 'file.yaml'));
  });

  it('refuses names that leave the folder, absolute names and the folder itself', async () => {
    for (const name of ['../outside/x.yaml', '..', path.join(outside, 'x.yaml'), '', '.', 'a/../../x']) {
      await assert.rejects(writeFileSafely(work, name, 'x'), SafeWriteError, name);
    }
    assert.deepEqual(fs.readdirSync(outside), []);
  });

  it('resolves a linked folder to its real path, which is what a confirmation names', async () => {
    const link = path.join(root, 'linked-workspace');
    fs.symlinkSync(work, link);
    fs.writeFileSync(path.join(work, 'docker-compose.yaml'), 'old');
    const t = await safeTarget(link, 'docker-compose.yaml');
    assert.deepEqual(t, { folder: fs.realpathSync(work), path: path.join(fs.realpathSync(work), 'docker-compose.yaml'), exists: true });
    assert.equal(await writeFileSafely(link, 'docker-compose.yaml', 'new', { overwrite: true }), t.path);
    assert.equal(fs.readFileSync(path.join(work, 'docker-compose.yaml'), 'utf8'), 'new');
  });

  it('refuses a folder or other non-file at the target, and a folder that does not exist', async () => {
    fs.mkdirSync(path.join(work, 'docker-compose.yaml'));
    await assert.rejects(writeFileSafely(work, 'docker-compose.yaml', 'x', { overwrite: true }), /exists and is not a regular file/);
    await assert.rejects(writeFileSafely(path.join(root, 'nope'), 'a.yaml', 'x'), /folder .*nope cannot be used \(ENOENT\)/);
  });

  it('creates files with the mode asked for (0600 for secrets)', async function () {
    if (process.platform === 'win32') this.skip();
    const f = await writeFileSafely(work, '.env', 'TOKEN=x\n', { mode: 0o600 });
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
  });

  it('reports a failed write with the path and what to check, leaving nothing behind', async () => {
    // A name the folder takes but whose temporary sibling is too long for the file system.
    const name = `${'n'.repeat(250)}.yaml`;
    await assert.rejects(writeFileSafely(work, name, 'x'), /Writing .*\.yaml failed \(ENAMETOOLONG\): check the folder's permissions/);
    assert.deepEqual(fs.readdirSync(work), []);
  });
});
