// Plan, apply and down of stacks on the real engine, with busybox-based services standing in for a
// runtime (busybox httpd on 11434) and a UI that depends on it.
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import * as os from 'node:os';
import type { Readable } from 'node:stream';
import { parse, stringify } from 'yaml';
import { applyStack, ApplyError, downStack, type ApplyProgress } from '../../../../src/core/stack/apply';
import { desiredContainers } from '../../../../src/core/stack/containerSpec';
import { networkName, volumeName } from '../../../../src/core/stack/normalize';
import { formatPlan, planStack, readStackState } from '../../../../src/core/stack/plan';
import { LABEL_CONFIG_HASH, LABEL_SERVICE, LABEL_STACK, stackFileSchema, type StackFile } from '../../../../src/core/stack/schema';
import { BUSYBOX, engine, OLLAMA_LIKE, TEST_LABEL, uniqueName, waitUntil } from '../../../support/engine';

const TEST_LABELS = { [TEST_LABEL]: 'true' };
/** A runtime stand-in: busybox httpd on the Ollama port, stopping at once on SIGTERM. */
const HTTPD = "trap 'exit 0' TERM; mkdir -p /www && echo ok > /www/index.html; httpd -f -p 11434 -h /www & wait";
const SLEEPER = "trap 'exit 0' TERM; while true; do sleep 1; done";
const FAST = { stopTimeoutS: 2, healthTimeoutMs: 30_000 };

type Service = Record<string, unknown>;

function runtime(over: Service = {}): Service {
  return {
    kind: 'ollama',
    image: OLLAMA_LIKE,
    command: ['sh', '-c', HTTPD],
    ports: [{ container: 11434, host: 0 }],
    healthcheck: { test: 'wget -q -O- http://127.0.0.1:11434/ || exit 1', interval: '250ms', timeout: '2s', retries: 20 },
    labels: TEST_LABELS,
    ...over,
  };
}

function ui(over: Service = {}): Service {
  return { kind: 'openwebui', image: BUSYBOX, command: ['sh', '-c', SLEEPER], runtime: 'rt', labels: TEST_LABELS, ...over };
}

/** Parses the file as the editor would (YAML text through the zod schema). */
function stackFile(name: string, runtimes: Record<string, Service>, uis: Record<string, Service> = {}): StackFile {
  return stackFileSchema.parse(parse(stringify({ version: 1, name, runtimes, uis })));
}

