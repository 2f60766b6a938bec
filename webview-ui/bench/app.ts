// The benchmark view (runs in the webview): a model's stored runs on this machine as charts over
// time (generation tokens/s and time to first token, one line per model, a second model side by
// side), the runs as a table with a regression flagged where a run is slower than the runs before
// it beyond their noise, and two runs (or the newest of two models) compared figure by figure.
// Charts are uPlot with the metrics panel's theme (VS Code's colours, dashes past six series).
import uPlot from 'uplot';
import type { BenchModelMessage, BenchRunMessage, FromBenchView, ToBenchView } from '../../src/shared/benchProtocol';
import { el, setText } from '../metrics/dom';
import { readTheme, styleFor, type Theme } from '../metrics/theme';

export interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

const CHART_HEIGHT = 160;
const dateFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const fmt = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? '–' : v.toFixed(digits));

interface Figure {
  readonly label: string;
  readonly get: (r: BenchRunMessage) => number | null | undefined;
  /** Higher is better (tokens/s) or lower is (latencies). */
  readonly higherBetter: boolean;
  readonly digits: number;
}

const FIGURES: readonly Figure[] = [
  { label: 'Generation tok/s (tg, p50)', get: (r) => r.genTps, higherBetter: true, digits: 1 },
  { label: 'Prompt tok/s (pp, p50)', get: (r) => r.promptTps, higherBetter: true, digits: 1 },
  { label: 'TTFT p50 (ms)', get: (r) => r.ttftMs, higherBetter: false, digits: 0 },
  { label: 'TTFT p99 (ms)', get: (r) => r.ttftP99Ms, higherBetter: false, digits: 0 },
  { label: 'TPOT p50 (ms)', get: (r) => r.tpotMs, higherBetter: false, digits: 1 },
  { label: 'E2EL p50 (ms)', get: (r) => r.e2elMs, higherBetter: false, digits: 0 },
  { label: 'Total tok/s', get: (r) => r.throughputTps, higherBetter: true, digits: 1 },
  { label: 'CV of the mean tg (%)', get: (r) => r.cvPct, higherBetter: false, digits: 1 },
];

export class BenchApp {
  private models: BenchModelMessage[] = [];
  private selected: string[] = [];
  private concurrency = 1;
  /** Runs ticked for comparison (their row ids), at most two. */
  private ticked: string[] = [];
  private theme: Theme = readTheme();
  private plots: uPlot[] = [];

  private readonly modelA = el('select', { attrs: { id: 'model-a', 'aria-label': 'Model' } });
  private readonly modelB = el('select', { attrs: { id: 'model-b', 'aria-label': 'Compare with' } });
  private readonly levelSelect = el('select', { attrs: { id: 'concurrency', 'aria-label': 'Concurrency' } });
  private readonly refreshButton = el('button', { text: 'Refresh', attrs: { type: 'button' } });
  private readonly banner = el('p', { className: 'bench-banner', attrs: { role: 'status' } });
  private readonly charts = el('div', { className: 'grid' });
  private readonly compare = el('section', { className: 'compare', attrs: { 'aria-label': 'Comparison' } });
  private readonly table = el('section', { className: 'runs', attrs: { 'aria-label': 'Runs' } });

  constructor(
    private readonly vscode: VsCodeApi,
    root: HTMLElement,
  ) {
    const state = vscode.getState() as { concurrency?: number } | undefined;
    if (typeof state?.concurrency === 'number') this.concurrency = state.concurrency;
    const label = (text: string, control: HTMLElement) => el('label', {}, el('span', { text }), control);
    root.replaceChildren(
      el('div', { className: 'toolbar' }, label('Model', this.modelA), label('Compare with', this.modelB), label('Concurrency', this.levelSelect), this.refreshButton),
      this.banner,
      this.charts,
      this.compare,
      this.table,
    );
    root.removeAttribute('aria-busy');
    const select = () => {
      const keys = [this.modelA.value, this.modelB.value].filter((k, i, all) => k && all.indexOf(k) === i);
      if (!keys.length) return;
      this.ticked = [];
      this.post({ type: 'select', keys });
    };
    this.modelA.addEventListener('change', select);
    this.modelB.addEventListener('change', select);
    this.levelSelect.addEventListener('change', () => {
      this.concurrency = Number(this.levelSelect.value);
      this.vscode.setState({ concurrency: this.concurrency });
      this.render();
    });
    this.refreshButton.addEventListener('click', () => this.post({ type: 'refresh' }));
    new ResizeObserver(() => this.resize()).observe(this.charts);
  }

  start(): void {
    this.post({ type: 'ready' });
  }

  private post(m: FromBenchView): void {
    this.vscode.postMessage(m);
  }

  onMessage(m: ToBenchView): void {
    if (m.type === 'error') {
      setText(this.banner, m.message);
      this.banner.className = 'bench-banner error';
      return;
    }
    this.models = m.models;
    this.selected = m.selected.filter((k) => m.models.some((x) => x.key === k));
    if (!this.selected.length && m.models.length) this.selected = [m.models[0].key];
    this.render();
  }

