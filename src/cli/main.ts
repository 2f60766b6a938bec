// `llmstack`: the command line client of the local service. Each command is one use case called
// over the service's socket (started on demand); `serve` runs the service itself.
//
// Exit codes: 0 done; 1 the operation failed; 2 wrong usage or input; 3 no service (none answers
// and none could be started, or `serve` found one running); 4 some of several items failed;
// 5 not confirmed (a destructive command without --yes where no one can be asked); 130 interrupted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline/promises';
import { Command, CommanderError, Option } from 'commander';
import { connectService, ServiceClient, ServiceError, startCommandFor, stopService } from '../service/client';
import { servicePaths } from '../service/paths';
import { ago, makeOut, size, type Out } from './output';
import { WEBHOOK_EVENTS } from '../core/webhooks/store';
import { LOG_LEVELS, showLogs } from './logs';

export const EXIT = { ok: 0, failed: 1, usage: 2, noService: 3, partial: 4, notConfirmed: 5, interrupted: 130 } as const;

class Exit extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}

function productVersion(): string {
  for (let dir = __dirname, i = 0; i < 5; i++, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'llm-local-stack' && pkg.version) return pkg.version;
    } catch {
      // not here; one folder up
    }
  }
  return '0.0.0';
}

interface Global {
  json?: boolean;
  start?: boolean;
}

/** The signal Ctrl+C aborts: the request closes and the service cancels the work. */
const interrupt = new AbortController();

async function client(g: Global): Promise<ServiceClient> {
  const paths = servicePaths();
  try {
    const { client } = await connectService(paths, g.start === false ? {} : { start: startCommandFor(process.argv[1], 10) });
    return client;
  } catch (e) {
    throw new Exit(EXIT.noService, e instanceof Error ? e.message : String(e));
  }
}

async function confirm(question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) throw new Exit(EXIT.notConfirmed, `${question} Nothing was done: pass --yes to confirm where no one can be asked.`);
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const a = await rl.question(`${question} [y/N] `, { signal: interrupt.signal });
    if (!/^y(es)?$/i.test(a.trim())) throw new Exit(EXIT.notConfirmed, 'Not confirmed; nothing was done.');
  } finally {
    rl.close();
  }
}

interface RuntimeData {
  id: string;
  name: string;
  status: string;
  error?: string;
  version?: string;
  capabilities: Record<string, boolean>;
  models: { name: string; sizeBytes?: number; loaded?: unknown; parameterSize?: string; quantization?: string; lastUsedAt?: number; problem?: string }[];
}

/** The runtime a model command acts on: --runtime, or the only one that can. */
async function pickRuntime(c: ServiceClient, wanted: string | undefined, can?: string): Promise<RuntimeData> {
  const { runtimes } = await c.call<{ runtimes: RuntimeData[] }>('models.list', {}, { signal: interrupt.signal });
  if (wanted) {
    const r = runtimes.find((x) => x.id === wanted || x.name === wanted);
    if (!r) throw new Exit(EXIT.usage, `No runtime "${wanted}". Known: ${runtimes.map((x) => `${x.name} (${x.id})`).join(', ') || 'none'}.`);
    return r;
  }
  const able = runtimes.filter((r) => !can || r.capabilities[can]);
  if (able.length === 1) return able[0];
  if (!able.length) throw new Exit(EXIT.failed, `No runtime${can ? ` that can ${can}` : ''} is known. Start one (e.g. an Ollama container), then try again.`);
  throw new Exit(EXIT.usage, `Several runtimes${can ? ` can ${can}` : ''}: pass --runtime with one of ${able.map((r) => `${r.name} (${r.id})`).join(', ')}.`);
}

function resultsExit(out: Out, results: { name: string; ok?: boolean; outcome?: string; error?: string }[]): void {
  let failed = 0;
  for (const r of results) {
    const ok = r.ok ?? r.outcome === 'pulled';
    if (!ok) failed++;
    if (!out.json) out.line(ok ? `${out.color.green('✓')} ${r.name}` : `${out.color.red('✗')} ${r.name}: ${r.error ?? r.outcome}`);
  }
  if (failed) throw new Exit(failed === results.length ? EXIT.failed : EXIT.partial);
}

const absolute = (f: string) => path.resolve(f);

