// The model registry's database handle: opens (decrypting, checking integrity, recovering from a
// corrupt file, migrating, replaying the journal), runs transactions, and persists them: each commit
// is appended to a journal (debounced, serialised, fsynced); the whole database is written as an
// atomic snapshot only when the journal has grown, on restore and after migrations.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Database, SqlJsStatic, SqlValue, Statement } from 'sql.js';
import { errorMessage, IDisposable, Logger, silentLogger } from '../lifecycle';
import { backupFile, BackupInfo, listBackupFiles, writeBackup } from './backups';
import { decode, encrypt, fileKind, ioMessage, readIfExists, RegistryError, removeStaleTemps, writeAtomic } from './fileStore';
import { encodeRecord, journalStart, JournalStatement, parseJournal, snapshotHeader } from './journal';
import { LATEST_VERSION, migrations } from './migrations';
import { loadSqlJs } from './sqljs';

type Params = readonly SqlValue[] | Record<string, SqlValue>;

export interface RegistryOptions {
  /** The database file (in the extension's global storage). */
  readonly file: string;
  /** Where backups go; default: a "backups" folder beside the file. */
  readonly backupsDir?: string;
  readonly wasmPath?: string;
  /** 32-byte AES-256-GCM key: reads encrypted files, and encrypts every file written unless encryptWrites is false. */
  readonly key?: Buffer;
  /** False: write plain files even with a key (turning encryption off: the key still reads what is there). */
  readonly encryptWrites?: boolean;
  /** Debounce of automatic saves after a transaction. */
  readonly persistDelayMs?: number;
  /** Journal size after which a save writes a full snapshot and starts a new journal. */
  readonly compactAfterBytes?: number;
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

export const COUNTED_TABLES = ['runtimes', 'models', 'model_versions', 'usage_events', 'usage_daily', 'benchmark_results', 'load_measurements', 'audit_log'] as const;

interface Checked {
  db: Database;
  version: number;
}

const SEQ_SQL = "UPDATE registry_meta SET value = ? WHERE key = 'journal_seq'";

export class Registry implements IDisposable {
  private db: Database;
  private readonly statements = new Map<string, Statement>();
  private persistTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;
  private closed = false;
  private inTransaction = false;
  /** Statements of the transaction being run, for its journal record. */
  private txStatements: JournalStatement[] | undefined;
  /** Sequence number of the last committed transaction. */
  private seq = 0;
  /** Encoded journal records committed but not yet on disk. */
  private pending: Buffer[] = [];
  /** Size of the journal on disk; undefined when it must be (re)started with a snapshot. */
  private journalSize: number | undefined;
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

  get journalFile(): string {
    return `${this.options.file}.journal`;
  }

  static async open(options: RegistryOptions): Promise<Registry> {
    const sql = await loadSqlJs(options.wasmPath);
    const log = options.log ?? silentLogger;
    const journalFile = `${options.file}.journal`;
    await removeStaleTemps(options.file);
    await removeStaleTemps(journalFile);
    const data = await readIfExists(options.file);
    const journalData = data ? await readIfExists(journalFile) : undefined;
    let checked: Checked | undefined;
    let recovery: RecoveryReport | undefined;
    let journal = journalData ? parseJournal(journalData, options.key, fileKind(data!) === 'encrypted') : undefined;
    let known = false;
    if (data) {
      // Key and version errors leave the file untouched and stop here: the data is fine, the caller is not.
      // Anything else unreadable (empty, unknown format, damaged) is 'corrupt' and recovered from a backup.
      try {
        const bytes = decode(data, options.key, options.file);
        // The journal's header names the exact snapshot it follows: when it matches, the bytes are the
        // ones this code wrote from a checked database, and the full integrity check can be skipped.
        const h = journal?.header;
        known = !!h && h.snapLen === data.length && h.snapCrc === snapshotHeader(data).snapCrc;
        // With a key, a plain snapshot is rewritten encrypted at the first save.
        if (writeKey(options) && fileKind(data) === 'sqlite') known = false;
        // Encryption turned off: an encrypted snapshot is rewritten plain at the first save.
        if (!writeKey(options) && fileKind(data) === 'encrypted') known = false;
        checked = Registry.check(sql, bytes, options.file, !known);
      } catch (e) {
        if (!(e instanceof RegistryError) || e.kind !== 'corrupt') throw e;
        recovery = await Registry.recover(sql, options, e.message, log);
        journal = undefined; // its records followed the damaged file, not the backup
        known = false;
        checked = recovery.restoredFrom ? Registry.check(sql, decode((await readIfExists(options.file))!, options.key, recovery.restoredFrom), recovery.restoredFrom, true) : undefined;
      }
    }
    const registry = new Registry(sql, checked?.db ?? new sql.Database(), options);
    registry.recovery = recovery;
    const from = checked?.version ?? 0;
    // Replayed statements must see the same cascades as when they first ran.
    registry.db.run('PRAGMA foreign_keys = ON');
    if (checked && from > 0) {
      registry.seq = registry.readSeq();
      if (journal) {
        const stamp = new Date((options.now ?? Date.now)()).toISOString().replace(/[:.]/g, '-');
        if (journal.invalid) {
          // Damage, not a torn append: the records from there on are cut off below, so keep the journal
          // as it was first. The registry opens with the records before the damage.
          const aside = `${journalFile}.invalid-${stamp}`;
          await fs.promises.copyFile(journalFile, aside);
          log.error(`The registry journal ${journalFile} is damaged (${journal.invalid}); the registry opened with the ${journal.txns.length} records before it. The journal as it was is kept in ${aside}.`);
        }
        const complete = registry.replay(journal.txns);
        if (!complete) {
          // Keep what could not be applied, then start over from the database as it now is: appending to
          // this journal would give later transactions the sequence numbers of the records left behind.
          const aside = `${journalFile}.unreplayed-${stamp}`;
          await fs.promises.copyFile(journalFile, aside);
          log.error(`Journal records the registry could not apply were kept in ${aside}.`);
        }
        // A journal that follows another snapshot (a crash between writing a snapshot and its journal)
        // is replaced below together with a new snapshot.
        if (!known || !complete) registry.journalSize = undefined;
        else if (!journal.torn) registry.journalSize = journalData!.length;
        else {
          // A save killed mid-append left a partial record, or damage was kept aside above: cut it off before appending again.
          await fs.promises.truncate(journalFile, journal.validLength);
          registry.journalSize = journal.validLength;
        }
      }
    }
    if (from < LATEST_VERSION) {
      if (checked && from > 0) await registry.backupNow(`before-migration-v${from}-to-v${LATEST_VERSION}`);
      registry.migrate(from);
      registry.migrated = [from, LATEST_VERSION];
      registry.seq = registry.readSeq();
      registry.journalSize = undefined; // migrations are not journaled: snapshot
      registry.pending = [];
    }
    registry.db.run('PRAGMA foreign_keys = ON');
    // No journal that follows the current snapshot yet (new, migrated, recovered, or a crash between a
    // snapshot and its journal): write both now.
    if (registry.journalSize === undefined) await registry.persistNow();
    return registry;
  }

