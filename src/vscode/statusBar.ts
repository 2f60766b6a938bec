// Status bar item following an explicit health state: colour, text, tooltip and click action.
import * as vscode from 'vscode';
import type { ContainerCache } from '../core/docker/containerCache';
import type { EngineConnection } from '../core/docker/connection';
import type { ClassifierSource } from '../core/docker/containers';
import { HealthAlert, HealthSummary, summarizeHealth } from '../core/docker/health';
import { Disposable, type Event, type IDisposable } from '../core/lifecycle';

/** Active alerts for the item (AlertMonitor): they raise its level, and a click then shows them. */
interface StatusBarAlerts {
  readonly onDidChange: Event<unknown>;
  active(): readonly HealthAlert[];
}

const icons: Record<HealthSummary['level'], string> = { ok: '$(server-environment)', warning: '$(warning)', error: '$(error)', stopped: '$(loading~spin)' };

export class HealthStatusBar extends Disposable {
  private readonly item = this.register(vscode.window.createStatusBarItem('llmStack.health', vscode.StatusBarAlignment.Left, 50));
  private last: HealthSummary | undefined;
  private live: { text: string; tooltip?: string } | undefined;
  private alertsSub: IDisposable | undefined;

  constructor(
    private readonly connection: EngineConnection,
    private readonly cache: ContainerCache,
    private readonly classifiers: ClassifierSource,
    private alerts?: StatusBarAlerts,
  ) {
    super();
    this.register(classifiers.onDidChange(() => this.update()));
    this.item.name = 'LLM Stack Health';
    this.item.command = 'llmStack.showActions';
    this.register(connection.onDidChangeState(() => this.update()));
    this.register(cache.onDidChange(() => this.update()));
    this.register({ dispose: () => this.alertsSub?.dispose() });
    if (alerts) this.alertsSub = alerts.onDidChange(() => this.update());
    this.update();
    this.item.show();
  }

  /** Follows these alerts from now on (or none). */
  setAlerts(alerts: StatusBarAlerts | undefined): void {
    this.alertsSub?.dispose();
    this.alerts = alerts;
    this.alertsSub = alerts?.onDidChange(() => this.update());
    this.update();
  }

  get summary(): HealthSummary | undefined {
    return this.last;
  }

  /** The item's text as shown (health, plus live figures when on). */
  get text(): string {
    return this.item.text;
  }

  /** Live figures shown after the health text ("CPU 12 % · GPU 40 %"); undefined removes them. */
  setLive(text: string | undefined, tooltip?: string): void {
    const next = text ? { text, tooltip } : undefined;
    if (next?.text === this.live?.text && next?.tooltip === this.live?.tooltip) return;
    this.live = next;
    this.update();
  }

  private update(): void {
    const s = summarizeHealth(this.connection.state, this.cache.list(), this.classifiers.current, Date.now(), this.alerts?.active() ?? []);
    this.last = s;
    this.item.command = s.alerts?.length ? 'llmStack.alerts.show' : 'llmStack.showActions';
    this.item.text = `${icons[s.level]} ${s.text}${this.live ? ` · ${this.live.text}` : ''}`;
    this.item.tooltip = new vscode.MarkdownString(this.live?.tooltip ? `${s.tooltip}\n\n${this.live.tooltip}` : s.tooltip);
    this.item.backgroundColor =
      s.level === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : s.level === 'warning' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.accessibilityInformation = { label: `LLM Stack: ${s.text}` };
  }
}
