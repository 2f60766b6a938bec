// Every stack use case through `call(...)` from plain Node, on the real engine: a stack file on disk
// (and its unsaved text) read, planned, applied with progress and a cancellation, re-planned to
// nothing, listed, exported (files and the running stack) and taken down; a runtime's `models:`
// pulled and loaded through the real model catalog on the test runtime; the stack deployed to and
// removed from Docker Swarm (initialised by swarm.init only when the engine has no swarm, and left
// again). Every container, network, volume and service is this file's, and removed after.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import type { z } from 'zod';
import {
  ApplyError,
  stackApply,
  stackDown,
  stackExport,
  stackExportRunning,
  stackList,
  stackNew,
  stackPlan,
  stackRead,
  stackTemplates,
  swarmDeploy,
  swarmInit,
  swarmRemove,
  swarmState,
  type StackDeps,
} from '../../../src/app/stack';
import { call, Cancelled } from '../../../src/app/useCase';
import { containerSummarySchema, createClassifier, toRecord } from '../../../src/core/docker/containers';
import type { Logger } from '../../../src/core/lifecycle';
import { ModelCatalog } from '../../../src/core/runtimes/catalog';
import { discoverRuntimes } from '../../../src/core/runtimes/discovery';
import { downStack } from '../../../src/core/stack/apply';
import { LABEL_SERVICE, LABEL_STACK } from '../../../src/core/stack/schema';
import type { StackModelHost } from '../../../src/core/stack/stackModels';
import { removeSwarm } from '../../../src/core/stack/swarm';
import type { HardwareInfo } from '../../../src/core/stack/types';
import { BUSYBOX, engine, hasGwbridge, OLLAMA_LIKE, removeGwbridge, TEST_LABEL, uniqueName, waitUntil } from '../../support/engine';
import { writeTinyGguf } from '../../support/gguf';
import { buildRuntimeImage, RUNTIME_IMAGE } from '../../support/runtime';

/** What the tests pretend the machine has: no detection, no GPU. */
const HARDWARE: HardwareInfo = { cpuCores: 2, memoryBytes: 8 * 1024 ** 3, freeMemoryBytes: 4 * 1024 ** 3, gpus: [], gpuNote: 'not detected in this test' };
/** A runtime stand-in: busybox httpd on the Ollama port, stopping at once on SIGTERM. */
const HTTPD = "trap 'exit 0' TERM; mkdir -p /www && echo ok > /www/index.html; httpd -f -p 11434 -h /www & wait";
const SLEEPER = "trap 'exit 0' TERM; while true; do sleep 1; done";

function stackText(name: string, greeting: string, runtimeEnv = 'one'): string {
  return stringify({
    version: 1,
    name,
    runtimes: {
      rt: {
        kind: 'ollama',
        image: OLLAMA_LIKE,
        command: ['sh', '-c', HTTPD],
        env: { MARK: runtimeEnv },
        healthcheck: { test: 'wget -q -O- http://127.0.0.1:11434/ || exit 1', interval: '250ms', timeout: '2s', retries: 20 },
        volumes: ['store:/store'],
        labels: { [TEST_LABEL]: 'true' },
      },
    },
    uis: { web: { image: BUSYBOX, command: ['sh', '-c', SLEEPER], runtime: 'rt', env: { GREETING: greeting }, labels: { [TEST_LABEL]: 'true' } } },
  });
}

/** A logger that keeps what it was told. */
function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, debug: () => undefined, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

