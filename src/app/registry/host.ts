// Owns the one registry handle of a process (the editor, later the service): opened lazily on first
// use, with the encryption key from a key store, retention applied on open, and scheduled backups.
// What it needs from its front end (the file, the settings, where the key is kept, a logger, what to
// say about a recovered file) comes in as plain functions, so it runs in plain Node too.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage, Logger } from '../../core/lifecycle';
import { fileKind, readIfExists, RegistryError } from '../../core/registry/fileStore';
import { Registry, RecoveryReport } from '../../core/registry/registry';
import { RegistryRepositories } from '../../core/registry/repositories';

/** Rows removed by one retention pass past which the file is rebuilt without its free pages. */
const VACUUM_AFTER_ROWS = 10_000;

/** The secret store's name for the registry key. */
export const KEY_SECRET = 'llmStack.registry.key';

export interface RegistrySettings {
  readonly encrypt: boolean;
  readonly keepBackups: number;
  /** 0: no scheduled backups. */
  readonly backupIntervalHours: number;
  /** Usage events and audit entries older than this are deleted. */
  readonly usageDays: number;
}

/** Where the encryption key lives (SecretStorage in the editor); values are base64. */
export interface KeyStore {
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
  delete(name: string): Promise<void>;
}

interface RegistryHostOptions {
  /** The database file. */
  readonly file: string;
  readonly wasmPath?: string;
  /** Read at each open and each maintenance run; out-of-range values are clamped. */
  readonly settings: () => RegistrySettings;
  readonly keys: KeyStore;
  readonly log: Logger;
  /** Told when an open had to move a damaged file aside (the front end tells the user). */
  readonly onRecovery?: (r: RecoveryReport) => void;
  /** Told each time the file is opened (first use, a reopen after settings or a restore). */
  readonly onOpen?: () => void;
  /** How often maintenance (retention, scheduled backup) runs; 0: never by itself. Default hourly. */
  readonly maintenanceEveryMs?: number;
}

interface OpenRegistry {
  readonly registry: Registry;
  readonly repos: RegistryRepositories;
}

/** The settings with their bounds applied. */
export function clampSettings(s: RegistrySettings): RegistrySettings {
  return {
    encrypt: s.encrypt,
    keepBackups: Math.max(1, s.keepBackups),
    backupIntervalHours: Math.max(0, s.backupIntervalHours),
    usageDays: Math.max(1, s.usageDays),
  };
}

/** A backup is due when there is none yet or the newest is at least `intervalHours` old; never when the interval is 0. */
export function backupDue(newestAt: number | undefined, intervalHours: number, now: number): boolean {
  if (!intervalHours) return false;
  return newestAt === undefined || now - newestAt >= intervalHours * 3_600_000;
}

