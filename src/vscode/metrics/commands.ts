// Copy Metrics in Prometheus Format / Snapshot as JSON: the sampler's figures onto the clipboard.
import * as vscode from 'vscode';
import type { MetricsSampler } from '../../core/metrics/sampler';

export function registerMetricsCommands(sampler: MetricsSampler): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('llmStack.metrics.copyPrometheus', async () => {
      await vscode.env.clipboard.writeText(sampler.toPrometheus());
      void vscode.window.showInformationMessage('Copied the current metrics in the Prometheus text format.');
    }),
    vscode.commands.registerCommand('llmStack.metrics.copySnapshot', async () => {
      await vscode.env.clipboard.writeText(sampler.snapshotJson());
      void vscode.window.showInformationMessage('Copied the current metrics snapshot as JSON.');
    }),
  ];
}
