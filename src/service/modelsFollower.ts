// A window follows what the service changes in the runtimes it also shows: on the service's
// `models` event (its catalog saw a runtime's models change: an idle unload, a load or pull by the
// CLI or another window) the window lists those runtimes again, once per burst. Runtimes this
// window does not show are left alone.
import { Batcher, Disposable, type Event } from '../core/lifecycle';
import type { ModelCatalog } from '../core/runtimes/catalog';
import type { ServiceEvent } from './protocol';

export class ServiceModelsFollower extends Disposable {
  constructor(catalog: ModelCatalog, onEvent: Event<ServiceEvent>, delayMs = 100) {
    super();
    const relist = this.register(new Batcher<string>(delayMs, (ids) => ids.forEach((id) => void catalog.refresh(id))));
    this.register(
      onEvent((e) => {
        if (e.type === 'models') for (const id of e.runtimeIds) if (catalog.get(id)) relist.add(id);
      }),
    );
  }
}
