// Host test driver: starts code-server + Chromium, runs the "(host)" suite inside the real
// extension host, and meanwhile drives the real UI (activity bar, tree, inline Stop action),
// writing screenshots to test-results/. Exits non-zero when anything failed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { z } from 'zod';
import { createTestContainer, OLLAMA_LIKE, removeTestContainers, waitUntil } from '../support/engine';
import { buildRuntimeImage } from '../support/runtime';
import { ChartPixels, describeCharts, metricsFrame, readChartPixels } from './chartPixels';
import { registryBeforeTheService, ROOT, startHost, unhandledErrors } from './codeServerHost';
import { endpointFacts } from '../../src/app/registry/portUseCases';
import { ServiceClient } from '../../src/service/client';
import { servicePaths } from '../../src/service/paths';
import { SHARED } from './twoWindowsShared';
import { glueCoverageDir, reportGlueCoverage } from './glueCoverage';

const RESULTS = path.join(ROOT, 'test-results');
/** What the suite writes into metrics-ready: the container it keeps busy. */
const busyContainerSchema = z.object({ name: z.string(), id: z.string() });
/** A few seconds of samples in the chart window draw tens of pixels; stray ones of a similar colour are fewer. */
const MIN_LINE_PIXELS = 10;
/** Every code-server process, and so every extension host, writes its V8 coverage here (see glueCoverage.ts). */
const coverageDir = glueCoverageDir(RESULTS);
const coverageEnv = { NODE_V8_COVERAGE: coverageDir };

async function uiSteps(page: Page, names: { runtime: string; other: string }, syncDir: string): Promise<void> {
  const activity = page.locator('.activitybar [aria-label^="LLM Stack"]').first();
  await activity.waitFor({ timeout: 60_000 });
  await activity.click();
  // A wider sidebar, so descriptions (state, image, ports) are readable in the screenshot.
  const sash = page.locator('.part.sidebar + .monaco-sash, .monaco-sash.vertical').first();
  const box = await page.locator('.part.sidebar').boundingBox();
  if (box && (await sash.count())) {
    await page.mouse.move(box.x + box.width + 1, box.y + 200);
    await page.mouse.down();
    await page.mouse.move(box.x + 640, box.y + 200, { steps: 5 });
    await page.mouse.up();
  }
  const row = page.locator(`.monaco-list-row[aria-label^="${names.runtime},"]`);
  await row.waitFor({ timeout: 60_000 });
  await waitUntil('the runtime row to say running', async () => /, running/.test((await row.getAttribute('aria-label')) ?? ''), 30_000, 200);
  // Open the "Other containers" group so the screenshot shows both kinds.
  const group = page.locator('.monaco-list-row[aria-label^="Other containers"]');
  if ((await group.count()) && (await group.getAttribute('aria-expanded')) === 'false') await group.click();
  await page.locator(`.monaco-list-row[aria-label^="${names.other},"]`).waitFor({ timeout: 30_000 });
  await page.locator('.statusbar-item[id="llm-local-stack.llm-local-stack.llmStack.health"], .statusbar-item:has-text("runtime")').first().waitFor({ timeout: 30_000 });
  await page.mouse.move(700, 400);
  await page.screenshot({ path: path.join(RESULTS, 'sidebar.png') });
  console.log('[ui] containers view shows the runtime and the other container: test-results/sidebar.png');

  // Steps that click rows, take the keyboard focus or disconnect the extension wait until the
  // suite's own tests are over: its containers come and go, and rows move under the pointer.
  await waitUntil('the suite to finish its connected tests', () => fs.existsSync(path.join(syncDir, 'calm-done')), 10 * 60_000, 200);
  // Stop through the inline action button on the row, as a user would.
  // Inline actions show for the hovered or selected row; select it too, and retry a hover the
  // workbench did not register (bounded).
  const stop = row.locator('.action-label[aria-label="Stop"]');
  for (let attempt = 1; ; attempt++) {
    await row.click();
    await row.hover();
    try {
      await stop.waitFor({ timeout: 5_000 });
      break;
    } catch (e) {
      if (attempt >= 4) throw e;
      await page.mouse.move(5, 5);
    }
  }
  await stop.click();
  await waitUntil('the row to say exited', async () => /, exited/.test((await row.getAttribute('aria-label')) ?? ''), 60_000, 200);
  await row.hover();
  await page.screenshot({ path: path.join(RESULTS, 'sidebar-stopped.png') });
  console.log('[ui] inline Stop changed the row to exited: test-results/sidebar-stopped.png');

  await runPaletteCommand(page, 'LLM Stack: Set Docker Host', 'unix:///nonexistent/docker.sock');
  const welcome = page.locator('.welcome-view-content:has-text("No container engine answers")');
  await welcome.waitFor({ timeout: 60_000 });
  await welcome.locator(':text("Tried: the host in the setting llmStack.docker.host")').waitFor({ timeout: 30_000 });
  await welcome.locator(':text("No engine socket exists there")').waitFor({ timeout: 30_000 });
  await page.locator('.pane-header:has-text("not connected: no socket at /nonexistent/docker.sock")').waitFor({ timeout: 30_000 });
  await page.locator('.statusbar-item:has-text("not connected")').first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(RESULTS, 'no-engine.png') });
  console.log('[ui] unreachable host: the view explains what was tried, the status bar says not connected: test-results/no-engine.png');
  await runPaletteCommand(page, 'LLM Stack: Set Docker Host', '');
  await row.waitFor({ timeout: 60_000 });
  console.log('[ui] clearing the host setting reconnected and the tree is back');
}

