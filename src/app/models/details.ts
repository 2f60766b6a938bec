// models.details: what the runtime reports of a model and what the registry remembers of it
// (versions and digests, usage, benchmarks, its audit entries). A registry that cannot be read
// leaves the runtime's part standing, with the reason.
import { z } from 'zod';
import { errorMessage } from '../../core/lifecycle';
import { runtimeKindSchema } from '../../core/registry/repositories';
import { runtimeInput } from '../../core/runtimes/registrySync';
import { splitModelName } from '../../core/runtimes/runtime';
import { defineUseCase } from '../useCase';
import type { ModelsDeps } from './deps';
import { compact, modelData, modelNameSchema, modelSchema, runtimeIdSchema } from './schemas';

/** A benchmark row's measures are nullable REAL columns. */
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

const registrySchema = z.object({
  versions: z.array(z.object({ digest: z.string(), firstSeen: z.number(), lastSeen: z.number(), pinned: z.boolean() })),
  lastUsedAt: z.number().optional(),
  /** Last 30 days, per day and kind. */
  usage: z.array(z.object({ day: z.string(), kind: z.string(), count: z.number(), outputTokens: z.number(), durationMs: z.number() })),
  /** Newest first, at most 20. */
  benchmarks: z.array(z.object({ ts: z.number(), hardware: z.string(), promptSet: z.string(), ttftMs: z.number().nullable(), promptTps: z.number().nullable(), genTps: z.number().nullable() })),
  /** This model's entries, newest first, at most 20. */
  audit: z.array(z.object({ ts: z.number(), operation: z.string(), outcome: z.string(), error: z.string().nullable() })),
});

export const modelDetails = defineUseCase({
  name: 'models.details',
  summary: 'What a runtime reports of a model and what the registry remembers: versions, usage, benchmarks and audit entries.',
  input: z.object({ runtimeId: runtimeIdSchema, name: modelNameSchema }),
  output: z.object({
    name: z.string(),
    /** Absent when the runtime is no longer known. */
    runtime: z.object({ id: z.string(), name: z.string(), kind: runtimeKindSchema, baseUrl: z.string() }).optional(),
    /** Absent when the runtime does not list the model now. */
    model: modelSchema.optional(),
    registry: registrySchema.optional(),
    /** Why the registry could not be read. */
    registryError: z.string().optional(),
  }),
  run: async ({ catalog, registry }: ModelsDeps, { runtimeId, name: full }) => {
    const state = catalog.get(runtimeId);
    const m = catalog.model(runtimeId, full);
    const model = m && modelData(m, catalog.lastUsed(runtimeId, full));
    if (!state) return compact({ name: full, model });
    const e = state.endpoint;
    const runtime = { id: e.id, name: e.name, kind: e.kind, baseUrl: e.baseUrl };
    try {
      const { repos } = await registry();
      const { name, tag } = splitModelName(full);
      const id = repos.modelIdFor(runtimeInput(e), name, tag);
      const target = `${e.name}/${full}`;
      return compact({
        name: full,
        runtime,
        model,
        registry: compact({
          versions: repos.versions(id),
          lastUsedAt: repos.getModel(id)?.last_used_at ?? undefined,
          usage: repos.usageByDay(id, 30).map((u) => ({ ...u })),
          benchmarks: repos.benchmarks(id, 20).map((b) => ({ ts: Number(b.ts), hardware: String(b.hardware), promptSet: String(b.prompt_set), ttftMs: num(b.ttft_ms), promptTps: num(b.prompt_tps), genTps: num(b.gen_tps) })),
          audit: repos
            .recentAudit(500)
            .filter((a) => a.target === target)
            .slice(0, 20)
            .map(({ ts, operation, outcome, error }) => ({ ts, operation, outcome, error })),
        }),
      });
    } catch (err) {
      return compact({ name: full, runtime, model, registryError: errorMessage(err) });
    }
  },
});
