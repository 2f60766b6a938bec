// The registry port as use cases: how a client of the service (an editor window, with its own view
// of the runtimes) has the service record what it saw and did, so that one process writes the file.
import { z } from 'zod';
import { digestSchema, runtimeKindSchema } from '../../core/registry/repositories';
import type { RuntimeEndpoint, RuntimeModel } from '../../core/runtimes/runtime';
import type { UsageDetail, UsageKind } from '../../core/runtimes/catalog';
import { defineUseCase } from '../useCase';
import { modelHistorySchema, type RegistryPort } from './port';

interface RegistryPortDeps {
  readonly port: RegistryPort;
  /**
   * Told of each use a client recorded (after it is recorded): the service charts a generation's
   * speed and lists the runtime again, so its idle handling sees a model another process loaded.
   */
  readonly onRecordedUsage?: (endpointId: string, model: string, kind: UsageKind, detail: UsageDetail) => void;
}

/** The facts of a runtime the registry keeps (its id keys the listing cache). */
const endpointSchema = z.object({
  id: z.string().min(1).max(3000),
  kind: runtimeKindSchema,
  api: z.enum(['ollama', 'openai', 'gguf']),
  name: z.string().min(1).max(300),
  baseUrl: z.string().min(1).max(2000),
  source: z.enum(['container', 'user', 'folder']),
  containerId: z.string().max(128).optional(),
});

/** The facts of a model the registry keeps (what a listing says of it). */
const modelSchema = z.object({
  name: z.string().min(1).max(500),
  sizeBytes: z.number().nonnegative().optional(),
  digest: z.string().max(200).optional(),
  family: z.string().max(200).optional(),
  parameterSize: z.string().max(50).optional(),
  parameterCount: z.number().nonnegative().optional(),
  quantization: z.string().max(100).optional(),
  contextLength: z.number().nonnegative().optional(),
  format: z.string().max(100).optional(),
  file: z.string().max(4000).optional(),
});

const asEndpoint = (e: z.output<typeof endpointSchema>) => e as RuntimeEndpoint;
const asModel = (m: z.output<typeof modelSchema>) => m as RuntimeModel;

const syncListing = defineUseCase({
  name: 'registry.syncListing',
  summary: "Keeps the registry's models and versions in step with a runtime's listing; answers each model's last use.",
  input: z.object({ endpoint: endpointSchema, models: z.array(modelSchema).max(10_000) }),
  output: z.object({ lastUsed: z.record(z.string(), z.number()) }),
  run: async ({ port }: RegistryPortDeps, input) => ({ lastUsed: Object.fromEntries(await port.syncListing(asEndpoint(input.endpoint), { models: input.models.map(asModel) })) }),
});

const recordUsage = defineUseCase({
  name: 'registry.recordUsage',
  summary: 'Records one use of a model (a load, an unload, a generation, a pull or a delete) with its figures.',
  input: z.object({
    endpoint: endpointSchema,
    model: z.string().min(1).max(500),
    kind: z.enum(['load', 'unload', 'generate', 'pull', 'delete']),
    detail: z.object({ durationMs: z.number().optional(), promptTokens: z.number().optional(), outputTokens: z.number().optional() }).default({}),
  }),
  output: z.object({ recorded: z.literal(true) }),
  run: async ({ port, onRecordedUsage }: RegistryPortDeps, input) => {
    await port.recordUsage(asEndpoint(input.endpoint), input.model, input.kind, input.detail);
    onRecordedUsage?.(input.endpoint.id, input.model, input.kind, input.detail);
    return { recorded: true as const };
  },
});

const recordedDigest = defineUseCase({
  name: 'registry.recordedDigest',
  summary: "The digest the registry recorded as a model's reference, if any.",
  input: z.object({ endpoint: endpointSchema, model: modelSchema }),
  output: z.object({ digest: z.string().optional() }),
  run: async ({ port }: RegistryPortDeps, input) => {
    const digest = await port.recordedDigest(asEndpoint(input.endpoint), asModel(input.model));
    return digest ? { digest } : {};
  },
});

const recordDigest = defineUseCase({
  name: 'registry.recordDigest',
  summary: "Records a digest as a model's reference (after a first check, or accepting a changed file).",
  input: z.object({ endpoint: endpointSchema, model: modelSchema, digest: digestSchema }),
  output: z.object({ recorded: z.literal(true) }),
  run: async ({ port, onRecordedUsage }: RegistryPortDeps, input) => {
    await port.recordDigest(asEndpoint(input.endpoint), asModel(input.model), input.digest);
    return { recorded: true as const };
  },
});

const modelHistory = defineUseCase({
  name: 'registry.modelHistory',
  summary: 'What the registry remembers of a model: versions, last use, usage per day, benchmarks, audit entries.',
  input: z.object({ endpoint: endpointSchema, name: z.string().min(1).max(500) }),
  output: modelHistorySchema,
  run: ({ port }: RegistryPortDeps, input) => port.history(asEndpoint(input.endpoint), input.name),
});

/** What the service registers for its clients' registry writes. */
export const registryPortUseCases = [syncListing, recordUsage, recordedDigest, recordDigest, modelHistory] as const;

/** An endpoint as these use cases take it (only the facts the registry keeps). */
export function endpointFacts(e: RuntimeEndpoint): z.input<typeof endpointSchema> {
  return { id: e.id, kind: e.kind, api: e.api, name: e.name, baseUrl: e.baseUrl, source: e.source, ...(e.containerId ? { containerId: e.containerId } : {}) };
}

/** A model as these use cases take it. */
export function modelFacts(m: RuntimeModel): z.input<typeof modelSchema> {
  const { name, sizeBytes, digest, family, parameterSize, parameterCount, quantization, contextLength, format, file } = m;
  return Object.fromEntries(Object.entries({ name, sizeBytes, digest, family, parameterSize, parameterCount, quantization, contextLength, format, file }).filter(([, v]) => v !== undefined)) as z.input<typeof modelSchema>;
}
