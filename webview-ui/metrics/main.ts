// The metrics panel app (runs in the webview): sections of uPlot charts fed by init/append messages
// from the extension, a toolbar (window, pause, copy snapshot), VS Code theme colours, and frame
// timing reported back as frameStats. Every incoming message is validated with the shared schema.
import './zodConfig';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import {
  parseMessage,
  toPanelSchema,
  windowMinutesSchema,
  type FromPanel,
  type SeriesInfoMessage,
  type ToPanel,
  type WindowMinutes,
} from '../../src/shared/metricsProtocol';
import { chartKey, chartTitle, formatTick, formatValue, MAX_CHARTS, SECTIONS, SeriesStore, seriesLabel, type Group } from './series';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type GpuStatus = Extract<ToPanel, { type: 'gpu' }>['gpu'];
interface PanelState {
  windowMinutes: WindowMinutes;
  paused: boolean;
}

const vscode = acquireVsCodeApi();
const STATS_INTERVAL_MS = 10_000;
const CHART_HEIGHT = 140;
const WINDOWS: readonly WindowMinutes[] = [1, 5, 15, 60];

function post(message: FromPanel): void {
  vscode.postMessage(message);
}

function readState(): PanelState | undefined {
  const s = vscode.getState() as Partial<PanelState> | undefined;
  const w = windowMinutesSchema.safeParse(s?.windowMinutes);
  if (!w.success || typeof s?.paused !== 'boolean') return undefined;
  return { windowMinutes: w.data, paused: s.paused };
}

// ---------------------------------------------------------------- theme

interface Theme {
  readonly fg: string;
  readonly muted: string;
  readonly grid: string;
  readonly palette: readonly string[];
  readonly font: string;
  readonly lineWidth: number;
  readonly highContrast: boolean;
}

const PALETTE_VARS = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];
const PALETTE_FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];
/** Beyond six series colours repeat with another dash pattern, so lines stay apart without colour too. */
const DASHES: readonly number[][] = [[], [6, 3], [2, 2], [10, 3, 2, 3]];

function readTheme(): Theme {
  const cs = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => cs.getPropertyValue(name).trim() || fallback;
  const highContrast = document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
  const fg = v('--vscode-editor-foreground', v('--vscode-foreground', '#cccccc'));
  return {
    fg,
    muted: v('--vscode-descriptionForeground', fg),
    grid: highContrast ? v('--vscode-contrastBorder', fg) : v('--vscode-panel-border', 'rgba(128,128,128,0.35)'),
    palette: PALETTE_VARS.map((name, i) => v(name, PALETTE_FALLBACK[i])),
    font: `11px ${v('--vscode-font-family', 'system-ui, sans-serif')}`,
    lineWidth: highContrast ? 2 : 1.5,
    highContrast,
  };
}

function styleFor(theme: Theme, i: number): { stroke: string; dash: number[] } {
  const n = theme.palette.length;
  return { stroke: theme.palette[i % n], dash: DASHES[Math.floor(i / n) % DASHES.length] };
}

// ---------------------------------------------------------------- DOM helpers

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; text?: string; attrs?: Record<string, string> } = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.className) e.className = props.className;
  if (props.text !== undefined) e.textContent = props.text;
  for (const [k, val] of Object.entries(props.attrs ?? {})) e.setAttribute(k, val);
  e.append(...children);
  return e;
}