  private readSeq(): number {
    try {
      return Number(this.db.exec("SELECT value FROM registry_meta WHERE key = 'journal_seq'")[0]?.values[0]?.[0] ?? 0);
    } catch {
      return 0;
    }
  }

  /**
   * Re-applies journaled transactions the snapshot does not hold yet, in order and without gaps.
   * Returns false when it had to stop before the end (a record that fails, or a gap in the sequence).
   */
  private replay(txns: readonly { seq: number; s: JournalStatement[] }[]): boolean {
    for (const t of txns) {
      if (t.seq <= this.seq) continue;
      if (t.seq !== this.seq + 1) {
        // Records that do not follow this snapshot (a journal of another state of the file): applying them would build a state that never existed.
        this.log.error(`The journal skips from transaction ${this.seq} to ${t.seq}; the registry stays at transaction ${this.seq}.`);
        return false;
      }
      this.db.run('BEGIN');
      try {
        for (const [sqlText, params] of t.s) this.db.run(sqlText, params);
        this.db.run('COMMIT');
      } catch (e) {
        this.db.run('ROLLBACK');
        this.log.error(`Replaying journaled transaction ${t.seq} failed (${errorMessage(e)}); the registry stays at transaction ${this.seq}.`);
        return false;
      }
      this.seq = t.seq;
    }
    return true;
  }

