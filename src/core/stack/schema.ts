// The stack file (llmstack.yaml / llmstack.json), written once in zod. The JSON Schema contributed to
// VS Code is generated from these schemas (scripts/gen-stack-schema.mjs), so the two never disagree.
import { z } from 'zod';

export const STACK_FILE_VERSION = 1;

/** Labels every container, network and volume of a stack carries. */
export const LABEL_STACK = 'io.llmstack.stack';
export const LABEL_SERVICE = 'io.llmstack.service';
/** sha256 of the container's canonical desired configuration: a different hash means recreate. */
export const LABEL_CONFIG_HASH = 'io.llmstack.config-hash';
/** On a runtime container: the models its stack keeps loaded (comma-separated); never idle-unloaded. */
export const LABEL_KEEP_LOADED = 'io.llmstack.keep-loaded';

/** Runtime kinds a stack can run; each maps `params` to its own flags or environment. */
export const stackRuntimeKinds = ['ollama', 'llamacpp', 'vllm', 'tgi', 'localai', 'other'] as const;
export type StackRuntimeKind = (typeof stackRuntimeKinds)[number];
const stackUiKinds = ['openwebui', 'other'] as const;

/** Service and stack names become container, network and volume names: Docker's rules, lower case. */
export const nameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'use 1–63 lower-case letters, digits, "-", "_" or ".", starting with a letter or digit');

/** "10s", "1m30s", "500ms" (Docker/Compose duration) or a number of seconds. */
const durationSchema = z.union([
  z.number().nonnegative().describe('seconds'),
  z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h))+$/, 'a duration such as "10s", "1m30s" or "500ms"'),
]);
export type Duration = z.infer<typeof durationSchema>;

/**
 * A published port: "8080" (same port inside), "8080:80", "0.0.0.0:8080:80", optionally "/udp",
 * or the long form. Without a host IP the port binds 127.0.0.1, never every interface.
 */
const portStringSchema = z
  .string()
  .regex(
    /^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(?:\d{1,5}:)?\d{1,5}(?:\/(?:tcp|udp))?$/,
    'a port such as "8080", "8080:80" or "127.0.0.1:8080:80"',
  );
const portObjectSchema = z.strictObject({
  container: z.number().int().min(1).max(65535).describe('Port inside the container'),
  host: z.number().int().min(0).max(65535).optional().describe('Port on this machine (absent: the container port; 0: any free port)'),
  hostIp: z.string().optional().describe('Address to bind (default 127.0.0.1)'),
  protocol: z.enum(['tcp', 'udp']).optional(),
});
const portSchema = z.union([portStringSchema, portObjectSchema]);
export type PortSpec = z.infer<typeof portSchema>;

/** "name:/path" (a named volume of the stack), "/host/path:/path[:ro]" or "./relative:/path" (bind mount). */
const volumeSchema = z.string().regex(/^[^:]+:\/[^:]*(?::(?:ro|rw))?$/, 'a volume such as "models:/root/.ollama" or "./models:/models:ro"');

/** "auto" fills the value from the detected hardware (an explanation is shown on hover). */
const autoOr = <T extends z.ZodType>(t: T) => z.union([z.literal('auto'), t]);

const gpuSchema = z
  .union([
    z.enum(['auto', 'none', 'all']),
    z.strictObject({
      count: z.number().int().positive().optional().describe('Number of GPUs'),
      devices: z.array(z.string()).min(1).optional().describe('GPU indexes or UUIDs'),
    }),
  ])
  .describe('GPU use: "none" (also when absent), "all", "auto" (all NVIDIA GPUs when there are any), or a count / device list');
export type GpuSpec = z.infer<typeof gpuSchema>;

const healthcheckSchema = z.strictObject({
  test: z
    .union([z.string().min(1), z.array(z.string()).min(1)])
    .describe('A shell command (string, run with /bin/sh -c), or ["CMD", ...] / ["CMD-SHELL", "..."] as in Docker'),
  interval: durationSchema.optional(),
  timeout: durationSchema.optional(),
  retries: z.number().int().positive().optional(),
  startPeriod: durationSchema.optional(),
});
export type HealthcheckSpec = z.infer<typeof healthcheckSchema>;

const restartSchema = z.enum(['no', 'always', 'unless-stopped', 'on-failure']);

const envValue = z.union([z.string(), z.number(), z.boolean()]);

