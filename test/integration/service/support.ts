// Runs the real `llmstack` CLI and service (out/src/cli/main.js, as tsc built it) as child processes
// in a private LLMSTACK_HOME, and talks to the service over its real Unix socket.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ServiceClient } from '../../../src/service/client';
import { servicePaths, type ServicePaths } from '../../../src/service/paths';

export const CLI = path.resolve(__dirname, '..', '..', '..', 'src', 'cli', 'main.js');

export interface Home {
  readonly dir: string;
  readonly paths: ServicePaths;
  readonly env: NodeJS.ProcessEnv;
  client(): ServiceClient;
  /** Writes data/config.json (the service's settings). */
  config(value: unknown): void;
  cleanup(): void;
}

export function newHome(): Home {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lsh-'));
  const env: NodeJS.ProcessEnv = { ...process.env, LLMSTACK_HOME: dir, NO_COLOR: '1' };
  // The test run's coverage collection is not the children's business (and slows them).
  delete env.NODE_V8_COVERAGE;
  const paths = servicePaths({ LLMSTACK_HOME: dir });
  return {
    dir,
    paths,
    env,
    client: () => new ServiceClient(paths.socket),
    config(value) {
      fs.mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(paths.dataDir, 'config.json'), JSON.stringify(value));
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Served {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal) when it ends. */
  readonly exited: Promise<number | NodeJS.Signals>;
  output(): string;
}

/** Starts `llmstack serve` in the home, resolved once its socket answers (bounded). */
export async function serve(home: Home, args: string[] = [], timeoutMs = 20_000): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { env: home.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
  const exited = new Promise<number | NodeJS.Signals>((r) => child.once('exit', (code, signal) => r(code ?? signal ?? -1)));
  const served: Served = { child, exited, output: () => out };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await home
      .client()
      .version(1_000)
      .catch(() => undefined);
    if (v && v.pid === child.pid) return served;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`llmstack serve exited (${child.exitCode ?? child.signalCode}): ${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`llmstack serve did not answer within ${timeoutMs} ms: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs the CLI to completion: its exit code, stdout and stderr. */
export function cli(home: Home, args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: home.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`llmstack ${args.join(' ')} did not finish within ${timeoutMs} ms. stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Stops a served process: SIGTERM, then its exit (bounded), then SIGKILL. */
export async function stopServed(s: Served | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill('SIGTERM');
  const t = setTimeout(() => s.child.kill('SIGKILL'), 10_000);
  await s.exited;
  clearTimeout(t);
}
