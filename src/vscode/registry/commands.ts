// Registry commands: back up now, restore from a backup, export to / import from JSON, statistics.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BackupInfo } from '../../core/registry/backups';
import { exportRegistry, importRegistry, parseExport } from '../../core/registry/transfer';
import { describeRegistryError, RegistryService } from './service';

export const STATS_URI = vscode.Uri.from({ scheme: 'llmstack-registry', path: '/Registry Statistics.md' });

function countsText(c: Record<string, number>): string {
  const n = (k: string) => (c[k] ?? 0).toLocaleString('en-US');
  return `${n('models')} models · ${n('model_versions')} versions · ${n('usage_events')} usage events · ${n('audit_log')} audit entries`;
}

function bytes(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

class StatsProvider implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  constructor(private readonly service: RegistryService) {}

  refresh(): void {
    this.changed.fire(STATS_URI);
  }

  async provideTextDocumentContent(): Promise<string> {
    const { registry, repos } = await this.service.get();
    await registry.flush();
    const size = fs.existsSync(registry.file) ? fs.statSync(registry.file).size : 0;
    const s = repos.stats(size);
    const backups = registry.listBackups();
    const rows = Object.entries(s.counts).map(([t, n]) => `| ${t} | ${n.toLocaleString('en-US')} |`);
    const date = (t: number | null) => (t === null ? '—' : new Date(t).toISOString().replace('T', ' ').slice(0, 19));
    return [
      '# LLM Stack model registry',
      '',
      `- File: \`${registry.file}\` (${bytes(s.fileBytes)}${s.encrypted ? ', encrypted with AES-256-GCM' : ''})`,
      `- Schema version: ${s.schemaVersion}`,
      `- Usage recorded from ${date(s.oldestUsage)} to ${date(s.newestUsage)}`,
      `- Backups: ${s.backups} in \`${registry.backupsDir}\`${backups[0] ? `, newest ${date(backups[0].createdAt)}` : ''}`,
      '',
      '| Table | Rows |',
      '|---|---:|',
      ...rows,
      '',
    ].join('\n');
  }
}

export function registerRegistryCommands(service: RegistryService, log: vscode.LogOutputChannel): vscode.Disposable[] {
  const stats = new StatsProvider(service);
  const fail = (e: unknown) => {
    const msg = describeRegistryError(e);
    log.error(msg);
    void vscode.window.showErrorMessage(msg, 'Show Log').then((a) => a && log.show());
  };
  const reg = (id: string, fn: (...args: never[]) => Promise<unknown>) =>
    vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (e) {
        fail(e);
        return undefined;
      }
    });

  return [
    vscode.workspace.registerTextDocumentContentProvider(STATS_URI.scheme, stats),
    reg('llmStack.registry.backup', async () => {
      const { registry } = await service.get();
      const b = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Backing up the model registry…' }, () => registry.backupNow('manual'));
      await service.audit('registry.backup', path.basename(b.file));
      void vscode.window.showInformationMessage(`Registry backed up: ${path.basename(b.file)} (${countsText(b.counts)}).`);
      return b;
    }),
    reg('llmStack.registry.restore', async (file?: string) => {
      const { registry } = await service.get();
      let chosen: BackupInfo | undefined = file ? registry.listBackups().find((b) => b.file === file) : undefined;
      if (!chosen) {
        const backups = registry.listBackups();
        if (!backups.length) {
          void vscode.window.showInformationMessage('There is no registry backup yet. Run "LLM Stack: Back Up Registry Now" first.');
          return undefined;
        }
        const pick = await vscode.window.showQuickPick(
          backups.map((b) => ({ label: new Date(b.createdAt).toLocaleString(), description: countsText(b.counts), detail: `${b.reason} · schema ${b.schemaVersion} · ${path.basename(b.file)}`, b })),
          { placeHolder: 'Restore the model registry from which backup?', matchOnDescription: true, matchOnDetail: true },
        );
        if (!pick) return undefined;
        chosen = pick.b;
      }
      const answer = await vscode.window.showWarningMessage(
        `Restore the model registry from the backup of ${new Date(chosen.createdAt).toLocaleString()}?`,
        { modal: true, detail: `The registry will hold ${countsText(chosen.counts)}. The current state is backed up first, so this can be undone.` },
        'Restore',
      );
      if (answer !== 'Restore') return undefined;
      await registry.restore(chosen.file);
      await service.audit('registry.restore', path.basename(chosen.file));
      stats.refresh();
      void vscode.window.showInformationMessage(`Registry restored from ${path.basename(chosen.file)}.`);
      return chosen.file;
    }),
    reg('llmStack.registry.export', async (target?: vscode.Uri) => {
      const { registry } = await service.get();
      const uri =
        target ??
        (await vscode.window.showSaveDialog({
          title: 'Export the model registry',
          filters: { JSON: ['json'] },
          defaultUri: vscode.Uri.file(path.join(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir(), `llm-stack-registry-${new Date().toISOString().slice(0, 10)}.json`)),
        }));
      if (!uri) return undefined;
      const data = exportRegistry(registry);
      await vscode.workspace.fs.writeFile(uri, Buffer.from(JSON.stringify(data, null, 1)));
      await service.audit('registry.export', uri.fsPath);
      void vscode.window.showInformationMessage(`Registry exported to ${uri.fsPath} (${data.models.length} models, ${data.usage.length} usage events).`);
      return uri.fsPath;
    }),
    reg('llmStack.registry.import', async (source?: vscode.Uri) => {
      const uri = source ?? (await vscode.window.showOpenDialog({ title: 'Import a model registry export', filters: { JSON: ['json'] }, canSelectMany: false }))?.[0];
      if (!uri) return undefined;
      const text = Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
      const data = parseExport(text, uri.fsPath);
      const { registry } = await service.get();
      await registry.backupNow('before-import');
      const report = importRegistry(registry, data);
      await service.audit('registry.import', uri.fsPath);
      stats.refresh();
      void vscode.window.showInformationMessage(
        `Imported ${report.models} new models, ${report.versions} versions, ${report.usage} usage events, ${report.benchmarks} benchmark results and ${report.audit} audit entries from ${path.basename(uri.fsPath)}.`,
      );
      return report;
    }),
    reg('llmStack.registry.stats', async () => {
      await service.get(); // surfaces an open error as a message instead of an empty document
      stats.refresh();
      const doc = await vscode.workspace.openTextDocument(STATS_URI);
      await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
      await vscode.window.showTextDocument(doc, { preview: true });
      return doc.getText();
    }),
  ];
}
