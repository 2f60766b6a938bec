// Runs the benchmarks named on the command line (all of bench/*.ts when none), writing bench/results/<name>.json.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withTimeout } from '../src/core/docker/connection';
import { errorMessage } from '../src/core/lifecycle';
import { engine } from '../test/support/engine';
import { runInterruptCleanups } from './lib/benchContainers';

type Benchmark = { run: () => Promise<Record<string, unknown>> };

const repoRoot = path.resolve(__dirname, '..', '..');
const resultsDir = path.join(repoRoot, 'bench', 'results');
const CHILD_MARK = 'LLMSTACK_BENCH_CHILD';

/** Benchmarks are the compiled modules next to this file (helpers live in lib/). */
function availableBenchmarks(): string[] {
  return fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.js') && f !== 'run.js')
    .map((f) => f.slice(0, -3))
    .filter((name) => fs.existsSync(path.join(repoRoot, 'bench', `${name}.ts`)))
    .sort();
}

async function machineInfo(): Promise<Record<string, unknown>> {
  const info: Record<string, unknown> = {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    totalMemoryGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
  try {
    const docker = engine();
    const v = await withTimeout('Docker /version', 5000, (abortSignal) =>
      (docker.version as (o: { abortSignal: AbortSignal }) => Promise<{ Version: string; ApiVersion: string }>).call(docker, { abortSignal }),
    );
    info.engineVersion = v.Version;
    info.engineApiVersion = v.ApiVersion;
  } catch (e) {
    info.engineVersion = null;
    info.engineNote = `Docker API did not answer: ${errorMessage(e)}`;
  }
  return info;
}

/** global.gc is needed for the memory figures: run again under --expose-gc when it is missing. */
function respawnWithGc(): Promise<number> {
  const child = spawn(process.execPath, ['--expose-gc', ...process.execArgv, __filename, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, [CHILD_MARK]: '1' },
  });
  // Ctrl-C reaches the child too (same process group); it cleans up and exits, then so do we.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1))));
}

function installInterruptCleanup(): void {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`[bench] ${signal}: removing this run's containers…\n`);
    void runInterruptCleanups().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function main(): Promise<number> {
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function' && !process.env[CHILD_MARK]) return respawnWithGc();

  const available = availableBenchmarks();
  const requested = process.argv.slice(2).filter((a) => a.trim() !== '');
  const unknown = requested.filter((n) => !available.includes(n));
  if (unknown.length) {
    process.stderr.write(`Unknown benchmark${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}. Available: ${available.join(', ') || '(none)'}\n`);
    return 2;
  }
  const names = requested.length ? [...new Set(requested)] : available;

  installInterruptCleanup();
  process.on('unhandledRejection', (reason) => process.stderr.write(`[bench] unhandled rejection: ${errorMessage(reason)}\n`));
  fs.mkdirSync(resultsDir, { recursive: true });

  let failed = 0;
  for (const name of names) {
    process.stderr.write(`[bench] ${name}: running\n`);
    const started = Date.now();
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when this benchmark runs
      const mod = require(`./${name}`) as Partial<Benchmark>;
      if (typeof mod.run !== 'function') throw new Error(`bench/${name}.ts does not export run()`);
      const figures = await mod.run();
      const result = { benchmark: name, date: new Date(started).toISOString(), machine: await machineInfo(), durationS: Math.round((Date.now() - started) / 100) / 10, ...figures };
      fs.writeFileSync(path.join(resultsDir, `${name}.json`), JSON.stringify(result, null, 2) + '\n');
      process.stderr.write(`[bench] ${name}: wrote bench/results/${name}.json\n`);
      process.stdout.write(JSON.stringify(result) + '\n');
    } catch (e) {
      failed++;
      process.stderr.write(`[bench] ${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    }
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`[bench] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