/**
 * The metrics panel once the suite has opened it on a busy container (it signals when, naming the
 * container): every chart canvas has drawn pixels and the container's CPU line is on its chart.
 * The verdict goes back to the suite ("ok" or the reason) as well as failing this driver.
 */
async function metricsShot(page: Page, syncDir: string): Promise<void> {
  let verdict = 'FAILED: the UI driver did not get to the charts';
  try {
    await waitUntil('the suite to open the metrics panel', () => fs.existsSync(path.join(syncDir, 'metrics-ready')), 12 * 60_000, 200);
    const busy = busyContainerSchema.parse(JSON.parse(fs.readFileSync(path.join(syncDir, 'metrics-ready'), 'utf8')));
    await page.locator('.tab[aria-label^="LLM Stack Metrics"]').first().waitFor({ timeout: 30_000 });
    const frame = await metricsFrame(page);
    await frame.locator('figure.chart canvas').first().waitFor({ timeout: 30_000 });
    let last: ChartPixels[] = [];
    const isBusy = (name: string) => name === busy.name || name === busy.id.slice(0, 12);
    try {
      await waitUntil(
        `the chart canvases to draw, with a line for ${busy.name} on the container CPU chart`,
        async () => {
          last = await readChartPixels(frame);
          const cpu = last.find((c) => /^Container CPU/.test(c.title) && c.series.some(isBusy));
          return last.length > 0 && last.every((c) => c.drawn > 0) && !!cpu && cpu.seriesPixels[cpu.series.findIndex(isBusy)] >= MIN_LINE_PIXELS;
        },
        30_000,
        500,
      );
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : String(e)}; canvases read: ${describeCharts(last)}`);
    }
    console.log(`[ui] metrics charts drew: ${describeCharts(last)}`);
    await page.mouse.move(5, 400);
    await page.screenshot({ path: path.join(RESULTS, 'metrics-panel.png') });
    console.log('[ui] metrics panel with a busy container: test-results/metrics-panel.png');
    verdict = 'ok';
  } catch (e) {
    verdict = `FAILED: ${e instanceof Error ? e.message : String(e)}`;
    throw e;
  } finally {
    fs.writeFileSync(path.join(syncDir, 'metrics-shot-done'), verdict);
  }
}

/** The status bar item with live CPU figures (llmStack.statusBar.metrics on; the suite signals when). */
async function statusBarShot(page: Page, syncDir: string): Promise<void> {
  try {
    await waitUntil('the suite to turn on status bar metrics', () => fs.existsSync(path.join(syncDir, 'statusbar-ready')), 12 * 60_000, 200);
    await page.locator('.statusbar-item', { hasText: /CPU \d+ %/ }).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(RESULTS, 'status-bar-metrics.png') });
    console.log('[ui] status bar with live CPU: test-results/status-bar-metrics.png');
  } finally {
    fs.writeFileSync(path.join(syncDir, 'statusbar-shot-done'), '');
  }
}

/** An invalid llmstack.yaml with its diagnostics in the editor and the Problems panel (the suite signals when). */
async function stackShot(page: Page, syncDir: string): Promise<void> {
  try {
    await waitUntil('the suite to open the invalid stack file', () => fs.existsSync(path.join(syncDir, 'stack-ready')), 15 * 60_000, 200);
    await page.locator('.tab[aria-label^="llmstack.yaml"]').first().waitFor({ timeout: 30_000 });
    await page.locator('.squiggly-error').first().waitFor({ timeout: 30_000 });
    await page.mouse.move(700, 400);
    await page.screenshot({ path: path.join(RESULTS, 'stack-diagnostics.png') });
    console.log('[ui] stack file diagnostics: test-results/stack-diagnostics.png');
  } finally {
    fs.writeFileSync(path.join(syncDir, 'stack-shot-done'), '');
  }
}

/** The Models view once the suite has pulled and loaded models and added a GGUF folder (it signals when). */
async function modelsShot(page: Page, syncDir: string): Promise<void> {
  try {
    await waitUntil('the suite to prepare the Models view', () => fs.existsSync(path.join(syncDir, 'models-ready')), 12 * 60_000, 200);
    const header = page.locator('.pane-header[aria-label^="Models"]').first();
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
    await page.locator('.monaco-list-row[aria-label^="medium:latest,"]').waitFor({ timeout: 30_000 });
    await page.locator('.monaco-list-row[aria-label^="family/tiny-q.gguf,"]').waitFor({ timeout: 30_000 });
    await page.mouse.move(700, 400);
    await page.screenshot({ path: path.join(RESULTS, 'models-view.png') });
    console.log('[ui] Models view with a loaded model and a GGUF folder: test-results/models-view.png');
  } finally {
    fs.writeFileSync(path.join(syncDir, 'models-shot-done'), '');
  }
}

/**
 * A second session without a test suite, as a user has it: VS Code refuses modal dialogs while
 * extension tests run, so confirmations (restore, remove) are clicked here.
 */
async function userSession(removeName: string): Promise<void> {
  const host = await startHost({ env: coverageEnv, onLog: (l) => console.log(`  [user] ${l}`) });
  const page = host.page;
  try {
    await page.locator('.activitybar [aria-label^="LLM Stack"]').first().click({ timeout: 60_000 });
    const row = page.locator(`.monaco-list-row[aria-label^="${removeName},"]`);
    await row.waitFor({ timeout: 60_000 });

    await runPaletteCommand(page, 'LLM Stack: Back Up Registry Now');
    await page.locator('.notification-toast:has-text("Registry backed up:")').first().waitFor({ timeout: 60_000 });
    console.log('[ui] Back Up Registry Now: notification shown');
    await runPaletteCommand(page, 'LLM Stack: Show Registry Statistics');
    await page.locator('.tab:has-text("Registry Statistics.md")').first().waitFor({ timeout: 60_000 });
    await page.locator('.editor-container .view-lines:has-text("audit_log")').first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(RESULTS, 'registry-stats.png') });
    console.log('[ui] Show Registry Statistics: document with table counts: test-results/registry-stats.png');
    await runPaletteCommand(page, 'LLM Stack: Restore Registry from Backup');
    await page.locator('.quick-input-list .monaco-list-row:has-text("audit entries")').first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(RESULTS, 'registry-restore-pick.png') });
    await page.keyboard.press('Enter');
    const restore = page.locator('.monaco-dialog-box .monaco-button:has-text("Restore")');
    await restore.waitFor({ timeout: 30_000 });
    await restore.click();
    await page.locator('.notification-toast:has-text("Registry restored from")').first().waitFor({ timeout: 60_000 });
    console.log('[ui] Restore Registry from Backup: picked the backup in the quick pick, confirmed the dialog, restored');

    // Remove… from the context menu, confirmed in the dialog. A click that lands while the menu is
    // still settling is sometimes dropped: retry the menu a bounded number of times.
    const confirm = page.locator('.monaco-dialog-box .monaco-button:has-text("Remove")');
    for (let attempt = 1; ; attempt++) {
      await row.click({ button: 'right' });
      const item = page.locator('.monaco-menu .action-item:has-text("Remove…")').first();
      await item.waitFor({ timeout: 20_000 });
      await item.hover();
      await item.click();
      try {
        await confirm.waitFor({ timeout: 5_000 });
        break;
      } catch (e) {
        if (attempt >= 4) throw e;
        await page.keyboard.press('Escape');
      }
    }
    await page.screenshot({ path: path.join(RESULTS, 'remove-confirm.png') });
    await confirm.click();
    await row.waitFor({ state: 'detached', timeout: 60_000 });
    console.log('[ui] Remove… from the context menu asked for confirmation, then the row disappeared');
    const unhandled = unhandledErrors(host.dir, host.logs);
    if (unhandled.length) throw new Error(`unhandled errors from the extension in the user session:\n${unhandled.join('\n---\n')}`);
  } catch (e) {
    await page.screenshot({ path: path.join(RESULTS, 'ui-user-failure.png') }).catch(() => undefined);
    throw e;
  } finally {
    await host.close();
  }
}

/** Restricted Mode: an untrusted workspace whose settings name a Docker host the extension must ignore. */
async function restrictedSession(): Promise<void> {
  let ok = false;
  const host = await startHost({
    restricted: true,
    env: coverageEnv,
    testsPath: path.join(ROOT, 'out', 'test', 'host', 'restricted.js'),
    workspaceFiles: {
      '.vscode/settings.json': JSON.stringify({
        'llmStack.docker.host': 'unix:///tmp/llmstack-untrusted-workspace.sock',
        'llmStack.runtimes.endpoints': [{ url: 'http://127.0.0.1:9/untrusted', kind: 'openai', name: 'untrusted-endpoint' }],
        'llmStack.models.ggufFolders': ['/tmp/llmstack-untrusted-gguf'],
        // Settings the per-user service acts on: a workspace must not set them for it.
        'llmStack.models.idleUnloadMinutes': 1,
        'llmStack.registry.keepBackups': 3,
      }),
      // A stack file in an untrusted workspace must not start anything.
      'llmstack.yaml': 'name: untrusted-stack\nruntimes:\n  llm:\n    kind: other\n    image: llmstack-test/busybox:1\n    labels:\n      io.llmstack.test: "true"\n',
    },
    onLog: (l) => {
      if (l.includes('RESTRICTED_MODE_OK')) ok = true;
      if (/RESTRICTED|AssertionError|Error/.test(l)) console.log(`  [restricted] ${l}`);
    },
  });
  try {
    const code = await Promise.race([host.exit, new Promise<number>((r) => setTimeout(() => r(124), 180_000))]);
    if (code !== 0 || !ok) throw new Error(`the Restricted Mode run failed (exit ${code})`);
    console.log('[ui] Restricted Mode: the workspace-level docker.host, runtime endpoints and GGUF folders were ignored, the extension connected to the default engine');
  } finally {
    await host.close();
  }
}

/**
 * Two editor windows on one code-server (two extension hosts) write to the registry at the same
 * time through the local service; every write of both must be there.
 */
async function twoWindowsSession(): Promise<void> {
  const sync = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-two-'));
  const host = await startHost({
    env: { ...coverageEnv, LLMSTACK_HOST_SYNC_DIR: sync },
    testsPath: path.join(ROOT, 'out', 'test', 'host', 'twoWindows.js'),
    onLog: (l) => {
      if (/TWO_WINDOWS|AssertionError|Error/.test(l)) console.log(`  [two windows] ${l}`);
    },
  });
  try {
    const second = await host.openWindow();
    await waitUntil('both windows ready', () => fs.readdirSync(sync).filter((f) => f.startsWith('ready-')).length === 2, 120_000, 50);
    fs.writeFileSync(path.join(sync, 'go'), '');
    const codes = await Promise.race([Promise.all([host.exit, second.exit]), new Promise<number[]>((r) => setTimeout(() => r([124, 124]), 180_000))]);
    if (codes.some((c) => c !== 0)) throw new Error(`a window's run failed (exit codes ${codes.join(', ')})`);
    const done = fs
      .readdirSync(sync)
      .filter((f) => f.startsWith('done-'))
      .map((f) => z.object({ me: z.string(), start: z.number(), end: z.number() }).parse(JSON.parse(fs.readFileSync(path.join(sync, f), 'utf8'))));
    if (done.length !== 2) throw new Error(`${done.length} windows finished, not 2`);
    const overlap = Math.min(...done.map((d) => d.end)) - Math.max(...done.map((d) => d.start));
    if (overlap <= 0) throw new Error('the two windows did not write at the same time');
    const client = new ServiceClient(servicePaths({ LLMSTACK_HOME: host.serviceHome }).socket);
    const { entries } = await client.call<{ entries: { operation: string; target: string }[] }>('registry.audit', { limit: 1000 });
    for (const d of done) {
      const mine = new Set(entries.filter((e) => e.operation === `twoWindows.${d.me}`).map((e) => e.target));
      if (mine.size !== 100) throw new Error(`window ${d.me}: ${mine.size} of its 100 audit entries are in the registry`);
    }
    const history = await client.call<{ usage: { kind: string; count: number }[] }>('registry.modelHistory', { endpoint: endpointFacts(SHARED), name: 'shared:1' });
    const uses = history.usage.find((u) => u.kind === 'generate')?.count ?? 0;
    if (uses !== 40) throw new Error(`${uses} of the 40 uses recorded by both windows are in the registry`);
    console.log(`[ui] two windows: 2 × 100 audit entries and 2 × 20 uses written at the same time (${overlap} ms of overlap), none lost`);
  } finally {
    await host.close();
    fs.rmSync(sync, { recursive: true, force: true });
  }
}

