// Checks a schema-valid stack file for what the schema cannot see: clashing names, ports and
// volume targets, dependencies on services that do not exist or that form a cycle, ports open to
// the network, and params a runtime kind ignores. Each finding names the path it is about; the
// document layer (document.ts) turns paths into ranges.
import { isIP } from 'node:net';
import { paramMapping } from './params';
import { services, type ServiceEntry, type StackFile } from './schema';
import { dependenciesOf, parsePort, parseVolume, type NormalPort } from './normalize';

export interface StackFinding {
  path: (string | number)[];
  message: string;
  code: string;
  severity: 'error' | 'warning' | 'info';
}

/** Runs every semantic check; findings come in file order per check. */
export function validateStack(file: StackFile): StackFinding[] {
  const all = services(file);
  return [
    ...duplicateServices(file),
    ...portChecks(all),
    ...dependencyChecks(all),
    ...cycles(all),
    ...ignoredParams(all),
    ...volumeTargets(all),
  ];
}

// ---------------------------------------------------------------------------------------------
// Names

/** The same name in runtimes and uis would give two containers one name. */
function duplicateServices(file: StackFile): StackFinding[] {
  const out: StackFinding[] = [];
  for (const name of Object.keys(file.uis ?? {})) {
    if (!Object.prototype.hasOwnProperty.call(file.runtimes ?? {}, name)) continue;
    for (const [section, other] of [['runtimes', 'uis'], ['uis', 'runtimes']] as const) {
      out.push({
        path: [section, name],
        code: 'duplicate-service',
        severity: 'error',
        message: `Service name "${name}" is used under both runtimes and uis: every service becomes a container named after it, so names must be unique. Rename the one under ${other} (and the dependsOn/runtime entries that name it).`,
      });
    }
  }
  return out;
}

/**
 * The closest candidate to `word` by edit distance (transpositions count as one edit), when it is
 * close enough to be a plausible typo; undefined otherwise.
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  // "prots" → "ports" is one edit; allow roughly one edit per three letters, at most three.
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3) + 1));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance && d <= limit && d < Math.max(w.length, c.length)) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** "runtimes.ollama.ports[0]"; keys that are not plain words are quoted: `env["A.B"]`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ports

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

interface PublishedAt {
  readonly service: string;
  readonly path: (string | number)[];
  readonly port: NormalPort;
  readonly written: string;
}

function bareIp(ip: string): string {
  return ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
}

/** Two binds collide when port and protocol match and one address covers the other. */
function overlaps(a: NormalPort, b: NormalPort): boolean {
  if (a.hostPort === 0 || b.hostPort === 0) return false; // the engine picks a free port
  if (a.hostPort !== b.hostPort || a.protocol !== b.protocol) return false;
  const ipA = bareIp(a.hostIp);
  const ipB = bareIp(b.hostIp);
  return ipA === ipB || WILDCARDS.has(ipA) || WILDCARDS.has(ipB);
}

