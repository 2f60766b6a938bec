// "Will it fit and how fast here?" for a model a runtime lists: its memory at a context (weights,
// KV cache, overhead; on the GPU, partly, on the CPU, or not at all) and its generation speed
// predicted from this machine's benchmarks of that runtime kind (core/bench/fit.ts).
import { z } from 'zod';
import { calibrate, estimateFit, predictSpeed } from '../../core/bench/fit';
import type { RuntimeModel } from '../../core/runtimes/runtime';
import { CatalogError } from '../../core/runtimes/catalog';
import { modelFactsFromGguf, type ModelFacts } from '../../core/stack/resolve';
import { defineUseCase } from '../useCase';
import { modelNameSchema, runtimeIdSchema } from '../models/schemas';
import { hardwareFingerprint, type BenchDeps } from './useCases';

const DEFAULT_FIT_CONTEXT = 8192;

/** What a model is: the GGUF header where the file can be read (layers, the KV cache's shape), else what the runtime's listing says. */
export async function modelFactsOf(model: RuntimeModel): Promise<ModelFacts & { source: 'gguf' | 'listing' }> {
  const fromFile = model.file ? await modelFactsFromGguf(model.file) : undefined;
  return fromFile ? { ...fromFile, source: 'gguf' } : { sizeBytes: model.sizeBytes, trainedContext: model.contextLength, name: model.name, source: 'listing' };
}

export const fitModel = defineUseCase({
  name: 'models.fit',
  summary: 'Whether a model fits on this machine at a context (VRAM, RAM, layers on the GPU) and its generation speed here, predicted from this machine\'s benchmarks (or a stated first guess).',
  input: z.object({
    runtimeId: runtimeIdSchema,
    name: modelNameSchema,
    contextSize: z.number().int().min(128).max(1_048_576).optional(),
    cacheType: z.enum(['f16', 'bf16', 'f32', 'q8_0', 'q4_0']).default('f16'),
    gpuLayers: z.number().int().min(0).max(1000).optional(),
  }),
  output: z.object({
    model: z.string(),
    facts: z.object({ layers: z.number().optional(), sizeBytes: z.number().optional(), trainedContext: z.number().optional(), kvBytesPerToken: z.number().optional(), source: z.enum(['gguf', 'listing']) }),
    fit: z.object({ contextSize: z.number(), layers: z.number().optional(), gpuLayers: z.number(), weightsBytes: z.number().optional(), kvBytes: z.number(), kvEstimated: z.boolean(), overheadBytes: z.number(), ramBytes: z.number(), vramBytes: z.number(), verdict: z.enum(['gpu', 'partial', 'cpu', 'too-big', 'unknown']), text: z.string() }),
    speed: z.object({ tokensPerSecond: z.number(), low: z.number(), high: z.number(), basis: z.enum(['history', 'first guess']), text: z.string() }).optional(),
    calibration: z.object({ overheadBytes: z.number(), measurements: z.number(), errorPct: z.number().optional(), text: z.string() }).optional(),
  }),
  run: async (deps: BenchDeps, input) => {
    const state = deps.catalog.get(input.runtimeId);
    if (!state) throw new CatalogError(`The runtime ${input.runtimeId} is not known; \`llmstack models ls\` lists them.`, 'not-found');
    const model = state.models.find((m) => m.name === input.name || m.name === `${input.name}:latest`);
    if (!model) throw new CatalogError(`${state.endpoint.name} does not list ${input.name}.`, 'not-found');
    const facts = await modelFactsOf(model);
    const hw = await deps.hardware.get();
    const hardware = hardwareFingerprint(hw);
    const repos = await deps.repos();
    const calibration = calibrate(repos.loadMeasurements(hardware, state.endpoint.kind));
    const contextSize = input.contextSize ?? Math.min(facts.trainedContext ?? DEFAULT_FIT_CONTEXT, DEFAULT_FIT_CONTEXT);
    const estimate = estimateFit(facts, { contextSize, cacheType: input.cacheType, gpuLayers: input.gpuLayers, overheadBytes: calibration?.overheadBytes }, hw);
    const fit = calibration ? { ...estimate, text: `${estimate.text} (${calibration.text})` } : estimate;
    const speed = facts.sizeBytes ? predictSpeed(repos.benchmarkSpeeds(hardware, state.endpoint.kind), facts.sizeBytes, fit.vramBytes > 0) : undefined;
    return {
      model: model.name,
      facts: { layers: facts.layers, sizeBytes: facts.sizeBytes, trainedContext: facts.trainedContext, kvBytesPerToken: facts.kvBytesPerToken, source: facts.source },
      fit,
      speed,
      calibration,
    };
  },
});
