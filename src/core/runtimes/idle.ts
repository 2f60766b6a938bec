// Unloads models nobody has used for a while, and (off by default) stops runtime containers idle
// for longer. No polling: one timer is set for the next moment something becomes due, and set
// again whenever the catalog changes.
import { Disposable, errorMessage, type Logger, silentLogger, toDisposable } from '../lifecycle';
import type { ModelCatalog, RuntimeState } from './catalog';
import { capabilitiesOf, type RuntimeModel } from './runtime';

export interface IdleSettings {
  /** Minutes without use after which a loaded model is unloaded; 0 turns it off. */
  readonly unloadMinutes: number;
  /** Minutes without use after which a runtime container with nothing loaded is stopped; 0 turns it off. */
  readonly stopContainerMinutes: number;
}

interface IdleOptions {
  readonly settings: () => IdleSettings;
  readonly stopContainer?: (containerId: string, runtimeName: string) => Promise<void>;
  /** Models never unloaded for idleness (a stack file's `keepLoaded`). */
  readonly pinned?: (runtime: RuntimeState, model: RuntimeModel) => boolean;
  readonly log?: Logger;
  readonly now?: () => number;
  /**
   * False while another process does the unloading (an editor window whose service handles idle
   * for every window): the due times are still answered, for the views, but nothing is unloaded
   * or stopped here. Asked at each reschedule; default true.
   */
  readonly enforce?: () => boolean;
}

export class IdleManager extends Disposable {
  private timer: NodeJS.Timeout | undefined;
  private readonly firstSeen = new Map<string, number>();
  /** A failed unload is not tried again before this time (no hot loop against a broken runtime). */
  private readonly retryAt = new Map<string, number>();
  private running = false;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(
    private readonly catalog: ModelCatalog,
    private readonly options: IdleOptions,
  ) {
    super();
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.register(catalog.onDidChange(() => this.reschedule()));
    this.register(toDisposable(() => clearTimeout(this.timer)));
    this.reschedule();
  }

  /** When the extension will unload this model (epoch ms), or undefined when it will not. */
  unloadsAt(runtime: RuntimeState, model: RuntimeModel): number | undefined {
    const minutes = this.options.settings().unloadMinutes;
    // Only where the runtime can unload: a server that holds every model it lists cannot let one go.
    if (!(minutes > 0) || !model.loaded || !this.catalog.get(runtime.endpoint.id) || !capabilitiesOf(runtime).unload) return undefined;
    if (this.options.pinned?.(runtime, model)) return undefined;
    const since = Math.max(this.catalog.lastUsed(runtime.endpoint.id, model.name) ?? 0, this.catalog.loadedAt(runtime.endpoint.id, model.name) ?? this.now());
    return Math.max(since + minutes * 60_000, this.retryAt.get(`${runtime.endpoint.id}\u0000${model.name}`) ?? 0);
  }

  /** When the extension will stop this runtime's container (epoch ms), or undefined. */
  stopsAt(runtime: RuntimeState): number | undefined {
    const minutes = this.options.settings().stopContainerMinutes;
    const id = runtime.endpoint.containerId;
    if (!(minutes > 0) || !id || !this.options.stopContainer || runtime.status !== 'ok') return undefined;
    if (runtime.models.some((m) => m.loaded) && capabilitiesOf(runtime).unload) {
      // Something is in memory (perhaps loaded by another client): the idle period starts again after it.
      this.firstSeen.set(runtime.endpoint.id, this.now());
      return undefined;
    }
    if (!this.firstSeen.has(runtime.endpoint.id)) this.firstSeen.set(runtime.endpoint.id, this.now());
    let last = this.firstSeen.get(runtime.endpoint.id)!;
    for (const m of runtime.models) last = Math.max(last, this.catalog.lastUsed(runtime.endpoint.id, m.name) ?? 0);
    return last + minutes * 60_000;
  }

  /** Sets one timer for the earliest due time across all runtimes. */
  reschedule(): void {
    if (this.isDisposed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.options.enforce && !this.options.enforce()) return;
    let next = Infinity;
    for (const r of this.catalog.list()) {
      for (const m of r.models) next = Math.min(next, this.unloadsAt(r, m) ?? Infinity);
      next = Math.min(next, this.stopsAt(r) ?? Infinity);
    }
    if (next === Infinity) return;
    // Timers are capped (a 24 h setting must not overflow setTimeout); a late tick just checks again.
    const delay = Math.min(Math.max(0, next - this.now()), 3_600_000);
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.running || this.isDisposed) return;
    this.running = true;
    try {
      const now = this.now();
      for (const r of this.catalog.list()) {
        const due = r.models.filter((m) => (this.unloadsAt(r, m) ?? Infinity) <= now);
        if (!due.length) continue;
        // Someone else may have used a model since the last listing (Ollama moves its expiry): look again first.
        await this.catalog.refresh(r.endpoint.id);
        const fresh = this.catalog.get(r.endpoint.id);
        if (!fresh) continue;
        for (const m of fresh.models.filter((x) => (this.unloadsAt(fresh, x) ?? Infinity) <= this.now())) {
          try {
            this.log.info(`Unloading ${m.name} from ${r.endpoint.name}: unused for ${this.options.settings().unloadMinutes} min.`);
            await this.catalog.unload(r.endpoint.id, m.name, 'idle');
          } catch (e) {
            this.log.warn(`Idle unload of ${m.name} on ${r.endpoint.name} failed: ${errorMessage(e)}`);
            this.retryAt.set(`${r.endpoint.id}\u0000${m.name}`, this.now() + Math.max(60_000, this.options.settings().unloadMinutes * 60_000));
          }
        }
      }
      for (const r of this.catalog.list()) {
        const at = this.stopsAt(r);
        if (at === undefined || at > this.now()) continue;
        try {
          this.log.info(`Stopping the container of ${r.endpoint.name}: idle for ${this.options.settings().stopContainerMinutes} min.`);
          await this.options.stopContainer!(r.endpoint.containerId!, r.endpoint.name);
          this.firstSeen.delete(r.endpoint.id);
        } catch (e) {
          this.log.warn(`Stopping the idle container of ${r.endpoint.name} failed: ${errorMessage(e)}`);
          // Not again at once: wait a full idle period before the next try.
          this.firstSeen.set(r.endpoint.id, this.now());
        }
      }
    } finally {
      this.running = false;
      this.reschedule();
    }
  }
}