function portChecks(all: readonly ServiceEntry[]): StackFinding[] {
  const out: StackFinding[] = [];
  const published: PublishedAt[] = [];
  for (const entry of all) {
    (entry.spec.ports ?? []).forEach((spec, i) => {
      const path = [entry.section, entry.name, 'ports', i];
      const port = parsePort(spec);
      const written = typeof spec === 'string' ? `"${spec}"` : `the port mapping`;
      let usable = true;
      if (typeof spec === 'string') {
        // The schema's pattern admits up to five digits; the numbers themselves are checked here.
        if (port.hostPort > 65535) {
          out.push({ path, code: 'port-range', severity: 'error', message: `Port ${written}: host port ${port.hostPort} is out of range; use 0–65535 (0 lets the engine pick a free port).` });
          usable = false;
        }
        if (port.containerPort < 1 || port.containerPort > 65535) {
          out.push({ path, code: 'port-range', severity: 'error', message: `Port ${written}: container port ${port.containerPort} is out of range; use 1–65535.` });
          usable = false;
        }
      }
      const ip = bareIp(port.hostIp);
      if (isIP(ip) === 0) {
        out.push({
          path: typeof spec === 'string' ? path : [...path, 'hostIp'],
          code: 'port-address',
          severity: 'error',
          message: `Port ${written}: "${port.hostIp}" is not an IP address; write an address such as 127.0.0.1 (this machine only) or leave it out.`,
        });
        usable = false;
      } else if (ip === '0.0.0.0' || ip === '::') {
        out.push({
          path,
          code: 'public-port',
          severity: 'warning',
          message: `Port ${written} binds ${port.hostIp}, so it is reachable from other machines; remove the address to bind 127.0.0.1 (this machine only).`,
        });
      }
      if (usable) published.push({ service: entry.name, path, port, written });
    });
  }
  const taken = new Set(published.map((p) => `${p.port.hostPort}/${p.port.protocol}`));
  for (const a of published) {
    for (const b of published) {
      if (a === b || !overlaps(a.port, b.port)) continue;
      const who = a.service === b.service ? `by another entry of this service (${formatPath(b.path)})` : `by service "${b.service}" (${formatPath(b.path)})`;
      let free = a.port.hostPort + 1;
      while (free <= 65535 && taken.has(`${free}/${a.port.protocol}`)) free++;
      const hint = free <= 65535 ? `, e.g. "${free}:${a.port.containerPort}${a.port.protocol === 'udp' ? '/udp' : ''}"` : '';
      out.push({
        path: a.path,
        code: 'duplicate-port',
        severity: 'error',
        message: `Host port ${a.port.hostPort}/${a.port.protocol} is also published ${who}: two containers cannot bind the same host port. Change one of the host ports${hint}.`,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Dependencies

/** Each dependency edge with where it is written; dependsOn wins when both name the same service. */
interface Edge {
  readonly to: string;
  readonly path: (string | number)[];
  readonly via: 'dependsOn' | 'runtime';
}

function edgesOf(entry: ServiceEntry): Edge[] {
  const edges: Edge[] = [];
  (entry.spec.dependsOn ?? []).forEach((to, i) => edges.push({ to, path: [entry.section, entry.name, 'dependsOn', i], via: 'dependsOn' }));
  if (entry.section === 'uis' && entry.spec.runtime !== undefined && !edges.some((e) => e.to === entry.spec.runtime)) {
    edges.push({ to: entry.spec.runtime, path: ['uis', entry.name, 'runtime'], via: 'runtime' });
  }
  return edges;
}

function dependencyChecks(all: readonly ServiceEntry[]): StackFinding[] {
  const out: StackFinding[] = [];
  const names = new Set(all.map((e) => e.name));
  const runtimeNames = all.filter((e) => e.section === 'runtimes').map((e) => e.name);
  const runtimeSet = new Set(runtimeNames);
  for (const entry of all) {
    for (const edge of edgesOf(entry)) {
      if (edge.to === entry.name) {
        out.push({
          path: edge.path,
          code: 'self-dependency',
          severity: 'error',
          message: `Service "${entry.name}" names itself in ${edge.via}: a service cannot wait for itself. Remove "${edge.to}" here.`,
        });
      } else if (!names.has(edge.to)) {
        const pool = edge.via === 'runtime' ? runtimeNames : [...names];
        const guess = closestMatch(edge.to, pool);
        const fix = guess
          ? `Did you mean "${guess}"?`
          : pool.length > 0
            ? `Services you can name here: ${pool.map((n) => `"${n}"`).join(', ')}.`
            : edge.via === 'runtime'
              ? 'Add a runtime under runtimes, or remove this line.'
              : 'Add that service, or remove it from dependsOn.';
        out.push({
          path: edge.path,
          code: 'missing-dependency',
          severity: 'error',
          message: `Service "${entry.name}" ${edge.via === 'runtime' ? 'uses the runtime' : 'depends on'} "${edge.to}", which is not in this stack. ${fix}`,
        });
      } else if (edge.via === 'runtime' && !runtimeSet.has(edge.to)) {
        const list = runtimeNames.length > 0 ? ` (${runtimeNames.map((n) => `"${n}"`).join(', ')})` : '';
        out.push({
          path: edge.path,
          code: 'ui-runtime',
          severity: 'error',
          message: `"${edge.to}" is a UI, not a runtime: a UI's runtime must name a service under runtimes${list}. To start after another UI, list it in dependsOn instead.`,
        });
      }
    }
  }
  return out;
}

/**
 * Every service on a dependency cycle is reported at the entry that leads into the cycle, with the
 * cycle written from that service: "a → b → c → a".
 */
function cycles(all: readonly ServiceEntry[]): StackFinding[] {
  const names = new Set(all.map((e) => e.name));
  const edges = new Map<string, Edge[]>();
  for (const entry of all) edges.set(entry.name, edgesOf(entry).filter((e) => e.to !== entry.name && names.has(e.to)));
  const out: StackFinding[] = [];
  for (const entry of all) {
    const cycle = shortestCycle(entry.name, edges);
    if (!cycle) continue;
    const edge = edges.get(entry.name)!.find((e) => e.to === cycle[1])!;
    out.push({
      path: edge.path,
      code: 'cycle',
      severity: 'error',
      message: `Dependency cycle: ${cycle.join(' → ')}. None of these services can start first; remove one of these dependencies.`,
    });
  }
  return out;
}

/** The shortest path start → … → start (breadth first), or undefined when start is on no cycle. */
function shortestCycle(start: string, edges: ReadonlyMap<string, readonly Edge[]>): string[] | undefined {
  const previous = new Map<string, string>();
  const queue: string[] = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head];
    for (const { to } of edges.get(node) ?? []) {
      if (to === start) {
        const path = [start];
        for (let at: string | undefined = node; at !== start && at !== undefined; at = previous.get(at)) path.splice(1, 0, at);
        path.push(start);
        return path;
      }
      if (!previous.has(to) && to !== start) {
        previous.set(to, node);
        queue.push(to);
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Params and volumes

const IGNORED_WHY: Record<string, string> = {
  ollama: 'Ollama sets threads and GPU layers per model (the num_thread and num_gpu options), not per server',
  vllm: 'vLLM has no such server setting (it runs on GPUs and offloads whole models)',
  tgi: 'TGI has no such server setting (it runs on GPUs and offloads whole models)',
  localai: 'LocalAI sets GPU layers per model in its model configuration',
  other: 'kind "other" has no known flags; pass the runtime\'s own flags in command instead',
};

function ignoredParams(all: readonly ServiceEntry[]): StackFinding[] {
  const out: StackFinding[] = [];
  for (const entry of all) {
    if (entry.section !== 'runtimes' || !entry.spec.params) continue;
    const p = entry.spec.params;
    // Any number stands in for `auto`: only whether a param is set matters here.
    const stand = (v: number | 'auto' | undefined) => (v === undefined ? undefined : v === 'auto' ? 1 : v);
    const { ignored } = paramMapping(entry.spec.kind, {
      threads: stand(p.threads),
      gpuLayers: stand(p.gpuLayers),
      contextSize: stand(p.contextSize),
      parallel: p.parallel,
      gpu: { kind: 'none' },
    });
    for (const name of ignored) {
      const why = IGNORED_WHY[entry.spec.kind] ?? 'this runtime has no such setting';
      out.push({
        path: ['runtimes', entry.name, 'params', name],
        code: 'ignored-param',
        severity: 'warning',
        message: `params.${name} has no effect on kind "${entry.spec.kind}": ${why}. Remove it.`,
      });
    }
  }
  return out;
}

function volumeTargets(all: readonly ServiceEntry[]): StackFinding[] {
  const out: StackFinding[] = [];
  for (const entry of all) {
    const seen = new Map<string, number>();
    (entry.spec.volumes ?? []).forEach((spec, i) => {
      const target = parseVolume(spec).target.replace(/(.)\/+$/, '$1');
      if (target === '/dev/shm' && entry.spec.shmSize !== undefined) {
        out.push({
          path: [entry.section, entry.name, 'volumes', i],
          code: 'volume-target',
          severity: 'error',
          message: `Volume "${spec}" mounts onto /dev/shm, which shmSize already sizes: keep one of the two (shmSize is the portable one: Swarm and Kubernetes mount /dev/shm themselves).`,
        });
        return;
      }
      const first = seen.get(target);
      if (first === undefined) {
        seen.set(target, i);
        return;
      }
      out.push({
        path: [entry.section, entry.name, 'volumes', i],
        code: 'volume-target',
        severity: 'error',
        message: `Volume "${spec}" mounts onto ${target}, which volumes[${first}] ("${entry.spec.volumes![first]}") already uses: a path inside the container can hold one mount. Change one target or remove one volume.`,
      });
    });
  }
  return out;
}
