// Copy Metrics in Prometheus Format / Snapshot as JSON: the sampler's figures onto the clipboard.
import * as vscode from 'vscode';
import type { MetricsFeed } from '../../core/metrics/feed';
import { errorMessage } from '../../core/lifecycle';

export function registerMetricsCommands(metrics: Pick<MetricsFeed, 'toPrometheus' | 'snapshotJson'>): vscode.Disposable[] {
  const copy = async (what: string, text: () => string | Promise<string>) => {
    try {
      await vscode.env.clipboard.writeText(await text());
      void vscode.window.showInformationMessage(`Copied the current metrics ${what}.`);
    } catch (e) {
      void vscode.window.showErrorMessage(`Reading the metrics failed: ${errorMessage(e)}`);
    }
  };
  return [
    vscode.commands.registerCommand('llmStack.metrics.copyPrometheus', () => copy('in the Prometheus text format', () => metrics.toPrometheus())),
    vscode.commands.registerCommand('llmStack.metrics.copySnapshot', () => copy('snapshot as JSON', () => metrics.snapshotJson())),
  ];
}
