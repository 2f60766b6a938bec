// Benchmark "service": the local service and its CLI, measured as a user meets them.
// - eventToTree: a container started on the engine → a client of the service sees it running
//   (the service's event stream, then containers.list), beside the same path in-process (the
//   extension's cache today), in the same run.
// - apiRoundTrip: a small request (GET /v1/version) over the Unix socket.
// - cliPs: `llmstack ps --json` as a whole process, beside a bare Node process and `docker ps`.
// - coldStartMs: a client asks, no service answers, the client spawns it, first answer.
// - serviceIdleRssMB: the service's resident memory after it has served and sat idle.
// - lostWrites: acknowledged registry writes missing after kill -9 rounds (BENCH_KILL_ROUNDS).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { EngineConnection } from '../src/core/docker/connection';
import { ContainerCache } from '../src/core/docker/containerCache';
import { connectService, SERVICE_RUNTIME_FLAGS, ServiceClient, startCommandFor, stopService } from '../src/service/client';
import { servicePaths, type ServicePaths } from '../src/service/paths';
import { resolutionFor } from '../test/support/engineFixture';
import { DEFAULT_SOCKET } from '../test/support/engine';
import { createBenchContainer, interruptCleanups, removeBenchContainers } from './lib/benchContainers';
import { budget, budgetSummary, envNumber } from './lib/params';
import { round, summarize } from './lib/stats';

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(__dirname, '..', '..');
const CLI = path.join(repoRoot, 'dist', 'cli.js');
const log = (m: string) => process.stderr.write(`[bench:service] ${m}\n`);

function home(): { dir: string; paths: ServicePaths; env: NodeJS.ProcessEnv } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lsb-'));
  const env: NodeJS.ProcessEnv = { ...process.env, LLMSTACK_HOME: dir };
  delete env.NODE_V8_COVERAGE;
  return { dir, paths: servicePaths({ LLMSTACK_HOME: dir }), env };
}

async function timeProcess(command: string, args: string[], env: NodeJS.ProcessEnv, runs: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now();
    await execFileAsync(command, args, { env, maxBuffer: 64 * 1024 * 1024 });
    if (i >= 2) samples.push(performance.now() - t0);
  }
  return samples;
}

/** `llmstack serve` by hand, resolved once it answers. */
async function serveByHand(h: ReturnType<typeof home>): Promise<ChildProcess> {
  // With the V8 flags a client starts the service with.
  const child = spawn(process.execPath, [...SERVICE_RUNTIME_FLAGS, CLI, 'serve'], { env: h.env, stdio: 'ignore' });
  const c = new ServiceClient(h.paths.socket);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const v = await c.version(1_000).catch(() => undefined);
    if (v?.pid === child.pid) return child;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  throw new Error('the service did not start');
}

async function eventToTree(h: ReturnType<typeof home>, runs: number) {
  const client = new ServiceClient(h.paths.socket);
  const connection = new EngineConnection({ resolve: () => resolutionFor(`unix://${DEFAULT_SOCKET}`) });
  const cache = new ContainerCache(connection);
  await connection.connect();
  const viaService: number[] = [];
  const inProcess: number[] = [];
  let wake: () => void = () => {};
  const sub = client.events((e) => e.type === 'containers' && wake());
  try {
    for (let i = 0; i < runs; i++) {
      const c = await createBenchContainer({ start: false });
      // Both observers start from the container's creation, settled.
      for (const seen = () => cache.get(c.id); !seen(); ) await new Promise<void>((r) => { const d = cache.onDidChange(() => (d.dispose(), r())); });
      let tService = 0;
      let tLocal = 0;
      const local = new Promise<void>((resolve) => {
        const d = cache.onDidChange(() => {
          if (cache.get(c.id)?.state === 'running') {
            tLocal = performance.now();
            d.dispose();
            resolve();
          }
        });
      });
      const remote = (async () => {
        for (;;) {
          const changed = new Promise<void>((r) => (wake = r));
          const list = await client.call<{ others: { id: string; state: string }[]; runtimes: { id: string; state: string }[] }>('containers.list', {});
          if ([...list.others, ...list.runtimes].some((x) => x.id === c.id && x.state === 'running')) {
            tService = performance.now();
            return;
          }
          await changed;
        }
      })();
      await c.start();
      const t0 = performance.now();
      await Promise.all([local, remote]);
      viaService.push(Math.max(0, tService - t0));
      inProcess.push(Math.max(0, tLocal - t0));
      await c.remove({ force: true });
    }
  } finally {
    sub.dispose();
    cache.dispose();
    connection.dispose();
  }
  const s = summarize(viaService);
  const l = summarize(inProcess);
  return {
    eventToTree: { p50Ms: s.p50Ms, p95Ms: s.p95Ms, maxMs: s.maxMs, n: s.n, measured: 'from the engine answering the start request to a service client listing the container as running' },
    eventToTreeInProcess: { p50Ms: l.p50Ms, p95Ms: l.p95Ms, maxMs: l.maxMs, n: l.n, measured: 'the same start seen by a ContainerCache in this process (the extension today)' },
  };
}