describe('stack use cases on the real engine (integration)', function () {
  this.timeout(120_000);
  const docker = engine();
  const stack = uniqueName('appstk').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const audits: string[] = [];
  const log = recordingLog();
  const deps: StackDeps = {
    engine: { docker },
    hardware: { get: async () => HARDWARE },
    log,
    audit: (op, target, error) => audits.push(`${op} ${target}${error ? ` failed: ${error}` : ''}`),
    imagePatterns: () => ({}),
  };
  let dir: string;
  let file: string;
  const containersOf = async () => docker.listContainers({ all: true, filters: { label: [`${LABEL_STACK}=${stack}`] } });

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-app-stack-'));
    file = path.join(dir, 'llmstack.yaml');
    fs.writeFileSync(file, stackText(stack, 'one'));
  });

  after(async () => {
    await downStack(docker, stack, { removeVolumes: true, stopTimeoutS: 1 }).catch((e) => console.error(`cleanup of ${stack}: ${e}`));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stack.read: the name and services, touching no engine', async () => {
    const r = await call(stackRead, { ...deps, engine: { docker: undefined } }, { file });
    assert.equal(r.name, stack);
    assert.deepEqual(r.services.map((s) => `${s.section}.${s.service}`), ['runtimes.rt', 'uis.web']);
  });

  let firstPlan: z.output<typeof stackPlan.output>;

  it('stack.plan: the network, the volume and both services to create, with the plan document and its fingerprint', async () => {
    firstPlan = await call(stackPlan, deps, { file });
    assert.equal(firstPlan.stack, stack);
    assert.equal(firstPlan.stackDir, dir);
    assert.deepEqual(firstPlan.plan.changes.map((s) => `${s.kind} ${s.service ?? s.target}`).filter((s) => !s.startsWith('pull')), [
      `create-network ${stack}_default`,
      `create-volume ${stack}_store`,
      'create rt',
      'create web',
    ]);
    assert.match(firstPlan.text, new RegExp(`^# Plan for stack "${stack}" \\(`));
    assert.match(firstPlan.text, /\+ create +rt/);
    assert.deepEqual(firstPlan.destructive, []);
    assert.deepEqual(firstPlan.warnings, []);
    assert.deepEqual(await containersOf(), [], 'planning changes nothing');
  });

  it('stack.apply: refuses a plan other than the one confirmed, and a signal aborted before it starts', async () => {
    await assert.rejects(call(stackApply, deps, { file, fingerprint: 'not-the-plan' }), new RegExp(`The stack "${stack}" changed since it was planned: plan it again, then apply\\.`));
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(call(stackApply, deps, { file }, { signal: abort.signal }), Cancelled);
    assert.deepEqual(await containersOf(), []);
  });

  it('stack.apply: applies the confirmed plan with progress, logs and an audit entry; the runtime is healthy before the UI starts', async () => {
    const progress: string[] = [];
    const r = await call(stackApply, deps, { file, fingerprint: firstPlan.fingerprint }, { progress: (p) => progress.push(p.message ?? '') });
    assert.equal(r.skipped, undefined);
    assert.ok(r.report && !r.report.failed, JSON.stringify(r.report?.failed));
    assert.match(r.summary ?? '', /\b2 create\b.* in \d+\.\d s$/);
    assert.equal(r.models, undefined, 'no models: no catalog asked');
    assert.ok(progress.includes('create rt…') && progress.includes('create web…'), progress.join(' | '));
    assert.ok(log.lines.includes('info create web: done'), log.lines.join('\n'));
    assert.ok(audits.includes(`stack.apply ${stack}`), audits.join('\n'));
    const running = await containersOf();
    assert.deepEqual(running.map((c) => c.Labels[LABEL_SERVICE]).sort(), ['rt', 'web']);
    assert.ok(running.every((c) => c.State === 'running'));
    assert.equal((await docker.getContainer(`${stack}-rt`).inspect()).State.Health?.Status, 'healthy');
  });

  it('stack.plan and stack.apply after an apply: no changes, nothing run', async () => {
    assert.deepEqual((await call(stackPlan, deps, { file })).plan.changes, []);
    const r = await call(stackApply, deps, { file });
    assert.equal(r.skipped, 'no-changes');
    assert.equal(r.report, undefined);
  });

  it('stack.apply with the unsaved text: a cancellation stops it after the first level, and a second apply finishes', async () => {
    const text = stackText(stack, 'two', 'two');
    const planned = await call(stackPlan, deps, { file, text });
    assert.deepEqual(planned.plan.changes.map((s) => `${s.kind} ${s.service}`), ['recreate rt', 'recreate web']);
    assert.deepEqual(planned.destructive, ['rt', 'web']);
    const abort = new AbortController();
    const failed = await call(stackApply, deps, { file, text, fingerprint: planned.fingerprint }, { signal: abort.signal, progress: () => abort.abort() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(failed instanceof ApplyError, String(failed));
    assert.equal(failed.report.cancelled, true);
    assert.deepEqual(failed.report.notRun.map((s) => s.service), ['web']);
    assert.ok(audits.some((a) => a.startsWith(`stack.apply ${stack} failed:`)), audits.join('\n'));
    const rest = await call(stackApply, deps, { file, text });
    assert.deepEqual(rest.report?.done.map((s) => `${s.kind} ${s.service}`), ['recreate web']);
    const web = await docker.getContainer(`${stack}-web`).inspect();
    assert.ok(web.Config.Env.includes('GREETING=two'), 'applied from the unsaved text');
    assert.equal(fs.readFileSync(file, 'utf8'), stackText(stack, 'one'), 'the file on disk is untouched');
  });

  it('stack.list: the stack with its containers, and its runtime among the running LLM containers', async () => {
    const r = await call(stackList, deps, {});
    assert.deepEqual(r.stacks.find((s) => s.name === stack), { name: stack, containers: 2 });
    const rt = (await containersOf()).find((c) => c.Labels[LABEL_SERVICE] === 'rt')!;
    assert.deepEqual(r.runtimes.find((c) => c.id === rt.Id), { id: rt.Id, name: `${stack}-rt`, kind: 'ollama', stack });
    const web = (await containersOf()).find((c) => c.Labels[LABEL_SERVICE] === 'web')!;
    assert.ok(!r.runtimes.some((c) => c.id === web.Id), 'busybox is no runtime');
    assert.ok((await call(stackList, { ...deps, imagePatterns: () => ({ [BUSYBOX.split(':')[0]]: 'other' }) }, {})).runtimes.some((c) => c.id === web.Id), 'the user patterns are used');
  });

  it('stack.exportRunning: the running stack as a stack file, by stack or by containers', async () => {
    const r = await call(stackExportRunning, deps, { stack });
    assert.equal(r.name, stack);
    const exported = parse(r.text) as { name: string; runtimes: Record<string, { env?: Record<string, string> }>; uis: Record<string, unknown> };
    assert.equal(exported.name, stack);
    assert.deepEqual(Object.keys(exported.runtimes), ['rt']);
    assert.deepEqual(Object.keys(exported.uis), ['web']);
    assert.equal(exported.runtimes.rt.env?.MARK, 'two');
    const rt = (await containersOf()).find((c) => c.Labels[LABEL_SERVICE] === 'rt')!;
    const one = parse((await call(stackExportRunning, deps, { containerIds: [rt.Id], name: 'picked' })).text) as { name: string; runtimes: Record<string, unknown> };
    assert.equal(one.name, 'picked');
    assert.deepEqual(Object.keys(one.runtimes), ['rt']);
    await assert.rejects(call(stackExportRunning, deps, {}), /Nothing to export/);
  });

  it('stack.export, stack.templates and stack.new: files next to the stack file, written safely', async () => {
    const compose = await call(stackExport, deps, { file, target: 'compose' });
    assert.equal(compose.written, true);
    assert.match(fs.readFileSync(compose.file, 'utf8'), new RegExp(`container_name: ${stack}-rt`));
    const k8s = await call(stackExport, deps, { file, target: 'kubernetes' });
    assert.equal(path.basename(k8s.file), `${stack}.k8s.yaml`);
    assert.equal((await call(stackExport, deps, { file, target: 'kubernetes' })).written, false, 'an existing file is not replaced unasked');
    const [template] = await call(stackTemplates, deps, {});
    const made = await call(stackNew, deps, { template: template.id, name: 'fromtemplate', file: path.join(dir, 'new.llmstack.yaml') });
    assert.equal(made.written, true);
    assert.equal((await call(stackRead, deps, { file: made.file! })).name, 'fromtemplate');
  });

  it('stack.down: the containers, network and (asked) volumes removed, with an audit entry', async () => {
    const r = await call(stackDown, deps, { file, removeVolumes: true });
    assert.equal(r.stack, stack);
    assert.deepEqual(r.removed, [`${stack}-rt`, `${stack}-web`]);
    assert.deepEqual(r.volumesRemoved, [`${stack}_store`]);
    assert.equal(r.networkRemoved, true);
    assert.deepEqual(await containersOf(), []);
    assert.ok(audits.includes(`stack.down+volumes ${stack}`), audits.join('\n'));
  });
});

