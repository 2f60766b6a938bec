// Container records as the extension keeps them: parsed from the Engine API with zod, and
// classified as LLM runtime or other container.
import { z } from 'zod';
import { Emitter, type Event, type IDisposable } from '../lifecycle';
import { globMatch } from './imageGlob';

/** Labels the extension sets on containers it creates (and recognises on any container). */
export const LABEL_RUNTIME = 'io.llmstack.runtime';
export const LABEL_MANAGED = 'io.llmstack.managed';

export const runtimeKinds = ['ollama', 'llamacpp', 'vllm', 'tgi', 'localai', 'openwebui', 'other'] as const;
export type RuntimeKind = (typeof runtimeKinds)[number];

export const runtimeDisplayNames: Record<RuntimeKind, string> = {
  ollama: 'Ollama',
  llamacpp: 'llama.cpp server',
  vllm: 'vLLM',
  tgi: 'Text Generation Inference',
  localai: 'LocalAI',
  openwebui: 'Open WebUI',
  other: 'LLM runtime',
};

/** Image repositories of the known runtimes, without registry defaults, tags or digests. */
export const builtinImagePatterns: ReadonlyArray<readonly [string, RuntimeKind]> = [
  ['ollama/ollama', 'ollama'],
  ['ghcr.io/ggml-org/llama.cpp', 'llamacpp'],
  ['ghcr.io/ggerganov/llama.cpp', 'llamacpp'],
  ['vllm/vllm-openai', 'vllm'],
  ['ghcr.io/huggingface/text-generation-inference', 'tgi'],
  ['localai/localai', 'localai'],
  ['quay.io/go-skynet/local-ai', 'localai'],
  ['ghcr.io/open-webui/open-webui', 'openwebui'],
];

const portSchema = z.looseObject({
  IP: z.string().optional(),
  PrivatePort: z.number(),
  PublicPort: z.number().optional(),
  Type: z.string().default('tcp'),
});

/** One item of GET /containers/json (Docker and Podman's compat API). */
export const containerSummarySchema = z.looseObject({
  Id: z.string().min(1),
  Names: z.array(z.string()).nullish(),
  Image: z.string().default(''),
  ImageID: z.string().optional(),
  Command: z.string().optional(),
  Created: z.number().optional(),
  State: z.string().default('unknown'),
  Status: z.string().default(''),
  Ports: z.array(portSchema).nullish(),
  Labels: z.record(z.string(), z.string()).nullish(),
});
type ContainerSummary = z.infer<typeof containerSummarySchema>;

/**
 * GET /containers/{id}/json, the part the views use. Per-event refreshes read this rather than the
 * list: the engine emits some events (pause, for one) before its list view is updated, while
 * inspect reads the container's own state.
 */
export const containerInspectSchema = z.looseObject({
  Id: z.string().min(1),
  Name: z.string().default(''),
  Created: z.string().optional(),
  State: z.looseObject({
    Status: z.string().default('unknown'),
    StartedAt: z.string().optional(),
    FinishedAt: z.string().optional(),
    ExitCode: z.number().optional(),
    Health: z.looseObject({ Status: z.string() }).nullish(),
  }),
  Config: z.looseObject({
    Image: z.string().default(''),
    Labels: z.record(z.string(), z.string()).nullish(),
  }),
  NetworkSettings: z
    .looseObject({
      Ports: z.record(z.string(), z.array(z.looseObject({ HostIp: z.string().optional(), HostPort: z.string().optional() })).nullish()).nullish(),
    })
    .nullish(),
});
type ContainerInspect = z.infer<typeof containerInspectSchema>;

export type ContainerState = 'running' | 'exited' | 'restarting' | 'paused' | 'created' | 'dead' | 'removing' | 'unknown';
export type HealthState = 'healthy' | 'unhealthy' | 'starting' | undefined;

export interface PublishedPort {
  readonly hostIp: string;
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: string;
}

export interface ContainerRecord {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly state: ContainerState;
  readonly health: HealthState;
  readonly statusText: string;
  /** Approximate start time (epoch ms) for running containers, derived from the status text. */
  readonly startedAt?: number;
  readonly createdAt?: number;
  readonly ports: readonly PublishedPort[];
  readonly labels: Readonly<Record<string, string>>;
}

const knownStates = new Set<ContainerState>(['running', 'exited', 'restarting', 'paused', 'created', 'dead', 'removing']);

