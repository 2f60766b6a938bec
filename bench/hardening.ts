// Benchmark "hardening": how the extension copes with hostile input, one section per concern.
//
//   npm run bench -- hardening
//
// stackWorst      parseStackDocument (syntax, schema and semantic checks: all the editor runs when a
//                 stack file opens, in Restricted Mode too) on generated worst cases: 2,000 identical
//                 ports in a 36 KB file, a 1 MB file of repeated ports, 100 services x 20 missing
//                 dependencies, 20,000 unknown keys, deep nesting, many aliases and an alias bomb, a
//                 1 MB value and a 1 MB key, a dependency ring, repeated keys, volumes and bad ports,
//                 YAML syntax errors on every line, a valid file near the bound, and files over it
//                 (1 MB, 2 MB), refused with one diagnostic.
//                 Per case: p50/p95 wall and CPU ms over BENCH_HARDENING_RUNS runs after one warm-up,
//                 the diagnostics shown, whether it threw (a crash), and the heap it grew by (retained
//                 after a full GC, and before that GC), and yaml's own parse of the text alone (the
//                 floor under the case's time). Headline: stackWorst = the slowest median and
//                 its case. Budget: <= 200 ms per case.
//
// demoTokens     the demo runtime as `npm start` makes it (bench/lib/demoSpeed.ts): median tokens/s of
//                 Try a Prompt's request (64 tokens) over 7 runs after a warm-up, and the first prompt's
//                 wall time. Budget: >= 100 tokens/s. BENCH_HARDENING_SECTIONS=stack|demo runs one section.
//
// Env: BENCH_HARDENING_RUNS (default 10), BENCH_HARDENING_CASES (comma-separated case names: run only
// those, e.g. to time one case of the old code in a process of its own).
import * as os from 'node:os';
import { parseDocument } from 'yaml';
import { MAX_STACK_FILE_BYTES, parseStackDocument, type StackFormat } from '../src/core/stack/document';
import { measureDemoTokensPerSecond } from './lib/demoSpeed';
import { budget, budgetSummary, envNumber } from './lib/params';
import { collectGarbage, round, summarize } from './lib/stats';

const log = (msg: string) => process.stderr.write(`[bench:hardening] ${msg}\n`);
const STACK_BUDGET_MS = 200;
const MB = 2 ** 20;
const mb = (bytes: number) => round(bytes / MB, 2);

// ---------------------------------------------------------------------------------------------
// Worst-case stack files

interface HostileCase {
  readonly name: string;
  readonly what: string;
  readonly text: () => string;
  readonly format?: StackFormat;
}

const HEAD = 'version: 1\nname: demo\nruntimes:\n  a:\n    kind: other\n    image: x\n';
/** Just under the bound (MAX_STACK_FILE_BYTES): the largest file the editor still checks. */
const NEAR_BOUND = MAX_STACK_FILE_BYTES - 4096;

/** `line` repeated until the text reaches `size` characters (the head counts). */
function fill(head: string, line: (i: number) => string, size: number, tail = ''): string {
  const parts = [head];
  let length = head.length + tail.length;
  for (let i = 0; ; i++) {
    const l = line(i);
    if (length + l.length > size) break;
    parts.push(l);
    length += l.length;
  }
  parts.push(tail);
  return parts.join('');
}

function repeatLines(head: string, line: (i: number) => string, count: number): string {
  const parts = [head];
  for (let i = 0; i < count; i++) parts.push(line(i));
  return parts.join('');
}

/** A valid stack of `size` characters: services with distinct ports, a volume, env, each depending on the one before. */
function validStack(size: number): string {
  return fill(
    'version: 1\nname: demo\nruntimes:\n',
    (i) =>
      `  s${i}:\n    kind: other\n    image: example/image:1.0\n    ports: ["${10_000 + (i % 50_000)}:80"]\n    volumes: ["data${i}:/data"]\n    env: {INDEX: "${i}", MODE: fast}\n` +
      (i > 0 ? `    dependsOn: [s${i - 1}]\n` : ''),
    size,
  );
}

