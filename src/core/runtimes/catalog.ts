// The one owner of what the Models view shows: the known runtime endpoints, the last listing of
// each, and the operations on their models (pull, delete, load, unload, generate). Listings are
// refreshed on demand (a container event, an action, the view becoming visible), one request in
// flight per runtime; every listing and operation is handed to hooks that keep the registry in sync.
import { Disposable, Emitter, errorMessage, type Logger, silentLogger, waitForEvent } from '../lifecycle';
import { createRuntime, type AdapterOptions } from './adapters';
import { RuntimeError } from './ollama';
import { PullProgressTracker, type PullSnapshot } from './pullProgress';
import type { GenerateOptions, GenerateOutcome, ModelRuntime, RuntimeCapabilities, RuntimeEndpoint, RuntimeListing, RuntimeModel } from './runtime';

export interface RuntimeState {
  readonly endpoint: RuntimeEndpoint;
  /** 'pending' until the first listing arrives. */
  readonly status: 'pending' | 'ok' | 'error';
  readonly refreshing: boolean;
  readonly error?: string;
  readonly errorKind?: string;
  readonly version?: string;
  /** Facts the server gives about itself (TGI's max total tokens…), for the runtime's tooltip. */
  readonly info?: RuntimeListing['info'];
  readonly models: readonly RuntimeModel[];
  readonly refreshedAt?: number;
  /** What its client can do, as known after the last listing (a llama.cpp router can load and unload). */
  readonly capabilities?: RuntimeCapabilities;
}

export type UsageKind = 'load' | 'unload' | 'generate' | 'pull' | 'delete' | 'benchmark';

export interface UsageDetail {
  readonly durationMs?: number;
  readonly promptTokens?: number;
  readonly outputTokens?: number;
  /** Time to the first streamed token (a generation through the gateway). */
  readonly ttftMs?: number;
  /** Who asked: the API token's name for a request through the gateway. */
  readonly client?: string;
}

export interface CatalogHooks {
  /** The API key for an endpoint (SecretStorage in the extension). */
  apiKey?(endpoint: RuntimeEndpoint): Promise<string | undefined>;
  /** Called with every successful listing; may answer the last use (epoch ms) it knows per model name. */
  onListing?(endpoint: RuntimeEndpoint, listing: RuntimeListing): Promise<ReadonlyMap<string, number> | void>;
  onUsage?(endpoint: RuntimeEndpoint, model: RuntimeModel | string, kind: UsageKind, detail: UsageDetail): Promise<void>;
  onAudit?(operation: string, target: string, error?: string): Promise<void>;
}

interface CatalogOptions extends Omit<AdapterOptions, 'apiKey'> {
  /** Delays between listings retried after a failure (default 1 s doubling to 30 s, 8 tries). */
  readonly retryDelaysMs?: readonly number[];
  readonly hooks?: CatalogHooks;
  readonly log?: Logger;
  readonly now?: () => number;
}

export const modelKey = (runtimeId: string, name: string): string => `${runtimeId}\u0000${name}`;

export class CatalogError extends Error {
  constructor(
    message: string,
    readonly kind: string,
  ) {
    super(message);
    this.name = 'CatalogError';
  }
}

export class ModelCatalog extends Disposable {
  private readonly onDidChangeEmitter = this.register(new Emitter<readonly string[]>());
  /** Fires with the ids of the runtimes whose state changed (added, removed, listed, failed). */
  readonly onDidChange = this.onDidChangeEmitter.event;

  private readonly states = new Map<string, RuntimeState>();
  private readonly runtimes = new Map<string, { runtime: ModelRuntime; key: string | undefined }>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly lastUse = new Map<string, number>();
  private readonly loadedSince = new Map<string, number>();
  private readonly seenExpiry = new Map<string, number>();
  private readonly hooks: CatalogHooks;
  private readonly log: Logger;
  private readonly now: () => number;
  private endpointOrder: string[] = [];
  /** Listings retried after a failure: a runtime container answers only seconds after it starts. */
  private readonly retries = new Map<string, { attempt: number; timer: NodeJS.Timeout }>();

  constructor(private readonly options: CatalogOptions = {}) {
    super();
    this.hooks = options.hooks ?? {};
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.register({ dispose: () => this.retries.forEach((r) => clearTimeout(r.timer)) });
  }

  private cancelRetry(id: string): void {
    const r = this.retries.get(id);
    if (r) clearTimeout(r.timer);
    this.retries.delete(id);
  }

