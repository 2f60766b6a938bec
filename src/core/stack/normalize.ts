// The short forms of a stack file (ports, volumes, durations, sizes, dependencies) in one normal form,
// shared by validation, the container specs, the plan and every export.
import type { Duration, HealthcheckSpec, PortSpec, ServiceEntry, StackFile } from './schema';
import { defaultRuntimePorts, services } from './schema';

/** Where a port binds when the file gives no address: never every interface. */
const DEFAULT_HOST_IP = '127.0.0.1';

export interface NormalPort {
  readonly hostIp: string;
  /** 0 = a free port chosen by the engine. */
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp';
}

/** "8080" → 127.0.0.1:8080→8080; "8080:80"; "0.0.0.0:8080:80"; "[::1]:8080:80/udp"; or the long form. */
export function parsePort(spec: PortSpec): NormalPort {
  if (typeof spec !== 'string') {
    return {
      hostIp: spec.hostIp ?? DEFAULT_HOST_IP,
      hostPort: spec.host ?? spec.container,
      containerPort: spec.container,
      protocol: spec.protocol ?? 'tcp',
    };
  }
  let rest = spec;
  let protocol: 'tcp' | 'udp' = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    protocol = rest.slice(slash + 1) === 'udp' ? 'udp' : 'tcp';
    rest = rest.slice(0, slash);
  }
  let hostIp = DEFAULT_HOST_IP;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    hostIp = rest.slice(1, close);
    rest = rest.slice(close + 2);
  } else {
    const parts = rest.split(':');
    if (parts.length === 3) {
      hostIp = parts[0];
      rest = `${parts[1]}:${parts[2]}`;
    }
  }
  const [a, b] = rest.split(':');
  const containerPort = Number(b ?? a);
  const hostPort = Number(a);
  return { hostIp, hostPort, containerPort, protocol };
}

type NormalVolume =
  | { readonly kind: 'named'; readonly name: string; readonly target: string; readonly readOnly: boolean }
  | { readonly kind: 'bind'; readonly source: string; readonly target: string; readonly readOnly: boolean };

/**
 * "models:/root/.ollama" is a volume of the stack (named `<stack>_models` on the engine);
 * "/abs:/x", "./rel:/x", "../rel:/x" and "~/x:/x" are bind mounts (relative to the stack file's folder).
 */
export function parseVolume(spec: string): NormalVolume {
  let rest = spec;
  let readOnly = false;
  if (rest.endsWith(':ro') || rest.endsWith(':rw')) {
    readOnly = rest.endsWith(':ro');
    rest = rest.slice(0, -3);
  }
  const colon = rest.indexOf(':');
  const source = rest.slice(0, colon);
  const target = rest.slice(colon + 1);
  const isPath = source.startsWith('/') || source.startsWith('.') || source.startsWith('~');
  return isPath ? { kind: 'bind', source, target, readOnly } : { kind: 'named', name: source, target, readOnly };
}

/** The engine name of a stack's named volume. */
export function volumeName(stack: string, name: string): string {
  return `${stack}_${name}`;
}

/** The engine name of a service's container (and of its Swarm service). */
export function containerName(stack: string, service: string): string {
  return `${stack}-${service}`;
}

/** The stack's own bridge network; services reach each other by service name on it. */
export function networkName(stack: string): string {
  return `${stack}_default`;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration in milliseconds: a number is seconds; "1m30s" and "500ms" are parsed. */
export function durationMs(d: Duration): number {
  if (typeof d === 'number') return d * 1000;
  let total = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]];
  return total;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * A `shmSize` in bytes. A number is bytes; a string is a number with an optional k, m or g (any
 * case, optionally followed by "b"), 1024-based like Docker's --shm-size: "1g" = 1073741824,
 * "512m" = 536870912, "1.5k" = 1536. Fractions of a byte are dropped, as Docker drops them.
 */
