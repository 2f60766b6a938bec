// One service per user: a lock file holding the owner's pid, taken atomically (link(2) of a
// complete temporary file, so a reader never sees a half-written pid). A lock whose owner is gone
// (kill -9) is taken over; when two starters race for a stale lock, exactly one wins.
import * as fs from 'node:fs';

export class ServiceRunning extends Error {
  override readonly name = 'ServiceRunning';
  constructor(
    readonly pid: number,
    lockFile: string,
  ) {
    super(`Another llmstack service is running (pid ${pid}, lock ${lockFile}). Stop it with \`llmstack service stop\`, or use it: every client connects to the running one.`);
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in the lock file, or undefined when there is none or it cannot be read. */
function lockOwner(lockFile: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock for this process, or throws ServiceRunning. Returns the release function. */
export function acquireLock(lockFile: string, pid = process.pid): () => void {
  const temp = `${lockFile}.${pid}.tmp`;
  fs.writeFileSync(temp, `${pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.linkSync(temp, lockFile);
        return () => {
          if (lockOwner(lockFile) === pid) fs.rmSync(lockFile, { force: true });
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = lockOwner(lockFile);
      if (owner !== undefined && owner !== pid && alive(owner)) throw new ServiceRunning(owner, lockFile);
      // Stale (or unreadable): move it aside under a name only this process uses, then try again.
      // A racer that moved it first makes our rename fail with ENOENT; the next link decides.
      const aside = `${lockFile}.stale.${pid}`;
      try {
        fs.renameSync(lockFile, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        continue;
      }
      // A racer may have taken the lock between our read and our rename: what we moved is then its
      // live lock, which goes back in place, and it is the owner.
      const moved = lockOwner(aside);
      if (moved !== undefined && moved !== owner && moved !== pid && alive(moved)) {
        try {
          fs.linkSync(aside, lockFile);
        } finally {
          fs.rmSync(aside, { force: true });
        }
        throw new ServiceRunning(moved, lockFile);
      }
      fs.rmSync(aside, { force: true });
    }
    throw new Error(`Could not take the service lock ${lockFile} after 5 tries.`);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}