  /** Bounded backoff (1 s doubling to 30 s, 8 tries, about 2 min): then the runtime stays in error until something changes. */
  private scheduleRetry(id: string): boolean {
    const attempt = (this.retries.get(id)?.attempt ?? 0) + 1;
    const delays = this.options.retryDelaysMs ?? [1000, 2000, 4000, 8000, 15_000, 30_000, 30_000, 30_000];
    if (attempt > delays.length || this.isDisposed) {
      this.retries.delete(id);
      return false;
    }
    const timer = setTimeout(() => void this.listOnce(id, true), delays[attempt - 1]);
    timer.unref?.();
    this.retries.set(id, { attempt, timer });
    return true;
  }

  list(): RuntimeState[] {
    return this.endpointOrder.map((id) => this.states.get(id)!);
  }

  get(runtimeId: string): RuntimeState | undefined {
    return this.states.get(runtimeId);
  }

  model(runtimeId: string, name: string): RuntimeModel | undefined {
    return this.states.get(runtimeId)?.models.find((m) => m.name === name);
  }

  get modelCount(): number {
    let n = 0;
    for (const s of this.states.values()) n += s.models.length;
    return n;
  }

  /** Replaces the set of endpoints; new ones are listed at once, removed ones forgotten. */
  setEndpoints(endpoints: readonly RuntimeEndpoint[]): void {
    const changed: string[] = [];
    const next = new Set(endpoints.map((e) => e.id));
    for (const id of this.endpointOrder) {
      if (!next.has(id)) {
        this.cancelRetry(id);
        this.states.delete(id);
        this.runtimes.delete(id);
        changed.push(id);
      }
    }
    const added: string[] = [];
    for (const e of endpoints) {
      const prev = this.states.get(e.id);
      if (!prev) {
        this.states.set(e.id, { endpoint: e, status: 'pending', refreshing: false, models: [] });
        added.push(e.id);
        changed.push(e.id);
      } else if (prev.endpoint.name !== e.name || prev.endpoint.containerId !== e.containerId || prev.endpoint.requiresKey !== e.requiresKey) {
        this.states.set(e.id, { ...prev, endpoint: e });
        this.runtimes.delete(e.id);
        changed.push(e.id);
      }
    }
    this.endpointOrder = endpoints.map((e) => e.id).filter((id, i, a) => a.indexOf(id) === i);
    if (changed.length) this.onDidChangeEmitter.fire(changed);
    for (const id of added) void this.refresh(id);
  }

  /** Lists one runtime again (or all); concurrent calls share one request and at most one follow-up. */
  async refresh(runtimeId?: string): Promise<void> {
    if (runtimeId === undefined) {
      await Promise.all(this.endpointOrder.map((id) => this.refresh(id)));
      return;
    }
    const running = this.inFlight.get(runtimeId);
    if (running) {
      this.again.add(runtimeId);
      return running;
    }
    this.cancelRetry(runtimeId);
    const p = (async () => {
      do {
        this.again.delete(runtimeId);
        await this.listOnce(runtimeId);
      } while (this.again.has(runtimeId) && !this.isDisposed && this.states.has(runtimeId));
    })().finally(() => this.inFlight.delete(runtimeId));
    this.inFlight.set(runtimeId, p);
    return p;
  }

  private setState(id: string, patch: Partial<RuntimeState>): void {
    const prev = this.states.get(id);
    if (!prev || this.isDisposed) return;
    this.states.set(id, { ...prev, ...patch });
    this.onDidChangeEmitter.fire([id]);
  }

  private async runtime(id: string): Promise<ModelRuntime> {
    const state = this.states.get(id);
    if (!state) throw new CatalogError(`The runtime ${id} is no longer known; refresh the Models view.`, 'not-found');
    const key = await this.hooks.apiKey?.(state.endpoint);
    const cached = this.runtimes.get(id);
    if (cached && cached.key === key) return cached.runtime;
    const runtime = createRuntime(state.endpoint, { apiKey: key, timeoutMs: this.options.timeoutMs, idleTimeoutMs: this.options.idleTimeoutMs });
    this.runtimes.set(id, { runtime, key });
    return runtime;
  }