export function program(): Command {
  const version = productVersion();
  const p = new Command('llmstack')
    .description('Run, watch and manage your local LLM stack (the LLM Local Stack service and its clients).')
    .version(version)
    .option('--json', 'print JSON for scripts instead of tables')
    .option('--no-start', 'do not start the service when none answers')
    .showHelpAfterError()
    .exitOverride()
    .addHelpText('after', '\nExit codes: 0 done, 1 failed, 2 wrong usage or input, 3 no service, 4 some items failed, 5 not confirmed, 130 interrupted.');
  const g = () => p.opts<Global>();
  const out = () => makeOut(!!g().json);
  /** Runs a use case and prints its JSON when --json was given; returns the result for human output. */
  const run = async <T>(name: string, input: unknown, streamed = false): Promise<T> => {
    const o = out();
    const c = await client(g());
    try {
      const result = await c.call<T>(name, input, { signal: interrupt.signal, progress: streamed ? (pr) => o.progress(pr) : undefined });
      if (o.json) o.line(JSON.stringify(result, null, 2));
      return result;
    } finally {
      o.done();
    }
  };

  p.command('serve')
    .description('Run the service in the foreground (clients start one on demand; one per user).')
    .addOption(new Option('--idle-exit-minutes <n>', 'exit after this many minutes with no client and no work (for services started by a client)').argParser(Number))
    .option('--listen <host:port>', 'also listen on TCP (127.0.0.1:PORT), answering only requests with a token (llmstack token create)')
    .option('--allow-remote', 'allow a --listen address other than loopback (reachable from other machines)')
    .option('--tls-cert <file>', 'PEM certificate: the --listen address speaks HTTPS')
    .option('--tls-key <file>', "the certificate's PEM private key")
    .action(async (o: { idleExitMinutes?: number; listen?: string; allowRemote?: boolean; tlsCert?: string; tlsKey?: string }) => {
      const { serve } = await import('../service/main');
      const code = await serve({ version, idleExitMinutes: o.idleExitMinutes, bundleDir: __dirname, listen: o.listen, allowRemote: o.allowRemote, tlsCert: o.tlsCert, tlsKey: o.tlsKey });
      if (code) throw new Exit(code);
    });

  p.command('status')
    .description('The service, the engine connection, the runtimes and the registry.')
    .action(async () => {
      const o = out();
      const s = await (await client(g())).get<{ version: string; pid: number; startedAt: number; engine: { state: string; description?: string }; containers: number | null; runtimes: { name: string; status: string; models: number }[]; registry: { file: string }; clients: { connections: number }; socket: string }>('/v1/status');
      if (o.json) return o.line(JSON.stringify(s, null, 2));
      o.line(`${o.color.bold('service')}  ${s.version}, pid ${s.pid}, up since ${new Date(s.startedAt).toLocaleString()} (${s.socket})`);
      o.line(`${o.color.bold('engine')}   ${s.engine.state}${s.engine.description ? `: ${s.engine.description}` : ''}`);
      o.line(`${o.color.bold('containers')} ${s.containers ?? '…'}`);
      o.line(`${o.color.bold('runtimes')} ${s.runtimes.map((r) => `${r.name} (${r.status}, ${r.models} models)`).join(', ') || 'none'}`);
      o.line(`${o.color.bold('registry')} ${s.registry.file}`);
    });

  p.command('ps')
    .description('The containers, runtimes first (as the Containers view shows them).')
    .action(async () => {
      const r = await run<{ runtimes: { id: string; name: string; image: string; display: string; runtime: string | null; statusText: string }[]; others: { id: string; name: string; image: string; display: string; statusText: string }[] }>('containers.list', {});
      const o = out();
      if (o.json) return;
      o.table(
        ['CONTAINER', 'NAME', 'IMAGE', 'STATE', 'RUNTIME', 'STATUS'],
        [...r.runtimes, ...r.others].map((x): string[] => [x.id.slice(0, 12), x.name, x.image, x.display, 'runtime' in x && typeof x.runtime === 'string' ? x.runtime : '', x.statusText]),
      );
    });

  const models = p.command('models').description('Models of the runtimes: list, pull, remove, load, unload, verify.');
  models
    .command('ls')
    .description('The runtimes and their models.')
    .option('--runtime <id>', 'one runtime (its id or name)')
    .option('--refresh', 'ask the runtimes again first')
    .action(async (o: { runtime?: string; refresh?: boolean }) => {
      const c = await client(g());
      const all = await c.call<{ runtimes: RuntimeData[] }>('models.list', { refresh: !!o.refresh }, { signal: interrupt.signal });
      const runtimes = o.runtime ? all.runtimes.filter((r) => r.id === o.runtime || r.name === o.runtime) : all.runtimes;
      const w = out();
      if (w.json) return w.line(JSON.stringify({ runtimes }, null, 2));
      w.table(
        ['RUNTIME', 'MODEL', 'SIZE', 'PARAMS', 'QUANT', 'LOADED', 'LAST USED'],
        runtimes.flatMap((r) =>
          r.models.length
            ? r.models.map((m): string[] => [r.name, m.name, size(m.sizeBytes), m.parameterSize ?? '', m.quantization ?? '', m.loaded ? 'yes' : '', ago(m.lastUsedAt)])
            : [[r.name, r.status === 'error' ? w.color.red(r.error ?? 'error') : w.color.dim('(no models)'), '', '', '', '', '']],
        ),
      );
    });
  models
    .command('pull')
    .description('Pull models into a runtime that can pull (Ollama).')
    .argument('<names...>', 'model names (name or name:tag)')
    .option('--runtime <id>', 'the runtime (its id or name); needed when several can pull')
    .action(async (names: string[], o: { runtime?: string }) => {
      const r = await pickRuntime(await client(g()), o.runtime, 'pull');
      const res = await run<{ results: { name: string; outcome: string; error?: string }[] }>('models.pull', { runtimeId: r.id, names }, true);
      resultsExit(out(), res.results);
    });
  for (const [verb, useCase, can, destructive] of [
    ['rm', 'models.delete', 'delete', true],
    ['load', 'models.load', 'load', false],
    ['unload', 'models.unload', 'unload', false],
  ] as const) {
    models
      .command(verb)
      .description(`${verb === 'rm' ? 'Delete' : verb === 'load' ? 'Load' : 'Unload'} models on a runtime.`)
      .argument('<names...>', 'model names as the runtime lists them')
      .option('--runtime <id>', 'the runtime (its id or name)')
      .option('-y, --yes', 'do not ask for confirmation')
      .action(async (names: string[], o: { runtime?: string; yes?: boolean }) => {
        const r = await pickRuntime(await client(g()), o.runtime, can);
        if (destructive) await confirm(`Delete ${names.join(', ')} from ${r.name}?`, o.yes);
        const res = await run<{ results: { name: string; ok: boolean; error?: string }[] }>(useCase, { models: names.map((name) => ({ runtimeId: r.id, name })) });
        resultsExit(out(), res.results);
      });
  }
  models
    .command('unused')
    .description('Models not used in N days, largest first, with the disk removing them would free (nothing is removed; `models rm` does that).')
    .option('--days <n>', 'not used for this many days', Number, 30)
    .action(async (o: { days: number }) => {
      const res = await run<{ models: { runtime: string; name: string; sizeBytes?: number; lastUsedAt?: number }[]; freeBytes: number }>('models.unused', { days: o.days });
      const w = out();
      if (w.json) return;
      if (!res.models.length) return w.line(`Every model was used in the last ${o.days} days.`);
      const gb = (b?: number) => (b === undefined ? '?' : `${(b / 1e9).toFixed(1)} GB`);
      w.table(['MODEL', 'RUNTIME', 'SIZE', 'LAST USED'], res.models.map((m) => [m.name, m.runtime, gb(m.sizeBytes), m.lastUsedAt ? new Date(m.lastUsedAt).toISOString().slice(0, 10) : 'never']));
      w.line(w.color.dim(`Removing them would free ${gb(res.freeBytes)}: llmstack models rm NAME… --runtime RUNTIME`));
    });
  models
    .command('verify')
    .description("Check a model's file against its digest and record the result in the registry.")
    .argument('<name>')
    .option('--runtime <id>', 'the runtime (its id or name)')
    .action(async (name: string, o: { runtime?: string }) => {
      const r = await pickRuntime(await client(g()), o.runtime);
      const res = await run<{ status: 'match' | 'mismatch' | 'no-record' | 'unavailable'; message: string }>('models.verify', { runtimeId: r.id, name }, true);
      const w = out();
      if (!w.json) w.line(res.message);
      // A first check records the reference digest: that is a success too.
      if (res.status === 'mismatch' || res.status === 'unavailable') throw new Exit(EXIT.failed);
    });

  p.command('prompt')
    .description('Generate a short answer with a model, with its speed.')
    .argument('<text>', 'the prompt')
    .requiredOption('-m, --model <name>', 'the model')
    .option('--runtime <id>', 'the runtime (its id or name)')
    .option('--max-tokens <n>', 'at most this many tokens', Number, 64)
    .action(async (text: string, o: { model: string; runtime?: string; maxTokens: number }) => {
      const r = await pickRuntime(await client(g()), o.runtime, 'generate');
      const res = await run<{ text: string; outputTokens?: number; durationMs: number; tokensPerSecond?: number }>('models.tryPrompt', { runtimeId: r.id, name: o.model, prompt: text, maxTokens: o.maxTokens });
      const w = out();
      if (w.json) return;
      w.line(res.text);
      w.line(w.color.dim(`${res.outputTokens ?? '?'} tokens in ${(res.durationMs / 1000).toFixed(2)} s${res.tokensPerSecond ? `, ${res.tokensPerSecond.toFixed(1)} tokens/s` : ''}`));
    });

  p.command('bench')
    .description('Benchmark a model on its runtime: pp/tg tokens/s, TTFT, TPOT, ITL, E2EL (p50/p99) over a concurrency sweep, until the CV is under a bound; stored, and compared with this machine\'s history (exit 4 on a regression).')
    .argument('<model>')
    .option('--runtime <id>', 'the runtime (its id or name)')
    .option('--concurrency <list>', 'comma-separated levels', '1,2,4,8')
    .option('--prompt-words <n>', 'words of the prompt (pp)', Number, 512)
    .option('--max-tokens <n>', 'tokens to generate (tg)', Number, 128)
    .option('--cv <pct>', 'repeat until the CV of the mean generation speed is under this', Number, 3)
    .option('--max-rounds <n>', 'at most this many rounds per level', Number, 10)
    .action(async (model: string, o: { runtime?: string; concurrency: string; promptWords: number; maxTokens: number; cv: number; maxRounds: number }) => {
      const r = await pickRuntime(await client(g()), o.runtime, 'generate');
      const concurrency = o.concurrency.split(',').map((x) => Number(x.trim())).filter((x) => x > 0);
      type Sum = { p50: number; p99: number; cvPct: number } | undefined;
      const res = await run<{ levels: { concurrency: number; rounds: number; stoppedBy: string; requests: number; ttftMs?: Sum; tpotMs?: Sum; itlMs?: Sum; e2elMs?: Sum; ppTps?: Sum; tgTps?: Sum; tgMeanCvPct?: number; throughputTps: number; regression: { regression: boolean; dropPct?: number } }[]; regression: boolean; hardware: string; promptSet: string }>(
        'bench.run',
        { runtimeId: r.id, name: model, concurrency, promptWords: o.promptWords, maxTokens: o.maxTokens, cvTargetPct: o.cv, minRounds: Math.max(1, Math.min(3, o.maxRounds)), maxRounds: Math.max(1, o.maxRounds) },
        true,
      );
      const w = out();
      const f = (x: number | undefined, d = 1) => (x === undefined ? '' : x.toFixed(d));
      if (!w.json) {
        w.line(w.color.dim(`${model} on ${r.name} · ${res.promptSet} · ${res.hardware}`));
        w.table(
          ['C', 'ROUNDS', 'CV %', 'PP TOK/S', 'TG TOK/S', 'TTFT P50/P99 MS', 'TPOT P50 MS', 'ITL P99 MS', 'E2EL P50 MS', 'TOTAL TOK/S', ''],
          res.levels.map((l) => [String(l.concurrency), `${l.rounds} (${l.stoppedBy})`, f(l.tgMeanCvPct), f(l.ppTps?.p50), f(l.tgTps?.p50), `${f(l.ttftMs?.p50, 0)}/${f(l.ttftMs?.p99, 0)}`, f(l.tpotMs?.p50), f(l.itlMs?.p99), f(l.e2elMs?.p50, 0), f(l.throughputTps), l.regression.regression ? w.color.red(`slower by ${f(l.regression.dropPct)} %`) : '']),
        );
      }
      if (res.regression) throw new Exit(EXIT.partial, 'Slower than this machine\'s history for this model beyond its noise.');
    });

  p.command('fit')
    .description('Will a model fit here at a context (VRAM, RAM, GPU layers), and how fast will it run?')
    .argument('<model>')
    .option('--runtime <id>', 'the runtime (its id or name)')
    .option('--ctx <n>', 'the context size (default: trained, at most 8192)', Number)
    .addOption(new Option('--cache-type <t>', 'KV cache type').choices(['f16', 'bf16', 'f32', 'q8_0', 'q4_0']).default('f16'))
    .action(async (model: string, o: { runtime?: string; ctx?: number; cacheType: string }) => {
      const r = await pickRuntime(await client(g()), o.runtime);
      const res = await run<{ model: string; facts: { source: string }; fit: { text: string; verdict: string }; speed?: { text: string } }>('models.fit', { runtimeId: r.id, name: model, contextSize: o.ctx, cacheType: o.cacheType });
      const w = out();
      if (w.json) return;
      const color = res.fit.verdict === 'too-big' ? w.color.red : res.fit.verdict === 'gpu' ? w.color.green : (x: string) => x;
      w.line(`${res.model}: ${color(res.fit.text)}`);
      if (res.speed) w.line(`${res.model}: ${res.speed.text}`);
      w.line(w.color.dim(res.facts.source === 'gguf' ? 'from the GGUF header' : "from the runtime's listing (layers and KV cache shape estimated)"));
    });

  p.command('updates')
    .description("Whether the running runtimes' images (all containers' with --all) have a newer image under their tag in their registry.")
    .option('--all', 'every running container, not only runtimes')
    .action(async (o: { all?: boolean }) => {
      const res = await run<{ images: { image: string; containers: string[]; status: string; message?: string }[] }>('updates.images', { all: !!o.all });
      const w = out();
      if (w.json) return;
      if (!res.images.length) return w.line('No running container to check.');
      const color = (s: string) => (s === 'update' ? w.color.green(s) : s === 'error' ? w.color.red(s) : s);
      w.table(['IMAGE', 'STATUS', 'CONTAINERS', ''], res.images.map((i) => [i.image, color(i.status), i.containers.join(', '), i.message ?? '']));
    });

  p.command('recommend')
    .description('Models recommended for this machine and a use: the local ones and the names given, ranked by fit and predicted speed, with the reasons.')
    .argument('[names...]', 'model names not pulled yet to weigh as well (llama3.2:3b, qwen2.5-coder:7b)')
    .addOption(new Option('--use <use>', 'what the model is for').choices(['chat', 'code', 'embedding']).default('chat'))
    .option('--ctx <n>', 'the context size to plan for', Number, 8192)
    .action(async (names: string[], o: { use: string; ctx: number }) => {
      const res = await run<{ models: { name: string; runtime?: string; pulled: boolean; verdict: string; tokensPerSecond?: number; reasons: string[] }[] }>('models.recommend', { use: o.use, names, contextSize: o.ctx });
      const w = out();
      if (w.json) return;
      if (!res.models.length) return w.line('No models to rank: no runtime lists one and no name was given.');
      res.models.forEach((m, i) => {
        const color = m.verdict === 'too-big' ? w.color.red : m.verdict === 'gpu' ? w.color.green : (x: string) => x;
        w.line(`${i + 1}. ${m.name}${m.runtime ? w.color.dim(` (${m.runtime})`) : w.color.dim(' (not pulled)')}`);
        for (const r of m.reasons) w.line(`   ${color(r)}`);
      });
    });

  const benchmarks = p.command('benchmarks').description('Stored benchmark runs: history, export, llama-bench import.');
  benchmarks
    .command('history')
    .argument('<model>')
    .option('--runtime <id>', 'the runtime (its id or name)')
    .description("A model's runs, newest first.")
    .action(async (model: string, o: { runtime?: string }) => {
      const r = await pickRuntime(await client(g()), o.runtime, 'generate');
      const res = await run<{ runs: { ts: number; hardware: string; promptSet: string; concurrency: number; ttftMs: number | null; promptTps: number | null; genTps: number | null }[] }>('bench.history', { runtimeId: r.id, name: model });
      const w = out();
      const f = (x: number | null) => (x === null ? '' : x.toFixed(1));
      if (!w.json) w.table(['WHEN', 'SET', 'C', 'PP TOK/S', 'TG TOK/S', 'TTFT MS', 'MACHINE'], res.runs.map((x) => [ago(x.ts), x.promptSet, String(x.concurrency), f(x.promptTps), f(x.genTps), f(x.ttftMs), x.hardware]));
    });
  benchmarks
    .command('export')
    .argument('<model>')
    .option('--runtime <id>', 'the runtime (its id or name)')
    .addOption(new Option('--format <f>', 'JSON with the raw samples, or CSV').choices(['json', 'csv']).default('json'))
    .description("Write a model's runs to stdout.")
    .action(async (model: string, o: { runtime?: string; format: string }) => {
      const r = await pickRuntime(await client(g()), o.runtime, 'generate');
      const res = await (await client(g())).call<{ text: string }>('bench.export', { runtimeId: r.id, name: model, format: o.format }, { signal: interrupt.signal });
      process.stdout.write(res.text);
    });
  benchmarks
    .command('import')
    .argument('<file>', 'llama-bench output (-o json or -o jsonl)')
    .requiredOption('-m, --model <name>', 'the model the file measured, as a runtime lists it')
    .option('--runtime <id>', 'the runtime (its id or name)')
    .description('Import llama-bench results as runs of a model.')
    .action(async (file: string, o: { model: string; runtime?: string }) => {
      const st = fs.statSync(file);
      if (!st.isFile() || st.size > 8 * 1024 * 1024) throw new Exit(EXIT.usage, `${file} is not a file under 8 MiB.`);
      const r = await pickRuntime(await client(g()), o.runtime);
      const res = await run<{ imported: number; tests: string[]; problems: string[] }>('bench.importLlamaBench', { runtimeId: r.id, name: o.model, text: fs.readFileSync(file, 'utf8') });
      const w = out();
      if (w.json) return;
      w.line(`Imported ${res.imported} tests (${[...new Set(res.tests)].join(', ')}) for ${o.model}.`);
      for (const x of res.problems) w.line(w.color.yellow(`left out: ${x}`));
    });

  const stack = p.command('stack').description('Stack files (llmstack.yaml): plan, apply, down, export.');
  stack
    .command('plan')
    .argument('[file]', 'the stack file', 'llmstack.yaml')
    .description('What an apply would change.')
    .action(async (file: string) => {
      const r = await run<{ text: string }>('stack.plan', { file: absolute(file) });
      if (!out().json) out().line(r.text);
    });
  stack
    .command('apply')
    .argument('[file]', 'the stack file', 'llmstack.yaml')
    .option('-y, --yes', 'apply without asking (destructive changes included)')
    .description('Plan, confirm, and carry the plan out.')
    .action(async (file: string, o: { yes?: boolean }) => {
      const c = await client(g());
      const plan = await c.call<{ text: string; fingerprint: string; destructive: string[]; plan: { changes: unknown[] } }>('stack.plan', { file: absolute(file) }, { signal: interrupt.signal });
      const w = out();
      if (!plan.plan.changes.length) {
        if (w.json) w.line(JSON.stringify({ skipped: 'no-changes' }));
        else w.line('Nothing to change.');
        return;
      }
      if (!w.json) w.line(plan.text);
      await confirm(plan.destructive.length ? `Apply? This recreates, stops or removes: ${plan.destructive.join(', ')}.` : 'Apply?', o.yes);
      const r = await run<{ summary?: string }>('stack.apply', { file: absolute(file), fingerprint: plan.fingerprint }, true);
      if (!w.json) w.line(r.summary ?? 'Applied.');
    });
  stack
    .command('wait')
    .argument('[file]', 'the stack file', 'llmstack.yaml')
    .option('--timeout <seconds>', 'give up after this long (exit 1, naming what is not ready)', Number, 300)
    .description('Wait until every runtime of the stack runs, is not unhealthy, and answers its API (so the first request does not race it).')
    .action(async (file: string, o: { timeout: number }) => {
      const c = await client(g());
      const read = await c.call<{ name: string; services: { service: string; section: string; containerName: string }[] }>('stack.read', { file: absolute(file) }, { signal: interrupt.signal });
      const wanted = read.services.filter((s) => s.section === 'runtimes');
      type Item = { id: string; name: string; state: string; health: string | null };
      /** What is not ready yet, one line each (empty: all ready). */
      const notReady = async (): Promise<string[]> => {
        const containers = await c.call<{ runtimes: Item[]; others: Item[] }>('containers.list', {}, { signal: interrupt.signal });
        const runtimes = (await c.call<{ runtimes: { containerId?: string; status: string; error?: string }[] }>('models.list', {}, { signal: interrupt.signal })).runtimes;
        return wanted.flatMap((w) => {
          const ct = [...containers.runtimes, ...containers.others].find((x) => x.name === w.containerName);
          if (!ct) return [`${w.service}: no container ${w.containerName} (apply the stack first)`];
          if (ct.state !== 'running') return [`${w.service}: ${ct.state}`];
          if (ct.health === 'starting' || ct.health === 'unhealthy') return [`${w.service}: ${ct.health}`];
          const rt = runtimes.find((r) => r.containerId === ct.id);
          if (!rt) return [`${w.service}: not taken for an LLM runtime (its image is not one the service knows)`];
          return rt.status === 'ok' ? [] : [`${w.service}: its API ${rt.status === 'pending' ? 'has not answered yet' : `fails: ${rt.error ?? 'error'}`}`];
        });
      };
      const w = out();
      // Checked again on each change the service reports (containers, health, runtimes), not on a timer.
      const pending = await new Promise<string[]>((resolve, reject) => {
        let last: string[] = [];
        let checking = false;
        let again = false;
        const finish = (r: string[] | Error) => {
          clearTimeout(timer);
          sub.dispose();
          interrupt.signal.removeEventListener('abort', onAbort);
          if (r instanceof Error) reject(r);
          else resolve(r);
        };
        const check = async () => {
          if (checking) return void (again = true);
          checking = true;
          try {
            last = await notReady();
            if (!last.length) finish([]);
          } catch (e) {
            finish(e instanceof Error ? e : new Error(String(e)));
          } finally {
            checking = false;
            if (again) {
              again = false;
              void check();
            }
          }
        };
        const sub = c.events((e) => {
          if (e.type === 'hello' || e.type === 'containers' || e.type === 'models' || e.type === 'alerts') void check();
        });
        const timer = setTimeout(() => finish(last.length ? last : ['not checked yet']), Math.max(1, o.timeout) * 1000);
        const onAbort = () => finish(new Exit(EXIT.interrupted, 'Interrupted.'));
        interrupt.signal.addEventListener('abort', onAbort, { once: true });
        void check();
      });
      if (pending.length) throw new Exit(EXIT.failed, `The stack ${read.name} is not ready after ${o.timeout} s:\n  ${pending.join('\n  ')}`);
      if (w.json) w.line(JSON.stringify({ stack: read.name, ready: wanted.map((x) => x.service) }));
      else w.line(`The stack ${read.name} is ready: ${wanted.map((x) => x.service).join(', ') || 'no runtimes'}.`);
    });
  stack
    .command('down')
    .argument('[file]', 'the stack file', 'llmstack.yaml')
    .option('--volumes', 'remove the named volumes too')
    .option('-y, --yes', 'do not ask for confirmation')
    .description("Stop and remove the stack's containers (and network).")
    .action(async (file: string, o: { volumes?: boolean; yes?: boolean }) => {
      await confirm(`Take down the stack in ${file}${o.volumes ? ' and remove its volumes' : ''}?`, o.yes);
      const r = await run<{ summary?: string }>('stack.down', { file: absolute(file), removeVolumes: !!o.volumes }, true);
      if (!out().json) out().line(r.summary ?? 'Done.');
    });
  stack
    .command('export')
    .argument('[file]', 'the stack file', 'llmstack.yaml')
    .addOption(new Option('--target <t>', 'what to write').choices(['compose', 'kubernetes']).default('compose'))
    .option('--overwrite', 'replace an existing file')
    .description('Write a Compose file or Kubernetes manifests beside the stack file.')
    .action(async (file: string, o: { target: string; overwrite?: boolean }) => {
      const r = await run<{ file: string; warnings?: string[] }>('stack.export', { file: absolute(file), target: o.target, overwrite: !!o.overwrite });
      const w = out();
      if (w.json) return;
      w.line(`Wrote ${r.file}`);
      for (const x of r.warnings ?? []) w.line(w.color.yellow(`warning: ${x}`));
    });

  const registry = p.command('registry').description('The model registry: backups, export and import, statistics.');
  registry.command('backup').description('Back up the registry now.').action(async () => {
    const r = await run<{ file: string }>('registry.backup', {});
    if (!out().json) out().line(`Backed up to ${r.file}`);
  });
  registry.command('backups').description('List the backups, newest first.').action(async () => {
    const r = await run<{ backups: { file: string; createdAt: number; reason: string }[] }>('registry.listBackups', {});
    if (!out().json) out().table(['CREATED', 'REASON', 'FILE'], r.backups.map((b) => [new Date(b.createdAt).toLocaleString(), b.reason, path.basename(b.file)]));
  });
  registry
    .command('restore')
    .argument('<backup>', 'a backup file name as `registry backups` lists it')
    .option('-y, --yes', 'do not ask for confirmation')
    .description('Replace the registry with a backup (the current state is backed up first).')
    .action(async (backup: string, o: { yes?: boolean }) => {
      await confirm(`Replace the registry with ${backup}?`, o.yes);
      const r = await run<{ file: string }>('registry.restore', { file: backup });
      if (!out().json) out().line(`Restored ${path.basename(r.file)}`);
    });
  registry
    .command('export')
    .argument('<file>', 'where to write the JSON')
    .option('--overwrite', 'replace an existing file')
    .description('Write the whole registry as JSON.')
    .action(async (file: string, o: { overwrite?: boolean }) => {
      const r = await run<{ file: string; models: number; usage: number }>('registry.export', { file: absolute(file), overwrite: !!o.overwrite });
      if (!out().json) out().line(`Wrote ${r.file}: ${r.models} models, ${r.usage} usage events`);
    });
  registry
    .command('import')
    .argument('<file>', 'a registry export')
    .description('Merge an export into the registry (a backup is taken first).')
    .action(async (file: string) => {
      const r = await run<Record<string, number>>('registry.import', { file: absolute(file) });
      if (!out().json) out().line(`Imported: ${Object.entries(r).map(([k, v]) => `${v} ${k}`).join(', ')}`);
    });
  registry.command('stats').description('Size, schema, row counts and backups.').action(async () => {
    const r = await run<{ file: string; fileBytes: number; schemaVersion: number; counts: Record<string, number>; backups: number }>('registry.stats', {});
    const w = out();
    if (w.json) return;
    w.line(`${r.file} (${size(r.fileBytes) || `${r.fileBytes} bytes`}, schema ${r.schemaVersion}, ${r.backups} backups)`);
    w.table(['TABLE', 'ROWS'], Object.entries(r.counts).map(([k, v]) => [k, String(v)]));
  });
  registry
    .command('audit')
    .option('-n, --limit <n>', 'how many entries', Number, 20)
    .description('The newest audit log entries.')
    .action(async (o: { limit: number }) => {
      const r = await run<{ entries: { ts: number; operation: string; target: string; outcome: string; error: string | null }[] }>('registry.audit', { limit: o.limit });
      if (!out().json) out().table(['WHEN', 'OPERATION', 'TARGET', 'OUTCOME'], r.entries.map((e) => [ago(e.ts), e.operation, e.target, e.error ? `error: ${e.error}` : e.outcome]));
    });

  interface AlertsState {
    alerts: { containerId: string; containerName: string; kind: string; severity: string; message: string; at: number; muted: boolean }[];
    mutes: { id: string; until?: number }[];
  }
  const alerts = p.command('alerts').description('The active alerts of the containers and runtimes the service watches; mute and unmute them.');
  const alertsTable = (r: AlertsState) => {
    const o = out();
    if (o.json) return;
    if (!r.alerts.length) o.line('No active alerts.');
    else o.table(['CONTAINER', 'ALERT', 'SINCE', 'MUTED', 'MESSAGE'], r.alerts.map((a) => [a.containerName, a.severity === 'error' ? o.color.red(a.kind) : a.kind, ago(a.at), a.muted ? 'yes' : '', a.message]));
    if (r.mutes.length) o.line(`Muted: ${r.mutes.map((m) => m.id.slice(0, 12)).join(', ')}`);
  };
  alerts
    .command('ls')
    .description('The active alerts, oldest first, and the muted containers.')
    .action(async () => alertsTable(await run<AlertsState>('alerts.list', {})));
  /** A container named by its id, the start of its id, or its name among the active alerts. */
  const alertTarget = async (wanted: string) => {
    const { alerts: active } = await (await client(g())).call<AlertsState>('alerts.list', {});
    return active.find((a) => a.containerName === wanted || a.containerId.startsWith(wanted))?.containerId ?? wanted;
  };
  alerts
    .command('mute')
    .description("Mute a container's alert notifications (its alerts stay listed).")
    .argument('<container>', 'its name or id')
    .addOption(new Option('--minutes <n>', 'only for this many minutes').argParser(Number))
    .action(async (container: string, o: { minutes?: number }) => {
      if (o.minutes !== undefined && !(o.minutes > 0)) throw new Exit(EXIT.usage, '--minutes takes a number of minutes above 0.');
      alertsTable(await run<AlertsState>('alerts.mute', { containerId: await alertTarget(container), untilMs: o.minutes ? Date.now() + o.minutes * 60_000 : undefined }));
    });
  alerts
    .command('unmute')
    .description("Unmute a container's alert notifications, or every container's with --all.")
    .argument('[container]', 'its name or id')
    .option('--all', 'every muted container')
    .action(async (container: string | undefined, o: { all?: boolean }) => {
      if (!o.all && !container) throw new Exit(EXIT.usage, 'Name a container, or pass --all.');
      alertsTable(await run<AlertsState>('alerts.unmute', o.all ? { all: true } : { containerId: await alertTarget(container!) }));
    });

  p.command('metrics')
    .description('The host, GPU, container and model figures now, in the Prometheus text format (--json: the snapshot). The service samples while this runs.')
    .addOption(new Option('--window <minutes>', 'with --json, the points of the last minutes too').argParser(Number))
    .action(async (o: { window?: number }) => {
      const c = await client(g());
      // Subscribed until the second sample (rates need two): the figures are current, not cached.
      let samples = 0;
      let wake: () => void = () => undefined;
      const sampled = new Promise<void>((r) => (wake = r));
      const stream = c.metrics(
        (e) => {
          if (e.type === 'metrics.sample' && ++samples >= 2) wake();
        },
        () => wake(),
      );
      try {
        await Promise.race([sampled, new Promise((r) => setTimeout(r, 10_000).unref())]);
      } finally {
        stream.dispose();
      }
      const w = out();
      if (w.json) return void (await run('metrics.snapshot', o.window ? { windowMinutes: o.window } : {}));
      w.line((await c.call<{ text: string }>('metrics.prometheus', {})).text.trimEnd());
    });

  const token = p.command('token').description('API tokens for the TCP listener (serve --listen): create, list, revoke.');
  token
    .command('create')
    .description('Make a token; it is shown once and kept only as a hash.')
    .argument('<name>')
    .addOption(new Option('--role <role>', 'what it may do').choices(['viewer', 'operator', 'admin']).default('viewer'))
    .addOption(new Option('--expires-days <n>', 'expires after this many days').argParser(Number))
    .option('--models <names>', 'only these models (comma-separated)')
    .addOption(new Option('--rpm <n>', 'at most this many requests a minute').argParser(Number))
    .addOption(new Option('--tpm <n>', 'at most this many model tokens (prompt and output) a minute through the gateway').argParser(Number))
    .action(async (name: string, o: { role: string; expiresDays?: number; models?: string; rpm?: number; tpm?: number }) => {
      const r = await run<{ token: string; role: string; expiresAt?: number }>('tokens.create', {
        name,
        role: o.role,
        expiresInDays: o.expiresDays,
        models: o.models?.split(',').map((m) => m.trim()).filter(Boolean),
        requestsPerMinute: o.rpm,
        tokensPerMinute: o.tpm,
      });
      const w = out();
      if (w.json) return;
      w.line(r.token);
      process.stderr.write(`Token "${name}" (${r.role}${r.expiresAt ? `, expires ${new Date(r.expiresAt).toLocaleString()}` : ''}). It is not shown again: send it as Authorization: Bearer <token>.\n`);
    });
  token
    .command('list')
    .description('The tokens: name, role, dates, models (never the token).')
    .action(async () => {
      const r = await run<{ tokens: { name: string; role: string; createdAt: number; expiresAt?: number; revokedAt?: number; models?: string[]; requestsPerMinute?: number; tokensPerMinute?: number }[] }>('tokens.list', {});
      const w = out();
      const limits = (t: { requestsPerMinute?: number; tokensPerMinute?: number }) => [t.requestsPerMinute ? `${t.requestsPerMinute} req/min` : '', t.tokensPerMinute ? `${t.tokensPerMinute} tok/min` : ''].filter(Boolean).join(', ');
      if (!w.json)
        w.table(
          ['NAME', 'ROLE', 'CREATED', 'EXPIRES', 'STATE', 'MODELS', 'LIMITS'],
          r.tokens.map((t) => [t.name, t.role, ago(t.createdAt), t.expiresAt ? new Date(t.expiresAt).toLocaleDateString() : '', t.revokedAt ? 'revoked' : t.expiresAt && t.expiresAt <= Date.now() ? 'expired' : 'live', t.models?.join(',') ?? 'all', limits(t)]),
        );
    });
  token
    .command('revoke')
    .description('Revoke a token by name: refused from the next request on.')
    .argument('<name>')
    .action(async (name: string) => {
      const r = await run<{ revoked: boolean }>('tokens.revoke', { name });
      if (!r.revoked) throw new Exit(EXIT.failed, `No live token named "${name}".`);
      if (!out().json) out().line(`Revoked "${name}".`);
    });

  const webhook = p.command('webhook').description('Webhooks: signed POSTs to a URL when containers, models or stacks change.');
  webhook
    .command('add')
    .description('Subscribe a URL to events; the signing secret is shown once.')
    .argument('<name>')
    .argument('<url>', 'loopback (http://127.0.0.1:PORT/…) unless --allow-host names its host')
    .option('--events <list>', 'comma-separated events, or * for all (webhook events lists them)', '*')
    .option('--allow-host <host>', 'allow this one host that is not loopback')
    .action(async (name: string, url: string, o: { events: string; allowHost?: string }) => {
      const r = await run<{ secret: string; events: string[] }>('webhooks.create', { name, url, events: o.events.split(',').map((e) => e.trim()).filter(Boolean), allowHost: o.allowHost });
      const w = out();
      if (w.json) return;
      w.line(r.secret);
      process.stderr.write(`Webhook "${name}" sends ${r.events.join(', ')} to ${url}. The secret above is not shown again: check X-LLMStack-Signature with it.\n`);
    });
  webhook
    .command('list')
    .alias('ls')
    .description('The subscriptions: URL, events, queued and failed deliveries, the last one.')
    .action(async () => {
      const r = await run<{ webhooks: { name: string; url: string; events: string[]; pending: number; failed: number; lastDelivery: { state: string; lastStatus: number | null; createdAt: number } | null }[] }>('webhooks.list', {});
      const w = out();
      if (!w.json) w.table(['NAME', 'URL', 'EVENTS', 'QUEUED', 'FAILED', 'LAST'], r.webhooks.map((h) => [h.name, h.url, h.events.join(','), String(h.pending), String(h.failed), h.lastDelivery ? `${h.lastDelivery.state}${h.lastDelivery.lastStatus ? ` ${h.lastDelivery.lastStatus}` : ''} ${ago(h.lastDelivery.createdAt)}` : '']));
    });
  webhook
    .command('rm')
    .description('Remove a subscription, its queued deliveries and its secret.')
    .argument('<name>')
    .action(async (name: string) => {
      const r = await run<{ deleted: boolean }>('webhooks.delete', { name });
      if (!r.deleted) throw new Exit(EXIT.failed, `No webhook named "${name}".`);
      if (!out().json) out().line(`Removed "${name}".`);
    });
  webhook
    .command('deliveries')
    .description('The delivery log, newest first.')
    .argument('[name]')
    .addOption(new Option('--state <state>').choices(['pending', 'delivered', 'failed']))
    .option('-n, --limit <n>', 'how many', Number, 20)
    .action(async (name: string | undefined, o: { state?: string; limit: number }) => {
      const r = await run<{ deliveries: { id: number; webhook: string; event: string; state: string; attempts: number; lastStatus: number | null; lastError: string | null; createdAt: number; nextAt: number | null }[] }>('webhooks.deliveries', { webhook: name, state: o.state, limit: o.limit });
      const w = out();
      if (!w.json) w.table(['ID', 'WEBHOOK', 'EVENT', 'STATE', 'TRIES', 'LAST', 'QUEUED'], r.deliveries.map((d) => [String(d.id), d.webhook, d.event, d.state, String(d.attempts), d.lastError ?? (d.lastStatus ? `HTTP ${d.lastStatus}` : ''), ago(d.createdAt)]));
    });
  webhook
    .command('redeliver')
    .description('Send a delivery again (a new delivery with the same body).')
    .argument('<id>', 'from webhook deliveries', Number)
    .action(async (id: number) => {
      const r = await run<{ id: number }>('webhooks.redeliver', { id });
      if (!out().json) out().line(`Queued again as delivery ${r.id}.`);
    });
  webhook
    .command('ping')
    .description('Send a "ping" event to one subscription.')
    .argument('<name>')
    .action(async (name: string) => {
      const r = await run<{ id: number }>('webhooks.ping', { name });
      if (!out().json) out().line(`Queued ping as delivery ${r.id} (webhook deliveries ${name} shows how it went).`);
    });
  webhook
    .command('events')
    .description('The events a webhook can subscribe to.')
    .action(() => {
      const w = out();
      if (w.json) w.line(JSON.stringify(WEBHOOK_EVENTS));
      else for (const e of WEBHOOK_EVENTS) w.line(e);
    });

  p.command('logs')
    .description("The service's log, readable (--json: the JSON lines as written).")
    .option('-n, --lines <n>', 'how many of the last lines', Number, 50)
    .option('-f, --follow', 'then show new lines as they are written, until Ctrl+C')
    .addOption(new Option('--level <level>', 'only lines at or above this level').choices([...LOG_LEVELS]))
    .action(async (o: { lines: number; follow?: boolean; level?: (typeof LOG_LEVELS)[number] }) => {
      const file = servicePaths().logFile;
      const w = out();
      if (w.json && !o.follow) {
        const lines: string[] = [];
        if (!(await showLogs(file, { ...o, raw: true }, (l) => lines.push(l)))) throw new Exit(EXIT.failed, `No service log yet (${file}).`);
        return w.line(JSON.stringify({ file, lines }, null, 2));
      }
      const shown = await showLogs(file, { ...o, raw: w.json }, (l) => w.line(l), interrupt.signal);
      if (!shown) throw new Exit(EXIT.failed, `No service log yet (${file}).`);
    });

  const service = p.command('service').description('The service itself.');
  service.command('stop').description('Stop the running service after its current work.').action(async () => {
    try {
      await stopService(servicePaths());
    } catch (e) {
      throw new Exit(EXIT.noService, e instanceof Error ? e.message : String(e));
    }
    if (!out().json) out().line('The service stopped.');
  });
  return p;
}

/** Runs the CLI; resolves to the exit code (never calls process.exit itself). */
export async function main(argv: readonly string[]): Promise<number> {
  const p = program();
  try {
    await p.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (interrupt.signal.aborted) {
      process.stderr.write('Interrupted.\n');
      return EXIT.interrupted;
    }
    if (e instanceof Exit) {
      if (e.message) process.stderr.write(`llmstack: ${e.message}\n`);
      return e.code;
    }
    if (e instanceof ServiceError) {
      process.stderr.write(`llmstack: ${e.message}\n${e.issues?.length ? e.issues.map((i) => `  - ${i}\n`).join('') : ''}`);
      return e.code === 'invalid_input' || e.code === 'invalid_json' ? EXIT.usage : e.code === 'not_running' || e.code === 'start_timeout' ? EXIT.noService : e.code === 'cancelled' ? EXIT.interrupted : EXIT.failed;
    }
    process.stderr.write(`llmstack: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.failed;
  }
}

if (require.main === module) {
  process.once('SIGINT', () => interrupt.abort());
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
