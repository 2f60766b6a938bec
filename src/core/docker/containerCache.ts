// The in-memory container list, kept current by the engine's /events stream. The full list is
// fetched once per connection; after that each container event refreshes just that container.
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';
import { Disposable, Emitter, errorMessage, Logger, silentLogger, toDisposable, waitForEvent } from '../lifecycle';
import { ConnectionState, EngineConnection, withTimeout } from './connection';
import { containerInspectSchema, ContainerRecord, containerSummarySchema, inspectToRecord, toRecord } from './containers';

const engineEventSchema = z.looseObject({
  Type: z.string().optional(),
  Action: z.string().optional(),
  status: z.string().optional(),
  id: z.string().optional(),
  Actor: z.looseObject({ ID: z.string().optional(), Attributes: z.record(z.string(), z.string()).nullish() }).optional(),
  time: z.number().optional(),
  timeNano: z.number().optional(),
});
export type EngineEvent = z.infer<typeof engineEventSchema>;

export interface CacheChange {
  /** Ids whose record changed, appeared or disappeared; 'all' after a full load or a disconnect. */
  readonly ids: readonly string[] | 'all';
  /** The engine event that caused the change, when there is one (for latency measurements). */
  readonly event?: EngineEvent;
}

/** Container events that change what the views show; exec_* (healthcheck runs) and attach/resize do not. */
const relevantActions = /^(create|start|restart|stop|die|kill|pause|unpause|rename|destroy|update|oom|health_status)/;

/** Splits a newline-delimited JSON stream into parsed, validated events. */
export class NdjsonEventParser {
  private buffer = '';
  // Keeps a multi-byte character that arrives split across two chunks whole.
  private readonly decoder = new StringDecoder('utf8');
  constructor(
    private readonly onEvent: (e: EngineEvent) => void,
    private readonly onBadLine: (line: string) => void,
  ) {}

  push(chunk: Buffer | string): void {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        this.onBadLine(line);
        continue;
      }
      const parsed = engineEventSchema.safeParse(json);
      if (parsed.success) this.onEvent(parsed.data);
      else this.onBadLine(line);
    }
  }
}

export class ContainerCache extends Disposable {
  private readonly onDidChangeEmitter = this.register(new Emitter<CacheChange>());
  readonly onDidChange = this.onDidChangeEmitter.event;
  private readonly onEngineEventEmitter = this.register(new Emitter<EngineEvent>());
  /**
   * Every container event of the engine's stream, as it arrives and before the list is updated
   * (health_status, die with its exitCode, kill…), for rules that need the events themselves.
   */
  readonly onEngineEvent = this.onEngineEventEmitter.event;

  private records = new Map<string, ContainerRecord>();
  private loaded = false;
  private stream: Readable | undefined;
  private streamAbort: AbortController | undefined;
  /** Per-container refreshes in flight, and ids that changed again meanwhile. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  /**
   * Containers destroyed while a read of theirs was on the way: that answer predates the removal
   * (it can arrive after the destroy event, on another connection) and must not list them again.
   */
  private readonly destroyedInFlight = new Set<string>();
  private readonly log: Logger;
  private generation = -1;

  constructor(
    private readonly connection: EngineConnection,
    options: { log?: Logger; requestTimeoutMs?: number } = {},
  ) {
    super();
    this.log = options.log ?? silentLogger;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.register(connection.onDidChangeState((s) => this.onConnectionState(s)));
    this.register(toDisposable(() => this.closeStream()));
    this.onConnectionState(connection.state);
  }

  private readonly requestTimeoutMs: number;

  /** True once the list has been loaded on the current connection. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  get size(): number {
    return this.records.size;
  }

  list(): ContainerRecord[] {
    return [...this.records.values()];
  }

  get(id: string): ContainerRecord | undefined {
    return this.records.get(id) ?? [...this.records.values()].find((r) => r.id.startsWith(id) || r.name === id);
  }

  /** Waits until a condition on the cache holds (used by commands and tests), bounded by a timeout. */
  waitFor(predicate: (cache: ContainerCache) => boolean, timeoutMs: number): Promise<void> {
    return waitForEvent(this.onDidChange, () => predicate(this), timeoutMs, 'condition on the container list');
  }


  /** Full reload of the list (the view's Refresh button); events keep it current otherwise. */
  async reload(): Promise<void> {
    const docker = this.connection.docker;
    if (!docker) return;
    this.touchedDuringReload = new Map();
    try {
      const raw = await withTimeout('Listing containers', this.requestTimeoutMs, (abortSignal) =>
        docker.listContainers({ all: true, abortSignal }),
      );
      const now = Date.now();
      const next = new Map<string, ContainerRecord>();
      for (const item of raw as unknown[]) {
        const parsed = containerSummarySchema.safeParse(item);
        if (parsed.success) next.set(parsed.data.Id, toRecord(parsed.data, now));
        else this.log.warn(`Ignored a container entry the engine returned in an unexpected shape: ${parsed.error.issues[0]?.message}`);
      }
      this.records = next;
      this.loaded = true;
      this.onDidChangeEmitter.fire({ ids: 'all' });
      // The list may predate events that arrived while it was in flight: read those again.
      for (const [id, event] of this.touchedDuringReload) this.refreshOne(id, event);
    } catch (e) {
      this.log.error(`Listing containers failed: ${errorMessage(e)}`);
      this.connection.reportLost(`listing containers failed: ${errorMessage(e)}`);
    } finally {
      this.touchedDuringReload = undefined;
    }
  }

