// models.list: the runtimes and their models as the catalog has them, listed again on request.
import { z } from 'zod';
import { CatalogError } from '../../core/runtimes/catalog';
import { defineUseCase } from '../useCase';
import type { ModelsDeps } from './deps';
import { runtimeData, runtimeIdSchema, runtimeSchema } from './schemas';

export const listModels = defineUseCase({
  name: 'models.list',
  summary: 'Lists the known model runtimes with their models, loaded state and what each runtime can do.',
  input: z.object({
    /** One runtime; all when left out. */
    runtimeId: runtimeIdSchema.optional(),
    /** Ask the runtimes again before answering (otherwise the last listing). */
    refresh: z.boolean().default(false),
  }),
  output: z.object({ runtimes: z.array(runtimeSchema) }),
  run: async ({ catalog }: ModelsDeps, { runtimeId, refresh }) => {
    if (runtimeId !== undefined && !catalog.get(runtimeId)) throw new CatalogError(`The runtime ${runtimeId} is no longer known; refresh the Models view.`, 'not-found');
    if (refresh) await catalog.refresh(runtimeId);
    const states = runtimeId === undefined ? catalog.list() : [catalog.get(runtimeId)].filter((s) => !!s);
    return { runtimes: states.map((s) => runtimeData(s, (id, name) => catalog.lastUsed(id, name))) };
  },
});
