// "Will it fit and how fast here?" for a model a runtime lists: its memory at a context (weights,
// KV cache, overhead; on the GPU, partly, on the CPU, or not at all) and its generation speed
// predicted from this machine's benchmarks of that runtime kind (core/bench/fit.ts).
import { z } from 'zod';
import { calibrate, estimateFit, predictSpeed } from '../../core/bench/fit';
import { factsFromName, type ModelUse, useOfName } from '../../core/bench/names';
import type { RegistryRepositories } from '../../core/registry/repositories';
import { type ModelRuntimeKind, type RuntimeModel, splitModelName } from '../../core/runtimes/runtime';
import type { HardwareInfo } from '../../core/stack/types';
import { CatalogError } from '../../core/runtimes/catalog';
import { modelFactsFromGguf, modelFactsFromMetadata, type ModelFacts } from '../../core/stack/resolve';
import { defineUseCase } from '../useCase';
import { modelNameSchema, runtimeIdSchema } from '../models/schemas';
import { hardwareFingerprint, type BenchDeps } from './useCases';

const DEFAULT_FIT_CONTEXT = 8192;

type FactsSource = 'gguf' | 'runtime' | 'listing' | 'name';

/**
 * What a model is: the GGUF header where the file can be read (layers, the KV cache's shape), else
 * the metadata the runtime reports (`info`: Ollama's show), else what the runtime's listing says.
 */
export async function modelFactsOf(model: RuntimeModel, info?: () => Promise<Readonly<Record<string, unknown>> | undefined>): Promise<ModelFacts & { source: FactsSource }> {
  const fromFile = model.file ? await modelFactsFromGguf(model.file) : undefined;
  if (fromFile) return { ...fromFile, source: 'gguf' };
  const meta = info ? await info() : undefined;
  const fromRuntime = meta ? modelFactsFromMetadata(meta, model.sizeBytes) : undefined;
  if (fromRuntime?.layers) return { trainedContext: model.contextLength, ...fromRuntime, name: model.name, source: 'runtime' };
  return { sizeBytes: model.sizeBytes, trainedContext: model.contextLength, name: model.name, source: 'listing' };
}

const factsSchema = z.object({ layers: z.number().optional(), sizeBytes: z.number().optional(), trainedContext: z.number().optional(), kvBytesPerToken: z.number().optional(), source: z.enum(['gguf', 'runtime', 'listing', 'name']) });
const fitSchema = z.object({ contextSize: z.number(), layers: z.number().optional(), gpuLayers: z.number(), weightsBytes: z.number().optional(), kvBytes: z.number(), kvEstimated: z.boolean(), overheadBytes: z.number(), ramBytes: z.number(), vramBytes: z.number(), verdict: z.enum(['gpu', 'partial', 'cpu', 'too-big', 'unknown']), text: z.string() });
const speedSchema = z.object({ tokensPerSecond: z.number(), low: z.number(), high: z.number(), basis: z.enum(['history', 'first guess']), text: z.string() });
const calibrationSchema = z.object({ overheadBytes: z.number(), measurements: z.number(), errorPct: z.number().optional(), text: z.string() });

interface Here {
  readonly hw: HardwareInfo;
  readonly hardware: string;
  readonly repos: RegistryRepositories;
  /** Calibration and speed history per runtime kind, read once per call (a ranking asks for many models of one kind). */
  readonly byKind: Map<ModelRuntimeKind, { calibration: ReturnType<typeof calibrate>; speeds: { genTps: number; sizeBytes: number }[] }>;
}

/**
 * Memory and speed of a model on this machine: the fit at a context with the overhead calibrated
 * on this machine's loads of that runtime kind, and the speed from its benchmarks of that kind.
 */
function estimateHere(here: Here, kind: ModelRuntimeKind, facts: ModelFacts, o: { contextSize?: number; cacheType?: string; gpuLayers?: number }) {
  let k = here.byKind.get(kind);
  if (!k) here.byKind.set(kind, (k = { calibration: calibrate(here.repos.loadMeasurements(here.hardware, kind)), speeds: here.repos.benchmarkSpeeds(here.hardware, kind) }));
  const { calibration } = k;
  const contextSize = o.contextSize ?? Math.min(facts.trainedContext ?? DEFAULT_FIT_CONTEXT, DEFAULT_FIT_CONTEXT);
  const estimate = estimateFit(facts, { contextSize, cacheType: o.cacheType, gpuLayers: o.gpuLayers, overheadBytes: calibration?.overheadBytes }, here.hw);
  const fit = calibration ? { ...estimate, text: `${estimate.text} (${calibration.text})` } : estimate;
  const speed = facts.sizeBytes ? predictSpeed(k.speeds, facts.sizeBytes, fit.vramBytes > 0) : undefined;
  return { fit, speed, calibration };
}