describe('stack plan, apply and down on a real engine (integration)', function () {
  this.timeout(90_000);
  const docker = engine();
  const stacks: string[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];

  const newStack = () => {
    const s = uniqueName('stk').toLowerCase();
    stacks.push(s);
    return s;
  };

  afterEach(async () => {
    for (const fn of cleanups.splice(0)) await Promise.resolve(fn()).catch(() => undefined);
    for (const s of stacks.splice(0)) {
      await downStack(docker, s, { removeVolumes: true, stopTimeoutS: 1 }).catch((e) => console.error(`cleanup of ${s}: ${e}`));
    }
  });

  /** Reads the state, plans, and applies; returns everything a test looks at. */
  async function planAndApply(file: StackFile, o: { onProgress?: (e: ApplyProgress) => void; healthTimeoutMs?: number } = {}) {
    const desired = desiredContainers(file, { stackDir: os.tmpdir() });
    const state = await readStackState(docker, file.name, desired.map((d) => d.image));
    const plan = planStack(desired, state);
    const report = await applyStack(docker, desired, plan, { stack: file.name, ...FAST, ...o });
    return { desired, plan, report };
  }

  async function plan(file: StackFile) {
    const desired = desiredContainers(file, { stackDir: os.tmpdir() });
    return planStack(desired, await readStackState(docker, file.name, desired.map((d) => d.image)));
  }

  const inspect = (stack: string, service: string) => docker.getContainer(`${stack}-${service}`).inspect();
  const exists = (p: Promise<unknown>) => p.then(() => true, (e: { statusCode?: number }) => (e?.statusCode === 404 ? false : Promise.reject(e)));

  /** Container events of the stack from now on, parsed, until the test ends. */
  async function recordEvents(stack: string): Promise<{ Action: string; Actor: { Attributes: Record<string, string> }; timeNano: number }[]> {
    const seen: { Action: string; Actor: { Attributes: Record<string, string> }; timeNano: number }[] = [];
    const stream = (await docker.getEvents({ filters: { type: ['container'], label: [`${LABEL_STACK}=${stack}`] } })) as Readable;
    let buf = '';
    stream.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) seen.push(JSON.parse(line));
      }
    });
    stream.on('error', () => undefined);
    cleanups.push(() => {
      stream.destroy();
    });
    return seen;
  }

  it('applies a runtime and its UI from nothing: UI after the runtime is healthy, reachable by alias; then no changes', async () => {
    const stack = newStack();
    const file = stackFile(stack, { rt: runtime({ volumes: ['data:/data'] }) }, { ui: ui({ healthcheck: { test: 'wget -q -O- http://rt:11434/ || exit 1', interval: '250ms', retries: 40 } }) });
    const events = await recordEvents(stack);
    const progress: string[] = [];
    const { desired, plan: first, report } = await planAndApply(file, { onProgress: (e) => progress.push(`${e.status} ${e.step.kind} ${e.step.service ?? e.step.target}`) });

    assert.deepEqual(
      first.changes.map((s) => `${s.kind} ${s.service ?? s.target}`),
      [`create-network ${networkName(stack)}`, `create-volume ${volumeName(stack, 'data')}`, 'create rt', 'create ui'],
    );
    assert.match(formatPlan(first), /\+ create\s+rt\s+\(image ollama\/ollama:llmstack-test, 127\.0\.0\.1:any→11434\)/);
    // Done in the order they finished: network and volume are made in parallel.
    assert.deepEqual(
      report.done.map((s) => `${s.kind} ${s.service ?? s.target}`).sort(),
      first.changes.map((s) => `${s.kind} ${s.service ?? s.target}`).sort(),
    );
    assert.deepEqual(
      report.done.slice(2).map((s) => s.service),
      ['rt', 'ui'],
    );
    assert.equal(report.failed, undefined);
    assert.deepEqual(report.notRun, []);
    assert.ok(progress.indexOf('done create rt') < progress.indexOf('started create ui'), progress.join('\n'));

    const rt = await inspect(stack, 'rt');
    const uiInfo = await inspect(stack, 'ui');
    for (const [info, d] of [
      [rt, desired[0]],
      [uiInfo, desired[1]],
    ] as const) {
      assert.equal(info.State.Running, true);
      assert.equal(info.Config.Labels[LABEL_STACK], stack);
      assert.equal(info.Config.Labels[LABEL_SERVICE], d.service);
      assert.equal(info.Config.Labels[LABEL_CONFIG_HASH], d.configHash);
      assert.equal(info.Config.Labels[TEST_LABEL], 'true');
    }
    assert.equal(rt.State.Health?.Status, 'healthy', 'the dependency was healthy when apply returned');
    assert.equal(rt.Config.Labels['io.llmstack.runtime'], 'ollama');
    assert.equal(rt.Config.Labels['io.llmstack.port'], '11434');
    assert.equal(rt.NetworkSettings.Ports['11434/tcp']?.[0]?.HostIp, '127.0.0.1');
    assert.ok(Number(rt.NetworkSettings.Ports['11434/tcp']?.[0]?.HostPort) > 0);
    assert.ok(uiInfo.Config.Env.includes('OLLAMA_BASE_URL=http://rt:11434'));
    const netInfo = await docker.getNetwork(networkName(stack)).inspect();
    assert.equal(netInfo.Labels?.[LABEL_STACK], stack);
    assert.equal((await docker.getVolume(volumeName(stack, 'data')).inspect()).Labels?.[LABEL_STACK], stack);

    // The engine's own clock: the UI started after the runtime turned healthy.
    const healthyAt = events.find((e) => e.Actor.Attributes[LABEL_SERVICE] === 'rt' && e.Action === 'health_status: healthy')?.timeNano;
    const uiStartedAt = events.find((e) => e.Actor.Attributes[LABEL_SERVICE] === 'ui' && e.Action === 'start')?.timeNano;
    assert.ok(healthyAt && uiStartedAt, `events: ${events.map((e) => `${e.Actor.Attributes[LABEL_SERVICE]} ${e.Action}`).join(', ')}`);
    assert.ok(uiStartedAt >= healthyAt, `ui started ${uiStartedAt}, rt healthy ${healthyAt}`);
    assert.ok(Date.parse(uiInfo.State.StartedAt) >= Math.floor(healthyAt / 1e6));

    // The UI reaches the runtime by its service name on the stack network.
    await waitUntil('the UI healthcheck (wget http://rt:11434/) to pass', async () => (await inspect(stack, 'ui')).State.Health?.Status === 'healthy', 20_000, 100);

    // Plan after apply: nothing to do; a second apply changes nothing.
    const again = await plan(file);
    assert.deepEqual(again.changes, []);
    assert.match(formatPlan(again), /^No changes\./);
    const second = await planAndApply(file);
    assert.deepEqual(second.report.done, []);
    const rt2 = await inspect(stack, 'rt');
    const ui2 = await inspect(stack, 'ui');
    assert.equal(rt2.Id, rt.Id);
    assert.equal(ui2.Id, uiInfo.Id);
    assert.equal(rt2.State.StartedAt, rt.State.StartedAt);
    assert.equal(ui2.State.StartedAt, uiInfo.State.StartedAt);
  });

  it('recreates only the service whose env changed, keeping the other container', async () => {
    const stack = newStack();
    const base = { rt: runtime({ healthcheck: undefined }) };
    await planAndApply(stackFile(stack, base, { ui: ui() }));
    const rtBefore = await inspect(stack, 'rt');
    const uiBefore = await inspect(stack, 'ui');

    const changed = stackFile(stack, base, { ui: ui({ env: { WEBUI_NAME: 'stack test' } }) });
    const p = await plan(changed);
    assert.deepEqual(
      p.changes.map((s) => `${s.kind} ${s.service}: ${s.reason}`),
      ['recreate ui: env changed (WEBUI_NAME)'],
    );
    assert.match(formatPlan(p), /~ recreate ui: env changed \(WEBUI_NAME\)/);
    const { report } = await planAndApply(changed);
    assert.deepEqual(
      report.done.map((s) => `${s.kind} ${s.service}`),
      ['recreate ui'],
    );
    const rtAfter = await inspect(stack, 'rt');
    const uiAfter = await inspect(stack, 'ui');
    assert.equal(rtAfter.Id, rtBefore.Id);
    assert.equal(rtAfter.State.StartedAt, rtBefore.State.StartedAt);
    assert.notEqual(uiAfter.Id, uiBefore.Id);
    assert.equal(uiAfter.Name, `/${stack}-ui`);
    assert.equal(uiAfter.State.Running, true);
    assert.ok(uiAfter.Config.Env.includes('WEBUI_NAME=stack test'));
    assert.deepEqual((await plan(changed)).changes, []);
  });

  it('stops a service the file wants stopped, starts it again, and removes a service that left the file', async () => {
    const stack = newStack();
    const rt = runtime({ healthcheck: undefined });
    await planAndApply(stackFile(stack, { rt }, { ui: ui(), extra: ui({ runtime: undefined }) }));
    const rtId = (await inspect(stack, 'rt')).Id;

    const stopped = await planAndApply(stackFile(stack, { rt }, { ui: ui({ state: 'stopped' }), extra: ui({ runtime: undefined }) }));
    assert.deepEqual(
      stopped.plan.changes.map((s) => `${s.kind} ${s.service}`),
      ['stop ui'],
    );
    const uiStopped = await inspect(stack, 'ui');
    assert.equal(uiStopped.State.Running, false);
    assert.deepEqual((await plan(stackFile(stack, { rt }, { ui: ui({ state: 'stopped' }), extra: ui({ runtime: undefined }) }))).changes, []);

    const restarted = await planAndApply(stackFile(stack, { rt }, { ui: ui(), extra: ui({ runtime: undefined }) }));
    assert.deepEqual(
      restarted.plan.changes.map((s) => `${s.kind} ${s.service}`),
      ['start ui'],
    );
    const uiRunning = await inspect(stack, 'ui');
    assert.equal(uiRunning.State.Running, true);
    assert.equal(uiRunning.Id, uiStopped.Id, 'started, not recreated');

    const removed = await planAndApply(stackFile(stack, { rt }, { ui: ui() }));
    assert.deepEqual(
      removed.plan.changes.map((s) => `${s.kind} ${s.service}: ${s.reason}`),
      ['remove extra: no longer in the stack file'],
    );
    assert.match(formatPlan(removed.plan), /- remove extra/);
    assert.equal(await exists(inspect(stack, 'extra')), false);
    assert.equal((await inspect(stack, 'rt')).Id, rtId);
  });

  it('refuses an image that is neither local nor pullable before changing anything', async () => {
    const stack = newStack();
    const file = stackFile(stack, { rt: runtime() }, { ui: ui({ image: 'llmstack-test/absent:1' }) });
    const desired = desiredContainers(file, { stackDir: os.tmpdir() });
    const state = await readStackState(docker, stack, desired.map((d) => d.image));
    assert.deepEqual(state.images['llmstack-test/absent:1'], { present: false });
    assert.equal(state.images[OLLAMA_LIKE].present, true);
    const p = planStack(desired, state);
    assert.equal(p.steps[0].kind, 'pull');
    await assert.rejects(applyStack(docker, desired, p, { stack, ...FAST }), (e: unknown) => {
      assert.ok(e instanceof ApplyError);
      assert.match(e.message, /^Image llmstack-test\/absent:1 is not present locally and could not be pulled: .+; build or load it.*then apply again/);
      assert.deepEqual(e.report.done, []);
      assert.equal(e.report.failed?.step.kind, 'pull');
      assert.deepEqual(
        e.report.notRun.map((s) => s.kind),
        ['create-network', 'create', 'create'],
      );
      return true;
    });
    assert.deepEqual(await docker.listContainers({ all: true, filters: { label: [`${LABEL_STACK}=${stack}`] } }), []);
    assert.equal((await docker.listNetworks({ filters: { name: [networkName(stack)] } })).length, 0);
  });

  it('stops half-way when a dependency never becomes healthy: done, failed and not-run are listed', async () => {
    const stack = newStack();
    const file = stackFile(
      stack,
      { rt: runtime({ healthcheck: { test: 'exit 1', interval: '200ms', retries: 1000 } }), side: runtime({ healthcheck: undefined }) },
      { ui: ui(), side2: ui({ runtime: undefined, dependsOn: ['side'] }) },
    );
    const desired = desiredContainers(file, { stackDir: os.tmpdir() });
    const p = planStack(desired, await readStackState(docker, stack, desired.map((d) => d.image)));
    const t0 = Date.now();
    await assert.rejects(applyStack(docker, desired, p, { stack, stopTimeoutS: 1, healthTimeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof ApplyError);
      const r = e.report;
      assert.equal(r.failed?.step.service, 'rt');
      assert.match(r.failed!.error, /"rt" did not become healthy within 2 s \(state running, starting\); last health check: exit 1/);
      assert.deepEqual(r.done.map((s) => `${s.kind} ${s.service ?? s.target}`).sort(), [`create-network ${networkName(stack)}`, 'create side'].sort());
      assert.deepEqual(
        r.notRun.map((s) => `${s.kind} ${s.service}`).sort(),
        ['create side2', 'create ui'],
      );
      assert.match(e.message, /failed at "create rt".*Done: .*create side.*Not run: .*create ui/);
      return true;
    });
    assert.ok(Date.now() - t0 < 15_000);
    assert.equal(await exists(inspect(stack, 'ui')), false, 'the dependent service was not created');
    assert.equal(await exists(inspect(stack, 'side2')), false, 'later levels were not run');
    assert.equal((await inspect(stack, 'side')).State.Running, true);
  });

  it('reports a host port conflict on start and does not create what depends on it', async () => {
    const stack = newStack();
    // Hold a host port on 127.0.0.1 (a random free one), then ask the stack to publish on it.
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => holder.close(() => r())));
    const port = (holder.address() as net.AddressInfo).port;
    const file = stackFile(stack, { rt: runtime({ healthcheck: undefined, ports: [`127.0.0.1:${port}:11434`] }) }, { ui: ui() });
    await assert.rejects(planAndApply(file), (e: unknown) => {
      assert.ok(e instanceof ApplyError);
      assert.equal(e.report.failed?.step.service, 'rt');
      assert.match(e.report.failed!.error, /Starting "rt" failed: a host port it publishes is already in use .*change "ports" of "rt"/);
      assert.deepEqual(
        e.report.notRun.map((s) => `${s.kind} ${s.service}`),
        ['create ui'],
      );
      return true;
    });
    assert.equal(await exists(inspect(stack, 'ui')), false);
    // The created-but-not-started runtime is picked up by the next plan.
    holder.close();
    const next = await plan(file);
    assert.deepEqual(
      next.changes.map((s) => `${s.kind} ${s.service}`),
      ['start rt', 'create ui'],
    );
  });

  it('down removes containers and the network, and the volumes only when asked', async () => {
    const stack = newStack();
    await planAndApply(stackFile(stack, { rt: runtime({ healthcheck: undefined, volumes: ['models:/models'] }) }, { ui: ui() }));
    const down = await downStack(docker, stack, { stopTimeoutS: 1 });
    assert.deepEqual(down.removed, [`${stack}-rt`, `${stack}-ui`]);
    assert.equal(down.networkRemoved, true);
    assert.deepEqual(down.volumesRemoved, []);
    assert.deepEqual(await docker.listContainers({ all: true, filters: { label: [`${LABEL_STACK}=${stack}`] } }), []);
    assert.equal(await exists(docker.getNetwork(networkName(stack)).inspect()), false);
    assert.equal(await exists(docker.getVolume(volumeName(stack, 'models')).inspect()), true, 'data kept unless asked');

    const state = await readStackState(docker, stack, []);
    assert.deepEqual(state.volumes, [volumeName(stack, 'models')]);
    assert.equal(state.networkExists, false);

    const withVolumes = await downStack(docker, stack, { removeVolumes: true });
    assert.deepEqual(withVolumes, { removed: [], volumesRemoved: [volumeName(stack, 'models')], networkRemoved: false });
    assert.equal(await exists(docker.getVolume(volumeName(stack, 'models')).inspect()), false);
  });

  it('is cancelled by its signal before the next step', async () => {
    const stack = newStack();
    const file = stackFile(stack, { rt: runtime() }, { ui: ui() });
    const desired = desiredContainers(file, { stackDir: os.tmpdir() });
    const p = planStack(desired, await readStackState(docker, stack, desired.map((d) => d.image)));
    const ac = new AbortController();
    const run = applyStack(docker, desired, p, {
      stack,
      ...FAST,
      signal: ac.signal,
      onProgress: (e) => {
        if (e.status === 'done' && e.step.kind === 'create-network') ac.abort();
      },
    });
    await assert.rejects(run, (e: unknown) => {
      assert.ok(e instanceof ApplyError);
      assert.equal(e.report.cancelled, true);
      assert.match(e.message, /was cancelled/);
      assert.deepEqual(
        e.report.notRun.map((s) => `${s.kind} ${s.service}`),
        ['create rt', 'create ui'],
      );
      return true;
    });
    assert.equal(await exists(inspect(stack, 'rt')), false);
  });
});
