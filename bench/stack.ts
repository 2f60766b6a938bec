// Benchmark "stack": planning a large stack, and applying a small one in parallel vs one by one.
//
//   npm run bench -- stack
//
// plan50Ms        desiredContainers + planStack for a generated 50-service stack (10 runtimes of four
//                 kinds with ports, volumes, params and healthchecks; 40 UIs wired to them), in
//                 process, against two states read from the real engine: nothing exists yet
//                 (everything to create), and the stack applied and unchanged (no changes). Median of
//                 BENCH_STACK_PLAN_RUNS runs each after a warm-up; the headline is the larger median.
//                 Budget: <= 20 ms. readStackState (engine I/O) is reported beside it, not in it.
// apply10         applyStack of a 10-container busybox stack without dependencies, from nothing
//                 (network included), median of BENCH_STACK_APPLY_RUNS runs each with the services of a
//                 level in parallel and one by one (alternating), `down` between runs; ratio =
//                 sequential / parallel.
//
// Env: BENCH_STACK_PLAN_RUNS (default 300), BENCH_STACK_APPLY_RUNS (default 3), BENCH_STACK_START50=1
// (start the 50 containers for the "unchanged" state instead of only creating them: over a minute on
// a busy 2-core machine, the plan figure is the same).
import * as os from 'node:os';
import type Docker from 'dockerode';
import { errorMessage } from '../src/core/lifecycle';
import { applyStack, downStack } from '../src/core/stack/apply';
import { desiredContainers } from '../src/core/stack/containerSpec';
import { planStack, readStackState, type StackState } from '../src/core/stack/plan';
import { stackFileSchema, type StackFile } from '../src/core/stack/schema';
import { BUSYBOX, engine, LLAMACPP_LIKE, OLLAMA_LIKE, TEST_LABEL } from '../test/support/engine';
import { BENCH_RUN_LABEL, benchRunId, interruptCleanups } from './lib/benchContainers';
import { budget, budgetSummary, envNumber } from './lib/params';
import { round, summarize, type Summary } from './lib/stats';

const log = (msg: string) => process.stderr.write(`[bench:stack] ${msg}\n`);
const PLAN_BUDGET_MS = 20;
const SLEEPER = "trap 'exit 0' TERM; while true; do sleep 1; done";
const LABELS = { [TEST_LABEL]: 'true', [BENCH_RUN_LABEL]: benchRunId };

const pct = (s: Summary) => ({ p50Ms: s.p50Ms, p95Ms: s.p95Ms, minMs: s.minMs, maxMs: s.maxMs, n: s.n });

/** Stacks this run made, taken down on exit and on Ctrl-C. */
const madeStacks = new Set<string>();
let stackCounter = 0;
function stackName(tag: string): string {
  const name = `bstk-${benchRunId}-${tag}-${stackCounter++}`.toLowerCase();
  madeStacks.add(name);
  return name;
}

async function downAll(docker: Docker): Promise<void> {
  for (const s of [...madeStacks]) {
    await downStack(docker, s, { removeVolumes: true, stopTimeoutS: 1 }).then(
      () => madeStacks.delete(s),
      (e) => log(`down ${s}: ${errorMessage(e)}`),
    );
  }
}

/**
 * 10 runtimes (ollama, llama.cpp, vLLM, other) and 40 UIs, busybox sleepers. `state` stopped: created
 * but not started, which plans exactly like running containers and keeps the engine lock short.
 */
