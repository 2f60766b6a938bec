// Disposable plumbing shared by the core and the VS Code glue (shape-compatible with vscode.Disposable).

export interface IDisposable {
  dispose(): void;
}

export function toDisposable(fn: () => void): IDisposable {
  let done = false;
  return {
    dispose() {
      if (!done) {
        done = true;
        fn();
      }
    },
  };
}

/** Owns a set of disposables; anything added after dispose() is disposed at once. */
export class DisposableStore implements IDisposable {
  private readonly items = new Set<IDisposable>();
  private disposed = false;

  get isDisposed(): boolean {
    return this.disposed;
  }

  add<T extends IDisposable>(item: T): T {
    if (this.disposed) {
      item.dispose();
    } else {
      this.items.add(item);
    }
    return item;
  }

  delete(item: IDisposable): void {
    if (this.items.delete(item)) item.dispose();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const errors: unknown[] = [];
    for (const item of [...this.items].reverse()) {
      try {
        item.dispose();
      } catch (e) {
        errors.push(e);
      }
    }
    this.items.clear();
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'several disposables failed');
  }
}

export abstract class Disposable implements IDisposable {
  protected readonly store = new DisposableStore();

  protected get isDisposed(): boolean {
    return this.store.isDisposed;
  }

  protected register<T extends IDisposable>(item: T): T {
    return this.store.add(item);
  }

  dispose(): void {
    this.store.dispose();
  }
}

type Listener<T> = (value: T) => void;
export type Event<T> = (listener: Listener<T>) => IDisposable;

/** A minimal event emitter whose `event` has the same call shape as vscode.Event. */
export class Emitter<T> implements IDisposable {
  private listeners = new Set<Listener<T>>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return toDisposable(() => this.listeners.delete(listener));
  };

  fire(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch (e) {
        // A listener's bug must not break the emitter or the other listeners.
        console.error('[llm-stack] event listener failed:', e);
      }
    }
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  dispose(): void {
    this.listeners.clear();
  }
}

/** Resolves once predicate() holds, checked now and after each event; rejects after timeoutMs naming what was awaited. */
export function waitForEvent(event: Event<unknown>, predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`${what} not met within ${timeoutMs} ms`));
    }, timeoutMs);
    const sub = event(() => {
      if (predicate()) {
        clearTimeout(timer);
        sub.dispose();
        resolve();
      }
    });
  });
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Collects keys and hands them over once per burst, `delayMs` after the first one of the burst. */
export class Batcher<K> implements IDisposable {
  private readonly keys = new Set<K>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly flush: (keys: K[]) => void,
  ) {}

  add(key: K): void {
    this.keys.add(key);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const keys = [...this.keys];
      this.keys.clear();
      this.flush(keys);
    }, this.delayMs);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.keys.clear();
  }
}