async function here(deps: BenchDeps): Promise<Here> {
  const hw = await deps.hardware.get();
  return { hw, hardware: hardwareFingerprint(hw), repos: await deps.repos(), byKind: new Map() };
}

const factsOut = (f: ModelFacts, source: FactsSource) => ({ layers: f.layers, sizeBytes: f.sizeBytes, trainedContext: f.trainedContext, kvBytesPerToken: f.kvBytesPerToken, source });

export const fitModel = defineUseCase({
  name: 'models.fit',
  summary: "Whether a model fits on this machine at a context (VRAM, RAM, layers on the GPU) and its generation speed here, predicted from this machine's benchmarks (or a stated first guess). A name the runtime does not list (yet) is estimated from what the name says (parameters, quantization).",
  input: z.object({
    /** The runtime whose kind calibrates the estimate; absent: the one that lists the model, else Ollama's figures. */
    runtimeId: runtimeIdSchema.optional(),
    name: modelNameSchema,
    contextSize: z.number().int().min(128).max(1_048_576).optional(),
    cacheType: z.enum(['f16', 'bf16', 'f32', 'q8_0', 'q4_0']).default('f16'),
    gpuLayers: z.number().int().min(0).max(1000).optional(),
  }),
  output: z.object({
    model: z.string(),
    facts: factsSchema,
    fit: fitSchema,
    speed: speedSchema.optional(),
    calibration: calibrationSchema.optional(),
  }),
  run: async (deps: BenchDeps, input) => {
    const listed = (m: RuntimeModel) => m.name === input.name || m.name === `${input.name}:latest`;
    const state = input.runtimeId ? deps.catalog.get(input.runtimeId) : deps.catalog.list().find((st) => st.models.some(listed));
    if (input.runtimeId && !state) throw new CatalogError(`The runtime ${input.runtimeId} is not known; \`llmstack models ls\` lists them.`, 'not-found');
    const model = state?.models.find(listed);
    const facts = model && state ? await modelFactsOf(model, () => deps.catalog.modelInfo(state.endpoint.id, model.name)) : { ...factsFromName(input.name), source: 'name' as const };
    if (!model && !facts.sizeBytes) throw new CatalogError(`${state ? `${state.endpoint.name} does not list` : 'No runtime lists'} ${input.name}, and its name gives no size (such as 7b or 270m) to estimate from.`, 'not-found');
    const h = await here(deps);
    const e = estimateHere(h, state?.endpoint.kind ?? 'ollama', facts, input);
    const guess = facts.source === 'name' ? `, sized from its name (${(facts as { quantization?: string }).quantization ?? 'Q4_K_M'})` : '';
    return { model: model?.name ?? input.name, facts: factsOut(facts, facts.source), ...e, fit: { ...e.fit, text: `${e.fit.text}${guess}` } };
  },
});

const USE_SPEED: Record<ModelUse, number> = { chat: 10, code: 15, embedding: 0 };

/**
 * "Recommended for this machine": the models the runtimes list and names the user typed, ranked
 * for a use. What does not fit comes last; then models made for the use before others; then, of
 * those fast enough for it (10 tokens/s for chat, 15 for code completion), the largest (more
 * parameters answer better), else the fastest.
 */
