// Exports a stack file as a docker-compose.yaml that both Compose v2 (`docker compose`) and
// docker-compose 1.29 accept, plus the helpers every export shares (params, UI wiring, YAML text).
import { Document, parse as parseYaml, visit } from 'yaml';
import type { Duration, GpuSpec, ServiceEntry, StackFile } from '../schema';
import { LABEL_SERVICE, LABEL_STACK, services } from '../schema';
import { commandArgs, containerName, dependenciesOf, envStrings, findService, healthcheckTest, parsePort, parseVolume, runtimeApiPort, volumeName } from '../normalize';
import { paramMapping } from '../params';
import type { ResolvedGpu, ResolvedParams } from '../types';

export interface ExportOptions {
  /** Resolved params per runtime service; without them `auto` values are left to the runtime's default. */
  readonly params?: ReadonlyMap<string, ResolvedParams>;
}

export interface ComposeExport {
  readonly text: string;
  readonly warnings: string[];
}

// ---------------------------------------------------------------------------------------------
// Shared by the exports (Compose, Kubernetes, Swarm)
// ---------------------------------------------------------------------------------------------

/** What a runtime's params and gpu become in an export. UIs get empty args/env and no GPU. */
export interface ExportedParams {
  readonly args: string[];
  readonly env: Record<string, string>;
  readonly gpu: ResolvedGpu;
  readonly warnings: string[];
}

/**
 * The params of a service for an export. With resolved params (from this machine's hardware) they
 * are used as they are. Without, `auto` values are treated as absent (the runtime's default), and
 * `gpu: auto` means all GPUs: an export usually runs on another machine, whose GPUs this one cannot
 * see, and "all" is what `auto` becomes on any machine that has NVIDIA GPUs. An absent `gpu` is none.
 */
export function exportParams(entry: ServiceEntry, params?: ReadonlyMap<string, ResolvedParams>): ExportedParams {
  if (entry.section !== 'runtimes') return { args: [], env: {}, gpu: { kind: 'none' }, warnings: [] };
  const spec = entry.spec;
  const warnings: string[] = [];
  let resolved = params?.get(entry.name);
  if (!resolved) {
    const num = (v: number | 'auto' | undefined) => (v === 'auto' ? undefined : v);
    const p = spec.params ?? {};
    resolved = {
      threads: num(p.threads),
      gpuLayers: num(p.gpuLayers),
      contextSize: num(p.contextSize),
      parallel: p.parallel,
      gpu: gpuWithoutHardware(spec.gpu),
    };
    const autos = (['threads', 'gpuLayers', 'contextSize'] as const).filter((k) => p[k] === 'auto');
    if (autos.length) warnings.push(`${entry.name}: ${autos.join(', ')} "auto" left to the runtime's default (no hardware was resolved for this export).`);
    if (spec.gpu === 'auto') warnings.push(`${entry.name}: gpu "auto" exported as all GPUs; remove the GPU request on machines without NVIDIA GPUs.`);
  }
  const m = paramMapping(spec.kind, resolved);
  if (m.ignored.length) warnings.push(`${entry.name}: ${spec.kind} takes no ${m.ignored.join(', ')} at container level; ignored.`);
  return { args: m.args, env: m.env, gpu: resolved.gpu, warnings };
}

function gpuWithoutHardware(gpu: GpuSpec | undefined): ResolvedGpu {
  if (gpu === undefined || gpu === 'none') return { kind: 'none' };
  if (gpu === 'all' || gpu === 'auto') return { kind: 'all' };
  if (gpu.devices) return { kind: 'devices', devices: gpu.devices };
  return { kind: 'count', count: gpu.count ?? 1 };
}

/**
 * The environment that wires a known UI to its runtime: Open WebUI reads OLLAMA_BASE_URL for an
 * Ollama runtime and OPENAI_API_BASE_URL (with /v1) for OpenAI-compatible ones. `host` names the
 * runtime as the target platform resolves it (service name, Kubernetes Service, Swarm alias).
 * Variables the file sets itself are left alone.
 */
