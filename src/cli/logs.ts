// `llmstack logs`: the service's JSON log lines shown readable (or as they are with --json), the
// last N of them, only those at or above a level, and with --follow the new ones as they are
// written: woken by the file system (no polling), across a rotation (the file is opened again from
// its start when it was moved aside or shrank).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readableLine } from '../service/logging';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

interface LogsOptions {
  readonly lines: number;
  readonly follow?: boolean;
  readonly raw?: boolean;
  readonly level?: Level;
}

/** Whether a line is at or above `level` (lines that are not JSON always pass). */
function atLeast(line: string, level: Level | undefined): boolean {
  if (!level || !line.startsWith('{')) return true;
  const m = /"level":"(\w+)"/.exec(line);
  const i = LEVELS.indexOf((m?.[1] ?? 'info') as Level);
  return i < 0 || i >= LEVELS.indexOf(level);
}

/** The last `max` bytes of a file (at most 1 MiB), from its size now; undefined when it is not there. */
function tail(file: string): { text: string; size: number; ino: number } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    const len = Math.min(st.size, 1024 * 1024);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, st.size - len);
    return { text: buf.toString('utf8'), size: st.size, ino: st.ino };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes the log's last lines with `write`; with `follow`, goes on until `signal` aborts. Returns
 * false when there is no log yet (and no follow to wait for one).
 */
export async function showLogs(file: string, o: LogsOptions, write: (line: string) => void, signal?: AbortSignal): Promise<boolean> {
  const show = (line: string) => {
    if (line && atLeast(line, o.level)) write(o.raw ? line : readableLine(line));
  };
  const first = tail(file);
  if (!first && !o.follow) return false;
  if (first) for (const l of first.text.split('\n').filter((l) => l && atLeast(l, o.level)).slice(-Math.max(1, o.lines))) show(l);
  if (!o.follow) return true;
  let offset = first?.size ?? 0;
  let ino = first?.ino;
  let partial = '';
  const readNew = () => {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return; // between a rotation's rename and the new file
    }
    if (st.ino !== ino || st.size < offset) {
      ino = st.ino;
      offset = 0;
      partial = '';
    }
    if (st.size <= offset) return;
    const fd = fs.openSync(file, 'r');
    try {
      // At most 1 MiB at a time; a bigger burst is read over the next wake-ups.
      const len = Math.min(st.size - offset, 1024 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, offset);
      offset += len;
      const lines = (partial + buf.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(show);
      if (offset < st.size) setImmediate(readNew);
    } finally {
      fs.closeSync(fd);
    }
  };
  // The folder is watched, not the file: a rotation replaces the file.
  const watcher = fs.watch(path.dirname(file), (_event, name) => {
    if (!name || name === path.basename(file)) readNew();
  });
  readNew();
  await new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  watcher.close();
  return true;
}

export { LEVELS as LOG_LEVELS };
