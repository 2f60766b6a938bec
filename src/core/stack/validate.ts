// Checks a schema-valid stack file for what the schema cannot see: clashing names, ports and
// volume targets, dependencies on services that do not exist or that form a cycle, ports open to
// the network, and params a runtime kind ignores. Each finding names the path it is about; the
// document layer (document.ts) turns paths into ranges. Every check is linear in the file, and a
// finding's message is only built while the file is under its limit of problems (Problems).
import { isIP } from 'node:net';
import { paramMapping } from './params';
import { services, type ServiceEntry, type StackFile } from './schema';
import { parsePort, parseVolume, type NormalPort } from './normalize';

type Severity = 'error' | 'warning' | 'info';

export interface StackFinding {
  path: (string | number)[];
  message: string;
  code: string;
  severity: Severity;
}

/**
 * Problems listed per file at most: a hostile file (2,000 copies of one port) would otherwise make
 * millions of diagnostics; past the limit a problem is counted and its message never built.
 */
export const MAX_PROBLEMS = 200;

/** Where checks put what they find: `make` builds the problem, and is called only while it will be shown. */
export interface ProblemSink<T> {
  add(severity: Severity, make: () => T): void;
}

/**
 * Problems up to a limit, errors before the rest: the first `limit` errors are kept, and warnings
 * fill what room is left, so a flood of warnings never hides the error that blocks an apply.
 */
export class Problems<T> implements ProblemSink<T> {
  private readonly kept: { readonly severity: Severity; readonly item: T }[] = [];
  private errorsKept = 0;
  private othersKept = 0;
  private total = 0;
  private errorTotal = 0;

  constructor(readonly limit = MAX_PROBLEMS) {}

  add(severity: Severity, make: () => T): void {
    this.total++;
    if (severity === 'error') {
      this.errorTotal++;
      if (this.errorsKept >= this.limit) return;
      this.errorsKept++;
    } else {
      if (this.othersKept >= this.limit) return;
      this.othersKept++;
    }
    this.kept.push({ severity, item: make() });
  }

  /** Whether any error was found, shown or not. */
  get hasError(): boolean {
    return this.errorTotal > 0;
  }

  /** The problems to show, in the order found (every error kept, then warnings up to the limit), and how many are left out. */
  shown(): { items: T[]; notShown: number } {
    let room = Math.max(0, this.limit - this.errorsKept);
    const items = this.kept.filter((k) => k.severity === 'error' || room-- > 0).map((k) => k.item);
    return { items, notShown: this.total - items.length };
  }
}

/** Runs every semantic check into `sink`; findings come in file order per check. */
export function checkStack(file: StackFile, sink: ProblemSink<StackFinding>): void {
  const all = services(file);
  duplicateServices(file, sink);
  portChecks(all, sink);
  dependencyChecks(all, sink);
  cycles(all, sink);
  ignoredParams(all, sink);
  volumeTargets(all, sink);
}

/** The findings of every check, up to MAX_PROBLEMS (errors first). */
export function validateStack(file: StackFile): StackFinding[] {
  const problems = new Problems<StackFinding>();
  checkStack(file, problems);
  return problems.shown().items;
}

/** Text from the file as a message quotes it: long keys and values are cut, so a message stays a line. */
export function shorten(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// ---------------------------------------------------------------------------------------------
// Names

/** The same name in runtimes and uis would give two containers one name. */
function duplicateServices(file: StackFile, sink: ProblemSink<StackFinding>): void {
  for (const name of Object.keys(file.uis ?? {})) {
    if (!Object.prototype.hasOwnProperty.call(file.runtimes ?? {}, name)) continue;
    for (const [section, other] of [['runtimes', 'uis'], ['uis', 'runtimes']] as const) {
      sink.add('error', () => ({
        path: [section, name],
        code: 'duplicate-service',
        severity: 'error',
        message: `Service name "${name}" is used under both runtimes and uis: every service becomes a container named after it, so names must be unique. Rename the one under ${other} (and the dependsOn/runtime entries that name it).`,
      }));
    }
  }
}

/** Words longer than this are no typo of a key or service name (names have at most 63 characters). */
const MAX_SUGGESTION_WORD = 100;
/** Candidates compared per suggestion: a stack of thousands of services suggests among its first ones. */
const MAX_SUGGESTION_CANDIDATES = 500;

/**
 * The closest candidate to `word` by edit distance (transpositions count as one edit), when it is
 * close enough to be a plausible typo; undefined otherwise. Bounded: a long word, or candidates past
 * the first MAX_SUGGESTION_CANDIDATES, are not compared.
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  if (word.length > MAX_SUGGESTION_WORD) return undefined;
  const w = word.toLowerCase();
  // "prots" → "ports" is one edit; allow roughly one edit per three letters, at most three.
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3) + 1));
  let best: string | undefined;
  let bestDistance = Infinity;
  let compared = 0;
  for (const c of candidates) {
    if (++compared > MAX_SUGGESTION_CANDIDATES) break;
    // The distance is at least the difference in length: no need to compute it.
    if (Math.abs(c.length - w.length) > limit) continue;
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance && d <= limit && d < Math.max(w.length, c.length)) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions (three rows kept). */
function editDistance(a: string, b: string): number {
  let before = new Array<number>(b.length + 1).fill(0);
  let above = Array.from({ length: b.length + 1 }, (_, j) => j);
  let row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(above[j] + 1, row[j - 1] + 1, above[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j], before[j - 2] + 1);
    }
    [before, above, row] = [above, row, before];
  }
  return above[b.length];
}

