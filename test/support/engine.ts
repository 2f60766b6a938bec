// Helpers for tests against the real Docker Engine: labelled test containers that are always
// cleaned up, bounded condition waits, and a second throw-away engine for engine-loss tests.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';

export const TEST_LABEL = 'io.llmstack.test';
export const BUSYBOX = 'llmstack-test/busybox:1';
export const OLLAMA_LIKE = 'ollama/ollama:llmstack-test';
export const LLAMACPP_LIKE = 'ghcr.io/ggml-org/llama.cpp:llmstack-test';
export const DEFAULT_SOCKET = '/var/run/docker.sock';

export function engine(socketPath = DEFAULT_SOCKET): Docker {
  return new Docker({ socketPath });
}

export interface TestContainerOptions {
  name?: string;
  image?: string;
  /** Shell script run by /bin/sh -c; default: sleep forever. */
  script?: string;
  labels?: Record<string, string>;
  /** Publish these container ports on 127.0.0.1, each on a free host port. */
  ports?: number[];
  healthcheck?: { test: string; intervalMs: number; retries?: number };
  start?: boolean;
  restart?: 'no' | 'always';
  tty?: boolean;
  docker?: Docker;
  network?: string;
}

let counter = 0;
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

export async function createTestContainer(o: TestContainerOptions = {}): Promise<Docker.Container> {
  const docker = o.docker ?? engine();
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of o.ports ?? []) {
    exposed[`${p}/tcp`] = {};
    bindings[`${p}/tcp`] = [{ HostIp: '127.0.0.1', HostPort: '' }];
  }
  const c = await docker.createContainer({
    name: o.name ?? uniqueName('llmstack-test'),
    Image: o.image ?? BUSYBOX,
    Cmd: ['/bin/sh', '-c', o.script ?? 'trap "exit 0" TERM; while true; do sleep 1; done'],
    Labels: { [TEST_LABEL]: 'true', ...(o.labels ?? {}) },
    Tty: o.tty ?? false,
    ExposedPorts: exposed,
    StopTimeout: 2,
    Healthcheck: o.healthcheck
      ? { Test: ['CMD-SHELL', o.healthcheck.test], Interval: o.healthcheck.intervalMs * 1e6, Timeout: 2e9, Retries: o.healthcheck.retries ?? 1, StartPeriod: 0 }
      : undefined,
    HostConfig: {
      PortBindings: bindings,
      RestartPolicy: { Name: o.restart ?? 'no' },
      NetworkMode: o.network,
    },
  });
  if (o.start !== false) await c.start();
  return c;
}

