// SHA-256 checks of real files in a temp folder: digests, mismatches, cancellation, progress
// throttling and Ollama blob names.
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expectedDigestFromPath, normalizeDigest, sha256File, verifyDigest } from '../../../../src/core/runtimes/integrity';

const MiB = 1024 * 1024;

describe('model file integrity (unit)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-integrity-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, data: Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, data);
    return f;
  };
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('hashes files of any size, across chunk boundaries', async () => {
    for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 17]) {
      const data = randomBytes(size);
      const r = await sha256File(write(`s${size}.bin`, data));
      assert.equal(r.digest, `sha256:${sha(data)}`);
      assert.equal(r.bytes, size);
    }
  });

  it('matches a recorded digest with or without the prefix, in any case', async () => {
    const data = randomBytes(2 * MiB + 5);
    const f = write('model.gguf', data);
    const hex = sha(data);
    for (const expected of [`sha256:${hex}`, hex, hex.toUpperCase(), `SHA256:${hex.toUpperCase()}`, `  sha256:${hex}\n`]) {
      const r = await verifyDigest(f, expected);
      assert.equal(r.status, 'match', expected);
      assert.equal(r.expected, `sha256:${hex}`);
      assert.equal(r.actual, `sha256:${hex}`);
      assert.equal(r.bytes, data.length);
      assert.ok(r.ms >= 0);
    }
  });

  it('reports a mismatch when one byte changes', async () => {
    const data = randomBytes(MiB + 100);
    const f = write('flip.gguf', data);
    const recorded = `sha256:${sha(data)}`;
    const fd = fs.openSync(f, 'r+');
    fs.writeSync(fd, Buffer.from([data[MiB + 50] ^ 0x01]), 0, 1, MiB + 50);
    fs.closeSync(fd);
    const r = await verifyDigest(f, recorded);
    assert.equal(r.status, 'mismatch');
    assert.equal(r.expected, recorded);
    assert.notEqual(r.actual, recorded);
    assert.equal(r.bytes, data.length);
  });

  it('reports the digest when there is no record, and refuses a malformed record before reading', async () => {
    const data = randomBytes(1000);
    const f = write('norecord.gguf', data);
    for (const expected of [undefined, '', '   ']) {
      const r = await verifyDigest(f, expected);
      assert.equal(r.status, 'no-record');
      assert.equal(r.expected, undefined);
      assert.equal(r.actual, `sha256:${sha(data)}`);
    }
    await assert.rejects(verifyDigest(path.join(dir, 'does-not-matter'), 'sha256:1234'), /"sha256:1234" is not a SHA-256 digest/);
    assert.throws(() => normalizeDigest('md5:' + 'a'.repeat(64)), /not a SHA-256 digest/);
  });

  it('names the file when it is missing or a folder', async () => {
    const missing = path.join(dir, 'gone.gguf');
    await assert.rejects(sha256File(missing), (e: Error) => e.message.includes(missing) && /does not exist/.test(e.message));
    await assert.rejects(verifyDigest(missing, undefined), (e: Error) => e.message.includes(missing));
    await assert.rejects(sha256File(dir), (e: Error) => e.message.includes(dir) && /is a folder/.test(e.message));
  });

  it('can be cancelled before and during the read', async () => {
    const f = write('cancel.bin', randomBytes(8 * MiB));
    const before = new AbortController();
    before.abort();
    await assert.rejects(sha256File(f, { signal: before.signal }), (e: Error) => e.name === 'AbortError' && e.message.includes(f) && /cancelled/.test(e.message));

    const during = new AbortController();
    let calls = 0;
    await assert.rejects(
      sha256File(f, {
        signal: during.signal,
        onProgress: () => {
          calls++;
          during.abort();
        },
      }),
      (e: Error) => e.name === 'AbortError',
    );
    assert.equal(calls, 1, 'no more progress after the abort, and no final report');
  });

  it('throttles progress to ten calls a second plus a final one', async () => {
    const size = 48 * MiB;
    const f = write('progress.bin', Buffer.alloc(size, 7));
    const calls: [number, number][] = [];
    const start = performance.now();
    const r = await sha256File(f, { onProgress: (done, total) => calls.push([done, total]) });
    const elapsed = performance.now() - start;
    assert.equal(r.bytes, size);
    assert.ok(calls.length >= 2, 'a first report and a final one');
    assert.ok(calls.length <= Math.floor(elapsed / 100) + 2, `${calls.length} calls in ${elapsed.toFixed(0)} ms`);
    assert.ok(calls.length < size / MiB, 'fewer reports than chunks');
    assert.deepEqual(calls.at(-1), [size, size]);
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i][0] >= calls[i - 1][0], 'progress never goes back');
    for (const [done, total] of calls) assert.ok(done <= total && total === size);
  });

  it('reads the expected digest from Ollama blob names', () => {
    const hex = 'ab'.repeat(32);
    assert.equal(expectedDigestFromPath(`/home/u/.ollama/models/blobs/sha256-${hex}`), `sha256:${hex}`);
    assert.equal(expectedDigestFromPath(`C:\\Users\\u\\.ollama\\models\\blobs\\sha256-${hex.toUpperCase()}`), `sha256:${hex}`);
    assert.equal(expectedDigestFromPath(`blobs/sha256:${hex}`), `sha256:${hex}`, 'the name older Ollama used');
    assert.equal(expectedDigestFromPath(`blobs/sha256-${hex}-partial`), undefined);
    assert.equal(expectedDigestFromPath(`blobs/sha256-${hex.slice(2)}`), undefined);
    assert.equal(expectedDigestFromPath(`sha256-${hex}/model.gguf`), undefined);
    assert.equal(expectedDigestFromPath('model.gguf'), undefined);
  });
});
