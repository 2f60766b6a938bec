// Owns the one long-lived engine client: connects to the first endpoint that answers, reports
// state changes, and reconnects with exponential backoff when the engine goes away.
import * as fs from 'node:fs';
import Docker from 'dockerode';
import { z } from 'zod';
import { Disposable, Emitter, errorMessage, Logger, silentLogger } from '../lifecycle';
import { Endpoint, EndpointResolution, EndpointSource } from './endpoint';

interface EngineInfo {
  readonly name: 'Docker' | 'Podman';
  readonly version: string;
  readonly apiVersion: string;
  readonly os: string;
  readonly arch: string;
}

/** Why an endpoint failed, coarse enough to pick advice for the user. */
type FailureKind = 'missing' | 'permission' | 'refused' | 'timeout' | 'tls' | 'protocol' | 'lost' | 'other';

export interface AttemptFailure {
  readonly endpoint: string;
  readonly origin: string;
  readonly reason: string;
  readonly kind: FailureKind;
}

export type ConnectionState =
  | { readonly kind: 'connecting'; readonly attempt: number }
  | { readonly kind: 'connected'; readonly endpoint: Endpoint; readonly engine: EngineInfo; readonly docker: Docker; readonly generation: number }
  | {
      readonly kind: 'disconnected';
      readonly failures: readonly AttemptFailure[];
      readonly problems: readonly string[];
      /** Where the endpoints came from; 'none' when resolution gave nothing to try (bad setting). */
      readonly source: EndpointSource | 'none';
      /** When the next automatic attempt happens (epoch ms), undefined when none is planned. */
      readonly nextAttemptAt?: number;
      readonly lostAt: number;
      readonly attempt: number;
    };

interface ConnectionOptions {
  /** Called before every attempt, so a changed setting or environment is picked up. */
  readonly resolve: () => EndpointResolution;
  readonly log?: Logger;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Bound on each ping/version request, so a hung endpoint cannot stall the extension. */
  readonly requestTimeoutMs?: number;
  /** Factory for the client, e.g. to count requests in a benchmark. */
  readonly createClient?: (endpoint: Endpoint) => Docker;
}

