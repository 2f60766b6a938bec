// Pulls that wait for an idle machine: a stack file's `pull: idle` models are queued at apply and
// pulled once no model has been used (generated with, loaded, pulled) for `quietMinutes`, one at a
// time, so a large download never competes with the user's own work. One timer for the moment the
// quiet period ends; every use of a model moves it (the catalog says when). A failed pull is tried
// again after an hour, at most three times. The queue lives in the service: a restart forgets it,
// and the next apply queues what is still missing.
import { Disposable, errorMessage, type Logger, silentLogger, toDisposable } from '../../core/lifecycle';
import type { ModelCatalog } from '../../core/runtimes/catalog';
import { sameModel } from '../../core/stack/stackModels';

const RETRY_MS = 3_600_000;
const MAX_TRIES = 3;

interface Queued {
  readonly runtimeId: string;
  readonly name: string;
  tries: number;
  notBefore: number;
}

interface IdlePullsOptions {
  readonly catalog: ModelCatalog;
  /** Minutes without any model use before the machine counts as idle (default 10). */
  readonly quietMinutes?: () => number;
  readonly log?: Logger;
  readonly now?: () => number;
  /** Told of each pull done (tests, logs). */
  readonly onPulled?: (runtimeId: string, name: string) => void;
}

export class IdlePulls extends Disposable {
  private readonly queue: Queued[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pulling = false;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly o: IdlePullsOptions) {
    super();
    this.log = o.log ?? silentLogger;
    this.now = o.now ?? Date.now;
    this.register(o.catalog.onDidChange(() => this.schedule()));
    this.register(toDisposable(() => clearTimeout(this.timer)));
  }

  /** Queues a model (once); returns what to tell the user. */
  add(runtimeId: string, name: string): string {
    if (!this.queue.some((q) => q.runtimeId === runtimeId && q.name === name)) this.queue.push({ runtimeId, name, tries: 0, notBefore: 0 });
    this.schedule();
    return `queued: pulled once no model has been used for ${this.quietMinutes()} minutes`;
  }

  /** What waits, in order. */
  get pending(): readonly { runtimeId: string; name: string }[] {
    return this.queue.map(({ runtimeId, name }) => ({ runtimeId, name }));
  }

  private quietMinutes(): number {
    return Math.max(0, this.o.quietMinutes?.() ?? 10);
  }

  /** The last time any model of any runtime was used (loaded, asked, pulled), as the catalog saw it. */
  private lastUse(): number {
    let last = 0;
    for (const st of this.o.catalog.list()) {
      for (const m of st.models) last = Math.max(last, this.o.catalog.lastUsed(st.endpoint.id, m.name) ?? 0, this.o.catalog.loadedAt(st.endpoint.id, m.name) ?? 0);
    }
    return last;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.queue.length || this.pulling || this.isDisposed) return;
    const now = this.now();
    const due = Math.max(this.lastUse() + this.quietMinutes() * 60_000, Math.min(...this.queue.map((q) => q.notBefore)));
    this.timer = setTimeout(() => void this.pullNext(), Math.max(0, due - now));
  }

  private async pullNext(): Promise<void> {
    const now = this.now();
    if (this.lastUse() + this.quietMinutes() * 60_000 > now) return this.schedule();
    const next = this.queue.find((q) => q.notBefore <= now);
    if (!next) return this.schedule();
    const st = this.o.catalog.get(next.runtimeId);
    if (st?.models.some((m) => sameModel(m.name, next.name))) {
      // Pulled meanwhile (by hand, or by another apply): nothing to do.
      this.queue.splice(this.queue.indexOf(next), 1);
      return this.schedule();
    }
    this.pulling = true;
    try {
      this.log.info(`Pulling ${next.name} into ${st?.endpoint.name ?? next.runtimeId} now that the machine is idle.`);
      await this.o.catalog.pull(next.runtimeId, next.name, () => undefined);
      this.queue.splice(this.queue.indexOf(next), 1);
      this.o.onPulled?.(next.runtimeId, next.name);
    } catch (e) {
      next.tries++;
      next.notBefore = this.now() + RETRY_MS;
      const last = next.tries >= MAX_TRIES;
      if (last) this.queue.splice(this.queue.indexOf(next), 1);
      this.log.warn(`The idle pull of ${next.name} failed${last ? ` ${MAX_TRIES} times; it is dropped (apply the stack again to queue it)` : '; it is tried again in an hour'}: ${errorMessage(e)}`);
    } finally {
      this.pulling = false;
      this.schedule();
    }
  }
}
