// GGUF header reading on real generated model files: metadata, parameter count, quantization,
// and clear errors for truncated, foreign and corrupt files.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
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

  it('reads architecture, name, context length, parameter count and quantization', () => {
    const opts = { name: 'tiny-llama', embedding: 64, layers: 2, contextLength: 1024, fileType: 15 };
    const f = write('tiny.gguf', tinyGguf(opts));
    const info = readGgufInfo(f);
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

  it('reads only the header, not the tensors', () => {
    const f = write('bigger.gguf', tinyGguf({ embedding: 256, layers: 4 }));
    const info = readGgufInfo(f, { chunkBytes: 4096 });
    assert.ok(info.headerBytes < info.fileSize / 20, `header ${info.headerBytes} of ${info.fileSize} bytes`);
    assert.ok(info.parameterCount > 2_000_000);
  });

  it('names the dominant tensor type when general.file_type is absent, and reads version 2', () => {
    const noType = readGgufInfo(write('notype.gguf', tinyGguf({ fileType: null })));
    assert.equal(noType.metadata.has('general.file_type'), false);
    assert.equal(noType.quantization, 'F32');
    // Version 2 files are read with the same 64-bit layout.
    assert.equal(readGgufInfo(write('v2.gguf', tinyGguf({ version: 2 }))).version, 2);
  });

  it('refuses a file that is not GGUF, an empty file and an unknown version', () => {
    const foreign = write('foreign.bin', Buffer.from('PK\x03\x04 this is a zip, not a model'));
    assert.throws(() => readGgufInfo(foreign), (e: unknown) => e instanceof GgufError && e.kind === 'not-gguf' && /does not start with "GGUF"/.test(e.message));
    assert.throws(() => readGgufInfo(write('empty.gguf', Buffer.alloc(0))), (e: unknown) => e instanceof GgufError && e.kind === 'not-gguf');
    const v9 = tinyGguf();
    v9.writeUInt32LE(9, 4);
    assert.throws(() => readGgufInfo(write('v9.gguf', v9)), (e: unknown) => e instanceof GgufError && e.kind === 'unsupported' && /version 9/.test(e.message));
    assert.throws(() => readGgufInfo(path.join(dir, 'missing.gguf')), (e: unknown) => e instanceof GgufError && e.kind === 'io');
  });

  it('reports a file cut anywhere inside its header as truncated, never hangs or crashes', () => {
    const full = tinyGguf();
    const headerEnd = readGgufInfo(write('full.gguf', full)).headerBytes;
    const f = path.join(dir, 'cut.gguf');
    fc.assert(
      fc.property(fc.integer({ min: 8, max: headerEnd - 1 }), (cut) => {
        fs.writeFileSync(f, full.subarray(0, cut));
        assert.throws(() => readGgufInfo(f, { chunkBytes: 977 }), (e: unknown) => e instanceof GgufError && e.kind === 'truncated');
      }),
      { numRuns: 150 },
    );
  });

  it('rejects absurd lengths as corrupt without allocating them', () => {
    const bad = Buffer.from(tinyGguf());
    // The first metadata key's length (right after magic, version and the two counts).
    bad.writeBigUInt64LE(1n << 40n, 24);
    assert.throws(() => readGgufInfo(write('absurd.gguf', bad)), (e: unknown) => e instanceof GgufError && e.kind === 'corrupt' && /corrupt/.test(e.message));
    const tooMany = Buffer.from(tinyGguf());
    tooMany.writeBigUInt64LE(1n << 50n, 16); // metadata count
    assert.throws(() => readGgufInfo(write('many.gguf', tooMany)), (e: unknown) => e instanceof GgufError && e.kind === 'corrupt');
    assert.throws(() => readGgufInfo(write('limit.gguf', tinyGguf()), { maxHeaderBytes: 512 }), (e: unknown) => e instanceof GgufError && e.kind === 'corrupt' && /larger than 512 bytes/.test(e.message));
  });

  it('random bytes after a valid magic give a GgufError, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), (tail) => {
        const f = path.join(dir, 'random.gguf');
        fs.writeFileSync(f, Buffer.concat([Buffer.from('GGUF', 'latin1'), Buffer.from([3, 0, 0, 0]), Buffer.from(tail)]));
        try {
          readGgufInfo(f);
        } catch (e) {
          assert.ok(e instanceof GgufError, String(e));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('formats parameter counts', () => {
    assert.equal(formatParameterCount(7_241_732_096), '7.2B');
    assert.equal(formatParameterCount(2_700_000), '2.7M');
    assert.equal(formatParameterCount(115_000), '115.0K');
    assert.equal(formatParameterCount(12), '12');
  });
});