  private touchedDuringReload: Map<string, EngineEvent> | undefined;

  private onConnectionState(state: ConnectionState): void {
    if (state.kind === 'connected') {
      if (state.generation === this.generation) return;
      this.generation = state.generation;
      void this.start();
    } else if (state.kind === 'disconnected') {
      this.closeStream();
      this.generation = -1;
      // Keep nothing stale on screen: the views show the connection problem instead.
      if (this.records.size || this.loaded) {
        this.records.clear();
        this.loaded = false;
        this.onDidChangeEmitter.fire({ ids: 'all' });
      }
    }
  }

  private async start(): Promise<void> {
    const docker = this.connection.docker;
    if (!docker || this.isDisposed) return;
    this.closeStream();
    const ac = new AbortController();
    this.streamAbort = ac;
    try {
      // Subscribe first, then list: an event that lands during the list refreshes its container
      // afterwards, so nothing between the two is lost.
      const stream = await (docker.getEvents({
        filters: { type: ['container'] },
        abortSignal: ac.signal,
      } as never) as unknown as Promise<Readable>);
      if (ac.signal.aborted || this.isDisposed) {
        stream.destroy?.();
        return;
      }
      this.stream = stream;
      const parser = new NdjsonEventParser(
        (e) => this.onEvent(e),
        (line) => this.log.warn(`Ignored an engine event that is not valid JSON: ${line.slice(0, 200)}`),
      );
      stream.on('data', (chunk: Buffer) => parser.push(chunk));
      const lost = (why: string) => {
        if (this.stream !== stream) return; // we closed it ourselves
        this.stream = undefined;
        this.connection.reportLost(why);
      };
      stream.on('error', (e: Error) => lost(`events stream failed: ${e.message}`));
      stream.on('end', () => lost('events stream ended'));
      stream.on('close', () => lost('events stream closed'));
    } catch (e) {
      if (!ac.signal.aborted) this.connection.reportLost(`subscribing to events failed: ${errorMessage(e)}`);
      return;
    }
    await this.reload();
  }

  private closeStream(): void {
    const s = this.stream;
    this.stream = undefined;
    this.streamAbort?.abort();
    this.streamAbort = undefined;
    s?.destroy();
  }

  private onEvent(e: EngineEvent): void {
    if (this.onEngineEventEmitter.listenerCount) this.onEngineEventEmitter.fire(e);
    const action = e.Action ?? e.status ?? '';
    const id = e.Actor?.ID ?? e.id;
    if ((e.Type && e.Type !== 'container') || !id || !relevantActions.test(action)) return;
    if (action === 'destroy') {
      this.dirty.delete(id);
      if (this.inFlight.has(id)) this.destroyedInFlight.add(id);
      this.touchedDuringReload?.set(id, e);
      if (this.records.delete(id)) this.onDidChangeEmitter.fire({ ids: [id], event: e });
      return;
    }
    this.refreshOne(id, e);
  }

  /** Re-reads one container; coalesces bursts (die → stop → …) into at most one extra request. */
  private refreshOne(id: string, event: EngineEvent): void {
    this.touchedDuringReload?.set(id, event);
    if (this.inFlight.has(id)) {
      this.dirty.add(id);
      return;
    }
    const run = async (): Promise<void> => {
      const docker = this.connection.docker;
      if (!docker) return;
      try {
        let raw: unknown;
        try {
          raw = await withTimeout('Reading a container', this.requestTimeoutMs, (abortSignal) => docker.getContainer(id).inspect({ abortSignal }));
        } catch (e) {
          if ((e as { statusCode?: number }).statusCode !== 404) throw e;
          raw = undefined; // removed meanwhile
        }
        if (this.destroyedInFlight.has(id)) return;
        const parsed = raw === undefined ? undefined : containerInspectSchema.safeParse(raw);
        if (parsed?.success) {
          this.records.set(id, inspectToRecord(parsed.data, Date.now()));
        } else {
          if (parsed) this.log.warn(`Ignored container ${id.slice(0, 12)}: the engine's inspect answer has an unexpected shape (${parsed.error.issues[0]?.message}).`);
          this.records.delete(id);
        }
        if (!this.isDisposed) this.onDidChangeEmitter.fire({ ids: [id], event });
      } catch (e) {
        this.log.warn(`Reading container ${id.slice(0, 12)} after "${event.Action}" failed: ${errorMessage(e)}`);
      }
    };
    const p = run().finally(() => {
      this.inFlight.delete(id);
      this.destroyedInFlight.delete(id);
      if (this.dirty.delete(id)) this.refreshOne(id, event);
    });
    this.inFlight.set(id, p);
  }
}
