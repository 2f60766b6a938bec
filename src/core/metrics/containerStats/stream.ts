// One container's stats stream (GET /containers/{id}/stats?stream=true): newline-separated JSON
// frames turned into readings, until the container stops or goes away.
import type Docker from 'dockerode';
import { StringDecoder } from 'node:string_decoder';
import { Emitter, errorMessage, type Event, type IDisposable, type Logger, silentLogger } from '../../lifecycle';
import { isNotRunningFrame, StatsRates, type ContainerStatsReading } from './figures';
import { parseStatsFrame } from './answers';

export type StreamEndReason = 'not-running' | 'closed' | 'error' | 'disposed';

export interface StreamEnd {
  readonly id: string;
  readonly reason: StreamEndReason;
  readonly message?: string;
}

const MAX_FRAME = 1024 * 1024;

/** One container's stats stream; ends by itself when the container stops or goes away. */
export class ContainerStatsStream implements IDisposable {
  private readonly onDidEndEmitter = new Emitter<StreamEnd>();
  readonly onDidEnd: Event<StreamEnd> = this.onDidEndEmitter.event;
  private readonly abort = new AbortController();
  private stream: NodeJS.ReadableStream | undefined;
  private readonly rates = new StatsRates();
  private latestReading: ContainerStatsReading | undefined;
  private endedWith: StreamEnd | undefined;
  private frameCount = 0;
  private skippedCount = 0;

  constructor(
    readonly id: string,
    container: Docker.Container,
    private readonly now: () => number = Date.now,
    private readonly log: Logger = silentLogger,
  ) {
    const opts = { stream: true as const, abortSignal: this.abort.signal };
    container.stats(opts).then(
      (stream) => this.attach(stream),
      (e: unknown) => this.end(this.abort.signal.aborted ? 'disposed' : 'error', errorMessage(e)),
    );
  }

  get latest(): ContainerStatsReading | undefined {
    return this.latestReading;
  }

  get ended(): StreamEnd | undefined {
    return this.endedWith;
  }

  get frames(): number {
    return this.frameCount;
  }

  /** Lines that were not a stats frame (not JSON, a field of the wrong type, over 1 MiB). */
  get skipped(): number {
    return this.skippedCount;
  }

  dispose(): void {
    this.end('disposed');
  }

  private attach(stream: NodeJS.ReadableStream): void {
    this.stream = stream;
    if (this.endedWith) {
      this.destroy();
      return;
    }
    const decoder = new StringDecoder('utf8');
    let buffer = '';
    stream.on('data', (chunk: Buffer | string) => {
      buffer += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0 && !this.endedWith) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) this.onFrame(line);
      }
      if (buffer.length > MAX_FRAME) this.end('error', 'a stats frame exceeded 1 MiB');
    });
    stream.on('end', () => this.end('closed'));
    stream.on('close', () => this.end('closed'));
    stream.on('error', (e: unknown) => this.end(this.abort.signal.aborted ? 'disposed' : 'error', errorMessage(e)));
  }

  private onFrame(line: string): void {
    const parsed = line.length > MAX_FRAME ? { skipped: 'over 1 MiB' } : parseStatsFrame(line);
    if ('skipped' in parsed) {
      this.skip(parsed.skipped);
      return;
    }
    const frame = parsed.frame;
    this.frameCount++;
    if (isNotRunningFrame(frame)) {
      this.end('not-running');
      return;
    }
    this.latestReading = this.rates.update(frame, this.now());
  }

  /** A frame the engine got wrong is left out; the log tells the first and then every tenfold more, not one a second. */
  private skip(reason: string): void {
    const n = ++this.skippedCount;
    if (/^10*$/.test(String(n))) this.log.debug(`A stats frame of ${this.id.slice(0, 12)} was skipped (${n} so far): ${reason}.`);
  }

  private end(reason: StreamEndReason, message?: string): void {
    if (this.endedWith) return;
    this.endedWith = { id: this.id, reason, message };
    this.abort.abort();
    this.destroy();
    this.onDidEndEmitter.fire(this.endedWith);
    this.onDidEndEmitter.dispose();
  }

  private destroy(): void {
    const s = this.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
    if (!s) return;
    // The abort already errors the socket; the listener keeps that error from going unhandled.
    s.on('error', () => undefined);
    s.destroy?.();
  }
}