describe('stack.apply with models, on the test runtime and the real model catalog (integration)', function () {
  this.timeout(180_000);
  const docker = engine();
  const stack = uniqueName('appmod').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const catalog = new ModelCatalog();
  let dir: string;

  before(function () {
    // The first build installs node-llama-cpp into the cache: minutes.
    this.timeout(900_000);
    buildRuntimeImage();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-app-models-'));
    fs.mkdirSync(path.join(dir, 'models'));
    fs.mkdirSync(path.join(dir, 'source'));
    writeTinyGguf(path.join(dir, 'source', 'tiny__latest.gguf'), { name: 'tiny', contextLength: 256 });
  });

  after(async () => {
    catalog.dispose();
    await downStack(docker, stack, { removeVolumes: true, stopTimeoutS: 2 }).catch((e) => console.error(`cleanup of ${stack}: ${e}`));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('pulls and loads the models the file lists once the catalog has found the runtime', async () => {
    // The catalog learns of the new container as the extension's does: the containers, discovered.
    const host: StackModelHost = {
      list: () => catalog.list(),
      pull: (id, name, onProgress, signal) => catalog.pull(id, name, onProgress, signal),
      load: (id, name, keepAlive) => catalog.load(id, name, keepAlive),
      waitFor: async (predicate, timeoutMs) => {
        const summaries = await docker.listContainers({ all: true, filters: { label: [`${LABEL_STACK}=${stack}`] } });
        const records = summaries.map((s) => toRecord(containerSummarySchema.parse(s), Date.now()));
        catalog.setEndpoints(discoverRuntimes(records, createClassifier()).endpoints);
        await catalog.waitFor(() => predicate(host), timeoutMs);
      },
    };
    const text = stringify({
      version: 1,
      name: stack,
      runtimes: {
        rt: {
          kind: 'ollama',
          image: RUNTIME_IMAGE,
          ports: ['127.0.0.1:0:11434'],
          volumes: ['./models:/models', './source:/source:ro'],
          models: [{ name: 'tiny', keepLoaded: true }, { name: 'absent', pull: false }],
          labels: { [TEST_LABEL]: 'true' },
        },
      },
    });
    const progress: string[] = [];
    const r = await call(stackApply, { engine: { docker }, hardware: { get: async () => HARDWARE }, models: host }, { file: path.join(dir, 'llmstack.yaml'), text }, { progress: (p) => progress.push(p.message ?? '') });
    assert.ok(r.report && !r.report.failed, JSON.stringify(r.report?.failed));
    assert.deepEqual(r.models, [
      { service: 'rt', model: 'tiny', outcome: 'loaded' },
      { service: 'rt', model: 'absent', outcome: 'skipped', message: 'not present, and pull is false' },
    ]);
    assert.ok(progress.includes('pulling tiny on rt…') && progress.includes('loading tiny on rt…'), progress.join(' | '));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'models')), ['tiny__latest.gguf']);
  });
});

