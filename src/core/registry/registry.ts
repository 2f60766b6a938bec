// The model registry's database handle: opens (decrypting, checking integrity, recovering from a
// corrupt file, migrating), runs transactions, and persists them debounced, serialised and atomic.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Database, SqlJsStatic, SqlValue, Statement } from 'sql.js';
import { errorMessage, IDisposable, Logger, silentLogger } from '../lifecycle';
import { decode, encrypt, readIfExists, RegistryError, removeStaleTemps, writeAtomic } from './fileStore';
import { LATEST_VERSION, migrations } from './migrations';
import { loadSqlJs } from './sqljs';

export type Params = readonly SqlValue[] | Record<string, SqlValue>;

export interface RegistryOptions {
  /** The database file (in the extension's global storage). */
  readonly file: string;
  /** Where backups go; default: a "backups" folder beside the file. */
  readonly backupsDir?: string;
  readonly wasmPath?: string;
  /** 32-byte AES-256-GCM key; when set, every file written is encrypted. */
  readonly key?: Buffer;
  /** Debounce of automatic saves after a transaction. */
  readonly persistDelayMs?: number;
  /** How many backups to keep. */
  readonly keepBackups?: number;
  readonly log?: Logger;
  readonly now?: () => number;
}

export interface RecoveryReport {
  /** Where the unreadable file was moved. */
  readonly movedTo: string;
  readonly reason: string;
  /** The backup restored in its place, or undefined when none was usable (a new registry was started). */
  readonly restoredFrom?: string;
}

export interface BackupInfo {
  readonly file: string;
  readonly createdAt: number;
  readonly reason: string;
  readonly schemaVersion: number;
  readonly counts: Record<string, number>;
  readonly encrypted: boolean;
}

export const COUNTED_TABLES = ['runtimes', 'models', 'model_versions', 'usage_events', 'benchmark_results', 'audit_log'] as const;

interface Checked {
  db: Database;
  version: number;
}

export class Registry implements IDisposable {
  private db: Database;
  private readonly statements = new Map<string, Statement>();
  private persistTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;
  private closed = false;
  private inTransaction = false;
  private readonly log: Logger;
  private readonly now: () => number;
  readonly backupsDir: string;
  /** Set when open() had to recover from an unreadable file. */
  recovery: RecoveryReport | undefined;
  /** Set when open() ran migrations: [from, to]. */
  migrated: [number, number] | undefined;
  /** The error of the last automatic save, cleared by the next successful one. */
  lastSaveError: RegistryError | undefined;

  private constructor(
    private readonly sql: SqlJsStatic,
    db: Database,
    private readonly options: RegistryOptions,
  ) {
    this.db = db;
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.backupsDir = options.backupsDir ?? path.join(path.dirname(options.file), 'backups');
  }

  static async open(options: RegistryOptions): Promise<Registry> {
    const sql = await loadSqlJs(options.wasmPath);
    const log = options.log ?? silentLogger;
    await removeStaleTemps(options.file);
    const data = await readIfExists(options.file);
    let checked: Checked | undefined;
    let recovery: RecoveryReport | undefined;
    if (data) {
      // Key and version errors leave the file untouched and stop here: the data is fine, the caller is not.
      // Anything else unreadable (empty, unknown format, damaged) is 'corrupt' and recovered from a backup.
      try {
        checked = Registry.check(sql, decode(data, options.key, options.file), options.file);
      } catch (e) {
        if (!(e instanceof RegistryError) || e.kind !== 'corrupt') throw e;
        recovery = await Registry.recover(sql, options, e.message, log);
        checked = recovery.restoredFrom ? Registry.check(sql, decode((await readIfExists(options.file))!, options.key, recovery.restoredFrom), recovery.restoredFrom) : undefined;
      }
    }
    const registry = new Registry(sql, checked?.db ?? new sql.Database(), options);
    registry.recovery = recovery;
    const from = checked?.version ?? 0;
    if (from < LATEST_VERSION) {
      if (checked && from > 0) await registry.backupNow(`before-migration-v${from}-to-v${LATEST_VERSION}`);
      registry.migrate(from);
      registry.migrated = [from, LATEST_VERSION];
      await registry.persistNow();
    }
    registry.db.run('PRAGMA foreign_keys = ON');
    return registry;
  }

