// Benchmark "api": the service opened to other programs, on its TCP listener with a token.
// - gateway.overheadP50Ms / overheadP99Ms: the same small request to the test runtime (GET
//   /api/tags) directly and through the gateway (/runtimes/<name>/api/tags with a token),
//   interleaved one by one in one run; the overhead is the difference of the medians (p99s).
// - api.rps / api.p99Ms / api.errors: an authenticated read route (POST /v1/containers/list with a
//   viewer token) under a closed-loop load of BENCH_API_CONCURRENCY clients for BENCH_API_SECONDS
//   on loopback (keep-alive connections), every answer checked; 60 s by default.
// - unauthenticatedAccepted: requests with no token or a wrong one, on state, action, admin,
//   metrics and gateway routes, sent while the load runs: how many were answered 2xx (goal 0).
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { SERVICE_RUNTIME_FLAGS, ServiceClient } from '../src/service/client';
import { servicePaths } from '../src/service/paths';
import { writeTinyGguf } from '../test/support/gguf';
import { startRuntimeProcess } from '../test/support/runtimeProcess';
import { budget, budgetSummary, envNumber } from './lib/params';
import { percentile, round, summarize } from './lib/stats';

const repoRoot = path.resolve(__dirname, '..', '..');
const CLI = path.join(repoRoot, 'dist', 'cli.js');
const log = (m: string) => process.stderr.write(`[bench:api] ${m}\n`);

function get(agent: http.Agent, port: number, p: string, token?: string, method = 'GET', body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, agent, headers: { host: `127.0.0.1:${port}`, ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function run(): Promise<Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lsa-'));
  const env: NodeJS.ProcessEnv = { ...process.env, LLMSTACK_HOME: dir };
  delete env.NODE_V8_COVERAGE;
  const paths = servicePaths({ LLMSTACK_HOME: dir });
  const models = path.join(dir, 'models');
  fs.mkdirSync(models, { recursive: true });
  writeTinyGguf(path.join(models, 'chat__1b.gguf'), { name: 'chat', contextLength: 128 });
  const rt = await startRuntimeProcess({ modelsDir: models });
  fs.mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(paths.dataDir, 'config.json'), JSON.stringify({ runtimes: { endpoints: [{ url: rt.base, kind: 'ollama', name: 'bench' }] } }));
  let served: ChildProcess | undefined;
  const result: Record<string, unknown> = {};
  try {
    served = spawn(process.execPath, [...SERVICE_RUNTIME_FLAGS, CLI, 'serve', '--listen', '127.0.0.1:0'], { env, stdio: 'ignore' });
    const c = new ServiceClient(paths.socket);
    let port = 0;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline && !port; ) {
      port = (await c.get<{ tcp?: { port: number } }>('/v1/status', 2_000).catch(() => undefined))?.tcp?.port ?? 0;
      if (!port) await new Promise((r) => setTimeout(r, 50));
    }
    if (!port) throw new Error('the service did not start');
    const token = (await c.call<{ token: string }>('tokens.create', { name: 'bench', role: 'viewer' })).token;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const rtPort = Number(new URL(rt.base).port);

    // Gateway overhead: direct and through the gateway, one after the other, N times.
    const n = envNumber('BENCH_GATEWAY_N', 2000);
    const direct: number[] = [];
    const through: number[] = [];
    for (let i = 0; i < n + 100; i++) {
      let t0 = performance.now();
      if ((await get(agent, rtPort, '/api/tags')) !== 200) throw new Error('direct request failed');
      const d = performance.now() - t0;
      t0 = performance.now();
      if ((await get(agent, port, '/runtimes/bench/api/tags', token)) !== 200) throw new Error('gateway request failed');
      const g = performance.now() - t0;
      if (i >= 100) {
        direct.push(d);
        through.push(g);
      }
    }
    const ds = summarize(direct, 3);
    const gs = summarize(through, 3);
    result.gateway = { n, direct: ds, through: gs, overheadP50Ms: round(gs.p50Ms - ds.p50Ms, 3), overheadP99Ms: round(percentile(through, 99) - percentile(direct, 99), 3) };
    log(`gateway overhead p50 ${round(gs.p50Ms - ds.p50Ms, 3)} ms (direct ${ds.p50Ms}, through ${gs.p50Ms})`);

    // Load on an authenticated read route.
    const seconds = envNumber('BENCH_API_SECONDS', 60);
    const concurrency = envNumber('BENCH_API_CONCURRENCY', 16);
    const latencies: number[] = [];
    let errors = 0;
    const end = performance.now() + seconds * 1000;
    // Unauthenticated requests alongside the load: no token, or one that is not a token.
    const probes: [string, string, string | undefined][] = [
      ['POST', '/v1/containers/list', undefined],
      ['POST', '/v1/containers/list', 'llmstack_not-a-real-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
      ['POST', '/v1/tokens/list', undefined],
      ['POST', '/v1/stack/apply', 'wrong'],
      ['GET', '/metrics', undefined],
      ['GET', '/runtimes/bench/api/tags', undefined],
      ['POST', '/runtimes/bench/api/generate', 'Bearer'],
    ];
    let unauthenticated = 0;
    let unauthenticatedAccepted = 0;
    await Promise.all([
      ...Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const t0 = performance.now();
          const status = await get(agent, port, '/v1/containers/list', token, 'POST', '{}').catch(() => 0);
          latencies.push(performance.now() - t0);
          if (status !== 200) errors++;
        }
      }),
      (async () => {
        while (performance.now() < end) {
          const [method, route, bad] = probes[unauthenticated % probes.length];
          const status = await get(agent, port, route, bad, method, method === 'POST' ? '{}' : undefined).catch(() => 0);
          unauthenticated++;
          if (status >= 200 && status < 300) unauthenticatedAccepted++;
        }
      })(),
    ]);
    result.unauthenticated = unauthenticated;
    result.unauthenticatedAccepted = unauthenticatedAccepted;
    agent.destroy();
    result.api = { route: 'POST /v1/containers/list (viewer token)', seconds, concurrency, requests: latencies.length, rps: round(latencies.length / seconds, 0), p50Ms: round(percentile(latencies, 50), 2), p99Ms: round(percentile(latencies, 99), 2), errors };
    log(`api ${round(latencies.length / seconds, 0)} req/s, p99 ${round(percentile(latencies, 99), 2)} ms, ${errors} errors`);
  } finally {
    served?.kill('SIGKILL');
    await rt.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const g = result.gateway as { overheadP50Ms: number; overheadP99Ms: number };
  const a = result.api as { rps: number; p99Ms: number; errors: number };
  const targets = {
    gatewayOverheadP50Ms: budget(g.overheadP50Ms, 1, 'ms'),
    gatewayOverheadP99Ms: budget(g.overheadP99Ms, 3, 'ms'),
    apiRps: budget(a.rps, 1000, 'req/s', '>='),
    apiP99Ms: budget(a.p99Ms, 50, 'ms'),
    apiErrors: budget(a.errors, 0, '', '='),
    unauthenticatedAccepted: budget(result.unauthenticatedAccepted as number, 0, '', '='),
  };
  return { ...result, targets, ...budgetSummary(targets) };
}
