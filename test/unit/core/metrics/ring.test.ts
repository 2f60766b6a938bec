// Ring capacity and order, time views, and store windows in the shape of the panel's init message.
import * as assert from 'node:assert/strict';
import { Ring, SeriesStore } from '../../../../src/core/metrics/ring';
import type { SeriesInfo } from '../../../../src/core/metrics/types';
import { toPanelSchema } from '../../../../src/shared/metricsProtocol';

const info = (key: string, over: Partial<SeriesInfo> = {}): SeriesInfo => ({ key, group: 'host', entity: 'this machine', entityId: 'host', metric: key, unit: '%', ...over });

describe('metrics ring buffer (unit)', () => {
  it('keeps points in order and reports the last one', () => {
    const r = new Ring(4);
    assert.equal(r.length, 0);
    assert.equal(r.last, undefined);
    r.push(1, 10);
    r.push(2, 20);
    assert.equal(r.length, 2);
    assert.deepEqual(r.last, { t: 2, v: 20 });
    const a = r.toArrays();
    assert.deepEqual([...a.t], [1, 2]);
    assert.deepEqual([...a.v], [10, 20]);
  });

  it('overwrites the oldest point past capacity, oldest first after wrapping', () => {
    const r = new Ring(3);
    for (let i = 1; i <= 7; i++) r.push(i, i * 10);
    assert.equal(r.length, 3);
    const a = r.toArrays();
    assert.deepEqual([...a.t], [5, 6, 7]);
    assert.deepEqual([...a.v], [50, 60, 70]);
    assert.equal(r.timeAt(0), 5);
    assert.equal(r.valueAt(2), 70);
  });

  it('drops points that go back in time or are not finite; the same time replaces the last value', () => {
    const r = new Ring(5);
    r.push(10, 1);
    assert.equal(r.push(9, 2), false);
    assert.equal(r.push(11, NaN), false);
    assert.equal(r.push(Infinity, 1), false);
    assert.equal(r.push(10, 3), true);
    assert.deepEqual([...r.toArrays().v], [3]);
  });

  it('gives a view of the points since a time, across the wrap, without copying', () => {
    const r = new Ring(5);
    for (let i = 0; i < 8; i++) r.push(i * 1000, i);
    const v = r.since(4500);
    assert.equal(v.length, 3);
    assert.deepEqual([v.timeAt(0), v.timeAt(1), v.timeAt(2)], [5000, 6000, 7000]);
    assert.deepEqual([...v.toArrays().v], [5, 6, 7]);
    assert.equal(r.since(0).length, 5, 'everything still held');
    assert.equal(r.since(10_000).length, 0);
  });

  it('refuses a capacity that is not a positive integer', () => {
    assert.throws(() => new Ring(0), RangeError);
    assert.throws(() => new Ring(2.5), RangeError);
  });
});