export function uiWiringEnv(file: StackFile, entry: ServiceEntry, host: (service: string) => string = (s) => s): { env: Record<string, string>; warnings: string[] } {
  if (entry.section !== 'uis' || entry.spec.kind !== 'openwebui' || !entry.spec.runtime) return { env: {}, warnings: [] };
  const runtime = findService(file, entry.spec.runtime);
  if (!runtime || runtime.section !== 'runtimes') return { env: {}, warnings: [`${entry.name}: its runtime "${entry.spec.runtime}" is not a runtime of the stack; not wired.`] };
  const port = runtimeApiPort(runtime);
  if (port === undefined) return { env: {}, warnings: [`${entry.name}: runtime "${runtime.name}" has no API port (set \`port\`); not wired.`] };
  const base = `http://${host(runtime.name)}:${port}`;
  const [key, value] = runtime.spec.kind === 'ollama' ? ['OLLAMA_BASE_URL', base] : ['OPENAI_API_BASE_URL', `${base}/v1`];
  const own = entry.spec.env ?? {};
  return { env: key in own ? {} : { [key]: value }, warnings: [] };
}

/** The GPUs a resolved gpu asks for, or undefined for none. */
export function gpuRequest(gpu: ResolvedGpu): { count: number | 'all' } | { devices: string[] } | undefined {
  switch (gpu.kind) {
    case 'none':
      return undefined;
    case 'all':
      return { count: 'all' };
    case 'count':
      return { count: gpu.count };
    case 'devices':
      return { devices: [...gpu.devices] };
  }
}

/** Warnings for what no export can carry: models to pull, a stopped state. */
export function commonWarnings(entry: ServiceEntry, target: string): string[] {
  const out: string[] = [];
  if (entry.section === 'runtimes' && entry.spec.models?.length) {
    out.push(`${entry.name}: ${target} does not pull models; pull ${entry.spec.models.map((m) => (typeof m === 'string' ? m : m.name)).join(', ')} once it runs.`);
  }
  return out;
}

/**
 * YAML text read the same by YAML 1.1 parsers (PyYAML in docker-compose 1.29, go-yaml in kubectl)
 * and YAML 1.2 ones: any string that either would read as something else ("no", "on", "22:22",
 * "0o17", "1e3") is double-quoted.
 */
