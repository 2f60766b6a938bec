// GGUF folder listing on real generated model files in temp folders: metadata, the header cache,
// problem entries, bounds on the walk, and split models.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatParameterCount } from '../../../../src/core/runtimes/gguf';
import { GgufFolderRuntime, ggufFolderEndpoint } from '../../../../src/core/runtimes/ggufFolder';
import { tinyGguf, tinyParameterCount, writeTinyGguf } from '../../../support/gguf';

describe('GGUF folder runtime (unit)', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-ggufdir-'));
  after(() => fs.rmSync(base, { recursive: true, force: true }));
  let n = 0;
  /** A fresh folder per test, so one test's files never show up in another's listing. */
  const folder = () => {
    const d = path.join(base, `f${n++}`);
    fs.mkdirSync(d);
    return d;
  };
  const put = (root: string, rel: string, data: Buffer | { gguf: Parameters<typeof tinyGguf>[0] }) => {
    const f = path.join(root, ...rel.split('/'));
    fs.mkdirSync(path.dirname(f), { recursive: true });
    if (Buffer.isBuffer(data)) fs.writeFileSync(f, data);
    else writeTinyGguf(f, data.gguf);
    return f;
  };
  const runtime = (root: string, opts = {}) => new GgufFolderRuntime(ggufFolderEndpoint(root), opts);

  it('builds the endpoint from a folder path', () => {
    const e = ggufFolderEndpoint(path.join(base, 'models') + path.sep);
    assert.equal(e.id, `gguf@${path.join(base, 'models')}`);
    assert.equal(e.baseUrl, path.join(base, 'models'));
    assert.equal(e.name, 'models');
    assert.equal(e.kind, 'gguf');
    assert.equal(e.api, 'gguf');
    assert.equal(e.source, 'folder');
    const home = ggufFolderEndpoint('~');
    assert.equal(home.baseUrl, os.homedir());
    assert.equal(home.name, '~');
    assert.equal(ggufFolderEndpoint('~/llm').baseUrl, path.join(os.homedir(), 'llm'));
    assert.throws(() => new GgufFolderRuntime({ ...e, baseUrl: 'relative/dir' }), /not a GGUF folder endpoint/);
    assert.throws(() => ggufFolderEndpoint('models'), /GGUF folder "models" is not an absolute path; fix llmStack.models.ggufFolders/);
    assert.throws(() => ggufFolderEndpoint('  '), /is not an absolute path/);
  });

  it('finds nested files, case-insensitively, with the metadata of each header', async () => {
    const root = folder();
    const a = { name: 'a', embedding: 64, layers: 2, contextLength: 1024, fileType: 15 };
    const b = { name: 'b', embedding: 32, layers: 1, contextLength: 256, fileType: 7 };
    const fa = put(root, 'top.gguf', { gguf: a });
    const fb = put(root, 'org/repo/Deep.GGUF', { gguf: b });
    put(root, 'readme.txt', Buffer.from('not a model'));
    put(root, 'org/weights.bin', Buffer.from('nope'));
    const rt = runtime(root);
    assert.deepEqual(rt.capabilities, { pull: false, delete: false, load: false, unload: false, generate: false, modelfile: false });
    const listing = await rt.list();
    assert.deepEqual(listing.models.map((m) => m.name), ['org/repo/Deep.GGUF', 'top.gguf']);
    assert.equal(listing.truncated, false);
    const [deep, top] = listing.models;
    assert.equal(top.file, fa);
    assert.equal(top.sizeBytes, fs.statSync(fa).size);
    assert.equal(top.modifiedAt, Math.round(fs.statSync(fa).mtimeMs));
    assert.equal(top.family, 'llama');
    assert.equal(top.parameterCount, tinyParameterCount(a));
    assert.equal(top.parameterSize, formatParameterCount(tinyParameterCount(a)));
    assert.equal(top.quantization, 'Q4_K_M');
    assert.equal(top.contextLength, 1024);
    assert.equal(top.format, 'gguf');
    assert.equal(top.problem, undefined);
    assert.equal(deep.file, fb);
    assert.equal(deep.parameterCount, tinyParameterCount(b));
    assert.equal(deep.quantization, 'Q8_0');
    assert.equal(deep.contextLength, 256);
  });

  it('reads no header again for unchanged files, and re-reads changed ones', async () => {
    const root = folder();
    const one = put(root, 'one.gguf', { gguf: { contextLength: 512 } });
    put(root, 'sub/two.gguf', { gguf: { contextLength: 512 } });
    const rt = runtime(root);
    await rt.list();
    assert.equal(rt.headersRead, 2);
    const again = await rt.list();
    assert.equal(rt.headersRead, 2, 'an unchanged folder reads no header');
    assert.equal(again.models.length, 2);

    // Same content, new mtime: the file may have been replaced, so it is read again.
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(one, later, later);
    await rt.list();
    assert.equal(rt.headersRead, 3);

    // Rewritten with other metadata: the listing shows the new header.
    writeTinyGguf(one, { contextLength: 4096, layers: 3 });
    const rewritten = await rt.list();
    assert.equal(rt.headersRead, 4);
    assert.equal(rewritten.models.find((m) => m.name === 'one.gguf')!.contextLength, 4096);

    fs.rmSync(one);
    const removed = await rt.list();
    assert.deepEqual(removed.models.map((m) => m.name), ['sub/two.gguf']);
    assert.equal(rt.headersRead, 4);
  });

  it('lists truncated and foreign files with the problem instead of failing', async () => {
    const root = folder();
    const full = tinyGguf();
    put(root, 'cut.gguf', full.subarray(0, 200));
    put(root, 'zip.gguf', Buffer.from('PK\x03\x04 a zip file'));
    put(root, 'empty.gguf', Buffer.alloc(0));
    put(root, 'good.gguf', full);
    const { models } = await runtime(root).list();
    const byName = new Map(models.map((m) => [m.name, m]));
    assert.equal(models.length, 4);
    assert.match(byName.get('cut.gguf')!.problem!, /truncated/);
    assert.match(byName.get('zip.gguf')!.problem!, /not a GGUF file/);
    assert.match(byName.get('empty.gguf')!.problem!, /not a GGUF file/);
    for (const name of ['cut.gguf', 'zip.gguf', 'empty.gguf']) {
      const m = byName.get(name)!;
      assert.equal(m.family, undefined);
      assert.equal(m.parameterCount, undefined);
      assert.equal(m.quantization, undefined);
      assert.equal(m.sizeBytes, fs.statSync(m.file!).size);
    }
    assert.equal(byName.get('good.gguf')!.problem, undefined);
  });

  it('a FIFO, a link to one and a folder named *.gguf never hold the listing up; a header over the byte bound is a problem entry', async function () {
    if (process.platform === 'win32') this.skip();
    const root = folder();
    put(root, 'good.gguf', tinyGguf());
    execFileSync('mkfifo', [path.join(root, 'pipe.gguf')]);
    fs.symlinkSync(path.join(root, 'pipe.gguf'), path.join(root, 'link.gguf'));
    fs.mkdirSync(path.join(root, 'dir.gguf'));
    // A header that claims a 70 MB array of bytes: past the reader's bound, in a sparse 100 MB file.
    const big = path.join(root, 'huge.gguf');
    const head = Buffer.alloc(24 + 8 + 1 + 4 + 4 + 8);
    head.write('GGUF', 0, 'latin1');
    head.writeUInt32LE(3, 4);
    head.writeBigUInt64LE(0n, 8);
    head.writeBigUInt64LE(1n, 16);
    head.writeBigUInt64LE(1n, 24);
    head.write('k', 32);
    head.writeUInt32LE(9, 33);
    head.writeUInt32LE(0, 37);
    head.writeBigUInt64LE(70_000_000n, 41);
    fs.writeFileSync(big, head);
    fs.truncateSync(big, 100 * 1024 * 1024);
    const { models } = await runtime(root).list();
    assert.deepEqual(models.map((m) => [m.name, m.problem]), [
      ['good.gguf', undefined],
      ['huge.gguf', `${big}: the header is larger than 67108864 bytes (skipping k); the file looks corrupt.`],
    ]);
  });

  it('says clearly when the folder does not exist or is a file', async () => {
    const missing = path.join(base, 'no-such-folder');
    await assert.rejects(runtime(missing).list(), (e: Error) => e.message === `GGUF folder ${missing} does not exist; fix llmStack.models.ggufFolders`);
    const file = put(folder(), 'x.gguf', tinyGguf());
    await assert.rejects(runtime(file).list(), /is a file, not a folder; fix llmStack.models.ggufFolders/);
  });

  it('skips hidden folders and stops at the depth bound', async () => {
    const root = folder();
    put(root, '.cache/hidden.gguf', tinyGguf());
    put(root, 'a/.git/inner.gguf', tinyGguf());
    put(root, 'a/b/c/d/level4.gguf', tinyGguf());
    put(root, 'a/b/c/d/e/level5.gguf', tinyGguf());
    const rt = runtime(root);
    assert.deepEqual((await rt.list()).models.map((m) => m.name), ['a/b/c/d/level4.gguf']);
    assert.deepEqual((await runtime(root, { maxDepth: 5 }).list()).models.map((m) => m.name), ['a/b/c/d/e/level5.gguf', 'a/b/c/d/level4.gguf']);
    assert.deepEqual((await runtime(root, { maxDepth: 0 }).list()).models, []);
  });

  it('stops at the entry bound and says the listing is incomplete', async () => {
    const root = folder();
    for (let i = 0; i < 6; i++) put(root, `m${i}.gguf`, tinyGguf({ embedding: 16, layers: 1 }));
    const listing = await runtime(root, { maxEntries: 4 }).list();
    assert.equal(listing.truncated, true);
    assert.deepEqual(listing.models.map((m) => m.name), ['m0.gguf', 'm1.gguf', 'm2.gguf', 'm3.gguf']);
  });

  it('follows symlinks once and survives a link back up the tree', async function () {
    const root = folder();
    const outside = folder();
    put(outside, 'linked.gguf', tinyGguf());
    put(root, 'real/model.gguf', tinyGguf());
    try {
      fs.symlinkSync(root, path.join(root, 'real', 'loop'), 'dir');
      fs.symlinkSync(outside, path.join(root, 'elsewhere'), 'dir');
      fs.symlinkSync(path.join(root, 'nowhere.gguf'), path.join(root, 'dangling.gguf'));
    } catch {
      this.skip(); // symlinks need privileges on Windows
    }
    const { models } = await runtime(root).list();
    const names = models.map((m) => m.name);
    assert.deepEqual(names.filter((x) => !x.includes('dangling')), ['elsewhere/linked.gguf', 'real/model.gguf']);
    const dangling = models.find((m) => m.name === 'dangling.gguf')!;
    assert.match(dangling.problem!, /Cannot read/);
  });

  it('lists a split model once, with the size and parameters of all its parts', async () => {
    const root = folder();
    // Real splits put the metadata in part 1 and spread the tensors; whole tiny models stand in for the parts.
    const opts = [{ layers: 2 }, { layers: 1 }, { layers: 1, embedding: 32 }];
    const files = opts.map((o, i) => put(root, `big/model-0000${i + 1}-of-00003.gguf`, { gguf: { ...o, contextLength: 2048 } }));
    put(root, 'other.gguf', tinyGguf());
    const { models } = await runtime(root).list();
    assert.deepEqual(models.map((m) => m.name), ['big/model-00001-of-00003.gguf', 'other.gguf']);
    const split = models[0];
    assert.equal(split.file, files[0]);
    assert.equal(split.sizeBytes, files.reduce((s, f) => s + fs.statSync(f).size, 0));
    assert.equal(split.parameterCount, opts.reduce((s, o) => s + tinyParameterCount(o), 0));
    assert.equal(split.contextLength, 2048);
    assert.equal(split.problem, undefined);

    fs.rmSync(files[2]);
    const partial = (await runtime(root).list()).models[0];
    assert.equal(partial.name, 'big/model-00001-of-00003.gguf');
    assert.match(partial.problem!, /Part 3 of this 3-part model is missing/);
    assert.equal(partial.family, 'llama', 'the metadata of part 1 is still shown');

    fs.rmSync(files[0]);
    const headless = (await runtime(root).list()).models[0];
    assert.equal(headless.name, 'big/model-00002-of-00003.gguf');
    assert.match(headless.problem!, /Part 1 of this 3-part model is missing/);
    assert.equal(headless.family, undefined);
  });

  it('lets other work run while it reads headers, and can be cancelled', async () => {
    const root = folder();
    for (let i = 0; i < 8; i++) put(root, `m${i}.gguf`, tinyGguf({ seed: i }));
    let turns = 0;
    let done = false;
    const spin = () => {
      turns++;
      if (!done) setImmediate(spin);
    };
    setImmediate(spin);
    await runtime(root).list();
    done = true;
    assert.ok(turns >= 8, `other work ran ${turns} times during the scan`);

    const ac = new AbortController();
    ac.abort();
    await assert.rejects(runtime(root).list(ac.signal), (e: Error) => e.name === 'AbortError' && /cancelled/.test(e.message));
  });
});