export const hostileCases: readonly HostileCase[] = [
  { name: 'ports1000', what: '1,000 identical "8080:80" ports in one service', text: () => repeatLines(`${HEAD}    ports:\n`, () => '      - "8080:80"\n', 1000) },
  { name: 'ports2000', what: '2,000 identical "8080:80" ports in one service (36 KB)', text: () => repeatLines(`${HEAD}    ports:\n`, () => '      - "8080:80"\n', 2000) },
  { name: 'portsNearBound', what: 'identical "8080:80" ports up to the bound', text: () => fill(`${HEAD}    ports:\n`, () => '      - "8080:80"\n', NEAR_BOUND) },
  {
    name: 'portsJsonNearBound',
    what: 'the same in JSON, one line',
    format: 'json',
    text: () => fill('{"version":1,"name":"demo","runtimes":{"a":{"kind":"other","image":"x","ports":["8080:80"', () => ',"8080:80"', NEAR_BOUND, ']}}}'),
  },
  {
    name: 'missingDeps100x20',
    what: '100 services, each with 20 dependencies that are not in the stack',
    text: () => repeatLines('version: 1\nname: demo\nuis:\n', (i) => `  svc${i}:\n    image: x\n    dependsOn: [${Array.from({ length: 20 }, (_, j) => `dep${i}-${j}`).join(', ')}]\n`, 100),
  },
  { name: 'unknownKeys20k', what: '20,000 unknown top-level keys (223 KB: over the bound)', text: () => repeatLines('version: 1\nname: demo\n', (i) => `key${i}: 1\n`, 20_000) },
  { name: 'unknownKeysNearBound', what: 'unknown keys of a service up to the bound', text: () => fill(HEAD, (i) => `    option${i}: 1\n`, NEAR_BOUND) },
  { name: 'deepFlow', what: 'a command nested in flow lists up to the bound', text: () => `${HEAD}    command: ${'['.repeat(NEAR_BOUND / 2 - 100)}${']'.repeat(NEAR_BOUND / 2 - 100)}\n` },
  {
    name: 'deepBlock',
    what: 'block mappings nested 350 levels deep (the bound in indentation)',
    text: () => repeatLines('version: 1\nname: demo\nruntimes:\n', (i) => `${' '.repeat(i + 1)}k${i}:\n`, 350),
  },
  { name: 'aliasesNearBound', what: 'aliases of one anchor in a list, up to the bound', text: () => `${HEAD}    command: &c x\n    labels: {l: [${Array(Math.floor(NEAR_BOUND / 4)).fill('*c').join(', ')}]}\n` },
  {
    name: 'aliasBomb',
    what: 'billion laughs: 9 levels of 9 aliases each',
    text: () => {
      let s = `${HEAD}    command: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n    labels:\n`;
      for (let i = 1; i <= 9; i++) s += `      l${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(', ')}]\n`;
      return s;
    },
  },
  {
    name: 'aliasedServices',
    what: 'services sharing one anchored env and ports through aliases, up to the bound',
    text: () => fill(`${HEAD}    env: &e {A: "1", B: "2"}\n    ports: &p ["9000:80"]\n`, (i) => `  s${i}: {kind: other, image: x, env: *e, ports: *p}\n`, NEAR_BOUND),
  },
  { name: 'longValueNearBound', what: 'a stack name up to the bound on one line', text: () => `version: 1\nname: ${'x'.repeat(NEAR_BOUND - 30)}\n` },
  { name: 'longKeyNearBound', what: 'an unknown key up to the bound', text: () => `version: 1\nname: demo\n${'k'.repeat(NEAR_BOUND - 30)}: 1\n` },
  {
    name: 'cycleRing',
    what: '1,250 services in one dependency ring (near the bound)',
    text: () => repeatLines('version: 1\nname: demo\nruntimes:\n', (i) => `  s${i}: {kind: other, image: x, dependsOn: [s${(i + 1) % 1_250}]}\n`, 1_250),
  },
  { name: 'duplicateKeys', what: 'the same env key up to the bound', text: () => fill(`${HEAD}    env:\n`, () => '      K: "1"\n', NEAR_BOUND) },
  { name: 'duplicateVolumes', what: 'volumes onto one target, up to the bound', text: () => fill(`${HEAD}    volumes:\n`, (i) => `      - v${i}:/data\n`, NEAR_BOUND) },
  { name: 'badPorts', what: 'ports that are not ports, up to the bound', text: () => fill(`${HEAD}    ports:\n`, () => '      - x\n', NEAR_BOUND) },
  { name: 'syntaxErrors', what: 'a YAML syntax error on every line, up to the bound', text: () => fill('version: 1\nname: demo\n', () => '- ]\n', NEAR_BOUND) },
  { name: 'validNearBound', what: 'a valid stack near the bound: distinct ports, volumes, env, a dependency chain', text: () => validStack(NEAR_BOUND) },
  { name: 'ports1MB', what: 'identical "8080:80" ports up to 1 MB (over the bound)', text: () => fill(`${HEAD}    ports:\n`, () => '      - "8080:80"\n', 1_000_000) },
  { name: 'oversized2MB', what: 'a 2 MB file (over the bound)', text: () => fill(`${HEAD}    ports:\n`, () => '      - "8080:80"\n', 2_000_000) },
];

