// GGUF header reading on real generated model files: metadata, parameter count, quantization,
// and clear errors for truncated, foreign and corrupt files.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { formatParameterCount, GgufError, readGgufInfo } from '../../../../src/core/runtimes/gguf';
import { tinyGguf, tinyParameterCount } from '../../../support/gguf';

describe('GGUF header reader (unit)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-gguf-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, data: Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, data);
    return f;
  };

  it('reads architecture, name, context length, parameter count and quantization', async () => {
    const opts = { name: 'tiny-llama', embedding: 64, layers: 2, contextLength: 1024, fileType: 15 };
    const f = write('tiny.gguf', tinyGguf(opts));
    const info = await readGgufInfo(f);
    assert.equal(info.version, 3);
    assert.equal(info.architecture, 'llama');
    assert.equal(info.name, 'tiny-llama');
    assert.equal(info.contextLength, 1024);
    assert.equal(info.embeddingLength, 64);
    assert.equal(info.blockCount, 2);
    assert.equal(info.parameterCount, tinyParameterCount(opts));
    assert.equal(info.quantization, 'Q4_K_M');
    assert.equal(info.tensorCount, 2 + 2 * 9 + 1);
    assert.equal(info.fileSize, fs.statSync(f).size);
    const tokens = info.metadata.get('tokenizer.ggml.tokens') as { length: number; values?: unknown[] };
    assert.equal(tokens.length, 3 + 256 + 10);
    assert.equal(tokens.values, undefined, 'large arrays are summarised, not kept');
  });

  it('reads only the header, not the tensors', async () => {
    const f = write('bigger.gguf', tinyGguf({ embedding: 256, layers: 4 }));
    const info = await readGgufInfo(f, { chunkBytes: 4096 });
    assert.ok(info.headerBytes < info.fileSize / 20, `header ${info.headerBytes} of ${info.fileSize} bytes`);
    assert.ok(info.parameterCount > 2_000_000);
  });

  it('names the dominant tensor type when general.file_type is absent, and reads version 2', async () => {
    const noType = await readGgufInfo(write('notype.gguf', tinyGguf({ fileType: null })));
    assert.equal(noType.metadata.has('general.file_type'), false);
    assert.equal(noType.quantization, 'F32');
    // Version 2 files are read with the same 64-bit layout.
    assert.equal((await readGgufInfo(write('v2.gguf', tinyGguf({ version: 2 })))).version, 2);
  });

  it('refuses a file that is not GGUF, an empty file and an unknown version', async () => {
    const foreign = write('foreign.bin', Buffer.from('PK\x03\x04 this is a zip, not a model'));
    await assert.rejects(readGgufInfo(foreign), (e: unknown) => e instanceof GgufError && e.kind === 'not-gguf' && /does not start with "GGUF"/.test(e.message));
    await assert.rejects(readGgufInfo(write('empty.gguf', Buffer.alloc(0))), (e: unknown) => e instanceof GgufError && e.kind === 'not-gguf');
    const v9 = tinyGguf();
    v9.writeUInt32LE(9, 4);
    await assert.rejects(readGgufInfo(write('v9.gguf', v9)), (e: unknown) => e instanceof GgufError && e.kind === 'unsupported' && /version 9/.test(e.message));
    await assert.rejects(readGgufInfo(path.join(dir, 'missing.gguf')), (e: unknown) => e instanceof GgufError && e.kind === 'io');
  });

  it('reports a file cut anywhere inside its header as truncated, never hangs or crashes', async () => {
    const full = tinyGguf();
    const headerEnd = (await readGgufInfo(write('full.gguf', full))).headerBytes;
    const f = path.join(dir, 'cut.gguf');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 8, max: headerEnd - 1 }), async (cut) => {
        fs.writeFileSync(f, full.subarray(0, cut));
        await assert.rejects(readGgufInfo(f, { chunkBytes: 977 }), (e: unknown) => e instanceof GgufError && e.kind === 'truncated');
      }),
      { numRuns: 150 },
    );
  });

  it('rejects absurd lengths as corrupt without allocating them', async () => {
    const bad = Buffer.from(tinyGguf());
    // The first metadata key's length (right after magic, version and the two counts).
    bad.writeBigUInt64LE(1n << 40n, 24);
    await assert.rejects(readGgufInfo(write('absurd.gguf', bad)), (e: unknown) => e instanceof GgufError && e.kind === 'corrupt' && /corrupt/.test(e.message));
    const tooMany = Buffer.from(tinyGguf());
    tooMany.writeBigUInt64LE(1n << 50n, 16); // metadata count
    await assert.rejects(readGgufInfo(write('many.gguf', tooMany)), (e: unknown) => e instanceof GgufError && e.kind === 'corrupt');
    await assert.rejects(readGgufInfo(write('limit.gguf', tinyGguf()), { maxHeaderBytes: 512 }), (e: unknown) => e instanceof GgufError && e.kind === 'corrupt' && /larger than 512 bytes/.test(e.message));
  });

  it('random bytes after a valid magic give a GgufError, never another exception', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 400 }), async (tail) => {
        const f = path.join(dir, 'random.gguf');
        fs.writeFileSync(f, Buffer.concat([Buffer.from('GGUF', 'latin1'), Buffer.from([3, 0, 0, 0]), Buffer.from(tail)]));
        try {
          await readGgufInfo(f);
        } catch (e) {
          assert.ok(e instanceof GgufError, String(e));
        }
      }),
      { numRuns: 200 },
    );
  });

  describe('a path a stack file chose that is not an ordinary model file', () => {
    /** A GGUF v3 header: `tensors` tensor infos follow `kvs` metadata entries; the rest of the file is up to the caller. */
    const header = (tensors: bigint, kvs: Buffer[]) => {
      const h = Buffer.alloc(24);
      h.write('GGUF', 0, 'latin1');
      h.writeUInt32LE(3, 4);
      h.writeBigUInt64LE(tensors, 8);
      h.writeBigUInt64LE(BigInt(kvs.length), 16);
      return Buffer.concat([h, ...kvs]);
    };
    /** A metadata entry "k": an array of `n` strings (the type at byte 13), whose elements are not written. */
    const stringArray = (n: bigint) => {
      const b = Buffer.alloc(8 + 1 + 4 + 4 + 8);
      b.writeBigUInt64LE(1n, 0);
      b.write('k', 8);
      b.writeUInt32LE(9, 9); // array
      b.writeUInt32LE(8, 13); // of strings
      b.writeBigUInt64LE(n, 17);
      return b;
    };
    /** A 300 MB file of which only the header is written: the rest is a hole that reads as zeros. */
    const sparse = (name: string, head: Buffer) => {
      const f = write(name, head);
      fs.truncateSync(f, 300 * 1024 * 1024);
      return f;
    };
    const isGgufError = (kind: GgufError['kind'], re: RegExp) => (e: unknown) => e instanceof GgufError && e.kind === kind && re.test(e.message);

    it('a FIFO without a writer, and a symlink to one, are refused without waiting for a writer', async function () {
      if (process.platform === 'win32') this.skip();
      const fifo = path.join(dir, 'pipe.gguf');
      execFileSync('mkfifo', [fifo]);
      const link = path.join(dir, 'link-to-pipe.gguf');
      fs.symlinkSync(fifo, link);
      await assert.rejects(readGgufInfo(fifo), isGgufError('not-file', /pipe\.gguf is a named pipe \(FIFO\), not a GGUF model file/));
      await assert.rejects(readGgufInfo(link), isGgufError('not-file', /link-to-pipe\.gguf is a named pipe \(FIFO\)/));
    });

    it('a device and a socket are refused as such', async function () {
      if (process.platform === 'win32') this.skip();
      await assert.rejects(readGgufInfo('/dev/zero'), isGgufError('not-file', /\/dev\/zero is a device/));
      const sock = path.join(dir, 'sock.gguf');
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(sock, r));
      try {
        // Opening a socket file fails (ENXIO) before any check: a clear I/O error all the same.
        await assert.rejects(readGgufInfo(sock), (e: unknown) => e instanceof GgufError && (e.kind === 'io' || e.kind === 'not-file') && e.message.includes(sock));
      } finally {
        await new Promise<void>((r) => server.close(() => r()));
      }
    });

    it('a folder is refused as such', async () => {
      const folder = path.join(dir, 'folder.gguf');
      fs.mkdirSync(folder);
      await assert.rejects(readGgufInfo(folder), isGgufError('not-file', /folder\.gguf is a folder, not a GGUF model file/));
    });

    it('a sparse 300 MB file whose header claims 20 million strings is refused before reading them', async () => {
      const f = sparse('claims.gguf', header(0n, [stringArray(20_000_000n)]));
      await assert.rejects(readGgufInfo(f), isGgufError('corrupt', /the length of k \(20000000\) cannot fit in a header of 67108864 bytes/));
      const beyond = write('beyond.gguf', header(0n, [stringArray(20_000_000n)]));
      await assert.rejects(readGgufInfo(beyond), isGgufError('truncated', /the length of k \(20000000\) cannot fit in the \d+ bytes left/));
    });

    it('a sparse file whose header runs past the byte bound is refused at the bound', async () => {
      // A 70 MB array of bytes: the file holds it, a real header never does.
      const bytes = stringArray(70_000_000n);
      bytes.writeUInt32LE(0, 13); // of u8
      const f = sparse('huge-array.gguf', header(0n, [bytes]));
      await assert.rejects(readGgufInfo(f), isGgufError('corrupt', /huge-array\.gguf: the header is larger than 67108864 bytes \(skipping k/));
    });

    it('reading past timeoutMs is given up with a clear error', async () => {
      // A million zero-filled tensor infos: a valid header of 24 MB that takes far longer than 20 ms to go through.
      const f = sparse('slow.gguf', header(1_000_000n, []));
      await assert.rejects(readGgufInfo(f, { timeoutMs: 20 }), isGgufError('timeout', /slow\.gguf took longer than 20 ms/));
      const info = await readGgufInfo(f, { timeoutMs: 60_000 });
      assert.equal(info.tensorCount, 1_000_000, 'the same file with time to spare is read to its end');
    });
  });

  it('formats parameter counts', () => {
    assert.equal(formatParameterCount(7_241_732_096), '7.2B');
    assert.equal(formatParameterCount(2_700_000), '2.7M');
    assert.equal(formatParameterCount(115_000), '115.0K');
    assert.equal(formatParameterCount(12), '12');
  });
});
