// Bounded history: fixed-capacity (time, value) rings in typed arrays, and a store answering the panel's windows.
import type { SeriesInfo } from './types';

/** A read-only range of a ring, oldest point first; valid until the ring is pushed to again. */
interface RingView {
  readonly length: number;
  timeAt(i: number): number;
  valueAt(i: number): number;
  toArrays(): { t: Float64Array; v: Float64Array };
}

/**
 * Fixed capacity, allocated once: pushing past it overwrites the oldest point, so an hour of
 * sampling costs no more memory than a minute once the ring is full.
 */
export class Ring {
  readonly capacity: number;
  private readonly ts: Float64Array;
  private readonly vs: Float64Array;
  /** Index of the oldest point. */
  private start = 0;
  private count = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.ts = new Float64Array(capacity);
    this.vs = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  get last(): { t: number; v: number } | undefined {
    if (this.count === 0) return undefined;
    const i = (this.start + this.count - 1) % this.capacity;
    return { t: this.ts[i], v: this.vs[i] };
  }

  /**
   * Appends a point. Time must not go backwards (since() relies on order): a point older than the
   * last is dropped and one at the same time replaces the last value.
   */
  push(t: number, v: number): boolean {
    if (!Number.isFinite(t) || !Number.isFinite(v)) return false;
    if (this.count > 0) {
      const lastIndex = (this.start + this.count - 1) % this.capacity;
      const lastT = this.ts[lastIndex];
      if (t < lastT) return false;
      if (t === lastT) {
        this.vs[lastIndex] = v;
        return true;
      }
    }
    if (this.count < this.capacity) {
      const i = (this.start + this.count) % this.capacity;
      this.ts[i] = t;
      this.vs[i] = v;
      this.count++;
    } else {
      this.ts[this.start] = t;
      this.vs[this.start] = v;
      this.start = (this.start + 1) % this.capacity;
    }
    return true;
  }

  timeAt(i: number): number {
    return this.ts[(this.start + i) % this.capacity];
  }

  valueAt(i: number): number {
    return this.vs[(this.start + i) % this.capacity];
  }

  /** Index of the first point at or after t (binary search; points are in time order). */
  indexOf(t: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timeAt(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The points at or after t, without copying. */
  since(t: number): RingView {
    const from = this.indexOf(t);
    const length = this.count - from;
    return {
      length,
      timeAt: (i) => this.timeAt(from + i),
      valueAt: (i) => this.valueAt(from + i),
      toArrays: () => this.copy(from, length),
    };
  }

  toArrays(): { t: Float64Array; v: Float64Array } {
    return this.copy(0, this.count);
  }

  clear(): void {
    this.start = 0;
    this.count = 0;
  }

  private copy(from: number, length: number): { t: Float64Array; v: Float64Array } {
    const t = new Float64Array(length);
    const v = new Float64Array(length);
    const a = (this.start + from) % this.capacity;
    const firstPart = Math.min(length, this.capacity - a);
    t.set(this.ts.subarray(a, a + firstPart));
    v.set(this.vs.subarray(a, a + firstPart));
    if (firstPart < length) {
      t.set(this.ts.subarray(0, length - firstPart), firstPart);
      v.set(this.vs.subarray(0, length - firstPart), firstPart);
    }
    return { t, v };
  }
}

/** What the panel's init message carries: series, a shared time axis and one column per series. */
interface SeriesWindow {
  readonly series: SeriesInfo[];
  readonly t: number[];
  readonly columns: (number | null)[][];
}

/** Bounds from the panel protocol (metricsProtocol.ts): longer answers would be rejected there. */
const MAX_WINDOW_POINTS = 100_000;
const MAX_WINDOW_SERIES = 2000;

export class SeriesStore {
  private readonly entries = new Map<string, { info: SeriesInfo; ring: Ring }>();
  private cap: number;

  /** capacity: points kept per series (history minutes × samples per minute). */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`store capacity must be a positive integer, got ${capacity}`);
    this.cap = capacity;
  }

  get capacity(): number {
    return this.cap;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Adds a series, or updates its description (a new memory limit); true when it is new. */
  add(info: SeriesInfo): boolean {
    const e = this.entries.get(info.key);
    if (e) {
      e.info = info;
      return false;
    }
    this.entries.set(info.key, { info, ring: new Ring(this.cap) });
    return true;
  }

  remove(key: string): boolean {
    return this.entries.delete(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  info(key: string): SeriesInfo | undefined {
    return this.entries.get(key)?.info;
  }

  ring(key: string): Ring | undefined {
    return this.entries.get(key)?.ring;
  }

  series(): SeriesInfo[] {
    return [...this.entries.values()].map((e) => e.info);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Appends a point to a known series; false for an unknown key or a point out of order. */
  push(key: string, t: number, v: number): boolean {
    return this.entries.get(key)?.ring.push(t, v) ?? false;
  }

  /** Appends every value of the batch whose series is known. */
  pushBatch(batch: { t: number; values: ReadonlyMap<string, number> }): void {
    for (const [key, v] of batch.values) this.push(key, batch.t, v);
  }

  /** The latest time across all series, undefined when there are no points. */
  get lastTime(): number | undefined {
    let last: number | undefined;
    for (const e of this.entries.values()) {
      const p = e.ring.last;
      if (p && (last === undefined || p.t > last)) last = p.t;
    }
    return last;
  }

  /**
   * The points of the last `ms` milliseconds (before `now`, default the latest point): the sorted
   * union of all series' times, and for each series its value at each time or null.
   */
  window(ms: number, now = this.lastTime): SeriesWindow {
    const entries = [...this.entries.values()].slice(0, MAX_WINDOW_SERIES);
    const series = entries.map((e) => e.info);
    if (now === undefined) return { series, t: [], columns: series.map(() => []) };
    const from = now - ms;
    const views = entries.map((e) => e.ring.since(from));
    const t = mergeTimes(views, now);
    const keep = t.length > MAX_WINDOW_POINTS ? t.length - MAX_WINDOW_POINTS : 0;
    const axis = keep ? t.slice(keep) : t;
    const columns = views.map((view) => {
      const col: (number | null)[] = new Array(axis.length).fill(null);
      let j = 0;
      for (let i = 0; i < view.length; i++) {
        const ti = view.timeAt(i);
        if (ti > now) break;
        while (j < axis.length && axis[j] < ti) j++;
        if (j < axis.length && axis[j] === ti) col[j] = view.valueAt(i);
      }
      return col;
    });
    return { series, t: axis, columns };
  }

  /** Changes the points kept per series, keeping the newest points that still fit. */
  resize(capacity: number): void {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`store capacity must be a positive integer, got ${capacity}`);
    if (capacity === this.cap) return;
    this.cap = capacity;
    for (const e of this.entries.values()) {
      const old = e.ring.toArrays();
      const ring = new Ring(capacity);
      for (let i = Math.max(0, old.t.length - capacity); i < old.t.length; i++) ring.push(old.t[i], old.v[i]);
      e.ring = ring;
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Sorted, de-duplicated union of the views' times up to `now`; most series share every time. */
function mergeTimes(views: RingView[], now: number): number[] {
  let total = 0;
  for (const v of views) total += v.length;
  const all = new Float64Array(total);
  let n = 0;
  for (const v of views) for (let i = 0; i < v.length; i++) all[n++] = v.timeAt(i);
  all.sort();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = all[i];
    if (x > now) break;
    if (out.length === 0 || out[out.length - 1] !== x) out.push(x);
  }
  return out;
}