// ---------------------------------------------------------------------------------------------
// Section: stackWorst

interface CaseResult {
  what: string;
  sizeKB: number;
  p50Ms: number;
  p95Ms: number;
  cpuP50Ms: number;
  /** yaml's parseDocument alone on the same text: the part of p50Ms this project does not control. */
  yamlOnlyP50Ms: number;
  diagnostics: number | null;
  crashed: string | null;
  heapGrowthMB: number;
  heapBeforeGcMB: number;
}

function timeOnce(c: HostileCase, text: string): { wallMs: number; cpuMs: number; diagnostics: number | null; crashed: string | null } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let diagnostics: number | null = null;
  let crashed: string | null = null;
  try {
    diagnostics = parseStackDocument(text, c.format).diagnostics.length;
  } catch (e) {
    crashed = e instanceof Error ? `${e.name}: ${e.message.slice(0, 200)}` : String(e);
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, diagnostics, crashed };
}

/** Heap held by one parsed document (what the editor caches per open file), and before the GC. */
async function heapOf(c: HostileCase, text: string): Promise<{ heapGrowthMB: number; heapBeforeGcMB: number }> {
  await collectGarbage();
  const before = process.memoryUsage().heapUsed;
  let kept: unknown;
  try {
    kept = parseStackDocument(text, c.format);
  } catch {
    kept = undefined;
  }
  const beforeGc = process.memoryUsage().heapUsed;
  await collectGarbage();
  const after = process.memoryUsage().heapUsed;
  void kept;
  return { heapGrowthMB: mb(after - before), heapBeforeGcMB: mb(beforeGc - before) };
}

async function measureCase(c: HostileCase, runs: number): Promise<CaseResult> {
  const text = c.text();
  const wall: number[] = [];
  const cpu: number[] = [];
  const yamlOnly: number[] = [];
  const oversized = Buffer.byteLength(text) > MAX_STACK_FILE_BYTES;
  let last = timeOnce(c, text); // warm-up
  for (let i = 0; i < runs; i++) {
    last = timeOnce(c, text);
    wall.push(last.wallMs);
    cpu.push(last.cpuMs);
    if (oversized) continue; // never parsed by the extension
    // As document.ts calls it: error objects without stack traces.
    const traces = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    const t0 = performance.now();
    parseDocument(text, { uniqueKeys: false });
    yamlOnly.push(performance.now() - t0);
    Error.stackTraceLimit = traces;
  }
  const memory = await heapOf(c, text);
  const w = summarize(wall, 1);
  const result: CaseResult = {
    what: c.what,
    sizeKB: round(Buffer.byteLength(text) / 1024, 1),
    p50Ms: w.p50Ms,
    p95Ms: w.p95Ms,
    cpuP50Ms: summarize(cpu, 1).p50Ms,
    yamlOnlyP50Ms: oversized ? 0 : summarize(yamlOnly, 1).p50Ms,
    diagnostics: last.diagnostics,
    crashed: last.crashed,
    ...memory,
  };
  log(`${c.name}: p50 ${result.p50Ms} ms (cpu ${result.cpuP50Ms}, yaml alone ${result.yamlOnlyP50Ms}), p95 ${result.p95Ms} ms, ${result.diagnostics ?? 'no'} diagnostics${result.crashed ? `, CRASHED ${result.crashed}` : ''}, heap +${result.heapGrowthMB} MB`);
  return result;
}

