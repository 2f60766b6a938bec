// Benchmark "events": event-to-tree latency, CLI reference, tree building, activation, bundle size, idle requests, memory.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { EngineConnection, withTimeout } from '../src/core/docker/connection';
import { CacheChange, ContainerCache } from '../src/core/docker/containerCache';
import { buildContainerTree, ContainerTreeModel } from '../src/core/docker/containerTree';
import { createClassifier, ContainerRecord } from '../src/core/docker/containers';
import { Endpoint, EndpointResolution } from '../src/core/docker/endpoint';
import { errorMessage } from '../src/core/lifecycle';
import { DEFAULT_SOCKET } from '../test/support/engine';
import { BENCH_RUN_LABEL, benchRunId, createBenchContainer, createManyBenchContainers, interruptCleanups, removeBenchContainers } from './lib/benchContainers';
import { startCountingProxy } from './lib/countingProxy';
import { collectGarbage, round, summarize, wallNow } from './lib/stats';
import { syntheticRecords } from './lib/synthetic';
import { envNumber } from './lib/params';

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(__dirname, '..', '..');

const log = (msg: string) => process.stderr.write(`[bench:events] ${msg}\n`);


function socketResolution(socketPath: string): EndpointResolution {
  const endpoint: Endpoint = { url: `unix://${socketPath}`, source: 'default', origin: 'bench', tls: false, options: { socketPath }, socketPath };
  return { candidates: [endpoint], problems: [] };
}

