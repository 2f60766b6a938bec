// What the rest of the program asks of the model registry, as async operations on domain facts
// (a runtime's listing, a use, a digest, a model's history): the catalog's hooks and the models use
// cases go through this port. In the process that owns the registry file (the service) it is
// `LocalRegistryPort`, over sql.js; a client of the service (an editor window) gets one that asks
// the service, so that one process writes the file however many windows are open.
import { z } from 'zod';
import type { Logger } from '../../core/lifecycle';
import { silentLogger } from '../../core/lifecycle';
import type { RegistryRepositories } from '../../core/registry/repositories';
import type { UsageDetail, UsageKind } from '../../core/runtimes/catalog';
import { modelInput, RegistrySync, runtimeInput } from '../../core/runtimes/registrySync';
import { splitModelName, type RuntimeEndpoint, type RuntimeListing, type RuntimeModel } from '../../core/runtimes/runtime';

/** A benchmark row's measures are nullable REAL columns. */
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/** What the registry remembers of one model. */
export const modelHistorySchema = z.object({
  versions: z.array(z.object({ digest: z.string(), firstSeen: z.number(), lastSeen: z.number(), pinned: z.boolean() })),
  lastUsedAt: z.number().optional(),
  /** Last 30 days, per day and kind. */
  usage: z.array(z.object({ day: z.string(), kind: z.string(), count: z.number(), outputTokens: z.number(), promptTokens: z.number(), durationMs: z.number(), ttftMs: z.number().nullable() })),
  /** Newest first, at most 20. */
  benchmarks: z.array(z.object({ ts: z.number(), hardware: z.string(), promptSet: z.string(), ttftMs: z.number().nullable(), promptTps: z.number().nullable(), genTps: z.number().nullable() })),
  /** This model's entries, newest first, at most 20. */
  audit: z.array(z.object({ ts: z.number(), operation: z.string(), outcome: z.string(), error: z.string().nullable() })),
});
export type ModelHistory = z.infer<typeof modelHistorySchema>;

export interface RegistryPort {
  /** Keeps models and versions in step with a runtime's listing; answers each listed model's last use (epoch ms). */
  syncListing(endpoint: RuntimeEndpoint, listing: RuntimeListing): Promise<ReadonlyMap<string, number>>;
  recordUsage(endpoint: RuntimeEndpoint, model: RuntimeModel | string, kind: UsageKind, detail: UsageDetail): Promise<void>;
  /** Records a mutating operation and its outcome. */
  audit(operation: string, target: string, error?: string): Promise<void>;
  /** The digest recorded as the model's reference, if any (its row is made from the listing's facts when missing). */
  recordedDigest(endpoint: RuntimeEndpoint, model: RuntimeModel): Promise<string | undefined>;
  /** Records `digest` as the model's reference (its other facts from the listing). */
  recordDigest(endpoint: RuntimeEndpoint, model: RuntimeModel, digest: string): Promise<void>;
  history(endpoint: RuntimeEndpoint, fullName: string): Promise<ModelHistory>;
}

/** The port over the registry's tables, in the process that owns the file. */
export class LocalRegistryPort implements RegistryPort {
  private readonly sync: RegistrySync;

  constructor(
    private readonly repos: () => Promise<RegistryRepositories>,
    log: Logger = silentLogger,
    onNewVersion?: (endpoint: RuntimeEndpoint, model: string) => void,
  ) {
    this.sync = new RegistrySync(repos, log, onNewVersion);
  }

  syncListing(endpoint: RuntimeEndpoint, listing: RuntimeListing): Promise<ReadonlyMap<string, number>> {
    return this.sync.onListing(endpoint, listing);
  }

  recordUsage(endpoint: RuntimeEndpoint, model: RuntimeModel | string, kind: UsageKind, detail: UsageDetail): Promise<void> {
    return this.sync.onUsage(endpoint, model, kind, detail);
  }

  audit(operation: string, target: string, error?: string): Promise<void> {
    return this.sync.onAudit(operation, target, error);
  }

  private async rowOf(endpoint: RuntimeEndpoint, fullName: string) {
    const repos = await this.repos();
    const { name, tag } = splitModelName(fullName);
    const id = repos.modelIdFor(runtimeInput(endpoint), name, tag);
    return { repos, id, row: repos.getModel(id)! };
  }

  async recordedDigest(endpoint: RuntimeEndpoint, model: RuntimeModel): Promise<string | undefined> {
    return (await this.rowOf(endpoint, model.name)).row.digest ?? undefined;
  }

  async recordDigest(endpoint: RuntimeEndpoint, model: RuntimeModel, digest: string): Promise<void> {
    const { repos, row } = await this.rowOf(endpoint, model.name);
    repos.upsertModel({ ...modelInput(model), runtimeId: row.runtime_id, digest });
  }

  async history(endpoint: RuntimeEndpoint, fullName: string): Promise<ModelHistory> {
    const { repos, id, row } = await this.rowOf(endpoint, fullName);
    const target = `${endpoint.name}/${fullName}`;
    return {
      versions: repos.versions(id),
      ...(row.last_used_at ? { lastUsedAt: row.last_used_at } : {}),
      usage: repos.usageByDay(id, 30).map((u) => ({ ...u })),
      benchmarks: repos.benchmarks(id, 20).map((b) => ({ ts: Number(b.ts), hardware: String(b.hardware), promptSet: String(b.prompt_set), ttftMs: num(b.ttft_ms), promptTps: num(b.prompt_tps), genTps: num(b.gen_tps) })),
      audit: repos
        .recentAudit(500)
        .filter((a) => a.target === target)
        .slice(0, 20)
        .map(({ ts, operation, outcome, error }) => ({ ts, operation, outcome, error })),
    };
  }
}