/** "runtimes.ollama.ports[0]"; keys that are not plain words are quoted: `env["A.B"]`; long keys are cut. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg) && seg.length <= 60) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(shorten(seg))}]`;
  }
  return out;
}

/** "a", "b", "c" and 7 more: a list of names in a message stays short. */
function someNames(names: readonly string[], max = 10): string {
  const shown = names.slice(0, max).map((n) => `"${n}"`).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

// ---------------------------------------------------------------------------------------------
// Ports

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

interface PublishedAt {
  readonly service: string;
  readonly path: (string | number)[];
  readonly port: NormalPort;
  /** The address without IPv6 brackets. */
  readonly ip: string;
  /** Place in file order. */
  readonly order: number;
}

function bareIp(ip: string): string {
  return ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
}

function portChecks(all: readonly ServiceEntry[], sink: ProblemSink<StackFinding>): void {
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
          sink.add('error', () => ({ path, code: 'port-range', severity: 'error', message: `Port ${written}: host port ${port.hostPort} is out of range; use 0–65535 (0 lets the engine pick a free port).` }));
          usable = false;
        }
        if (port.containerPort < 1 || port.containerPort > 65535) {
          sink.add('error', () => ({ path, code: 'port-range', severity: 'error', message: `Port ${written}: container port ${port.containerPort} is out of range; use 1–65535.` }));
          usable = false;
        }
      }
      const ip = bareIp(port.hostIp);
      if (isIP(ip) === 0) {
        sink.add('error', () => ({
          path: typeof spec === 'string' ? path : [...path, 'hostIp'],
          code: 'port-address',
          severity: 'error',
          message: `Port ${written}: "${shorten(port.hostIp)}" is not an IP address; write an address such as 127.0.0.1 (this machine only) or leave it out.`,
        }));
        usable = false;
      } else if (ip === '0.0.0.0' || ip === '::') {
        sink.add('warning', () => ({
          path,
          code: 'public-port',
          severity: 'warning',
          message: `Port ${written} binds ${port.hostIp}, so it is reachable from other machines; remove the address to bind 127.0.0.1 (this machine only).`,
        }));
      }
      // Port 0: the engine picks a free port, so it never clashes.
      if (usable && port.hostPort !== 0) published.push({ service: entry.name, path, port, ip, order: published.length });
    });
  }
  duplicatePorts(published, sink);
}

/**
 * Two binds collide when port and protocol match and one address covers the other (a wildcard
 * covers every address). Binds are grouped by port and protocol, so each is checked against its
 * group's tallies, not against every other bind: each colliding bind is reported once, naming the
 * first other bind it collides with and how many more there are.
 */
