// Crash test: SIGKILLs a child process writing the registry (journal appends and compactions) at random moments, 200+ times on one file, and checks each time that the file opens intact and holds every row the child reported committed.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseJournal, snapshotHeader } from '../../../../src/core/registry/journal';
import { Registry } from '../../../../src/core/registry/registry';

const WRITER = path.join(__dirname, 'crashWriter.js');

/** Small seeded PRNG, so a failing run can be replayed with CRASH_SEED. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type KillPlan = { at: 'start'; delayMs: number } | { at: 'ready'; delayMs: number } | { at: 'lines'; lines: number; delayMs: number };

interface Run {
  committed: number[];
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/** Starts the writer, kills it with SIGKILL as planned, and resolves once it is gone and its output read. */
function runAndKill(file: string, plan: KillPlan, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, file], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const committed: number[] = [];
    let stderr = '';
    let buffered = '';
    let killTimer: NodeJS.Timeout | undefined;
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const killAfter = (ms: number) => {
      if (killTimer) return;
      if (ms <= 0) kill();
      else killTimer = setTimeout(kill, ms);
    };
    // A writer that never reaches its kill point is killed and reported, not waited for forever.
    const guard = setTimeout(() => {
      kill();
      reject(new Error(`the writer did not reach its kill point (${JSON.stringify(plan)}) in 20 s; stderr: ${stderr}`));
    }, 20_000);
    if (plan.at === 'start') killAfter(plan.delayMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const m = /^committed (\d+)$/.exec(line);
        if (m) committed.push(Number(m[1]));
        else if (!/^ready \d+$/.test(line)) stderr += `unexpected stdout: ${line}\n`;
        if (plan.at === 'ready' && line.startsWith('ready')) killAfter(plan.delayMs);
        if (plan.at === 'lines' && committed.length >= plan.lines) killAfter(plan.delayMs);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      clearTimeout(killTimer);
      resolve({ committed, signal, code, stderr });
    });
  });
}

function stepPlan(rnd: () => number): KillPlan {
  const r = rnd();
  const delay = (lo: number, hi: number) => Math.floor(lo + rnd() * (hi - lo + 1));
  // While starting (loading, opening, maybe creating the file), right after opening (first save),
  // and in the middle of the write loop at arbitrary points of a save.
  if (r < 0.25) return { at: 'start', delayMs: delay(5, 80) };
  if (r < 0.4) return { at: 'ready', delayMs: delay(0, 15) };
  return { at: 'lines', lines: delay(1, 12), delayMs: rnd() < 0.3 ? 0 : delay(1, 25) };
}

/** Compaction threshold of the writer: a journal record is a few hundred bytes, so every few saves write a new snapshot and journal. */
const WRITER_COMPACT_AFTER = 1024;

interface LoopResult {
  kills: number;
  ms: number;
  committed: number;
  /** Kills that left a temp file: in the middle of a compaction's atomic write. */
  tempsLeft: number;
  /** Kills after which the journal did not follow the snapshot: between a compaction's two writes. */
  unfollowed: number;
  /** Kills that left a partial record at the end of the journal. */
  tornTails: number;
  /** Kills after a save had reached the disk but before the writer reported it. */
  unreported: number;
  seed: number;
}