async function runPaletteCommand(page: Page, title: string, input?: string): Promise<void> {
  await page.locator('.monaco-workbench').click({ position: { x: 900, y: 300 } });
  await page.keyboard.press('F1');
  const box = page.locator('.quick-input-widget input');
  await box.waitFor({ timeout: 20_000 });
  await box.fill(`>${title}`);
  await page.locator(`.quick-input-list .monaco-list-row[aria-label*="${title}"]`).first().waitFor({ timeout: 20_000 });
  await page.keyboard.press('Enter');
  if (input === undefined) return;
  await waitUntil('the input box', async () => (await box.isVisible()) && !(await box.inputValue()).startsWith('>'), 20_000, 100);
  await box.fill(input);
  await page.keyboard.press('Enter');
  await waitUntil('the input box to close', async () => !(await box.isVisible()), 20_000, 100);
}

async function main(): Promise<number> {
  fs.mkdirSync(RESULTS, { recursive: true });
  // LLMSTACK_HOST_SESSION=two-windows or restricted: that session alone (neither creates a
  // container), for work on it.
  if (process.env.LLMSTACK_HOST_SESSION === 'two-windows') {
    await twoWindowsSession();
    return 0;
  }
  if (process.env.LLMSTACK_HOST_SESSION === 'restricted') {
    await restrictedSession();
    return 0;
  }
  await removeTestContainers();
  buildRuntimeImage();
  const names = { runtime: 'llmstack-ui-ollama', other: 'llmstack-ui-web' };
  await createTestContainer({ name: names.runtime, image: OLLAMA_LIKE, ports: [11434] });
  await createTestContainer({ name: names.other, ports: [8080] });
  const sync = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-sync-'));
  const host = await startHost({
    testsPath: path.join(ROOT, 'out', 'test', 'host', 'suite', 'index.js'),
    // A registry as the extension kept it before the service: it must move to the service's folder.
    globalStorageFiles: await registryBeforeTheService(),
    env: { ...coverageEnv, LLMSTACK_HOST_SYNC_DIR: sync },
    onLog: (l) => console.log(`  [host] ${l}`),
  });
  let uiError: unknown;
  let code = 1;
  try {
    try {
      await uiSteps(host.page, names, sync);
    } catch (e) {
      uiError = e;
      await host.page.screenshot({ path: path.join(RESULTS, 'ui-failure.png') }).catch(() => undefined);
      console.error('[ui] FAILED:', e);
    } finally {
      fs.writeFileSync(path.join(sync, 'ui-done'), '');
    }
    try {
      await metricsShot(host.page, sync);
    } catch (e) {
      uiError ??= e;
      await host.page.screenshot({ path: path.join(RESULTS, 'ui-metrics-failure.png') }).catch(() => undefined);
      console.error('[ui] metrics panel screenshot FAILED:', e);
    }
    try {
      await statusBarShot(host.page, sync);
    } catch (e) {
      uiError ??= e;
      await host.page.screenshot({ path: path.join(RESULTS, 'ui-statusbar-failure.png') }).catch(() => undefined);
      console.error('[ui] status bar screenshot FAILED:', e);
    }
    try {
      await modelsShot(host.page, sync);
    } catch (e) {
      uiError ??= e;
      await host.page.screenshot({ path: path.join(RESULTS, 'ui-models-failure.png') }).catch(() => undefined);
      console.error('[ui] Models view screenshot FAILED:', e);
    }
    try {
      await stackShot(host.page, sync);
    } catch (e) {
      uiError ??= e;
      await host.page.screenshot({ path: path.join(RESULTS, 'ui-stack-failure.png') }).catch(() => undefined);
      console.error('[ui] stack diagnostics screenshot FAILED:', e);
    }
    code = await Promise.race([host.exit, new Promise<number>((r) => setTimeout(() => r(124), 15 * 60_000))]);
    if (code === 124) console.error('the host suite did not finish within 15 minutes');
    const unhandled = unhandledErrors(host.dir, host.logs);
    if (unhandled.length) {
      console.error(`unhandled errors from the extension in the host log:\n${unhandled.join('\n---\n')}`);
      code = code || 1;
    } else {
      console.log('[log] no unhandled rejection or error from the extension in the extension host log');
    }
  } finally {
    await host.close();
    fs.rmSync(sync, { recursive: true, force: true });
  }
  try {
    await restrictedSession();
  } catch (e) {
    uiError ??= e;
    console.error('[ui] restricted session FAILED:', e);
  }
  try {
    await twoWindowsSession();
  } catch (e) {
    uiError ??= e;
    console.error('[ui] two-window session FAILED:', e);
  }
  try {
    await createTestContainer({ name: 'llmstack-ui-remove-me' });
    await userSession('llmstack-ui-remove-me');
  } catch (e) {
    uiError ??= e;
    console.error('[ui] user session FAILED:', e);
  } finally {
    await removeTestContainers().catch(() => undefined);
  }
  try {
    reportGlueCoverage(ROOT, coverageDir, path.join(RESULTS, 'coverage-glue'));
  } catch (e) {
    // A report only: a failure to produce it is told, and fails nothing.
    console.error('[coverage] the glue coverage report failed:', e);
  }
  const failed = (code ? 1 : 0) + (uiError ? 1 : 0);
  console.log(`host: ${failed ? 'FAILED' : 'ok'} (suite exit ${code}, ui ${uiError ? 'failed' : 'ok'})`);
  return failed ? 1 : 0;
}

main().then(
  (c) => process.exit(c),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
