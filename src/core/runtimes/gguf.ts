// Reads the metadata of a GGUF model file (architecture, parameter count, quantization, context
// length, name) from its header alone, without reading the tensors: a few reads of the first
// megabytes even for a multi-gigabyte file.
import * as fs from 'node:fs';

export class GgufError extends Error {
  constructor(
    message: string,
    readonly kind: 'not-gguf' | 'truncated' | 'corrupt' | 'unsupported' | 'io',
  ) {
    super(message);
    this.name = 'GgufError';
  }
}

const enum T {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
}

const scalarSize: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** llama.cpp's LLAMA_FTYPE values (general.file_type). */
export const fileTypeNames: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1', 10: 'Q2_K', 11: 'Q3_K_S', 12: 'Q3_K_M', 13: 'Q3_K_L',
  14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S', 17: 'Q5_K_M', 18: 'Q6_K', 19: 'IQ2_XXS', 20: 'IQ2_XS', 21: 'Q2_K_S', 22: 'IQ3_XS',
  23: 'IQ3_XXS', 24: 'IQ1_S', 25: 'IQ4_NL', 26: 'IQ3_S', 27: 'IQ3_M', 28: 'IQ2_S', 29: 'IQ2_M', 30: 'IQ4_XS', 31: 'IQ1_M', 32: 'BF16',
  36: 'TQ1_0', 37: 'TQ2_0',
};

/** ggml tensor types, to name the quantization when general.file_type is absent. */
const tensorTypeNames: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K',
  14: 'Q6_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS',
  24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 29: 'IQ1_M', 30: 'BF16', 34: 'TQ1_0', 35: 'TQ2_0',
};

export type GgufScalar = number | bigint | boolean | string;
/** Arrays are summarised (element type and length); small scalar arrays keep their values. */
export type GgufValue = GgufScalar | { readonly arrayType: number; readonly length: number; readonly values?: GgufScalar[] };

export interface GgufInfo {
  readonly version: number;
  readonly fileSize: number;
  readonly tensorCount: number;
  readonly architecture?: string;
  readonly name?: string;
  readonly parameterCount: number;
  readonly quantization?: string;
  readonly contextLength?: number;
  readonly embeddingLength?: number;
  readonly blockCount?: number;
  /** Bytes of header (metadata + tensor infos) actually read. */
  readonly headerBytes: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
}

export interface GgufReadOptions {
  /** Refuse headers larger than this (a corrupt length must not make us read gigabytes). */
  readonly maxHeaderBytes?: number;
  readonly chunkBytes?: number;
}

const MAX_STRING = 16 * 1024 * 1024;
const MAX_COUNT = 100_000_000;

/** Buffered, bounded sequential reader over a file descriptor. */
class Reader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly chunk: number,
    private readonly limit: number,
    private readonly file: string,
  ) {}

  private ensure(n: number, what: string): void {
    if (this.pos + n > this.size) throw new GgufError(`${this.file} is truncated: it ends at byte ${this.size} while reading ${what} at byte ${this.pos}.`, 'truncated');
    if (this.pos + n > this.limit) throw new GgufError(`${this.file}: the header is larger than ${this.limit} bytes (reading ${what}); the file looks corrupt.`, 'corrupt');
    const end = this.bufStart + this.buf.length;
    if (this.pos >= this.bufStart && this.pos + n <= end) return;
    const len = Math.min(Math.max(n, this.chunk), this.size - this.pos);
    const b = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const r = fs.readSync(this.fd, b, got, len - got, this.pos + got);
      if (r === 0) break;
      got += r;
    }
    if (got < n) throw new GgufError(`${this.file} is truncated while reading ${what}.`, 'truncated');
    this.buf = b.subarray(0, got);
    this.bufStart = this.pos;
  }

  private take(n: number, what: string): Buffer {
    this.ensure(n, what);
    const off = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(off, off + n);
  }

  skip(n: number, what: string): void {
    if (this.pos + n > this.size) throw new GgufError(`${this.file} is truncated: it ends at byte ${this.size} while skipping ${what}.`, 'truncated');
    if (this.pos + n > this.limit) throw new GgufError(`${this.file}: the header is larger than ${this.limit} bytes (skipping ${what}); the file looks corrupt.`, 'corrupt');
    this.pos += n;
  }

  u32(what: string): number {
    return this.take(4, what).readUInt32LE(0);
  }

  u64(what: string): bigint {
    return this.take(8, what).readBigUInt64LE(0);
  }

  count(what: string, wide: boolean): number {
    const v = wide ? this.u64(what) : BigInt(this.u32(what));
    if (v > BigInt(MAX_COUNT)) throw new GgufError(`${this.file}: ${what} is ${v}, which no real model has; the file looks corrupt.`, 'corrupt');
    return Number(v);
  }

  string(what: string, wide: boolean): string {
    const len = this.count(`${what} length`, wide);
    if (len > MAX_STRING) throw new GgufError(`${this.file}: ${what} claims ${len} bytes; the file looks corrupt.`, 'corrupt');
    return this.take(len, what).toString('utf8');
  }

  scalar(type: number, what: string): GgufScalar {
    const size = scalarSize[type];
    const b = this.take(size, what);
    switch (type) {
      case T.U8: return b.readUInt8(0);
      case T.I8: return b.readInt8(0);
      case T.U16: return b.readUInt16LE(0);
      case T.I16: return b.readInt16LE(0);
      case T.U32: return b.readUInt32LE(0);
      case T.I32: return b.readInt32LE(0);
      case T.F32: return b.readFloatLE(0);
      case T.BOOL: return b.readUInt8(0) !== 0;
      case T.U64: return b.readBigUInt64LE(0);
      case T.I64: return b.readBigInt64LE(0);
      default: return b.readDoubleLE(0);
    }
  }
}

