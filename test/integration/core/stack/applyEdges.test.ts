// Apply and down on the real engine when the engine is not as the plan expected: a name taken by a
// container outside the stack, a container paused or removed since the plan, an image removed
// since the plan, dependencies that exit or turn unhealthy, a cancel during a health wait, and a
// down that cannot remove what something outside the stack still uses.
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { parse, stringify } from 'yaml';
import type { Logger } from '../../../../src/core/lifecycle';
import { applyStack, ApplyError, downStack } from '../../../../src/core/stack/apply';
import { desiredContainers, type DesiredService } from '../../../../src/core/stack/containerSpec';
import { networkName, volumeName } from '../../../../src/core/stack/normalize';
import { planStack, readStackState, type PlanStep, type StackPlan } from '../../../../src/core/stack/plan';
import { LABEL_STACK, stackFileSchema, type StackFile } from '../../../../src/core/stack/schema';
import { BUSYBOX, engine, OLLAMA_LIKE, TEST_LABEL, uniqueName } from '../../../support/engine';

const TEST_LABELS = { [TEST_LABEL]: 'true' };
const SLEEPER = "trap 'exit 0' TERM; while true; do sleep 1; done";
const FAST = { stopTimeoutS: 1, healthTimeoutMs: 20_000 };

type Service = Record<string, unknown>;
const runtime = (over: Service = {}): Service => ({ kind: 'ollama', image: OLLAMA_LIKE, command: ['sh', '-c', SLEEPER], labels: TEST_LABELS, ...over });
const ui = (over: Service = {}): Service => ({ kind: 'openwebui', image: BUSYBOX, command: ['sh', '-c', SLEEPER], runtime: 'rt', labels: TEST_LABELS, ...over });

function stackFile(name: string, runtimes: Record<string, Service>, uis: Record<string, Service> = {}): StackFile {
  return stackFileSchema.parse(parse(stringify({ version: 1, name, runtimes, uis })));
}

const steps = (list: readonly PlanStep[]) => list.map((s) => `${s.kind} ${s.service ?? s.target}`);