export class RegistryHost {
  private opening: Promise<OpenRegistry> | undefined;
  private current: OpenRegistry | undefined;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RegistryHostOptions) {
    const every = options.maintenanceEveryMs ?? 3_600_000;
    // Cheap: it opens nothing unless a registry file exists and a backup is due.
    if (every > 0) {
      this.timer = setInterval(() => void this.maintenance(), every);
      this.timer.unref?.();
    }
  }

  get file(): string {
    return this.options.file;
  }

  get isOpen(): boolean {
    return !!this.current;
  }

  private settings(): RegistrySettings {
    return clampSettings(this.options.settings());
  }

  /** The registry, opened on first call. Errors are thrown with a message fit for the user. */
  get(): Promise<OpenRegistry> {
    if (this.current) return Promise.resolve(this.current);
    this.opening ??= this.open().then(
      (r) => (this.current = r),
      (e) => {
        this.opening = undefined;
        throw e;
      },
    );
    return this.opening;
  }

  /** The key that reads the registry (kept while encryption is off, so an encrypted file still opens). */
  private async key(encrypt: boolean): Promise<Buffer | undefined> {
    const stored = await this.options.keys.get(KEY_SECRET);
    if (stored) return Buffer.from(stored, 'base64');
    const data = await readIfExists(this.file);
    if (data && fileKind(data) === 'encrypted') return undefined; // Registry.open explains the missing key
    if (!encrypt) return undefined;
    const key = randomBytes(32);
    await this.options.keys.set(KEY_SECRET, key.toString('base64'));
    this.options.log.info('Created a registry encryption key in secret storage.');
    return key;
  }

  private async open(): Promise<OpenRegistry> {
    const s = this.settings();
    const log = this.options.log;
    const t0 = performance.now();
    const registry = await Registry.open({
      file: this.file,
      wasmPath: this.options.wasmPath,
      key: await this.key(s.encrypt),
      encryptWrites: s.encrypt,
      keepBackups: s.keepBackups,
      log,
    });
    const repos = new RegistryRepositories(registry);
    log.info(`Registry opened in ${(performance.now() - t0).toFixed(0)} ms: ${this.file} (schema ${registry.schemaVersion}${registry.encrypted ? ', encrypted' : ''})`);
    if (registry.recovery) this.options.onRecovery?.(registry.recovery);
    // After this open resolves: whoever is told may use the registry at once.
    if (this.options.onOpen) queueMicrotask(this.options.onOpen);
    if (repos.retention().usageDays !== s.usageDays) repos.setRetention({ usageDays: s.usageDays, auditDays: s.usageDays });
    const pruned = repos.prune();
    if (pruned.usage || pruned.audit || pruned.deliveries) log.info(`Registry retention rolled ${pruned.usage} usage events up into ${pruned.rolledUp} daily totals and removed ${pruned.audit} audit entries and ${pruned.deliveries} webhook deliveries.`);
    // Many rows gone: the file is rebuilt without the free pages, or each open would load them.
    if (pruned.usage + pruned.audit + pruned.deliveries >= VACUUM_AFTER_ROWS) await registry.vacuum();
    return { registry, repos };
  }

  private readonly queuedAudits: { operation: string; target: string; outcome: 'ok' | 'error'; error: string | null }[] = [];
  private auditTimer: ReturnType<typeof setTimeout> | undefined;
  private droppedAudits = 0;

  /**
   * Records an entry within 200 ms, in one transaction with the others of that moment: the TCP
   * request log writes no transaction per request. At most 10,000 wait; past that they are counted
   * and the count is logged.
   */
  auditSoon(operation: string, target: string, error?: string): void {
    if (this.queuedAudits.length >= 10_000) {
      this.droppedAudits++;
      return;
    }
    this.queuedAudits.push({ operation, target, outcome: error ? 'error' : 'ok', error: error ?? null });
    if (this.queuedAudits.length >= 500) {
      if (!this.flushing) void this.flushAudits();
    } else this.auditTimer ??= setTimeout(() => void this.flushAudits(), 200);
  }

  private flushing: Promise<void> | undefined;

  /** Writes the entries auditSoon queued (a read of the audit log calls this first). Never throws. */
  flushAudits(): Promise<void> {
    clearTimeout(this.auditTimer);
    this.auditTimer = undefined;
    // One at a time; entries queued while the registry opens wait in the (bounded) queue.
    if (this.flushing) return this.flushing;
    const flushing = (async () => {
      try {
        if (!this.queuedAudits.length) return;
        const { registry, repos } = await this.get();
        const batch = this.queuedAudits.splice(0);
        registry.transaction(() => {
          for (const a of batch) repos.audit(a);
        });
      } catch (e) {
        this.options.log.warn(`Could not write ${this.queuedAudits.splice(0).length} audit entries: ${errorMessage(e)}`);
      } finally {
        if (this.droppedAudits) {
          this.options.log.warn(`${this.droppedAudits} audit entries were dropped: the registry did not keep up.`);
          this.droppedAudits = 0;
        }
      }
    })();
    this.flushing = flushing;
    void flushing.then(() => {
      if (this.flushing === flushing) this.flushing = undefined;
    });
    return flushing;
  }

  /** Records a mutating operation in the audit log; never throws into the caller's path. */
  async audit(operation: string, target: string, error?: string): Promise<void> {
    try {
      const { repos } = await this.get();
      repos.audit({ operation, target, outcome: error ? 'error' : 'ok', error: error ?? null });
    } catch (e) {
      this.options.log.warn(`Could not write the audit entry for ${operation} ${target}: ${errorMessage(e)}`);
    }
  }

  /** Retention, and a backup when one is due. Returns the backup taken, if any; never throws. */
  async maintenance(now = Date.now()): Promise<string | undefined> {
    try {
      const s = this.settings();
      if (!s.backupIntervalHours || !fs.existsSync(this.file)) return undefined;
      const { registry, repos } = await this.get();
      repos.prune();
      if (!backupDue(registry.listBackups()[0]?.createdAt, s.backupIntervalHours, now)) return undefined;
      const b = await registry.backupNow('scheduled');
      this.options.log.info(`Scheduled registry backup: ${b.file}`);
      return b.file;
    } catch (e) {
      this.options.log.warn(`Scheduled registry maintenance failed: ${errorMessage(e)}`);
      return undefined;
    }
  }

  /** Settings that change how the file is written take effect by reopening it. */
  async onSettingsChanged(): Promise<void> {
    if (!this.current) return;
    this.options.log.info('Registry settings changed; reopening the registry.');
    await this.close();
    await this.get();
  }

  /** Closes the handle (saving pending work) so the next get() opens the file again. */
  async close(): Promise<void> {
    await this.flushAudits();
    // A flush that was under way took its batch before the last entries came: one more.
    if (this.queuedAudits.length) await this.flushAudits();
    const c = this.current;
    this.current = undefined;
    this.opening = undefined;
    await c?.registry.close();
  }

  /** Stops the schedule and closes (the last save's error goes to the log). */
  dispose(): void {
    clearInterval(this.timer);
    void this.close().catch((e) => this.options.log.error(`Saving the registry failed: ${errorMessage(e)}`));
  }
}

export function describeRegistryError(e: unknown): string {
  if (e instanceof RegistryError) return e.message;
  return `The model registry failed: ${errorMessage(e)}`;
}

/** The file name the registry lives in, inside a front end's storage folder. */
export function registryFile(storageDir: string): string {
  return path.join(storageDir, 'registry.sqlite');
}