const unitMs: Record<string, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 30 * 86_400_000,
  year: 365 * 86_400_000,
};

/** Parses the duration in Docker's "Up 5 minutes", "Up About an hour", "Up Less than a second". */
export function parseUpDuration(status: string): number | undefined {
  const m = /^Up\s+(.+?)(?:\s+\(.*\))?$/i.exec(status.trim());
  if (!m) return undefined;
  const text = m[1].toLowerCase();
  if (text.startsWith('less than a second')) return 0;
  const about = /^about an? (second|minute|hour)/.exec(text);
  if (about) return unitMs[about[1]];
  const n = /^(\d+)\s+(second|minute|hour|day|week|month|year)s?/.exec(text);
  if (n) return Number(n[1]) * unitMs[n[2]];
  return undefined;
}

export function parseHealth(status: string): HealthState {
  if (/\(unhealthy\)/i.test(status)) return 'unhealthy';
  if (/\(healthy\)/i.test(status)) return 'healthy';
  if (/\(health: starting\)/i.test(status)) return 'starting';
  return undefined;
}

export function toRecord(summary: ContainerSummary, now: number): ContainerRecord {
  const state = (knownStates.has(summary.State as ContainerState) ? summary.State : 'unknown') as ContainerState;
  const up = state === 'running' || state === 'paused' ? parseUpDuration(summary.Status) : undefined;
  const name = (summary.Names?.[0] ?? summary.Id.slice(0, 12)).replace(/^\//, '');
  const seen = new Set<string>();
  const ports: PublishedPort[] = [];
  for (const p of summary.Ports ?? []) {
    if (p.PublicPort === undefined) continue;
    const key = `${p.PublicPort}/${p.Type}`;
    // Docker lists a port twice when bound on 0.0.0.0 and ::; one entry is enough.
    if (seen.has(key)) continue;
    seen.add(key);
    ports.push({ hostIp: p.IP ?? '', hostPort: p.PublicPort, containerPort: p.PrivatePort, protocol: p.Type });
  }
  ports.sort((a, b) => a.hostPort - b.hostPort);
  return {
    id: summary.Id,
    name,
    image: summary.Image,
    state,
    health: parseHealth(summary.Status),
    statusText: summary.Status,
    startedAt: up !== undefined ? now - up : undefined,
    createdAt: summary.Created !== undefined ? summary.Created * 1000 : undefined,
    ports,
    labels: summary.Labels ?? {},
  };
}

function parseTime(iso: string | undefined): number | undefined {
  if (!iso || iso.startsWith('0001-')) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

export function inspectToRecord(info: ContainerInspect, now: number): ContainerRecord {
  const st = info.State;
  const state = (knownStates.has(st.Status as ContainerState) ? st.Status : 'unknown') as ContainerState;
  const hs = st.Health?.Status;
  const health: HealthState = hs === 'healthy' || hs === 'unhealthy' || hs === 'starting' ? hs : undefined;
  const startedAt = state === 'running' || state === 'paused' ? parseTime(st.StartedAt) : undefined;
  const ports: PublishedPort[] = [];
  const seen = new Set<string>();
  for (const [key, bindings] of Object.entries(info.NetworkSettings?.Ports ?? {})) {
    const [containerPort, protocol = 'tcp'] = key.split('/');
    for (const b of bindings ?? []) {
      const hostPort = Number(b.HostPort);
      if (!hostPort || seen.has(`${hostPort}/${protocol}`)) continue;
      seen.add(`${hostPort}/${protocol}`);
      ports.push({ hostIp: b.HostIp ?? '', hostPort, containerPort: Number(containerPort), protocol });
    }
  }
  ports.sort((a, b) => a.hostPort - b.hostPort);
  let statusText: string;
  if (state === 'running') statusText = `Up ${startedAt !== undefined ? formatDuration(now - startedAt) : ''}`.trim() + (health ? ` (${health === 'starting' ? 'health: starting' : health})` : '');
  else if (state === 'exited') statusText = `Exited (${st.ExitCode ?? 0})`;
  else statusText = state.charAt(0).toUpperCase() + state.slice(1);
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, '') || info.Id.slice(0, 12),
    image: info.Config.Image,
    state,
    health,
    statusText,
    startedAt,
    createdAt: parseTime(info.Created),
    ports,
    labels: info.Config.Labels ?? {},
  };
}

