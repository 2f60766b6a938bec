// The containers' use cases from plain Node on the real engine: list (classified as the view shows
// it), each action, inspect and following logs, all through call() (followLogs for the stream),
// with the monitored actions so that the extension's own stops raise no alert.
import * as assert from 'node:assert/strict';
import * as uc from '../../../src/app/containers/useCases';
import { call, Cancelled, InvalidInput } from '../../../src/app/useCase';
import type { LogChunk } from '../../../src/core/docker/actions';
import { AlertMonitor, type AlertNotice, healthDetailsFromInspect, MonitoredContainerActions } from '../../../src/core/docker/alerts';
import { createClassifier, LABEL_RUNTIME } from '../../../src/core/docker/containers';
import { TestContainers, uniqueName, waitUntil } from '../../support/engine';
import { connect } from '../../support/engineFixture';

describe('containers use cases (integration)', function () {
  this.timeout(90_000);
  const mine = new TestContainers();
  let env: ReturnType<typeof connect>;
  let monitor: AlertMonitor;
  let notices: AlertNotice[];
  let audits: [string, string, string | undefined][];
  let deps: uc.ContainersDeps;
  const classifier = createClassifier();

  before(async () => {
    env = connect();
    await env.connection.connect();
    assert.equal(env.connection.state.kind, 'connected');
    await env.cache.waitFor((c) => c.isLoaded, 20_000);
  });
  beforeEach(() => {
    const actions = new MonitoredContainerActions(env.connection, (id) => monitor.expectStop(id));
    monitor = new AlertMonitor({
      source: env.cache,
      classifier: () => classifier,
      healthDetails: async (id) => healthDetailsFromInspect(await actions.inspect(id)),
      exitGraceMs: 1000,
    });
    notices = [];
    monitor.onAlert((n) => notices.push(n));
    audits = [];
    deps = {
      containers: env.cache,
      actions,
      classifier: () => classifier,
      audit: async (op, target, error) => void audits.push([op, target, error]),
    };
  });
  afterEach(async () => {
    monitor.dispose();
    await mine.removeAll();
  });
  after(async () => {
    env?.dispose();
    await mine.removeAll();
  });

  const gone = (what: string) => (e: unknown) => e instanceof Error && e.message.startsWith(`${what} failed: the container no longer exists`);
  const running = (...names: string[]) => env.cache.waitFor((c) => names.every((n) => c.list().some((r) => r.name === n && r.state === 'running')), 20_000);
  const idOf = (name: string) => env.cache.list().find((r) => r.name === name)!.id;

  it('containers.list: runtimes (classified) and the others, as the view shows them; `for` keeps those an action applies to', async () => {
    const rt = uniqueName('llmstack-app-rt');
    const plain = uniqueName('llmstack-app-plain');
    const stopped = uniqueName('llmstack-app-stopped');
    await mine.create({ name: rt, labels: { [LABEL_RUNTIME]: 'ollama' }, ports: [8080] });
    await mine.create({ name: plain });
    await mine.create({ name: stopped, start: false });
    await running(rt, plain);
    await env.cache.waitFor((c) => c.list().some((r) => r.name === stopped), 20_000);

    const all = await call(uc.list, deps, {});
    assert.equal(all.loaded, true);
    const r = all.runtimes.find((c) => c.name === rt);
    assert.ok(r, 'the labelled container is a runtime');
    assert.equal(r.runtime, 'ollama');
    assert.equal(r.display, 'running');
    assert.equal(r.id, idOf(rt));
    assert.equal(r.ports.length, 1);
    assert.equal(r.ports[0].containerPort, 8080);
    assert.equal(r.ports[0].hostIp, '127.0.0.1');
    assert.equal(r.labels[LABEL_RUNTIME], 'ollama');
    assert.ok(r.startedAt !== null);
    const p = all.others.find((c) => c.name === plain);
    assert.ok(p);
    assert.equal(p.runtime, null);
    assert.equal(all.runtimes.some((c) => c.name === plain), false);
    const s = all.others.find((c) => c.name === stopped);
    assert.equal(s?.state, 'created');
    assert.equal(s?.startedAt, null);
    // The others sorted by name, as the view lists them.
    const names = all.others.map((c) => c.name);
    assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b)));

    const startable = await call(uc.list, deps, { for: 'start' });
    assert.deepEqual(
      [...startable.runtimes, ...startable.others].filter((c) => [rt, plain, stopped].includes(c.name)).map((c) => c.name),
      [stopped],
    );
    const stoppable = await call(uc.list, deps, { for: 'stop' });
    assert.deepEqual(
      [...stoppable.runtimes, ...stoppable.others].filter((c) => [rt, plain, stopped].includes(c.name)).map((c) => c.name).sort(),
      [plain, rt].sort(),
    );
    await assert.rejects(call(uc.list, deps, { for: 'explode' } as never), InvalidInput);
  });

  it('containers.action: stop, start, restart and remove act on the engine, are audited, and raise no alert', async () => {
    const a = uniqueName('llmstack-app-act');
    // sh as PID 1 ignores SIGTERM without a trap: the stop ends in SIGKILL (exit 137), which looks like a crash.
    await mine.create({ name: a, script: 'while true; do sleep 1; done' });
    await running(a);
    const id = idOf(a);
    const target = `${a} (${id.slice(0, 12)})`;

    const stopped = await call(uc.act, deps, { action: 'stop', targets: [{ id }] });
    assert.deepEqual(stopped, { action: 'stop', succeeded: [{ id, name: a }], failed: [] }, 'the name comes from the cache');
    await env.cache.waitFor((c) => c.get(id)?.state === 'exited', 20_000);
    assert.match(env.cache.get(id)!.statusText, /Exited \(137\)/);

    assert.deepEqual(await call(uc.act, deps, { action: 'start', targets: [{ id, name: a }] }), { action: 'start', succeeded: [{ id, name: a }], failed: [] });
    await env.cache.waitFor((c) => c.get(id)?.state === 'running', 20_000);
    const before = ((await call(uc.inspect, deps, { id })).State as { StartedAt: string }).StartedAt;
    await call(uc.act, deps, { action: 'restart', targets: [{ id, name: a }] });
    const after = await call(uc.inspect, deps, { id });
    assert.notEqual((after.State as { StartedAt: string }).StartedAt, before, 'restarted');
    assert.equal((after.State as { Running: boolean }).Running, true);

    await call(uc.act, deps, { action: 'remove', targets: [{ id, name: a }] });
    await env.cache.waitFor((c) => !c.get(id), 20_000);
    assert.deepEqual(audits, [
      ['container.stop', target, undefined],
      ['container.start', target, undefined],
      ['container.restart', target, undefined],
      ['container.remove', target, undefined],
    ]);

    // A control container that crashes after all of the above gets its alert once every earlier
    // exit's grace period has run out: the only alert is the control's.
    const control = uniqueName('llmstack-app-control');
    await mine.create({ name: control, script: 'exit 3' });
    await waitUntil("the control container's exit alert", () => monitor.active().find((x) => x.containerName === control && x.kind === 'exited'), 30_000);
    assert.deepEqual(
      notices.map((n) => n.alert.containerName),
      [control],
    );
  });

  it('containers.action on several: one that fails does not stop the others, and the failure is audited with its error', async () => {
    const b = uniqueName('llmstack-app-batch');
    await mine.create({ name: b });
    await running(b);
    const id = idOf(b);
    const ghost = 'f'.repeat(64);
    const r = await call(uc.act, deps, { action: 'stop', targets: [{ id, name: b }, { id: ghost, name: 'ghost' }] });
    assert.deepEqual(r.succeeded, [{ id, name: b }]);
    assert.equal(r.failed.length, 1);
    assert.equal(r.failed[0].name, 'ghost');
    assert.match(r.failed[0].error, /^Stopping "ghost" failed: the container no longer exists/);
    assert.deepEqual(
      audits.map(([op, t, e]) => [op, t, !!e]),
      [
        ['container.stop', `${b} (${id.slice(0, 12)})`, false],
        ['container.stop', `ghost (${ghost.slice(0, 12)})`, true],
      ],
    );
    await assert.rejects(call(uc.act, deps, { action: 'stop', targets: [] }), InvalidInput);
  });

  it('containers.inspect: the engine\'s description; an unknown container is an error that says so', async () => {
    const i = uniqueName('llmstack-app-inspect');
    await mine.create({ name: i, labels: { 'io.llmstack.test.app': 'inspect' } });
    await running(i);
    const data = await call(uc.inspect, deps, { id: idOf(i) });
    assert.equal(data.Name, `/${i}`);
    assert.equal((data.Config as { Labels: Record<string, string> }).Labels['io.llmstack.test.app'], 'inspect');
    await assert.rejects(call(uc.inspect, deps, { id: 'e'.repeat(64), name: 'nobody' }), gone('Inspecting "nobody"'));
  });

  it('followLogs: stdout and stderr as they come, until aborted or the container stops', async () => {
    const l = uniqueName('llmstack-app-logs');
    await mine.create({ name: l, script: 'trap "exit 0" TERM; echo first; echo oops >&2; while true; do echo tick; sleep 0.2; done' });
    await running(l);
    const id = idOf(l);
    const chunks: LogChunk[] = [];
    const ctl = new AbortController();
    const { ended } = await uc.followLogs(deps, { id, tail: 100 }, { signal: ctl.signal, onChunk: (c) => chunks.push(c) });
    await waitUntil('a tick after first and oops', () => chunks.filter((c) => c.stream === 'stdout' && c.text.includes('tick')).length >= 2);
    assert.ok(chunks.some((c) => c.stream === 'stdout' && c.text.includes('first')));
    assert.ok(chunks.some((c) => c.stream === 'stderr' && c.text.includes('oops')));
    ctl.abort();
    assert.equal(await ended, undefined);
    const seen = chunks.length;
    // A second follower sees the ticks the aborted one would have got: no fixed wait.
    const witness: LogChunk[] = [];
    const w = new AbortController();
    await uc.followLogs(deps, { id, tail: 0 }, { signal: w.signal, onChunk: (c) => witness.push(c) });
    await waitUntil('three more ticks, seen by a second follower', () => witness.filter((c) => c.text.includes('tick')).length >= 3);
    w.abort();
    assert.equal(chunks.length, seen, 'nothing after the abort');

    // Followed again: the stream ends by itself when the container stops.
    const again = await uc.followLogs(deps, { id, tail: 0 }, { signal: new AbortController().signal, onChunk: () => undefined });
    await call(uc.act, deps, { action: 'stop', targets: [{ id, name: l }] });
    assert.equal(await again.ended, undefined);

    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(uc.followLogs(deps, { id }, { signal: aborted.signal, onChunk: () => undefined }), Cancelled);
    await assert.rejects(uc.followLogs(deps, { id: 'd'.repeat(64), name: 'nobody' }, { signal: new AbortController().signal, onChunk: () => undefined }), gone('Showing logs of "nobody"'));
  });
});
