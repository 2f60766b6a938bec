// A client of the local service: calls a use case over the socket (streamed progress, cancellation
// by closing the request), subscribes to the event stream, and finds or starts the service. The
// CLI uses it today; editor windows use it next.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { errorMessage } from '../core/lifecycle';
import type { Progress, Runner } from '../app/useCase';
import type { ServicePaths } from './paths';
import { ensurePrivateDir } from './paths';
import type { ErrorBody, MetricsEvent, ServiceEvent, ServiceVersion } from './protocol';
import { NDJSON, PROTOCOL, routeOf } from './wire';

// No zod here (see wire.ts): the few shapes a client reads are checked by hand.
function isVersion(v: unknown): v is ServiceVersion {
  const o = v as Partial<ServiceVersion> | null;
  return !!o && o.name === 'llmstack' && typeof o.version === 'string' && typeof o.protocol === 'number' && typeof o.pid === 'number';
}

function isErrorBody(v: unknown): v is ErrorBody {
  const e = (v as Partial<ErrorBody> | null)?.error;
  return !!e && typeof e.code === 'string' && typeof e.message === 'string' && (e.issues === undefined || Array.isArray(e.issues));
}

/** A failure the service answered with (its code and message), or one reaching it. */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    readonly issues?: readonly string[],
  ) {
    super(message);
  }
}

interface CallOptions {
  readonly signal?: AbortSignal;
  readonly progress?: (p: Progress) => void;
  /** Whole-request limit; none by default (a pull may take an hour, and it streams). */
  readonly timeoutMs?: number;
}

const MAX_ANSWER = 64 * 1024 * 1024;

export class ServiceClient {
  constructor(readonly socket: string) {}

