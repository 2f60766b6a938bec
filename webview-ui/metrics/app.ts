// The metrics panel's state and layout: the series store, the window and pause the user chose (kept
// across reloads in the webview state), the GPU status, the toolbar and sections, and which charts
// exist. Messages from the extension and the toolbar's controls change it; drawing waits for the
// next animation frame (FrameClock).
import { windowMinutesSchema, type FromPanel, type ToPanel, type WindowMinutes } from '../../src/shared/metricsProtocol';
import { Chart } from './chart';
import { el, setText, timeFormat } from './dom';
import { FrameClock } from './frames';
import { chartKey, MAX_CHARTS, SECTIONS, SeriesStore, type Group } from './series';
import { readTheme, type Theme } from './theme';

export interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

type GpuStatus = Extract<ToPanel, { type: 'gpu' }>['gpu'];
interface PanelState {
  windowMinutes: WindowMinutes;
  paused: boolean;
}

interface SectionView {
  readonly group: Group;
  readonly empty: string;
  readonly note: HTMLParagraphElement;
  readonly grid: HTMLDivElement;
}

const WINDOWS: readonly WindowMinutes[] = [1, 5, 15, 60];

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

export class MetricsApp {
  private readonly store = new SeriesStore();
  private readonly state: PanelState;
  /** State from before a reload, re-applied once after the first init when the extension's differs. */
  private restore: PanelState | undefined;
  private gpu: GpuStatus | undefined;
  private theme: Theme = readTheme();
  private initialised = false;
  private chartSeq = 0;

  private readonly charts = new Map<string, Chart>();
  private readonly byPlot = new Map<Element, Chart>();
  private readonly resizer = new ResizeObserver((entries) => {
    for (const e of entries) this.byPlot.get(e.target)?.resize(e.contentRect.width);
  });

  private readonly windowSelect = el(
    'select',
    { attrs: { id: 'window' } },
    ...WINDOWS.map((m) => el('option', { text: `${m} min`, attrs: { value: String(m) } })),
  );
  private readonly pauseButton = el('button', { attrs: { type: 'button', 'aria-pressed': 'false' } });
  private readonly copyButton = el('button', { text: 'Copy snapshot', attrs: { type: 'button', title: 'Copy the metrics of the current window to the clipboard as JSON' } });
  private readonly status = el('span', { className: 'status' });
  private readonly banner = el('div', { className: 'banner', attrs: { role: 'alert' } });
  private readonly sections = new Map<Group, SectionView>();

  private layoutDirty = false;
  private layoutForce = false;
  private dataDirty = false;
  private readonly clock = new FrameClock(
    () => this.frame(),
    (m) => this.post(m),
  );

  constructor(
    private readonly vscode: VsCodeApi,
    private readonly root: HTMLElement,
  ) {
    const saved = this.readState();
    this.state = { ...(saved ?? { windowMinutes: 5, paused: false }) };
    this.restore = saved;
    this.banner.hidden = true;
    const toolbar = el(
      'div',
      { className: 'toolbar', attrs: { role: 'toolbar', 'aria-label': 'Metrics' } },
      el('label', { attrs: { for: 'window' }, text: 'Time window' }),
      this.windowSelect,
      this.pauseButton,
      this.copyButton,
      this.status,
    );
    const sectionEls = SECTIONS.map(({ group, title, empty }) => {
      const headingId = `section-${group}`;
      const note = el('p', { className: 'note' });
      const grid = el('div', { className: 'grid' });
      this.sections.set(group, { group, empty, note, grid });
      return el('section', { attrs: { 'aria-labelledby': headingId } }, el('h2', { text: title, attrs: { id: headingId } }), note, grid);
    });
    root.replaceChildren(toolbar, this.banner, ...sectionEls);

    this.windowSelect.addEventListener('change', () => {
      const w = windowMinutesSchema.safeParse(Number(this.windowSelect.value));
      if (!w.success || w.data === this.state.windowMinutes) return;
      this.state.windowMinutes = w.data;
      this.saveState();
      // The extension answers with an init holding the new window's points.
      this.post({ type: 'setWindow', windowMinutes: w.data });
    });
    this.pauseButton.addEventListener('click', () => {
      this.state.paused = !this.state.paused;
      this.saveState();
      this.renderToolbar();
      this.post({ type: 'pause', paused: this.state.paused });
    });
    this.copyButton.addEventListener('click', () => this.post({ type: 'copySnapshot' }));
  }

  /** Shows the toolbar and tells the extension the panel is ready for its init. */
  start(): void {
    this.renderToolbar();
    this.post({ type: 'ready' });
  }

  /** Posts the frame timings so far (called every few seconds). */
  flushStats(): void {
    this.clock.flush();
  }

  /** The theme's colours, read again: the charts are rebuilt only when they actually changed. */
  themeChanged(): void {
    const next = readTheme();
    if (JSON.stringify(next) === JSON.stringify(this.theme)) return;
    this.theme = next;
    this.layoutDirty = this.layoutForce = true;
    this.clock.schedule();
  }

