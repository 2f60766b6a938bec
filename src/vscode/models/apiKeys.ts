// The runtime API keys this window keeps in the editor's secret storage are handed to the local
// service (its 0600 key store), so the service's probes, listings and idle unloads can reach the
// servers that need one. Each runtime's key once per window session, when the runtime shows up in
// this window's catalog; Set Runtime API Key hands a new key at once.
import * as vscode from 'vscode';
import { takesApiKey } from '../../app/models';
import { apiKeySecret } from '../../app/models/apiKeys';
import { errorMessage } from '../../core/lifecycle';
import type { ModelCatalog } from '../../core/runtimes/catalog';
import type { ServiceLink } from '../service';

export class ApiKeyHandover implements vscode.Disposable {
  private readonly handed = new Set<string>();
  private readonly subscription: { dispose(): void };

  constructor(
    private readonly catalog: ModelCatalog,
    private readonly secrets: vscode.SecretStorage,
    private readonly service: ServiceLink,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscription = catalog.onDidChange(() => void this.handOver());
    void this.handOver();
  }

  /** Hands the service a key set (or removed, with undefined) in this window. */
  async set(endpointId: string, key: string | undefined): Promise<void> {
    this.handed.add(endpointId);
    await this.service.call('runtimes.setApiKey', { endpointId, key: key ?? null });
  }

  private async handOver(): Promise<void> {
    for (const runtime of this.catalog.list()) {
      const id = runtime.endpoint.id;
      if (this.handed.has(id) || !takesApiKey(runtime)) continue;
      this.handed.add(id);
      const key = await this.secrets.get(apiKeySecret(id));
      if (!key) continue;
      try {
        await this.service.call('runtimes.setApiKey', { endpointId: id, key });
      } catch (e) {
        this.handed.delete(id);
        this.log.warn(`Could not hand the API key of ${runtime.endpoint.name} to the LLM Stack service: ${errorMessage(e)}`);
      }
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