function duplicatePorts(published: readonly PublishedAt[], sink: ProblemSink<StackFinding>): void {
  interface Group {
    readonly all: PublishedAt[];
    readonly wildcards: PublishedAt[];
    readonly byIp: Map<string, PublishedAt[]>;
  }
  const groups = new Map<string, Group>();
  for (const p of published) {
    const key = `${p.port.hostPort}/${p.port.protocol}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { all: [], wildcards: [], byIp: new Map() }));
    g.all.push(p);
    if (WILDCARDS.has(p.ip)) g.wildcards.push(p);
    else {
      const same = g.byIp.get(p.ip);
      if (same) same.push(p);
      else g.byIp.set(p.ip, [p]);
    }
  }
  const taken = { tcp: new Set<number>(), udp: new Set<number>() };
  for (const p of published) taken[p.port.protocol].add(p.port.hostPort);
  const nextFree = freePortFinder(taken);
  /** The first of `list` that is not `self`, and how many are not (`self` is in the list or not: known, not searched). */
  const others = (list: readonly PublishedAt[], self: PublishedAt, holdsSelf: boolean) => ({ first: list[0] === self ? list[1] : list[0], count: list.length - (holdsSelf ? 1 : 0) });

  for (const a of published) {
    const g = groups.get(`${a.port.hostPort}/${a.port.protocol}`)!;
    if (g.all.length < 2) continue;
    let first: PublishedAt | undefined;
    let count: number;
    if (WILDCARDS.has(a.ip)) {
      ({ first, count } = others(g.all, a, true));
    } else {
      // The same address, and every wildcard: whichever comes first in the file is named.
      const same = others(g.byIp.get(a.ip)!, a, true);
      const wild = others(g.wildcards, a, false);
      count = same.count + wild.count;
      first = same.first && wild.first ? (same.first.order < wild.first.order ? same.first : wild.first) : (same.first ?? wild.first);
    }
    if (!first || count === 0) continue;
    const b = first;
    sink.add('error', () => {
      const who = a.service === b.service ? `by another entry of this service (${formatPath(b.path)})` : `by service "${b.service}" (${formatPath(b.path)})`;
      const more = count > 1 ? ` and ${count - 1} more entr${count === 2 ? 'y' : 'ies'}` : '';
      const free = nextFree(a.port.hostPort, a.port.protocol);
      const hint = free !== undefined ? `, e.g. "${free}:${a.port.containerPort}${a.port.protocol === 'udp' ? '/udp' : ''}"` : '';
      return {
        path: a.path,
        code: 'duplicate-port',
        severity: 'error',
        message: `Host port ${a.port.hostPort}/${a.port.protocol} is also published ${who}${more}: two containers cannot bind the same host port. Change one of the host ports${hint}.`,
      };
    });
  }
}

/**
 * The first port above `port` that no entry publishes (undefined past 65535). Runs of taken ports
 * are skipped through remembered jumps, so many suggestions over one long run stay linear.
 */
function freePortFinder(taken: Record<'tcp' | 'udp', ReadonlySet<number>>): (port: number, protocol: 'tcp' | 'udp') => number | undefined {
  const jumps = { tcp: new Map<number, number>(), udp: new Map<number, number>() };
  return (port, protocol) => {
    const used = taken[protocol];
    const jump = jumps[protocol];
    const passed: number[] = [];
    let p = port + 1;
    while (p <= 65535 && used.has(p)) {
      passed.push(p);
      p = jump.get(p) ?? p + 1;
    }
    for (const q of passed) jump.set(q, p);
    return p <= 65535 ? p : undefined;
  };
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
  const deps = entry.spec.dependsOn ?? [];
  deps.forEach((to, i) => edges.push({ to, path: [entry.section, entry.name, 'dependsOn', i], via: 'dependsOn' }));
  if (entry.section === 'uis' && entry.spec.runtime !== undefined && !deps.includes(entry.spec.runtime)) {
    edges.push({ to: entry.spec.runtime, path: ['uis', entry.name, 'runtime'], via: 'runtime' });
  }
  return edges;
}

function dependencyChecks(all: readonly ServiceEntry[], sink: ProblemSink<StackFinding>): void {
  const allNames = [...new Set(all.map((e) => e.name))];
  const names = new Set(allNames);
  const runtimeNames = all.filter((e) => e.section === 'runtimes').map((e) => e.name);
  const runtimeSet = new Set(runtimeNames);
  for (const entry of all) {
    for (const edge of edgesOf(entry)) {
      if (edge.to === entry.name) {
        sink.add('error', () => ({
          path: edge.path,
          code: 'self-dependency',
          severity: 'error',
          message: `Service "${entry.name}" names itself in ${edge.via}: a service cannot wait for itself. Remove "${edge.to}" here.`,
        }));
      } else if (!names.has(edge.to)) {
        sink.add('error', () => {
          const pool = edge.via === 'runtime' ? runtimeNames : allNames;
          const guess = closestMatch(edge.to, pool);
          const fix = guess
            ? `Did you mean "${guess}"?`
            : pool.length > 0
              ? `Services you can name here: ${someNames(pool)}.`
              : edge.via === 'runtime'
                ? 'Add a runtime under runtimes, or remove this line.'
                : 'Add that service, or remove it from dependsOn.';
          return {
            path: edge.path,
            code: 'missing-dependency',
            severity: 'error',
            message: `Service "${entry.name}" ${edge.via === 'runtime' ? 'uses the runtime' : 'depends on'} "${edge.to}", which is not in this stack. ${fix}`,
          };
        });
      } else if (edge.via === 'runtime' && !runtimeSet.has(edge.to)) {
        sink.add('error', () => ({
          path: edge.path,
          code: 'ui-runtime',
          severity: 'error',
          message: `"${edge.to}" is a UI, not a runtime: a UI's runtime must name a service under runtimes${runtimeNames.length > 0 ? ` (${someNames(runtimeNames)})` : ''}. To start after another UI, list it in dependsOn instead.`,
        }));
      }
    }
  }
}

