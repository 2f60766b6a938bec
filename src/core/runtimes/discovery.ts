// Finds the runtime endpoints to talk to: running runtime containers with a published port, and
// the servers the user listed in llmStack.runtimes.endpoints.
import { z } from 'zod';
import { LABEL_RUNTIME, publishedHost, type Classifier, type ContainerRecord, type PublishedPort, type RuntimeKind } from '../docker/containers';
import { runtimeKindSchema } from '../registry/repositories';
import type { ModelRuntimeKind, RuntimeEndpoint } from './runtime';

/** Names the container port the runtime listens on, for images that do not use the kind's usual one. */
export const LABEL_PORT = 'io.llmstack.port';

/** The port each runtime's image listens on unless told otherwise. */
const defaultContainerPorts: Partial<Record<ModelRuntimeKind, number>> = {
  ollama: 11434,
  llamacpp: 8080,
  vllm: 8000,
  tgi: 80,
  localai: 8080,
  lmstudio: 1234,
};

interface UnreachableRuntime {
  readonly container: ContainerRecord;
  readonly reason: string;
}

export interface DiscoveredRuntimes {
  readonly endpoints: RuntimeEndpoint[];
  /** Running runtimes the extension cannot reach, so the view can say what to change. */
  readonly unreachable: UnreachableRuntime[];
}

/** Kinds a server can be; gguf is a folder of files. */
const serverKindSchema = runtimeKindSchema.exclude(['gguf']);
const serverKinds: readonly string[] = serverKindSchema.options;

function runtimeKindOf(kind: Exclude<RuntimeKind, 'openwebui'>, labels: Readonly<Record<string, string>>): ModelRuntimeKind {
  if (kind !== 'other') return kind;
  // The container classifier knows fewer kinds than the runtimes do (LM Studio, plain OpenAI); the label can name those.
  const label = labels[LABEL_RUNTIME];
  return serverKinds.includes(label) ? (label as ModelRuntimeKind) : 'openai';
}

function pickPort(ports: readonly PublishedPort[], kind: ModelRuntimeKind, labels: Readonly<Record<string, string>>): PublishedPort | undefined {
  const tcp = ports.filter((p) => (p.protocol || 'tcp') === 'tcp' && p.hostPort > 0);
  // An explicit label wins over the default: an image may publish its web UI on the usual port and the API elsewhere.
  const labelled = Number(labels[LABEL_PORT]);
  if (Number.isInteger(labelled) && labelled > 0) {
    const hit = tcp.find((p) => p.containerPort === labelled);
    if (hit) return hit;
  }
  const usual = defaultContainerPorts[kind];
  return tcp.find((p) => p.containerPort === usual) ?? tcp[0];
}

/** The address to connect to for a published port: wildcard binds are reached on loopback. */

export function discoverRuntimes(records: readonly ContainerRecord[], classifier: Classifier): DiscoveredRuntimes {
  const endpoints: RuntimeEndpoint[] = [];
  const unreachable: UnreachableRuntime[] = [];
  for (const c of records) {
    if (c.state !== 'running') continue;
    const containerKind = classifier.classify(c);
    if (!containerKind || containerKind === 'openwebui') continue;
    const kind = runtimeKindOf(containerKind, c.labels);
    const port = pickPort(c.ports, kind, c.labels);
    if (!port) {
      const usual = Number(c.labels[LABEL_PORT]) || defaultContainerPorts[kind];
      const hint = usual ? `publish container port ${usual} (for example -p 127.0.0.1:${usual}:${usual})` : 'publish the port the server listens on';
      unreachable.push({ container: c, reason: `${c.name} publishes no TCP port, so the extension cannot reach it: ${hint}.` });
      continue;
    }
    const baseUrl = `http://${publishedHost(port.hostIp)}:${port.hostPort}`;
    endpoints.push({
      id: `${kind}@${baseUrl}`,
      kind,
      api: kind === 'ollama' ? 'ollama' : 'openai',
      name: c.name,
      baseUrl,
      source: 'container',
      containerId: c.id,
    });
  }
  return { endpoints, unreachable };
}

