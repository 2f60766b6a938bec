// Runs the extension inside a real VS Code: code-server's workbench and Node extension host,
// driven by Debian's Chromium through playwright-core. Used by the host tests, `npm start`'s
// sibling script and the activation benchmark.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { format } from 'node:util';
import { Registry } from '../../src/core/registry/registry';
import { RegistryRepositories } from '../../src/core/registry/repositories';
import { chromium, Browser, Page } from 'playwright-core';
import { freePort } from '../support/net';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const EXTENSION_ID = 'llm-local-stack.llm-local-stack';
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

export function codeServerEntry(): string {
  const dir = execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-code-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  return path.join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

export interface HostOptions {
  /** Compiled test module exporting run(); omitted: the extension runs without a test suite. */
  readonly testsPath?: string;
  /** Extra user settings. */
  readonly settings?: Record<string, unknown>;
  /** Extra environment for code-server and its extension host. */
  readonly env?: Record<string, string>;
  readonly onLog?: (line: string) => void;
  readonly viewport?: { width: number; height: number };
  /** Open the workspace untrusted (Restricted Mode) instead of with workspace trust turned off. */
  readonly restricted?: boolean;
  /** Files to create in the workspace folder (relative path → content). */
  readonly workspaceFiles?: Record<string, string>;
  /** Files to put in the extension's global storage before it starts (relative path → content). */
  readonly globalStorageFiles?: Record<string, Buffer>;
}

export interface RunningHost {
  readonly page: Page;
  readonly url: string;
  readonly dir: string;
  readonly logs: string[];
  /** Resolves with the suite's exit code (0 passed, 1 failed) once codeAutomationExit is called. */
  readonly exit: Promise<number>;
  /** The local service's home (LLMSTACK_HOME) of this host. */
  readonly serviceHome: string;
  /** Opens one more browser window on the same workspace and payload: its own extension host, its own tests. */
  openWindow(): Promise<{ page: Page; exit: Promise<number> }>;
  close(): Promise<void>;
}

async function waitHttp(url: string, timeoutMs: number, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`code-server exited with ${proc.exitCode} before it answered`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`code-server did not answer at ${url} within ${timeoutMs} ms`);
}

/**
 * This process's environment without VS Code's and code-server's own variables: started from
 * inside an extension host (a host test opening a user's window), code-server would otherwise take
 * itself for that server's child (CODE_SERVER_PARENT_PID) or forward its arguments to it
 * (VSCODE_IPC_HOOK_CLI) and exit.
 */
function inheritedEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VSCODE_|CODE_SERVER_)/.test(k)));
}

