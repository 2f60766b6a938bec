// The registry's backup files: a .sqlite snapshot with a .json sidecar (when, why, schema, row
// counts), named so they sort by time, listed newest first, and pruned to a number to keep. The
// Registry writes the snapshot bytes and swaps a restored database in; the files are handled here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAtomic } from './fileStore';

export interface BackupInfo {
  readonly file: string;
  readonly createdAt: number;
  readonly reason: string;
  readonly schemaVersion: number;
  readonly counts: Record<string, number>;
  readonly encrypted: boolean;
}

/** Where a backup taken at `createdAt` for `reason` goes: the name sorts by time and carries no path characters. */
export function backupFile(dir: string, createdAt: number, reason: string): string {
  const stamp = new Date(createdAt).toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\..*/, '') + `-${String(createdAt % 1000).padStart(3, '0')}`;
  const safeReason = reason.replace(/[^a-z0-9-]+/gi, '-').slice(0, 40);
  return path.join(dir, `registry-${stamp}-${safeReason}.sqlite`);
}

/** Writes the snapshot and then its sidecar, each atomically, and drops the oldest beyond `keep`. */
export async function writeBackup(info: BackupInfo, bytes: Uint8Array, keep: number): Promise<void> {
  await writeAtomic(info.file, bytes);
  await writeAtomic(`${info.file}.json`, Buffer.from(JSON.stringify(info, null, 2)));
  await pruneBackups(path.dirname(info.file), keep);
}

async function pruneBackups(dir: string, keep: number): Promise<void> {
  for (const b of listBackupFiles(dir).slice(Math.max(1, keep))) {
    await fs.promises.rm(b.file, { force: true });
    await fs.promises.rm(`${b.file}.json`, { force: true });
  }
}

/** The backups in `dir`, newest first; none when the folder does not exist. */
export function listBackupFiles(dir: string): BackupInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: BackupInfo[] = [];
  for (const n of names) {
    if (!/^registry-.*\.sqlite$/.test(n)) continue;
    const file = path.join(dir, n);
    let meta: Partial<BackupInfo> = {};
    try {
      meta = JSON.parse(fs.readFileSync(`${file}.json`, 'utf8'));
    } catch {
      /* a backup without its sidecar still counts; its date comes from the file */
    }
    const createdAt = typeof meta.createdAt === 'number' ? meta.createdAt : fs.statSync(file).mtimeMs;
    out.push({
      file,
      createdAt,
      reason: typeof meta.reason === 'string' ? meta.reason : 'unknown',
      schemaVersion: typeof meta.schemaVersion === 'number' ? meta.schemaVersion : 0,
      counts: meta.counts && typeof meta.counts === 'object' ? (meta.counts as Record<string, number>) : {},
      encrypted: !!meta.encrypted,
    });
  }
  return out.sort((a, b) => b.createdAt - a.createdAt || b.file.localeCompare(a.file));
}
