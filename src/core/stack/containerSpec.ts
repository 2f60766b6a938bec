// What each service of a stack file should be on the engine: the container create options, the
// hash that says "recreate" when it changes, and per-field digests that say why. Pure.
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { LABEL_RUNTIME } from '../docker/containers';
import { LABEL_PORT } from '../runtimes/discovery';
import {
  commandArgs,
  containerName,
  dependenciesOf,
  durationMs,
  envStrings,
  healthcheckTest,
  networkName,
  parsePort,
  parseVolume,
  runtimeApiPort,
  sizeBytes,
  uiWiringEnv,
  volumeName,
  type NormalPort,
} from './normalize';
import { resolveHostPath } from './hostPaths';
import { paramMapping } from './params';
import { LABEL_CONFIG_HASH, LABEL_KEEP_LOADED, LABEL_SERVICE, LABEL_STACK, services, type ModelEntry, type RuntimeSpec, type ServiceEntry, type StackFile } from './schema';
import type { ResolvedGpu, ResolvedParams } from './types';

/**
 * Per-field digests of the desired configuration, kept on the container so the next plan can say
 * which fields changed ("env changed (OLLAMA_BASE_URL)"). Environment appears by name only: a digest
 * of a value would let anyone who can list containers confirm a guessed token; the plan compares
 * values with the container's own environment, which the engine holds anyway.
 */
export const LABEL_CONFIG = 'io.llmstack.config';

/** A model a runtime should have, with the defaults filled in. */
interface DesiredModel {
  readonly name: string;
  /** 'idle': queued at apply, pulled once no model has been used for a while. */
  readonly pull: boolean | 'idle';
  readonly keepLoaded: boolean;
}

/** Short digests of each part of the create options; `env` holds the variable names, each with "". */
export interface ConfigDigest {
  readonly [field: string]: string | Readonly<Record<string, string>>;
}

export interface DesiredService {
  readonly service: string;
  readonly section: 'runtimes' | 'uis';
  /** Runtime kind, or the UI kind when it has one. */
  readonly kind?: string;
  readonly containerName: string;
  readonly image: string;
  /** The body of POST /containers/create, `name` included. Copy before handing to dockerode (it mutates options). */
  readonly create: Docker.ContainerCreateOptions;
  /** sha256 (hex) of the canonical create options without the two config labels and without env values. */
  readonly configHash: string;
  readonly configDigest: ConfigDigest;
  /** Services that must run (and be healthy, when they have a healthcheck) before this one starts. */
  readonly dependsOn: string[];
  /** It has a healthcheck: dependents wait until the engine reports it healthy. */
  readonly waitHealthy: boolean;
  readonly desiredState: 'running' | 'stopped';
  /** Engine names of the stack's named volumes this service mounts. */
  readonly volumes: string[];
  /** Published ports, for plan output. */
  readonly ports: readonly NormalPort[];
  readonly models: DesiredModel[];
}

interface DesiredOptions {
  /** Folder of the stack file: relative bind mounts resolve against it. */
  readonly stackDir: string;
  /** Resolved params per runtime service (from resolveStack); else the file's literal values are used. */
  readonly params?: ReadonlyMap<string, ResolvedParams>;
}

/** The desired container of every service, runtimes first, in file order. */
export function desiredContainers(file: StackFile, o: DesiredOptions): DesiredService[] {
  return services(file).map((entry) => desiredService(file, entry, o));
}

