// models.delete, models.load, models.unload: one action on several models, in parallel, each
// model's outcome reported apart (one failure does not stop the others).
import { z } from 'zod';
import { errorMessage } from '../../core/lifecycle';
import { defineUseCase } from '../useCase';
import type { ModelsDeps } from './deps';
import { type Target, targetSchema } from './schemas';

const actionResultSchema = z.object({
  runtimeId: z.string(),
  name: z.string(),
  ok: z.boolean(),
  /** Why it failed. */
  error: z.string().optional(),
});
const output = z.object({ results: z.array(actionResultSchema) });
const models = z.array(targetSchema).min(1);

async function each(targets: readonly Target[], fn: (t: Target) => Promise<void>): Promise<z.input<typeof output>> {
  // async: a synchronous throw fails that model only.
  const settled = await Promise.allSettled(targets.map(async (t) => fn(t)));
  return {
    results: settled.map((r, i) => ({ runtimeId: targets[i].runtimeId, name: targets[i].name, ...(r.status === 'fulfilled' ? { ok: true } : { ok: false, error: errorMessage(r.reason) }) })),
  };
}

export const deleteModels = defineUseCase({
  name: 'models.delete',
  summary: "Deletes models from their runtimes (the registry keeps their history). The front end asks first.",
  input: z.object({ models }),
  output,
  run: ({ catalog }: ModelsDeps, input) => each(input.models, (t) => catalog.delete(t.runtimeId, t.name)),
});

export const loadModels = defineUseCase({
  name: 'models.load',
  summary: 'Loads models into memory on runtimes that can (Ollama, a llama.cpp router).',
  input: z.object({
    models,
    /** How long the runtime keeps it after the last use (Ollama's keep_alive: "30m", seconds, -1 for ever). */
    keepAlive: z.union([z.string().min(1), z.number()]).optional(),
  }),
  output,
  run: ({ catalog }: ModelsDeps, input) => each(input.models, (t) => catalog.load(t.runtimeId, t.name, input.keepAlive)),
});

export const unloadModels = defineUseCase({
  name: 'models.unload',
  summary: 'Unloads models from memory on runtimes that can.',
  input: z.object({ models }),
  output,
  run: ({ catalog }: ModelsDeps, input) => each(input.models, (t) => catalog.unload(t.runtimeId, t.name)),
});