export const recommendModels = defineUseCase({
  name: 'models.recommend',
  summary: 'Ranks the local models and names typed for a use (chat, code, embedding) by fit and predicted speed on this machine, with the reasons.',
  input: z.object({
    use: z.enum(['chat', 'code', 'embedding']).default('chat'),
    names: z.array(modelNameSchema).max(50).default([]),
    contextSize: z.number().int().min(128).max(1_048_576).default(DEFAULT_FIT_CONTEXT),
    limit: z.number().int().min(1).max(200).default(20),
  }),
  output: z.object({
    use: z.enum(['chat', 'code', 'embedding']),
    models: z.array(
      z.object({
        name: z.string(),
        runtimeId: z.string().optional(),
        runtime: z.string().optional(),
        pulled: z.boolean(),
        sizeBytes: z.number().optional(),
        verdict: fitSchema.shape.verdict,
        tokensPerSecond: z.number().optional(),
        score: z.number(),
        reasons: z.array(z.string()),
      }),
    ),
  }),
  run: async (deps: BenchDeps, input) => {
    const h = await here(deps);
    const candidates: { name: string; state?: { id: string; name: string; kind: ModelRuntimeKind }; facts: ModelFacts; source: FactsSource }[] = [];
    for (const st of deps.catalog.list()) {
      for (const m of st.models) {
        const facts = await modelFactsOf(m, () => deps.catalog.modelInfo(st.endpoint.id, m.name));
        candidates.push({ name: m.name, state: { id: st.endpoint.id, name: st.endpoint.name, kind: st.endpoint.kind }, facts, source: facts.source });
      }
    }
    const local = new Set(candidates.map((c) => c.name));
    for (const n of input.names) if (!local.has(n) && !local.has(`${n}:latest`)) candidates.push({ name: n, facts: factsFromName(n), source: 'name' });
    const verdictRank = { gpu: 4, partial: 3, cpu: 2, unknown: 1, 'too-big': 0 } as const;
    const ranked = candidates.map((c) => {
      const use = useOfName(c.name);
      const { fit, speed } = estimateHere(h, c.state?.kind ?? 'ollama', c.facts, { contextSize: input.contextSize });
      const tps = speed?.tokensPerSecond;
      const fast = input.use === 'embedding' || (tps ?? 0) >= USE_SPEED[input.use];
      const reasons = [fit.text];
      if (speed) reasons.push(speed.text);
      reasons.push(use === input.use ? `made for ${use}` : `${use === 'embedding' ? 'an' : 'a'} ${use} model, not made for ${input.use}`);
      reasons.push(c.state ? `already in ${c.state.name}` : `not pulled${c.facts.sizeBytes ? `: about ${(c.facts.sizeBytes / 1e9).toFixed(1)} GB to download` : ''}`);
      if (!fast && tps !== undefined && fit.verdict !== 'too-big') reasons.push(`slower than the ${USE_SPEED[input.use]} tokens/s ${input.use} needs`);
      // Fit first, then the use, then speed enough, then size (bigger answers better) or speed.
      const score = verdictRank[fit.verdict] * 1000 + (use === input.use ? 500 : 0) + (fast ? 200 : 0) + Math.min(199, fast ? (c.facts.sizeBytes ?? 0) / 1e8 : (tps ?? 0));
      return { name: c.name, runtimeId: c.state?.id, runtime: c.state?.name, pulled: !!c.state, sizeBytes: c.facts.sizeBytes, verdict: fit.verdict, tokensPerSecond: tps, score: Math.round(score * 10) / 10, reasons };
    });
    ranked.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
    return { use: input.use, models: ranked.slice(0, input.limit) };
  },
});

/** Models not used in `days` days that a runtime still lists, largest first, with the disk they would free. */
export const unusedModels = defineUseCase({
  name: 'models.unused',
  summary: 'Models not used (loaded, asked, benchmarked) in N days that a runtime still lists, largest first, with the disk removing them would free. Nothing is removed: models.delete does that, after asking.',
  input: z.object({ days: z.number().int().min(1).max(3650).default(30) }),
  output: z.object({
    days: z.number(),
    models: z.array(z.object({ runtimeId: z.string(), runtime: z.string(), name: z.string(), sizeBytes: z.number().optional(), lastUsedAt: z.number().optional() })),
    freeBytes: z.number(),
  }),
  run: async (deps: BenchDeps, input) => {
    const repos = await deps.repos();
    const rows = new Map(repos.unusedModels(input.days, Date.now(), 1000).map((r) => [`${r.runtimeId}\u0000${r.name}\u0000${r.tag}`, r]));
    const runtimes = repos.listRuntimes();
    const out: { runtimeId: string; runtime: string; name: string; sizeBytes?: number; lastUsedAt?: number }[] = [];
    for (const st of deps.catalog.list()) {
      const rt = runtimes.find((r) => r.kind === st.endpoint.kind && r.endpoint === st.endpoint.baseUrl);
      if (!rt) continue;
      for (const m of st.models) {
        const { name, tag } = splitModelName(m.name);
        const row = rows.get(`${rt.id}\u0000${name}\u0000${tag}`);
        if (row) out.push({ runtimeId: st.endpoint.id, runtime: st.endpoint.name, name: m.name, sizeBytes: m.sizeBytes ?? row.sizeBytes ?? undefined, lastUsedAt: row.lastUsedAt ?? undefined });
      }
    }
    out.sort((a, b) => (b.sizeBytes ?? 0) - (a.sizeBytes ?? 0) || a.name.localeCompare(b.name));
    return { days: input.days, models: out, freeBytes: out.reduce((a, m) => a + (m.sizeBytes ?? 0), 0) };
  },
});
