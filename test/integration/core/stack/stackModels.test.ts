// A stack's `models:` list after an apply, end to end on the real engine: the stack file is prepared
// and planned (workflow.ts), applied (apply.ts) with the test runtime image (the Ollama API over real
// llama.cpp) as its runtime, the runtime container is found the way the extension finds it
// (container listing → discoverRuntimes → ModelCatalog.setEndpoints), and ensureStackModels pulls
// and loads through the real catalog: a keepLoaded model pulled and loaded (its name in the
// container's io.llmstack.keep-loaded label, so the idle manager never unloads it), a pull: false
// model skipped, a model the runtime cannot pull reported with the runtime's error, and runtimes
// that never answer reported per service within the timeout.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { containerSummarySchema, createClassifier, type ContainerRecord, toRecord } from '../../../../src/core/docker/containers';
import { ModelCatalog, type RuntimeState } from '../../../../src/core/runtimes/catalog';
import { discoverRuntimes, type DiscoveredRuntimes } from '../../../../src/core/runtimes/discovery';
import { IdlePulls } from '../../../../src/app/models/idlePulls';
import { IdleManager } from '../../../../src/core/runtimes/idle';
import type { RuntimeEndpoint, RuntimeModel } from '../../../../src/core/runtimes/runtime';
import { applyStack, type ApplyReport, downStack } from '../../../../src/core/stack/apply';
import { networkName } from '../../../../src/core/stack/normalize';
import type { StackPlan } from '../../../../src/core/stack/plan';
import { LABEL_KEEP_LOADED, LABEL_SERVICE, LABEL_STACK, stackFileSchema, type StackFile } from '../../../../src/core/stack/schema';
import { ensureStackModels, sameModel, type StackModelResult } from '../../../../src/core/stack/stackModels';
import type { HardwareInfo } from '../../../../src/core/stack/types';
import { planPrepared, prepareFile, type PreparedStack } from '../../../../src/core/stack/workflow';
import { DEFAULT_SOCKET, localServer, TEST_LABEL, uniqueName } from '../../../support/engine';
import { writeTinyGguf } from '../../../support/gguf';
import { buildRuntimeImage, RUNTIME_IMAGE } from '../../../support/runtime';

/** What the tests pretend the machine has: no detection, no GPU. */
const HARDWARE: HardwareInfo = { cpuCores: 2, memoryBytes: 8 * 1024 ** 3, freeMemoryBytes: 4 * 1024 ** 3, gpus: [], gpuNote: 'not detected in this test' };
/** The runtime pulls "<name>:<tag>" from /source/<name>__<tag>.gguf; a bare name is ":latest". */
const TINY = 'tiny';
const TINY_LISTED = 'tiny:latest';
/** A model the idle manager may unload: not in the stack file. */
const OTHER = 'other';
const SERVICE = 'rt';
const YEAR_MS = 365 * 86_400_000;

