// The `llmstack` CLI as a user runs it: a real process per command, the service it starts on
// demand, the real engine, and the test runtime (server.mjs over llama.cpp, speaking Ollama's API)
// as a host process. Every command, its --json parsed back, and its exit code.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { llamaBenchRecord } from '../../support/llamaBench';
import { downStack } from '../../../src/core/stack/apply';
import { BUSYBOX, createTestContainer, engine, TEST_LABEL, uniqueName, waitUntil } from '../../support/engine';
import { writeTinyGguf } from '../../support/gguf';
import { type RuntimeProcess, startRuntimeProcess } from '../../support/runtimeProcess';
import { CLI, cli, newHome, type Home } from './support';

const SLEEPER = "trap 'exit 0' TERM; while true; do sleep 1; done";

describe('the llmstack CLI against the service, the engine and the test runtime (integration)', function () {
  this.timeout(180_000);
  let home: Home;
  let other: Home;
  let ollama: RuntimeProcess;
  let dir: string;
  const stack = uniqueName('clistk').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const R = ['--runtime', 'cli-ollama'];
  const json = async <T>(args: string[], code = 0): Promise<T> => {
    const r = await cli(home, ['--json', ...args]);
    assert.equal(r.code, code, `llmstack ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };

  before(async () => {
    home = newHome();
    other = newHome();
    dir = path.join(home.dir, 'work');
    for (const d of ['source', 'models', 'folder']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    writeTinyGguf(path.join(dir, 'source', 'tiny__q8.gguf'), { name: 'tiny', contextLength: 256 });
    writeTinyGguf(path.join(dir, 'models', 'chat__1b.gguf'), { name: 'chat', contextLength: 256, seed: 7 });
    writeTinyGguf(path.join(dir, 'folder', 'tiny-q.gguf'), { name: 'tiny-q', embedding: 128, seed: 9 });
    // Seven chunks of the runtime's 256 kB, 150 ms apart: a pull long enough to interrupt.
    writeTinyGguf(path.join(dir, 'source', 'big__latest.gguf'), { name: 'big', embedding: 128, seed: 2 });
    ollama = await startRuntimeProcess({ modelsDir: path.join(dir, 'models'), sourceDir: path.join(dir, 'source'), env: { PULL_CHUNK_DELAY_MS: '150' } });
    home.config({ runtimes: { endpoints: [{ url: ollama.base, kind: 'ollama', name: 'cli-ollama' }] }, models: { ggufFolders: [path.join(dir, 'folder')] } });
    fs.writeFileSync(
      path.join(dir, 'llmstack.yaml'),
      stringify({ version: 1, name: stack, runtimes: { srv: { kind: 'other', image: BUSYBOX, command: ['sh', '-c', SLEEPER], labels: { [TEST_LABEL]: 'true' } } } }),
    );
  });
  after(async () => {
    await downStack(engine(), stack, { removeVolumes: true, stopTimeoutS: 1 }).catch(() => undefined);
    await cli(home, ['service', 'stop']).catch(() => undefined);
    await ollama?.stop();
    home?.cleanup();
    other?.cleanup();
  });

  it('status starts the service on demand (it exits when idle) and reports the engine, the runtimes and the registry', async () => {
    const s = await json<{ pid: number; idleExitMinutes: number | null; engine: { state: string }; runtimes: { name: string; status: string; models: number }[]; registry: { file: string } }>(['status']);
    assert.equal(s.idleExitMinutes, 10, 'started by a client: exits after 10 idle minutes');
    assert.equal(s.engine.state, 'connected');
    assert.deepEqual(s.runtimes.find((r) => r.name === 'cli-ollama'), { id: `ollama@${ollama.base}`, name: 'cli-ollama', status: 'ok', models: 1 });
    assert.equal(s.registry.file, path.join(home.paths.dataDir, 'registry.sqlite'));
    // The next command uses the same service.
    assert.equal((await json<{ pid: number }>(['status'])).pid, s.pid);
  });

  it('ps lists the containers as the view does; the human table names them', async () => {
    const r = await json<{ loaded: boolean; runtimes: unknown[]; others: { name: string }[] }>(['ps']);
    assert.equal(r.loaded, true);
    const names = (await engine().listContainers({ all: true })).map((c) => c.Names[0].slice(1));
    assert.deepEqual([...r.runtimes, ...r.others].map((c) => (c as { name: string }).name).sort(), names.sort());
    const human = await cli(home, ['ps']);
    assert.equal(human.code, 0);
    assert.match(human.stdout.split('\n')[0], /^CONTAINER\s+NAME\s+IMAGE\s+STATE\s+RUNTIME\s+STATUS$/);
    assert.doesNotMatch(human.stdout, /\x1b\[/, 'no colours when not on a terminal');
  });

  it('models ls, pull (streamed), load, prompt, unload and rm (asks first) on the test runtime', async () => {
    const ls = await json<{ runtimes: { name: string; models: { name: string }[] }[] }>(['models', 'ls', ...R]);
    assert.deepEqual(ls.runtimes.map((r) => [r.name, r.models.map((m) => m.name)]), [['cli-ollama', ['chat:1b']]]);
    const pulled = await json<{ results: { name: string; outcome: string }[] }>(['models', 'pull', 'tiny:q8', ...R]);
    assert.deepEqual(pulled.results, [{ name: 'tiny:q8', outcome: 'pulled' }]);
    const absent = await cli(home, ['models', 'pull', 'nope:1', ...R]);
    assert.equal(absent.code, 1, 'a failed pull exits 1');
    assert.match(absent.stdout, /✗ nope:1/);
    assert.deepEqual((await json<{ results: unknown[] }>(['models', 'load', 'chat:1b', ...R])).results, [{ runtimeId: `ollama@${ollama.base}`, name: 'chat:1b', ok: true }]);
    const answer = await json<{ text: string; durationMs: number; outputTokens: number }>(['prompt', 'Say hi', '-m', 'chat:1b', '--max-tokens', '4', ...R]);
    assert.ok(answer.durationMs > 0 && answer.outputTokens > 0, JSON.stringify(answer));
    // A short benchmark: the table of figures per concurrency level; the run is in the history.
    const bench = await cli(home, ['bench', 'chat:1b', '--concurrency', '1,2', '--prompt-words', '16', '--max-tokens', '4', '--cv', '100', '--max-rounds', '3', ...R]);
    assert.equal(bench.code, 0, bench.stderr);
    assert.match(bench.stdout, /chat:1b on cli-ollama · pp16w\/tg4 · /);
    assert.match(bench.stdout, /^C\s+ROUNDS\s+CV %\s+PP TOK\/S\s+TG TOK\/S/m);
    assert.match(bench.stdout, /^1\s+3 \(cv\)\s+[\d.]+\s+[\d.]+\s+[\d.]+/m);
    assert.match(bench.stdout, /^2\s+3 \(cv\)/m);
    const benchHistory = await home.client().call<{ runs: { concurrency: number }[] }>('bench.history', { runtimeId: `ollama@${ollama.base}`, name: 'chat:1b' });
    assert.deepEqual(benchHistory.runs.map((x) => x.concurrency).sort(), [1, 2]);
    const lb = path.join(dir, 'llama-bench.jsonl');
    fs.writeFileSync(lb, `${JSON.stringify(llamaBenchRecord(512, 0, 150))}\n${JSON.stringify(llamaBenchRecord(0, 128, 20))}\n`);
    const imported = await cli(home, ['benchmarks', 'import', lb, '-m', 'chat:1b', ...R]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /Imported 2 tests \(pp512, tg128\) for chat:1b\./);
    const csv = await cli(home, ['benchmarks', 'export', 'chat:1b', '--format', 'csv', ...R]);
    assert.match(csv.stdout, /^run_id,ts,hardware,prompt_set,concurrency,ttft_ms,prompt_tps,gen_tps\r\n/);
    assert.equal(csv.stdout.trimEnd().split('\r\n').length, 1 + 2 + 2, 'the two levels run above and the two imported tests');
    const hist = await cli(home, ['benchmarks', 'history', 'chat:1b', ...R]);
    assert.match(hist.stdout, /tg128\s+1\s+20\.0/);
    // Will it fit, and how fast here: the run above is this machine's history for the prediction.
    const fit = await cli(home, ['fit', 'chat:1b', '--ctx', '256', ...R]);
    assert.equal(fit.code, 0, fit.stderr);
    assert.match(fit.stdout, /^chat:1b: (runs on the CPU|fits in VRAM|\d+ of \d+ layers on the GPU) with ctx 256: /m);
    assert.match(fit.stdout, /^chat:1b: about [\d.]+ tokens\/s here \([\d.]+–[\d.]+, from \d+ benchmarks? on this machine\)$/m);
    assert.deepEqual((await json<{ results: unknown[] }>(['models', 'unload', 'chat:1b', ...R])).results, [{ runtimeId: `ollama@${ollama.base}`, name: 'chat:1b', ok: true }]);
    // rm asks; with nobody to ask (no terminal) and no --yes, nothing is deleted and the code is 5.
    const refused = await cli(home, ['models', 'rm', 'tiny:q8', ...R]);
    assert.equal(refused.code, 5);
    assert.match(refused.stderr, /pass --yes/);
    assert.ok(fs.existsSync(path.join(dir, 'models', 'tiny__q8.gguf')), 'still there');
    await json(['models', 'rm', 'tiny:q8', '--yes', ...R]);
    assert.equal(fs.existsSync(path.join(dir, 'models', 'tiny__q8.gguf')), false);
    // Several runtimes can generate? No: only this one; but naming one that does not exist is a usage error.
    const wrong = await cli(home, ['models', 'load', 'x', '--runtime', 'nowhere']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /No runtime "nowhere"/);
  });

  it('Ctrl+C during a pull closes the request: the service cancels the download (exit 130), and the next pull completes it', async () => {
    const partial = path.join(dir, 'models', 'big__latest.gguf.partial');
    const child = spawn(process.execPath, [CLI, 'models', 'pull', 'big:latest', ...R], { env: home.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await waitUntil('the download to start', () => fs.existsSync(partial) && fs.statSync(partial).size > 0, 30_000, 20);
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /Interrupted/);
    const cancelled = await waitUntil('the cancelled pull in the audit log', async () => {
      const { entries } = await home.client().call<{ entries: { operation: string; target: string; outcome: string; error: string | null }[] }>('registry.audit', { limit: 50 });
      return entries.find((e) => e.operation === 'model.pull' && e.target.endsWith('/big:latest'));
    }, 20_000, 100);
    assert.equal(cancelled.outcome, 'error');
    assert.equal(fs.existsSync(path.join(dir, 'models', 'big__latest.gguf')), false, 'not completed');
    const again = await json<{ results: { name: string; outcome: string }[] }>(['models', 'pull', 'big:latest', ...R]);
    assert.deepEqual(again.results, [{ name: 'big:latest', outcome: 'pulled' }]);
    assert.ok(fs.existsSync(path.join(dir, 'models', 'big__latest.gguf')));
  });

  it('models verify records a GGUF file digest, then matches it', async () => {
    const folder = ['--runtime', 'folder'];
    const first = await json<{ status: string }>(['models', 'verify', 'tiny-q.gguf', ...folder]);
    assert.equal(first.status, 'no-record');
    assert.equal((await json<{ status: string }>(['models', 'verify', 'tiny-q.gguf', ...folder])).status, 'match');
  });

  it('stack plan, apply (asks first) and down on the real engine', async () => {
    const file = path.join(dir, 'llmstack.yaml');
    const plan = await json<{ stack: string; plan: { changes: { kind: string }[] } }>(['stack', 'plan', file]);
    assert.equal(plan.stack, stack);
    assert.ok(plan.plan.changes.some((c) => c.kind === 'create'));
    assert.equal((await cli(home, ['stack', 'apply', file])).code, 5, 'apply asks first');
    assert.equal((await engine().listContainers({ all: true, filters: { label: [`io.llmstack.stack=${stack}`] } })).length, 0, 'nothing was created');
    const applied = await json<{ summary: string }>(['stack', 'apply', file, '--yes']);
    assert.match(applied.summary, /create/);
    assert.equal((await engine().listContainers({ filters: { label: [`io.llmstack.stack=${stack}`] } })).length, 1);
    const again = await json<{ skipped: string }>(['stack', 'apply', file, '--yes']);
    assert.equal(again.skipped, 'no-changes');
    await json(['stack', 'down', file, '--yes']);
    assert.equal((await engine().listContainers({ all: true, filters: { label: [`io.llmstack.stack=${stack}`] } })).length, 0);
    const exported = await json<{ file: string }>(['stack', 'export', file, '--target', 'compose']);
    assert.ok(fs.existsSync(exported.file));
  });

  it('registry backup, backups, export, import, stats, audit and restore', async () => {
    const b = await json<{ file: string }>(['registry', 'backup']);
    const list = await json<{ backups: { file: string }[] }>(['registry', 'backups']);
    assert.ok(list.backups.some((x) => x.file === b.file));
    const out = path.join(dir, 'export.json');
    const ex = await json<{ file: string; models: number }>(['registry', 'export', out]);
    assert.equal(ex.file, out);
    assert.ok(ex.models >= 2, 'the pulled and listed models are in the registry');
    assert.equal((await cli(home, ['registry', 'export', out])).code, 1, 'an existing file is not overwritten');
    const im = await json<{ models: number }>(['registry', 'import', out]);
    assert.equal(typeof im.models, 'number');
    const stats = await json<{ counts: Record<string, number> }>(['registry', 'stats']);
    assert.ok(stats.counts.models >= 2);
    const audit = await json<{ entries: { operation: string }[] }>(['registry', 'audit', '-n', '200']);
    const ops = new Set(audit.entries.map((e) => e.operation));
    for (const op of ['model.pull', 'stack.apply', 'registry.export', 'registry.import']) assert.ok(ops.has(op), `${op} in ${[...ops].join(', ')}`);
    assert.equal((await cli(home, ['registry', 'restore', path.basename(b.file)])).code, 5, 'restore asks first');
    await json(['registry', 'restore', path.basename(b.file), '--yes']);
  });

  it('alerts ls, mute (by name) and unmute; metrics prints the current figures (sampled while it runs)', async () => {
    const name = uniqueName('cli-sick');
    const sick = await createTestContainer({ name, healthcheck: { test: 'false', intervalMs: 1000, retries: 1 } });
    try {
      const listed = await waitUntil('the unhealthy alert', async () => (await json<{ alerts: { containerName: string; kind: string }[] }>(['alerts', 'ls'])).alerts.find((a) => a.containerName === name && a.kind === 'unhealthy'), 60_000, 200);
      assert.ok(listed);
      const human = await cli(home, ['alerts', 'ls']);
      assert.match(human.stdout, /^CONTAINER\s+ALERT\s+SINCE\s+MUTED\s+MESSAGE/m);
      assert.match(human.stdout, new RegExp(`${name}\\s+unhealthy`));
      const muted = await json<{ alerts: { containerName: string; muted: boolean }[]; mutes: unknown[] }>(['alerts', 'mute', name, '--minutes', '5']);
      assert.equal(muted.alerts.find((a) => a.containerName === name)?.muted, true);
      assert.equal(muted.mutes.length, 1);
      assert.equal((await cli(home, ['alerts', 'unmute'])).code, 2, 'unmute needs a container or --all');
      assert.deepEqual((await json<{ mutes: unknown[] }>(['alerts', 'unmute', '--all'])).mutes, []);
    } finally {
      await sick.remove({ force: true });
    }
    const metrics = await cli(home, ['metrics']);
    assert.equal(metrics.code, 0, metrics.stderr);
    assert.match(metrics.stdout, /^# TYPE llmstack_host_cpu_percent gauge$/m);
    assert.match(metrics.stdout, /^llmstack_host_cpu_percent \d+(\.\d+)?$/m);
    const snap = await json<{ series: { key: string }[]; window?: { t: number[] } }>(['metrics', '--window', '1']);
    assert.ok(snap.series.some((x) => x.key === 'host.memory'));
    assert.ok((snap.window?.t.length ?? 0) >= 2, 'the points of the last minute');
  });

  it('exit codes: 2 for wrong usage or input, 3 with no service and --no-start; logs shows the service log; service stop ends it', async () => {
    assert.equal((await cli(home, ['nonsense'])).code, 2);
    const bad = await cli(home, ['registry', 'audit', '-n', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /limit/);
    const none = await cli(other, ['--no-start', 'ps']);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /No llmstack service answers/);
    const logs = await json<{ lines: string[] }>(['logs']);
    assert.ok(logs.lines.some((l) => /listening on/.test(l)));
    const stop = await cli(home, ['service', 'stop']);
    assert.equal(stop.code, 0);
    assert.equal(fs.existsSync(home.paths.lockFile), false, 'the lock is released');
    assert.equal((await cli(home, ['--no-start', 'status'])).code, 3);
  });
});
