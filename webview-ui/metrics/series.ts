// The panel's data side, without DOM or uPlot: which chart a series belongs to, labels and value
// formatting, and the windowed store of points that appends update in place.
import type { SeriesInfoMessage, ToPanel } from '../../src/shared/metricsProtocol';

export type Group = SeriesInfoMessage['group'];
type Unit = SeriesInfoMessage['unit'];
type InitMessage = Extract<ToPanel, { type: 'init' }>;
type AppendMessage = Extract<ToPanel, { type: 'append' }>;

export const SECTIONS: readonly { readonly group: Group; readonly title: string; readonly empty: string }[] = [
  { group: 'host', title: 'Host', empty: 'Waiting for the first host sample…' },
  { group: 'gpu', title: 'GPUs', empty: 'Waiting for the first GPU sample…' },
  { group: 'container', title: 'Containers', empty: 'No running container reports metrics.' },
  { group: 'model', title: 'Models', empty: 'No model runtime reports metrics.' },
];

/** More charts than this are not drawn (a wall of tiny charts helps nobody and costs frames). */
export const MAX_CHARTS = 40;

/** Last name parts that say a direction of one measure: "net.rx" and "net.tx" are one family. */
const SUB_TITLES: Record<string, string> = { rx: 'received', tx: 'sent', read: 'read', write: 'written', in: 'in', out: 'out' };

/** The metric family: the metric without a direction suffix ("net.rx" → "net", "gpu.memory" stays). */
function family(metric: string): string {
  const i = metric.lastIndexOf('.');
  return i > 0 && Object.hasOwn(SUB_TITLES, metric.slice(i + 1)) ? metric.slice(0, i) : metric;
}

function sub(metric: string): string {
  const fam = family(metric);
  return fam === metric ? '' : metric.slice(fam.length + 1);
}

/**
 * Which chart a series goes in. The host is one entity, so its directions share a chart (rx and tx);
 * containers, GPUs and models get one chart per metric with one line per entity, which stays
 * readable with 20 containers.
 */
export function chartKey(s: SeriesInfoMessage): string {
  return `${s.group}\u0000${s.group === 'host' ? family(s.metric) : s.metric}\u0000${s.unit}`;
}

const GROUP_TITLES: Record<Group, string> = { host: 'Host', gpu: 'GPU', container: 'Container', model: 'Model' };
const FAMILY_TITLES: Record<string, string> = {
  cpu: 'CPU',
  memory: 'memory',
  mem: 'memory',
  swap: 'swap',
  net: 'network',
  block: 'block I/O',
  blkio: 'block I/O',
  fs: 'file system',
  util: 'utilization',
  temp: 'temperature',
  temperature: 'temperature',
  power: 'power',
  fan: 'fan',
  tps: 'tokens per second',
  requests: 'requests',
  load: 'load',
  pids: 'processes',
  'gpu.memory': 'GPU memory',
};

export function chartTitle(s: SeriesInfoMessage): string {
  const fam = family(s.metric);
  const famTitle = fam === 'disk' ? (s.unit === 'bytes' ? 'disk usage' : 'disk I/O') : (FAMILY_TITLES[fam] ?? fam);
  const direction = s.group === 'host' ? '' : sub(s.metric);
  return `${GROUP_TITLES[s.group]} ${famTitle}${direction ? ` ${SUB_TITLES[direction]}` : ''}`;
}

/** The line's name in its chart: the entity, or on the host (one entity) the direction ("rx"). */
export function seriesLabel(s: SeriesInfoMessage): string {
  if (s.group === 'host') return sub(s.metric) || s.entity || s.metric;
  return s.entity || s.entityId || s.key;
}

const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

function bytes(v: number): string {
  let i = 0;
  let x = Math.abs(v);
  while (x >= 1024 && i < BINARY.length - 1) {
    x /= 1024;
    i++;
  }
  const digits = i === 0 || x >= 100 ? 0 : 1;
  return `${v < 0 ? '-' : ''}${x.toFixed(digits)} ${BINARY[i]}`;
}

