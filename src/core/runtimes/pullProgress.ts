// Turns a runtime's pull progress lines into what a person wants to read: bytes done of total,
// speed over the last seconds, and time left. Bytes already on disk when a pull resumes count
// towards "done" but not towards the speed.
import type { PullUpdate } from './runtime';

export interface PullSnapshot {
  readonly status: string;
  readonly completed: number;
  readonly total: number;
  /** 0..1 across every layer seen so far; undefined before the first sized line. */
  readonly fraction?: number;
  readonly bytesPerSecond?: number;
  readonly etaSeconds?: number;
  /** "412 MB of 1.0 GB · 38 MB/s · 15 s left" */
  readonly message: string;
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '? B';
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  // The unit is chosen on the value as it will be printed, so 999,999 B reads "1.00 MB", not "1000 kB".
  const shown = (x: number) => Number(x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  while (shown(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 99.95 ? v.toFixed(0) : v >= 9.995 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`;
}

export function formatSeconds(seconds: number): string {
  // Rounded before it is split, so 119.6 s reads "2 min 0 s", never "1 min 60 s".
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const WINDOW_MS = 3000;

export class PullProgressTracker {
  private readonly layers = new Map<string, { completed: number; total: number }>();
  private readonly samples: { t: number; bytes: number }[] = [];
  private transferred = 0;
  private status = 'starting';

  constructor(private readonly now: () => number = () => performance.now()) {}

  update(u: PullUpdate): PullSnapshot {
    if (u.status) this.status = u.status;
    if (u.total !== undefined && Number.isFinite(u.total) && u.total > 0) {
      const key = u.digest ?? '';
      const prev = this.layers.get(key);
      // A malformed line (negative, NaN) must not make the bar run backwards or print NaN.
      const raw = u.completed ?? 0;
      const completed = Math.min(Number.isFinite(raw) ? Math.max(0, raw) : (prev?.completed ?? 0), u.total);
      // The first line of a resumed layer already counts the bytes on disk: they were not transferred now.
      if (prev) this.transferred += Math.max(0, completed - prev.completed);
      this.layers.set(key, { completed, total: u.total });
    }
    const t = this.now();
    this.samples.push({ t, bytes: this.transferred });
    while (this.samples.length > 2 && t - this.samples[1].t >= WINDOW_MS) this.samples.shift();
    return this.snapshot();
  }

  snapshot(): PullSnapshot {
    let completed = 0;
    let total = 0;
    for (const l of this.layers.values()) {
      completed += l.completed;
      total += l.total;
    }
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = first && last ? (last.t - first.t) / 1000 : 0;
    const bytesPerSecond = dt >= 0.2 ? (last.bytes - first.bytes) / dt : undefined;
    const left = total - completed;
    const etaSeconds = bytesPerSecond && bytesPerSecond > 0 && total ? left / bytesPerSecond : undefined;
    const parts = [total ? `${formatBytes(completed)} of ${formatBytes(total)}` : this.status];
    if (bytesPerSecond !== undefined && total && left > 0) parts.push(`${formatBytes(Math.round(bytesPerSecond))}/s`);
    if (etaSeconds !== undefined && left > 0) parts.push(`${formatSeconds(etaSeconds)} left`);
    if (total && left === 0 && this.status) parts.push(this.status);
    return { status: this.status, completed, total, fraction: total ? completed / total : undefined, bytesPerSecond, etaSeconds, message: parts.join(' · ') };
  }
}
