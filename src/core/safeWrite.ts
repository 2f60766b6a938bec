// Writes a file inside a named folder without ever following a symbolic link or leaving the folder:
// the one way exports and other generated files reach the disk (a workspace may be untrusted).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A write refused for safety, or failed; the message says what to do. */
export class SafeWriteError extends Error {
  override readonly name = 'SafeWriteError';
}

interface SafeTarget {
  /** The real folder (symbolic links in the folder's own path resolved). */
  readonly folder: string;
  /** The real path the file would have: what a confirmation names. */
  readonly path: string;
  /** A regular file is there now (writing replaces it). */
  readonly exists: boolean;
}

interface SafeWriteOptions {
  /** Replace an existing regular file (default false: an existing file is an error). */
  readonly overwrite?: boolean;
  /** Permission bits of the new file, before the umask (default 0o666; 0o600 for secrets). */
  readonly mode?: number;
}

const errorCode = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;

/**
 * Where `name` (a relative path) lands inside `folder`, refusing a name that leaves the folder, a
 * symbolic link at the target or at any folder between (checked with lstat, so the link itself is
 * seen, not what it points to), and a target that is not a regular file. The folder's own path may
 * go through links: it is resolved to its real path first, and that real path is what is shown.
 */
export async function safeTarget(folder: string, name: string): Promise<SafeTarget> {
  if (!name || path.isAbsolute(name)) throw new SafeWriteError(`"${name}" is not a file name inside ${folder}: give a relative name.`);
  let real: string;
  try {
    real = await fs.promises.realpath(folder);
  } catch (e) {
    throw new SafeWriteError(`The folder ${folder} cannot be used (${errorCode(e) ?? String(e)}): check that it exists.`);
  }
  const target = path.resolve(real, name);
  const rel = path.relative(real, target);
  if (!rel || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new SafeWriteError(`"${name}" points outside the folder ${real}: exports are written only inside the stack file's folder.`);
  }
  // Every folder between, then the target itself.
  const parts = rel.split(path.sep);
  let at = real;
  for (let i = 0; i < parts.length; i++) {
    at = path.join(at, parts[i]);
    const last = i === parts.length - 1;
    let st: fs.Stats;
    try {
      st = await fs.promises.lstat(at);
    } catch (e) {
      if (errorCode(e) !== 'ENOENT') throw new SafeWriteError(`Cannot check ${at} (${errorCode(e) ?? String(e)}).`);
      if (!last) throw new SafeWriteError(`The folder ${at} does not exist: create it, or write somewhere else.`);
      return { folder: real, path: target, exists: false };
    }
    if (st.isSymbolicLink()) {
      let to = '';
      try {
        to = ` (to ${await fs.promises.readlink(at)})`;
      } catch {
        /* gone meanwhile: the message still names the link */
      }
      throw new SafeWriteError(
        `${at} is a symbolic link${to}. LLM Stack does not write through links, which could replace a file outside this folder: delete the link (or move it away) and try again.`,
      );
    }
    if (!last && !st.isDirectory()) throw new SafeWriteError(`${at} is not a folder: it cannot hold ${name}.`);
    if (last && !st.isFile()) throw new SafeWriteError(`${at} exists and is not a regular file: remove it or write somewhere else.`);
  }
  return { folder: real, path: target, exists: true };
}

/**
 * Writes `data` to `name` inside `folder` (see safeTarget for what is refused): into a new temporary
 * file in the same folder (created exclusively, never through a link), then renamed over the target.
 * A rename replaces the directory entry, so even a link planted after the check is replaced, not
 * followed; readers see the old file or the new one, never half of one. Returns the real path written.
 */
export async function writeFileSafely(folder: string, name: string, data: string | Uint8Array, o: SafeWriteOptions = {}): Promise<string> {
  const t = await safeTarget(folder, name);
  if (t.exists && !o.overwrite) throw new SafeWriteError(`${t.path} already exists: confirm replacing it, or write somewhere else.`);
  const temp = path.join(path.dirname(t.path), `.${path.basename(t.path)}.${randomBytes(6).toString('hex')}.tmp`);
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0);
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(temp, flags, o.mode ?? 0o666);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    // Checked again right before the rename: a link or folder may have appeared since safeTarget.
    const again = await safeTarget(folder, name);
    if (again.path !== t.path) throw new SafeWriteError(`The folder ${folder} moved while writing ${name}: try again.`);
    if (again.exists && !o.overwrite) throw new SafeWriteError(`${t.path} appeared while it was being written: confirm replacing it, or write somewhere else.`);
    await fs.promises.rename(temp, t.path);
    return t.path;
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.promises.rm(temp, { force: true }).catch(() => undefined);
    if (e instanceof SafeWriteError) throw e;
    throw new SafeWriteError(`Writing ${t.path} failed (${errorCode(e) ?? String(e)}): check the folder's permissions and free space.`);
  }
}
