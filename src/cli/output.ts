// How the CLI writes: aligned tables and colours on a terminal (NO_COLOR and non-terminals get
// none), a one-line progress bar on stderr, JSON for scripts.

export interface Out {
  readonly json: boolean;
  line(text?: string): void;
  table(headers: readonly string[], rows: readonly (readonly string[])[]): void;
  progress(p: { message?: string; fraction?: number; completed?: number; total?: number }): void;
  done(): void;
  readonly color: { bold(s: string): string; dim(s: string): string; red(s: string): string; green(s: string): string; yellow(s: string): string };
}

export function makeOut(json: boolean, stream: NodeJS.WriteStream = process.stdout, err: NodeJS.WriteStream = process.stderr, env = process.env): Out {
  const useColor = !!stream.isTTY && !('NO_COLOR' in env && env.NO_COLOR !== '') && env.TERM !== 'dumb';
  const wrap = (code: number, reset: number) => (s: string) => (useColor ? `\x1b[${code}m${s}\x1b[${reset}m` : s);
  const color = { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39) };
  let barShown = false;
  return {
    json,
    color,
    line: (text = '') => stream.write(`${text}\n`),
    table(headers, rows) {
      const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? '').length)));
      const fmt = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i] - visible(c).length))).join('  ').trimEnd();
      stream.write(`${color.bold(fmt(headers))}\n`);
      for (const r of rows) stream.write(`${fmt(r)}\n`);
    },
    progress(p) {
      if (!err.isTTY || json) return;
      const width = 24;
      const f = p.fraction;
      const bar = f === undefined ? '' : `[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] ${(f * 100).toFixed(0).padStart(3)}% `;
      const bytes = p.total ? ` ${mb(p.completed ?? 0)}/${mb(p.total)}` : '';
      const text = `${bar}${p.message ?? ''}${bytes}`;
      err.write(`\r\x1b[2K${text.slice(0, (err.columns ?? 80) - 1)}`);
      barShown = true;
    },
    done() {
      if (barShown) err.write('\r\x1b[2K');
      barShown = false;
    },
  };
}

function visible(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

function mb(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** "3 minutes ago" from epoch ms. */
export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return '';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export function size(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${(bytes / 1024 ** 2).toFixed(0)} MB`;
}