const SETTING = 'llmStack.runtimes.endpoints';

const entrySchema = z.object({
  url: z.string().trim().min(1, 'url is empty'),
  kind: serverKindSchema.default('openai'),
  name: z.string().trim().min(1).max(200).optional(),
  requiresKey: z.boolean().optional(),
});

/** "http://host:1234/v1/" → "http://host:1234"; a reason string when the URL cannot be a server's. */
export function normalizeServerUrl(raw: string): { baseUrl: string } | { error: string } {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return { error: `"${raw}" is not a URL; write it as http://host:port` };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { error: `"${raw}" must start with http:// or https://` };
  if (!u.hostname) return { error: `"${raw}" has no host` };
  // A key in the URL would show up in ids, logs and the registry; keys belong in SecretStorage.
  if (u.username || u.password) return { error: `for ${u.protocol}//${u.host} has a user name or password in it (not repeated here); remove them and set requiresKey to keep a key in secret storage` };
  if (u.search || u.hash) return { error: `"${raw}" has a query or fragment; give only the server's address` };
  // People paste the OpenAI base URL (…/v1); the clients add /v1 themselves.
  let pathname = u.pathname;
  for (let prev = ''; prev !== pathname; ) {
    prev = pathname;
    pathname = pathname.replace(/\/+$/, '').replace(/\/v1$/i, '');
  }
  return { baseUrl: `${u.protocol}//${u.host}${pathname}` };
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/** Reads the user's endpoint list: each bad entry becomes an error naming its index, the good ones still load. */
export function parseUserEndpoints(value: unknown): { endpoints: RuntimeEndpoint[]; errors: string[] } {
  const endpoints: RuntimeEndpoint[] = [];
  const errors: string[] = [];
  if (value === undefined || value === null) return { endpoints, errors };
  if (!Array.isArray(value)) {
    errors.push(`${SETTING} must be a list of { "url": "http://host:port", "kind"?, "name"?, "requiresKey"? }; it is ${typeof value}.`);
    return { endpoints, errors };
  }
  const firstIndex = new Map<string, number>();
  value.forEach((raw: unknown, index) => {
    const where = `${SETTING}[${index}]`;
    // A bare URL string is the obvious shorthand for { url }.
    const parsed = entrySchema.safeParse(typeof raw === 'string' ? { url: raw } : raw);
    if (!parsed.success) {
      errors.push(`${where}: ${describeIssues(parsed.error)}`);
      return;
    }
    const { url, kind, name, requiresKey } = parsed.data;
    const normalized = normalizeServerUrl(url);
    if ('error' in normalized) {
      errors.push(`${where}: url ${normalized.error}`);
      return;
    }
    const id = `${kind}@${normalized.baseUrl}`;
    const earlier = firstIndex.get(id);
    if (earlier !== undefined) {
      errors.push(`${where}: repeats entry ${earlier} (same kind and url); ignored.`);
      return;
    }
    firstIndex.set(id, index);
    endpoints.push({
      id,
      kind,
      api: kind === 'ollama' ? 'ollama' : 'openai',
      name: name ?? new URL(normalized.baseUrl).host,
      baseUrl: normalized.baseUrl,
      source: 'user',
      ...(requiresKey !== undefined ? { requiresKey } : {}),
    });
  });
  return { endpoints, errors };
}

/** One list from several sources; the first occurrence of an id wins, so pass the preferred source first. */
export function mergeEndpoints(...lists: ReadonlyArray<readonly RuntimeEndpoint[]>): RuntimeEndpoint[] {
  const seen = new Set<string>();
  const out: RuntimeEndpoint[] = [];
  for (const list of lists) {
    for (const e of list) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      out.push(e);
    }
  }
  return out;
}
