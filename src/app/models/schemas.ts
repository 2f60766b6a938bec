// The models feature's data as the front ends receive it: runtimes, their models and what each
// runtime can do, as plain JSON (the HTTP API documents itself from these schemas).
import { z } from 'zod';
import { runtimeKindSchema } from '../../core/registry/repositories';
import type { RuntimeState } from '../../core/runtimes/catalog';
import { capabilitiesOf, type RuntimeCapabilities, type RuntimeModel } from '../../core/runtimes/runtime';

export const runtimeIdSchema = z.string().min(1);
export const modelNameSchema = z.string().trim().min(1);

/** One model of one runtime: what a batch of actions takes. */
export const targetSchema = z.object({ runtimeId: runtimeIdSchema, name: modelNameSchema });
export type Target = z.infer<typeof targetSchema>;

/** Exactly the core's capabilities: a capability added there fails to compile here until it is listed. */
const capabilitiesSchema = z.object<{ [K in keyof RuntimeCapabilities]-?: z.ZodBoolean }>({
  pull: z.boolean(),
  delete: z.boolean(),
  load: z.boolean(),
  unload: z.boolean(),
  generate: z.boolean(),
  modelfile: z.boolean(),
});

export const modelSchema = z.object({
  name: z.string(),
  sizeBytes: z.number().optional(),
  digest: z.string().optional(),
  family: z.string().optional(),
  parameterSize: z.string().optional(),
  parameterCount: z.number().optional(),
  quantization: z.string().optional(),
  contextLength: z.number().optional(),
  format: z.string().optional(),
  modifiedAt: z.number().optional(),
  file: z.string().optional(),
  loaded: z
    .object({ ramBytes: z.number().optional(), vramBytes: z.number().optional(), expiresAt: z.number().optional(), contextLength: z.number().optional() })
    .optional(),
  status: z.object({ value: z.string(), failed: z.boolean().optional(), detail: z.string().optional() }).optional(),
  problem: z.string().optional(),
  /** Last use known to this process (epoch ms). */
  lastUsedAt: z.number().optional(),
});
type ModelData = z.infer<typeof modelSchema>;

export const runtimeSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: runtimeKindSchema,
  api: z.enum(['ollama', 'openai', 'gguf']),
  baseUrl: z.string(),
  source: z.enum(['container', 'user', 'folder']),
  containerId: z.string().optional(),
  status: z.enum(['pending', 'ok', 'error']),
  error: z.string().optional(),
  version: z.string().optional(),
  capabilities: capabilitiesSchema,
  models: z.array(modelSchema),
});
type RuntimeData = z.infer<typeof runtimeSchema>;

/** The object without its undefined fields: what a front end receives is what JSON would carry. */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function modelData(m: RuntimeModel, lastUsedAt: number | undefined): ModelData {
  return compact({ ...m, loaded: m.loaded && compact({ ...m.loaded }), status: m.status && compact({ ...m.status }), lastUsedAt });
}

export function runtimeData(s: RuntimeState, lastUsed: (runtimeId: string, name: string) => number | undefined): RuntimeData {
  const e = s.endpoint;
  return compact({
    id: e.id,
    name: e.name,
    kind: e.kind,
    api: e.api,
    baseUrl: e.baseUrl,
    source: e.source,
    containerId: e.containerId,
    status: s.status,
    error: s.error,
    version: s.version,
    capabilities: { ...capabilitiesOf(s) },
    models: s.models.map((m) => modelData(m, lastUsed(e.id, m.name))),
  });
}