function setText(e: HTMLElement, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

// ---------------------------------------------------------------- charts

let chartSeq = 0;

/** One uPlot chart: a group's metric family in one unit, one line per series, with a text legend. */
class Chart {
  readonly el: HTMLElement;
  private readonly plotEl: HTMLDivElement;
  private readonly legendHead: HTMLElement;
  private readonly values: HTMLElement[] = [];
  private readonly plot: uPlot;
  private readonly data: uPlot.AlignedData;
  private hoverIdx: number | null = null;
  private readonly title: string;

  constructor(
    readonly id: string,
    readonly keys: readonly string[],
    private readonly infos: readonly SeriesInfoMessage[],
    theme: Theme,
    host: HTMLElement,
  ) {
    const first = infos[0];
    const unit = first.unit;
    this.title = `${chartTitle(first)} (${unit})`;
    const titleId = `chart-title-${++chartSeq}`;
    this.plotEl = el('div', { className: 'plot', attrs: { role: 'img' } });
    this.legendHead = el('span', { className: 'legend-head', text: 'Latest' });
    const legend = el('ul', { className: 'legend', attrs: { 'aria-label': `${this.title}: values` } });
    infos.forEach((s, i) => {
      const { stroke, dash } = styleFor(theme, i);
      const swatch = el('span', { className: 'swatch', attrs: { 'aria-hidden': 'true' } });
      swatch.style.borderTopColor = stroke;
      swatch.style.borderTopStyle = dash.length ? 'dashed' : 'solid';
      const value = el('span', { className: 'value', text: '–' });
      this.values.push(value);
      legend.append(el('li', {}, swatch, el('span', { className: 'name', text: seriesLabel(s), attrs: { title: s.entity || s.key } }), value));
    });
    this.el = el(
      'figure',
      { className: 'chart', attrs: { 'aria-labelledby': titleId } },
      el('figcaption', {}, el('span', { className: 'title', text: this.title, attrs: { id: titleId } }), this.legendHead),
      this.plotEl,
      legend,
    );
    host.append(this.el);
    this.data = [store.t, ...keys.map((k) => store.columns.get(k) ?? [])] as uPlot.AlignedData;
    this.updateAria();

    const axis = {
      stroke: theme.fg,
      font: theme.font,
      // High contrast draws the grid in the contrast border colour: dashed, so lines stay apart from it.
      grid: { stroke: theme.grid, width: 1, dash: theme.highContrast ? [2, 4] : [] },
      ticks: { stroke: theme.grid, width: 1 },
    };
    this.plot = new uPlot(
      {
        width: Math.max(120, this.plotEl.clientWidth),
        height: CHART_HEIGHT,
        ms: 1,
        legend: { show: false },
        cursor: { sync: { key: 'llmstack-metrics' }, drag: { x: false, y: false }, points: { size: 5 } },
        scales: {
          x: {
            time: true,
            range: () => {
              const last = store.lastT ?? Date.now();
              return [last - store.windowMs, last];
            },
          },
          y: {
            range: (_u, _min, max) => {
              const top = max !== null && Number.isFinite(max) && max > 0 ? max : 0;
              if (unit === '%') return [0, Math.max(100, top * 1.05)];
              return [0, top > 0 ? top * 1.1 : 1];
            },
          },
        },
        axes: [
          { ...axis, size: 28 },
          {
            ...axis,
            values: (_u, splits) => splits.map((v) => formatTick(v, unit)),
            // Wide enough for the longest tick label ("38.1 MiB/s") at the 11px axis font.
            size: (_u, values) => Math.ceil(20 + 6.6 * (values ?? []).reduce((m, v) => Math.max(m, String(v).length), 4)),
          },
        ],
        series: [
          {},
          ...infos.map((s, i) => {
            const { stroke, dash } = styleFor(theme, i);
            return { label: seriesLabel(s), stroke, dash, width: theme.lineWidth, spanGaps: false };
          }),
        ],
        hooks: {
          setCursor: [
            (u: uPlot) => {
              const idx = u.cursor.idx ?? null;
              if (idx !== this.hoverIdx) {
                this.hoverIdx = idx;
                this.updateLegend();
              }
            },
          ],
        },
      },
      this.data,
      this.plotEl,
    );
    this.updateLegend();
  }

  /**
   * Redraws at once (batch skips uPlot's microtask, so the frame timing includes the drawing). The
   * legend text is written in a second pass over all charts: text writes between canvas draws would
   * make each chart's layout reads wait for a fresh layout.
   */
  draw(): void {
    this.plot.batch(() => this.plot.setData(this.data));
  }

  resize(width: number): void {
    const w = Math.max(120, Math.floor(width));
    if (w !== this.plot.width) this.plot.setSize({ width: w, height: CHART_HEIGHT });
  }

  updateAria(): void {
    const n = this.keys.length;
    this.plotEl.setAttribute('aria-label', `${this.title}: line chart of ${n} series over the last ${state.windowMinutes} minute${state.windowMinutes === 1 ? '' : 's'}. Values are listed below.`);
  }

  updateLegend(): void {
    const idx = this.hoverIdx;
    setText(this.legendHead, idx === null ? 'Latest' : `At ${timeFormat.format(store.t[idx] ?? 0)}`);
    this.keys.forEach((key, i) => {
      const info = this.infos[i];
      const v = idx === null ? store.lastValue(key) : (store.columns.get(key)?.[idx] ?? null);
      const text = info.max !== undefined && info.unit !== '%' && v !== null ? `${formatValue(v, info.unit)} / ${formatValue(info.max, info.unit)}` : formatValue(v, info.unit);
      setText(this.values[i], text);
    });
  }

  get plotElement(): HTMLElement {
    return this.plotEl;
  }

  destroy(): void {
    this.plot.destroy();
    this.el.remove();
  }
}

// ---------------------------------------------------------------- app state

const store = new SeriesStore();
const saved = readState();
const state: PanelState = { ...(saved ?? { windowMinutes: 5, paused: false }) };
/** State from before a reload, re-applied once after the first init when the extension's differs. */
let restore: PanelState | undefined = saved;
let gpu: GpuStatus | undefined;
let theme = readTheme();
let initialised = false;

const charts = new Map<string, Chart>();
const byPlot = new Map<Element, Chart>();
const resizer = new ResizeObserver((entries) => {
  for (const e of entries) byPlot.get(e.target)?.resize(e.contentRect.width);
});

// ---------------------------------------------------------------- layout

const app = document.getElementById('app') ?? document.body.appendChild(el('main', { attrs: { id: 'app' } }));
const windowSelect = el(
  'select',
  { attrs: { id: 'window' } },
  ...WINDOWS.map((m) => el('option', { text: `${m} min`, attrs: { value: String(m) } })),
);
const pauseButton = el('button', { attrs: { type: 'button', 'aria-pressed': 'false' } });
const copyButton = el('button', { text: 'Copy snapshot', attrs: { type: 'button', title: 'Copy the metrics of the current window to the clipboard as JSON' } });
const status = el('span', { className: 'status' });
const banner = el('div', { className: 'banner', attrs: { role: 'alert' } });
banner.hidden = true;

const toolbar = el(
  'div',
  { className: 'toolbar', attrs: { role: 'toolbar', 'aria-label': 'Metrics' } },
  el('label', { attrs: { for: 'window' }, text: 'Time window' }),
  windowSelect,
  pauseButton,
  copyButton,
  status,
);

interface SectionView {
  readonly group: Group;
  readonly empty: string;
  readonly note: HTMLParagraphElement;
  readonly grid: HTMLDivElement;
}
const sections = new Map<Group, SectionView>();
const sectionEls = SECTIONS.map(({ group, title, empty }) => {
  const headingId = `section-${group}`;
  const note = el('p', { className: 'note' });
  const grid = el('div', { className: 'grid' });
  sections.set(group, { group, empty, note, grid });
  return el('section', { attrs: { 'aria-labelledby': headingId } }, el('h2', { text: title, attrs: { id: headingId } }), note, grid);
});
app.replaceChildren(toolbar, banner, ...sectionEls);

function renderToolbar(): void {
  windowSelect.value = String(state.windowMinutes);
  setText(pauseButton, state.paused ? 'Resume' : 'Pause');
  pauseButton.setAttribute('aria-pressed', String(state.paused));
  const last = store.lastT;
  setText(status, state.paused ? 'Paused' : last !== undefined ? `Updated ${timeFormat.format(last)}` : initialised ? 'Waiting for samples…' : 'Connecting…');
}

function saveState(): void {
  vscode.setState({ windowMinutes: state.windowMinutes, paused: state.paused } satisfies PanelState);
}

function gpuNote(): string | undefined {
  if (!gpu) return undefined;
  if (gpu.kind === 'absent') return /^No NVIDIA GPU/i.test(gpu.message) ? gpu.message : `No NVIDIA GPU found: ${gpu.message}`;
  if (gpu.kind === 'error') return `GPU metrics are unavailable: ${gpu.message}`;
  if (gpu.gpus === 0) return 'No NVIDIA GPU found.';
  return undefined;
}

/** Which charts there should be, in section order: chart key → its series keys. */
function wantedCharts(): Map<Group, Map<string, string[]>> {
  const out = new Map<Group, Map<string, string[]>>(SECTIONS.map((s) => [s.group, new Map()]));
  for (const [key, info] of store.info) {
    const charts = out.get(info.group)!;
    const ck = chartKey(info);
    const keys = charts.get(ck);
    if (keys) keys.push(key);
    else charts.set(ck, [key]);
  }
  return out;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** Creates, rebuilds (series set changed) and removes charts; `force` rebuilds all (theme, init). */
function reconcile(force: boolean): void {
  const wanted = wantedCharts();
  const keep = new Set<string>();
  let count = 0;
  for (const { group } of SECTIONS) {
    const view = sections.get(group)!;
    let hidden = 0;
    for (const [ck, keys] of wanted.get(group)!) {
      if (count >= MAX_CHARTS) {
        hidden++;
        continue;
      }
      count++;
      keep.add(ck);
      let chart = charts.get(ck);
      if (chart && (force || !sameKeys(chart.keys, keys))) {
        removeChart(ck, chart);
        chart = undefined;
      }
      if (!chart) {
        chart = new Chart(ck, keys, keys.map((k) => store.info.get(k)!), theme, view.grid);
        charts.set(ck, chart);
        byPlot.set(chart.plotElement, chart);
        resizer.observe(chart.plotElement);
      } else {
        chart.updateAria();
        chart.draw();
        chart.updateLegend();
      }
      view.grid.append(chart.el); // keeps section order
    }
    // The GPU status says plainly why there are no GPU charts; otherwise an empty section says what it waits for.
    const status = group === 'gpu' ? gpuNote() : undefined;
    const empty = wanted.get(group)!.size === 0 ? view.empty : undefined;
    const capped = hidden ? `${hidden} more chart${hidden === 1 ? '' : 's'} not shown (at most ${MAX_CHARTS}).` : undefined;
    const note = [status ?? empty, capped].filter(Boolean).join(' ');
    setText(view.note, note);
    view.note.hidden = !note;
  }
  for (const [ck, chart] of charts) if (!keep.has(ck)) removeChart(ck, chart);
}

function removeChart(ck: string, chart: Chart): void {
  resizer.unobserve(chart.plotElement);
  byPlot.delete(chart.plotElement);
  chart.destroy();
  charts.delete(ck);
}

// ---------------------------------------------------------------- frames

let layoutDirty = false;
let layoutForce = false;
let dataDirty = false;
let frameRequested = false;
const frameTimes: number[] = [];

function schedule(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(frame);
}

/** All drawing happens here, at most once per animation frame; its duration is what frameStats report. */
function frame(): void {
  frameRequested = false;
  if (!layoutDirty && !dataDirty) return;
  const t0 = performance.now();
  if (layoutDirty) {
    reconcile(layoutForce);
  } else {
    for (const chart of charts.values()) chart.draw();
    for (const chart of charts.values()) chart.updateLegend();
  }
  layoutDirty = layoutForce = dataDirty = false;
  renderToolbar();
  // uPlot draws a new chart in a microtask; ours is queued after it, so the time includes it.
  queueMicrotask(() => frameTimes.push(performance.now() - t0));
}

function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return Math.round(sorted[i] * 100) / 100;
}

function flushStats(): void {
  if (!frameTimes.length) return;
  const sorted = [...frameTimes].sort((a, b) => a - b);
  frameTimes.length = 0;
  post({ type: 'frameStats', frames: sorted.length, p50Ms: percentile(sorted, 0.5), p95Ms: percentile(sorted, 0.95) });
}
setInterval(flushStats, STATS_INTERVAL_MS);

// ---------------------------------------------------------------- messages

function onMessage(m: ToPanel): void {
  switch (m.type) {
    case 'init': {
      // Frame timings belong to one data set: an init closes the period.
      flushStats();
      store.reset(m);
      gpu = m.gpu;
      state.windowMinutes = m.windowMinutes;
      state.paused = m.paused;
      initialised = true;
      app.setAttribute('aria-busy', 'false');
      banner.hidden = true;
      layoutDirty = layoutForce = true;
      schedule();
      if (restore) {
        const r = restore;
        restore = undefined;
        if (r.windowMinutes !== m.windowMinutes) post({ type: 'setWindow', windowMinutes: r.windowMinutes });
        if (r.paused !== m.paused) post({ type: 'pause', paused: r.paused });
        state.windowMinutes = r.windowMinutes;
        state.paused = r.paused;
      }
      saveState();
      renderToolbar();
      return;
    }
    case 'append': {
      // Samples that were in flight when the user paused are dropped; resuming brings a fresh init.
      if (state.paused) return;
      const r = store.append(m);
      if (r.added.length || r.removed.length) layoutDirty = true;
      if (r.point) dataDirty = true;
      if (layoutDirty || dataDirty) schedule();
      return;
    }
    case 'gpu':
      gpu = m.gpu;
      layoutDirty = true;
      schedule();
      return;
    case 'error':
      setText(banner, m.message);
      banner.hidden = false;
      return;
  }
}

window.addEventListener('message', (event: MessageEvent) => {
  let r: ReturnType<typeof parseMessage<typeof toPanelSchema>>;
  try {
    r = parseMessage(toPanelSchema, event.data);
  } catch (e) {
    r = { ok: false, reason: String(e) };
  }
  if (!r.ok) {
    console.warn(`[LLM Stack metrics] ignored a message: ${r.reason}`);
    return;
  }
  onMessage(r.message);
});

windowSelect.addEventListener('change', () => {
  const w = windowMinutesSchema.safeParse(Number(windowSelect.value));
  if (!w.success || w.data === state.windowMinutes) return;
  state.windowMinutes = w.data;
  saveState();
  // The extension answers with an init holding the new window's points.
  post({ type: 'setWindow', windowMinutes: w.data });
});

pauseButton.addEventListener('click', () => {
  state.paused = !state.paused;
  saveState();
  renderToolbar();
  post({ type: 'pause', paused: state.paused });
});

copyButton.addEventListener('click', () => post({ type: 'copySnapshot' }));

// On a theme change VS Code sets body classes (vscode-light/-dark/-high-contrast[-light]) and data
// attributes, and rewrites the CSS variables in the html element's style. Charts draw on canvas, so
// they are rebuilt with the colours read again (only when those actually changed).
const themeObserver = new MutationObserver(() => {
  const next = readTheme();
  if (JSON.stringify(next) === JSON.stringify(theme)) return;
  theme = next;
  layoutDirty = layoutForce = true;
  schedule();
});
themeObserver.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind', 'data-vscode-theme-id', 'data-vscode-theme-name'] });
themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });

renderToolbar();
post({ type: 'ready' });