/** The dependency graph over service names, by index (a name used twice keeps its last entry's edges). */
interface Graph {
  readonly names: readonly string[];
  readonly index: ReadonlyMap<string, number>;
  /** Per node, its edges to existing services other than itself, with the node they lead to. */
  readonly out: readonly (readonly (Edge & { readonly node: number })[])[];
}

function graphOf(all: readonly ServiceEntry[]): Graph {
  const index = new Map<string, number>();
  for (const e of all) if (!index.has(e.name)) index.set(e.name, index.size);
  const out: (Edge & { node: number })[][] = Array.from({ length: index.size }, () => []);
  for (const entry of all) {
    const from = index.get(entry.name)!;
    out[from] = edgesOf(entry)
      .filter((e) => e.to !== entry.name && index.has(e.to))
      .map((e) => ({ ...e, node: index.get(e.to)! }));
  }
  return { names: [...index.keys()], index, out };
}

/**
 * Every service on a dependency cycle is reported at the entry that leads into the cycle, with the
 * cycle written from that service: "a → b → c → a". Whether a service is on a cycle comes from its
 * strongly connected component (one linear pass); the cycle itself is searched only for findings shown.
 */
function cycles(all: readonly ServiceEntry[], sink: ProblemSink<StackFinding>): void {
  const graph = graphOf(all);
  const component = components(graph);
  const size = new Map<number, number>();
  for (const c of component) size.set(c, (size.get(c) ?? 0) + 1);
  const search = new CycleSearch(graph, component);
  for (const entry of all) {
    const node = graph.index.get(entry.name)!;
    // Edges to itself are left out of the graph, so a component of one is no cycle.
    if (size.get(component[node])! < 2) continue;
    sink.add('error', () => {
      const cycle = search.shortestFrom(node);
      const edge = graph.out[node].find((e) => e.node === cycle[1])!;
      return {
        path: edge.path,
        code: 'cycle',
        severity: 'error',
        message: `Dependency cycle: ${writeCycle(cycle, graph.names)}. None of these services can start first; remove one of these dependencies.`,
      };
    });
  }
}

/** "a → b → c → a"; a long cycle shows its start and end and counts the services between. */
function writeCycle(cycle: readonly number[], names: readonly string[]): string {
  const write = (part: readonly number[]) => part.map((n) => names[n]).join(' → ');
  if (cycle.length <= 12) return write(cycle);
  return `${write(cycle.slice(0, 6))} → … ${cycle.length - 9} more … → ${write(cycle.slice(-3))} (${cycle.length - 1} services)`;
}

/** The strongly connected component of each node (Tarjan's algorithm, iterative: no recursion on long chains). */
function components(graph: Graph): number[] {
  const n = graph.names.length;
  const index = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const component = new Array<number>(n).fill(-1);
  const onStack = new Array<boolean>(n).fill(false);
  const stack: number[] = [];
  let counter = 0;
  let components = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: { node: number; edge: number }[] = [{ node: root, edge: 0 }];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (work.length) {
      const top = work[work.length - 1];
      const edges = graph.out[top.node];
      if (top.edge < edges.length) {
        const next = edges[top.edge++].node;
        if (index[next] === -1) {
          index[next] = low[next] = counter++;
          stack.push(next);
          onStack[next] = true;
          work.push({ node: next, edge: 0 });
        } else if (onStack[next]) {
          low[top.node] = Math.min(low[top.node], index[next]);
        }
        continue;
      }
      work.pop();
      if (work.length) low[work[work.length - 1].node] = Math.min(low[work[work.length - 1].node], low[top.node]);
      if (low[top.node] === index[top.node]) {
        let m: number;
        do {
          m = stack.pop()!;
          onStack[m] = false;
          component[m] = components;
        } while (m !== top.node);
        components++;
      }
    }
  }
  return component;
}

