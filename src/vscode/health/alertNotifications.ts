// Alerts in VS Code: a notification (never modal) for each alert the watcher allows one for, with
// Show Logs, Restart and Mute; the alerts quick pick behind the status bar item. Whoever watches
// (the service, or this window by itself: HealthWatch) keeps the mutes.
import * as vscode from 'vscode';
import type { Alert, AlertSource } from '../../core/docker/alerts';
import { Disposable, errorMessage } from '../../core/lifecycle';

interface ShownNotification {
  readonly kind: Alert['kind'];
  readonly containerName: string;
  readonly message: string;
  readonly severity: Alert['severity'];
}

const SHOW_LOGS = 'Show Logs';
const RESTART = 'Restart';
const MUTE = 'Mute';
const UNMUTE = 'Unmute';

const kindLabels: Record<Alert['kind'], string> = {
  unhealthy: 'unhealthy',
  exited: 'exited unexpectedly',
  'restart-loop': 'restarting in a loop',
  'probe-failed': 'health probe failing',
};

export class AlertNotifications extends Disposable {
  /** The notifications shown, oldest first (the tests in the real host read it). */
  readonly shown: ShownNotification[] = [];

  constructor(
    readonly monitor: AlertSource,
    private readonly log?: vscode.LogOutputChannel,
  ) {
    super();
    this.register(
      monitor.onAlert(({ alert, notify }) => {
        if (notify) void this.notify(alert);
      }),
    );
    this.register(vscode.commands.registerCommand('llmStack.alerts.show', () => this.showAlerts()));
    this.register(
      vscode.commands.registerCommand('llmStack.alerts.unmuteAll', async () => {
        const n = monitor.mutedIds.length;
        await monitor.unmuteAll();
        void vscode.window.showInformationMessage(n ? `Unmuted alerts of ${n} container${n === 1 ? '' : 's'}.` : 'No container is muted.');
      }),
    );
  }

  private actionsFor(alert: Alert): string[] {
    return alert.target === 'container' ? [SHOW_LOGS, RESTART, MUTE] : [MUTE];
  }

  private async notify(alert: Alert): Promise<void> {
    this.shown.push({ kind: alert.kind, containerName: alert.containerName, message: alert.message, severity: alert.severity });
    const actions = this.actionsFor(alert);
    const answer = alert.severity === 'error' ? await vscode.window.showErrorMessage(alert.message, ...actions) : await vscode.window.showWarningMessage(alert.message, ...actions);
    if (answer) await this.act(alert, answer);
  }

  /** Runs one of an alert's actions. */
  async act(alert: Alert, action: string): Promise<void> {
    try {
      await this.perform(alert, action);
    } catch (e) {
      void vscode.window.showErrorMessage(`${action} for ${alert.containerName} failed: ${errorMessage(e)}`);
    }
  }

  private async perform(alert: Alert, action: string): Promise<void> {
    const node = { id: alert.containerId, name: alert.containerName };
    switch (action) {
      case SHOW_LOGS:
        await vscode.commands.executeCommand('llmStack.containers.logs', node);
        break;
      case RESTART:
        await this.monitor.expectStop(alert.containerId);
        await vscode.commands.executeCommand('llmStack.containers.restart', node);
        break;
      case MUTE:
        await this.monitor.mute(alert.containerId);
        this.log?.info(`Muted alerts of ${alert.containerName}; 'LLM Stack: Unmute All Alerts' undoes it.`);
        break;
      case UNMUTE:
        await this.monitor.unmute(alert.containerId);
        break;
    }
  }

  /** The quick pick behind the status bar item: the active alerts, then what to do about one. */
  async showAlerts(): Promise<void> {
    const active = this.monitor.active();
    type Item = vscode.QuickPickItem & { alert?: Alert; command?: string };
    const items: Item[] = [...active]
      .sort((a, b) => (a.severity === b.severity ? b.at - a.at : a.severity === 'error' ? -1 : 1))
      .map((a) => ({
        label: `${a.severity === 'error' ? '$(error)' : '$(warning)'} ${a.containerName}`,
        description: `${kindLabels[a.kind]}${a.muted ? ' · muted' : ''} · ${new Date(a.at).toLocaleTimeString()}`,
        detail: a.message,
        alert: a,
      }));
    if (items.length) items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
    if (this.monitor.mutedIds.length) items.push({ label: '$(bell) Unmute All Alerts', command: 'llmStack.alerts.unmuteAll' });
    items.push({ label: '$(list-unordered) Other Actions…', command: 'llmStack.showActions' });
    const pick = await vscode.window.showQuickPick(items, { placeHolder: active.length ? `${active.length} active alert${active.length === 1 ? '' : 's'}` : 'No active alerts' });
    if (!pick) return;
    if (pick.command) {
      await vscode.commands.executeCommand(pick.command);
      return;
    }
    const alert = pick.alert;
    if (!alert) return;
    const actions = this.actionsFor(alert).map((a) => (a === MUTE && alert.muted ? UNMUTE : a));
    const icons: Record<string, string> = { [SHOW_LOGS]: '$(output)', [RESTART]: '$(debug-restart)', [MUTE]: '$(bell-slash)', [UNMUTE]: '$(bell)' };
    const action = await vscode.window.showQuickPick(
      actions.map((a) => ({ label: `${icons[a]} ${a}`, action: a })),
      { placeHolder: alert.message },
    );
    if (action) await this.act(alert, action.action);
  }
}
