// Runs the test runtime (test/runtime/server/server.mjs: the Ollama API and llama.cpp's
// OpenAI-compatible API over real llama.cpp) as a plain child process on the host, listening on
// 127.0.0.1 only: no container engine involved. node-llama-cpp comes from the same cache
// test/runtime/build-image.sh fills (and is installed there the same way when it is missing).
// Every process started here is killed when its test stops it, and at the latest when the test
// run's process exits; a guard in the child ends it when this process dies without cleaning up.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from './net';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SERVER = path.join(ROOT, 'test', 'runtime', 'server', 'server.mjs');
export const NODE_LLAMA_CPP_VERSION = process.env.NODE_LLAMA_CPP_VERSION ?? '3.22.1';

/** The folder whose node_modules holds node-llama-cpp (linux-x64 binaries only), as build-image.sh lays it out. */
export function nodeLlamaCppCache(): string {
  const base = process.env.LLMSTACK_CACHE ?? path.join(os.homedir(), '.cache', 'llm-local-stack');
  return path.join(base, `node-llama-cpp-${NODE_LLAMA_CPP_VERSION}`);
}

/** Installs node-llama-cpp into the cache unless it is there (marked by .ok), exactly as build-image.sh does. */
export function ensureNodeLlamaCpp(): string {
  const cache = nodeLlamaCppCache();
  if (fs.existsSync(path.join(cache, '.ok'))) return cache;
  fs.mkdirSync(cache, { recursive: true });
  fs.writeFileSync(path.join(cache, 'package.json'), '{"name":"nlc-cache","private":true,"type":"module"}\n');
  // Only the linux-x64 variant: a plain install pulls every platform's binaries (~725 MB).
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--omit=optional', `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`, `@node-llama-cpp/linux-x64@${NODE_LLAMA_CPP_VERSION}`], {
    cwd: cache,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 600_000,
  });
  fs.writeFileSync(path.join(cache, '.ok'), '');
  return cache;
}

export interface RuntimeProcessOptions {
  /** Where the runtime keeps its models (`<name>__<tag>.gguf`); created when missing. */
  readonly modelsDir: string;
  /** Where /api/pull copies from; default: a "source" folder beside modelsDir. */
  readonly sourceDir?: string;
  /** Extra environment: API_KEY, METRICS, PULL_CHUNK_DELAY_MS, and the modes of server.mjs (THINKING, MODE, FLAVOR…). */
  readonly env?: Record<string, string>;
  /** Listen on this port (a restart on the same endpoint); default: a free one. */
  readonly port?: number;
  /** Bound on the wait for /api/version to answer. */
  readonly readyTimeoutMs?: number;
}

export interface RuntimeProcess {
  /** http://127.0.0.1:<port> */
  readonly base: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Sends a signal (default SIGKILL) at once, without waiting: a runtime that dies in the middle of something. */
  kill(signal?: NodeJS.Signals): void;
  /** Ends the process (SIGTERM, then SIGKILL after 3 s) and waits until it is gone; safe to call twice. */
  stop(): Promise<void>;
  /** The last few kB of its stdout and stderr, for failure messages. */
  output(): string;
}

interface Live {
  readonly child: ChildProcess;
  readonly appDir: string;
}

const live = new Set<Live>();
let exitHookInstalled = false;

/** On exit (mocha's --exit included) nothing may be left behind; only synchronous work is possible here. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const l of live) {
      if (l.child.exitCode === null && l.child.signalCode === null) {
        try {
          l.child.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
      fs.rmSync(l.appDir, { recursive: true, force: true });
    }
    live.clear();
  });
}

// Loaded with --import before server.mjs: the test process holds the other end of stdin, so when it
// dies (even by SIGKILL, when no exit hook runs) stdin ends and the runtime exits with it. Processes
// node-llama-cpp forks (its binary test) inherit --import but not that stdin: the guard skips them.
const PARENT_GUARD = `if (/(^|[\\\\/])server\\.mjs$/.test(process.argv[1] ?? '')) {
  process.stdin.on('data', () => undefined);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
}
`;

export async function startRuntimeProcess(o: RuntimeProcessOptions): Promise<RuntimeProcess> {
  const cache = ensureNodeLlamaCpp();
  installExitHook();
  const sourceDir = o.sourceDir ?? path.join(path.dirname(o.modelsDir), 'source');
  fs.mkdirSync(o.modelsDir, { recursive: true });
  fs.mkdirSync(sourceDir, { recursive: true });

  const appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-runtime-app-'));
  fs.copyFileSync(SERVER, path.join(appDir, 'server.mjs'));
  fs.symlinkSync(path.join(cache, 'node_modules'), path.join(appDir, 'node_modules'), 'dir');
  fs.writeFileSync(path.join(appDir, 'parent-guard.mjs'), PARENT_GUARD);

  const port = o.port ?? (await freePort());
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Coverage and loader options of the test run are not the runtime's business.
  delete env.NODE_V8_COVERAGE;
  delete env.NODE_OPTIONS;
  Object.assign(env, { PORT: String(port), HOST: '127.0.0.1', MODELS_DIR: o.modelsDir, SOURCE_DIR: sourceDir }, o.env ?? {});
  const child = spawn(process.execPath, ['--import', pathToFileURL(path.join(appDir, 'parent-guard.mjs')).href, 'server.mjs'], { cwd: appDir, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const entry: Live = { child, appDir };
  live.add(entry);
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  // Writing to a dead child's stdin must not become an unhandled error.
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;

  const kill = (signal: NodeJS.Signals = 'SIGKILL') => {
    if (!gone()) child.kill(signal);
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (!gone()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      child.stdin?.destroy();
      live.delete(entry);
      fs.rmSync(appDir, { recursive: true, force: true });
    })());

  // With API_KEY set every route but the public ones wants the key, /api/version included.
  const key = o.env?.API_KEY?.split(',')[0]?.trim();
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  const timeoutMs = o.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    if (gone()) {
      await stop();
      throw new Error(`the test runtime exited (${child.exitCode ?? child.signalCode}) before it answered on ${base}: ${out.trim().slice(-1500) || '(no output)'}`);
    }
    try {
      const res = await fetch(`${base}/api/version`, { headers, signal: AbortSignal.timeout(2000) });
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) break;
      lastError = `HTTP ${res.status}`;
    } catch (e) {
      lastError = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the test runtime did not answer on ${base} within ${timeoutMs} ms (last: ${lastError}): ${out.trim().slice(-1500) || '(no output)'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, port, process: child, kill, stop, output: () => out };
}
