// Shared helpers for the registry tests: temp folders on the real disk, a fake clock, hashes, bounded polling, query plans.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SqlValue } from 'sql.js';
import { RegistryError } from '../../../../src/core/registry/fileStore';
import { Registry, RegistryOptions } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';

/** Temp folders and registries of one describe block, removed / closed after each test. */
export class Sandbox {
  private readonly dirs: string[] = [];
  private readonly open: Registry[] = [];

  dir(): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-registry-'));
    this.dirs.push(d);
    return d;
  }

  /** A registry file path in a new temp folder. */
  file(): string {
    return path.join(this.dir(), 'registry.sqlite');
  }

  async registry(options: RegistryOptions): Promise<Registry> {
    const r = await Registry.open(options);
    this.open.push(r);
    return r;
  }

  async cleanup(): Promise<void> {
    for (const r of this.open.splice(0)) await r.close().catch(() => undefined);
    for (const d of this.dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  }
}

/** A Sandbox cleaned up after each test of the calling describe block. */
export function sandbox(): Sandbox {
  const s = new Sandbox();
  afterEach(() => s.cleanup());
  return s;
}

/** A manual clock; every read can advance it so that timestamps (and backup names) stay distinct. */
export class Clock {
  constructor(
    public t = Date.UTC(2026, 0, 15, 12, 0, 0),
    private readonly step = 0,
  ) {}
  readonly now = (): number => {
    const v = this.t;
    this.t += this.step;
    return v;
  };
  advance(ms: number): void {
    this.t += ms;
  }
}

export const DAY = 86_400_000;

export function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The journal that follows a registry file. */
export function journalOf(file: string): string {
  return `${file}.journal`;
}

/** Hashes of everything a registry has saved: the snapshot and its journal ('' when there is none). */
export function savedHashes(file: string): { snapshot: string; journal: string } {
  return { snapshot: sha256(file), journal: fs.existsSync(journalOf(file)) ? sha256(journalOf(file)) : '' };
}

export function journalSize(file: string): number {
  return fs.statSync(journalOf(file)).size;
}

/** One record of a journal as laid out on disk: [payload length u32][CRC-32 u32][payload], payload[0] 0 = plain, 1 = encrypted. */
export interface RawRecord {
  /** Where the record starts (its 8-byte head). */
  readonly offset: number;
  /** Head and payload. */
  readonly length: number;
  readonly payload: Buffer;
}

/** The records of a journal file, read by their length fields only (no CRC or decryption): the magic is 8 bytes, the header record comes first. */
export function rawRecords(journal: Buffer): RawRecord[] {
  const out: RawRecord[] = [];
  let off = 8;
  while (off + 8 <= journal.length) {
    const len = journal.readUInt32LE(off);
    if (off + 8 + len > journal.length) break;
    out.push({ offset: off, length: 8 + len, payload: journal.subarray(off + 8, off + 8 + len) });
    off += 8 + len;
  }
  return out;
}

/**
 * What another process would read back from the saved files: copies the snapshot and its journal to a
 * new folder, opens the copy with Registry.open (which may compact or truncate it, not the original)
 * and hands it to fn. A copy that needed recovery fails the test.
 */
export async function readSaved<T>(file: string, fn: (r: Registry, repos: RegistryRepositories) => T, key?: Buffer): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-registry-read-'));
  const copy = path.join(dir, 'registry.sqlite');
  try {
    fs.copyFileSync(file, copy);
    if (fs.existsSync(journalOf(file))) fs.copyFileSync(journalOf(file), journalOf(copy));
    const r = await Registry.open({ file: copy, key, backupsDir: path.join(dir, 'backups'), persistDelayMs: 3_600_000 });
    try {
      assert.equal(r.recovery, undefined, `the saved files needed recovery: ${r.recovery?.reason}`);
      assert.deepEqual(r.raw.exec('PRAGMA integrity_check')[0].values, [['ok']]);
      return fn(r, new RegistryRepositories(r));
    } finally {
      await r.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The audit targets the saved files hold, oldest first. */
export function savedAuditTargets(file: string, key?: Buffer): Promise<string[]> {
  return readSaved(file, (r) => r.all<{ target: string }>('SELECT target FROM audit_log ORDER BY id').map((a) => a.target), key);
}

/** Polls cond every few ms until it holds; fails after timeoutMs. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function isRegistryError(kind: RegistryError['kind'], message?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof RegistryError, `expected a RegistryError, got ${String(e)}`);
    assert.equal(e.kind, kind, `kind of: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  };
}

export function assertThrowsRegistryError(fn: () => unknown, kind: RegistryError['kind'], message?: RegExp): void {
  assert.throws(fn, isRegistryError(kind, message));
}

export async function assertRejectsRegistryError(p: Promise<unknown>, kind: RegistryError['kind'], message?: RegExp): Promise<void> {
  await assert.rejects(p, isRegistryError(kind, message));
}

/** The detail lines of EXPLAIN QUERY PLAN for a statement (parameters left unbound: the plan does not depend on them). */
export function queryPlan(registry: Registry, sql: string): string[] {
  const res = registry.raw.exec(`EXPLAIN QUERY PLAN ${sql}`);
  return (res[0]?.values ?? []).map((row) => String(row[3]));
}

export function scalar(registry: Registry, sql: string, params: SqlValue[] = []): SqlValue {
  return registry.raw.exec(sql, params)[0]?.values[0]?.[0] ?? null;
}

export function tableNames(registry: Registry): string[] {
  return (registry.raw.exec("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")[0]?.values ?? []).map((v) => String(v[0]));
}

export function digestOf(n: number): string {
  return `sha256:${createHash('sha256').update(String(n)).digest('hex')}`;
}

/** A registry with one runtime, two models (with a version, usage, tags, note, a benchmark) and an audit entry. */
export function seed(repos: RegistryRepositories, label = 'alpha'): { runtimeId: number; modelIds: number[] } {
  const runtimeId = repos.upsertRuntime({ kind: 'ollama', name: `Ollama ${label}`, endpoint: `http://127.0.0.1:11434/${label}` });
  const a = repos.upsertModel({ runtimeId, name: `${label}-llama`, tag: '8b', family: 'llama', sizeBytes: 4_700_000_000, digest: digestOf(1) }).id;
  const b = repos.upsertModel({ runtimeId, name: `${label}-qwen`, family: 'qwen', sizeBytes: 1_000_000, digest: digestOf(2) }).id;
  repos.recordUsage({ modelId: a, kind: 'generate', outputTokens: 12, durationMs: 300 });
  repos.setTags(a, ['chat', 'fast']);
  repos.setNote(a, `note for ${label}`);
  repos.recordBenchmark({ modelId: a, runtimeId, hardware: 'cpu', promptSet: 'short', genTps: 12.5 });
  repos.audit({ operation: 'seed', target: label, outcome: 'ok' });
  return { runtimeId, modelIds: [a, b] };
}

export function modelNames(repos: RegistryRepositories): string[] {
  return repos.listModels({ limit: 10_000 }).map((m) => m.name);
}

export function listDir(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}
