// The registry on disk: atomic writes (temp file, fsync, rename, fsync folder), optional
// AES-256-GCM encryption, and recognising what a file holds before anything trusts it.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Header of an encrypted registry file: magic, format version 1. */
const MAGIC = Buffer.from('LLMSREG\x01', 'latin1');
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly kind: 'key' | 'version' | 'corrupt' | 'io' | 'import' | 'validation',
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

type FileKind = 'sqlite' | 'encrypted' | 'empty' | 'unknown';

export function fileKind(data: Uint8Array): FileKind {
  if (data.length === 0) return 'empty';
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length >= MAGIC.length && b.subarray(0, MAGIC.length).equals(MAGIC)) return 'encrypted';
  if (b.length >= SQLITE_MAGIC.length && b.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) return 'sqlite';
  return 'unknown';
}

export function encrypt(plain: Uint8Array, key: Buffer): Buffer {
  if (key.length !== 32) throw new RegistryError('The registry key must be 32 bytes (AES-256).', 'key');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]);
}

/** Returns the SQLite bytes of a file's content, decrypting when needed. Never writes anything. */
export function decode(data: Uint8Array, key: Buffer | undefined, where: string): Uint8Array {
  const kind = fileKind(data);
  if (kind === 'sqlite') return data;
  if (kind === 'empty') throw new RegistryError(`${where} is empty (0 bytes).`, 'corrupt');
  if (kind !== 'encrypted') throw new RegistryError(`${where} is not a registry database (unknown format).`, 'corrupt');
  if (!key) {
    throw new RegistryError(
      `${where} is encrypted, but no key is stored for it in this VS Code's secret storage. Restore the key (or turn encryption off and restore an unencrypted backup); the file was left untouched.`,
      'key',
    );
  }
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < MAGIC.length + IV_BYTES + TAG_BYTES) throw new RegistryError(`${where} is truncated (encrypted header incomplete).`, 'corrupt');
  const iv = b.subarray(MAGIC.length, MAGIC.length + IV_BYTES);
  const tag = b.subarray(MAGIC.length + IV_BYTES, MAGIC.length + IV_BYTES + TAG_BYTES);
  const body = b.subarray(MAGIC.length + IV_BYTES + TAG_BYTES);
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAuthTag(tag);
    return Buffer.concat([d.update(body), d.final()]);
  } catch {
    throw new RegistryError(
      `${where} could not be decrypted: the key is wrong, or the file was modified or truncated. The file was left untouched.`,
      'key',
    );
  }
}

export function ioMessage(e: unknown, file: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return `the disk is full (ENOSPC) writing ${file}. Free some space; the last saved registry file is intact and your changes are kept in memory until the next save.`;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied writing ${file}.`;
  if (code === 'EROFS') return `${file} is on a read-only file system.`;
  return `${(e as Error).message}`;
}

/**
 * Writes data so that a crash at any moment leaves either the old or the new file, never a torn
 * one: a temporary file in the same folder, flushed, then renamed over the target.
 */
export async function writeAtomic(file: string, data: Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  let handle: fs.promises.FileHandle | undefined;
  try {
    await fs.promises.mkdir(dir, { recursive: true });
    handle = await fs.promises.open(tmp, 'w', 0o600);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw new RegistryError(`Saving the registry failed: ${ioMessage(e, file)}`, 'io');
  }
  // Make the rename itself durable.
  try {
    const dh = await fs.promises.open(dir, 'r');
    await dh.sync().catch(() => undefined);
    await dh.close();
  } catch {
    /* some platforms cannot open a folder; the rename is still atomic */
  }
}

/** Removes temporary files left by a save that was killed. */
export async function removeStaleTemps(file: string): Promise<void> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[] = [];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => n.startsWith(`${base}.tmp-`)).map((n) => fs.promises.rm(path.join(dir, n), { force: true })));
}

export async function readIfExists(file: string): Promise<Uint8Array | undefined> {
  try {
    return await fs.promises.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RegistryError(`Reading the registry failed: ${(e as Error).message}`, 'io');
  }
}
