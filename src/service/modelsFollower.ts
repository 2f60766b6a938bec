// A window follows what the service changes in the runtimes it also shows: on the service's
// `models` event (its catalog saw a runtime's models change: an idle unload, a load or pull by the
// CLI or another window) the window lists those runtimes again, once per burst. Runtimes this
// window does not show are left alone.
import { Disposable, type Event } from '../core/lifecycle';
import type { ModelCatalog } from '../core/runtimes/catalog';
import type { ServiceEvent } from './protocol';

export class ServiceModelsFollower extends Disposable {
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly catalog: ModelCatalog,
    onEvent: Event<ServiceEvent>,
    private readonly delayMs = 100,
  ) {
    super();
    this.register(
      onEvent((e) => {
        if (e.type !== 'models') return;
        for (const id of e.runtimeIds) if (catalog.get(id)) this.pending.add(id);
        if (this.pending.size) this.timer ??= setTimeout(() => this.flush(), this.delayMs);
      }),
    );
    this.register({ dispose: () => clearTimeout(this.timer) });
  }

  private flush(): void {
    this.timer = undefined;
    const ids = [...this.pending];
    this.pending.clear();
    for (const id of ids) void this.catalog.refresh(id);
  }
}
