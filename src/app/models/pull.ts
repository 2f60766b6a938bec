// models.pull: one or several models into a runtime, in parallel, with bytes, speed and time left.
// Each name ends pulled, cancelled or failed on its own: one bad name does not stop the others, and
// a cancelled pull leaves its partial download, so pulling again resumes where it stopped.
import { z } from 'zod';
import { errorMessage } from '../../core/lifecycle';
import { CatalogError } from '../../core/runtimes/catalog';
import { defineUseCase } from '../useCase';
import type { ModelsDeps } from './deps';
import { modelNameSchema, runtimeIdSchema } from './schemas';

const pullResultSchema = z.object({
  name: z.string(),
  outcome: z.enum(['pulled', 'cancelled', 'failed']),
  /** Why it failed. */
  error: z.string().optional(),
  /** A cancelled pull keeps what it downloaded: the next pull of the name resumes there. */
  resumable: z.boolean().optional(),
});
type PullResult = z.infer<typeof pullResultSchema>;

export const pullModels = defineUseCase({
  name: 'models.pull',
  summary: 'Pulls one or several models into a runtime that can pull (Ollama), in parallel, reporting bytes and time left.',
  input: z.object({
    runtimeId: runtimeIdSchema,
    /** As the runtime knows them (name or name:tag); repeated names are pulled once. */
    names: z.array(modelNameSchema).min(1),
  }),
  output: z.object({ runtimeId: z.string(), runtimeName: z.string(), results: z.array(pullResultSchema) }),
  run: async ({ catalog }: ModelsDeps, { runtimeId, names }, { signal, progress }) => {
    const state = catalog.get(runtimeId);
    if (!state) throw new CatalogError(`The runtime ${runtimeId} is no longer known; refresh the Models view.`, 'not-found');
    const unique = [...new Set(names)];
    // Several at once share one report: each name's own line, the fraction over all of them.
    const fractions = new Map<string, number>();
    const results = await Promise.all(
      unique.map(async (name): Promise<PullResult> => {
        try {
          await catalog.pull(
            runtimeId,
            name,
            (s) => {
              if (s.fraction !== undefined) fractions.set(name, s.fraction);
              const fraction = unique.length === 1 ? s.fraction : [...fractions.values()].reduce((a, b) => a + b, 0) / unique.length;
              progress?.({
                message: unique.length === 1 ? s.message : `${name}: ${s.message}`,
                fraction: fraction === undefined ? undefined : Math.min(1, Math.max(0, fraction)),
                ...(unique.length === 1 && s.total ? { completed: s.completed, total: s.total } : {}),
              });
            },
            signal,
          );
          return { name, outcome: 'pulled' };
        } catch (e) {
          if (signal?.aborted) return { name, outcome: 'cancelled', resumable: true };
          return { name, outcome: 'failed', error: errorMessage(e) };
        }
      }),
    );
    return { runtimeId, runtimeName: state.endpoint.name, results };
  },
});
