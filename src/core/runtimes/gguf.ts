// Reads the metadata of a GGUF model file (architecture, parameter count, quantization, context
// length, name) from its header alone, without reading the tensors: a few asynchronous reads of the
// first megabytes even for a multi-gigabyte file. The path may come from a stack file, so only a
// regular file is read, and the reading is bounded in bytes and time whatever the file claims.
import * as fs from 'node:fs';

export class GgufError extends Error {
  constructor(
    message: string,
    readonly kind: 'not-gguf' | 'truncated' | 'corrupt' | 'unsupported' | 'io' | 'not-file' | 'timeout',
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
const fileTypeNames: Record<number, string> = {
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

type GgufScalar = number | bigint | boolean | string;
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

interface GgufReadOptions {
  /** Refuse headers larger than this (a corrupt length must not make us read gigabytes); default 64 MiB. */
  readonly maxHeaderBytes?: number;
  readonly chunkBytes?: number;
  /** Give up after this long (a slow or hung disk, a file crafted to be slow to parse); default 5000. */
  readonly timeoutMs?: number;
}

/** Real headers hold a vocabulary of a few hundred thousand tokens and merges: a few tens of MB at most. */
const DEFAULT_MAX_HEADER_BYTES = 64 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 5000;
const MAX_STRING = 16 * 1024 * 1024;
const MAX_COUNT = 100_000_000;

/**
 * Buffered, bounded sequential reader over an open file. need() loads bytes asynchronously; the
 * accessors then read them synchronously, so a vocabulary of 256k strings costs no await per string.
 */
class Reader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;

  constructor(
    private readonly handle: fs.promises.FileHandle,
    readonly size: number,
    private readonly chunk: number,
    private readonly limit: number,
    private readonly file: string,
    private readonly expired: () => GgufError | undefined,
  ) {}

  /** Whether the n bytes at pos are in memory. */
  has(n: number): boolean {
    return this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length;
  }

  /** `doing`: "reading the version", "skipping k[3]". */
  private bounds(n: number, doing: string): void {
    if (this.pos + n > this.size) throw new GgufError(`${this.file} is truncated: it ends at byte ${this.size} while ${doing} at byte ${this.pos}.`, 'truncated');
    if (this.pos + n > this.limit) throw new GgufError(`${this.file}: the header is larger than ${this.limit} bytes (${doing}); the file looks corrupt.`, 'corrupt');
  }

  /** Makes the n bytes at pos readable by the accessors. */
  async need(n: number, what: string): Promise<void> {
    if (this.has(n)) return;
    this.bounds(n, `reading ${what}`);
    const late = this.expired();
    if (late) throw late;
    const len = Math.min(Math.max(n, this.chunk), this.size - this.pos, this.limit - this.pos);
    const b = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.handle.read(b, got, len - got, this.pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got < n) throw new GgufError(`${this.file} is truncated while reading ${what}.`, 'truncated');
    this.buf = b.subarray(0, got);
    this.bufStart = this.pos;
  }

  /** Refuses `count` items of at least `minBytes` each that cannot fit in the file or the header limit. */
  fits(count: number, minBytes: number, what: string): void {
    if (count * minBytes > this.size - this.pos) throw new GgufError(`${this.file} is truncated: ${what} (${count}) cannot fit in the ${this.size - this.pos} bytes left.`, 'truncated');
    if (count * minBytes > this.limit - this.pos) throw new GgufError(`${this.file}: ${what} (${count}) cannot fit in a header of ${this.limit} bytes; the file looks corrupt.`, 'corrupt');
  }

  private take(n: number): Buffer {
    const off = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(off, off + n);
  }

  skip(n: number, what: string): void {
    this.bounds(n, `skipping ${what}`);
    this.pos += n;
  }

  /** Accessors for bytes already in memory (see has() and need()). */
  u32Now(): number {
    return this.take(4).readUInt32LE(0);
  }

  u64Now(): bigint {
    return this.take(8).readBigUInt64LE(0);
  }

  textNow(n: number): string {
    return this.take(n).toString('utf8');
  }

  async u32(what: string): Promise<number> {
    await this.need(4, what);
    return this.take(4).readUInt32LE(0);
  }

  async u64(what: string): Promise<bigint> {
    await this.need(8, what);
    return this.take(8).readBigUInt64LE(0);
  }

  /** A count or length; needs its 4 or 8 bytes in memory already (see has()). */
  countNow(what: string, wide: boolean): number {
    const v = wide ? this.take(8).readBigUInt64LE(0) : BigInt(this.take(4).readUInt32LE(0));
    if (v > BigInt(MAX_COUNT)) throw new GgufError(`${this.file}: ${what} is ${v}, which no real model has; the file looks corrupt.`, 'corrupt');
    return Number(v);
  }

  async count(what: string, wide: boolean): Promise<number> {
    await this.need(wide ? 8 : 4, what);
    return this.countNow(what, wide);
  }

  async string(what: string, wide: boolean): Promise<string> {
    const len = await this.count(`${what} length`, wide);
    if (len > MAX_STRING) throw new GgufError(`${this.file}: ${what} claims ${len} bytes; the file looks corrupt.`, 'corrupt');
    await this.need(len, what);
    return this.take(len).toString('utf8');
  }

  async scalar(type: number, what: string): Promise<GgufScalar> {
    const size = scalarSize[type];
    await this.need(size, what);
    const b = this.take(size);
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

/** What a path that is not a regular file is, for the message. */
function fileKind(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Opens a regular file for reading, or throws a GgufError. O_NONBLOCK: opening a FIFO without a
 * writer would otherwise wait forever (in the thread pool, holding one of its few threads); the type is
 * checked on the opened descriptor, so a symlink swapped in between cannot slip a FIFO through.
 */
async function openRegularFile(file: string): Promise<{ handle: fs.promises.FileHandle; size: number }> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new GgufError(`Cannot read ${file}: ${(e as Error).message}`, 'io');
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new GgufError(`${file} is ${fileKind(st)}, not a GGUF model file; point to the .gguf file itself.`, 'not-file');
    return { handle, size: st.size };
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e instanceof GgufError ? e : new GgufError(`Cannot read ${file}: ${(e as Error).message}`, 'io');
  }
}

/**
 * Reads a GGUF file's header, asynchronously and within maxHeaderBytes and timeoutMs. Rejects with a
 * GgufError naming the file and the problem: not a regular file, not GGUF, truncated, corrupt, too slow.
 */
export async function readGgufInfo(file: string, options: GgufReadOptions = {}): Promise<GgufInfo> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tooSlow = () => new GgufError(`Reading the header of ${file} took longer than ${timeoutMs} ms; is the file on a slow or hung disk?`, 'timeout');
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(tooSlow()), timeoutMs)));
  expiry.catch(() => undefined);
  // Whoever wins the race, the file is closed once the reading itself ends (a read stuck on a hung disk
  // included): the parser stops at its next read past the deadline.
  const reading = openRegularFile(file).then(({ handle, size }) =>
    parseHeader(handle, size, file, options, () => (Date.now() > deadline ? tooSlow() : undefined)).finally(() => handle.close().catch(() => undefined)),
  );
  reading.catch(() => undefined);
  try {
    return await Promise.race([reading, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

async function parseHeader(handle: fs.promises.FileHandle, size: number, file: string, options: GgufReadOptions, expired: () => GgufError | undefined): Promise<GgufInfo> {
  const r = new Reader(handle, size, options.chunkBytes ?? 1024 * 1024, options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES, file, expired);
  if (size < 4) throw new GgufError(`${file} is not a GGUF file (only ${size} bytes).`, 'not-gguf');
  const magic = await r.u32('the magic number');
  if (magic !== 0x46554747) throw new GgufError(`${file} is not a GGUF file (it does not start with "GGUF").`, 'not-gguf');
  const version = await r.u32('the version');
  if (version < 1 || version > 3) throw new GgufError(`${file} is GGUF version ${version}, which this reader does not know (1 to 3).`, 'unsupported');
  const wide = version >= 2; // version 1 used 32-bit counts and lengths
  const w = wide ? 8 : 4;
  const tensorCount = await r.count('the tensor count', wide);
  const kvCount = await r.count('the metadata count', wide);
  // The least each entry takes (a key length, an empty key, a type, one byte of value) and each tensor
  // info (a name length, an empty name, dimensions, type, offset): a count that cannot fit is refused now.
  r.fits(kvCount, w + 4 + 1, 'the metadata count');
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = await r.string(`metadata key ${i}`, wide);
    const type = await r.u32(`the type of ${key}`);
    if (type === T.STRING) metadata.set(key, await r.string(key, wide));
    else if (type === T.ARRAY) {
      const arrayType = await r.u32(`the element type of ${key}`);
      const length = await r.count(`the length of ${key}`, wide);
      if (arrayType === T.STRING) {
        r.fits(length, w, `the length of ${key}`);
        // The hot loop of a vocabulary: no await and no message text per string unless needed.
        for (let j = 0; j < length; j++) {
          if (!r.has(w)) await r.need(w, `${key}[${j}] length`);
          r.skip(r.countNow(key, wide), key);
        }
        metadata.set(key, { arrayType, length });
      } else if (scalarSize[arrayType] !== undefined) {
        if (length <= 64) {
          const values: GgufScalar[] = [];
          for (let j = 0; j < length; j++) values.push(await r.scalar(arrayType, `${key}[${j}]`));
          metadata.set(key, { arrayType, length, values });
        } else {
          r.skip(length * scalarSize[arrayType], key);
          metadata.set(key, { arrayType, length });
        }
      } else throw new GgufError(`${file}: ${key} is an array of unknown type ${arrayType}; the file looks corrupt.`, 'corrupt');
    } else if (scalarSize[type] !== undefined) metadata.set(key, await r.scalar(type, key));
    else throw new GgufError(`${file}: ${key} has unknown type ${type}; the file looks corrupt.`, 'corrupt');
  }
  r.fits(tensorCount, w + 4 + 4 + 8, 'the tensor count');
  let parameterCount = 0;
  const typeCounts = new Map<number, number>();
  // Each tensor info is loaded as a whole when it is not in memory yet, then read without an await.
  const dimBytes = wide ? 8 : 4;
  for (let i = 0; i < tensorCount; i++) {
    if (!r.has(w)) await r.need(w, `tensor ${i} name length`);
    const nameLen = r.countNow('a tensor name length', wide);
    if (nameLen > MAX_STRING) throw new GgufError(`${file}: tensor ${i} name claims ${nameLen} bytes; the file looks corrupt.`, 'corrupt');
    if (!r.has(nameLen + 4)) await r.need(nameLen + 4, `tensor ${i} name and dimensions`);
    const name = r.textNow(nameLen);
    const dims = r.u32Now();
    if (dims > 8) throw new GgufError(`${file}: tensor ${name} has ${dims} dimensions; the file looks corrupt.`, 'corrupt');
    if (!r.has(dims * dimBytes + 4)) await r.need(dims * dimBytes + 4, `the shape and type of ${name}`);
    let n = 1;
    for (let d = 0; d < dims; d++) n *= wide ? Number(r.u64Now()) : r.u32Now();
    const ttype = r.u32Now();
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
}

/** "2.7M", "7.2B" */
export function formatParameterCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
