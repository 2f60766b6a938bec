// What idle handling asks of the rest of the program, the same in the service and in a window:
// a stack file's keepLoaded models (listed in their container's label) stay loaded, and an idle
// runtime container is stopped through the watched actions, with an audit entry either way.
import type { ContainerActions } from '../../core/docker/actions';
import type { ContainerCache } from '../../core/docker/containerCache';
import { errorMessage } from '../../core/lifecycle';
import type { RuntimeState } from '../../core/runtimes/catalog';
import type { RuntimeModel } from '../../core/runtimes/runtime';
import { LABEL_KEEP_LOADED } from '../../core/stack/schema';
import { sameModel } from '../../core/stack/stackModels';

interface IdleHookDeps {
  readonly containers: Pick<ContainerCache, 'get'>;
  readonly actions: Pick<ContainerActions, 'run'>;
  readonly audit: (operation: string, target: string, error?: string) => Promise<void>;
}

export function idleHooks(deps: IdleHookDeps) {
  return {
    pinned: (r: RuntimeState, m: RuntimeModel): boolean => {
      const label = r.endpoint.containerId ? deps.containers.get(r.endpoint.containerId)?.labels[LABEL_KEEP_LOADED] : undefined;
      return !!label && label.split(',').some((name) => sameModel(m.name, name));
    },
    stopContainer: async (id: string, name: string): Promise<void> => {
      try {
        await deps.actions.run('stop', id, name);
        await deps.audit('container.stop.idle', name);
      } catch (e) {
        await deps.audit('container.stop.idle', name, errorMessage(e));
        throw e;
      }
    },
  };
}
