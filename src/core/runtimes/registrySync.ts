// Keeps the registry in step with the runtimes: every listing updates models and versions, every
// operation becomes a usage event, every mutating one an audit entry. The catalog calls these hooks.
import type { Logger } from '../lifecycle';
import { silentLogger } from '../lifecycle';
import type { ModelInput, RegistryRepositories, RuntimeInput } from '../registry/repositories';
import type { CatalogHooks, UsageDetail, UsageKind } from './catalog';
import { splitModelName, type RuntimeEndpoint, type RuntimeListing, type RuntimeModel } from './runtime';

/** "7B" → 7e9, "135M" → 1.35e8, "1.2B" → 1.2e9; undefined for anything else. */
export function parseParameterSize(s: string | undefined): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMBT])\s*$/i.exec(s ?? '');
  if (!m) return undefined;
  return Math.round(Number(m[1]) * { K: 1e3, M: 1e6, B: 1e9, T: 1e12 }[m[2].toUpperCase() as 'K']);
}

export function runtimeInput(e: RuntimeEndpoint): RuntimeInput {
  return { kind: e.kind, name: e.name, endpoint: e.baseUrl, containerId: e.containerId ?? null };
}

export function modelInput(m: RuntimeModel): Omit<ModelInput, 'runtimeId'> {
  const { name, tag } = splitModelName(m.name);
  return {
    name,
    tag,
    family: m.family ?? null,
    parameterCount: m.parameterCount ?? parseParameterSize(m.parameterSize) ?? null,
    quantization: m.quantization ?? null,
    contextLength: m.contextLength ?? null,
    sizeBytes: m.sizeBytes ?? null,
    digest: m.digest ?? null,
    format: m.format ?? null,
    source: m.file ?? null,
  };
}

export class RegistrySync implements Required<Omit<CatalogHooks, 'apiKey'>> {
  /** The last listing synced per endpoint and the last uses it answered: an unchanged listing costs no registry read. */
  private readonly last = new Map<string, { repos: RegistryRepositories; writes: number; sig: string; lastUsed: Map<string, number> }>();

  constructor(
    private readonly repos: () => Promise<RegistryRepositories>,
    private readonly log: Logger = silentLogger,
    /** Told of each known model whose digest changed (name:tag). */
    private readonly onNewVersion?: (endpoint: RuntimeEndpoint, model: string) => void,
  ) {}

  async onListing(endpoint: RuntimeEndpoint, listing: RuntimeListing): Promise<ReadonlyMap<string, number>> {
    const repos = await this.repos();
    const inputs = listing.models.map(modelInput);
    const sig = JSON.stringify([runtimeInput(endpoint), inputs]);
    const cached = this.last.get(endpoint.id);
    // Reused only when nothing at all was written since (a usage, an import) and the registry was not reopened (restore).
    if (cached?.sig === sig && cached.repos === repos && cached.writes === repos.db.writeCount) return cached.lastUsed;
    const r = repos.syncListing(runtimeInput(endpoint), inputs);
    if (r.created || r.updated) this.log.info(`Registry: ${endpoint.name} lists ${listing.models.length} models (${r.created} new, ${r.updated} changed).`);
    for (const v of r.newVersions) {
      this.log.info(`Registry: new version of ${v} on ${endpoint.name}.`);
      this.onNewVersion?.(endpoint, v);
    }
    for (const s of r.skipped) this.log.warn(`Registry: left out a model of ${endpoint.name}: ${s}`);
    const out = new Map<string, number>();
    listing.models.forEach((m, i) => {
      const t = r.lastUsed[i];
      if (t) out.set(m.name, t);
    });
    this.last.set(endpoint.id, { repos, writes: repos.db.writeCount, sig, lastUsed: out });
    return out;
  }

  async onUsage(endpoint: RuntimeEndpoint, model: RuntimeModel | string, kind: UsageKind, detail: UsageDetail): Promise<void> {
    const repos = await this.repos();
    const full = typeof model === 'string' ? model : model.name;
    const { name, tag } = splitModelName(full);
    const modelId = repos.modelIdFor(runtimeInput(endpoint), name, tag);
    const int = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? null : Math.max(0, Math.round(n)));
    repos.recordUsage({ modelId, kind, durationMs: int(detail.durationMs), promptTokens: int(detail.promptTokens), outputTokens: int(detail.outputTokens), ttftMs: int(detail.ttftMs), client: detail.client });
  }

  async onAudit(operation: string, target: string, error?: string): Promise<void> {
    const repos = await this.repos();
    repos.audit({ operation, target, outcome: error ? 'error' : 'ok', error: error ?? null });
  }
}
