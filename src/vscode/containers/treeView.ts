// The Containers view: reads the events-fed cache, never the engine; shows the connection
// problem as the view's message plus welcome content instead of popups.
import * as vscode from 'vscode';
import type { ContainerCache } from '../../core/docker/containerCache';
import type { ConnectionState, EngineConnection } from '../../core/docker/connection';
import type { ClassifierSource } from '../../core/docker/containers';
import { buildContainerTree, ContainerNodeModel, ContainerTreeModel } from '../../core/docker/containerTree';
import { connectionContext, viewDescription } from '../../core/docker/health';
import { Disposable, Emitter } from '../../core/lifecycle';
import { followVisibility, RefreshPolicy } from '../refreshPolicy';

interface OthersGroupNode {
  readonly kind: 'others';
  readonly count: number;
}
export type ContainersTreeNode = ContainerNodeModel | OthersGroupNode;

export class ContainersTreeProvider extends Disposable implements vscode.TreeDataProvider<ContainersTreeNode> {
  private readonly onDidChangeTreeDataEmitter = this.register(new Emitter<ContainersTreeNode | undefined>());
  readonly onDidChangeTreeData = this.onDidChangeTreeDataEmitter.event as vscode.Event<ContainersTreeNode | undefined>;

  private model: ContainerTreeModel | undefined;
  /** Uptimes age: re-render (from the cache, no engine request) each minute while visible. */
  readonly refresh = this.register(new RefreshPolicy({ debounceMs: 30, ageEveryMs: 60_000 }));

  constructor(
    private readonly cache: ContainerCache,
    private readonly connection: EngineConnection,
    private readonly classifiers: ClassifierSource,
  ) {
    super();
    this.register(cache.onDidChange(() => this.invalidate()));
    this.register(classifiers.onDidChange(() => this.invalidate()));
    this.register(connection.onDidChangeState(() => this.invalidate()));
    this.register(this.refresh.onRefresh(() => this.onDidChangeTreeDataEmitter.fire(undefined)));
  }

  /** The model is rebuilt on the next read; the view re-renders once the burst is over. */
  private invalidate(): void {
    this.model = undefined;
    this.refresh.invalidate();
  }

  /** The current model, built lazily from the cache. */
  getModel(): ContainerTreeModel {
    this.model ??= buildContainerTree(this.cache.list(), this.classifiers.current, Date.now());
    return this.model;
  }

  getChildren(element?: ContainersTreeNode): ContainersTreeNode[] {
    if (this.connection.state.kind !== 'connected' || !this.cache.isLoaded) return [];
    const model = this.getModel();
    if (!element) {
      const roots: ContainersTreeNode[] = [...model.runtimes];
      if (model.others.length) roots.push({ kind: 'others', count: model.others.length });
      return roots;
    }
    return element.kind === 'others' ? model.others : [];
  }

  getParent(element: ContainersTreeNode): ContainersTreeNode | undefined {
    if (element.kind === 'container' && !element.runtime) return { kind: 'others', count: this.getModel().others.length };
    return undefined;
  }

  getTreeItem(node: ContainersTreeNode): vscode.TreeItem {
    if (node.kind === 'others') {
      const item = new vscode.TreeItem('Other containers', this.getModel().runtimes.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded);
      item.id = 'group:others';
      item.description = String(node.count);
      item.contextValue = 'group:others';
      item.iconPath = new vscode.ThemeIcon('layers');
      return item;
    }
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.description = node.description;
    item.tooltip = new vscode.MarkdownString(node.tooltip);
    item.iconPath = new vscode.ThemeIcon(node.icon.id, new vscode.ThemeColor(node.icon.color));
    item.contextValue = node.contextValue;
    item.accessibilityInformation = { label: `${node.name}, ${node.description}` };
    return item;
  }
}

export function registerContainersView(
  provider: ContainersTreeProvider,
  connection: EngineConnection,
): { view: vscode.TreeView<ContainersTreeNode>; disposables: vscode.Disposable[] } {
  const view = vscode.window.createTreeView('llmStack.containers', { treeDataProvider: provider, canSelectMany: true, showCollapseAll: false });
  const update = (state: ConnectionState) => {
    const ctx = connectionContext(state);
    void vscode.commands.executeCommand('setContext', 'llmStack.connection', ctx.connection);
    void vscode.commands.executeCommand('setContext', 'llmStack.connectionSource', ctx.source);
    void vscode.commands.executeCommand('setContext', 'llmStack.connectionProblem', ctx.problem);
    view.description = viewDescription(state);
  };
  update(connection.state);
  const disposables: vscode.Disposable[] = [
    view,
    connection.onDidChangeState(update),
    followVisibility(view, provider.refresh),
  ];
  return { view, disposables };
}