function asNumber(v: GgufValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** Reads a GGUF file's header. Throws GgufError with a message naming the file and the problem. */
export function readGgufInfo(file: string, options: GgufReadOptions = {}): GgufInfo {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new GgufError(`Cannot read ${file}: ${(e as Error).message}`, 'io');
  }
  try {
    const size = fs.fstatSync(fd).size;
    const r = new Reader(fd, size, options.chunkBytes ?? 1024 * 1024, options.maxHeaderBytes ?? 256 * 1024 * 1024, file);
    if (size < 4) throw new GgufError(`${file} is not a GGUF file (only ${size} bytes).`, 'not-gguf');
    const magic = r.u32('the magic number');
    if (magic !== 0x46554747) throw new GgufError(`${file} is not a GGUF file (it does not start with "GGUF").`, 'not-gguf');
    const version = r.u32('the version');
    if (version < 1 || version > 3) throw new GgufError(`${file} is GGUF version ${version}, which this reader does not know (1 to 3).`, 'unsupported');
    const wide = version >= 2; // version 1 used 32-bit counts and lengths
    const tensorCount = r.count('the tensor count', wide);
    const kvCount = r.count('the metadata count', wide);
    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < kvCount; i++) {
      const key = r.string(`metadata key ${i}`, wide);
      const type = r.u32(`the type of ${key}`);
      if (type === T.STRING) metadata.set(key, r.string(key, wide));
      else if (type === T.ARRAY) {
        const arrayType = r.u32(`the element type of ${key}`);
        const length = r.count(`the length of ${key}`, wide);
        if (arrayType === T.STRING) {
          for (let j = 0; j < length; j++) r.skip(r.count(`${key}[${j}] length`, wide), `${key}[${j}]`);
          metadata.set(key, { arrayType, length });
        } else if (scalarSize[arrayType] !== undefined) {
          if (length <= 64) {
            const values: GgufScalar[] = [];
            for (let j = 0; j < length; j++) values.push(r.scalar(arrayType, `${key}[${j}]`));
            metadata.set(key, { arrayType, length, values });
          } else {
            r.skip(length * scalarSize[arrayType], key);
            metadata.set(key, { arrayType, length });
          }
        } else throw new GgufError(`${file}: ${key} is an array of unknown type ${arrayType}; the file looks corrupt.`, 'corrupt');
      } else if (scalarSize[type] !== undefined) metadata.set(key, r.scalar(type, key));
      else throw new GgufError(`${file}: ${key} has unknown type ${type}; the file looks corrupt.`, 'corrupt');
    }
    let parameterCount = 0;
    const typeCounts = new Map<number, number>();
    for (let i = 0; i < tensorCount; i++) {
      const name = r.string(`tensor ${i} name`, wide);
      const dims = r.u32(`the dimensions of ${name}`);
      if (dims > 8) throw new GgufError(`${file}: tensor ${name} has ${dims} dimensions; the file looks corrupt.`, 'corrupt');
      let n = 1;
      for (let d = 0; d < dims; d++) n *= Number(wide ? r.u64(`${name} dimension ${d}`) : BigInt(r.u32(`${name} dimension ${d}`)));
      const ttype = r.u32(`the type of ${name}`);
      r.skip(8, `the offset of ${name}`);
      parameterCount += n;
      typeCounts.set(ttype, (typeCounts.get(ttype) ?? 0) + n);
    }
    const arch = typeof metadata.get('general.architecture') === 'string' ? (metadata.get('general.architecture') as string) : undefined;
    const fileType = asNumber(metadata.get('general.file_type'));
    let quantization = fileType !== undefined ? (fileTypeNames[fileType] ?? `type ${fileType}`) : undefined;
    if (!quantization && typeCounts.size) {
      const dominant = [...typeCounts].sort((a, b) => b[1] - a[1])[0][0];
      quantization = tensorTypeNames[dominant] ?? `type ${dominant}`;
    }
    const archKey = (k: string) => (arch ? asNumber(metadata.get(`${arch}.${k}`)) : undefined);
    return {
      version,
      fileSize: size,
      tensorCount,
      architecture: arch,
      name: typeof metadata.get('general.name') === 'string' ? (metadata.get('general.name') as string) : undefined,
      parameterCount,
      quantization,
      contextLength: archKey('context_length'),
      embeddingLength: archKey('embedding_length'),
      blockCount: archKey('block_count'),
      headerBytes: r.pos,
      metadata,
    };
  } finally {
    fs.closeSync(fd);
  }
}

/** "2.7M", "7.2B" */
export function formatParameterCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