function desiredService(file: StackFile, entry: ServiceEntry, o: DesiredOptions): DesiredService {
  const stack = file.name;
  const spec = entry.spec;
  const net = networkName(stack);
  const labels: Record<string, string> = { ...(spec.labels ?? {}), [LABEL_STACK]: stack, [LABEL_SERVICE]: entry.name };
  let cmd = commandArgs(spec.command);
  // Lowest precedence first: what the params map to, then the wiring to a runtime, then the file's own env.
  let env: Record<string, string> = {};
  if (entry.section === 'runtimes') {
    const mapping = paramMapping(entry.spec.kind, o.params?.get(entry.name) ?? literalParams(entry.spec));
    cmd = [...cmd, ...mapping.args];
    env = { ...mapping.env };
    labels[LABEL_RUNTIME] = entry.spec.kind;
    const apiPort = runtimeApiPort(entry);
    if (apiPort !== undefined) labels[LABEL_PORT] = String(apiPort);
    // The idle manager never unloads these.
    const keep = (entry.spec.models ?? []).map(desiredModel).filter((m) => m.keepLoaded).map((m) => m.name);
    if (keep.length) labels[LABEL_KEEP_LOADED] = keep.join(',');
  } else {
    if (entry.spec.kind === 'openwebui') {
      labels[LABEL_RUNTIME] = 'openwebui';
      Object.assign(env, uiWiringEnv(file, entry).env);
    }
  }
  env = { ...env, ...envStrings(spec.env) };

  const ports = (spec.ports ?? []).map(parsePort);
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort === 0 ? '' : String(p.hostPort) });
  }

  const binds: string[] = [];
  const volumes: string[] = [];
  for (const v of (spec.volumes ?? []).map(parseVolume)) {
    const source = v.kind === 'named' ? volumeName(stack, v.name) : resolveHostPath(v.source, o.stackDir);
    if (v.kind === 'named' && !volumes.includes(source)) volumes.push(source);
    binds.push(`${source}:${v.target}${v.readOnly ? ':ro' : ''}`);
  }

  const hostConfig: Docker.HostConfig = {
    NetworkMode: net,
    RestartPolicy: { Name: spec.restart ?? 'unless-stopped' },
  };
  if (ports.length) hostConfig.PortBindings = bindings;
  if (binds.length) hostConfig.Binds = binds;
  if (entry.section === 'runtimes') {
    const gpu = o.params?.get(entry.name)?.gpu ?? literalGpu(entry.spec);
    const request = deviceRequest(gpu);
    if (request) hostConfig.DeviceRequests = [request];
  }
  if (spec.shmSize !== undefined) hostConfig.ShmSize = sizeBytes(spec.shmSize);

  const create: Docker.ContainerCreateOptions = {
    name: containerName(stack, entry.name),
    Image: spec.image,
    Labels: labels,
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: { [net]: { Aliases: [entry.name] } } },
  };
  if (cmd.length) create.Cmd = cmd;
  const envKeys = Object.keys(env).sort();
  if (envKeys.length) create.Env = envKeys.map((k) => `${k}=${env[k]}`);
  if (ports.length) create.ExposedPorts = exposed;
  const hc = spec.healthcheck;
  if (hc) {
    const health: Docker.HealthConfig = { Test: healthcheckTest(hc) };
    if (hc.interval !== undefined) health.Interval = nanos(hc.interval);
    if (hc.timeout !== undefined) health.Timeout = nanos(hc.timeout);
    if (hc.retries !== undefined) health.Retries = hc.retries;
    if (hc.startPeriod !== undefined) health.StartPeriod = nanos(hc.startPeriod);
    create.Healthcheck = health;
  }

  const { configHash, configDigest } = hashConfig(create);
  labels[LABEL_CONFIG_HASH] = configHash;
  labels[LABEL_CONFIG] = JSON.stringify(configDigest);

  return {
    service: entry.name,
    section: entry.section,
    kind: entry.spec.kind,
    containerName: containerName(stack, entry.name),
    image: spec.image,
    create,
    configHash,
    configDigest,
    dependsOn: dependenciesOf(entry),
    waitHealthy: !!create.Healthcheck && create.Healthcheck.Test?.[0] !== 'NONE',
    desiredState: spec.state ?? 'running',
    volumes,
    ports,
    models: entry.section === 'runtimes' ? (entry.spec.models ?? []).map(desiredModel) : [],
  };
}

/** Without resolved params: the file's numbers, `auto` left to the runtime's own default. */
export function literalParams(spec: RuntimeSpec): ResolvedParams {
  const num = (v: number | 'auto' | undefined) => (typeof v === 'number' ? v : undefined);
  const p = spec.params ?? {};
  return { threads: num(p.threads), gpuLayers: num(p.gpuLayers), contextSize: num(p.contextSize), parallel: p.parallel, gpu: literalGpu(spec) };
}

