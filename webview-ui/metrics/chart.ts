// One uPlot chart of the metrics panel. It holds no state of the app's: the points (the series
// store), the theme and the window shown are handed to it.
import uPlot from 'uplot';
import type { SeriesInfoMessage } from '../../src/shared/metricsProtocol';
import { el, setText, timeFormat } from './dom';
import { chartTitle, formatTick, formatValue, seriesLabel, type SeriesStore } from './series';
import { styleFor, type Theme } from './theme';

const CHART_HEIGHT = 140;

/** What a new chart is drawn with and where. */
interface ChartOptions {
  readonly theme: Theme;
  /** The points of every series; the chart reads its own columns from it on each draw. */
  readonly store: SeriesStore;
  /** The element the chart is appended to. */
  readonly host: HTMLElement;
  /** A document-unique id for the chart's title (aria-labelledby). */
  readonly titleId: string;
  /** The window shown, for the plot's accessible description. */
  readonly windowMinutes: number;
}

/** One uPlot chart: a group's metric family in one unit, one line per series, with a text legend. */
export class Chart {
  readonly el: HTMLElement;
  private readonly plotEl: HTMLDivElement;
  private readonly legendHead: HTMLElement;
  private readonly values: HTMLElement[] = [];
  private readonly plot: uPlot;
  private readonly data: uPlot.AlignedData;
  private hoverIdx: number | null = null;
  private readonly title: string;
  private readonly store: SeriesStore;

  constructor(
    readonly id: string,
    readonly keys: readonly string[],
    private readonly infos: readonly SeriesInfoMessage[],
    { theme, store, host, titleId, windowMinutes }: ChartOptions,
  ) {
    this.store = store;
    const first = infos[0];
    const unit = first.unit;
    this.title = `${chartTitle(first)} (${unit})`;
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
    this.updateAria(windowMinutes);

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

  updateAria(windowMinutes: number): void {
    const n = this.keys.length;
    this.plotEl.setAttribute('aria-label', `${this.title}: line chart of ${n} series over the last ${windowMinutes} minute${windowMinutes === 1 ? '' : 's'}. Values are listed below.`);
  }

  updateLegend(): void {
    const idx = this.hoverIdx;
    const store = this.store;
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