  themeChanged(): void {
    this.theme = readTheme();
    this.render();
  }

  private chosen(): BenchModelMessage[] {
    return this.selected.map((k) => this.models.find((m) => m.key === k)).filter((m): m is BenchModelMessage => !!m);
  }

  private render(): void {
    const options = (s: HTMLSelectElement, none: string | undefined, value: string) => {
      s.replaceChildren(...(none !== undefined ? [el('option', { text: none, attrs: { value: '' } })] : []), ...this.models.map((m) => el('option', { text: `${m.name} · ${m.runtime}`, attrs: { value: m.key } })));
      s.value = value;
    };
    options(this.modelA, undefined, this.selected[0] ?? '');
    options(this.modelB, '— none —', this.selected[1] ?? '');
    const models = this.chosen();
    const levels = [...new Set(models.flatMap((m) => m.runs.map((r) => r.concurrency)))].sort((a, b) => a - b);
    if (levels.length && !levels.includes(this.concurrency)) this.concurrency = levels[0];
    this.levelSelect.replaceChildren(...levels.map((c) => el('option', { text: String(c), attrs: { value: String(c) } })));
    this.levelSelect.value = String(this.concurrency);
    const runsOf = (m: BenchModelMessage) => m.runs.filter((r) => r.concurrency === this.concurrency);

    if (!this.models.length) {
      setText(this.banner, 'No benchmark yet. Run "Benchmark Model…" on a model, or `llmstack bench MODEL`.');
      this.banner.className = 'bench-banner';
    } else {
      const newest = models[0] ? runsOf(models[0])[0] : undefined;
      if (newest?.regression) {
        setText(this.banner, `⚠ The newest run of ${models[0].name} is ${fmt(newest.dropPct)} % slower than the runs before it on this machine, beyond their noise.`);
        this.banner.className = 'bench-banner regression';
      } else {
        setText(this.banner, newest ? `The newest run of ${models[0].name} is within the noise of the runs before it.` : 'No run at this concurrency.');
        this.banner.className = 'bench-banner';
      }
    }
    this.renderCharts(models, runsOf);
    this.renderCompare(models, runsOf);
    this.renderTable(models, runsOf);
  }