describe('metrics series store (unit)', () => {
  it('adds, updates and removes series; add says whether a series is new', () => {
    const s = new SeriesStore(10);
    assert.equal(s.add(info('a')), true);
    assert.equal(s.add(info('a', { max: 5 })), false);
    assert.equal(s.info('a')?.max, 5);
    s.add(info('b'));
    assert.deepEqual(s.keys(), ['a', 'b']);
    assert.equal(s.remove('a'), true);
    assert.equal(s.remove('a'), false);
    assert.equal(s.push('a', 1, 1), false, 'no points for unknown series');
    assert.equal(s.size, 1);
  });

  it('answers a window with a shared time axis and nulls where a series has no point', () => {
    const s = new SeriesStore(100);
    s.add(info('cpu'));
    s.add(info('mem', { unit: 'bytes' }));
    s.pushBatch({ t: 1000, values: new Map([['cpu', 1]]) });
    s.pushBatch({ t: 2000, values: new Map([['cpu', 2], ['mem', 20]]) });
    s.pushBatch({ t: 3000, values: new Map([['mem', 30]]) });
    s.pushBatch({ t: 4000, values: new Map([['cpu', 4], ['mem', 40]]) });
    const w = s.window(60_000);
    assert.deepEqual(w.t, [1000, 2000, 3000, 4000]);
    assert.deepEqual(w.columns, [
      [1, 2, null, 4],
      [null, 20, 30, 40],
    ]);
    assert.deepEqual(w.series.map((x) => x.key), ['cpu', 'mem']);

    const recent = s.window(1500);
    assert.deepEqual(recent.t, [3000, 4000]);
    assert.deepEqual(recent.columns, [
      [null, 4],
      [30, 40],
    ]);
    // The window ends at an explicit "now" when given.
    assert.deepEqual(s.window(1000, 2000).t, [1000, 2000]);
  });

  it('produces a window the panel protocol accepts as an init message', () => {
    const s = new SeriesStore(60);
    s.add(info('host.cpu'));
    s.add(info('container.x.memory', { group: 'container', entity: 'x', entityId: 'x', metric: 'memory', unit: 'bytes', max: 1e9 }));
    for (let i = 0; i < 90; i++) s.pushBatch({ t: 1e12 + i * 1000, values: new Map([['host.cpu', i % 7], ...(i % 3 ? [['container.x.memory', i * 1e6] as const] : [])]) });
    const w = s.window(5 * 60_000);
    assert.deepEqual(w.columns.map((c) => c.filter((v) => v !== null).length), [60, 60], 'capacity bounds each series');
    assert.equal(w.t[0], 1e12 + 1000, 'memory reaches back further than the CPU: the axis is the union');
    const parsed = toPanelSchema.safeParse({ type: 'init', windowMinutes: 5, paused: false, gpu: { kind: 'absent', message: 'none' }, series: w.series, t: w.t, columns: w.columns });
    assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
  });

  it('an empty store gives an empty window', () => {
    const s = new SeriesStore(5);
    s.add(info('a'));
    assert.deepEqual(s.window(1000), { series: [info('a')], t: [], columns: [[]] });
  });

  it('resizing keeps the newest points that fit', () => {
    const s = new SeriesStore(10);
    s.add(info('a'));
    for (let i = 0; i < 10; i++) s.push('a', i, i);
    s.resize(4);
    assert.deepEqual([...s.ring('a')!.toArrays().t], [6, 7, 8, 9]);
    s.resize(8);
    s.push('a', 10, 10);
    assert.deepEqual([...s.ring('a')!.toArrays().t], [6, 7, 8, 9, 10]);
    assert.equal(s.ring('a')!.capacity, 8);
  });

  it('stays bounded: an hour at 1 Hz for 60 series keeps capacity points each and allocates nothing more', () => {
    const capacity = 15 * 60;
    const s = new SeriesStore(capacity);
    const keys = Array.from({ length: 60 }, (_, i) => `s${i}`);
    for (const k of keys) s.add(info(k));
    const t0 = 1_700_000_000_000;
    const hour = (offset: number) => {
      for (let sec = 0; sec < 3600; sec++) {
        const t = t0 + (offset + sec) * 1000;
        for (let j = 0; j < keys.length; j++) s.push(keys[j], t, sec + j);
      }
    };
    hour(0);
    global.gc?.();
    const before = process.memoryUsage().arrayBuffers;
    hour(3600);
    global.gc?.();
    const after = process.memoryUsage().arrayBuffers;
    for (const k of keys) assert.equal(s.ring(k)!.length, capacity);
    assert.equal(s.ring('s0')!.timeAt(0), t0 + (7200 - capacity) * 1000, 'the oldest point kept is capacity seconds old');
    assert.ok(after - before < 1024 * 1024, `typed-array memory grew by ${after - before} bytes`);
    const w = s.window(60 * 60_000);
    assert.equal(w.t.length, capacity);
    assert.equal(w.columns.length, 60);
    assert.ok(w.columns.every((c) => c.every((v) => v !== null)));
  });
});