  /** Opens bytes as a database and checks them; throws RegistryError 'corrupt' or 'version'. */
  private static check(sql: SqlJsStatic, bytes: Uint8Array, where: string): Checked {
    let db: Database;
    try {
      db = new sql.Database(bytes);
    } catch (e) {
      throw new RegistryError(`${where} cannot be opened as SQLite: ${errorMessage(e)}`, 'corrupt');
    }
    try {
      const res = db.exec('PRAGMA integrity_check');
      const verdict = res[0]?.values.map((v) => String(v[0])) ?? ['no answer'];
      if (verdict.length !== 1 || verdict[0] !== 'ok') throw new RegistryError(`${where} failed the integrity check: ${verdict.slice(0, 3).join('; ')}`, 'corrupt');
      const version = Number(db.exec('PRAGMA user_version')[0]?.values[0]?.[0] ?? 0);
      if (version > LATEST_VERSION) {
        throw new RegistryError(
          `${where} was written by a newer version of LLM Local Stack (schema ${version}; this version knows up to ${LATEST_VERSION}). Update the extension. The file was left untouched.`,
          'version',
        );
      }
      const tables = new Set((db.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")[0]?.values ?? []).map((v) => String(v[0])));
      // Schema 0 is an empty database (a registry is only ever written migrated); tables there belong to something else.
      if (version === 0 ? tables.size > 0 : !(tables.has('models') && tables.has('runtimes'))) {
        throw new RegistryError(`${where} is a SQLite file but not a model registry.`, 'corrupt');
      }
      return { db, version };
    } catch (e) {
      db.close();
      if (e instanceof RegistryError) throw e;
      throw new RegistryError(`${where} is damaged: ${errorMessage(e)}`, 'corrupt');
    }
  }

  /** Moves a corrupt file aside (never deleting it) and puts the newest good backup in its place. */
  private static async recover(sql: SqlJsStatic, options: RegistryOptions, reason: string, log: Logger): Promise<RecoveryReport> {
    const stamp = new Date((options.now ?? Date.now)()).toISOString().replace(/[:.]/g, '-');
    const movedTo = `${options.file}.corrupt-${stamp}`;
    await fs.promises.rename(options.file, movedTo);
    log.error(`The registry file was unreadable (${reason}); moved it to ${movedTo}.`);
    const backupsDir = options.backupsDir ?? path.join(path.dirname(options.file), 'backups');
    for (const b of listBackupFiles(backupsDir)) {
      try {
        const bytes = decode(await fs.promises.readFile(b.file), options.key, b.file);
        Registry.check(sql, bytes, b.file).db.close();
        await fs.promises.copyFile(b.file, `${options.file}.restore-tmp`);
        await fs.promises.rename(`${options.file}.restore-tmp`, options.file);
        log.warn(`Restored the registry from backup ${b.file}.`);
        return { movedTo, reason, restoredFrom: b.file };
      } catch (e) {
        log.warn(`Backup ${b.file} is not usable either: ${errorMessage(e)}`);
      }
    }
    return { movedTo, reason };
  }

  private migrate(from: number): void {
    for (const m of migrations) {
      if (m.version <= from) continue;
      this.db.run('BEGIN');
      try {
        this.db.run(m.sql);
        this.db.run(`PRAGMA user_version = ${m.version}`);
        this.db.run('COMMIT');
      } catch (e) {
        this.db.run('ROLLBACK');
        throw new RegistryError(`Migration to schema ${m.version} (${m.description}) failed: ${errorMessage(e)}. The file was not changed.`, 'io');
      }
      this.log.info(`Registry migrated to schema ${m.version}: ${m.description}`);
    }
  }

  get schemaVersion(): number {
    return Number(this.db.exec('PRAGMA user_version')[0]?.values[0]?.[0] ?? 0);
  }

  get file(): string {
    return this.options.file;
  }

  get encrypted(): boolean {
    return !!this.options.key;
  }

  private statement(sqlText: string): Statement {
    let s = this.statements.get(sqlText);
    if (!s) {
      s = this.db.prepare(sqlText);
      this.statements.set(sqlText, s);
    }
    return s;
  }

  private assertOpen(): void {
    if (this.closed) throw new RegistryError('The registry is closed.', 'io');
  }

  /** Rows as objects. User input only ever arrives as bound parameters. */
  all<T = Record<string, SqlValue>>(sqlText: string, params: Params = []): T[] {
    this.assertOpen();
    const s = this.statement(sqlText);
    try {
      s.bind(params as SqlValue[]);
      const rows: T[] = [];
      // What getAsObject() gives, but with the column names read once per query instead of once per
      // row (that was two thirds of a 200-row page). '__proto__' keeps getAsObject's own-property semantics.
      let names: string[] | undefined;
      let plain = true;
      while (s.step()) {
        if (!names) {
          names = s.getColumnNames();
          plain = !names.includes('__proto__');
        }
        if (!plain) {
          rows.push(s.getAsObject() as T);
          continue;
        }
        const values = s.get();
        const row: Record<string, SqlValue> = {};
        for (let i = 0; i < names.length; i++) row[names[i]] = values[i];
        rows.push(row as T);
      }
      return rows;
    } finally {
      s.reset();
    }
  }

  get<T = Record<string, SqlValue>>(sqlText: string, params: Params = []): T | undefined {
    return this.all<T>(sqlText, params)[0];
  }

  /** Runs a statement; returns how many rows it changed. */
  run(sqlText: string, params: Params = []): number {
    this.assertOpen();
    const s = this.statement(sqlText);
    try {
      s.run(params as SqlValue[]);
    } finally {
      s.reset();
    }
    return this.db.getRowsModified();
  }

  /** Runs an INSERT and returns the new row's id. */
  insert(sqlText: string, params: Params = []): number {
    this.run(sqlText, params);
    return Number(this.get<{ id: number }>('SELECT last_insert_rowid() AS id')!.id);
  }

  /** Runs fn in a transaction: all of it or none of it; schedules a save after a commit. */
  transaction<T>(fn: () => T): T {
    this.assertOpen();
    if (this.inTransaction) return fn();
    this.db.run('BEGIN IMMEDIATE');
    this.inTransaction = true;
    try {
      const result = fn();
      this.db.run('COMMIT');
      this.inTransaction = false;
      this.schedulePersist();
      return result;
    } catch (e) {
      this.inTransaction = false;
      try {
        this.db.run('ROLLBACK');
      } catch {
        /* already rolled back by SQLite */
      }
      throw e;
    }
  }

  private schedulePersist(): void {
    this.dirty = true;
    if (this.persistTimer) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      this.persistNow().catch((e) => {
        this.lastSaveError = e instanceof RegistryError ? e : new RegistryError(errorMessage(e), 'io');
        this.log.error(this.lastSaveError.message);
      });
    }, this.options.persistDelayMs ?? 500);
  }

