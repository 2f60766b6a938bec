// The registry port of a client of the service: each operation is the service's use case of the
// same name, so the one process that owns the registry file writes it.
import type { ModelHistory, RegistryPort } from '../app/registry/port';
import { endpointFacts, modelFacts } from '../app/registry/portUseCases';
import type { UsageDetail, UsageKind } from '../core/runtimes/catalog';
import type { RuntimeEndpoint, RuntimeListing, RuntimeModel } from '../core/runtimes/runtime';
import type { ServiceClient } from './client';

export class RemoteRegistryPort implements RegistryPort {
  /** `service` calls a use case in the service (a ServiceClient, or an editor window's link that restarts it). */
  constructor(private readonly service: Pick<ServiceClient, 'call'>) {}

  private call<T>(name: string, input: unknown): Promise<T> {
    return this.service.call<T>(name, input);
  }

  async syncListing(endpoint: RuntimeEndpoint, listing: RuntimeListing): Promise<ReadonlyMap<string, number>> {
    const r = await this.call<{ lastUsed: Record<string, number> }>('registry.syncListing', { endpoint: endpointFacts(endpoint), models: listing.models.map(modelFacts) });
    return new Map(Object.entries(r.lastUsed));
  }

  async recordUsage(endpoint: RuntimeEndpoint, model: RuntimeModel | string, kind: UsageKind, detail: UsageDetail): Promise<void> {
    await this.call('registry.recordUsage', { endpoint: endpointFacts(endpoint), model: typeof model === 'string' ? model : model.name, kind, detail });
  }

  async audit(operation: string, target: string, error?: string): Promise<void> {
    await this.call('registry.recordAudit', { operation, target, ...(error ? { error: error.slice(0, 4000) } : {}) });
  }

  async recordedDigest(endpoint: RuntimeEndpoint, model: RuntimeModel): Promise<string | undefined> {
    return (await this.call<{ digest?: string }>('registry.recordedDigest', { endpoint: endpointFacts(endpoint), model: modelFacts(model) })).digest;
  }

  async recordDigest(endpoint: RuntimeEndpoint, model: RuntimeModel, digest: string): Promise<void> {
    await this.call('registry.recordDigest', { endpoint: endpointFacts(endpoint), model: modelFacts(model), digest });
  }

  history(endpoint: RuntimeEndpoint, fullName: string): Promise<ModelHistory> {
    return this.call<ModelHistory>('registry.modelHistory', { endpoint: endpointFacts(endpoint), name: fullName });
  }
}