/** Without hardware detection `auto` means no GPU: a request for a GPU that is not there fails the start. */
function literalGpu(spec: RuntimeSpec): ResolvedGpu {
  const g = spec.gpu;
  if (g === undefined || g === 'none' || g === 'auto') return { kind: 'none' };
  if (g === 'all') return { kind: 'all' };
  if (g.devices) return { kind: 'devices', devices: g.devices };
  if (g.count) return { kind: 'count', count: g.count };
  return { kind: 'all' };
}

/** `--gpus` as the Engine API takes it. Count and DeviceIDs exclude each other. */
export function deviceRequest(gpu: ResolvedGpu): Docker.DeviceRequest | undefined {
  const base = { Driver: 'nvidia', Capabilities: [['gpu']] };
  switch (gpu.kind) {
    case 'none':
      return undefined;
    case 'all':
      return { ...base, Count: -1 };
    case 'count':
      return { ...base, Count: gpu.count };
    case 'devices':
      return { ...base, DeviceIDs: [...gpu.devices] };
  }
}

function desiredModel(m: ModelEntry): DesiredModel {
  return typeof m === 'string' ? { name: m, pull: true, keepLoaded: false } : { name: m.name, pull: m.pull ?? true, keepLoaded: m.keepLoaded ?? false };
}

const nanos = (d: Parameters<typeof durationMs>[0]) => Math.round(durationMs(d) * 1e6);

// ---------------------------------------------------------------------------------------------
// Canonical form, hash and digests

/** A deep copy with object keys sorted at every level and undefined members dropped. */
function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortedCopy(v)));
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj).sort()) if (obj[k] !== undefined) out[k] = sortedCopy(obj[k]);
  return out;
}

/** JSON with object keys sorted at every level and undefined members dropped: equal configs, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedCopy(value)) ?? 'null';
}

/**
 * The hash of create options, leaving out the two labels that record the hash and the digests, and
 * the environment's values (names stay): the hash is a label anyone who lists containers reads.
 */
export function configHashOf(create: Docker.ContainerCreateOptions): string {
  return hashConfig(create).configHash;
}

/** "A=1" → ["A", "1"]; "A" → ["A", ""]. */
function splitEnv(kv: string): [string, string] {
  const eq = kv.indexOf('=');
  return eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)];
}

/** An Env list as a map, the last of a repeated name winning (as the engine does). */
export function envRecord(list: readonly string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const [k, v] = splitEnv(kv);
    out[k] = v;
  }
  return out;
}