/** An EngineConnection + ContainerCache on a socket, connected and with the list loaded. */
async function openCache(socketPath: string): Promise<{ connection: EngineConnection; cache: ContainerCache; dispose: () => void }> {
  const connection = new EngineConnection({ resolve: () => socketResolution(socketPath) });
  const cache = new ContainerCache(connection);
  const dispose = () => {
    cache.dispose();
    connection.dispose();
  };
  try {
    await connection.connect();
    const s = connection.state;
    if (s.kind !== 'connected') {
      throw new Error(`could not connect to ${socketPath}: ${s.kind === 'disconnected' ? s.failures.map((f) => f.reason).join('; ') : s.kind}`);
    }
    await cache.waitFor((c) => c.isLoaded, 30_000);
    return { connection, cache, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

function memoryNow(): { heapUsed: number; external: number } {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external };
}

function findNode(tree: ContainerTreeModel, id: string) {
  return tree.runtimes.find((n) => n.id === id) ?? tree.others.find((n) => n.id === id);
}

// ---------------------------------------------------------------------------------------------

function measureBundle(): { bundleBytes: number | null; bundleNote?: string } {
  try {
    return { bundleBytes: fs.statSync(path.join(repoRoot, 'dist', 'extension.js')).size };
  } catch (e) {
    return { bundleBytes: null, bundleNote: `dist/extension.js not readable (run node scripts/build.mjs): ${errorMessage(e)}` };
  }
}

function measureBuildTree(records = 500, runs = 50, warmupRuns = 5) {
  const classifier = createClassifier();
  const now = Date.now();
  const list = syntheticRecords(records, now);
  const samples: number[] = [];
  let nodes = 0;
  for (let i = 0; i < warmupRuns + runs; i++) {
    const t0 = performance.now();
    const tree = buildContainerTree(list, classifier, now);
    const dt = performance.now() - t0;
    nodes = tree.runtimes.length + tree.others.length;
    if (i >= warmupRuns) samples.push(dt);
  }
  const runtimes = buildContainerTree(list, classifier, now).runtimes.length;
  const s = summarize(samples, 3);
  return {
    buildTree500Ms: s.p50Ms,
    buildTree500: { p50Ms: s.p50Ms, p95Ms: s.p95Ms, minMs: s.minMs, maxMs: s.maxMs, runs, warmupRuns, records, nodes, runtimeNodes: runtimes },
  };
}

async function measureDockerPs(runs = 20) {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await execFileAsync('docker', ['ps', '-a'], { maxBuffer: 64 * 1024 * 1024 });
    samples.push(performance.now() - t0);
  }
  const s = summarize(samples);
  return { dockerPsCli: { p50Ms: s.p50Ms, p95Ms: s.p95Ms, minMs: s.minMs, maxMs: s.maxMs, n: s.n, command: 'docker ps -a' } };
}

interface Outcome {
  /** When the rebuilt tree was ready (wall clock, ms). */
  readonly treeAt: number;
  /** timeNano of the engine event behind the change, in ms; undefined when the change carried no matching event. */
  readonly eventMs: number | undefined;
  /** The change caused by the event was delivered, but the re-read record still had the old state. */
  readonly stale: boolean;
}

interface Pending {
  readonly id: string;
  readonly action: 'pause' | 'unpause';
  readonly state: 'paused' | 'running';
  done: (r: Outcome) => void;
}

async function measureEventToTree(changes = 200, perChangeTimeoutMs = 10_000, staleGraceMs = 1000) {
  const classifier = createClassifier();
  let container = await createBenchContainer();
  let state: 'running' | 'paused' = 'running';
  const { cache, dispose } = await openCache(DEFAULT_SOCKET);
  const latencies: number[] = [];
  const eventAfterRequest: number[] = [];
  const staleLatencies: number[] = [];
  let unattributed = 0;
  let stale = 0;
  let recreated = 0;
  let treeBuilds = 0;
  let pending: Pending | undefined;
  let staleTimer: NodeJS.Timeout | undefined;
  const clockAtStart = wallNow() - Date.now();

  const sub = cache.onDidChange((change: CacheChange) => {
    // What the view does on every change: rebuild the model from the cache.
    const tree = buildContainerTree(cache.list(), classifier, Date.now());
    const treeAt = wallNow();
    treeBuilds++;
    const p = pending;
    if (!p) return;
    const e = change.event;
    const matches = !!e && (e.Actor?.ID ?? e.id) === p.id && (e.Action ?? e.status) === p.action && typeof e.timeNano === 'number';
    const eventMs = matches ? e!.timeNano! / 1e6 : undefined;
    const node = findNode(tree, p.id);
    if (node && node.contextValue.split(' ')[0] === `container:${p.state}`) {
      clearTimeout(staleTimer);
      p.done({ treeAt, eventMs, stale: false });
    } else if (matches && !staleTimer) {
      // The event's refresh read the old state (the engine logs the event before it updates what
      // /containers/json returns). No further event will come; give a bounded grace period for
      // any follow-up refresh, then record the change as stale.
      staleTimer = setTimeout(() => p.done({ treeAt, eventMs, stale: true }), staleGraceMs);
    }
  });

  const waitForTree = (id: string, action: Pending['action'], target: Pending['state']) =>
    new Promise<Outcome>((resolve, reject) => {
      const me: Pending = {
        id,
        action,
        state: target,
        done: (r) => {
          clearTimeout(timer);
          clearTimeout(staleTimer);
          staleTimer = undefined;
          if (pending === me) pending = undefined;
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        if (pending === me) pending = undefined;
        reject(new Error(`the tree did not show ${target} within ${perChangeTimeoutMs} ms after ${action}`));
      }, perChangeTimeoutMs);
      pending = me;
    });

  try {
    await cache.waitFor((c) => c.get(container.id)?.state === 'running', perChangeTimeoutMs);
    for (let done = 0; done < changes; ) {
      const action: Pending['action'] = state === 'running' ? 'pause' : 'unpause';
      const target: Pending['state'] = state === 'running' ? 'paused' : 'running';
      const shown = waitForTree(container.id, action, target);
      shown.catch(() => undefined); // handled below; avoids an unhandled rejection when the action fails first
      const sentAt = wallNow();
      try {
        await (action === 'pause' ? container.pause() : container.unpause());
        const r = await shown;
        state = target;
        done++;
        if (r.eventMs === undefined) unattributed++;
        else if (r.stale) {
          stale++;
          staleLatencies.push(r.treeAt - r.eventMs);
        } else {
          latencies.push(r.treeAt - r.eventMs);
          eventAfterRequest.push(r.eventMs - sentAt);
        }
      } catch (e) {
        pending = undefined;
        clearTimeout(staleTimer);
        staleTimer = undefined;
        // Tests beside the bench may remove every test-labelled container; go on with a new one.
        const info = await container.inspect().catch(() => undefined);
        const stillOurs = info?.State?.Running === true && info.State.Paused === (state === 'paused');
        if (stillOurs || recreated >= 10) throw e;
        log(`the event container was stopped or removed by someone else (${errorMessage(e).trim()}); going on with a new one`);
        await container.remove({ force: true }).catch(() => undefined);
        recreated++;
        container = await createBenchContainer();
        state = 'running';
        await cache.waitFor((c) => c.get(container.id)?.state === 'running', perChangeTimeoutMs);
      }
    }
  } finally {
    clearTimeout(staleTimer);
    sub.dispose();
    dispose();
  }

  const s = summarize(latencies);
  const offsets = summarize(eventAfterRequest);
  const clockDrift = wallNow() - Date.now();
  // The engine stamps the event between our request and its answer; on one machine with one clock the
  // stamp must come after the request was sent (small negative values only from clock resolution).
  const clockSane = offsets.minMs > -5 && offsets.maxMs < 5000 && s.minMs >= 0 && Math.abs(clockAtStart) < 5 && Math.abs(clockDrift) < 5;
  return {
    eventToTree: {
      p50Ms: s.p50Ms,
      p95Ms: s.p95Ms,
      maxMs: s.maxMs,
      minMs: s.minMs,
      n: s.n,
      changes,
      what: 'pause/unpause of one running busybox container; engine event timeNano → buildContainerTree done with the new state',
      staleAfterEvent: stale,
      staleRefresh: {
        note: 'changes whose event-triggered re-read still returned the previous state, so the tree never showed the new state (not in the percentiles); figures: event → that stale tree',
        ...summarize(staleLatencies),
      },
      unattributed,
      containerRecreated: recreated,
      treeBuilds,
      clock: {
        sane: clockSane,
        eventAfterRequestSentMs: { min: offsets.minMs, p50: offsets.p50Ms, max: offsets.maxMs },
        wallClockMinusDateNowMs: { start: round(clockAtStart, 3), end: round(clockDrift, 3) },
      },
    },
  };
}

async function measureIdleRequests(seconds: number) {
  const proxy = await startCountingProxy(DEFAULT_SOCKET);
  let opened: Awaited<ReturnType<typeof openCache>> | undefined;
  try {
    opened = await openCache(proxy.socketPath);
    const before = proxy.reset();
    let changes = 0;
    let changesWithEvent = 0;
    const sub = opened.cache.onDidChange((c) => {
      changes++;
      if (c.event) changesWithEvent++;
    });
    log(`idle: counting requests for ${seconds} s`);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    sub.dispose();
    const during = [...proxy.requests];
    const strip = (line: string) => line.replace(/ HTTP\/1\.[01]$/, '');
    return {
      idleRequests60s: during.length,
      idle: {
        seconds,
        requests: during.slice(0, 50).map(strip),
        // Changes made by others on the same engine (tests running beside the bench) cause refreshes.
        cacheChangesDuringWindow: changes,
        engineEventsDuringWindow: changesWithEvent,
        requestsBeforeReset: before.map(strip),
        eventsStreamOpenedBeforeReset: before.some((l) => /\/events\b/.test(l)),
        proxyConnections: proxy.connections,
      },
    };
  } finally {
    opened?.dispose();
    await proxy.close();
  }
}

async function measureMemory(count = 500, batch = 20) {
  const cleanup = () => removeBenchContainers();
  interruptCleanups.add(cleanup);
  try {
    const t0 = Date.now();
    await createManyBenchContainers(count, batch);
    log(`memory: created ${count} containers in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const gcAvailable = await collectGarbage();
    const before = memoryNow();
    const { cache, dispose } = await openCache(DEFAULT_SOCKET);
    try {
      const tree = buildContainerTree(cache.list(), createClassifier(), Date.now());
      await collectGarbage();
      const after = memoryNow();
      // Read the model after measuring, so it is certainly alive at the measurement.
      const nodes = tree.runtimes.length + tree.others.length;
      const ours = cache.list().filter((r: ContainerRecord) => r.labels[BENCH_RUN_LABEL] === benchRunId).length;
      const mb = (b: number) => round(b / 2 ** 20, 2);
      return {
        memoryMB500: mb(after.heapUsed + after.external - before.heapUsed - before.external),
        memory500: {
          heapUsedDeltaMB: mb(after.heapUsed - before.heapUsed),
          externalDeltaMB: mb(after.external - before.external),
          beforeMB: mb(before.heapUsed + before.external),
          afterMB: mb(after.heapUsed + after.external),
          gcBeforeEachSample: gcAvailable,
          containersCreated: count,
          benchContainersListed: ours,
          recordsInCache: cache.size,
          treeNodes: nodes,
        },
      };
    } finally {
      dispose();
    }
  } finally {
    const t1 = Date.now();
    await removeBenchContainers();
    interruptCleanups.delete(cleanup);
    log(`memory: removed the containers in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  }
}

interface CodeServerHostModule {
  measureActivationInHost?: () => Promise<{ activateMs: number; samples?: number[] }>;
}

async function measureActivation(timeoutMs: number): Promise<{ activateMs: number | null; activateNote?: string; activateSamplesMs?: number[] }> {
  // Loaded at run time: test/host/codeServerHost is written separately and may not exist yet.
  const modulePath = '../test/host/codeServerHost';
  let mod: CodeServerHostModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when this benchmark runs
    mod = require(modulePath) as CodeServerHostModule;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const missing = err.code === 'MODULE_NOT_FOUND' && /codeServerHost/.test(String(err.message).split('\n')[0]);
    return {
      activateMs: null,
      activateNote: missing ? 'test/host/codeServerHost is not available (module missing), activation not measured' : `loading test/host/codeServerHost failed: ${errorMessage(e)}`,
    };
  }
  if (typeof mod.measureActivationInHost !== 'function') {
    return { activateMs: null, activateNote: 'test/host/codeServerHost does not export measureActivationInHost' };
  }
  try {
    const r = await withTimeout('measureActivationInHost', timeoutMs, () => mod.measureActivationInHost!());
    if (typeof r?.activateMs !== 'number' || !Number.isFinite(r.activateMs)) {
      return { activateMs: null, activateNote: `measureActivationInHost returned no number: ${JSON.stringify(r)}` };
    }
    return { activateMs: round(r.activateMs), ...(Array.isArray(r.samples) ? { activateSamplesMs: r.samples.map((x) => round(x)) } : {}) };
  } catch (e) {
    return { activateMs: null, activateNote: `measureActivationInHost failed: ${errorMessage(e)}` };
  }
}

// ---------------------------------------------------------------------------------------------

export async function run(): Promise<Record<string, unknown>> {
  const idleSeconds = envNumber('BENCH_IDLE_SECONDS', 60);
  const result: Record<string, unknown> = {};
  const phaseSeconds: Record<string, number> = {};
  const phase = async (name: string, fn: () => unknown | Promise<unknown>) => {
    log(name);
    const t0 = Date.now();
    try {
      Object.assign(result, await fn());
    } finally {
      phaseSeconds[name] = round((Date.now() - t0) / 1000, 1);
    }
  };

  await phase('bundle', measureBundle);
  await phase('buildTree500', () => measureBuildTree());
  await phase('dockerPsCli', () => measureDockerPs());
  await phase('eventToTree', async () => {
    const cleanup = () => removeBenchContainers();
    interruptCleanups.add(cleanup);
    try {
      return await measureEventToTree();
    } finally {
      await removeBenchContainers();
      interruptCleanups.delete(cleanup);
    }
  });
  await phase('idleRequests', () => measureIdleRequests(idleSeconds));
  await phase('memory500', () => measureMemory());
  await phase('activate', () => measureActivation(envNumber('BENCH_ACTIVATE_TIMEOUT_MS', 420_000)));

  const warnings: string[] = [];
  const ev = result.eventToTree as { staleAfterEvent: number; changes: number; n: number; clock: { sane: boolean } };
  if (ev.staleAfterEvent) {
    warnings.push(
      `eventToTree: ${ev.staleAfterEvent} of ${ev.changes} changes never reached the tree: the cache re-read the container right after the event and got the previous state (the percentiles cover only the ${ev.n} that did)`,
    );
  }
  if (!ev.clock.sane) warnings.push('eventToTree: engine event times and the wall clock disagree; the latencies are suspect');
  if (idleSeconds !== 60) warnings.push(`idleRequests60s was counted over ${idleSeconds} s (BENCH_IDLE_SECONDS), not 60 s`);
  const mem = result.memory500 as { benchContainersListed: number; containersCreated: number; gcBeforeEachSample: boolean };
  if (mem.benchContainersListed < mem.containersCreated) {
    warnings.push(`memoryMB500: only ${mem.benchContainersListed} of the ${mem.containersCreated} containers were listed (removed by someone else meanwhile?)`);
  }
  if (!mem.gcBeforeEachSample) warnings.push('memoryMB500 measured without global.gc (run node with --expose-gc)');

  // Keys in a stable, readable order.
  const order = ['eventToTree', 'dockerPsCli', 'buildTree500Ms', 'activateMs', 'activateNote', 'bundleBytes', 'bundleNote', 'idleRequests60s', 'memoryMB500'];
  const ordered: Record<string, unknown> = {};
  for (const k of order) if (k in result) ordered[k] = result[k];
  for (const [k, v] of Object.entries(result)) if (!(k in ordered)) ordered[k] = v;
  ordered.phaseSeconds = phaseSeconds;
  ordered.warnings = warnings;
  return ordered;
}