  /** Opens bytes as a database and checks them; throws RegistryError 'corrupt' or 'version'. */
  private static check(sql: SqlJsStatic, bytes: Uint8Array, where: string, integrity = true): Checked {
    let db: Database;
    try {
      db = new sql.Database(bytes);
    } catch (e) {
      throw new RegistryError(`${where} cannot be opened as SQLite: ${errorMessage(e)}`, 'corrupt');
    }
    try {
      if (integrity) {
        const res = db.exec('PRAGMA integrity_check');
        const verdict = res[0]?.values.map((v) => String(v[0])) ?? ['no answer'];
        if (verdict.length !== 1 || verdict[0] !== 'ok') throw new RegistryError(`${where} failed the integrity check: ${verdict.slice(0, 3).join('; ')}`, 'corrupt');
      }
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
    await fs.promises.rename(`${options.file}.journal`, `${movedTo}.journal`).catch(() => undefined);
    log.error(`The registry file was unreadable (${reason}); moved it to ${movedTo}.`);
    const backupsDir = options.backupsDir ?? path.join(path.dirname(options.file), 'backups');
    for (const b of listBackupFiles(backupsDir)) {
      try {
        const bytes = decode(await fs.promises.readFile(b.file), options.key, b.file);
        Registry.check(sql, bytes, b.file, true).db.close();
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

  /** Grows with every committed write transaction: equal values mean nothing was written in between. */
  get writeCount(): number {
    return this.seq;
  }

  get schemaVersion(): number {
    return Number(this.db.exec('PRAGMA user_version')[0]?.values[0]?.[0] ?? 0);
  }

  get file(): string {
    return this.options.file;
  }

  get encrypted(): boolean {
    return !!writeKey(this.options);
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

  /** Runs a statement in the current transaction (or its own); returns how many rows it changed. */
  run(sqlText: string, params: Params = []): number {
    this.assertOpen();
    if (!this.inTransaction) return this.transaction(() => this.run(sqlText, params));
    if (!Array.isArray(params)) throw new RegistryError('Named parameters are not supported in writes (the journal keeps positional ones).', 'validation');
    this.txStatements!.push([sqlText, [...(params as SqlValue[])]]);
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
    this.txStatements = [];
    try {
      const result = fn();
      if (this.txStatements.length) {
        // The sequence number is part of the transaction, so the database always says which journal records it holds.
        this.run(SEQ_SQL, [this.seq + 1]);
        this.db.run('COMMIT');
        this.seq++;
        this.pending.push(encodeRecord({ t: 'x', seq: this.seq, s: this.txStatements }, writeKey(this.options)));
        this.schedulePersist();
      } else {
        this.db.run('COMMIT');
      }
      this.inTransaction = false;
      this.txStatements = undefined;
      return result;
    } catch (e) {
      this.inTransaction = false;
      this.txStatements = undefined;
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
    const key = writeKey(this.options);
    return key ? encrypt(bytes, key) : bytes;
  }

  /**
   * Saves now: appends the pending journal records (fsynced), or writes a full snapshot and a new
   * journal when there is none yet or it has grown past the threshold. Saves never interleave.
   */
  persistNow(): Promise<void> {
    clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    const run = async () => {
      if (this.closed) return;
      this.dirty = false;
      try {
        if (this.journalSize === undefined || this.journalSize > (this.options.compactAfterBytes ?? 16 * 1024 * 1024)) await this.compactNow();
        else if (this.pending.length) await this.appendPending();
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

  private async appendPending(): Promise<void> {
    // Counted now: transactions committed while this append is in flight join this.pending and wait for the next save.
    const count = this.pending.length;
    const data = count === 1 ? this.pending[0] : Buffer.concat(this.pending.slice(0, count));
    const before = this.journalSize!;
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(this.journalFile, 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        // The journal was removed behind our back: write everything as a new snapshot and journal.
        this.journalSize = undefined;
        return this.compactNow();
      }
      throw new RegistryError(`Saving the registry failed: ${ioMessage(e, this.journalFile)}`, 'io');
    }
    try {
      // write() may write less than asked (a disk filling up) without an error: go on until all of it is
      // written or a write fails.
      for (let off = 0; off < data.length; ) {
        const { bytesWritten } = await handle.write(data, off, data.length - off, before + off);
        if (bytesWritten <= 0) throw Object.assign(new Error('no progress appending to the journal'), { code: 'ENOSPC' });
        off += bytesWritten;
      }
      await handle.datasync();
    } catch (e) {
      // Cut a partial append off again; if even that fails, the next save writes a full snapshot.
      try {
        await handle.truncate(before);
      } catch {
        this.journalSize = undefined;
      }
      throw new RegistryError(`Saving the registry failed: ${ioMessage(e, this.journalFile)}`, 'io');
    } finally {
      await handle.close().catch(() => undefined);
    }
    this.journalSize = before + data.length;
    this.pending = this.pending.slice(count);
  }

  /** Writes the whole database atomically, then a journal that starts from it. */
  private async compactNow(): Promise<void> {
    const count = this.pending.length;
    const bytes = this.snapshot();
    await writeAtomic(this.options.file, bytes);
    // A crash here leaves the previous journal, whose header no longer matches: open() then runs the
    // full integrity check, and skips records the snapshot already holds (by sequence number).
    const start = journalStart(snapshotHeader(bytes), writeKey(this.options));
    await writeAtomic(this.journalFile, start);
    this.journalSize = start.length;
    this.pending = this.pending.slice(count);
  }

  /** Writes a full snapshot now (after bulk changes, or to shorten the next open's replay). */
  compact(): Promise<void> {
    this.journalSize = undefined;
    return this.persistNow();
  }

  /**
   * Rebuilds the database without its free pages (after retention removed many rows: sql.js holds
   * the whole file in memory, so free pages cost memory at every open), then writes it whole.
   */
  async vacuum(): Promise<void> {
    await this.flush();
    this.db.run('VACUUM');
    await this.compact();
  }

  /** Resolves once everything committed so far is on disk. */
  async flush(): Promise<void> {
    if (!this.dirty && !this.persistTimer && !this.pending.length) {
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
    const info: BackupInfo = { file: backupFile(this.backupsDir, createdAt, reason), createdAt, reason, schemaVersion: this.schemaVersion, counts: this.counts(), encrypted: this.encrypted };
    await writeBackup(info, this.snapshot(), this.options.keepBackups ?? 10);
    return info;
  }

  listBackups(): BackupInfo[] {
    return listBackupFiles(this.backupsDir);
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
    this.seq = this.readSeq();
    this.pending = [];
    await this.compact();
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

function writeKey(o: RegistryOptions): Buffer | undefined {
  return o.encryptWrites === false ? undefined : o.key;
}