/** Fields every service (runtime or UI) has. */
const serviceFields = {
  image: z.string().min(1).describe('Container image; it must be present locally or pullable'),
  ports: z.array(portSchema).optional().describe('Published ports; bound to 127.0.0.1 unless an address is given'),
  volumes: z.array(volumeSchema).optional(),
  env: z.record(z.string(), envValue).optional().describe('Environment variables'),
  command: z.union([z.string(), z.array(z.string())]).optional().describe('Arguments passed to the image entrypoint'),
  healthcheck: healthcheckSchema.optional(),
  restart: restartSchema.optional().describe('Restart policy (default unless-stopped)'),
  dependsOn: z.array(nameSchema).optional().describe('Services started (and healthy, when they have a healthcheck) before this one'),
  state: z.enum(['running', 'stopped']).optional().describe('Desired state (default running)'),
  labels: z.record(z.string(), z.string()).optional(),
  shmSize: z
    .union([
      z.number().int().positive().describe('bytes'),
      // A size of zero would mean Docker's default here but no limit in a Swarm tmpfs: refused.
      z.string().regex(/^(?!0*(\.0*)?\s*[kKmMgG]?[bB]?$)\d+(\.\d+)?\s*[kKmMgG]?[bB]?$/, 'a size above zero such as "1g", "512m" or a number of bytes'),
    ])
    .optional()
    .describe('Size of /dev/shm (Docker default 64 MB); vLLM and TGI want 1g or more'),
};

const modelEntrySchema = z.union([
  z.string().min(1),
  z.strictObject({
    name: z.string().min(1).describe('Model name as the runtime knows it (e.g. llama3.2:1b, or a GGUF file path inside the container)'),
    pull: z
      .union([z.boolean(), z.literal('idle')])
      .optional()
      .describe('Pull when missing (default true, runtimes that can pull); "idle": not at apply but later, once no model has been used for a while'),
    keepLoaded: z.boolean().optional().describe('Load after apply and keep loaded'),
  }),
]);
export type ModelEntry = z.infer<typeof modelEntrySchema>;

/** `auto` on a parameter the runtime kind does not take at container level is left to the runtime. */
const paramsSchema = z.strictObject({
  threads: autoOr(z.number().int().positive()).optional().describe('CPU threads for inference'),
  gpuLayers: autoOr(z.number().int().nonnegative()).optional().describe('Layers offloaded to the GPU'),
  contextSize: autoOr(z.number().int().positive()).optional().describe('Context length in tokens'),
  parallel: z.number().int().positive().optional().describe('Requests served at once'),
});

const runtimeSchema = z.strictObject({
  kind: z.enum(stackRuntimeKinds).describe('Which runtime the image runs; decides how params map to flags'),
  ...serviceFields,
  port: z.number().int().min(1).max(65535).optional().describe("The runtime's API port inside the container (default: the kind's port)"),
  gpu: gpuSchema.optional(),
  params: paramsSchema.optional(),
  models: z.array(modelEntrySchema).optional().describe('Models this runtime should have (pulled) or keep loaded'),
});
export type RuntimeSpec = z.infer<typeof runtimeSchema>;

const uiSchema = z.strictObject({
  kind: z.enum(stackUiKinds).optional().describe('Known UIs get wired to their runtime through their own settings'),
  ...serviceFields,
  runtime: nameSchema.optional().describe('The runtime this UI talks to: it starts after that runtime is healthy'),
});
export type UiSpec = z.infer<typeof uiSchema>;

export const stackFileSchema = z
  .strictObject({
    version: z.literal(STACK_FILE_VERSION).optional().describe('Stack file format version'),
    name: nameSchema.describe('Stack name: prefixes container names and labels everything the stack creates'),
    runtimes: z.record(nameSchema, runtimeSchema).optional().describe('LLM runtimes, by service name'),
    uis: z.record(nameSchema, uiSchema).optional().describe('User interfaces, by service name'),
  })
  .describe('LLM Local Stack: a stack of LLM runtimes and UIs run in containers');
export type StackFile = z.infer<typeof stackFileSchema>;

/** One service of either section, with its section. */
export type ServiceEntry =
  | { readonly name: string; readonly section: 'runtimes'; readonly spec: RuntimeSpec }
  | { readonly name: string; readonly section: 'uis'; readonly spec: UiSpec };

export function services(file: StackFile): ServiceEntry[] {
  const out: ServiceEntry[] = [];
  for (const [name, spec] of Object.entries(file.runtimes ?? {})) out.push({ name, section: 'runtimes', spec });
  for (const [name, spec] of Object.entries(file.uis ?? {})) out.push({ name, section: 'uis', spec });
  return out;
}

/** The API port inside the container per runtime kind, when the file does not say. */
export const defaultRuntimePorts: Record<StackRuntimeKind, number | undefined> = {
  ollama: 11434,
  llamacpp: 8080,
  vllm: 8000,
  tgi: 80,
  localai: 8080,
  other: undefined,
};
