// models.details: what the runtime reports of a model and what the registry remembers of it
// (versions and digests, usage, benchmarks, its audit entries). A registry that cannot be read
// leaves the runtime's part standing, with the reason.
import { z } from 'zod';
import { errorMessage } from '../../core/lifecycle';
import { runtimeKindSchema } from '../../core/registry/repositories';
import { modelHistorySchema } from '../registry/port';
import { defineUseCase } from '../useCase';
import type { ModelsDeps } from './deps';
import { compact, modelData, modelNameSchema, modelSchema, runtimeIdSchema } from './schemas';

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
    registry: modelHistorySchema.optional(),
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
      return compact({ name: full, runtime, model, registry: compact(await registry.history(e, full)) });
    } catch (err) {
      return compact({ name: full, runtime, model, registryError: errorMessage(err) });
    }
  },
});