function number(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)} M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(0)} k`;
  if (a >= 100 || Number.isInteger(v)) return v.toFixed(0);
  return v.toFixed(a >= 10 ? 1 : 2);
}

export function formatValue(v: number | null | undefined, unit: Unit): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  switch (unit) {
    case '%':
      return `${v.toFixed(Math.abs(v) < 10 ? 1 : 0)} %`;
    case 'bytes':
      return bytes(v);
    case 'B/s':
      return `${bytes(v)}/s`;
    case '°C':
      return `${v.toFixed(0)} °C`;
    case 'W':
      return `${v.toFixed(Math.abs(v) < 10 ? 1 : 0)} W`;
    case 'tok/s':
      return `${v.toFixed(Math.abs(v) < 100 ? 1 : 0)} tok/s`;
    case 'count':
      return number(v);
  }
}

/** Axis ticks: the same units, shorter. */
export function formatTick(v: number, unit: Unit): string {
  switch (unit) {
    case '%':
      return `${Math.round(v)}%`;
    case 'bytes':
      return bytes(v);
    case 'B/s':
      return `${bytes(v)}/s`;
    case '°C':
      return `${Math.round(v)}°`;
    case 'W':
      return `${number(v)} W`;
    case 'tok/s':
    case 'count':
      return number(v);
  }
}

/**
 * The points of every series on one shared time axis, the latest window only. Arrays are updated in
 * place (push at the end, splice at the front) so charts can hold them without copies.
 */
export class SeriesStore {
  readonly t: number[] = [];
  readonly columns = new Map<string, (number | null)[]>();
  readonly info = new Map<string, SeriesInfoMessage>();
  windowMs = 5 * 60_000;

  reset(m: InitMessage): void {
    this.windowMs = m.windowMinutes * 60_000;
    this.t.length = 0;
    this.columns.clear();
    this.info.clear();
    // A malformed init (columns shorter than t) is padded rather than trusted to line up.
    let last = -Infinity;
    const keep: number[] = [];
    m.t.forEach((t, i) => {
      if (t > last) {
        keep.push(i);
        last = t;
      }
    });
    for (const i of keep) this.t.push(m.t[i]);
    m.series.forEach((s, si) => {
      const src = m.columns[si] ?? [];
      this.info.set(s.key, s);
      this.columns.set(
        s.key,
        keep.map((i) => src[i] ?? null),
      );
    });
    this.trim();
  }

  /** Applies one append; returns the keys whose set changed (added or removed) and whether a point was added. */
  append(m: AppendMessage): { added: string[]; removed: string[]; point: boolean } {
    const removed: string[] = [];
    for (const key of m.removed) {
      if (this.columns.delete(key)) removed.push(key);
      this.info.delete(key);
    }
    const added: string[] = [];
    for (const s of m.added) {
      if (!this.columns.has(s.key)) {
        this.columns.set(s.key, new Array<number | null>(this.t.length).fill(null));
        added.push(s.key);
      }
      this.info.set(s.key, s);
    }
    const last = this.t.length ? this.t[this.t.length - 1] : -Infinity;
    if (!(m.t > last)) return { added, removed, point: false };
    this.t.push(m.t);
    for (const [key, col] of this.columns) {
      const v = m.values[key];
      col.push(v === undefined ? null : v);
    }
    this.trim();
    return { added, removed, point: true };
  }

  /** Drops points older than the window (measured from the latest point). */
  trim(): void {
    const n = this.t.length;
    if (!n) return;
    const cutoff = this.t[n - 1] - this.windowMs;
    let k = 0;
    while (k < n && this.t[k] < cutoff) k++;
    if (!k) return;
    this.t.splice(0, k);
    for (const col of this.columns.values()) col.splice(0, k);
  }

  get lastT(): number | undefined {
    return this.t.length ? this.t[this.t.length - 1] : undefined;
  }

  /** The latest non-null value of a series, searching back a little (a series may skip a sample). */
  lastValue(key: string): number | null {
    const col = this.columns.get(key);
    if (!col) return null;
    for (let i = col.length - 1, stop = Math.max(0, col.length - 5); i >= stop; i--) {
      const v = col[i];
      if (v !== null) return v;
    }
    return null;
  }
}
