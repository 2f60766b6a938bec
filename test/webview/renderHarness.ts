// Render harness for the metrics panel: loads the real bundle (dist/webview/metrics.js + .css) in a
// static file:// page under the panel's own CSP, in Debian's Chromium through playwright-core. A
// stand-in for the webview's acquireVsCodeApi (postMessage/getState/setState; there is no VS Code
// here) collects what the panel posts. It feeds one `init` of N series × M minutes, then `append`s
// one per animation frame, and reads back the panel's own frameStats. For the rendering benchmark;
// run alone: `node out/test/webview/renderHarness.js [series] [minutes] [appends]`.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { parseMessage, toPanelSchema, type FromPanel, type SeriesInfoMessage, type ToPanel } from '../../src/shared/metricsProtocol';
import { metricsPageHtml } from '../../webview-ui/metrics/page';
import { CHROMIUM, CHROMIUM_ARGS, ROOT } from '../host/codeServerHost';

export interface RenderOptions {
  /** Series in total, spread over host, GPU, containers and models as on a busy machine (default 20). */
  readonly series?: number;
  /** Minutes of history in the init; also the panel's window, rounded up to 1, 5, 15 or 60 (default 10). */
  readonly minutes?: number;
  /** Appends after the init, one per animation frame (default 120). */
  readonly appends?: number;
  /** Sampling interval of the synthetic data (default 1000 ms, the sampler's). */
  readonly intervalMs?: number;
  readonly viewport?: { readonly width: number; readonly height: number };
  /** 2 draws a HiDPI canvas: four times the pixels (default 1). */
  readonly deviceScaleFactor?: number;
  readonly theme?: 'dark' | 'light' | 'high-contrast';
}

export interface RenderResult {
  /** Median and 95th percentile of the panel's per-frame draw time (its frameStats), in ms. */
  readonly p50Ms: number;
  readonly p95Ms: number;
  /** Frames the panel drew and reported (the init's plus one per append). */
  readonly frames: number;
  /** 95th percentile of the time between animation frames while appending (jank shows here). */
  readonly frameIntervalP95Ms: number;
  readonly charts: number;
  readonly pointsPerSeries: number;
  /** Anything the page's CSP refused; empty when the bundle keeps to the policy. */
  readonly cspViolations: string[];
  /** Console warnings and errors and uncaught page errors. */
  readonly problems: string[];
}

type Init = Extract<ToPanel, { type: 'init' }>;
type Append = Extract<ToPanel, { type: 'append' }>;

/**
 * The page globals the functions below use once they run in Chromium, typed just enough: the root
 * tsconfig has no DOM lib (and should not get one for this file). They reach them as globalThis.
 */
interface PageElement {
  readonly textContent: string | null;
  readonly style: { setProperty(name: string, value: string): void };
  readonly classList: { add(name: string): void };
}
interface PageGlobals {
  __posted: { type: string }[];
  __csp: string[];
  acquireVsCodeApi: () => unknown;
  postMessage(message: unknown, targetOrigin: string): void;
  requestAnimationFrame(cb: (time: number) => void): number;
  document: {
    readonly documentElement: PageElement;
    readonly body: PageElement;
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): { readonly length: number };
    addEventListener(type: 'securitypolicyviolation', listener: (e: { violatedDirective: string; blockedURI: string; sourceFile: string; lineNumber: number }) => void): void;
  };
}

/** A deterministic mix: host and one GPU first, then containers (CPU and memory) and models (tok/s). */
export function seriesMix(n: number): SeriesInfoMessage[] {
  const GiB = 2 ** 30;
  const fixed: SeriesInfoMessage[] = [
    { key: 'host.cpu', group: 'host', entity: 'this machine', entityId: 'host', metric: 'cpu', unit: '%' },
    { key: 'host.memory', group: 'host', entity: 'this machine', entityId: 'host', metric: 'memory', unit: 'bytes', max: 64 * GiB },
    { key: 'host.net.rx', group: 'host', entity: 'this machine', entityId: 'host', metric: 'net.rx', unit: 'B/s' },
    { key: 'host.net.tx', group: 'host', entity: 'this machine', entityId: 'host', metric: 'net.tx', unit: 'B/s' },
    { key: 'gpu.0.util', group: 'gpu', entity: 'GPU 0 · NVIDIA H100', entityId: 'GPU-0', metric: 'util', unit: '%' },
    { key: 'gpu.0.memory', group: 'gpu', entity: 'GPU 0 · NVIDIA H100', entityId: 'GPU-0', metric: 'memory', unit: 'bytes', max: 80 * GiB },
    { key: 'gpu.0.temperature', group: 'gpu', entity: 'GPU 0 · NVIDIA H100', entityId: 'GPU-0', metric: 'temperature', unit: '°C' },
    { key: 'gpu.0.power', group: 'gpu', entity: 'GPU 0 · NVIDIA H100', entityId: 'GPU-0', metric: 'power', unit: 'W', max: 700 },
  ];
  if (n <= fixed.length) return fixed.slice(0, n);
  const out = [...fixed];
  const rest = n - fixed.length;
  const models = Math.floor(rest / 6);
  for (let i = 0; out.length < n - models; i++) {
    const id = `c${i.toString(16).padStart(12, '0')}`;
    out.push({ key: `container.${id}.cpu`, group: 'container', entity: `runtime-${i}`, entityId: id, metric: 'cpu', unit: '%' });
    if (out.length < n - models) out.push({ key: `container.${id}.memory`, group: 'container', entity: `runtime-${i}`, entityId: id, metric: 'memory', unit: 'bytes', max: 16 * GiB });
  }
  for (let i = 0; out.length < n; i++) {
    out.push({ key: `model.rt${i}\u0000model-${i}:7b.tps`, group: 'model', entity: `model-${i}:7b`, entityId: `rt${i}\u0000model-${i}:7b`, metric: 'tps', unit: 'tok/s' });
  }
  return out;
}