/** Removes every container carrying the test label; safe to call any time, also after failures. */
export async function removeTestContainers(docker: Docker = engine()): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: [TEST_LABEL] } });
  await Promise.all(
    list.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

/** Removes these containers (gone ones are fine); other test containers are left alone. */
export async function removeContainers(ids: Iterable<string>, docker: Docker = engine()): Promise<void> {
  await Promise.all(
    [...ids].map((id) =>
      docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

/**
 * The test containers one test file made, removed by id: removeTestContainers() would also take
 * those of a run beside it (another file, a second checkout's tests) and break that run.
 */
export class TestContainers {
  private readonly ids = new Set<string>();

  constructor(private readonly docker: Docker = engine()) {}

  /** createTestContainer, remembered before it starts so that a failed start is cleaned up too. */
  async create(o: TestContainerOptions = {}): Promise<Docker.Container> {
    const c = await createTestContainer({ docker: this.docker, ...o, start: false });
    this.ids.add(c.id);
    if (o.start !== false) await c.start();
    return c;
  }

  /** A container made another way (e.g. startRuntime), removed with the others. */
  add(id: string): void {
    this.ids.add(id);
  }

  async removeAll(): Promise<void> {
    const ids = [...this.ids];
    this.ids.clear();
    await removeContainers(ids, this.docker);
  }
}

/** Polls a condition until it holds or the bound passes; the bound is generous on purpose. */
export async function waitUntil<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** An HTTP server on 127.0.0.1 for bad-endpoint tests (hangs, HTML answers…). */
export async function localServer(handler: http.RequestListener): Promise<{ url: string; port: number; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return {
    url: `tcp://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * The real engine behind a slow link: a unix socket that forwards every request to the engine's
 * socket and holds back the answers the test picks until it releases them, so an answer can arrive
 * after events the engine sent later, as it may under load. Streams such as /events pass at once.
 */
export async function slowLinkToEngine(dir: string, target = DEFAULT_SOCKET): Promise<{
  url: string;
  /** From now on, hold the answers to the requests this matches. */
  hold: (match: (method: string, path: string) => boolean) => void;
  /** How many answers were held so far. */
  readonly held: number;
  /** Stops holding and delivers every held answer; resolves once all are written. */
  release: () => Promise<void>;
  close: () => Promise<void>;
}> {
  let match: ((method: string, path: string) => boolean) | undefined;
  let held = 0;
  let delivered = 0;
  const waiting: (() => Promise<void>)[] = [];
  const socket = path.join(dir, 'slow-engine.sock');
  fs.rmSync(socket, { force: true });
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const hold = match?.(req.method ?? 'GET', req.url ?? '/') ?? false;
    const upstream = http.request({ socketPath: target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (!hold) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // Headers go out now, as the engine sent them: /events answers with headers and then waits
        // for an event, and writeHead alone would keep them until the first one.
        res.flushHeaders();
        answer.pipe(res);
        return;
      }
      // The whole answer is read now: it is the engine's state at this moment, delivered later.
      const chunks: Buffer[] = [];
      const read = new Promise<void>((r) => answer.on('end', r));
      answer.on('data', (c: Buffer) => chunks.push(c));
      waiting.push(async () => {
        await read;
        const { 'transfer-encoding': _chunked, ...headers } = answer.headers;
        const body = Buffer.concat(chunks);
        res.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': String(body.length) });
        await new Promise<void>((r) => res.end(body, r));
      });
    });
    if (hold) held++;
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return {
    url: `unix://${socket}`,
    hold: (m) => (match = m),
    get held() {
      return held;
    },
    release: async () => {
      match = undefined;
      // An answer may still be on its way from the engine: wait for each one counted as held.
      await waitUntil('the held answers to come from the engine', () => delivered + waiting.length >= held, 20_000, 20);
      const now = waiting.splice(0);
      delivered += now.length;
      await Promise.all(now.map((deliver) => deliver()));
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * A second Docker Engine with its own socket, data and state folders, so a test can stop and
 * start "the engine" without disturbing the one the other tests use. No bridge network.
 */
export class ScratchEngine {
  readonly dir: string;
  readonly socket: string;
  private proc: ChildProcess | undefined;

  constructor(private readonly name = 'loss') {
    this.dir = path.join(os.tmpdir(), `llmstack-engine-${name}`);
    this.socket = path.join(this.dir, 'docker.sock');
  }

  get url(): string {
    return `unix://${this.socket}`;
  }

  /**
   * Its own bridge: with --bridge=none dockerd deletes the default docker0 interface, which would
   * break the main engine's networking.
   */
  private get bridge(): string {
    return `llmstk-${this.name}`.slice(0, 15);
  }

  private ensureBridge(): void {
    const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { stdio: 'ignore' });
    try {
      sh(`ip link show ${this.bridge}`);
    } catch {
      sh(`ip link add name ${this.bridge} type bridge && ip addr add 198.18.${this.octet}.1/24 dev ${this.bridge} && ip link set ${this.bridge} up`);
    }
  }

  private get octet(): number {
    let h = 0;
    for (const ch of this.name) h = (h * 31 + ch.charCodeAt(0)) % 250;
    return h + 1;
  }

  async start(): Promise<void> {
    this.ensureBridge();
    // A run killed hard leaves pid files behind; dockerd refuses to start over a live-looking one.
    for (const pf of [path.join(this.dir, 'docker.pid'), path.join(this.dir, 'exec', 'containerd', 'containerd.pid')]) {
      const pid = Number(fs.existsSync(pf) ? fs.readFileSync(pf, 'utf8').trim() : NaN);
      if (!Number.isNaN(pid) && !isAlive(pid)) fs.rmSync(pf, { force: true });
    }
    fs.mkdirSync(path.join(this.dir, 'data'), { recursive: true });
    fs.mkdirSync(path.join(this.dir, 'exec'), { recursive: true });
    const log = fs.openSync(path.join(this.dir, 'dockerd.log'), 'a');
    this.proc = spawn(
      'dockerd',
      [
        '-H', this.url,
        '--data-root', path.join(this.dir, 'data'),
        '--exec-root', path.join(this.dir, 'exec'),
        '--pidfile', path.join(this.dir, 'docker.pid'),
        `--bridge=${this.bridge}`, '--iptables=false', '--ip-masq=false', '--ip-forward=false',
      ],
      { stdio: ['ignore', log, log], detached: false },
    );
    fs.closeSync(log);
    await waitUntil('the scratch engine to answer', () => ping(this.socket), 60_000, 100);
    const d = engine(this.socket);
    const images = await d.listImages({ filters: { reference: [BUSYBOX] } });
    if (!images.length) {
      // Copy the busybox test image from the main engine (no registry to pull from).
      execFileSync('sh', ['-c', `docker -H unix://${DEFAULT_SOCKET} save ${BUSYBOX} | docker -H ${this.url} load -q`], { stdio: 'ignore' });
    }
  }

  /** Stops the engine as `systemctl stop docker` would (SIGTERM), waiting until it has exited. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
    this.proc = undefined;
  }

  /** Stops it and removes everything it left. */
  async destroy(): Promise<void> {
    try {
      if (!this.proc) await this.start().catch(() => undefined);
      await removeTestContainers(engine(this.socket)).catch(() => undefined);
    } finally {
      await this.stop();
      try {
        execFileSync('sh', ['-c', `ip link delete ${this.bridge}`], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** Whether the engine has the docker_gwbridge network that `swarm init` creates and `swarm leave` keeps. */
export async function hasGwbridge(docker: Docker = engine()): Promise<boolean> {
  return (await docker.listNetworks({ filters: { name: ['docker_gwbridge'] } })).some((n) => n.Name === 'docker_gwbridge');
}

/**
 * Removes docker_gwbridge, which a swarm init made and `swarm leave` keeps: the engine refuses while
 * the left swarm's gateway endpoints are still being taken down, so it is retried until gone (bounded).
 */
export async function removeGwbridge(docker: Docker = engine()): Promise<void> {
  // After a swarm leave the engine tears the ingress sandbox down in the background; until it has,
  // the bridge "has active endpoints" (seen for over 90 s, twice in 7 runs). Its endpoint is
  // disconnected by force when it is still there, and the removal is retried for up to 150 s. A
  // refused removal throws, so the timeout names the engine's last answer.
  await waitUntil(
    'docker_gwbridge to be removed',
    async () => {
      if (!(await hasGwbridge(docker))) return true;
      const net = docker.getNetwork('docker_gwbridge');
      // The ingress sandbox's endpoint ("gateway_ingress-sbox") can outlive the swarm: Docker keeps
      // it until it is disconnected by force, as `docker network disconnect -f` does.
      const info = (await net.inspect()) as { Containers?: Record<string, { Name?: string }> };
      const names = new Set(['gateway_ingress-sbox', ...Object.entries(info.Containers ?? {}).map(([id, c]) => c.Name ?? id)]);
      for (const name of names) await net.disconnect({ Container: name, Force: true }).catch(() => undefined);
      await net.remove();
      return !(await hasGwbridge(docker));
    },
    150_000,
    250,
  );
}