/** docker.io/library/ollama:0.3@sha256:… → ollama; docker.io/ollama/ollama:latest → ollama/ollama. */
export function normalizeImage(image: string): string {
  let ref = image.trim().toLowerCase();
  ref = ref.replace(/@sha256:[0-9a-f]+$/, '');
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > lastSlash) ref = ref.slice(0, colon);
  ref = ref.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  ref = ref.replace(/^library\//, '');
  return ref;
}

export interface Classifier {
  classify(record: Pick<ContainerRecord, 'image' | 'labels'>): RuntimeKind | undefined;
}

/** Builds a classifier from the built-in patterns plus the user's `llmStack.runtimes.imagePatterns`. */
export function createClassifier(userPatterns: Readonly<Record<string, string>> = {}): Classifier {
  const exact = new Map<string, RuntimeKind>();
  for (const [p, k] of builtinImagePatterns) exact.set(p, k);
  const globs: [string, RuntimeKind][] = [];
  for (const [pattern, kind] of Object.entries(userPatterns)) {
    const k = (runtimeKinds as readonly string[]).includes(kind) ? (kind as RuntimeKind) : 'other';
    if (pattern.includes('*')) globs.push([normalizeImage(pattern), k]);
    else exact.set(normalizeImage(pattern), k);
  }
  return {
    classify(record) {
      const label = record.labels[LABEL_RUNTIME];
      if (label) return (runtimeKinds as readonly string[]).includes(label) ? (label as RuntimeKind) : 'other';
      const repo = normalizeImage(record.image);
      const hit = exact.get(repo);
      if (hit) return hit;
      for (const [glob, k] of globs) if (globMatch(glob, repo)) return k;
      if (record.labels[LABEL_MANAGED] === 'true') return 'other';
      return undefined;
    },
  };
}

interface DisplayState {
  /** What the user should read: unhealthy wins over running. */
  readonly text: string;
  readonly severity: 'ok' | 'warning' | 'error' | 'idle';
}

export function displayState(r: Pick<ContainerRecord, 'state' | 'health'>): DisplayState {
  if (r.state === 'running') {
    if (r.health === 'unhealthy') return { text: 'unhealthy', severity: 'error' };
    if (r.health === 'starting') return { text: 'starting', severity: 'warning' };
    return { text: 'running', severity: 'ok' };
  }
  if (r.state === 'restarting') return { text: 'restarting', severity: 'warning' };
  if (r.state === 'paused') return { text: 'paused', severity: 'warning' };
  if (r.state === 'dead') return { text: 'dead', severity: 'error' };
  return { text: r.state, severity: 'idle' };
}

/** "5 min", "3 h 12 min", "2 d" */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** The URL a user would open for a published port; wildcard binds are reached on loopback. */
/** The host to reach a published port on: a wildcard binding means this machine's loopback; IPv6 in brackets. */
export function publishedHost(hostIp: string): string {
  const ip = !hostIp || hostIp === '0.0.0.0' || hostIp === '::' ? '127.0.0.1' : hostIp;
  return ip.includes(':') ? `[${ip}]` : ip;
}

export function portUrl(p: PublishedPort): string {
  return `http://${publishedHost(p.hostIp)}:${p.hostPort}/`;
}

export function formatPorts(ports: readonly PublishedPort[]): string {
  return ports.map((p) => `${p.hostPort}→${p.containerPort}${p.protocol === 'tcp' ? '' : '/' + p.protocol}`).join(', ');
}

/** Who holds the current classifier: read `current`, follow `onDidChange`. */
export interface ClassifierSource {
  readonly current: Classifier;
  readonly onDidChange: Event<Classifier>;
}

/**
 * The one owner of the container classifier: rebuilt when the image patterns change, with an event
 * for everything that classifies (the views, the status bar, runtime discovery, alerts).
 */
export class ClassifierOwner implements ClassifierSource, IDisposable {
  private readonly changed = new Emitter<Classifier>();
  readonly onDidChange = this.changed.event;
  private value: Classifier;

  constructor(patterns: Readonly<Record<string, string>> = {}) {
    this.value = createClassifier(patterns);
  }

  get current(): Classifier {
    return this.value;
  }

  setPatterns(patterns: Readonly<Record<string, string>>): void {
    this.value = createClassifier(patterns);
    this.changed.fire(this.value);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
