// Alerts from the real engine's event stream, through the events-fed container cache: a failing
// healthcheck, an unexpected exit, a restart loop, and stops by the user that must stay quiet.
import * as assert from 'node:assert/strict';
import { ContainerActions } from '../../../../src/core/docker/actions';
import { type Alert, type AlertKind, AlertMonitor, type AlertNotice, healthDetailsFromInspect } from '../../../../src/core/docker/alerts';
import { createClassifier } from '../../../../src/core/docker/containers';
import { summarizeHealth } from '../../../../src/core/docker/health';
import { uniqueName, waitUntil } from '../../../support/engine';
import { useEngine } from '../../../support/engineFixture';

describe('alerts on a real engine (integration)', function () {
  this.timeout(90_000);
  const env = useEngine();
  let actions: ContainerActions;
  let monitor: AlertMonitor;
  let notices: AlertNotice[];
  const classifier = createClassifier();

  before(() => {
    actions = new ContainerActions(env.connection);
  });
  beforeEach(() => {
    monitor = new AlertMonitor({
      source: env.cache,
      classifier: () => classifier,
      healthDetails: async (id) => healthDetailsFromInspect(await actions.inspect(id)),
      exitGraceMs: 1000,
    });
    notices = [];
    monitor.onAlert((n) => notices.push(n));
  });
  afterEach(() => monitor.dispose());

  const alertOf = (name: string, kind: AlertKind): Alert | undefined => monitor.active().find((a) => a.containerName === name && a.kind === kind);
  const idOf = (name: string) => env.cache.list().find((r) => r.name === name)?.id;

  it('a container whose healthcheck fails raises the alert, and the status bar summary changes', async () => {
    const name = uniqueName('llmstack-unhealthy');
    // Read "before" ahead of the start: the healthcheck fails 1 s after it, sooner than a loaded
    // machine may take to see the container running.
    const c = await env.own.create({ name, start: false, healthcheck: { test: 'echo probe failed; false', intervalMs: 1000, retries: 1 } });
    await env.cache.waitFor((cache) => cache.list().some((r) => r.name === name), 20_000);
    const before = summarizeHealth(env.connection.state, env.cache.list(), classifier, Date.now(), monitor.active());
    assert.equal(before.alerts, undefined);
    await c.start();

    const alert = await waitUntil('the unhealthy alert', () => alertOf(name, 'unhealthy'), 30_000);
    assert.equal(alert.severity, 'warning', 'busybox is no LLM runtime');
    assert.equal(alert.containerId, idOf(name));
    assert.match(alert.message, new RegExp(`^${name}: unhealthy \\(healthcheck failing \\d+ times?: probe failed\\)$`));
    const notice = notices.find((n) => n.alert.id === alert.id);
    assert.equal(notice?.notify, true);

    // The alert follows the health_status event (and its own inspect for the details); the
    // unhealthy count follows the cache's read of the container after the same event. The two land
    // in either order, and the status bar redraws on each: wait for the state it settles in.
    const summary = () => summarizeHealth(env.connection.state, env.cache.list(), classifier, Date.now(), monitor.active());
    const after = await waitUntil('the summary at error (the cache sees the container unhealthy)', () => summary().level === 'error' && summary(), 20_000);
    assert.match(after.text, /1 alert/);
    assert.ok(after.tooltip.includes(`${name}: unhealthy (healthcheck failing`), after.tooltip);
    assert.match(after.tooltip, /Click to see the alerts\.$/);

    // Removing the container clears it.
    await actions.run('remove', alert.containerId, name);
    await waitUntil('the alert cleared', () => !alertOf(name, 'unhealthy'), 20_000);
    assert.equal(notices.filter((n) => n.alert.containerName === name && n.alert.kind === 'exited').length, 0, 'a removal is no crash');
  });

  it('a container that exits with code 3 raises "exited"', async () => {
    const name = uniqueName('llmstack-exit3');
    await env.own.create({ name, script: 'sleep 1; exit 3' });
    const alert = await waitUntil('the exit alert', () => alertOf(name, 'exited'), 30_000);
    assert.equal(alert.message, `${name}: exited unexpectedly with code 3`);
    assert.equal(alert.severity, 'warning');
    assert.equal(notices.filter((n) => n.alert.containerName === name).length, 1);
    // Started again: cleared.
    await actions.run('start', alert.containerId, name);
    await waitUntil('the alert cleared by the start', () => !alertOf(name, 'exited'), 20_000);
  });

  it('a container with restart: always that exits 1 at once raises "restart-loop"', async () => {
    const name = uniqueName('llmstack-loop');
    await env.own.create({ name, script: 'exit 1', restart: 'always' });
    const alert = await waitUntil('the restart-loop alert', () => alertOf(name, 'restart-loop'), 30_000);
    assert.equal(alert.severity, 'error');
    assert.match(alert.message, new RegExp(`^${name}: restarting in a loop \\(\\d+ restarts within 60 s\\)$`));
    assert.equal(notices.filter((n) => n.alert.containerName === name && n.alert.kind === 'restart-loop').length, 1);
    assert.equal(alertOf(name, 'exited'), undefined, 'the loop alert replaces exit alerts');
  });

  it('stopping, restarting and removing with ContainerActions raises nothing, even when the stop ends in SIGKILL', async () => {
    const stubborn = uniqueName('llmstack-stubborn');
    const polite = uniqueName('llmstack-polite');
    // sh as PID 1 ignores SIGTERM without a trap: docker stop kills it after the 2 s stop timeout (exit 137).
    await env.own.create({ name: stubborn, script: 'while true; do sleep 1; done' });
    await env.own.create({ name: polite });
    await env.cache.waitFor((c) => [stubborn, polite].every((n) => c.list().some((r) => r.name === n && r.state === 'running')), 20_000);
    const sid = idOf(stubborn)!;
    const pid = idOf(polite)!;

    await actions.run('stop', sid, stubborn);
    await env.cache.waitFor((c) => c.get(sid)?.state === 'exited', 20_000);
    assert.match(env.cache.get(sid)!.statusText, /Exited \(137\)/);
    await actions.run('restart', pid, polite);
    await actions.run('start', sid, stubborn);
    await env.cache.waitFor((c) => c.get(sid)?.state === 'running', 20_000);
    await actions.run('remove', sid, stubborn);
    // An exit alert waits out its grace period. A control container that exits with code 3 after
    // all of the above gets its alert after every earlier exit's grace period has run out: rules see
    // events in the engine's order, and every grace period is equally long.
    const control = uniqueName('llmstack-control');
    await env.own.create({ name: control, script: 'exit 3' });
    await waitUntil('the control container\'s exit alert', () => alertOf(control, 'exited'), 30_000);
    assert.deepEqual(
      notices.map((n) => n.alert.message),
      [`${control}: exited unexpectedly with code 3`],
    );
    assert.deepEqual(
      monitor.active().map((a) => a.containerName),
      [control],
    );
  });
});