export async function startHost(o: HostOptions = {}): Promise<RunningHost> {
  const entry = codeServerEntry();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-host-'));
  const userData = path.join(dir, 'ud');
  const workspace = path.join(dir, 'workspace');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(workspace, { recursive: true });
  for (const [rel, content] of Object.entries(o.workspaceFiles ?? {})) {
    fs.mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true });
    fs.writeFileSync(path.join(workspace, rel), content);
  }
  const globalStorage = path.join(userData, 'User', 'globalStorage', 'llm-local-stack.llm-local-stack');
  for (const [rel, content] of Object.entries(o.globalStorageFiles ?? {})) {
    fs.mkdirSync(path.dirname(path.join(globalStorage, rel)), { recursive: true });
    fs.writeFileSync(path.join(globalStorage, rel), content);
  }
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify(
      {
        'security.workspace.trust.enabled': !!o.restricted,
        'security.workspace.trust.startupPrompt': 'never',
        'security.workspace.trust.emptyWindow': false,
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'update.mode': 'none',
        'workbench.enableExperiments': false,
        ...o.settings,
      },
      null,
      2,
    ),
  );
  const serviceHome = path.join(dir, 'svc');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const logs: string[] = [];
  const onLog = (line: string) => {
    logs.push(line);
    o.onLog?.(line);
  };
  const proc = spawn(
    process.execPath,
    [entry, '--auth', 'none', '--bind-addr', host, '--disable-telemetry', '--disable-update-check', ...(o.restricted ? [] : ['--disable-workspace-trust']), '--user-data-dir', userData, '--extensions-dir', path.join(dir, 'exts'), workspace],
    // Each host gets its own local service (the extension starts it on first use), stopped on close.
    { env: { ...inheritedEnv(), LLMSTACK_HOME: serviceHome, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout!.on('data', (d: Buffer) => fs.appendFileSync(path.join(dir, 'code-server.log'), d));
  proc.stderr!.on('data', (d: Buffer) => fs.appendFileSync(path.join(dir, 'code-server.log'), d));
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await stopService(serviceHome);
  };
  try {
    await waitHttp(`http://${host}/healthz`, 60_000, proc);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    const remote = (p: string) => `vscode-remote://${host}${p}`;
    const payload: [string, string][] = [['extensionDevelopmentPath', remote(ROOT)], ['skipWelcome', 'true']];
    if (o.testsPath) payload.push(['extensionTestsPath', remote(o.testsPath)]);
    const url = `http://${host}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const openWindow = async () => {
      const page = await browser!.newPage({ viewport: o.viewport ?? { width: 1400, height: 850 } });
      let resolveExit!: (code: number) => void;
      const exit = new Promise<number>((r) => (resolveExit = r));
      await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
        const text = format(...(Array.isArray(args) ? args : [args]));
        onLog(`[${type}] ${text}`);
      });
      await page.exposeFunction('codeAutomationExit', (code: number) => resolveExit(code));
      await page.goto(url);
      await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
      return { page, exit };
    };
    const { page, exit } = await openWindow();
    return { page, url, dir, logs, exit, serviceHome, openWindow, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Stops the local service the extension started in this home (SIGTERM to the lock's owner, then SIGKILL), bounded. */
async function stopService(home: string): Promise<void> {
  const lock = path.join(home, 'run', 'service.lock');
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(lock, 'utf8'), 10);
  } catch {
    return;
  }
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!Number.isInteger(pid) || !alive()) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive()) process.kill(pid, 'SIGKILL');
}

/** A registry file with one model, as the extension wrote it in its global storage before the service. */
export async function registryBeforeTheService(): Promise<Record<string, Buffer>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-old-registry-'));
  try {
    const file = path.join(dir, 'registry.sqlite');
    const registry = await Registry.open({ file });
    const repos = new RegistryRepositories(registry);
    const rt = repos.upsertRuntime({ kind: 'ollama', name: 'before-the-service', endpoint: 'http://127.0.0.1:1/before' });
    repos.upsertModel({ runtimeId: rt, name: 'migrated-model', tag: 'q4' });
    await registry.compact();
    await registry.close();
    const files: Record<string, Buffer> = { 'registry.sqlite': fs.readFileSync(file) };
    if (fs.existsSync(`${file}.journal`)) files['registry.sqlite.journal'] = fs.readFileSync(`${file}.journal`);
    return files;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Finds lines in the extension host's logs that report unhandled errors from this extension. */
export function unhandledErrors(dir: string, consoleLines: readonly string[]): string[] {
  const found: string[] = [];
  const pattern = /rejected promise not handled|unhandled(Rejection| error| exception)|uncaught/i;
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/exthost.*\.log$|remoteexthost\.log$/.test(e.name)) files.push(p);
    }
  };
  if (fs.existsSync(path.join(dir, 'ud', 'logs'))) walk(path.join(dir, 'ud', 'logs'));
  const texts = [...files.map((f) => fs.readFileSync(f, 'utf8')), consoleLines.join('\n')];
  for (const text of texts) {
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (!pattern.test(line)) return;
      const context = lines.slice(i, i + 8).join('\n');
      if (/llm-local-stack|llmStack|dist[\\/]extension\.js|out[\\/](src|test)/.test(context)) found.push(context);
    });
  }
  return found;
}

/** Starts the real host `runs` times and reads the extension's own activate() duration. */
export async function measureActivationInHost(runs = 3): Promise<{ activateMs: number; samples: number[] }> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    let value: number | undefined;
    const host = await startHost({
      testsPath: path.join(ROOT, 'out', 'test', 'host', 'activation.js'),
      onLog: (l) => {
        const m = /LLMSTACK_ACTIVATE_MS=([\d.]+)/.exec(l);
        if (m) value = Number(m[1]);
      },
    });
    try {
      const code = await Promise.race([host.exit, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('activation run did not finish in 120 s')), 120_000))]);
      if (code !== 0 || value === undefined) throw new Error(`activation run failed (exit ${code}); logs:\n${host.logs.slice(-20).join('\n')}`);
      samples.push(value);
    } finally {
      await host.close();
      fs.rmSync(host.dir, { recursive: true, force: true });
    }
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { activateMs: sorted[Math.floor(sorted.length / 2)], samples };
}
