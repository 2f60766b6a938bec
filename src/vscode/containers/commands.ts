// Container commands. Each takes (node?, nodes?) so one function serves the palette (quick pick),
// the context menu, inline buttons and multi-select.
import * as vscode from 'vscode';
import { ContainerAction, ContainerActions, runBatch } from '../../core/docker/actions';
import type { ContainerCache } from '../../core/docker/containerCache';
import { ContainerRecord, displayState, portUrl } from '../../core/docker/containers';
import { errorMessage } from '../../core/lifecycle';
import type { ContainerLogs } from './logs';
import type { ContainersTreeNode } from './treeView';
import { showInspect } from './inspectDocument';

type Target = { id: string; name: string };
type NodeArg = ContainersTreeNode | Target | string | undefined;

const verbs: Record<ContainerAction, { ing: string; ed: string; applies: (r: ContainerRecord) => boolean }> = {
  start: { ing: 'Starting', ed: 'Started', applies: (r) => r.state !== 'running' },
  stop: { ing: 'Stopping', ed: 'Stopped', applies: (r) => r.state === 'running' || r.state === 'restarting' || r.state === 'paused' },
  restart: { ing: 'Restarting', ed: 'Restarted', applies: () => true },
  remove: { ing: 'Removing', ed: 'Removed', applies: () => true },
};

export interface ContainerCommandDeps {
  readonly cache: ContainerCache;
  readonly actions: ContainerActions;
  readonly logs: ContainerLogs;
  readonly log: vscode.LogOutputChannel;
  /** Records each mutating action in the registry's audit log. */
  readonly audit?: (operation: string, target: string, error?: string) => Promise<void>;
}

function toTarget(arg: NodeArg, cache: ContainerCache): Target | undefined {
  if (!arg) return undefined;
  if (typeof arg === 'string') {
    const r = cache.get(arg);
    return r ? { id: r.id, name: r.name } : undefined;
  }
  if ('kind' in arg && arg.kind === 'others') return undefined;
  return { id: arg.id, name: (arg as Target).name };
}

async function pickContainers(cache: ContainerCache, placeholder: string, canPickMany: boolean, filter: (r: ContainerRecord) => boolean): Promise<Target[]> {
  const records = cache.list().filter(filter).sort((a, b) => a.name.localeCompare(b.name));
  if (!records.length) {
    void vscode.window.showInformationMessage(cache.isLoaded ? 'No container to act on.' : 'Not connected to a container engine yet.');
    return [];
  }
  const items = records.map((r) => ({ label: r.name, description: `${displayState(r).text} · ${r.image}`, target: { id: r.id, name: r.name } }));
  if (canPickMany) {
    const picked = await vscode.window.showQuickPick(items, { placeHolder: placeholder, canPickMany: true });
    return picked?.map((p) => p.target) ?? [];
  }
  const picked = await vscode.window.showQuickPick(items, { placeHolder: placeholder });
  return picked ? [picked.target] : [];
}

async function resolveTargets(deps: ContainerCommandDeps, node: NodeArg, nodes: readonly NodeArg[] | undefined, placeholder: string, many: boolean, filter: (r: ContainerRecord) => boolean): Promise<Target[]> {
  const fromArgs = (nodes?.length ? nodes : node ? [node] : []).map((n) => toTarget(n, deps.cache)).filter((t): t is Target => !!t);
  if (fromArgs.length) return fromArgs;
  if (node || nodes?.length) return []; // e.g. the "Other containers" group
  return pickContainers(deps.cache, placeholder, many, filter);
}

function showError(deps: ContainerCommandDeps, message: string): void {
  deps.log.error(message);
  void vscode.window.showErrorMessage(message, 'Show Log').then((a) => a && deps.log.show());
}

async function runAction(deps: ContainerCommandDeps, action: ContainerAction, node: NodeArg, nodes?: readonly NodeArg[]): Promise<void> {
  const v = verbs[action];
  const targets = await resolveTargets(deps, node, nodes, `Select containers to ${action}`, true, v.applies);
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
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, () =>
    runBatch(targets, (t) => deps.actions.run(action, t.id, t.name)),
  );
  for (const t of result.succeeded) deps.log.info(`${v.ed} ${t.name} (${t.id.slice(0, 12)})`);
  if (deps.audit) {
    const audit = deps.audit;
    void Promise.all([
      ...result.succeeded.map((t) => audit(`container.${action}`, `${t.name} (${t.id.slice(0, 12)})`)),
      ...result.failed.map((f) => audit(`container.${action}`, `${f.item.name} (${f.item.id.slice(0, 12)})`, f.error)),
    ]);
  }
  if (result.failed.length === 1 && targets.length === 1) {
    showError(deps, result.failed[0].error);
  } else if (result.failed.length) {
    const lines = result.failed.map((f) => `${f.item.name}: ${f.error}`);
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
      const [t] = await resolveTargets(deps, n, undefined, 'Show logs of…', false, () => true);
      if (t) await deps.logs.show(t.id, t.name);
    }),
    reg('llmStack.containers.inspect', async (n) => {
      const [t] = await resolveTargets(deps, n, undefined, 'Inspect…', false, () => true);
      if (t) await showInspect(t.id, t.name);
    }),
    reg('llmStack.containers.openPort', async (n) => {
      const [t] = await resolveTargets(deps, n, undefined, 'Open a published port of…', false, (r) => r.ports.length > 0);
      if (!t) return;
      const r = deps.cache.get(t.id);
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
