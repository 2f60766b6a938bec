// Unit tests for src/core/lifecycle.ts: toDisposable, DisposableStore, Disposable, Emitter, errorMessage.
import * as assert from 'node:assert/strict';
import { Batcher, Disposable, DisposableStore, Emitter, errorMessage, IDisposable, silentLogger, toDisposable } from '../../../src/core/lifecycle';

/** A disposable that appends its name to a shared log when disposed. */
function tracked(log: string[], name: string, fail?: Error): IDisposable {
  return {
    dispose() {
      log.push(name);
      if (fail) throw fail;
    },
  };
}

/** Runs fn with console.error replaced by a recorder, restoring it afterwards. */
function captureConsoleError(fn: () => void): unknown[][] {
  const calls: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void calls.push(args);
  try {
    fn();
  } finally {
    console.error = original;
  }
  return calls;
}

describe('lifecycle (unit)', () => {
  describe('Batcher', () => {
    it('hands each burst over once, without repeats, after its delay; dispose drops a pending burst', async () => {
      const bursts: string[][] = [];
      let next: () => void = () => undefined;
      const flushed = () => new Promise<void>((r) => (next = r));
      const b = new Batcher<string>(10, (keys) => {
        bursts.push(keys);
        next();
      });
      let done = flushed();
      b.add('a');
      b.add('b');
      b.add('a');
      assert.deepEqual(bursts, [], 'nothing before the delay');
      await done;
      assert.deepEqual(bursts, [['a', 'b']]);
      done = flushed();
      b.add('c');
      await done;
      assert.deepEqual(bursts, [['a', 'b'], ['c']]);
      b.add('d');
      b.dispose();
      // A second batcher with the same delay, started later: once it has flushed, the first would have.
      await new Promise<void>((r) => new Batcher<string>(10, () => r()).add('x'));
      assert.equal(bursts.length, 2, 'a disposed batcher hands nothing over');
    });
  });

  describe('toDisposable', () => {
    it('runs the callback on the first dispose only', () => {
      let calls = 0;
      const d = toDisposable(() => calls++);
      assert.equal(calls, 0);
      d.dispose();
      d.dispose();
      d.dispose();
      assert.equal(calls, 1);
    });
  });

  describe('DisposableStore', () => {
    it('disposes its items once, in reverse order of adding', () => {
      const log: string[] = [];
      const store = new DisposableStore();
      store.add(tracked(log, 'a'));
      store.add(tracked(log, 'b'));
      store.add(tracked(log, 'c'));
      assert.equal(store.isDisposed, false);
      store.dispose();
      assert.deepEqual(log, ['c', 'b', 'a']);
      assert.equal(store.isDisposed, true);
      store.dispose();
      assert.deepEqual(log, ['c', 'b', 'a']);
    });

    it('returns the item it was given from add()', () => {
      const store = new DisposableStore();
      const item = tracked([], 'x');
      assert.equal(store.add(item), item);
    });

    it('disposes an item added after dispose() at once', () => {
      const log: string[] = [];
      const store = new DisposableStore();
      store.dispose();
      store.add(tracked(log, 'late'));
      assert.deepEqual(log, ['late']);
    });

    it('delete() disposes a held item and removes it, and ignores unknown items', () => {
      const log: string[] = [];
      const store = new DisposableStore();
      const a = store.add(tracked(log, 'a'));
      store.add(tracked(log, 'b'));
      store.delete(a);
      assert.deepEqual(log, ['a']);
      store.delete(a);
      store.delete(tracked(log, 'stranger'));
      assert.deepEqual(log, ['a']);
      store.dispose();
      assert.deepEqual(log, ['a', 'b']);
    });

    it('adding the same item twice disposes it once', () => {
      const log: string[] = [];
      const store = new DisposableStore();
      const a = tracked(log, 'a');
      store.add(a);
      store.add(a);
      store.dispose();
      assert.deepEqual(log, ['a']);
    });

    it('rethrows a single failure after disposing all the others', () => {
      const log: string[] = [];
      const boom = new Error('boom');
      const store = new DisposableStore();
      store.add(tracked(log, 'a'));
      store.add(tracked(log, 'b', boom));
      store.add(tracked(log, 'c'));
      assert.throws(() => store.dispose(), (e) => e === boom);
      assert.deepEqual(log, ['c', 'b', 'a']);
      assert.equal(store.isDisposed, true);
    });

    it('throws an AggregateError with every failure when several fail', () => {
      const log: string[] = [];
      const e1 = new Error('one');
      const e2 = new Error('two');
      const store = new DisposableStore();
      store.add(tracked(log, 'a', e1));
      store.add(tracked(log, 'b'));
      store.add(tracked(log, 'c', e2));
      assert.throws(
        () => store.dispose(),
        (e: unknown) => e instanceof AggregateError && e.errors.length === 2 && e.errors[0] === e2 && e.errors[1] === e1,
      );
      assert.deepEqual(log, ['c', 'b', 'a']);
    });
  });

  describe('Disposable', () => {
    class Owner extends Disposable {
      constructor(readonly log: string[]) {
        super();
        this.register(tracked(log, 'first'));
        this.register(tracked(log, 'second'));
      }
      get disposed(): boolean {
        return this.isDisposed;
      }
      adopt(d: IDisposable): IDisposable {
        return this.register(d);
      }
    }

    it('disposes what it registered, in reverse order, and reports isDisposed', () => {
      const log: string[] = [];
      const o = new Owner(log);
      assert.equal(o.disposed, false);
      o.dispose();
      assert.equal(o.disposed, true);
      assert.deepEqual(log, ['second', 'first']);
    });

    it('disposes what is registered after it was disposed at once', () => {
      const log: string[] = [];
      const o = new Owner(log);
      o.dispose();
      const late = tracked(log, 'late');
      assert.equal(o.adopt(late), late);
      assert.deepEqual(log, ['second', 'first', 'late']);
    });
  });

  describe('Emitter', () => {
    it('delivers each fired value to every listener in subscription order', () => {
      const e = new Emitter<number>();
      const seen: string[] = [];
      e.event((v) => seen.push(`a${v}`));
      e.event((v) => seen.push(`b${v}`));
      e.fire(1);
      e.fire(2);
      assert.deepEqual(seen, ['a1', 'b1', 'a2', 'b2']);
      assert.equal(e.listenerCount, 2);
    });

    it('stops delivering to a listener whose subscription was disposed', () => {
      const e = new Emitter<string>();
      const seen: string[] = [];
      const sub = e.event((v) => seen.push(v));
      e.fire('x');
      sub.dispose();
      sub.dispose();
      e.fire('y');
      assert.deepEqual(seen, ['x']);
      assert.equal(e.listenerCount, 0);
    });

    it('a listener that throws does not keep the others from the value, and the error is logged', () => {
      const e = new Emitter<number>();
      const seen: number[] = [];
      const boom = new Error('listener bug');
      e.event(() => {
        throw boom;
      });
      e.event((v) => seen.push(v));
      const logged = captureConsoleError(() => e.fire(7));
      assert.deepEqual(seen, [7]);
      assert.equal(logged.length, 1);
      assert.equal(logged[0][1], boom);
    });

    it('fires to the listeners present when fire() began', () => {
      const e = new Emitter<number>();
      const seen: string[] = [];
      let lateSub: IDisposable | undefined;
      const subB = { current: undefined as IDisposable | undefined };
      e.event((v) => {
        seen.push(`a${v}`);
        lateSub ??= e.event((w) => seen.push(`late${w}`));
        subB.current?.dispose();
      });
      subB.current = e.event((v) => seen.push(`b${v}`));
      e.fire(1);
      // b was removed during the first fire but still got that value (snapshot); late joined after it.
      e.fire(2);
      assert.deepEqual(seen, ['a1', 'b1', 'a2', 'late2']);
    });

    it('dispose() removes every listener', () => {
      const e = new Emitter<number>();
      const seen: number[] = [];
      e.event((v) => seen.push(v));
      e.event((v) => seen.push(v));
      e.dispose();
      assert.equal(e.listenerCount, 0);
      e.fire(1);
      assert.deepEqual(seen, []);
    });
  });

  describe('errorMessage', () => {
    it('uses an Error message and stringifies anything else', () => {
      assert.equal(errorMessage(new TypeError('bad type')), 'bad type');
      assert.equal(errorMessage('plain text'), 'plain text');
      assert.equal(errorMessage(42), '42');
      assert.equal(errorMessage(undefined), 'undefined');
      assert.equal(errorMessage(null), 'null');
      assert.equal(errorMessage({ message: 'not an Error' }), '[object Object]');
    });
  });

  describe('silentLogger', () => {
    it('accepts every level without output or errors', () => {
      const logged = captureConsoleError(() => {
        silentLogger.debug('d');
        silentLogger.info('i');
        silentLogger.warn('w');
        silentLogger.error('e');
      });
      assert.deepEqual(logged, []);
    });
  });
});
