// Registry commands: back up now, restore from a backup, export to / import from JSON, statistics.
// They ask (which backup, where, "Restore?"), call the app's use cases and show what came back.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeRegistryError } from '../../app/registry/host';
import * as uc from '../../app/registry/useCases';
import type { Runner } from '../../app/useCase';
import { showErrorWithLog } from '../notify';

const STATS_URI = vscode.Uri.from({ scheme: 'llmstack-registry', path: '/Registry Statistics.md' });

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
  constructor(private readonly run: Runner<uc.RegistryDeps>) {}

  refresh(): void {
    this.changed.fire(STATS_URI);
  }

  async provideTextDocumentContent(): Promise<string> {
    const s = await this.run(uc.stats, {});
    const rows = Object.entries(s.counts).map(([t, n]) => `| ${t} | ${n.toLocaleString('en-US')} |`);
    const date = (t: number | null) => (t === null ? '—' : new Date(t).toISOString().replace('T', ' ').slice(0, 19));
    return [
      '# LLM Stack model registry',
      '',
      `- File: \`${s.file}\` (${bytes(s.fileBytes)}${s.encrypted ? ', encrypted with AES-256-GCM' : ''})`,
      `- Schema version: ${s.schemaVersion}`,
      `- Usage recorded from ${date(s.oldestUsage)} to ${date(s.newestUsage)}`,
      `- Backups: ${s.backups} in \`${s.backupsDir}\`${s.newestBackupAt !== null ? `, newest ${date(s.newestBackupAt)}` : ''}`,
      '',
      '| Table | Rows |',
      '|---|---:|',
      ...rows,
      '',
    ].join('\n');
  }
}

/** `run` runs the registry's use cases where the registry is (the local service). */
export function registerRegistryCommands(run: Runner<uc.RegistryDeps>, log: vscode.LogOutputChannel): vscode.Disposable[] {
  const stats = new StatsProvider(run);
  const fail = (e: unknown) => {
    showErrorWithLog(log, describeRegistryError(e));
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
      await run(uc.stats, {}); // an open error is shown as it is, before the progress notification
      const b = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Backing up the model registry…' }, () => run(uc.backup, { reason: 'manual' }));
      void vscode.window.showInformationMessage(`Registry backed up: ${path.basename(b.file)} (${countsText(b.counts)}).`);
      return b;
    }),
    reg('llmStack.registry.restore', async (file?: string) => {
      const { backups } = await run(uc.listBackups, {});
      let chosen = file ? backups.find((b) => b.file === file) : undefined;
      if (!chosen) {
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
      const restored = await run(uc.restore, { file: chosen.file });
      stats.refresh();
      void vscode.window.showInformationMessage(`Registry restored from ${path.basename(restored.file)}.`);
      return restored.file;
    }),
    reg('llmStack.registry.export', async (target?: vscode.Uri) => {
      await run(uc.stats, {}); // an open error is shown before the save dialog
      const uri =
        target ??
        (await vscode.window.showSaveDialog({
          title: 'Export the model registry',
          filters: { JSON: ['json'] },
          defaultUri: vscode.Uri.file(path.join(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir(), `llm-stack-registry-${new Date().toISOString().slice(0, 10)}.json`)),
        }));
      if (!uri) return undefined;
      // The save dialog asked about replacing an existing file.
      const r = await run(uc.exportToFile, { file: uri.fsPath, overwrite: true });
      void vscode.window.showInformationMessage(`Registry exported to ${uri.fsPath} (${r.models} models, ${r.usage} usage events).`);
      return uri.fsPath;
    }),
    reg('llmStack.registry.import', async (source?: vscode.Uri) => {
      const uri = source ?? (await vscode.window.showOpenDialog({ title: 'Import a model registry export', filters: { JSON: ['json'] }, canSelectMany: false }))?.[0];
      if (!uri) return undefined;
      const report = await run(uc.importFromFile, { file: uri.fsPath });
      stats.refresh();
      void vscode.window.showInformationMessage(
        `Imported ${report.models} new models, ${report.versions} versions, ${report.usage} usage events, ${report.benchmarks} benchmark results and ${report.audit} audit entries from ${path.basename(uri.fsPath)}.`,
      );
      return report;
    }),
    reg('llmStack.registry.stats', async () => {
      await run(uc.stats, {}); // surfaces an open error as a message instead of an empty document
      stats.refresh();
      const doc = await vscode.workspace.openTextDocument(STATS_URI);
      await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
      await vscode.window.showTextDocument(doc, { preview: true });
      return doc.getText();
    }),
  ];
}