export function sizeBytes(s: number | string): number {
  if (typeof s === 'number') return s;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(s.trim());
  if (!m) throw new Error(`"${s}" is not a size: write a number of bytes or a size such as "1g" or "512m".`);
  return Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]);
}

/** Docker's healthcheck test: a string runs in the shell; arrays are passed as written. */
export function healthcheckTest(h: HealthcheckSpec): string[] {
  if (typeof h.test === 'string') return ['CMD-SHELL', h.test];
  const first = h.test[0];
  if (first === 'CMD' || first === 'CMD-SHELL' || first === 'NONE') return [...h.test];
  return ['CMD', ...h.test];
}

/** The command as an argument list ("a b 'c d'" is split on blanks, honouring simple quotes). */
export function commandArgs(command: string | readonly string[] | undefined): string[] {
  if (command === undefined) return [];
  if (typeof command !== 'string') return [...command];
  const out: string[] = [];
  for (const m of command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** Environment values as strings (YAML numbers and booleans included). */
export function envStrings(env: Readonly<Record<string, string | number | boolean>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env ?? {})) out[k] = String(v);
  return out;
}

/** The services a service waits for: its dependsOn plus, for a UI, its runtime. */
export function dependenciesOf(entry: ServiceEntry): string[] {
  const deps = new Set(entry.spec.dependsOn ?? []);
  if (entry.section === 'uis' && entry.spec.runtime) deps.add(entry.spec.runtime);
  return [...deps];
}

/** The runtime's API port inside the container: the file's `port`, else the kind's default. */
export function runtimeApiPort(entry: ServiceEntry): number | undefined {
  if (entry.section !== 'runtimes') return undefined;
  return entry.spec.port ?? defaultRuntimePorts[entry.spec.kind];
}

/**
 * Levels of a dependency map (name → what it waits for); throws on a missing name or a cycle. A
 * service's level is one more than its deepest dependency's, found in one pass over the edges
 * (Kahn's algorithm), so a long chain costs no more than a wide stack; each level keeps map order.
 */
export function dependencyLevels(deps: ReadonlyMap<string, readonly string[]>): string[][] {
  for (const [name, ds] of deps) {
    for (const d of ds) if (!deps.has(d)) throw new Error(`Service "${name}" depends on "${d}", which is not in the stack. Add it or remove it from dependsOn.`);
  }
  const waiting = new Map<string, number>();
  const waitedOnBy = new Map<string, string[]>();
  for (const [name, ds] of deps) {
    waiting.set(name, ds.length);
    for (const d of ds) {
      const list = waitedOnBy.get(d);
      if (list) list.push(name);
      else waitedOnBy.set(d, [name]);
    }
  }
  const level = new Map<string, number>();
  const ready = [...deps.keys()].filter((n) => waiting.get(n) === 0);
  for (const n of ready) level.set(n, 0);
  for (let head = 0; head < ready.length; head++) {
    const n = ready[head];
    for (const m of waitedOnBy.get(n) ?? []) {
      level.set(m, Math.max(level.get(m) ?? 0, level.get(n)! + 1));
      const left = waiting.get(m)! - 1;
      waiting.set(m, left);
      if (left === 0) ready.push(m);
    }
  }
  if (ready.length < deps.size) {
    const left = [...deps.keys()].filter((n) => waiting.get(n)! > 0);
    const shown = left.slice(0, 10).map((n) => `"${n}"`).join(', ');
    throw new Error(`The services ${shown}${left.length > 10 ? ` and ${left.length - 10} more` : ''} depend on each other in a cycle.`);
  }
  const levels: string[][] = [];
  for (const [name] of deps) {
    const l = level.get(name)!;
    while (levels.length <= l) levels.push([]);
    levels[l].push(name);
  }
  return levels;
}

/** Finds a service by name in either section. */
export function findService(file: StackFile, name: string): ServiceEntry | undefined {
  return services(file).find((e) => e.name === name);
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
