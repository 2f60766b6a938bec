// Owns the one registry handle for the extension: opened lazily on first use (never during
// activation), with the encryption key from SecretStorage, scheduled backups and retention.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { errorMessage } from '../../core/lifecycle';
import { readIfExists, fileKind, RegistryError } from '../../core/registry/fileStore';
import { Registry } from '../../core/registry/registry';
import { RegistryRepositories } from '../../core/registry/repositories';
import { SECTION } from '../settings';

const KEY_SECRET = 'llmStack.registry.key';

export interface OpenRegistry {
  readonly registry: Registry;
  readonly repos: RegistryRepositories;
}

export class RegistryService implements vscode.Disposable {
  private opening: Promise<OpenRegistry> | undefined;
  private current: OpenRegistry | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    // Hourly check, cheap: it opens nothing unless a registry file exists and a backup is due.
    this.timer = setInterval(() => void this.maintenance(), 3_600_000);
    this.timer.unref?.();
  }

  get file(): string {
    return path.join(this.context.globalStorageUri.fsPath, 'registry.sqlite');
  }

  get isOpen(): boolean {
    return !!this.current;
  }

  private settings() {
    const cfg = vscode.workspace.getConfiguration(SECTION);
    return {
      encrypt: cfg.get<boolean>('registry.encrypt', false),
      keepBackups: Math.max(1, cfg.get<number>('registry.keepBackups', 10)),
      backupIntervalHours: Math.max(0, cfg.get<number>('registry.backupIntervalHours', 24)),
      usageDays: Math.max(1, cfg.get<number>('registry.retentionDays', 365)),
    };
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
    const stored = await this.context.secrets.get(KEY_SECRET);
    if (stored) return Buffer.from(stored, 'base64');
    const data = await readIfExists(this.file);
    if (data && fileKind(data) === 'encrypted') return undefined; // Registry.open explains the missing key
    if (!encrypt) return undefined;
    const key = randomBytes(32);
    await this.context.secrets.store(KEY_SECRET, key.toString('base64'));
    this.log.info('Created a registry encryption key in secret storage.');
    return key;
  }

  private async open(): Promise<OpenRegistry> {
    const s = this.settings();
    const t0 = performance.now();
    const registry = await Registry.open({
      file: this.file,
      wasmPath: this.context.asAbsolutePath(path.join('dist', 'sql-wasm.wasm')),
      key: await this.key(s.encrypt),
      encryptWrites: s.encrypt,
      keepBackups: s.keepBackups,
      log: { debug: (m) => this.log.debug(m), info: (m) => this.log.info(m), warn: (m) => this.log.warn(m), error: (m) => this.log.error(m) },
    });
    const repos = new RegistryRepositories(registry);
    this.log.info(`Registry opened in ${(performance.now() - t0).toFixed(0)} ms: ${this.file} (schema ${registry.schemaVersion}${registry.encrypted ? ', encrypted' : ''})`);
    if (registry.recovery) {
      const r = registry.recovery;
      const what = r.restoredFrom ? `The newest good backup was restored (${path.basename(r.restoredFrom)}).` : 'No usable backup was found, so a new registry was started.';
      void vscode.window
        .showWarningMessage(`The model registry file was damaged and has been moved aside to ${r.movedTo}. ${what}`, 'Reveal Damaged File', 'Show Log')
        .then((a) => {
          if (a === 'Reveal Damaged File') void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(r.movedTo));
          if (a === 'Show Log') this.log.show();
        });
    }
    if (repos.retention().usageDays !== s.usageDays) repos.setRetention({ usageDays: s.usageDays, auditDays: s.usageDays });
    const pruned = repos.prune();
    if (pruned.usage || pruned.audit) this.log.info(`Registry retention removed ${pruned.usage} usage events and ${pruned.audit} audit entries.`);
    return { registry, repos };
  }

  /** Records a mutating operation in the audit log; never throws into the caller's path. */
  async audit(operation: string, target: string, error?: string): Promise<void> {
    try {
      const { repos } = await this.get();
      repos.audit({ operation, target, outcome: error ? 'error' : 'ok', error: error ?? null });
    } catch (e) {
      this.log.warn(`Could not write the audit entry for ${operation} ${target}: ${errorMessage(e)}`);
    }
  }

  private async maintenance(): Promise<void> {
    try {
      const s = this.settings();
      if (!s.backupIntervalHours || !fs.existsSync(this.file)) return;
      const { registry, repos } = await this.get();
      repos.prune();
      const newest = registry.listBackups()[0];
      if (!newest || Date.now() - newest.createdAt >= s.backupIntervalHours * 3_600_000) {
        const b = await registry.backupNow('scheduled');
        this.log.info(`Scheduled registry backup: ${b.file}`);
      }
    } catch (e) {
      this.log.warn(`Scheduled registry maintenance failed: ${errorMessage(e)}`);
    }
  }

  /** Settings that change how the file is written take effect by reopening it. */
  async onSettingsChanged(): Promise<void> {
    if (!this.current) return;
    this.log.info('Registry settings changed; reopening the registry.');
    await this.close();
    await this.get();
  }

  /** Closes the handle (saving pending work) so the next get() opens the file again. */
  async close(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    this.opening = undefined;
    await c?.registry.close();
  }

  dispose(): void {
    clearInterval(this.timer);
    void this.close().catch((e) => this.log.error(`Saving the registry failed: ${errorMessage(e)}`));
  }
}

export function describeRegistryError(e: unknown): string {
  if (e instanceof RegistryError) return e.message;
  return `The model registry failed: ${errorMessage(e)}`;
}