async function crashLoop(options: { kills: number; budgetMs: number; key?: Buffer }): Promise<LoopResult> {
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 2 ** 31);
  const rnd = mulberry32(seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-registry-crash-'));
  const file = path.join(dir, 'registry.sqlite');
  const env = { ...process.env, CRASH_WRITER_KEY: options.key?.toString('hex') ?? '', CRASH_WRITER_COMPACT_AFTER: String(WRITER_COMPACT_AFTER) };
  const started = Date.now();
  const reported = new Set<number>();
  /** Rows an open after a kill has read (saved, if not all reported). */
  const seen = new Set<number>();
  let kills = 0;
  let tempsLeft = 0;
  let unfollowed = 0;
  let tornTails = 0;
  let unreported = 0;
  try {
    while (kills < options.kills) {
      const plan = stepPlan(rnd);
      const context = `seed ${seed}, kill #${kills + 1}, plan ${JSON.stringify(plan)}`;
      assert.ok(Date.now() - started < options.budgetMs, `the crash loop ran over its ${options.budgetMs} ms budget after ${kills} kills (${context})`);
      const run = await runAndKill(file, plan, env);
      assert.equal(run.signal, 'SIGKILL', `the writer ended by itself (code ${run.code}): ${run.stderr} (${context})`);
      assert.equal(run.stderr, '', context);
      kills++;
      for (const n of run.committed) reported.add(n);

      const existed = fs.existsSync(file);
      if (fs.readdirSync(dir).some((n) => n.includes('.tmp-'))) tempsLeft++;
      if (existed) {
        const journal = fs.existsSync(`${file}.journal`) ? parseJournal(fs.readFileSync(`${file}.journal`), options.key) : undefined;
        const header = snapshotHeader(fs.readFileSync(file));
        if (!journal?.header || journal.header.snapLen !== header.snapLen || journal.header.snapCrc !== header.snapCrc) unfollowed++;
        else if (journal.torn) tornTails++;
      }
      const registry = await Registry.open({ file, key: options.key, persistDelayMs: 3_600_000 });
      try {
        assert.equal(registry.recovery, undefined, `the file needed recovery: ${registry.recovery?.reason} (${context})`);
        if (existed) assert.equal(registry.migrated, undefined, context);
        assert.deepEqual(registry.raw.exec('PRAGMA integrity_check')[0].values, [['ok']], context);
        const audit = registry.all<{ ts: number }>("SELECT ts FROM audit_log WHERE operation = 'crash-seq' ORDER BY ts").map((r) => r.ts);
        const usage = registry.all<{ ts: number }>('SELECT ts FROM usage_events ORDER BY ts').map((r) => r.ts);
        assert.deepEqual(usage, audit, `each transaction is all or nothing (${context})`);
        assert.deepEqual(
          audit,
          audit.map((_, i) => i + 1),
          `sequence numbers are 1..n without gaps (${context})`,
        );
        const lastUsed = registry.get<{ t: number | null }>("SELECT last_used_at AS t FROM models WHERE name = 'crash-model'")?.t ?? null;
        assert.equal(lastUsed ?? 0, audit.length ? audit[audit.length - 1] : 0, `the model row moved with its usage rows (${context})`);
        const onDisk = new Set(audit);
        const missing = [...reported].filter((n) => !onDisk.has(n));
        assert.deepEqual(missing, [], `committed rows missing from the file (${context})`);
        const lost = [...seen].filter((n) => !onDisk.has(n));
        assert.deepEqual(lost, [], `rows an earlier open read are gone (${context})`);
        if (audit.some((n) => !reported.has(n) && !seen.has(n))) unreported++;
        for (const n of audit) seen.add(n);
        assert.deepEqual(
          fs.readdirSync(dir).filter((n) => n.includes('.tmp-')),
          [],
          `stale temp files are removed on open (${context})`,
        );
      } finally {
        await registry.close();
      }
    }
    return { kills, ms: Date.now() - started, committed: reported.size, tempsLeft, unfollowed, tornTails, unreported, seed };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('registry crash safety (integration)', function () {
  this.timeout(240_000);
  this.slow(120_000);

  it('survives 200 SIGKILLs at random moments: the file always opens intact with every committed row', async function () {
    assert.ok(fs.existsSync(WRITER), `compile the tests first: ${WRITER}`);
    const result = await crashLoop({ kills: 200, budgetMs: 170_000 });
    console.log(
      `      ${result.kills} kills in ${(result.ms / 1000).toFixed(1)} s (seed ${result.seed}); ${result.committed} rows reported committed; ${result.tempsLeft} kills left a half-written temp file (mid-compaction), ${result.unfollowed} a journal that did not follow its snapshot, ${result.tornTails} a torn journal tail, ${result.unreported} a saved but unreported transaction`,
    );
    assert.ok(result.committed > 200, 'the writer got real work done between kills');
    assert.ok(result.tempsLeft > 0, 'some kills landed in the middle of a compaction');
    assert.ok(result.unfollowed > 0, 'some kills landed between a compaction\'s snapshot and its journal');
    assert.ok(result.unreported > 0, 'some kills landed in the middle of a save (appended, not yet reported)');
  });

  it('survives SIGKILLs on an encrypted registry too', async function () {
    const result = await crashLoop({ kills: 40, budgetMs: 45_000, key: randomBytes(32) });
    console.log(
      `      ${result.kills} kills in ${(result.ms / 1000).toFixed(1)} s (seed ${result.seed}); ${result.committed} rows reported committed; ${result.tempsLeft} mid-compaction, ${result.unfollowed} journal not following its snapshot, ${result.tornTails} torn tails`,
    );
  });
});