  private request(method: string, route: string, body: unknown, options: CallOptions & { accept?: string }, onLine?: (line: string) => void): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          socketPath: this.socket,
          // A connection per request: a kept-alive one may belong to a service that has since stopped.
          agent: false,
          method,
          path: route,
          headers: { host: 'llmstack', accept: options.accept ?? 'application/json', ...(data !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
          signal: options.signal,
          timeout: options.timeoutMs,
        },
        (res) => {
          let text = '';
          let size = 0;
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            size += chunk.length;
            if (size > MAX_ANSWER) return req.destroy(new ServiceError('too_large', `The service's answer to ${route} is over ${MAX_ANSWER} bytes.`));
            if (!onLine) return void (text += chunk);
            text += chunk;
            let nl: number;
            while ((nl = text.indexOf('\n')) >= 0) {
              const line = text.slice(0, nl);
              text = text.slice(nl + 1);
              if (line.trim()) onLine(line);
            }
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      if (options.timeoutMs !== undefined) req.on('timeout', () => req.destroy(new ServiceError('timeout', `The service did not answer ${route} within ${options.timeoutMs} ms.`)));
      req.on('error', (e) => reject(toServiceError(e, this.socket)));
      req.end(data);
    });
  }

  /** Calls a use case by name ("models.pull"); progress lines are passed on as they arrive. */
  async call<T = unknown>(name: string, input: unknown = {}, options: CallOptions = {}): Promise<T> {
    let result: { value: unknown } | undefined;
    let failure: ServiceError | undefined;
    const streamed = !!options.progress;
    const { status, text } = await this.request('POST', routeOf(name), input, { ...options, accept: streamed ? NDJSON : 'application/json' }, streamed
      ? (line) => {
          let msg: unknown;
          try {
            msg = JSON.parse(line);
          } catch {
            failure = new ServiceError('bad_answer', `The service sent a line that is not JSON: ${line.slice(0, 200)}`);
            return;
          }
          const m = msg as { progress?: Progress; result?: unknown };
          if (m.progress) options.progress?.(m.progress);
          else if ('result' in m) result = { value: m.result };
          else failure = fromBody(msg, 200);
        }
      : undefined);
    if (streamed) {
      if (failure) throw failure;
      if (!result) throw new ServiceError('incomplete', `The service's answer to ${name} ended without a result (did it stop?).`);
      return result.value as T;
    }
    const body = parseJson(text, name);
    if (status !== 200) throw fromBody(body, status);
    return body as T;
  }

  async get<T = unknown>(route: string, timeoutMs = 10_000): Promise<T> {
    const { status, text } = await this.request('GET', route, undefined, { timeoutMs });
    const body = parseJson(text, route);
    if (status !== 200) throw fromBody(body, status);
    return body as T;
  }

  version(timeoutMs = 5_000): Promise<ServiceVersion> {
    return this.get('/v1/version', timeoutMs).then((v) => {
      if (!isVersion(v)) throw new ServiceError('bad_answer', `${this.socket} answered /v1/version with something other than an llmstack service's version.`);
      return v;
    });
  }

  /** Asks the service to stop after its current work. */
  async stop(): Promise<void> {
    try {
      await this.request('POST', '/v1/service/stop', {}, { timeoutMs: 10_000 });
    } catch (e) {
      // A service that went away while answering has done what was asked.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EPIPE' && code !== 'ECONNRESET') throw e;
    }
  }

  /**
   * Subscribes to the event stream. `onEnd` is told when the stream ends (the service stopped or
   * died) with the reason; dispose to unsubscribe. With a `client` id, what that client attached
   * (service.attach) lasts as long as this stream.
   */
  events(listener: (e: ServiceEvent) => void, onEnd?: (why: string) => void, client?: string): { dispose(): void } {
    return this.sse(client ? `/v1/events?client=${encodeURIComponent(client)}` : '/v1/events', listener, onEnd);
  }

  /** Subscribes to the metrics (GET /v1/metrics/events): the service samples while it lasts. */
  metrics(listener: (e: MetricsEvent) => void, onEnd?: (why: string) => void): { dispose(): void } {
    // The first event carries the history: up to MAX_ANSWER.
    return this.sse('/v1/metrics/events', listener, onEnd, MAX_ANSWER);
  }

  private sse<E>(route: string, listener: (e: E) => void, onEnd?: (why: string) => void, maxEvent = 4 * 1024 * 1024): { dispose(): void } {
    const controller = new AbortController();
    let buffer = '';
    let ended = false;
    const end = (why: string) => {
      if (ended) return;
      ended = true;
      onEnd?.(why);
    };
    const req = http.get({ socketPath: this.socket, agent: false, path: route, headers: { host: 'llmstack', accept: 'text/event-stream' }, signal: controller.signal }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        if (buffer.length > maxEvent) return req.destroy(new Error(`an event over ${Math.round(maxEvent / 1048576)} MiB`));
        let sep: number;
        while ((sep = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, sep);
          buffer = buffer.slice(sep + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (!data) continue;
          let event: unknown;
          try {
            event = JSON.parse(data);
          } catch {
            continue;
          }
          if (event && typeof (event as { type?: unknown }).type === 'string') listener(event as E);
        }
      });
      res.on('end', () => end('the service closed the event stream'));
      res.on('error', (e) => end(errorMessage(e)));
    });
    req.on('error', (e) => end(controller.signal.aborted ? 'unsubscribed' : errorMessage(toServiceError(e, this.socket))));
    return { dispose: () => (ended = true, controller.abort()) };
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ServiceError('bad_answer', `The service's answer to ${what} is not JSON: ${text.slice(0, 200)}`);
  }
}

function fromBody(body: unknown, status: number): ServiceError {
  if (!isErrorBody(body)) return new ServiceError('failed', `The service answered ${status} without an error message.`, status);
  return new ServiceError(body.error.code, body.error.message, status, body.error.issues);
}

/** "Not running" errors from the socket, in words. */
function toServiceError(e: unknown, socket: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED') return new ServiceError('not_running', `No llmstack service answers on ${socket}. Start one with \`llmstack serve\`.`);
  if (code === 'EACCES') return new ServiceError('forbidden', `${socket} belongs to another user: the service is per user.`);
  return e instanceof Error ? e : new Error(String(e));
}

interface StartCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Tried once when this one exits with an error before answering (a runtime that refuses a flag). */
  readonly fallback?: StartCommand;
}

interface ConnectOptions {
  /** How to start the service when none answers; without it, a missing service is an error. */
  readonly start?: StartCommand;
  /** How long a start may take before giving up (the service log is named in the error). */
  readonly timeoutMs?: number;
  /** What to do with a service of another protocol: ask it to stop and start ours, or refuse. */
  readonly onMismatch?: 'restart' | 'refuse';
}

/** Resolves once `check` succeeds, retried each time the run folder changes (a socket appears or goes), within `timeoutMs`. */
async function whenFolderSays<T>(dir: string, check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let wake: () => void = () => {};
  const watcher = fs.watch(dir, () => wake());
  try {
    for (;;) {
      const changed = new Promise<void>((r) => (wake = r));
      const v = await check();
      if (v !== undefined) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new ServiceError('start_timeout', `${what} within ${timeoutMs} ms.`);
      // A change in the folder, or a short bounded wait for a socket that exists but does not listen yet.
      await Promise.race([changed, new Promise((r) => setTimeout(r, Math.min(left, 100)))]);
    }
  } finally {
    watcher.close();
  }
}

