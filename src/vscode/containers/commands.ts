// Container commands. Each takes (node?, nodes?) so one function serves the palette (quick pick),
// the context menu, inline buttons and multi-select. They ask (which containers, "Remove?"), call
// the app's use cases and show what came back.
import * as vscode from 'vscode';
import * as uc from '../../app/containers/useCases';
import { call } from '../../app/useCase';
import type { ContainerAction } from '../../core/docker/actions';
import { portUrl } from '../../core/docker/containers';
import { errorMessage } from '../../core/lifecycle';
import type { ContainerLogs } from './logs';
import type { ContainersTreeNode } from './treeView';
import { showInspect } from './inspectDocument';
import { showErrorWithLog } from '../notify';

type Target = { id: string; name: string };
type NodeArg = ContainersTreeNode | Target | string | undefined;
type Item = uc.ContainerItem;

const verbs: Record<ContainerAction, { ing: string; ed: string }> = {
  start: { ing: 'Starting', ed: 'Started' },
  stop: { ing: 'Stopping', ed: 'Stopped' },
  restart: { ing: 'Restarting', ed: 'Restarted' },
  remove: { ing: 'Removing', ed: 'Removed' },
};

interface ContainerCommandDeps {
  /** What the use cases need (the cache, the monitored actions, the classifier, the audit log). */
  readonly app: uc.ContainersDeps;
  readonly logs: ContainerLogs;
  readonly log: vscode.LogOutputChannel;
}

function toTarget(arg: NodeArg, deps: ContainerCommandDeps): Target | undefined {
  if (!arg) return undefined;
  if (typeof arg === 'string') {
    const r = deps.app.containers.get(arg);
    return r ? { id: r.id, name: r.name } : undefined;
  }
  if ('kind' in arg && arg.kind === 'others') return undefined;
  return { id: arg.id, name: (arg as Target).name };
}

async function pickContainers(deps: ContainerCommandDeps, placeholder: string, canPickMany: boolean, forAction?: ContainerAction, filter: (c: Item) => boolean = () => true): Promise<Target[]> {
  const listed = await call(uc.list, deps.app, { for: forAction });
  const records = [...listed.runtimes, ...listed.others].filter(filter).sort((a, b) => a.name.localeCompare(b.name));
  if (!records.length) {
    void vscode.window.showInformationMessage(listed.loaded ? 'No container to act on.' : 'Not connected to a container engine yet.');
    return [];
  }
  const items = records.map((r) => ({ label: r.name, description: `${r.display} · ${r.image}`, target: { id: r.id, name: r.name } }));
  if (canPickMany) {
    const picked = await vscode.window.showQuickPick(items, { placeHolder: placeholder, canPickMany: true });
    return picked?.map((p) => p.target) ?? [];
  }
  const picked = await vscode.window.showQuickPick(items, { placeHolder: placeholder });
  return picked ? [picked.target] : [];
}

async function resolveTargets(deps: ContainerCommandDeps, node: NodeArg, nodes: readonly NodeArg[] | undefined, placeholder: string, many: boolean, forAction?: ContainerAction, filter?: (c: Item) => boolean): Promise<Target[]> {
  const fromArgs = (nodes?.length ? nodes : node ? [node] : []).map((n) => toTarget(n, deps)).filter((t): t is Target => !!t);
  if (fromArgs.length) return fromArgs;
  if (node || nodes?.length) return []; // e.g. the "Other containers" group
  return pickContainers(deps, placeholder, many, forAction, filter);
}

function showError(deps: ContainerCommandDeps, message: string): void {
  showErrorWithLog(deps.log, message);
}

async function runAction(deps: ContainerCommandDeps, action: ContainerAction, node: NodeArg, nodes?: readonly NodeArg[]): Promise<void> {
  const v = verbs[action];
  const targets = await resolveTargets(deps, node, nodes, `Select containers to ${action}`, true, action);
  if (!targets.length) return;
  if (action === 'remove') {
    const names = targets.map((t) => t.name);
    const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
    const answer = await vscode.window.showWarningMessage(
      `Remove ${targets.length === 1 ? 'container' : `${targets.length} containers`} ${shown}?`,
      { modal: true, detail: 'Running containers are stopped first. Their anonymous volumes stay. This cannot be undone.' },
      'Remove',
    );
    if (answer !== 'Remove') return;
  }
  const title = targets.length === 1 ? `${v.ing} ${targets[0].name}…` : `${v.ing} ${targets.length} containers…`;
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, () => call(uc.act, deps.app, { action, targets }));
  for (const t of result.succeeded) deps.log.info(`${v.ed} ${t.name} (${t.id.slice(0, 12)})`);
  if (result.failed.length === 1 && targets.length === 1) {
    showError(deps, result.failed[0].error);
  } else if (result.failed.length) {
    const lines = result.failed.map((f) => `${f.name}: ${f.error}`);
    for (const l of lines) deps.log.error(l);
    void vscode.window
      .showErrorMessage(`${v.ed} ${result.succeeded.length} of ${targets.length} containers. ${result.failed.length} failed: ${lines.join(' · ')}`, 'Show Log')
      .then((a) => a && deps.log.show());
  }
}

export function registerContainerCommands(deps: ContainerCommandDeps): vscode.Disposable[] {
  const reg = (id: string, fn: (node?: NodeArg, nodes?: readonly NodeArg[]) => Promise<unknown>) =>
    vscode.commands.registerCommand(id, async (node?: NodeArg, nodes?: readonly NodeArg[]) => {
      try {
        return await fn(node, nodes);
      } catch (e) {
        showError(deps, errorMessage(e));
      }
    });
  return [
    reg('llmStack.containers.start', (n, ns) => runAction(deps, 'start', n, ns)),
    reg('llmStack.containers.stop', (n, ns) => runAction(deps, 'stop', n, ns)),
    reg('llmStack.containers.restart', (n, ns) => runAction(deps, 'restart', n, ns)),
    reg('llmStack.containers.remove', (n, ns) => runAction(deps, 'remove', n, ns)),
    reg('llmStack.containers.logs', async (n) => {
      const [t] = await resolveTargets(deps, n, undefined, 'Show logs of…', false);
      if (t) await deps.logs.show(t.id, t.name);
    }),
    reg('llmStack.containers.inspect', async (n) => {
      const [t] = await resolveTargets(deps, n, undefined, 'Inspect…', false);
      if (t) await showInspect(t.id, t.name);
    }),
    reg('llmStack.containers.openPort', async (n) => {
      const [t] = await resolveTargets(deps, n, undefined, 'Open a published port of…', false, undefined, (r) => r.ports.length > 0);
      if (!t) return;
      const r = deps.app.containers.get(t.id);
      const ports = (r?.ports ?? []).filter((p) => p.protocol === 'tcp');
      if (!ports.length) {
        void vscode.window.showInformationMessage(`${t.name} publishes no TCP port.`);
        return;
      }
      let port = ports[0];
      if (ports.length > 1) {
        const pick = await vscode.window.showQuickPick(
          ports.map((p) => ({ label: portUrl(p), description: `container port ${p.containerPort}`, p })),
          { placeHolder: `Open which port of ${t.name}?` },
        );
        if (!pick) return;
        port = pick.p;
      }
      await vscode.env.openExternal(vscode.Uri.parse(portUrl(port)));
      return portUrl(port);
    }),
  ];
}