/** The stackWorst section: every hostile case, the slowest median as the headline. */
export async function stackWorstSection(): Promise<Record<string, unknown>> {
  const runs = envNumber('BENCH_HARDENING_RUNS', 10);
  const only = (process.env.BENCH_HARDENING_CASES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only.filter((n) => !hostileCases.some((c) => c.name === n));
  if (unknown.length) throw new Error(`Unknown case(s) in BENCH_HARDENING_CASES: ${unknown.join(', ')}. Cases: ${hostileCases.map((c) => c.name).join(', ')}`);
  const chosen = only.length ? hostileCases.filter((c) => only.includes(c.name)) : hostileCases;

  const cases: Record<string, CaseResult> = {};
  for (const c of chosen) cases[c.name] = await measureCase(c, runs);
  const slowest = Object.entries(cases).sort((a, b) => b[1].p50Ms - a[1].p50Ms)[0];
  const crashes = Object.entries(cases).filter(([, r]) => r.crashed !== null).map(([n]) => n);
  const targets = {
    stackWorstMs: budget(slowest?.[1].p50Ms, STACK_BUDGET_MS, 'ms'),
    stackCrashes: budget(crashes.length, 0, 'crashes', '='),
  };
  return {
    stackWorst: { p50Ms: slowest?.[1].p50Ms ?? null, case: slowest?.[0] ?? null },
    stackCrashes: crashes,
    targets,
    stackWorstCases: cases,
    stackWorstRuns: runs,
  };
}

// ---------------------------------------------------------------------------------------------

const DEMO_BUDGET_TOKENS_PER_SECOND = 100;

/** The demoTokens section: the demo runtime's generation speed, as a newcomer's first prompts see it. */
export async function demoTokensSection(): Promise<Record<string, unknown>> {
  const demo = await measureDemoTokensPerSecond();
  return {
    demoTokensPerSecond: demo.tokensPerSecond,
    demoWallTokensPerSecond: demo.wallTokensPerSecond,
    demoFirstPromptMs: demo.firstPromptMs,
    demo,
    targets: { demoTokensPerSecond: budget(demo.tokensPerSecond, DEMO_BUDGET_TOKENS_PER_SECOND, 'tokens/s', '>=') },
  };
}

/** Each section adds its figures; targets are merged so one summary covers all of them. */
const allSections: Record<string, () => Promise<Record<string, unknown>>> = { stack: stackWorstSection, demo: demoTokensSection };
const chosenSections = (process.env.BENCH_HARDENING_SECTIONS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const sections = chosenSections.length ? chosenSections.map((n) => {
  const s = allSections[n];
  if (!s) throw new Error(`Unknown section in BENCH_HARDENING_SECTIONS: ${n}. Sections: ${Object.keys(allSections).join(', ')}`);
  return s;
}) : Object.values(allSections);

export async function run(): Promise<Record<string, unknown>> {
  const loadAvgStart = os.loadavg().map((x) => round(x, 2));
  const result: Record<string, unknown> = {};
  const targets: Record<string, ReturnType<typeof budget>> = {};
  for (const section of sections) {
    const { targets: own, ...figures } = await section();
    Object.assign(result, figures);
    Object.assign(targets, own as Record<string, ReturnType<typeof budget>>);
  }
  const loadAvgEnd = os.loadavg().map((x) => round(x, 2));
  const warnings: string[] = [];
  if (Math.max(loadAvgStart[0], loadAvgEnd[0]) > os.cpus().length) {
    warnings.push(`the machine was busy (load average up to ${Math.max(loadAvgStart[0], loadAvgEnd[0])} on ${os.cpus().length} cores): wall times are noisy, CPU times (cpuP50Ms) less so`);
  }
  return {
    ...result,
    targets,
    ...budgetSummary(targets),
    notes: [
      'stackWorst = the slowest case median (wall ms) of parseStackDocument: YAML/JSON syntax, schema and semantic checks, as the editor runs them on open.',
      'yamlOnlyP50Ms = the yaml library\'s parseDocument alone on the same text (wall ms): the floor under p50Ms that no check of ours can lower.',
      'heapGrowthMB = heap still held after a full GC while the parsed document is kept (the editor caches one per open file); heapBeforeGcMB = growth before that GC.',
    ],
    environment: { loadAvgStart, loadAvgEnd },
    warnings,
  };
}