  /** The database as bytes as they go to disk (encrypted when a key is set). */
  private snapshot(): Uint8Array {
    // export() frees every prepared statement and resets pragmas: drop our cache and set them again.
    const bytes = this.db.export();
    this.statements.clear();
    this.db.run('PRAGMA foreign_keys = ON');
    return this.options.key ? encrypt(bytes, this.options.key) : bytes;
  }

  /** Saves now. Saves never interleave: each waits for the one before. */
  persistNow(): Promise<void> {
    clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    const run = async () => {
      if (this.closed) return;
      this.dirty = false;
      const bytes = this.snapshot();
      try {
        await writeAtomic(this.options.file, bytes);
        this.lastSaveError = undefined;
      } catch (e) {
        this.dirty = true;
        throw e;
      }
    };
    const next = this.saving.then(run, run);
    this.saving = next.catch(() => undefined);
    return next;
  }

  /** Resolves once everything committed so far is on disk. */
  async flush(): Promise<void> {
    if (!this.dirty && !this.persistTimer) {
      await this.saving;
      // A save that was in flight may have failed and left the changes unsaved: retry, and report its error.
      if (!this.dirty) return;
    }
    await this.persistNow();
  }

  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    // Before a migration (the backup taken first) some tables do not exist yet.
    const present = new Set((this.db.exec("SELECT name FROM sqlite_master WHERE type = 'table'")[0]?.values ?? []).map((v) => String(v[0])));
    for (const t of COUNTED_TABLES) if (present.has(t)) out[t] = Number(this.db.exec(`SELECT count(*) FROM ${t}`)[0].values[0][0]);
    return out;
  }

  async backupNow(reason = 'manual'): Promise<BackupInfo> {
    this.assertOpen();
    const createdAt = this.now();
    const stamp = new Date(createdAt).toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\..*/, '') + `-${String(createdAt % 1000).padStart(3, '0')}`;
    const safeReason = reason.replace(/[^a-z0-9-]+/gi, '-').slice(0, 40);
    const file = path.join(this.backupsDir, `registry-${stamp}-${safeReason}.sqlite`);
    const info: BackupInfo = { file, createdAt, reason, schemaVersion: this.schemaVersion, counts: this.counts(), encrypted: this.encrypted };
    await writeAtomic(file, this.snapshot());
    await writeAtomic(`${file}.json`, Buffer.from(JSON.stringify(info, null, 2)));
    await this.pruneBackups();
    return info;
  }

  listBackups(): BackupInfo[] {
    return listBackupFiles(this.backupsDir);
  }

  private async pruneBackups(): Promise<void> {
    const keep = Math.max(1, this.options.keepBackups ?? 10);
    for (const b of this.listBackups().slice(keep)) {
      await fs.promises.rm(b.file, { force: true });
      await fs.promises.rm(`${b.file}.json`, { force: true });
    }
  }

  /** Replaces the registry with a backup; the current state is backed up first. */
  async restore(backupFile: string): Promise<void> {
    this.assertOpen();
    const bytes = decode(await fs.promises.readFile(backupFile), this.options.key, backupFile);
    const checked = Registry.check(this.sql, bytes, backupFile);
    await this.backupNow('before-restore');
    for (const s of this.statements.values()) s.free();
    this.statements.clear();
    this.db.close();
    this.db = checked.db;
    if (checked.version < LATEST_VERSION) this.migrate(checked.version);
    this.db.run('PRAGMA foreign_keys = ON');
    await this.persistNow();
  }

  /** Saves what is pending and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      for (const s of this.statements.values()) s.free();
      this.statements.clear();
      this.db.close();
    }
  }

  dispose(): void {
    void this.close().catch((e) => this.log.error(`Saving the registry on close failed: ${errorMessage(e)}`));
  }

  /** For tests and benchmarks: the raw sql.js handle. */
  get raw(): Database {
    return this.db;
  }
}

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