describe('stack apply and down when the engine differs from the plan (integration)', function () {
  this.timeout(90_000);
  const docker = engine();
  const stacks: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];

  const newStack = () => {
    const s = uniqueName('stkx').toLowerCase();
    stacks.push(s);
    return s;
  };

  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
    for (const s of stacks.splice(0)) {
      await downStack(docker, s, { removeVolumes: true, stopTimeoutS: 1 }).catch((e) => console.error(`cleanup of ${s}: ${e}`));
    }
  });

  async function prepare(file: StackFile): Promise<{ desired: DesiredService[]; plan: StackPlan }> {
    const desired = desiredContainers(file, { stackDir: os.tmpdir() });
    const state = await readStackState(docker, file.name, desired.map((d) => d.image));
    return { desired, plan: planStack(desired, state) };
  }

  async function apply(file: StackFile, o: Partial<Parameters<typeof applyStack>[3]> = {}) {
    const { desired, plan } = await prepare(file);
    return applyStack(docker, desired, plan, { stack: file.name, ...FAST, ...o });
  }

  /** The ApplyError an apply throws, for a closer look. */
  async function applyError(p: Promise<unknown>): Promise<ApplyError> {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e instanceof ApplyError, `expected an ApplyError, got ${String(e)}`);
    return e;
  }

  const inspect = (stack: string, service: string) => docker.getContainer(`${stack}-${service}`).inspect();

  it('keeps going when a progress listener throws, logging it; one by one with the default bounds', async () => {
    const stack = newStack();
    const warned: string[] = [];
    const log: Logger = { debug() {}, info() {}, warn: (m) => warned.push(m), error() {} };
    const { desired, plan } = await prepare(stackFile(stack, { rt: runtime() }, { ui: ui() }));
    const seen: string[] = [];
    const report = await applyStack(docker, desired, plan, {
      stack,
      parallel: false,
      log,
      onProgress: (e) => {
        seen.push(`${e.status} ${e.step.kind} ${e.step.service ?? e.step.target}`);
        throw new Error('listener broke');
      },
    });
    assert.deepEqual(steps(report.done), [`create-network ${networkName(stack)}`, 'create rt', 'create ui']);
    assert.deepEqual(seen, [`started create-network ${networkName(stack)}`, `done create-network ${networkName(stack)}`, 'started create rt', 'done create rt', 'started create ui', 'done create ui']);
    assert.equal(warned.length, seen.length);
    assert.ok(warned.every((w) => w === 'Apply progress listener failed: listener broke'), warned.join('\n'));
    assert.equal((await inspect(stack, 'ui')).State.Running, true);
  });

  it('refuses to take over a container name used outside the stack, naming what to do', async () => {
    const stack = newStack();
    const squatter = await docker.createContainer({ name: `${stack}-rt`, Image: BUSYBOX, Cmd: ['sh', '-c', SLEEPER], Labels: TEST_LABELS });
    cleanups.push(() => squatter.remove({ force: true }));
    const e = await applyError(apply(stackFile(stack, { rt: runtime() }, { ui: ui() })));
    assert.equal(e.report.failed?.step.service, 'rt');
    assert.match(
      e.report.failed!.error,
      new RegExp(`^Creating "rt" failed: the name ${stack}-rt is taken by a container that is not part of this stack \\(.*Conflict.*\\)\\. Remove or rename that container, then apply again\\.$`),
    );
    assert.deepEqual(steps(e.report.notRun), ['create ui']);
    assert.equal((await squatter.inspect()).Config.Labels[LABEL_STACK], undefined, 'the other container is left as it was');
  });

  it('says which image is missing when it was removed after the plan', async () => {
    const stack = newStack();
    const file = stackFile(stack, { rt: runtime({ image: 'llmstack-test/gone-since-plan:1' }) });
    const desired = desiredContainers(file, { stackDir: os.tmpdir() });
    const state = await readStackState(docker, stack, []);
    // The plan was made while the image was there.
    const plan = planStack(desired, { ...state, images: { 'llmstack-test/gone-since-plan:1': { present: true, id: 'sha256:0' } } });
    assert.deepEqual(steps(plan.changes), [`create-network ${networkName(stack)}`, 'create rt']);
    const e = await applyError(applyStack(docker, desired, plan, { stack, ...FAST }));
    assert.match(e.report.failed!.error, /^Creating "rt" failed: No such image: llmstack-test\/gone-since-plan:1\. Is image llmstack-test\/gone-since-plan:1 present \(docker images\)\?$/);
  });

  it('reports a dependency that exits before it is healthy, with its exit code', async () => {
    const stack = newStack();
    const file = stackFile(stack, { rt: runtime({ command: ['sh', '-c', 'sleep 0.5; exit 3'], restart: 'no', healthcheck: { test: 'true', interval: '1m' } }) }, { ui: ui() });
    const e = await applyError(apply(file));
    assert.equal(e.report.failed?.error, '"rt" stopped (exit code 3) before it was healthy. Its logs say why (Show Logs).');
    assert.deepEqual(steps(e.report.notRun), ['create ui']);
  });

  it('stops at an unhealthy dependency, quoting its last health check', async () => {
    const stack = newStack();
    const file = stackFile(stack, { rt: runtime({ healthcheck: { test: 'echo model not loaded; exit 1', interval: '200ms', retries: 1 } }) }, { ui: ui() });
    const t0 = Date.now();
    const e = await applyError(apply(file));
    assert.ok(Date.now() - t0 < 15_000);
    assert.equal(e.report.failed?.error, '"rt" is unhealthy; last health check: exit 1, "model not loaded". Dependent services were not started.');
    assert.match(e.message, /^Applying stack ".*" failed at "create rt": "rt" is unhealthy.*Not run: create ui\.$/);
  });

  it('is cancelled while it waits for a dependency to become healthy', async () => {
    const stack = newStack();
    const file = stackFile(stack, { rt: runtime({ healthcheck: { test: 'exit 1', interval: '1m' } }) }, { ui: ui() });
    const ac = new AbortController();
    const t0 = Date.now();
    const e = await applyError(
      apply(file, {
        signal: ac.signal,
        healthTimeoutMs: 60_000,
        onProgress: (p) => {
          if (p.status === 'started' && p.step.service === 'rt') setTimeout(() => ac.abort(), 300);
        },
      }),
    );
    assert.ok(Date.now() - t0 < 10_000, 'the wait ended with the cancel, not its 60 s bound');
    assert.equal(e.report.cancelled, true);
    assert.equal(e.report.failed?.error, 'the apply was cancelled');
    assert.deepEqual(steps(e.report.notRun), ['create ui']);
    assert.equal((await inspect(stack, 'rt')).State.Running, true, 'what was started stays');
  });

  it('unpauses a paused service instead of recreating it', async () => {
    const stack = newStack();
    const file = stackFile(stack, { rt: runtime() });
    await apply(file);
    const before = await inspect(stack, 'rt');
    await docker.getContainer(before.Id).pause();
    const { desired, plan } = await prepare(file);
    assert.deepEqual(
      plan.changes.map((s) => `${s.kind} ${s.service}: ${s.reason}`),
      ['start rt: paused'],
    );
    await applyStack(docker, desired, plan, { stack, ...FAST });
    const after = await inspect(stack, 'rt');
    assert.equal(after.Id, before.Id);
    assert.equal(after.State.Paused, false);
    assert.equal(after.State.Running, true);
    assert.equal(after.State.StartedAt, before.State.StartedAt, 'unpaused, not restarted');
  });

  it('reports a container removed since the plan when it should start, and is fine when it should go', async () => {
    const stack = newStack();
    await apply(stackFile(stack, { rt: runtime() }, { extra: ui({ runtime: undefined }) }));
    await docker.getContainer(`${stack}-rt`).stop({ t: 1 });

    // The plan starts rt and removes extra; both containers vanish before the apply.
    const { desired, plan } = await prepare(stackFile(stack, { rt: runtime() }));
    assert.deepEqual(steps(plan.changes), ['remove extra', 'start rt']);
    await docker.getContainer(`${stack}-rt`).remove({ force: true });
    await docker.getContainer(`${stack}-extra`).remove({ force: true });
    const e = await applyError(applyStack(docker, desired, plan, { stack, ...FAST }));
    assert.deepEqual(steps(e.report.done), ['remove extra'], 'a container already gone counts as removed');
    assert.equal(e.report.failed?.step.kind, 'start');
    assert.match(e.report.failed!.error, /^Starting "rt" failed: No such container: [0-9a-f]{64}$/);
  });

  it('accepts a network made by someone else meanwhile, and says why a volume could not be made', async () => {
    const stack = newStack();
    const file = stackFile(stack, { rt: runtime() });
    const { desired, plan } = await prepare(file);
    assert.deepEqual(steps(plan.changes), [`create-network ${networkName(stack)}`, 'create rt']);
    // Another apply made the network between this plan and this apply.
    await docker.createNetwork({ Name: networkName(stack), Driver: 'bridge', Labels: { [LABEL_STACK]: stack, ...TEST_LABELS } });
    const report = await applyStack(docker, desired, plan, { stack, ...FAST });
    assert.deepEqual(steps(report.done), [`create-network ${networkName(stack)}`, 'create rt']);
    assert.equal((await docker.listNetworks({ filters: { name: [networkName(stack)] } })).filter((n) => n.Name === networkName(stack)).length, 1);

    // A plan (written by hand, or by another tool) with a volume name the engine refuses.
    const bad: PlanStep = { kind: 'create-volume', target: 'no/slashes', reason: 'the volume does not exist', dependsOn: [] };
    const e = await applyError(applyStack(docker, [], { stack, steps: [bad], changes: [bad] }, { stack, ...FAST }));
    assert.match(e.report.failed!.error, /^Creating volume no\/slashes failed: .*no\/slashes.*/);
    assert.match(e.message, /^Applying stack ".*" failed at "create-volume no\/slashes": Creating volume no\/slashes failed/);
  });

  it('down leaves a network and volume that a container outside the stack uses, and says what it left', async () => {
    const stack = newStack();
    await apply(stackFile(stack, { rt: runtime({ volumes: ['models:/models'] }) }));
    const outsider = await docker.createContainer({
      name: `${stack}-outsider`,
      Image: BUSYBOX,
      Cmd: ['sh', '-c', SLEEPER],
      Labels: TEST_LABELS,
      StopTimeout: 1,
      HostConfig: { NetworkMode: networkName(stack), Mounts: [{ Type: 'volume', Source: volumeName(stack, 'models'), Target: '/m' }] },
    });
    cleanups.push(() => outsider.remove({ force: true }));
    await outsider.start();

    await assert.rejects(downStack(docker, stack, { removeVolumes: true, stopTimeoutS: 1 }), (e: Error) => {
      assert.match(e.message, new RegExp(`^Taking stack "${stack}" down left things behind: `));
      assert.match(e.message, new RegExp(`network ${networkName(stack)}: .*\\(is a container outside the stack attached to it\\?\\)`));
      assert.match(e.message, new RegExp(`volume ${volumeName(stack, 'models')}: .*in use`));
      assert.match(e.message, new RegExp(`Removed: ${stack}-rt\\.$`));
      return true;
    });
    assert.equal((await outsider.inspect()).State.Running, true, 'the outside container is not touched');

    // Once it is gone, down finishes the job.
    await outsider.remove({ force: true });
    const again = await downStack(docker, stack, { removeVolumes: true, signal: new AbortController().signal });
    assert.deepEqual(again, { removed: [], volumesRemoved: [volumeName(stack, 'models')], networkRemoved: true });
  });

  it('down with an aborted signal stops before touching anything', async () => {
    const stack = newStack();
    await apply(stackFile(stack, { rt: runtime() }));
    const ac = new AbortController();
    ac.abort(new Error('user closed the window'));
    await assert.rejects(downStack(docker, stack, { signal: ac.signal }), /user closed the window/);
    assert.equal((await inspect(stack, 'rt')).State.Running, true);
  });
});

describe('reading a stack state from the real engine, when it cannot be read as asked (integration)', function () {
  this.timeout(30_000);
  const docker = engine();

  it('passes on an image reference the engine refuses instead of planning a pull', async () => {
    // The schema takes any image text; the engine wants lower case.
    await assert.rejects(readStackState(docker, uniqueName('stkr').toLowerCase(), ['Ollama/Ollama:latest', OLLAMA_LIKE]), /invalid reference format: repository name must be lowercase/);
  });

  it('reads with a live signal, and not at all with an aborted one', async () => {
    const stack = uniqueName('stkr').toLowerCase();
    const live = await readStackState(docker, stack, [OLLAMA_LIKE], new AbortController().signal);
    assert.deepEqual({ ...live, images: Object.keys(live.images) }, { stack, containers: [], networkExists: false, volumes: [], images: [OLLAMA_LIKE] });
    assert.equal(live.images[OLLAMA_LIKE].present, true);
    const ac = new AbortController();
    ac.abort(new Error('plan closed'));
    await assert.rejects(readStackState(docker, stack, [OLLAMA_LIKE], ac.signal), /plan closed/);
  });
});