function fiftyServices(name: string, state: 'running' | 'stopped'): StackFile {
  const kinds = ['ollama', 'llamacpp', 'vllm', 'other'] as const;
  const runtimes: Record<string, unknown> = {};
  const uis: Record<string, unknown> = {};
  for (let i = 0; i < 10; i++) {
    const kind = kinds[i % kinds.length];
    runtimes[`rt${i}`] = {
      kind,
      image: kind === 'ollama' ? OLLAMA_LIKE : kind === 'llamacpp' ? LLAMACPP_LIKE : BUSYBOX,
      command: ['sh', '-c', SLEEPER],
      port: kind === 'other' ? 9000 : undefined,
      ports: [{ container: 11434, host: 0 }],
      volumes: [`models${i}:/models`, './cache:/cache:ro'],
      env: { RUNTIME_INDEX: i, LOG_LEVEL: 'info', HF_HOME: '/models/hf' },
      params: { threads: 4, contextSize: 4096 + 1024 * i, parallel: 2, gpuLayers: 'auto' },
      healthcheck: { test: 'true', interval: '500ms', timeout: '2s', retries: 3 },
      state,
      labels: { ...LABELS, tier: 'runtime' },
    };
  }
  for (let i = 0; i < 40; i++) {
    uis[`ui${i}`] = {
      kind: i % 2 ? 'openwebui' : 'other',
      image: BUSYBOX,
      command: ['sh', '-c', SLEEPER],
      runtime: `rt${i % 10}`,
      dependsOn: i >= 20 ? [`ui${i - 20}`] : undefined,
      ports: i % 4 === 0 ? [{ container: 8080, host: 0 }] : undefined,
      env: { UI_INDEX: i, WEBUI_AUTH: false },
      restart: i % 3 ? 'unless-stopped' : 'always',
      state,
      labels: LABELS,
    };
  }
  return stackFileSchema.parse(JSON.parse(JSON.stringify({ version: 1, name, runtimes, uis })));
}

function tenServices(name: string): StackFile {
  const uis: Record<string, unknown> = {};
  for (let i = 0; i < 10; i++) uis[`s${i}`] = { image: BUSYBOX, command: ['sh', '-c', SLEEPER], labels: LABELS };
  return stackFileSchema.parse({ version: 1, name, uis });
}

/** Times desiredContainers + planStack against a fixed state (the warm-up runs are dropped). */
function timePlans(file: StackFile, state: StackState, runs: number): { summary: Summary; changes: number } {
  const samples: number[] = [];
  let changes = -1;
  const warmup = Math.min(50, runs);
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    const plan = planStack(desiredContainers(file, { stackDir: os.tmpdir() }), state);
    const ms = performance.now() - t0;
    if (i >= warmup) samples.push(ms);
    changes = plan.changes.length;
  }
  return { summary: summarize(samples, 3), changes };
}

async function measurePlan50(docker: Docker, runs: number, started: boolean) {
  const name = stackName('p50');
  const file = fiftyServices(name, started ? 'running' : 'stopped');
  const images = [...new Set(desiredContainers(file, { stackDir: os.tmpdir() }).map((d) => d.image))];

  const readEmpty = performance.now();
  const empty = await readStackState(docker, name, images);
  const readEmptyMs = performance.now() - readEmpty;
  const fromNothing = timePlans(file, empty, runs);
  log(`plan50 from nothing: p50 ${fromNothing.summary.p50Ms} ms, ${fromNothing.changes} changes`);

  const t0 = Date.now();
  const desired = desiredContainers(file, { stackDir: os.tmpdir() });
  const report = await applyStack(docker, desired, planStack(desired, empty), { stack: name, stopTimeoutS: 1, healthTimeoutMs: 60_000 });
  const applyMs = Date.now() - t0;
  log(`plan50: applied 50 services (${started ? 'started' : 'created, not started'}) in ${(applyMs / 1000).toFixed(1)} s (${report.done.length} steps)`);

  const reads: number[] = [];
  let full: StackState | undefined;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    full = await readStackState(docker, name, images);
    reads.push(performance.now() - t);
  }
  const unchanged = timePlans(file, full!, runs);
  log(`plan50 all unchanged: p50 ${unchanged.summary.p50Ms} ms, ${unchanged.changes} changes`);
  if (unchanged.changes !== 0) throw new Error(`the plan after apply has ${unchanged.changes} changes; expected none`);

  const t1 = Date.now();
  await downStack(docker, name, { removeVolumes: true, stopTimeoutS: 1 });
  madeStacks.delete(name);
  log(`plan50: down in ${((Date.now() - t1) / 1000).toFixed(1)} s`);

  return {
    plan50Ms: Math.max(fromNothing.summary.p50Ms, unchanged.summary.p50Ms),
    plan50: {
      services: desired.length,
      runs,
      fromNothing: { ...pct(fromNothing.summary), changes: fromNothing.changes },
      allUnchanged: { ...pct(unchanged.summary), changes: unchanged.changes },
    },
    readState50: { emptyMs: round(readEmptyMs, 1), withContainers: pct(summarize(reads, 1)), containers: full!.containers.length },
    apply50: { ms: applyMs, started },
  };
}