export function exportYaml(value: unknown, header: string): string {
  const doc = new Document(value, { version: '1.1', aliasDuplicateObjects: false });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && !plainIsString(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  if (header) doc.commentBefore = header.split('\n').map((l) => (l ? ` ${l}` : '')).join('\n');
  return doc.toString({ lineWidth: 0 });
}

function plainIsString(s: string): boolean {
  if (s === '' || s !== s.trim()) return false;
  try {
    return parseYaml(s, { version: '1.1', logLevel: 'silent' }) === s && parseYaml(s, { version: '1.2', logLevel: 'silent' }) === s;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Compose
// ---------------------------------------------------------------------------------------------

/** A Compose duration ("10s", "1m30s", "500ms"); the file's numbers are seconds. */
export function composeDuration(d: Duration): string {
  return typeof d === 'number' ? `${d}s` : d;
}

/**
 * The stack as a Compose file. No `version:` (the Compose Specification: Compose v2 warns about
 * `version` and docker-compose 1.27+ reads a file without one as the spec) and no top-level `name:`
 * (docker-compose 1.29 rejects it): the project name comes from `-p <stack>`, as the header says.
 * Named volumes keep the engine names the extension gives them (`<stack>_<name>`), so a Compose run
 * finds the models the extension already downloaded.
 */
export function toCompose(file: StackFile, o: ExportOptions = {}): ComposeExport {
  const warnings: string[] = [];
  const all = services(file);
  const out: Record<string, unknown> = {};
  const volumes: Record<string, unknown> = {};
  for (const entry of all) {
    const spec = entry.spec;
    const p = exportParams(entry, o.params);
    warnings.push(...p.warnings, ...commonWarnings(entry, 'Compose'));
    const wiring = uiWiringEnv(file, entry);
    warnings.push(...wiring.warnings);
    const svc: Record<string, unknown> = { container_name: containerName(file.name, entry.name), image: spec.image };
    const args = [...commandArgs(spec.command), ...p.args];
    if (args.length) svc.command = args;
    const env = { ...wiring.env, ...envStrings(spec.env), ...p.env };
    if (Object.keys(env).length) svc.environment = env;
    // Short syntax: docker-compose 1.29 rejects host_ip in the long form. "127.0.0.1::80" is any free port.
    if (spec.ports?.length) {
      svc.ports = spec.ports.map((ps) => {
        const n = parsePort(ps);
        const ip = n.hostIp.includes(':') ? `[${n.hostIp}]` : n.hostIp;
        return `${ip}:${n.hostPort === 0 ? '' : n.hostPort}:${n.containerPort}${n.protocol === 'udp' ? '/udp' : ''}`;
      });
    }
    if (spec.volumes?.length) {
      svc.volumes = spec.volumes.map((vs) => {
        const v = parseVolume(vs);
        const ro = v.readOnly ? ':ro' : '';
        if (v.kind === 'bind') return `${v.source}:${v.target}${ro}`;
        volumes[v.name] = { name: volumeName(file.name, v.name), labels: { [LABEL_STACK]: file.name } };
        return `${v.name}:${v.target}${ro}`;
      });
    }
    // Both Compose versions read "1g" and a number of bytes: the file's own spelling is kept, less
    // blanks ("1 g" → "1g"; Compose v2 takes at most one).
    if (spec.shmSize !== undefined) svc.shm_size = typeof spec.shmSize === 'string' ? spec.shmSize.replace(/\s+/g, '') : spec.shmSize;
    if (spec.healthcheck) {
      const h = spec.healthcheck;
      const hc: Record<string, unknown> = { test: healthcheckTest(h) };
      if (h.interval !== undefined) hc.interval = composeDuration(h.interval);
      if (h.timeout !== undefined) hc.timeout = composeDuration(h.timeout);
      if (h.retries !== undefined) hc.retries = h.retries;
      if (h.startPeriod !== undefined) hc.start_period = composeDuration(h.startPeriod);
      svc.healthcheck = hc;
    }
    svc.restart = spec.restart ?? 'unless-stopped';
    // The long form with conditions: part of the Compose Specification, read by docker-compose 1.27+ and v2.
    const deps = dependenciesOf(entry);
    if (deps.length) {
      const dependsOn: Record<string, { condition: string }> = {};
      for (const d of deps) {
        const dep = findService(file, d);
        if (!dep) warnings.push(`${entry.name}: depends on "${d}", which is not in the stack; left out.`);
        else dependsOn[d] = { condition: dep.spec.healthcheck ? 'service_healthy' : 'service_started' };
      }
      if (Object.keys(dependsOn).length) svc.depends_on = dependsOn;
    }
    svc.labels = { ...(spec.labels ?? {}), [LABEL_STACK]: file.name, [LABEL_SERVICE]: entry.name };
    const gpu = gpuRequest(p.gpu);
    if (gpu) {
      const device: Record<string, unknown> = { driver: 'nvidia' };
      if ('count' in gpu) device.count = gpu.count;
      else device.device_ids = gpu.devices;
      device.capabilities = ['gpu'];
      svc.deploy = { resources: { reservations: { devices: [device] } } };
    }
    if (spec.state === 'stopped') warnings.push(`${entry.name}: state "stopped" has no Compose equivalent; \`up\` starts it (use \`docker compose stop ${entry.name}\`).`);
    out[entry.name] = svc;
  }
  const compose: Record<string, unknown> = { services: out };
  if (Object.keys(volumes).length) compose.volumes = volumes;
  const header = [
    `Generated by LLM Local Stack from the stack "${file.name}". Edit the stack file and export again`,
    'rather than editing this file.',
    `Run it with:  docker compose -p ${file.name} up -d   (or docker-compose -p ${file.name} up -d)`,
    'Relative bind mounts are relative to this file: keep it next to the stack file.',
  ].join('\n');
  return { text: exportYaml(compose, header), warnings };
}