describe('stack models after an apply, on the real engine and model catalog (integration)', function () {
  this.timeout(120_000);
  const docker = new Docker({ socketPath: DEFAULT_SOCKET });
  const stack = uniqueName('stkmodels').toLowerCase();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-stackmodels-'));
  const modelsDir = path.join(tmp, 'models');
  const sourceDir = path.join(tmp, 'source');
  const disposables: { dispose(): void }[] = [];

  let prepared: PreparedStack;
  let plan: StackPlan;
  let report: ApplyReport;
  /** The stack's containers, as the container cache holds them (listContainers → toRecord). */
  let records: ContainerRecord[];
  let discovered: DiscoveredRuntimes;
  let catalog: ModelCatalog;
  let endpoint: RuntimeEndpoint;
  let containerId: string;
  let firstRun: StackModelResult[];

  const containerOf = (service: string) => records.find((r) => r.labels[LABEL_SERVICE] === service)?.id;
  const runtimeState = (): RuntimeState => catalog.list().find((r) => r.endpoint.containerId === containerId)!;
  const model = (name: string): RuntimeModel | undefined => runtimeState().models.find((m) => m.name === name);
  /** What the runtime itself says is in memory, bypassing the catalog. */
  const inMemory = async (): Promise<string[]> => {
    const ps = (await (await fetch(`${endpoint.baseUrl}/api/ps`, { signal: AbortSignal.timeout(10_000) })).json()) as { models: { name: string }[] };
    return ps.models.map((m) => m.name).sort();
  };

  before(async function () {
    // The first build installs node-llama-cpp into the cache: minutes.
    this.timeout(900_000);
    buildRuntimeImage();
    fs.mkdirSync(modelsDir, { recursive: true });
    fs.mkdirSync(sourceDir, { recursive: true });
    writeTinyGguf(path.join(sourceDir, 'tiny__latest.gguf'), { name: 'tiny', contextLength: 256 });
    writeTinyGguf(path.join(sourceDir, 'other__latest.gguf'), { name: 'other', contextLength: 256, seed: 9 });
    // Pullable on purpose: `pull: false` must be what keeps it out, not a missing source.
    writeTinyGguf(path.join(sourceDir, 'absent-model__latest.gguf'), { name: 'absent', contextLength: 128, seed: 5 });

    const file: StackFile = stackFileSchema.parse({
      version: 1,
      name: stack,
      runtimes: {
        [SERVICE]: {
          kind: 'ollama',
          image: RUNTIME_IMAGE,
          ports: ['127.0.0.1:0:11434'],
          volumes: [`${modelsDir}:/models`, `${sourceDir}:/source:ro`],
          models: [{ name: TINY, keepLoaded: true }, { name: 'absent-model', pull: false }, { name: 'no-such-source' }],
          labels: { [TEST_LABEL]: 'true' },
        },
      },
    });
    prepared = await prepareFile(file, tmp, HARDWARE);
    ({ plan } = await planPrepared(docker, prepared));
    report = await applyStack(docker, prepared.desired, plan, { stack, stopTimeoutS: 2, healthTimeoutMs: 30_000 });

    const summaries = await docker.listContainers({ all: true, filters: { label: [`${LABEL_STACK}=${stack}`] } });
    records = summaries.map((s) => toRecord(containerSummarySchema.parse(s), Date.now()));
    discovered = discoverRuntimes(records, createClassifier());
    catalog = new ModelCatalog();
    disposables.push(catalog);
    catalog.setEndpoints(discovered.endpoints);
    endpoint = discovered.endpoints[0];
    containerId = containerOf(SERVICE)!;
  });

  after(async () => {
    for (const d of disposables.splice(0).reverse()) {
      try {
        d.dispose();
      } catch (e) {
        console.error(`dispose: ${e}`);
      }
    }
    await downStack(docker, stack, { removeVolumes: true, stopTimeoutS: 2 }).catch((e) => console.error(`cleanup of ${stack}: ${e}`));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('applies the runtime with the keep-loaded label naming the keepLoaded model only, and discovers its endpoint', async () => {
    assert.deepEqual(
      plan.changes.map((s) => `${s.kind} ${s.service ?? s.target}`),
      [`create-network ${networkName(stack)}`, `create ${SERVICE}`],
    );
    assert.equal(report.failed, undefined);
    assert.deepEqual(report.notRun, []);
    assert.deepEqual(
      prepared.desired.find((d) => d.service === SERVICE)!.models,
      [
        { name: TINY, pull: true, keepLoaded: true },
        { name: 'absent-model', pull: false, keepLoaded: false },
        { name: 'no-such-source', pull: true, keepLoaded: false },
      ],
    );

    const info = await docker.getContainer(`${stack}-${SERVICE}`).inspect();
    assert.equal(info.State.Running, true);
    assert.equal(info.Id, containerId);
    assert.equal(info.Config.Labels[LABEL_KEEP_LOADED], TINY, 'only the keepLoaded model is pinned');
    assert.equal(info.Config.Labels['io.llmstack.runtime'], 'ollama');
    assert.equal(info.Config.Labels['io.llmstack.port'], '11434');
    assert.equal(info.Config.Labels[TEST_LABEL], 'true');
    const hostPort = Number(info.NetworkSettings.Ports['11434/tcp']?.[0]?.HostPort);
    assert.ok(hostPort > 0, 'published on a free host port');

    assert.deepEqual(discovered.unreachable, []);
    assert.deepEqual(discovered.endpoints, [
      {
        id: `ollama@http://127.0.0.1:${hostPort}`,
        kind: 'ollama',
        api: 'ollama',
        name: `${stack}-${SERVICE}`,
        baseUrl: `http://127.0.0.1:${hostPort}`,
        source: 'container',
        containerId,
      },
    ]);
  });

  it('pulls and loads the keepLoaded model, skips the pull: false one, and reports the one the runtime cannot pull', async () => {
    const progress: string[] = [];
    firstRun = await ensureStackModels(catalog, prepared.desired, containerOf, { timeoutMs: 90_000, onProgress: (m) => progress.push(m) });
    assert.deepEqual(firstRun, [
      { service: SERVICE, model: TINY, outcome: 'loaded' },
      { service: SERVICE, model: 'absent-model', outcome: 'skipped', message: 'not present, and pull is false' },
      { service: SERVICE, model: 'no-such-source', outcome: 'failed', message: 'Pulling no-such-source failed: pull model manifest: file does not exist' },
    ]);
    assert.deepEqual(progress, [`waiting for ${SERVICE} to answer…`, `pulling ${TINY} on ${SERVICE}…`, `loading ${TINY} on ${SERVICE}…`, `pulling no-such-source on ${SERVICE}…`]);

    // The catalog's listing (what the Models view shows) has it loaded, kept loaded by the runtime itself (keep_alive -1).
    const state = runtimeState();
    assert.equal(state.status, 'ok');
    assert.deepEqual(state.models.map((m) => m.name).sort(), [TINY_LISTED]);
    const tiny = model(TINY_LISTED)!;
    assert.ok(tiny.loaded, 'listed as loaded');
    assert.ok((tiny.loaded.expiresAt ?? 0) > Date.now() + YEAR_MS, `kept loaded indefinitely (expires ${tiny.loaded.expiresAt})`);
    // And the runtime really has it: on disk in the bound models folder, and in memory.
    assert.deepEqual(fs.readdirSync(modelsDir).sort(), ['tiny__latest.gguf']);
    assert.deepEqual(await inMemory(), [TINY_LISTED]);
  });

  it('a second run finds the model present: no second pull, loaded again, the same skip and failure', async () => {
    assert.ok(firstRun, 'needs the first run');
    const before = fs.statSync(path.join(modelsDir, 'tiny__latest.gguf'));
    const progress: string[] = [];
    const again = await ensureStackModels(catalog, prepared.desired, containerOf, { timeoutMs: 30_000, onProgress: (m) => progress.push(m) });
    assert.deepEqual(again, firstRun);
    assert.ok(!progress.includes(`pulling ${TINY} on ${SERVICE}…`), progress.join('\n'));
    const after = fs.statSync(path.join(modelsDir, 'tiny__latest.gguf'));
    assert.equal(after.ino, before.ino, 'the model file was not pulled again');
    assert.equal(after.mtimeMs, before.mtimeMs);
  });

  it('the idle manager never unloads the pinned model, while it does unload an unpinned one', async () => {
    assert.ok(model(TINY_LISTED)?.loaded, 'needs the loaded model of the first run');
    // The extension's pinned callback: the keep-loaded label of the endpoint's container record.
    const pinnedCalls: string[] = [];
    const idle = new IdleManager(catalog, {
      settings: () => ({ unloadMinutes: 0.02, stopContainerMinutes: 0 }),
      pinned: (r, m) => {
        pinnedCalls.push(m.name);
        const label = r.endpoint.containerId ? records.find((c) => c.id === r.endpoint.containerId)?.labels[LABEL_KEEP_LOADED] : undefined;
        return !!label && label.split(',').some((name) => sameModel(m.name, name));
      },
    });
    disposables.push(idle);

    assert.equal(idle.unloadsAt(runtimeState(), model(TINY_LISTED)!), undefined, 'pinned: never unloaded');
    assert.ok(pinnedCalls.includes(TINY_LISTED));
    // Without the label (no container record to read it from) the same model would be due already: 1.2 s after its load.
    const unpinnedDue = idle.unloadsAt({ ...runtimeState(), endpoint: { ...endpoint, containerId: undefined } }, model(TINY_LISTED)!);
    assert.ok(unpinnedDue !== undefined && unpinnedDue <= Date.now() + 1200, `unpinned it would unload at ${unpinnedDue}`);

    // A model the stack does not pin: loaded after the pinned one, so due later than the pinned one would be.
    await catalog.pull(endpoint.id, OTHER, () => undefined);
    await catalog.load(endpoint.id, OTHER);
    const otherDue = idle.unloadsAt(runtimeState(), model(`${OTHER}:latest`)!);
    assert.ok(otherDue !== undefined, 'the unpinned model has an unload time');
    await catalog.waitFor(() => !model(`${OTHER}:latest`)?.loaded, 30_000);
    assert.ok(Date.now() >= otherDue - 50, 'unloaded by the idle manager when due');

    // By then the pinned model had been due (if unpinned) for longer: it is still loaded, in the catalog and in the runtime.
    assert.ok(model(TINY_LISTED)?.loaded, 'the pinned model is still listed as loaded');
    assert.equal(idle.unloadsAt(runtimeState(), model(TINY_LISTED)!), undefined);
    assert.deepEqual(await inMemory(), [TINY_LISTED]);
  });

  it('a `pull: idle` model is queued at apply and pulled once no model has been used for the quiet time', async () => {
    writeTinyGguf(path.join(sourceDir, 'later__latest.gguf'), { name: 'later', contextLength: 128, seed: 11 });
    const desired = prepared.desired.map((d) => (d.service === SERVICE ? { ...d, models: [{ name: 'later', pull: 'idle' as const, keepLoaded: false }] } : d));
    const pulled: { name: string; at: number }[] = [];
    let told: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (told = resolve));
    const idlePulls = new IdlePulls({
      catalog,
      quietMinutes: () => 0.05,
      onPulled: (_r, name) => {
        pulled.push({ name, at: Date.now() });
        told();
      },
    });
    disposables.push(idlePulls);
    // A use just now: the quiet time (3 s) starts here.
    await catalog.load(endpoint.id, TINY_LISTED, -1);
    const usedAt = Date.now();
    const results = await ensureStackModels(catalog, desired, containerOf, { timeoutMs: 30_000, queueIdlePull: (id, name) => idlePulls.add(id, name) });
    assert.deepEqual(results, [{ service: SERVICE, model: 'later', outcome: 'queued', message: 'queued: pulled once no model has been used for 0.05 minutes' }]);
    assert.deepEqual(idlePulls.pending, [{ runtimeId: endpoint.id, name: 'later' }]);
    assert.ok(!fs.existsSync(path.join(modelsDir, 'later__latest.gguf')), 'not pulled at apply');
    await Promise.race([done, new Promise((_r, reject) => setTimeout(() => reject(new Error('no idle pull within 60 s')), 60_000).unref())]);
    assert.ok(model('later:latest'), 'listed after the pull');
    assert.deepEqual(pulled.map((p) => p.name), ['later']);
    assert.ok(pulled[0].at >= usedAt + 3000, `pulled ${pulled[0].at - usedAt} ms after the last use, not before the quiet time`);
    assert.ok(fs.existsSync(path.join(modelsDir, 'later__latest.gguf')));
    assert.deepEqual(idlePulls.pending, []);
  });

  it('reports every model of a runtime that never answers as failed, naming the service, within the timeout', async () => {
    const timeoutMs = 1500;
    const withinBound = (t0: number) => {
      const ms = Date.now() - t0;
      assert.ok(ms >= timeoutMs - 50 && ms < timeoutMs + 5000, `answered after ${ms} ms`);
    };
    const failedAll = (results: StackModelResult[], message: string) =>
      assert.deepEqual(
        results,
        ['absent-model', 'no-such-source', TINY].map((m) => ({ service: SERVICE, model: m, outcome: 'failed', message })),
      );
    const sorted = (r: StackModelResult[]) => [...r].sort((a, b) => a.model.localeCompare(b.model));

    // No endpoint for the container at all (its port unpublished, say).
    const empty = new ModelCatalog();
    disposables.push(empty);
    let t0 = Date.now();
    const none = await ensureStackModels(empty, prepared.desired, containerOf, { timeoutMs });
    withinBound(t0);
    failedAll(sorted(none), `${SERVICE} did not answer within 2 s: no runtime was found for its container (is its API port published?)`);

    // An endpoint for the container that accepts connections and never answers: its first listing never ends.
    const silent = await localServer(() => undefined);
    const hung = new ModelCatalog({ timeoutMs: 60_000 });
    disposables.push(hung, { dispose: () => void silent.close() });
    hung.setEndpoints([{ ...endpoint, id: `ollama@http://127.0.0.1:${silent.port}`, baseUrl: `http://127.0.0.1:${silent.port}` }]);
    t0 = Date.now();
    const pending = await ensureStackModels(hung, prepared.desired, containerOf, { timeoutMs });
    withinBound(t0);
    failedAll(sorted(pending), `${SERVICE} did not answer within 2 s: its listing is pending`);

    // The container not found after the apply: no wait at all.
    t0 = Date.now();
    const missing = await ensureStackModels(catalog, prepared.desired, () => undefined, { timeoutMs });
    assert.ok(Date.now() - t0 < 1000);
    failedAll(sorted(missing), `the container of ${SERVICE} was not found after the apply`);
  });
});