/**
 * The client of this user's service: connects to the running one, or starts one (detached, logs to
 * the service log) and waits until it answers. Checks the protocol: a service of another one is
 * asked to stop after its work and replaced, or refused, never used silently.
 */
export async function connectService(paths: ServicePaths, options: ConnectOptions = {}): Promise<{ client: ServiceClient; version: ServiceVersion; started: boolean }> {
  const client = new ServiceClient(paths.socket);
  const answer = async () => {
    try {
      return await client.version(2_000);
    } catch (e) {
      if (e instanceof ServiceError && (e.code === 'not_running' || e.code === 'timeout')) return undefined;
      // A service killed while it answered (or while it accepted): none answers yet.
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ECONNRESET' || code === 'EPIPE') return undefined;
      throw e;
    }
  };
  let v = await answer();
  if (v && v.protocol !== PROTOCOL) {
    if (options.onMismatch === 'refuse' || !options.start) {
      throw new ServiceError('version_mismatch', `The running llmstack service (${v.version}, protocol ${v.protocol}, pid ${v.pid}) speaks another protocol than this client (protocol ${PROTOCOL}). Stop it with \`llmstack service stop\`; the next client starts the matching one.`);
    }
    await stopService(paths, client, options.timeoutMs ?? 30_000);
    v = undefined;
  }
  if (v) return { client, version: v, started: false };
  if (!options.start) throw new ServiceError('not_running', `No llmstack service answers on ${paths.socket}. Start one with \`llmstack serve\`.`);
  ensurePrivateDir(paths.runDir);
  ensurePrivateDir(paths.dataDir);
  const launch = (start: StartCommand) => {
    const out = fs.openSync(paths.logFile, 'a', 0o600);
    try {
      const child = spawn(start.command, [...start.args], { detached: true, stdio: ['ignore', out, out], env: start.env ?? process.env, windowsHide: true });
      child.on('error', () => {});
      child.unref();
      return child;
    } finally {
      fs.closeSync(out);
    }
  };
  let child = launch(options.start);
  let fallback = options.start.fallback;
  const check = () => {
    // Exit code 3: another client's service won the lock, and it answers soon.
    if (fallback && child.exitCode !== null && child.exitCode !== 0 && child.exitCode !== 3) {
      child = launch(fallback);
      fallback = undefined;
    }
    return answer();
  };
  const version = await whenFolderSays(paths.runDir, check, options.timeoutMs ?? 10_000, `The llmstack service did not start (see ${paths.logFile})`);
  return { client, version, started: true };
}

/**
 * Runs use cases in the service: same names, same inputs; the answer is checked against the use
 * case's output schema, as a local call's is.
 */
export function remoteRunner<D>(service: Pick<ServiceClient, 'call'>): Runner<D> {
  return async (u, input, options) => u.output.parse(await service.call(u.name, input, options));
}

/** Asks the service to stop and resolves once it has released its lock (its work done, the registry saved). */
export async function stopService(paths: ServicePaths, client = new ServiceClient(paths.socket), timeoutMs = 30_000): Promise<void> {
  await client.stop();
  await whenFolderSays(paths.runDir, () => Promise.resolve(fs.existsSync(paths.lockFile) ? undefined : true), timeoutMs, 'The service did not stop');
}

/** The command that starts the service from this bundle: this Node, this script, `serve`. */
export function startCommandFor(script: string, idleExitMinutes: number, env: NodeJS.ProcessEnv = process.env): StartCommand {
  const args = [path.resolve(script), 'serve', '--idle-exit-minutes', String(idleExitMinutes)];
  const plain = { command: process.execPath, args, env: { ...env, ELECTRON_RUN_AS_NODE: '1' } };
  return { ...plain, args: [...SERVICE_RUNTIME_FLAGS, ...args], fallback: plain };
}

/**
 * V8 flags for a small resident process: no helper threads, a 1 MB young generation, size over
 * speed. About 20 MB less resident memory when idle (bench/service.ts). A runtime that refuses
 * them gets the plain command (StartCommand.fallback).
 */
export const SERVICE_RUNTIME_FLAGS = ['--single-threaded', '--max-semi-space-size=1', '--optimize-for-size'] as const;