/** Plausible wavy values per unit; `seed` makes each series its own. */
function value(s: SeriesInfoMessage, i: number, seed: number): number {
  const wave = 0.5 + 0.35 * Math.sin(i / (20 + seed * 3) + seed) + 0.15 * Math.sin(i / 3.7 + seed * 1.3);
  switch (s.unit) {
    case '%':
      return 100 * wave;
    case 'bytes':
      return (s.max ?? 8 * 2 ** 30) * (0.3 + 0.5 * wave);
    case 'B/s':
      return 50 * 2 ** 20 * wave;
    case '°C':
      return 40 + 40 * wave;
    case 'W':
      return 80 + 500 * wave;
    case 'tok/s':
      return 90 * wave;
    case 'count':
      return Math.round(10 * wave);
  }
}

function windowFor(minutes: number): Init['windowMinutes'] {
  return minutes <= 1 ? 1 : minutes <= 5 ? 5 : minutes <= 15 ? 15 : 60;
}

export function buildMessages(o: Required<Pick<RenderOptions, 'series' | 'minutes' | 'appends' | 'intervalMs'>>): { init: Init; appends: Append[] } {
  const series = seriesMix(o.series);
  const points = Math.floor((o.minutes * 60_000) / o.intervalMs);
  const t0 = Date.now() - points * o.intervalMs;
  const t = Array.from({ length: points }, (_, i) => t0 + i * o.intervalMs);
  const columns = series.map((s, si) => t.map((_, i) => value(s, i, si)));
  const init: Init = { type: 'init', windowMinutes: windowFor(o.minutes), paused: false, gpu: { kind: 'ok', gpus: 1 }, series, t, columns };
  const appends: Append[] = Array.from({ length: o.appends }, (_, k) => {
    const i = points + k;
    const values: Record<string, number> = {};
    series.forEach((s, si) => (values[s.key] = value(s, i, si)));
    return { type: 'append', t: t0 + i * o.intervalMs, added: [], removed: [], values };
  });
  for (const m of [init, appends[0]]) {
    if (!m) continue;
    const r = parseMessage(toPanelSchema, m);
    if (!r.ok) throw new Error(`the harness built an invalid ${m.type}: ${r.reason}`);
  }
  return { init, appends };
}

const THEMES: Record<NonNullable<RenderOptions['theme']>, { bodyClass: string; vars: Record<string, string> }> = {
  dark: {
    bodyClass: 'vscode-dark',
    vars: {
      '--vscode-font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif',
      '--vscode-font-size': '13px',
      '--vscode-editor-foreground': '#cccccc',
      '--vscode-editor-background': '#1f1f1f',
      '--vscode-descriptionForeground': '#9d9d9d',
      '--vscode-panel-border': '#2b2b2b',
      '--vscode-focusBorder': '#0078d4',
      '--vscode-charts-blue': '#3794ff',
      '--vscode-charts-orange': '#d18616',
      '--vscode-charts-green': '#89d185',
      '--vscode-charts-purple': '#b180d7',
      '--vscode-charts-red': '#f14c4c',
      '--vscode-charts-yellow': '#cca700',
    },
  },
  light: {
    bodyClass: 'vscode-light',
    vars: {
      '--vscode-font-family': 'system-ui, sans-serif',
      '--vscode-font-size': '13px',
      '--vscode-editor-foreground': '#3b3b3b',
      '--vscode-editor-background': '#ffffff',
      '--vscode-panel-border': '#e5e5e5',
      '--vscode-focusBorder': '#005fb8',
      '--vscode-charts-blue': '#1a85ff',
      '--vscode-charts-orange': '#d18616',
      '--vscode-charts-green': '#388a34',
      '--vscode-charts-purple': '#652d90',
      '--vscode-charts-red': '#e51400',
      '--vscode-charts-yellow': '#bf8803',
    },
  },
  'high-contrast': {
    bodyClass: 'vscode-high-contrast',
    vars: {
      '--vscode-font-family': 'system-ui, sans-serif',
      '--vscode-font-size': '13px',
      '--vscode-editor-foreground': '#ffffff',
      '--vscode-editor-background': '#000000',
      '--vscode-contrastBorder': '#6fc3df',
      '--vscode-contrastActiveBorder': '#f38518',
      '--vscode-focusBorder': '#f38518',
      '--vscode-charts-blue': '#3794ff',
      '--vscode-charts-orange': '#d18616',
      '--vscode-charts-green': '#89d185',
      '--vscode-charts-purple': '#b180d7',
      '--vscode-charts-red': '#f14c4c',
      '--vscode-charts-yellow': '#ffff00',
    },
  },
};