async function lostWrites(rounds: number) {
  const h = home();
  const acked: string[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const child = await serveByHand(h);
      const c = new ServiceClient(h.paths.socket);
      const want = acked.length + 1 + (r % 4);
      let stop = false;
      let reached: () => void = () => {};
      const enough = new Promise<void>((res) => (reached = res));
      const writer = (async () => {
        for (let i = 0; !stop; i++) {
          try {
            await c.call('registry.recordAudit', { operation: 'bench.write', target: `r${r}-${i}` });
          } catch {
            return;
          }
          acked.push(`r${r}-${i}`);
          if (acked.length >= want) reached();
        }
      })();
      await Promise.race([enough, writer]);
      const exited = new Promise((res) => child.once('exit', res));
      child.kill('SIGKILL');
      await exited;
      stop = true;
      await writer;
    }
    const child = await serveByHand(h);
    const { entries } = await new ServiceClient(h.paths.socket).call<{ entries: { operation: string; target: string }[] }>('registry.audit', { limit: 1000 });
    const present = new Set(entries.filter((e) => e.operation === 'bench.write').map((e) => e.target));
    await stopService(h.paths);
    child.kill('SIGKILL');
    return { lostWrites: acked.filter((t) => !present.has(t)).length, lostWritesDetail: { rounds, acknowledged: acked.length } };
  } finally {
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<Record<string, unknown>> {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: npm run bench builds it first');
  const runs = envNumber('BENCH_RUNS', 20);
  const result: Record<string, unknown> = {};
  const h = home();
  interruptCleanups.add(() => removeBenchContainers());
  let served: ChildProcess | undefined;
  try {
    // Cold start: a client finds no service, spawns it, and gets its first answer.
    const cold: number[] = [];
    for (let i = 0; i < Math.min(runs, 10); i++) {
      const t0 = performance.now();
      const { started } = await connectService(h.paths, { start: startCommandFor(CLI, 1, h.env) });
      cold.push(performance.now() - t0);
      if (!started) throw new Error('a service was already running');
      await stopService(h.paths);
    }
    result.coldStartMs = summarize(cold).p50Ms;
    result.coldStart = summarize(cold);
    log(`cold start p50 ${result.coldStartMs} ms`);

    served = await serveByHand(h);
    const client = new ServiceClient(h.paths.socket);
    const rt: number[] = [];
    for (let i = 0; i < 520; i++) {
      const t0 = performance.now();
      await client.version();
      if (i >= 20) rt.push(performance.now() - t0);
    }
    result.apiRoundTrip = summarize(rt, 3);

    const bare = summarize(await timeProcess(process.execPath, ['-e', '0'], h.env, runs));
    const ps = summarize(await timeProcess(process.execPath, [CLI, 'ps', '--json'], h.env, runs));
    const dockerPs = summarize(await timeProcess('docker', ['ps'], h.env, runs));
    result.cliPs = { ...ps, command: 'node dist/cli.js ps --json' };
    result.nodeBare = { ...bare, command: 'node -e 0' };
    result.dockerPsCli = { ...dockerPs, command: 'docker ps' };
    result.cliPsOverNodeBare = round(ps.p50Ms / bare.p50Ms, 2);
    log(`ps ${ps.p50Ms} ms, bare node ${bare.p50Ms} ms, docker ps ${dockerPs.p50Ms} ms`);

    Object.assign(result, await eventToTree(h, runs));
    // Idle: served, then left alone for a moment, then measured.
    await new Promise((r) => setTimeout(r, 5_000));
    const status = fs.readFileSync(`/proc/${served.pid}/status`, 'utf8');
    result.serviceIdleRssMB = round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024, 1);
    await stopService(h.paths);
    served = undefined;

    Object.assign(result, await lostWrites(envNumber('BENCH_KILL_ROUNDS', 100)));
  } finally {
    served?.kill('SIGKILL');
    await removeBenchContainers();
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
  const targets = {
    eventToTree: budget((result.eventToTree as { p50Ms: number }).p50Ms, 50, 'ms'),
    apiRoundTrip: budget((result.apiRoundTrip as { p50Ms: number }).p50Ms, 1, 'ms'),
    cliPsOverNodeBare: budget(result.cliPsOverNodeBare, 1.3, '×'),
    serviceIdleRssMB: budget(result.serviceIdleRssMB, 80, 'MB'),
    coldStartMs: budget(result.coldStartMs, 1000, 'ms'),
    lostWrites: budget(result.lostWrites, 0, '', '='),
  };
  return { ...result, targets, ...budgetSummary(targets) };
}
