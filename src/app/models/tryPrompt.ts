// models.tryPrompt: one short generation, to see that a model answers and how fast.
import { z } from 'zod';
import { errorMessage } from '../../core/lifecycle';
import { Cancelled, defineUseCase } from '../useCase';
import type { ModelsDeps } from './deps';
import { tokensPerSecond } from './rules';
import { compact, modelNameSchema, runtimeIdSchema } from './schemas';

export const tryPrompt = defineUseCase({
  name: 'models.tryPrompt',
  summary: 'Generates a short answer to a prompt with a model and reports its token counts, duration and speed.',
  input: z.object({
    runtimeId: runtimeIdSchema,
    name: modelNameSchema,
    prompt: z.string().min(1),
    maxTokens: z.number().int().positive().default(64),
  }),
  output: z.object({
    /** The answer, without the reasoning. */
    text: z.string(),
    /** A thinking model's reasoning, apart from the answer (a short budget may end inside it). */
    thinking: z.string().optional(),
    promptTokens: z.number().optional(),
    outputTokens: z.number().optional(),
    durationMs: z.number(),
    tokensPerSecond: z.number().optional(),
  }),
  run: async ({ catalog }: ModelsDeps, { runtimeId, name, prompt, maxTokens }, { signal }) => {
    try {
      const out = await catalog.generate(runtimeId, name, prompt, { maxTokens, signal });
      return compact({ ...out, tokensPerSecond: tokensPerSecond(out.outputTokens, out.durationMs) });
    } catch (e) {
      // Said as the runtime's client says it ("Generating with x was cancelled.").
      if (signal?.aborted) throw Object.assign(new Cancelled(`Generating with ${name}`), { message: errorMessage(e) });
      throw e;
    }
  },
});