  private async listOnce(id: string, retry = false): Promise<void> {
    const state = this.states.get(id);
    if (!state) return;
    if (retry && this.inFlight.has(id)) return;
    this.setState(id, { refreshing: true });
    try {
      const runtime = await this.runtime(id);
      const listing = await runtime.list();
      if (!this.states.has(id)) return;
      this.noteLoaded(id, listing.models);
      let known: ReadonlyMap<string, number> | void = undefined;
      try {
        known = await this.hooks.onListing?.(state.endpoint, listing);
      } catch (e) {
        this.log.warn(`Recording the models of ${state.endpoint.name} in the registry failed: ${errorMessage(e)}`);
      }
      for (const [name, t] of known ?? []) this.markUsed(id, name, t);
      this.retries.delete(id);
      this.setState(id, { status: 'ok', refreshing: false, error: undefined, errorKind: undefined, version: listing.version, info: listing.info, models: listing.models, refreshedAt: this.now(), capabilities: { ...runtime.capabilities } });
    } catch (e) {
      const kind = e instanceof RuntimeError ? e.kind : 'error';
      const message = `Listing the models of ${state.endpoint.name} (${state.endpoint.baseUrl}) failed: ${errorMessage(e)}`;
      // A wrong key or a missing route does not fix itself; anything else may be a runtime still starting.
      const again = kind !== 'unauthorized' && kind !== 'not-found' && this.states.has(id) && this.scheduleRetry(id);
      if (again && this.retries.get(id)!.attempt > 1) this.log.debug(`${message} (retry ${this.retries.get(id)!.attempt - 1})`);
      else this.log.warn(again ? `${message} Trying again shortly.` : message);
      this.setState(id, { status: 'error', refreshing: false, error: errorMessage(e), errorKind: kind, refreshedAt: this.now() });
    }
  }

  /** Tracks when a model was first seen in memory, and treats a later Ollama expiry as a use by someone else. */
  private noteLoaded(id: string, models: readonly RuntimeModel[]): void {
    const now = this.now();
    const present = new Set<string>();
    for (const m of models) {
      const key = modelKey(id, m.name);
      if (!m.loaded) continue;
      present.add(key);
      if (!this.loadedSince.has(key)) this.loadedSince.set(key, now);
      const exp = m.loaded.expiresAt;
      const prev = this.seenExpiry.get(key);
      if (exp !== undefined) {
        if (prev !== undefined && exp > prev + 1000) this.markUsed(id, m.name, now);
        this.seenExpiry.set(key, exp);
      }
    }
    for (const key of [...this.loadedSince.keys()]) {
      if (key.startsWith(`${id}\u0000`) && !present.has(key)) {
        this.loadedSince.delete(key);
        this.seenExpiry.delete(key);
      }
    }
  }

  markUsed(runtimeId: string, name: string, at = this.now()): void {
    const key = modelKey(runtimeId, name);
    if ((this.lastUse.get(key) ?? 0) < at) this.lastUse.set(key, at);
  }

  /** Last use known to the extension (its own actions, the registry, or a moved Ollama expiry). */
  lastUsed(runtimeId: string, name: string): number | undefined {
    return this.lastUse.get(modelKey(runtimeId, name));
  }

  /** When the model was first seen loaded in this session. */
  loadedAt(runtimeId: string, name: string): number | undefined {
    return this.loadedSince.get(modelKey(runtimeId, name));
  }

  private async operate<T>(runtimeId: string, name: string, op: string, fn: (r: ModelRuntime, ep: RuntimeEndpoint) => Promise<T>): Promise<T> {
    const state = this.states.get(runtimeId);
    if (!state) throw new CatalogError(`The runtime ${runtimeId} is no longer known; refresh the Models view.`, 'not-found');
    const target = `${state.endpoint.name}/${name}`;
    try {
      const r = await fn(await this.runtime(runtimeId), state.endpoint);
      await this.audit(op, target);
      return r;
    } catch (e) {
      await this.audit(op, target, errorMessage(e));
      throw e;
    }
  }

  private async audit(op: string, target: string, error?: string): Promise<void> {
    try {
      await this.hooks.onAudit?.(op, target, error);
    } catch (e) {
      this.log.warn(`Writing the audit entry for ${op} ${target} failed: ${errorMessage(e)}`);
    }
  }

  private async usage(ep: RuntimeEndpoint, model: RuntimeModel | string, kind: UsageKind, detail: UsageDetail = {}): Promise<void> {
    try {
      await this.hooks.onUsage?.(ep, model, kind, detail);
    } catch (e) {
      this.log.warn(`Recording ${kind} of ${typeof model === 'string' ? model : model.name} failed: ${errorMessage(e)}`);
    }
  }

  private capable(r: ModelRuntime, what: keyof RuntimeCapabilities): void {
    if (!r.capabilities[what] || !r[what]) {
      throw new CatalogError(`${r.endpoint.name} (${r.endpoint.kind}) cannot ${what} models through its API.`, 'unsupported');
    }
  }

