// Checks model files against their recorded SHA-256 digests by streaming them through the hash
// with bounded memory, throttled progress and cancellation.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

const CHUNK_BYTES = 1024 * 1024;
/** Progress reaches a UI through messages; more than ten a second only costs. */
const PROGRESS_INTERVAL_MS = 100;

interface HashOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

interface HashResult {
  /** "sha256:<64 lowercase hex digits>" */
  readonly digest: string;
  readonly bytes: number;
}

export interface IntegrityResult {
  readonly status: 'match' | 'mismatch' | 'no-record';
  /** The recorded digest, normalised to "sha256:<hex>". */
  readonly expected?: string;
  readonly actual: string;
  readonly bytes: number;
  readonly ms: number;
}

/** The error a cancelled operation throws; callers tell it from failures by its name. */
export function cancelledError(what: string): Error {
  const e = new Error(`${what} was cancelled.`);
  e.name = 'AbortError';
  return e;
}

export function isCancelled(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

function readError(file: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new Error(`Cannot check ${file}: the file does not exist.`);
  if (code === 'EISDIR') return new Error(`Cannot check ${file}: it is a folder, not a file.`);
  if (code === 'EACCES' || code === 'EPERM') return new Error(`Cannot check ${file}: permission denied.`);
  return new Error(`Cannot read ${file}: ${(e as Error).message}`);
}

/** Streams a file through SHA-256. Memory stays at one chunk however large the file is. */
export async function sha256File(file: string, options: HashOptions = {}): Promise<HashResult> {
  const { signal, onProgress } = options;
  if (signal?.aborted) throw cancelledError(`Checking ${file}`);
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (e) {
    throw readError(file, e);
  }
  try {
    let total: number;
    try {
      const st = await handle.stat();
      if (st.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
      total = st.size;
    } catch (e) {
      throw readError(file, e);
    }
    const hash = createHash('sha256');
    // One buffer for the whole file: hash.update consumes the bytes before the next read refills it.
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let done = 0;
    let lastReport = -Infinity;
    for (;;) {
      if (signal?.aborted) throw cancelledError(`Checking ${file}`);
      let n: number;
      try {
        n = (await handle.read(buf, 0, CHUNK_BYTES, done)).bytesRead;
      } catch (e) {
        throw readError(file, e);
      }
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      done += n;
      if (onProgress) {
        const now = performance.now();
        if (now - lastReport >= PROGRESS_INTERVAL_MS) {
          lastReport = now;
          onProgress(done, Math.max(total, done));
        }
      }
    }
    // A final report even when the throttle swallowed the last chunk, so a progress bar ends full.
    onProgress?.(done, done);
    return { digest: `sha256:${hash.digest('hex')}`, bytes: done };
  } finally {
    await handle.close();
  }
}

/** "sha256:ABC…", "abc…" → "sha256:abc…"; undefined for an empty record; throws for anything else. */
export function normalizeDigest(digest: string): string | undefined {
  const d = digest.trim().toLowerCase();
  if (!d) return undefined;
  const hex = d.startsWith('sha256:') ? d.slice(7) : d;
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`The recorded digest "${digest}" is not a SHA-256 digest (sha256:<64 hex digits>).`);
  return `sha256:${hex}`;
}

/** Hashes the file and compares it with the recorded digest; without a record it still reports the digest. */
export async function verifyDigest(file: string, expected: string | undefined, options: HashOptions = {}): Promise<IntegrityResult> {
  // Checked before hashing: a bad record should fail at once, not after minutes of reading.
  const want = expected === undefined ? undefined : normalizeDigest(expected);
  const start = performance.now();
  const { digest, bytes } = await sha256File(file, options);
  const ms = Math.round(performance.now() - start);
  if (!want) return { status: 'no-record', actual: digest, bytes, ms };
  return { status: digest === want ? 'match' : 'mismatch', expected: want, actual: digest, bytes, ms };
}

/**
 * Ollama stores blobs as files named by their digest ("sha256-<hex>"; "sha256:<hex>" before it
 * supported Windows), so the expected digest of a blob is its own name.
 */
export function expectedDigestFromPath(file: string): string | undefined {
  const base = file.split(/[\\/]/).pop() ?? '';
  const m = /^sha256[-:]([0-9a-fA-F]{64})$/.exec(base);
  return m ? `sha256:${m[1].toLowerCase()}` : undefined;
}