  onMessage(m: ToPanel): void {
    switch (m.type) {
      case 'init': {
        // Frame timings belong to one data set: an init closes the period.
        this.clock.flush();
        this.store.reset(m);
        this.gpu = m.gpu;
        this.state.windowMinutes = m.windowMinutes;
        this.state.paused = m.paused;
        this.initialised = true;
        this.root.setAttribute('aria-busy', 'false');
        this.banner.hidden = true;
        this.layoutDirty = this.layoutForce = true;
        this.clock.schedule();
        if (this.restore) {
          const r = this.restore;
          this.restore = undefined;
          if (r.windowMinutes !== m.windowMinutes) this.post({ type: 'setWindow', windowMinutes: r.windowMinutes });
          if (r.paused !== m.paused) this.post({ type: 'pause', paused: r.paused });
          this.state.windowMinutes = r.windowMinutes;
          this.state.paused = r.paused;
        }
        this.saveState();
        this.renderToolbar();
        return;
      }
      case 'append': {
        // Samples that were in flight when the user paused are dropped; resuming brings a fresh init.
        if (this.state.paused) return;
        const r = this.store.append(m);
        if (r.added.length || r.removed.length) this.layoutDirty = true;
        if (r.point) this.dataDirty = true;
        if (this.layoutDirty || this.dataDirty) this.clock.schedule();
        return;
      }
      case 'gpu':
        this.gpu = m.gpu;
        this.layoutDirty = true;
        this.clock.schedule();
        return;
      case 'error':
        setText(this.banner, m.message);
        this.banner.hidden = false;
        return;
    }
  }

  private post(message: FromPanel): void {
    this.vscode.postMessage(message);
  }

  private readState(): PanelState | undefined {
    const s = this.vscode.getState() as Partial<PanelState> | undefined;
    const w = windowMinutesSchema.safeParse(s?.windowMinutes);
    if (!w.success || typeof s?.paused !== 'boolean') return undefined;
    return { windowMinutes: w.data, paused: s.paused };
  }

  private saveState(): void {
    this.vscode.setState({ windowMinutes: this.state.windowMinutes, paused: this.state.paused } satisfies PanelState);
  }

  private renderToolbar(): void {
    const { state } = this;
    this.windowSelect.value = String(state.windowMinutes);
    setText(this.pauseButton, state.paused ? 'Resume' : 'Pause');
    this.pauseButton.setAttribute('aria-pressed', String(state.paused));
    const last = this.store.lastT;
    setText(this.status, state.paused ? 'Paused' : last !== undefined ? `Updated ${timeFormat.format(last)}` : this.initialised ? 'Waiting for samples…' : 'Connecting…');
  }

  private gpuNote(): string | undefined {
    const gpu = this.gpu;
    if (!gpu) return undefined;
    if (gpu.kind === 'absent') return /^No NVIDIA GPU/i.test(gpu.message) ? gpu.message : `No NVIDIA GPU found: ${gpu.message}`;
    if (gpu.kind === 'error') return `GPU metrics are unavailable: ${gpu.message}`;
    if (gpu.gpus === 0) return 'No NVIDIA GPU found.';
    return undefined;
  }

  /** Which charts there should be, in section order: chart key → its series keys. */
  private wantedCharts(): Map<Group, Map<string, string[]>> {
    const out = new Map<Group, Map<string, string[]>>(SECTIONS.map((s) => [s.group, new Map()]));
    for (const [key, info] of this.store.info) {
      const charts = out.get(info.group)!;
      const ck = chartKey(info);
      const keys = charts.get(ck);
      if (keys) keys.push(key);
      else charts.set(ck, [key]);
    }
    return out;
  }

  /** All drawing happens here, at most once per animation frame; false when nothing changed. */
  private frame(): boolean {
    if (!this.layoutDirty && !this.dataDirty) return false;
    if (this.layoutDirty) {
      this.reconcile(this.layoutForce);
    } else {
      for (const chart of this.charts.values()) chart.draw();
      for (const chart of this.charts.values()) chart.updateLegend();
    }
    this.layoutDirty = this.layoutForce = this.dataDirty = false;
    this.renderToolbar();
    return true;
  }

  /** Creates, rebuilds (series set changed) and removes charts; `force` rebuilds all (theme, init). */
  private reconcile(force: boolean): void {
    const wanted = this.wantedCharts();
    const keep = new Set<string>();
    let count = 0;
    for (const { group } of SECTIONS) {
      const view = this.sections.get(group)!;
      let hidden = 0;
      for (const [ck, keys] of wanted.get(group)!) {
        if (count >= MAX_CHARTS) {
          hidden++;
          continue;
        }
        count++;
        keep.add(ck);
        let chart = this.charts.get(ck);
        if (chart && (force || !sameKeys(chart.keys, keys))) {
          this.removeChart(ck, chart);
          chart = undefined;
        }
        if (!chart) {
          chart = new Chart(
            ck,
            keys,
            keys.map((k) => this.store.info.get(k)!),
            { theme: this.theme, store: this.store, host: view.grid, titleId: `chart-title-${++this.chartSeq}`, windowMinutes: this.state.windowMinutes },
          );
          this.charts.set(ck, chart);
          this.byPlot.set(chart.plotElement, chart);
          this.resizer.observe(chart.plotElement);
        } else {
          chart.updateAria(this.state.windowMinutes);
          chart.draw();
          chart.updateLegend();
        }
        view.grid.append(chart.el); // keeps section order
      }
      // The GPU status says plainly why there are no GPU charts; otherwise an empty section says what it waits for.
      const status = group === 'gpu' ? this.gpuNote() : undefined;
      const empty = wanted.get(group)!.size === 0 ? view.empty : undefined;
      const capped = hidden ? `${hidden} more chart${hidden === 1 ? '' : 's'} not shown (at most ${MAX_CHARTS}).` : undefined;
      const note = [status ?? empty, capped].filter(Boolean).join(' ');
      setText(view.note, note);
      view.note.hidden = !note;
    }
    for (const [ck, chart] of this.charts) if (!keep.has(ck)) this.removeChart(ck, chart);
  }

  private removeChart(ck: string, chart: Chart): void {
    this.resizer.unobserve(chart.plotElement);
    this.byPlot.delete(chart.plotElement);
    chart.destroy();
    this.charts.delete(ck);
  }
}
