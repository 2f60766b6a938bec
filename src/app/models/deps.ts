// What the models use cases need from the composition root: the catalog of runtimes, the registry
// (opened on first use), and the engine's inspect for a runtime's container. Plain types only, so
// the editor, a CLI and the HTTP API hand in the same objects.
import type { Logger } from '../../core/lifecycle';
import type { RegistryPort } from '../registry/port';
import type { ModelCatalog } from '../../core/runtimes/catalog';

export interface ModelsDeps {
  readonly catalog: ModelCatalog;
  /** The registry: in this process (the service), or asked of the service (an editor window). */
  readonly registry: RegistryPort;
  /** docker inspect of a runtime's container, to find a model's file through its mounts; absent where there is no engine. */
  readonly inspectContainer?: (containerId: string) => Promise<unknown>;
  /** Where a registry write that failed after the work succeeded is told (an audit entry). */
  readonly log?: Logger;
}
