// Feeds the catalog its endpoints: runtime containers from the events-fed container cache, the
// endpoints and GGUF folders in settings. A runtime container that starts again is listed again.
import * as vscode from 'vscode';
import type { ContainerCache } from '../../core/docker/containerCache';
import type { ClassifierSource } from '../../core/docker/containers';
import { Disposable } from '../../core/lifecycle';
import type { ModelCatalog } from '../../core/runtimes/catalog';
import { discoverRuntimes, mergeEndpoints, parseUserEndpoints } from '../../core/runtimes/discovery';
import { ggufFolderEndpoint } from '../../core/runtimes/ggufFolder';
import { ggufFolders, SECTION, userEndpointsSetting } from '../settings';

export class ModelSources extends Disposable {
  private debounce: NodeJS.Timeout | undefined;
  private readonly seen = new Map<string, string>();
  /** Problems with the settings or containers, shown in the log once each. */
  private reported = new Set<string>();

  constructor(
    private readonly catalog: ModelCatalog,
    private readonly cache: ContainerCache,
    private readonly classifiers: ClassifierSource,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this.register(cache.onDidChange(() => this.schedule()));
    this.register(classifiers.onDidChange(() => this.update()));
    this.register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`${SECTION}.runtimes`) || e.affectsConfiguration(`${SECTION}.models.ggufFolders`)) this.schedule();
      }),
    );
    this.register({ dispose: () => clearTimeout(this.debounce) });
    this.update();
  }

  /** Container events arrive in bursts (create, start, network connect): one update per burst. */
  schedule(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.update(), 100);
  }

  update(): void {
    if (this.isDisposed) return;
    const discovered = discoverRuntimes(this.cache.list(), this.classifiers.current);
    const user = parseUserEndpoints(userEndpointsSetting());
    const folders = ggufFolders().map((f) => ggufFolderEndpoint(f));
    const problems = [...user.errors.map((e) => `llmStack.runtimes.endpoints: ${e}`), ...discovered.unreachable.map((u) => `${u.container.name}: ${u.reason}`)];
    const next = new Set(problems);
    for (const p of problems) if (!this.reported.has(p)) this.log.warn(p);
    this.reported = next;
    const endpoints = mergeEndpoints(user.endpoints, discovered.endpoints, folders);
    this.catalog.setEndpoints(endpoints);
    // A runtime container seen in another state (e.g. restarting, then running) is listed again.
    for (const e of discovered.endpoints) {
      const r = e.containerId ? this.cache.get(e.containerId) : undefined;
      const sig = String(r?.state);
      const prev = this.seen.get(e.id);
      this.seen.set(e.id, sig);
      if (prev !== undefined && prev !== sig) void this.catalog.refresh(e.id);
    }
  }
}