describe('swarm use cases on the real engine (integration)', function () {
  this.timeout(120_000);
  const docker = engine();
  const stack = uniqueName('appswm').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const audits: string[] = [];
  const deps: StackDeps = { engine: { docker }, hardware: { get: async () => HARDWARE }, audit: (op, target) => audits.push(`${op} ${target}`) };
  let dir: string;
  let file: string;
  let found: string;
  let initialisedHere = false;
  let gwbridgeBefore = true;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-app-swarm-'));
    file = path.join(dir, 'llmstack.yaml');
    fs.writeFileSync(
      file,
      stringify({
        version: 1,
        name: stack,
        runtimes: { srv: { kind: 'other', port: 8080, image: BUSYBOX, command: ['sh', '-c', 'trap "exit 0" TERM; httpd -f -p 8080 -h /etc & wait'], labels: { [TEST_LABEL]: 'true' } } },
      }),
    );
    found = (await call(swarmState, deps, {})).state;
    gwbridgeBefore = await hasGwbridge(docker);
  });

  after(async function () {
    // Leaving the swarm and removing docker_gwbridge can take minutes on a loaded engine.
    this.timeout(300_000);
    try {
      await removeSwarm(docker, stack).catch(() => undefined);
    } finally {
      if (initialisedHere) {
        await docker.swarmLeave({ force: true }).catch(() => undefined);
        await waitUntil('the engine to leave the swarm', async () => (await call(swarmState, deps, {})).state === 'inactive', 30_000, 200).catch(() => undefined);
        // swarm init made docker_gwbridge and leave keeps it: the engine is left as it was found.
        if (!gwbridgeBefore) await removeGwbridge(docker);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('swarm.status and swarm.init: a single-node swarm on 127.0.0.1 when the engine has none', async function () {
    if (found !== 'inactive') this.skip(); // someone else's swarm: not ours to init or leave
    await assert.rejects(call(swarmDeploy, deps, { file }), /This engine is not part of a swarm/);
    const r = await call(swarmInit, deps, {});
    initialisedHere = true;
    assert.deepEqual(r, { listenAddr: '127.0.0.1:2377', advertiseAddr: '127.0.0.1' });
    assert.equal((await call(swarmState, deps, {})).state, 'active');
    assert.equal(((await docker.info()) as { Swarm: { NodeAddr: string } }).Swarm.NodeAddr, '127.0.0.1');
  });

  it('swarm.deploy and swarm.remove: the services created, then removed with their network', async function () {
    if ((await call(swarmState, deps, {})).state !== 'active') this.skip();
    const r = await call(swarmDeploy, deps, { file });
    assert.equal(r.stack, stack);
    assert.deepEqual(r.services, [`${stack}_srv`]);
    assert.deepEqual(r.created, [`${stack}_srv`]);
    assert.equal((await call(swarmDeploy, deps, { file })).updated.length, 1, 'a second deploy updates in place');
    const removed = await call(swarmRemove, deps, { file });
    assert.deepEqual(removed, { stack, removed: [`${stack}_srv`], networkRemoved: true });
    assert.deepEqual(await docker.listServices({ filters: { label: [`${LABEL_STACK}=${stack}`] } }), []);
    assert.deepEqual(audits, [`stack.swarm.deploy ${stack}`, `stack.swarm.deploy ${stack}`, `stack.swarm.remove ${stack}`]);
  });
});