/**
 * Shortest cycles by breadth-first search inside the start's component (which holds every cycle
 * through it). The edges are packed into typed arrays and the work arrays allocated once, marked
 * per search: a ring of thousands of services is searched once for each service listed.
 */
class CycleSearch {
  /** Edges of node i: targets[first[i]] … targets[first[i + 1] - 1]. */
  private readonly first: Int32Array;
  private readonly targets: Int32Array;
  private readonly seenIn: Int32Array;
  private readonly previous: Int32Array;
  private readonly queue: Int32Array;
  private search = 0;

  constructor(
    private readonly graph: Graph,
    private readonly component: readonly number[],
  ) {
    const n = graph.names.length;
    this.first = new Int32Array(n + 1);
    graph.out.forEach((edges, i) => (this.first[i + 1] = this.first[i] + edges.length));
    this.targets = new Int32Array(this.first[n]);
    graph.out.forEach((edges, i) => edges.forEach((e, j) => (this.targets[this.first[i] + j] = e.node)));
    this.seenIn = new Int32Array(n);
    this.previous = new Int32Array(n);
    this.queue = new Int32Array(n);
  }

  /** The shortest path start → … → start, as node numbers. */
  shortestFrom(start: number): number[] {
    const mark = ++this.search;
    const home = this.component[start];
    let tail = 0;
    this.queue[tail++] = start;
    this.seenIn[start] = mark;
    for (let head = 0; head < tail; head++) {
      const node = this.queue[head];
      for (let e = this.first[node]; e < this.first[node + 1]; e++) {
        const to = this.targets[e];
        if (to === start) {
          // Walked back from the last node before start, then turned around.
          const back: number[] = [];
          for (let at = node; at !== start; at = this.previous[at]) back.push(at);
          back.push(start);
          back.reverse();
          back.push(start);
          return back;
        }
        if (this.component[to] !== home || this.seenIn[to] === mark) continue;
        this.seenIn[to] = mark;
        this.previous[to] = node;
        this.queue[tail++] = to;
      }
    }
    // Unreachable: a component of two or more holds a cycle through each of its nodes.
    throw new Error(`no dependency cycle through "${this.graph.names[start]}"`);
  }
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

function ignoredParams(all: readonly ServiceEntry[], sink: ProblemSink<StackFinding>): void {
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
      sink.add('warning', () => ({
        path: ['runtimes', entry.name, 'params', name],
        code: 'ignored-param',
        severity: 'warning',
        message: `params.${name} has no effect on kind "${entry.spec.kind}": ${why}. Remove it.`,
      }));
    }
  }
}

function volumeTargets(all: readonly ServiceEntry[], sink: ProblemSink<StackFinding>): void {
  for (const entry of all) {
    const volumes = entry.spec.volumes ?? [];
    const seen = new Map<string, number>();
    volumes.forEach((spec, i) => {
      const target = parseVolume(spec).target.replace(/(.)\/+$/, '$1');
      const path = [entry.section, entry.name, 'volumes', i];
      if (target === '/dev/shm' && entry.spec.shmSize !== undefined) {
        sink.add('error', () => ({
          path,
          code: 'volume-target',
          severity: 'error',
          message: `Volume "${shorten(spec)}" mounts onto /dev/shm, which shmSize already sizes: keep one of the two (shmSize is the portable one: Swarm and Kubernetes mount /dev/shm themselves).`,
        }));
        return;
      }
      const first = seen.get(target);
      if (first === undefined) {
        seen.set(target, i);
        return;
      }
      sink.add('error', () => ({
        path,
        code: 'volume-target',
        severity: 'error',
        message: `Volume "${shorten(spec)}" mounts onto ${shorten(target)}, which volumes[${first}] ("${shorten(volumes[first])}") already uses: a path inside the container can hold one mount. Change one target or remove one volume.`,
      }));
    });
  }
}
