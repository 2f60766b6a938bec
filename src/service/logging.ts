// The service's log: JSON lines written by pino (time, level, pid, msg, and fields such as the
// request id), secrets redacted both in fields and in message text, into a file that is rotated by
// size with a bounded number of old files (service.log → service.log.1 → … → service.log.N, the
// oldest dropped). With a terminal, the same lines go to stderr as readable text. `llmstack logs`
// reads them back readable, and follows them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import type { Logger } from '../core/lifecycle';

/** What looks like a secret in a message, and what it becomes: our tokens and webhook secrets, bearer values, API keys. */
const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/\bllmstack_[A-Za-z0-9_-]{16,}/g, '[redacted]'],
  [/\bwhsec_[A-Za-z0-9_-]{16,}/g, '[redacted]'],
  [/\bsk-[A-Za-z0-9_-]{8,}/g, '[redacted]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]'],
  [/\b(api[_-]?key|token|secret|password)=[^\s&]+/gi, '$1=[redacted]'],
];

export function scrub(text: string): string {
  return SECRET_PATTERNS.reduce((out, [p, to]) => out.replace(p, to), text);
}

/** A file written synchronously (a crash loses no line) and rotated past `maxBytes`, keeping `keep` old files. */
class RotatingFile {
  private fd: number;
  private size: number;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
    private readonly keep: number,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.fd = this.open();
    this.size = fs.fstatSync(this.fd).size;
  }

  private open(): number {
    // O_NOFOLLOW: a link put where the log goes is not written through.
    return fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | (fs.constants.O_NOFOLLOW ?? 0), 0o600);
  }

  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    fs.writeSync(this.fd, line);
    this.size += bytes;
  }

  private rotate(): void {
    fs.closeSync(this.fd);
    for (let i = this.keep; i >= 1; i--) {
      const from = i === 1 ? this.file : `${this.file}.${i - 1}`;
      try {
        if (i === this.keep) fs.rmSync(`${this.file}.${i}`, { force: true });
        fs.renameSync(from, `${this.file}.${i}`);
      } catch {
        // not there yet
      }
    }
    if (this.keep < 1) fs.rmSync(this.file, { force: true });
    this.fd = this.open();
    this.size = 0;
  }
}

export interface ServiceLogger extends Logger {
  /** A line with structured fields (a request id, a route, a duration). */
  event(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
}

interface LogOptions {
  readonly alsoStderr?: boolean;
  /** Rotate past this many bytes (default 5 MiB). */
  readonly maxBytes?: number;
  /** Old files kept (default 3): at most (keep + 1) × maxBytes on disk. */
  readonly keep?: number;
  readonly level?: 'debug' | 'info' | 'warn' | 'error';
}

/** Field names whose values never reach the log. */
const REDACTED_FIELDS = ['authorization', 'token', 'secret', 'apiKey', 'key', 'password', '*.authorization', '*.token', '*.secret', '*.apiKey', '*.password', 'headers.cookie'];

/** Readable form of one JSON log line: "2026-12-07T08:00:00.000Z warn message (req 1a2b…)". */
export function readableLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    const { time, level, msg, pid: _pid, hostname: _h, ...rest } = o;
    const extra = Object.keys(rest).length ? ` ${Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}` : '';
    return `${String(time)} ${String(level)} ${String(msg)}${extra}`;
  } catch {
    return line;
  }
}

export function serviceLogger(file: string, o: LogOptions = {}): ServiceLogger {
  const out = new RotatingFile(file, o.maxBytes ?? 5 * 1024 * 1024, o.keep ?? 3);
  const stream = {
    write(line: string) {
      out.write(line);
      if (o.alsoStderr) process.stderr.write(`${readableLine(line.trimEnd())}\n`);
    },
  };
  const p = pino(
    {
      level: o.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_FIELDS, censor: '[redacted]' },
    },
    stream,
  );
  return {
    debug: (m) => p.debug(scrub(m)),
    info: (m) => p.info(scrub(m)),
    warn: (m) => p.warn(scrub(m)),
    error: (m) => p.error(scrub(m)),
    event: (level, m, fields) => p[level](fields, scrub(m)),
  };
}