  /** Pulls a model, reporting bytes, speed and time left; the listing is refreshed whatever the outcome. */
  async pull(runtimeId: string, name: string, onProgress: (s: PullSnapshot) => void, signal?: AbortSignal): Promise<void> {
    const trimmed = name.trim();
    if (!trimmed || /\s/.test(trimmed)) throw new CatalogError(`"${name}" is not a model name (expected name or name:tag, no spaces).`, 'invalid');
    const started = this.now();
    try {
      await this.operate(runtimeId, trimmed, 'model.pull', async (r, ep) => {
        this.capable(r, 'pull');
        const tracker = new PullProgressTracker();
        await r.pull!(trimmed, (u) => onProgress(tracker.update(u)), signal);
        await this.refresh(runtimeId);
        this.markUsed(runtimeId, trimmed);
        await this.usage(ep, this.model(runtimeId, trimmed) ?? this.model(runtimeId, `${trimmed}:latest`) ?? trimmed, 'pull', { durationMs: this.now() - started });
      });
    } finally {
      void this.refresh(runtimeId);
    }
  }

  async delete(runtimeId: string, name: string): Promise<void> {
    await this.operate(runtimeId, name, 'model.delete', async (r, ep) => {
      this.capable(r, 'delete');
      await r.delete!(name);
      await this.usage(ep, this.model(runtimeId, name) ?? name, 'delete');
    });
    await this.refresh(runtimeId);
  }

  async load(runtimeId: string, name: string, keepAlive?: string | number): Promise<void> {
    const t0 = this.now();
    await this.operate(runtimeId, name, 'model.load', async (r, ep) => {
      this.capable(r, 'load');
      await r.load!(name, keepAlive);
      this.markUsed(runtimeId, name);
      await this.usage(ep, this.model(runtimeId, name) ?? name, 'load', { durationMs: this.now() - t0 });
    });
    await this.refresh(runtimeId);
  }

  async unload(runtimeId: string, name: string, reason: 'user' | 'idle' = 'user'): Promise<void> {
    await this.operate(runtimeId, name, reason === 'idle' ? 'model.unload.idle' : 'model.unload', async (r, ep) => {
      this.capable(r, 'unload');
      await r.unload!(name);
      await this.usage(ep, this.model(runtimeId, name) ?? name, 'unload');
    });
    await this.refresh(runtimeId);
  }

  /** Generates; `record: false` (a benchmark's requests) records no usage event and lists nothing again. */
  async generate(runtimeId: string, name: string, prompt: string, options: GenerateOptions & { record?: boolean } = {}): Promise<GenerateOutcome> {
    const state = this.states.get(runtimeId);
    if (!state) throw new CatalogError(`The runtime ${runtimeId} is no longer known; refresh the Models view.`, 'not-found');
    const r = await this.runtime(runtimeId);
    this.capable(r, 'generate');
    const out = await r.generate!(name, prompt, options);
    this.markUsed(runtimeId, name);
    if (options.record === false) return out;
    await this.usage(state.endpoint, this.model(runtimeId, name) ?? name, 'generate', { durationMs: out.durationMs, promptTokens: out.promptTokens, outputTokens: out.outputTokens });
    void this.refresh(runtimeId);
    return out;
  }

  /** The Modelfile naming the model's file, from a runtime that tells (Ollama's show), through its cached client and key. */
  async modelfile(runtimeId: string, name: string): Promise<string | undefined> {
    const r = await this.runtime(runtimeId);
    if (!r.capabilities.modelfile || !r.modelfile) throw new CatalogError(`${r.endpoint.name} (${r.endpoint.kind}) does not say which file holds a model.`, 'unsupported');
    return r.modelfile(name);
  }

  /** The model's metadata as its runtime reports it, where the runtime tells (Ollama); undefined otherwise or on failure. */
  async modelInfo(runtimeId: string, name: string): Promise<Readonly<Record<string, unknown>> | undefined> {
    try {
      const r = await this.runtime(runtimeId);
      return await r.modelInfo?.(name);
    } catch {
      return undefined;
    }
  }

  /** Resolves once a condition on the catalog holds (commands and tests), bounded by a timeout. */
  waitFor(predicate: (c: ModelCatalog) => boolean, timeoutMs: number): Promise<void> {
    return waitForEvent(this.onDidChange, () => predicate(this), timeoutMs, 'condition on the model list');
  }

}
