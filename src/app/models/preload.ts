// Preloading (opt-in, models.preloadMinutes > 0): a model used at a regular time of day is loaded
// that many minutes before it, when it is not in memory then (core/runtimes/preload.ts says which
// and when, from the registry's usage history). One timer for the next due moment; the plan is
// worked out again when it fires, when the settings change, and at least every hour (new usage).
import { Disposable, errorMessage, type Logger, silentLogger, toDisposable } from '../../core/lifecycle';
import type { RegistryRepositories } from '../../core/registry/repositories';
import type { ModelCatalog } from '../../core/runtimes/catalog';
import { preloadTimes, regularSlots } from '../../core/runtimes/preload';
import { splitModelName } from '../../core/runtimes/runtime';

const HOUR = 3_600_000;
const LOOKBACK_DAYS = 14;

interface PreloaderOptions {
  readonly catalog: ModelCatalog;
  readonly repos: () => Promise<RegistryRepositories>;
  /** Minutes before a regular time to load the model; 0: off. */
  readonly leadMinutes: () => number;
  readonly log?: Logger;
  readonly now?: () => number;
  /** Local time's offset from UTC in minutes (default: this machine's). */
  readonly utcOffsetMinutes?: () => number;
  /** Told of each model loaded ahead of its time (tests, logs). */
  readonly onPreloaded?: (runtimeId: string, name: string, slotAt: number) => void;
}

export class Preloader extends Disposable {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly log: Logger;
  private readonly now: () => number;
  /** Slots already served (key and time): each is loaded once, even if unloaded again before it. */
  private readonly served = new Set<string>();
  private planning: Promise<void> | undefined;

  constructor(private readonly o: PreloaderOptions) {
    super();
    this.log = o.log ?? silentLogger;
    this.now = o.now ?? Date.now;
    this.register(toDisposable(() => clearTimeout(this.timer)));
    this.reschedule();
  }

  /** Works the plan out again (settings changed, or the timer fired). */
  reschedule(): void {
    this.planning = (this.planning ?? Promise.resolve()).then(() => this.plan()).catch((e: unknown) => this.log.warn(`Preloading: ${errorMessage(e)}`));
  }

  /** Resolves once the plan in progress is done (tests). */
  settled(): Promise<void> {
    return this.planning ?? Promise.resolve();
  }

  private async plan(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const lead = this.o.leadMinutes();
    if (!(lead > 0) || this.isDisposed) return;
    const now = this.now();
    const offset = this.o.utcOffsetMinutes?.() ?? -new Date(now).getTimezoneOffset();
    const repos = await this.o.repos();
    const uses = repos.generationTimes(now - LOOKBACK_DAYS * 86_400_000).map((u) => ({ key: `${u.runtimeKind}@${u.endpoint}|${u.name}|${u.tag}`, ts: u.ts }));
    const times = preloadTimes(regularSlots(uses, now, { lookbackDays: LOOKBACK_DAYS, utcOffsetMinutes: offset }), now, lead, offset);
    for (const t of times.filter((x) => x.at <= now && now < x.slotAt)) await this.preload(t.key, t.slotAt);
    const next = Math.min(...times.map((t) => (t.at > now ? t.at : t.at + 86_400_000)), now + HOUR);
    for (const s of this.served) if (Number(s.slice(s.lastIndexOf('@') + 1)) < now) this.served.delete(s);
    if (!this.isDisposed) this.timer = setTimeout(() => this.reschedule(), Math.max(1000, next - now));
  }

  private async preload(key: string, slotAt: number): Promise<void> {
    const served = `${key}@${slotAt}`;
    if (this.served.has(served)) return;
    const [runtimeId, name, tag] = key.split('|');
    const st = this.o.catalog.get(runtimeId);
    const model = st?.models.find((m) => {
      const s = splitModelName(m.name);
      return s.name === name && s.tag === tag;
    });
    if (!st || !model) return;
    this.served.add(served);
    if (model.loaded) return;
    const at = new Date(slotAt).toTimeString().slice(0, 5);
    try {
      await this.o.catalog.load(runtimeId, model.name);
      this.log.info(`Preloaded ${model.name} on ${st.endpoint.name}: it is usually first asked for at about ${at}.`);
      this.o.onPreloaded?.(runtimeId, model.name, slotAt);
    } catch (e) {
      this.log.warn(`Could not preload ${model.name} on ${st.endpoint.name} ahead of ${at}: ${errorMessage(e)}`);
    }
  }
}