const versionSchema = z.looseObject({
  Version: z.string(),
  ApiVersion: z.string(),
  Os: z.string().optional(),
  Arch: z.string().optional(),
  Components: z.array(z.looseObject({ Name: z.string() })).nullish(),
});

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** Runs fn with an AbortSignal that fires after ms; rejects with TimeoutError then. */
export async function withTimeout<T>(what: string, ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new TimeoutError(what, ms));
    }, ms);
  });
  try {
    return await Promise.race([fn(ac.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function classifyConnectError(e: unknown): FailureKind {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (e instanceof TimeoutError) return 'timeout';
  switch (code) {
    case 'ENOENT':
      return 'missing';
    case 'EACCES':
    case 'EPERM':
      return 'permission';
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ECONNRESET':
      return 'refused';
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return 'tls';
  }
  return 'other';
}

/** Turns low-level connection errors into a sentence a user can act on. */
export function describeConnectError(endpoint: Endpoint, e: unknown): string {
  const err = e as NodeJS.ErrnoException & { statusCode?: number };
  switch (err?.code) {
    case 'ENOENT':
      return `no socket at ${endpoint.socketPath ?? endpoint.url} (engine not installed or not started)`;
    case 'EACCES':
      return `permission denied on ${endpoint.socketPath ?? endpoint.url} (add your user to the "docker" group, then log in again)`;
    case 'ECONNREFUSED':
      return `connection refused at ${endpoint.url} (the engine is not running)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host name in ${endpoint.url} does not resolve`;
    case 'ECONNRESET':
      return `connection reset by ${endpoint.url}${endpoint.tls ? '' : ' (does it expect TLS? set DOCKER_TLS_VERIFY and DOCKER_CERT_PATH)'}`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      return `TLS certificate of ${endpoint.url} is not trusted (check ca.pem in the cert path)`;
  }
  if (e instanceof TimeoutError) return `${endpoint.url} did not answer in time (is it a Docker Engine API endpoint?)`;
  return `${endpoint.url}: ${errorMessage(e)}`;
}

class ProtocolError extends Error {}

export class EngineConnection extends Disposable {
  private readonly onDidChangeStateEmitter = this.register(new Emitter<ConnectionState>());
  readonly onDidChangeState = this.onDidChangeStateEmitter.event;

  private current: ConnectionState = { kind: 'connecting', attempt: 0 };
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private generation = 0;
  private running: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly requestTimeoutMs: number;

  constructor(private readonly options: ConnectionOptions) {
    super();
    this.log = options.log ?? silentLogger;
    this.initialBackoffMs = options.initialBackoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.register({ dispose: () => clearTimeout(this.retryTimer) });
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The client while connected; undefined otherwise. */
  get docker(): Docker | undefined {
    return this.current.kind === 'connected' ? this.current.docker : undefined;
  }

  /** Starts connecting (no-op while an attempt is running). Resolves when the attempt settles. */
  connect(): Promise<void> {
    if (this.isDisposed) return Promise.resolve();
    if (!this.running) {
      clearTimeout(this.retryTimer);
      this.running = this.tryConnect().finally(() => (this.running = undefined));
    }
    return this.running;
  }

  /** Drops the current client and connects again at once, e.g. after a settings change. */
  reconnect(): Promise<void> {
    this.attempt = 0;
    if (this.current.kind === 'connected') this.setState({ kind: 'connecting', attempt: 0 });
    return this.connect();
  }

  /** Called by users of the client when the engine stopped answering (events stream ended…). */
  reportLost(reason: string): void {
    if (this.current.kind !== 'connected' || this.isDisposed) return;
    this.log.warn(`Lost the engine at ${this.current.endpoint.url}: ${reason}`);
    const failures: AttemptFailure[] = [{ endpoint: this.current.endpoint.url, origin: this.current.endpoint.origin, reason, kind: 'lost' }];
    const source = this.current.endpoint.source;
    this.attempt = 0;
    this.scheduleRetry(failures, [], source);
  }

  private async tryConnect(): Promise<void> {
    this.attempt++;
    if (this.current.kind !== 'connected') this.setState({ kind: 'connecting', attempt: this.attempt });
    let resolution: EndpointResolution;
    try {
      resolution = this.options.resolve();
    } catch (e) {
      resolution = { candidates: [], problems: [`Could not resolve the engine endpoint: ${errorMessage(e)}`] };
    }
    for (const p of resolution.problems) this.log.warn(p);
    const failures: AttemptFailure[] = [];
    for (const endpoint of resolution.candidates) {
      if (this.isDisposed) return;
      // A missing socket file is known without a request; keeps the common "not installed" case quick.
      if (endpoint.socketPath && !endpoint.socketPath.startsWith('\\\\') && !fs.existsSync(endpoint.socketPath)) {
        failures.push({ endpoint: endpoint.url, origin: endpoint.origin, reason: describeConnectError(endpoint, { code: 'ENOENT' }), kind: 'missing' });
        continue;
      }
      const docker = this.options.createClient?.(endpoint) ?? new Docker(endpoint.options);
      try {
        const raw = await withTimeout(`Engine at ${endpoint.url}`, this.requestTimeoutMs, (abortSignal) =>
          (docker.version as (o: { abortSignal: AbortSignal }) => Promise<unknown>).call(docker, { abortSignal }),
        );
        const v = versionSchema.safeParse(raw);
        if (!v.success) throw new ProtocolError('answered, but not with a Docker Engine API /version document');
        const isPodman = (v.data.Components ?? []).some((c) => /podman/i.test(c.Name));
        const engine: EngineInfo = {
          name: isPodman ? 'Podman' : 'Docker',
          version: v.data.Version,
          apiVersion: v.data.ApiVersion,
          os: v.data.Os ?? '',
          arch: v.data.Arch ?? '',
        };
        if (this.isDisposed) return;
        this.attempt = 0;
        this.generation++;
        this.log.info(`Connected to ${engine.name} ${engine.version} (API ${engine.apiVersion}) at ${endpoint.url} via ${endpoint.origin}`);
        this.setState({ kind: 'connected', endpoint, engine, docker, generation: this.generation });
        return;
      } catch (e) {
        const kind = e instanceof ProtocolError || e instanceof SyntaxError ? 'protocol' : classifyConnectError(e);
        failures.push({ endpoint: endpoint.url, origin: endpoint.origin, reason: describeConnectError(endpoint, e), kind });
      }
    }
    if (this.isDisposed) return;
    for (const f of failures) this.log.info(`Engine not reachable via ${f.origin}: ${f.reason}`);
    this.scheduleRetry(failures, resolution.problems, resolution.candidates[0]?.source ?? 'none');
  }

  private scheduleRetry(failures: AttemptFailure[], problems: readonly string[], source: EndpointSource | 'none'): void {
    const delay = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.min(this.attempt, 16));
    clearTimeout(this.retryTimer);
    const previous = this.current;
    const lostAt = previous.kind === 'disconnected' ? previous.lostAt : Date.now();
    this.setState({ kind: 'disconnected', failures, problems, source, nextAttemptAt: Date.now() + delay, lostAt, attempt: this.attempt });
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref?.();
  }

  private setState(state: ConnectionState): void {
    this.current = state;
    this.onDidChangeStateEmitter.fire(state);
  }
}

/** Reads a file as text, undefined when missing or unreadable (for endpoint resolution). */
export function readTextFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