function withoutConfigLabels(create: Docker.ContainerCreateOptions): Docker.ContainerCreateOptions {
  if (!create.Labels || !(LABEL_CONFIG_HASH in create.Labels || LABEL_CONFIG in create.Labels)) return create;
  const { [LABEL_CONFIG_HASH]: _hash, [LABEL_CONFIG]: _digest, ...labels } = create.Labels;
  return { ...create, Labels: labels };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A short, fast, non-cryptographic digest (cyrb53, 53 bits as 14 hex digits). Digests only name the
 * fields that changed; the sha256 config hash alone decides whether to recreate.
 */
function shortDigest(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}

const short = (v: unknown) => shortDigest(JSON.stringify(v) ?? 'null');

type Sorted = Docker.ContainerCreateOptions;

/**
 * The parts a user thinks in, each with a short digest, named after the stack file's key where
 * there is one; anything else lands in "other".
 */
const FIELD_GROUPS: Readonly<Record<string, (c: Sorted) => unknown>> = {
  image: (c) => c.Image,
  command: (c) => c.Cmd,
  labels: (c) => c.Labels,
  ports: (c) => [c.ExposedPorts, c.HostConfig?.PortBindings],
  volumes: (c) => c.HostConfig?.Binds,
  healthcheck: (c) => c.Healthcheck,
  restart: (c) => c.HostConfig?.RestartPolicy,
  gpu: (c) => c.HostConfig?.DeviceRequests,
  shmSize: (c) => c.HostConfig?.ShmSize,
  network: (c) => [c.HostConfig?.NetworkMode, c.NetworkingConfig],
  name: (c) => c.name,
};
const COVERED_TOP = new Set(['Image', 'Cmd', 'Labels', 'ExposedPorts', 'Healthcheck', 'NetworkingConfig', 'name', 'Env', 'HostConfig']);
const COVERED_HOST = new Set(['PortBindings', 'Binds', 'RestartPolicy', 'DeviceRequests', 'ShmSize', 'NetworkMode']);
/**
 * What a group digests to when its fields are unset. A stored digest without a group comes from a
 * version that did not have the group (shmSize came later) and so never set its fields: it reads as this.
 */
const UNSET = short(undefined);

/** The config hash and the per-field digests, from one canonical copy of the create options. */
function hashConfig(create: Docker.ContainerCreateOptions): { configHash: string; configDigest: ConfigDigest } {
  const c = sortedCopy(withoutConfigLabels(create)) as Sorted;
  const names = c.Env?.map((kv) => splitEnv(kv)[0]);
  const configHash = sha256(canonicalJson({ ...c, Env: names }));
  const out: Record<string, string | Record<string, string>> = {};
  for (const field in FIELD_GROUPS) out[field] = short(FIELD_GROUPS[field](c));
  out.env = Object.fromEntries((names ?? []).map((n) => [n, '']));
  const rest: Record<string, unknown> = {};
  for (const k in c) if (!COVERED_TOP.has(k)) rest[k] = (c as Record<string, unknown>)[k];
  const hostRest: Record<string, unknown> = {};
  for (const k in c.HostConfig ?? {}) if (!COVERED_HOST.has(k)) hostRest[k] = (c.HostConfig as Record<string, unknown>)[k];
  out.other = short([rest, hostRest]);
  return { configHash, configDigest: out };
}

/**
 * What differs between a stored digest and the desired one, as plan reasons ("env changed (A, B)").
 * Env names set or unset show from the digests; `changedEnv` adds the names whose values differ
 * (which the caller finds by comparing with the container's environment: see envValueChanges).
 */
export function diffDigests(before: ConfigDigest | undefined, after: ConfigDigest, changedEnv: readonly string[] = []): string[] {
  if (!before) return ['configuration changed (made by an older version or by hand)'];
  const out: string[] = [];
  for (const field of Object.keys(after)) {
    const b = after[field];
    const a = before[field] ?? (typeof b === 'string' ? UNSET : undefined);
    if (typeof b === 'string') {
      if (a !== b) out.push(`${field} changed`);
      continue;
    }
    const prev = typeof a === 'object' && a !== null ? a : {};
    const keys = new Set([...Object.keys(prev), ...Object.keys(b)].filter((k) => !(k in prev) || !(k in b)));
    if (field === 'env') for (const k of changedEnv) keys.add(k);
    if (keys.size) out.push(`${field} changed (${[...keys].sort().join(', ')})`);
  }
  return out;
}

/**
 * The desired variables whose value is not the container's: `actual` is the container's whole
 * environment as the engine reports it (the image's variables included, ours overriding them).
 */
export function envValueChanges(desiredEnv: readonly string[] | undefined, actual: Readonly<Record<string, string>>): string[] {
  return Object.entries(envRecord(desiredEnv))
    .filter(([k, v]) => actual[k] !== v)
    .map(([k]) => k);
}

/**
 * A digest written by a version that kept a digest of each env value in the label (a non-empty
 * entry under `env`): the container should be recreated so that label goes.
 */
export function digestHoldsEnvValues(d: ConfigDigest | undefined): boolean {
  const env = d?.env;
  return typeof env === 'object' && Object.values(env).some((v) => v !== '');
}

/** Reads the digest label back; undefined when absent or not ours. */
export function parseConfigDigest(label: string | undefined): ConfigDigest | undefined {
  if (!label) return undefined;
  try {
    const v = JSON.parse(label) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    for (const x of Object.values(v as Record<string, unknown>)) {
      if (typeof x === 'string') continue;
      if (!x || typeof x !== 'object' || Object.values(x).some((y) => typeof y !== 'string')) return undefined;
    }
    return v as ConfigDigest;
  } catch {
    return undefined;
  }
}
