// Container actions on the engine (start, stop, restart, remove, inspect, logs) with errors a
// user can act on, and a helper that runs one action over many containers in parallel.
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { errorMessage, IDisposable, toDisposable } from '../lifecycle';
import type { EngineConnection } from './connection';
import { engineMessage, type EngineError } from './engineError';

export type ContainerAction = 'start' | 'stop' | 'restart' | 'remove';

export class ActionError extends Error {
  constructor(
    message: string,
    readonly kind: 'gone' | 'disconnected' | 'conflict' | 'engine',
  ) {
    super(message);
    this.name = 'ActionError';
  }
}


/** Maps an engine error to a message saying what failed and what to do. */
export function toActionError(what: string, name: string, e: unknown): ActionError {
  const err = e as EngineError;
  const detail = engineMessage(e);
  if (err?.statusCode === 404) {
    return new ActionError(`${what} "${name}" failed: the container no longer exists (it was removed meanwhile). The list is up to date again.`, 'gone');
  }
  if (err?.statusCode === 409) return new ActionError(`${what} "${name}" failed: ${detail}.`, 'conflict');
  if (err?.code && /^(ECONNREFUSED|ENOENT|ECONNRESET|EPIPE)$/.test(err.code)) {
    return new ActionError(`${what} "${name}" failed: the engine stopped answering (${err.code}). The extension reconnects by itself.`, 'disconnected');
  }
  return new ActionError(`${what} "${name}" failed: ${detail}`, 'engine');
}

export interface LogChunk {
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

interface LogFollowOptions {
  readonly tail?: number;
  readonly follow?: boolean;
  readonly onData: (chunk: LogChunk) => void;
  /** Called once when the stream ends: with an error when it broke, without when the container stopped. */
  readonly onEnd: (error?: Error) => void;
}

/**
 * Splits Docker's multiplexed log stream (8-byte frame headers: stream type, 3 zero bytes,
 * big-endian length) into stdout and stderr chunks. Frames may arrive split across chunks.
 */
export class LogDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  // One decoder per stream: a program may write a multi-byte character in two writes (two frames).
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  constructor(private readonly onChunk: (c: LogChunk) => void) {}

  push(data: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    while (this.pending.length >= 8) {
      const type = this.pending[0];
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const payload = this.pending.subarray(8, 8 + size);
      this.pending = this.pending.subarray(8 + size);
      if (type === 1 || type === 2) {
        const stream = type === 2 ? 'stderr' : 'stdout';
        const text = this.decoders[stream].write(payload);
        if (text) this.onChunk({ stream, text });
      }
    }
  }
}

export class ContainerActions {
  constructor(private readonly connection: EngineConnection) {}

  private client(what: string, name: string) {
    const docker = this.connection.docker;
    if (!docker) throw new ActionError(`${what} "${name}" failed: no container engine is connected. Start the engine or check LLM Stack: Reconnect.`, 'disconnected');
    return docker;
  }

  async run(action: ContainerAction, id: string, name = id.slice(0, 12)): Promise<void> {
    const label = { start: 'Starting', stop: 'Stopping', restart: 'Restarting', remove: 'Removing' }[action];
    const c = this.client(label, name).getContainer(id);
    try {
      switch (action) {
        case 'start':
          await c.start();
          break;
        case 'stop':
          await c.stop();
          break;
        case 'restart':
          await c.restart();
          break;
        case 'remove':
          await c.remove({ force: true });
          break;
      }
    } catch (e) {
      // 304: already started / already stopped: the user's intent holds.
      if ((e as EngineError)?.statusCode === 304) return;
      throw toActionError(label, name, e);
    }
  }

  async inspect(id: string, name = id.slice(0, 12)): Promise<unknown> {
    try {
      return await this.client('Inspecting', name).getContainer(id).inspect();
    } catch (e) {
      if (e instanceof ActionError) throw e;
      throw toActionError('Inspecting', name, e);
    }
  }

  /** Follows a container's logs; dispose to stop following. */
  async logs(id: string, name: string, options: LogFollowOptions): Promise<IDisposable> {
    const c = this.client('Showing logs of', name).getContainer(id);
    let tty = false;
    let raw: Readable;
    try {
      const info = await c.inspect();
      tty = !!info.Config?.Tty;
      raw = await (c.logs({ follow: true, stdout: true, stderr: true, tail: options.tail ?? 500 } as never) as unknown as Promise<Readable>);
    } catch (e) {
      throw toActionError('Showing logs of', name, e);
    }
    let ended = false;
    const end = (error?: Error) => {
      if (ended) return;
      ended = true;
      options.onEnd(error);
    };
    if (tty) {
      const decoder = new StringDecoder('utf8');
      raw.on('data', (d: Buffer) => {
        const text = decoder.write(d);
        if (text) options.onData({ stream: 'stdout', text });
      });
    } else {
      const demux = new LogDemuxer(options.onData);
      raw.on('data', (d: Buffer) => demux.push(d));
    }
    raw.on('error', (e: Error) => end(new Error(`The log stream of "${name}" broke: ${e.message}. Run Show Logs again once the engine answers.`)));
    raw.on('end', () => end());
    raw.on('close', () => end());
    return toDisposable(() => {
      ended = true;
      raw.destroy();
    });
  }
}

interface BatchResult<T> {
  readonly succeeded: T[];
  readonly failed: { item: T; error: string }[];
}

/** Runs fn on every item in parallel and collects what failed instead of stopping at the first error. */
export async function runBatch<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<BatchResult<T>> {
  // async: a synchronous throw from fn fails that item only.
  const results = await Promise.allSettled(items.map(async (i) => fn(i)));
  const succeeded: T[] = [];
  const failed: { item: T; error: string }[] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') succeeded.push(items[i]);
    else failed.push({ item: items[i], error: errorMessage(r.reason) });
  });
  return { succeeded, failed };
}