  private renderCharts(models: BenchModelMessage[], runsOf: (m: BenchModelMessage) => BenchRunMessage[]): void {
    for (const p of this.plots) p.destroy();
    this.plots = [];
    this.charts.replaceChildren();
    if (!models.length) return;
    const t = [...new Set(models.flatMap((m) => runsOf(m).map((r) => r.ts)))].sort((a, b) => a - b);
    for (const [title, get, unit] of [
      ['Generation speed (tok/s)', (r: BenchRunMessage) => r.genTps, 'tok/s'],
      ['Time to first token (ms)', (r: BenchRunMessage) => r.ttftMs, 'ms'],
    ] as const) {
      const columns = models.map((m) => {
        const byTs = new Map(runsOf(m).map((r) => [r.ts, get(r)]));
        return t.map((ts) => byTs.get(ts) ?? null);
      });
      const plotEl = el('div', { className: 'plot', attrs: { role: 'img', 'aria-label': `${title}: ${models.map((m) => m.name).join(' and ')}, ${t.length} runs` } });
      const legend = el(
        'ul',
        { className: 'legend' },
        ...models.map((m, i) => {
          const swatch = el('span', { className: 'swatch', attrs: { 'aria-hidden': 'true' } });
          const s = styleFor(this.theme, i);
          swatch.style.borderTopColor = s.stroke;
          swatch.style.borderTopStyle = s.dash.length ? 'dashed' : 'solid';
          const last = columns[i].filter((v): v is number => v !== null).at(-1);
          return el('li', {}, swatch, el('span', { className: 'name', text: m.name }), el('span', { className: 'value', text: `${fmt(last, unit === 'ms' ? 0 : 1)} ${unit}` }));
        }),
      );
      const fig = el('figure', { className: 'chart' }, el('figcaption', {}, el('span', { className: 'title', text: title })), plotEl, legend);
      this.charts.append(fig);
      const axis = { stroke: this.theme.fg, font: this.theme.font, grid: { stroke: this.theme.grid, width: 1 }, ticks: { stroke: this.theme.grid, width: 1 } };
      this.plots.push(
        new uPlot(
          {
            width: Math.max(160, plotEl.clientWidth),
            height: CHART_HEIGHT,
            ms: 1,
            legend: { show: false },
            cursor: { drag: { x: false, y: false } },
            scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max !== null && max > 0 ? max * 1.15 : 1] } },
            axes: [{ ...axis }, { ...axis, size: 52 }],
            series: [{}, ...models.map((m, i) => ({ label: m.name, ...styleFor(this.theme, i), width: this.theme.lineWidth + 0.5, spanGaps: true, points: { show: true, size: 7 } }))],
          },
          [t, ...columns] as uPlot.AlignedData,
          plotEl,
        ),
      );
    }
  }

  private rowId(m: BenchModelMessage, r: BenchRunMessage): string {
    return `${m.key}|${r.runId ?? ''}|${r.ts}|${r.concurrency}`;
  }

  private renderCompare(models: BenchModelMessage[], runsOf: (m: BenchModelMessage) => BenchRunMessage[]): void {
    const all = models.flatMap((m) => runsOf(m).map((r) => ({ m, r })));
    const ticked = this.ticked.map((id) => all.find((x) => this.rowId(x.m, x.r) === id)).filter((x): x is { m: BenchModelMessage; r: BenchRunMessage } => !!x);
    // Two runs ticked; else the newest run of each of two models; else the two newest of one.
    const pair = ticked.length === 2 ? ticked : models.length === 2 ? models.map((m) => ({ m, r: runsOf(m)[0] })).filter((x) => x.r) : models[0] ? runsOf(models[0]).slice(0, 2).reverse().map((r) => ({ m: models[0], r })) : [];
    if (pair.length !== 2) {
      this.compare.replaceChildren(el('h2', { text: 'Compare' }), el('p', { className: 'note', text: 'Tick two runs below, or choose a second model, to compare them side by side.' }));
      return;
    }
    const [a, b] = pair;
    const head = (x: { m: BenchModelMessage; r: BenchRunMessage }) => `${x.m.name} · ${dateFormat.format(x.r.ts)}`;
    const rows = FIGURES.map((f) => {
      const va = f.get(a.r);
      const vb = f.get(b.r);
      let delta = '';
      let cls = '';
      if (va !== null && va !== undefined && vb !== null && vb !== undefined && va !== 0) {
        const pct = ((vb - va) / Math.abs(va)) * 100;
        delta = `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %`;
        cls = Math.abs(pct) < 1 ? '' : (pct > 0) === f.higherBetter ? 'better' : 'worse';
      }
      return el('tr', {}, el('th', { text: f.label, attrs: { scope: 'row' } }), el('td', { text: fmt(va, f.digits) }), el('td', { text: fmt(vb, f.digits) }), el('td', { className: cls, text: delta }));
    });
    this.compare.replaceChildren(
      el('h2', { text: 'Compare' }),
      el('table', {}, el('thead', {}, el('tr', {}, el('th', { text: '' }), el('th', { text: head(a) }), el('th', { text: head(b) }), el('th', { text: 'Change' }))), el('tbody', {}, ...rows)),
    );
  }

  private renderTable(models: BenchModelMessage[], runsOf: (m: BenchModelMessage) => BenchRunMessage[]): void {
    const sections = models.map((m) => {
      const rows = runsOf(m).map((r) => {
        const id = this.rowId(m, r);
        const box = el('input', { attrs: { type: 'checkbox', 'aria-label': `Compare the run of ${dateFormat.format(r.ts)}` } });
        box.checked = this.ticked.includes(id);
        box.addEventListener('change', () => {
          this.ticked = box.checked ? [...this.ticked.filter((x) => x !== id), id].slice(-2) : this.ticked.filter((x) => x !== id);
          this.render();
        });
        return el(
          'tr',
          { className: r.regression ? 'regression' : '' },
          el('td', {}, box),
          el('td', { text: dateFormat.format(r.ts) }),
          el('td', { text: r.promptSet }),
          el('td', { text: fmt(r.genTps) }),
          el('td', { text: fmt(r.promptTps) }),
          el('td', { text: `${fmt(r.ttftMs, 0)} / ${fmt(r.ttftP99Ms, 0)}` }),
          el('td', { text: fmt(r.cvPct) }),
          el('td', { className: 'flag', text: r.regression ? `slower by ${fmt(r.dropPct)} %` : '' }),
          el('td', { className: 'machine', text: r.hardware, attrs: { title: r.hardware } }),
        );
      });
      return el(
        'div',
        {},
        el('h2', { text: `${m.name} · ${m.runtime}` }),
        rows.length
          ? el('table', {}, el('thead', {}, el('tr', {}, ...['', 'When', 'Prompt set', 'tg tok/s', 'pp tok/s', 'TTFT p50 / p99 ms', 'CV %', '', 'Machine'].map((h) => el('th', { text: h })))), el('tbody', {}, ...rows))
          : el('p', { className: 'note', text: `No run at concurrency ${this.concurrency}.` }),
      );
    });
    this.table.replaceChildren(...sections);
  }

  private resize(): void {
    for (const p of this.plots) {
      const w = Math.max(160, Math.floor((p.root.parentElement?.clientWidth ?? 320) - 2));
      if (w !== p.width) p.setSize({ width: w, height: CHART_HEIGHT });
    }
  }
}