async function measureApply10(docker: Docker, runs: number) {
  const parallel: number[] = [];
  const sequential: number[] = [];
  for (let i = 0; i < runs * 2; i++) {
    const isParallel = i % 2 === 0;
    const name = stackName(isParallel ? 'par' : 'seq');
    const file = tenServices(name);
    const desired = desiredContainers(file, { stackDir: os.tmpdir() });
    const plan = planStack(desired, await readStackState(docker, name, [BUSYBOX]));
    const t0 = performance.now();
    const report = await applyStack(docker, desired, plan, { stack: name, parallel: isParallel, stopTimeoutS: 1 });
    const ms = performance.now() - t0;
    (isParallel ? parallel : sequential).push(ms);
    if (report.done.length !== 11) throw new Error(`apply10 did ${report.done.length} steps; expected 11 (network + 10 containers)`);
    await downStack(docker, name, { removeVolumes: true, stopTimeoutS: 1 });
    madeStacks.delete(name);
    log(`apply10 ${isParallel ? 'parallel' : 'sequential'}: ${ms.toFixed(0)} ms`);
  }
  const p = summarize(parallel, 1);
  const s = summarize(sequential, 1);
  return {
    apply10: {
      parallelMs: p.p50Ms,
      sequentialMs: s.p50Ms,
      ratio: round(s.p50Ms / p.p50Ms, 2),
      runs,
      parallelRunsMs: parallel.map((x) => round(x, 1)),
      sequentialRunsMs: sequential.map((x) => round(x, 1)),
    },
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const docker = engine();
  const planRuns = envNumber('BENCH_STACK_PLAN_RUNS', 300);
  const applyRuns = envNumber('BENCH_STACK_APPLY_RUNS', 3);
  const start50 = process.env.BENCH_STACK_START50 === '1';
  const warnings: string[] = [];
  const loadAvgStart = os.loadavg().map((x) => round(x, 2));
  const cleanup = () => downAll(docker);
  interruptCleanups.add(cleanup);
  const result: Record<string, unknown> = {};
  try {
    Object.assign(result, await measurePlan50(docker, planRuns, start50));
    Object.assign(result, await measureApply10(docker, applyRuns));
  } finally {
    await downAll(docker);
    interruptCleanups.delete(cleanup);
  }
  const targets = { plan50Ms: budget(result.plan50Ms, PLAN_BUDGET_MS, 'ms') };
  const loadAvgEnd = os.loadavg().map((x) => round(x, 2));
  if (loadAvgEnd[0] > os.cpus().length) warnings.push(`the machine was busy (load average ${loadAvgEnd[0]} on ${os.cpus().length} cores): figures are noisy`);
  return {
    plan50Ms: result.plan50Ms,
    apply10: result.apply10,
    targets,
    ...budgetSummary(targets),
    plan50: result.plan50,
    readState50: result.readState50,
    apply50: result.apply50,
    notes: [
      'plan50Ms = the larger of the two medians (desiredContainers + planStack, in process); engine reads are in readState50.',
      'The 50-service stack is applied for real (busybox stand-ins with ports, volumes, params, 10 healthchecks, 20 two-level UI chains) to get the "all unchanged" state; its services are created with state: stopped unless BENCH_STACK_START50=1 (planning compares the same fields either way).',
      'apply10 times applyStack only (network + 10 containers created and started); parallel and sequential runs alternate, down between runs.',
    ],
    environment: { loadAvgStart, loadAvgEnd },
    warnings,
  };
}
