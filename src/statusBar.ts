// Status bar item following an explicit health state: colour, text, tooltip and click action.
import * as vscode from 'vscode';
import type { ContainerCache } from './core/docker/containerCache';
import type { EngineConnection } from './core/docker/connection';
import type { Classifier } from './core/docker/containers';
import { HealthSummary, summarizeHealth } from './core/docker/health';
import { Disposable } from './core/lifecycle';

const icons: Record<HealthSummary['level'], string> = { ok: '$(server-environment)', warning: '$(warning)', error: '$(error)', stopped: '$(loading~spin)' };

export class HealthStatusBar extends Disposable {
  private readonly item = this.register(vscode.window.createStatusBarItem('llmStack.health', vscode.StatusBarAlignment.Left, 50));
  private last: HealthSummary | undefined;

  constructor(
    private readonly connection: EngineConnection,
    private readonly cache: ContainerCache,
    private classifier: Classifier,
  ) {
    super();
    this.item.name = 'LLM Stack Health';
    this.item.command = 'llmStack.showActions';
    this.register(connection.onDidChangeState(() => this.update()));
    this.register(cache.onDidChange(() => this.update()));
    this.update();
    this.item.show();
  }

  setClassifier(c: Classifier): void {
    this.classifier = c;
    this.update();
  }

  get summary(): HealthSummary | undefined {
    return this.last;
  }

  private update(): void {
    const s = summarizeHealth(this.connection.state, this.cache.list(), this.classifier);
    this.last = s;
    this.item.text = `${icons[s.level]} ${s.text}`;
    this.item.tooltip = new vscode.MarkdownString(s.tooltip);
    this.item.backgroundColor =
      s.level === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : s.level === 'warning' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.accessibilityInformation = { label: `LLM Stack: ${s.text}` };
  }
}