/** Runs in the page before anything else: the acquireVsCodeApi stand-in and the CSP watch. */
function pageInit(theme: { bodyClass: string; vars: Record<string, string> }): void {
  const w = globalThis as unknown as PageGlobals;
  const document = w.document;
  w.__posted = [];
  w.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
  let state: unknown;
  let acquired = false;
  w.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi may be called once');
    acquired = true;
    // The webview host sets the theme's variables on <html> and its kind as a body class.
    for (const [k, v] of Object.entries(theme.vars)) document.documentElement.style.setProperty(k, v);
    document.body.classList.add(theme.bodyClass);
    return {
      postMessage: (m: { type: string }) => w.__posted.push(m),
      getState: () => state,
      setState: (s: unknown) => (state = s),
    };
  };
}

/** Feeds the messages from inside the page: one append, then two animation frames, and so on. */
async function feed(appends: unknown[]): Promise<number[]> {
  const w = globalThis as unknown as PageGlobals;
  const frame = () => new Promise<number>((r) => w.requestAnimationFrame(r));
  const stamps: number[] = [];
  for (const m of appends) {
    w.postMessage(m, '*');
    stamps.push(await frame());
    stamps.push(await frame());
  }
  return stamps;
}

function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export async function measureRender(options: RenderOptions = {}): Promise<RenderResult> {
  const o = { ...options, series: options.series ?? 20, minutes: options.minutes ?? 10, appends: options.appends ?? 120, intervalMs: options.intervalMs ?? 1000 };
  const script = path.join(ROOT, 'dist', 'webview', 'metrics.js');
  const style = path.join(ROOT, 'dist', 'webview', 'metrics.css');
  if (!fs.existsSync(script) || !fs.existsSync(style)) throw new Error(`${script} or its CSS is missing: run node scripts/build.mjs first`);
  const { init, appends } = buildMessages(o);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-render-'));
  const html = path.join(dir, 'metrics.html');
  fs.writeFileSync(html, metricsPageHtml({ cspSource: 'file:', nonce: randomBytes(18).toString('base64'), scriptUri: pathToFileURL(script).href, styleUri: pathToFileURL(style).href }));

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  const problems: string[] = [];
  try {
    const page = await browser.newPage({ viewport: o.viewport ?? { width: 1400, height: 900 }, deviceScaleFactor: o.deviceScaleFactor ?? 1 });
    page.on('console', (m) => {
      if (m.type() === 'warning' || m.type() === 'error') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.addInitScript(pageInit, THEMES[o.theme ?? 'dark']);
    await page.goto(pathToFileURL(html).href);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__posted.some((m) => m.type === 'ready'), undefined, { timeout: 10_000 });

    await page.evaluate((m) => (globalThis as unknown as PageGlobals).postMessage(m, '*'), init);
    await page.waitForFunction(
      () => {
        const d = (globalThis as unknown as PageGlobals).document;
        return d.querySelectorAll('.chart canvas').length > 0 && !!d.querySelector('.status')?.textContent?.startsWith('Updated');
      },
      undefined,
      { timeout: 20_000 },
    );
    const charts = await page.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('.chart').length);

    const stamps = await page.evaluate(feed, appends);
    // An init closes the panel's measuring period: it posts frameStats for the frames so far.
    await page.evaluate((m) => (globalThis as unknown as PageGlobals).postMessage(m, '*'), { ...init, series: [], t: [], columns: [] });
    const stats = (await page.waitForFunction(
      () => (globalThis as unknown as PageGlobals).__posted.filter((m) => m.type === 'frameStats').pop(),
      undefined,
      { timeout: 10_000 },
    ).then((h) => h.jsonValue())) as Extract<FromPanel, { type: 'frameStats' }>;
    const cspViolations = await page.evaluate(() => (globalThis as unknown as PageGlobals).__csp);

    const intervals = stamps.slice(1).map((s, i) => s - stamps[i]).sort((a, b) => a - b);
    return {
      p50Ms: stats.p50Ms,
      p95Ms: stats.p95Ms,
      frames: stats.frames,
      frameIntervalP95Ms: Math.round(percentile(intervals, 0.95) * 100) / 100,
      charts,
      pointsPerSeries: init.t.length,
      cspViolations,
      problems,
    };
  } finally {
    await browser.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [series, minutes, appends] = process.argv.slice(2).map(Number);
  measureRender({ series: series || undefined, minutes: minutes || undefined, appends: appends || undefined }).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
