// The metrics panel inside the real host: it opens, receives the ready handshake from its real
// webview, draws a line for a container the test keeps busy (canvas pixels, read by the UI
// driver), rejects messages of a wrong shape with a logged reason, and samples only while visible.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { createTestContainer, removeTestContainers, uniqueName, waitUntil } from '../../support/engine';
import { api } from './hostSupport';

/**
 * Signals the UI driver (test/host/runCodeServer.ts) and waits until it took its screenshot; returns
 * what it wrote back ("ok" or why not), or undefined outside the code-server run (no driver).
 */
async function screenshot(what: 'metrics' | 'statusbar', detail = ''): Promise<string | undefined> {
  const dir = process.env.LLMSTACK_HOST_SYNC_DIR;
  if (!dir) return undefined;
  fs.writeFileSync(path.join(dir, `${what}-ready`), detail);
  const done = path.join(dir, `${what}-shot-done`);
  await waitUntil(`the UI driver to take the ${what} screenshot`, () => fs.existsSync(done), 120_000, 200);
  return fs.readFileSync(done, 'utf8');
}

describe('metrics panel in the real host (host)', function () {
  this.timeout(180_000);
  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await removeTestContainers().catch(() => undefined);
  });

  it('opens, gets the ready handshake and charts a busy container', async () => {
    const a = await api();
    await waitUntil('the engine connection', () => a.connection.state.kind === 'connected' && a.cache.isLoaded, 60_000);
    const name = uniqueName('busy');
    const c = await createTestContainer({ name, script: 'while true; do :; done' });
    await vscode.commands.executeCommand('llmStack.metrics.show');
    const p = a.metricsPanel;
    await waitUntil('the webview to say ready and get its init, and the samples to come', () => p.postedCounts.init > 0 && a.sampler.isRunning, 60_000, 100);
    assert.ok(p.visible && p.holdsSampler, 'sampling while the panel is visible');
    // The samples are the service's: it samples for every window while one of them looks.
    assert.equal(a.watch.mode, 'service');
    assert.equal((await (await a.service.client()).get<{ metrics: { sampling: boolean } }>('/v1/status')).metrics.sampling, true, 'the service samples for the panel');
    const key = `container.${c.id}.cpu`;
    await waitUntil('the busy container in the chart data', () => {
      const ring = a.sampler.store.ring(key);
      return ring && ring.length > 2 && (ring.last?.v ?? 0) > 10;
    }, 60_000, 200);
    assert.match(await a.sampler.toPrometheus(), /llmstack_container_cpu_percent\{[^}]*container="busy-/);
    // What the user sees: the UI driver reads the chart canvases' pixels in the webview frame.
    const charts = await screenshot('metrics', JSON.stringify({ name, id: c.id }));
    if (charts !== undefined) assert.equal(charts, 'ok', 'the metrics charts as drawn in the webview');
  });

  it('the benchmark view: its real webview says ready and gets an init; messages of the wrong shape are refused', async () => {
    const a = await api();
    const p = a.benchPanel;
    await vscode.commands.executeCommand('llmStack.bench.show');
    await waitUntil('the benchmark view to say ready and get its init', () => p.lastInit !== undefined, 60_000, 100);
    assert.ok(Array.isArray(p.lastInit!.models));
    const before = p.rejectedMessages;
    p.received({ type: 'select', keys: [] });
    p.received({ type: 'select', keys: ['a', 'b', 'c'] });
    p.received({ type: 'no-such-message' });
    assert.equal(p.rejectedMessages - before, 3);
    const inits = p.lastInit;
    p.received({ type: 'select', keys: ['ollama@http://127.0.0.1:1|nothing:latest'] });
    await waitUntil('a new init for the selection', () => p.lastInit !== inits && p.lastInit!.selected[0] === 'ollama@http://127.0.0.1:1|nothing:latest', 30_000, 50);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('rejects a message of the wrong shape with a logged reason, and keeps working', async () => {
    const a = await api();
    const p = a.metricsPanel;
    const before = p.rejectedMessages;
    p.received({ type: 'setWindow', windowMinutes: 7 });
    p.received({ type: 'no-such-message' });
    p.received('not even an object');
    assert.equal(p.rejectedMessages, before + 3);
    const appends = p.postedCounts.append;
    await waitUntil('appends go on', () => p.postedCounts.append > appends, 30_000, 100);
  });

  it('stops sampling when the panel is hidden, and resumes when it is shown again', async () => {
    const a = await api();
    const doc = await vscode.workspace.openTextDocument({ content: 'hide the panel' });
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Active, preview: false });
    await waitUntil('the sampler released', () => !a.sampler.isRunning, 30_000, 100);
    const taken = a.sampler.samplesTaken;
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(a.sampler.samplesTaken, taken, 'no sample while hidden');
    await vscode.commands.executeCommand('llmStack.metrics.show');
    await waitUntil('sampling again', () => a.sampler.isRunning && a.sampler.samplesTaken > taken, 30_000, 100);
  });

  it('takes over a restored panel (as after a reload): the page loads, says ready and gets its init', async () => {
    const a = await api();
    const p = a.metricsPanel;
    const before = p.postedCounts.init;
    // What VS Code hands the WebviewPanelSerializer after a reload: a bare panel of this view type.
    const restored = vscode.window.createWebviewPanel('llmStack.metrics', 'LLM Stack Metrics', vscode.ViewColumn.Active, {});
    p.adopt(restored);
    assert.equal(p.panel, restored);
    await waitUntil('the restored page to say ready and get an init', () => p.postedCounts.init > before, 60_000, 100);
    await waitUntil('sampling for the restored panel', () => p.holdsSampler && a.sampler.isRunning, 30_000, 100);
  });

  it('shows live CPU in the status bar while the setting is on, holding the sampler only then', async () => {
    const a = await api();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await waitUntil('the panel released the sampler', () => !a.metricsPanel.holdsSampler && !a.sampler.isRunning, 30_000, 100);
    const cfg = vscode.workspace.getConfiguration('llmStack');
    try {
      await cfg.update('statusBar.metrics', true, vscode.ConfigurationTarget.Global);
      await waitUntil('the status bar to hold the sampler', () => a.statusBarMetrics.holding && a.sampler.reasons.includes('status bar'), 30_000, 100);
      await waitUntil('a live CPU figure in the status bar', () => /CPU \d+ %/.test(a.statusBar.text), 30_000, 100);
      await screenshot('statusbar');
    } finally {
      await cfg.update('statusBar.metrics', undefined, vscode.ConfigurationTarget.Global);
    }
    await waitUntil('the status bar to let go', () => !a.statusBarMetrics.holding && !a.sampler.isRunning, 30_000, 100);
    assert.doesNotMatch(a.statusBar.text, /CPU \d+ %/);
  });
});
