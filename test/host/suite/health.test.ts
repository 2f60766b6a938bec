// Health and alerts inside the real host: a container whose healthcheck fails raises a
// notification (from the service's alert rules, which watch this window's engine) and turns the
// status bar item to error; a stop by the extension raises nothing.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { createTestContainer, OLLAMA_LIKE, removeTestContainers, uniqueName, waitUntil } from '../../support/engine';
import { api, treeNodes, waitForTree } from './hostSupport';

describe('health checks and alerts in the real host (host)', function () {
  this.timeout(120_000);
  after(async () => {
    await removeTestContainers().catch(() => undefined);
  });

  it('a runtime whose healthcheck fails raises an alert, and the status bar turns to error', async () => {
    const a = await api();
    await waitUntil('the engine connection', () => a.connection.state.kind === 'connected' && a.cache.isLoaded, 60_000);
    // The service is on this window's engine: its alert rules are the ones shown here.
    await waitUntil('the service to watch this window', () => a.watch.mode === 'service', 30_000, 50);
    const name = uniqueName('sick');
    await createTestContainer({ name, image: OLLAMA_LIKE, healthcheck: { test: 'false', intervalMs: 1000, retries: 1 } });
    const shown = await waitUntil('the unhealthy notification', () => a.alerts.shown.find((s) => s.containerName === name && s.kind === 'unhealthy'), 60_000, 100);
    assert.match(shown.message, new RegExp(`${name}.*unhealthy`));
    await waitUntil('the status bar at error', () => a.statusBar.summary?.level === 'error', 20_000, 100);
    assert.match(a.statusBar.summary!.text, /1 alert/);
    assert.match(a.statusBar.summary!.tooltip, new RegExp(`${name}: unhealthy`));
    // Removing the container clears the alert and the status bar recovers.
    await removeTestContainers();
    await waitUntil('the alert cleared', () => !a.alertSource.active().some((x) => x.containerName === name), 30_000, 100);
    await waitUntil('the status bar back to ok', () => a.statusBar.summary?.level === 'ok', 30_000, 100);
  });

  it('a stop by the extension raises no alert', async () => {
    const a = await api();
    const name = uniqueName('calm');
    await createTestContainer({ name, image: OLLAMA_LIKE });
    await waitForTree(a, `${name} running`, (nodes) => nodes.some((n) => n.name === name && n.record.state === 'running'));
    const before = a.alerts.shown.length;
    await vscode.commands.executeCommand('llmStack.containers.stop', treeNodes(a).find((n) => n.name === name));
    await waitForTree(a, `${name} exited`, (nodes) => nodes.some((n) => n.name === name && n.record.state === 'exited'));
    // An exit alert waits out a grace period for a restart policy. A control container that exits
    // with code 3 after the stop gets its alert after the stop's grace period has run out (rules see
    // events in the engine's order; every grace period is equally long): wait for that one.
    const control = uniqueName('control');
    await createTestContainer({ name: control, script: 'exit 3' });
    await waitUntil('the control container\'s exit notification', () => a.alerts.shown.some((s) => s.containerName === control && s.kind === 'exited'), 30_000, 100);
    assert.deepEqual(
      a.alerts.shown.slice(before).filter((s) => s.containerName === name),
      [],
    );
    assert.ok(!a.alertSource.active().some((x) => x.containerName === name));
  });
});
