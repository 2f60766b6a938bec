// The Models view: runtime groups with their models, read from the catalog (never from the
// network inside getChildren). Filter and sort live in the view's title bar and persist per workspace.
import * as vscode from 'vscode';
import type { ModelCatalog } from '../../core/runtimes/catalog';
import type { IdleManager } from '../../core/runtimes/idle';
import { modelNode, runtimeChildren, runtimeNode, type ModelSort, type ModelTreeNode, type ModelViewOptions } from '../../core/runtimes/modelTree';
import { Disposable, Emitter } from '../../core/lifecycle';
import { followVisibility, RefreshPolicy } from '../refreshPolicy';

const OPTIONS_KEY = 'llmStack.models.viewOptions';

export class ModelsTreeProvider extends Disposable implements vscode.TreeDataProvider<ModelTreeNode> {
  private readonly onDidChangeTreeDataEmitter = this.register(new Emitter<ModelTreeNode | undefined>());
  readonly onDidChangeTreeData = this.onDidChangeTreeDataEmitter.event as vscode.Event<ModelTreeNode | undefined>;
  private options: ModelViewOptions;
  /**
   * Bursts of catalog changes (one per runtime) become one re-render; "last used" and "unloads in"
   * age, so re-render (no network) each 30 s while visible; showing the view is the moment to ask the
   * runtimes again, since loaded state changes outside the extension too.
   */
  readonly refresh = this.register(new RefreshPolicy({ debounceMs: 30, ageEveryMs: 30_000, onShow: () => void this.catalog.refresh() }));

  constructor(
    readonly catalog: ModelCatalog,
    private readonly idle: IdleManager,
    private readonly memento: vscode.Memento,
  ) {
    super();
    this.options = memento.get<ModelViewOptions>(OPTIONS_KEY, { sort: 'name' });
    this.register(catalog.onDidChange(() => this.refresh.invalidate()));
    this.register(this.refresh.onRefresh(() => this.onDidChangeTreeDataEmitter.fire(undefined)));
    void this.updateContext();
  }

  get viewOptions(): ModelViewOptions {
    return this.options;
  }

  async setOptions(patch: Partial<ModelViewOptions>): Promise<void> {
    this.options = { ...this.options, ...patch };
    await this.memento.update(OPTIONS_KEY, this.options);
    // The context key first (it shows Clear Model Filter in the palette and the title bar), then the
    // view: what the view says about the filter is never ahead of the command that clears it.
    await this.updateContext();
    this.refresh.invalidate();
  }

  private async updateContext(): Promise<void> {
    await vscode.commands.executeCommand('setContext', 'llmStack.models.filtered', !!(this.options.filter || this.options.loadedOnly));
  }

  private get times() {
    return { lastUsed: (id: string, n: string) => this.catalog.lastUsed(id, n), unloadsAt: this.idle.unloadsAt.bind(this.idle), stopsAt: this.idle.stopsAt.bind(this.idle) };
  }

  getChildren(element?: ModelTreeNode): ModelTreeNode[] {
    const now = Date.now();
    if (!element) return this.catalog.list().map((s) => runtimeNode(s, this.options, this.times, now));
    if (element.type !== 'runtime') return [];
    const state = this.catalog.get(element.runtimeId);
    return state ? runtimeChildren(state, this.options, this.times, now) : [];
  }

  getParent(element: ModelTreeNode): ModelTreeNode | undefined {
    if (element.type !== 'model') return undefined;
    const state = this.catalog.get(element.runtimeId);
    return state ? runtimeNode(state, this.options, this.times, Date.now()) : undefined;
  }

  /** The current node of a model, for commands called with a name from the palette or a test. */
  findModel(runtimeId: string, name: string): ModelTreeNode | undefined {
    const state = this.catalog.get(runtimeId);
    const m = state?.models.find((x) => x.name === name);
    return state && m ? modelNode(state, m, this.times, Date.now()) : undefined;
  }

  getTreeItem(node: ModelTreeNode): vscode.TreeItem {
    if (node.type === 'message') {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.id = node.id;
      item.tooltip = node.tooltip;
      item.iconPath = new vscode.ThemeIcon('info');
      item.contextValue = 'message';
      return item;
    }
    if (node.type === 'runtime') {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Expanded);
      item.id = node.id;
      item.description = node.description;
      item.tooltip = node.tooltip;
      item.contextValue = node.contextValue;
      item.iconPath =
        node.status === 'error'
          ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
          : node.refreshing || node.status === 'pending'
            ? new vscode.ThemeIcon('loading~spin')
            : new vscode.ThemeIcon(node.contextValue.includes('gguf') ? 'folder-library' : 'server-process');
      return item;
    }
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.description = node.description;
    item.tooltip = node.tooltip;
    item.contextValue = node.contextValue;
    item.iconPath = node.problem
      ? new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'))
      : node.loaded
        ? new vscode.ThemeIcon('circle-filled', new vscode.ThemeColor('testing.iconPassed'))
        : new vscode.ThemeIcon('circle-outline');
    item.accessibilityInformation = { label: `${node.name}, ${node.description}` };
    return item;
  }
}

export function registerModelsView(provider: ModelsTreeProvider): { view: vscode.TreeView<ModelTreeNode>; disposables: vscode.Disposable[] } {
  const view = vscode.window.createTreeView('llmStack.models', { treeDataProvider: provider, canSelectMany: true, showCollapseAll: true });
  const describe = () => {
    const o = provider.viewOptions;
    const parts = [o.filter ? `filter: ${o.filter}` : '', o.loadedOnly ? 'loaded only' : '', o.sort && o.sort !== 'name' ? `by ${o.sort === 'lastUsed' ? 'last use' : 'size'}` : ''].filter(Boolean);
    view.description = parts.join(' · ') || undefined;
  };
  describe();
  const disposables: vscode.Disposable[] = [
    view,
    provider.onDidChangeTreeData(describe),
    followVisibility(view, provider.refresh),
  ];
  return { view, disposables };
}

export const sortLabels: Record<ModelSort, string> = { name: 'Name', size: 'Size (largest first)', lastUsed: 'Last used (most recent first)' };
