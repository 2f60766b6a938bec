// Regular times of use from the usage history, and when to load ahead of them.
import * as assert from 'node:assert/strict';
import { preloadTimes, regularSlots } from '../../../../src/core/runtimes/preload';

const DAY = 86_400_000;
const at = (day: number, h: number, m: number) => Date.UTC(2027, 2, day, h, m);

describe('preloading plan (unit)', () => {
  it('a model first used in the same hour on at least three days has a slot at the median of those first uses', () => {
    const uses = [
      // chat: first use 09:00–09:20 on four days (later uses the same day do not count)
      ...[1, 2, 3, 5].flatMap((d) => [{ key: 'chat', ts: at(d, 9, d * 5) }, { key: 'chat', ts: at(d, 14, 0) }]),
      // code: two days only
      { key: 'code', ts: at(4, 8, 0) },
      { key: 'code', ts: at(5, 8, 10) },
    ];
    const now = at(6, 7, 0);
    assert.deepEqual(regularSlots(uses, now), [{ key: 'chat', minuteOfDay: 9 * 60 + 10, days: 4 }]);
    assert.deepEqual(regularSlots(uses, now, { minDays: 2 }).map((s) => s.key), ['code', 'chat']);
    // Older than the look-back, or in the future: not counted.
    assert.deepEqual(regularSlots(uses, now, { lookbackDays: 2 }), []);
    // Local time: the same uses seen from UTC+2 fall at 11:xx.
    assert.equal(regularSlots(uses, now, { utcOffsetMinutes: 120 })[0].minuteOfDay, 11 * 60 + 10);
  });

  it('loads lead minutes before the slot: later today, or tomorrow once today\'s has passed', () => {
    const slot = { key: 'chat', minuteOfDay: 9 * 60 + 10, days: 4 };
    assert.deepEqual(preloadTimes([slot], at(6, 7, 0), 15), [{ key: 'chat', at: at(6, 8, 55), slotAt: at(6, 9, 10) }]);
    // In the lead window: due now (at ≤ now < slot).
    const inWindow = preloadTimes([slot], at(6, 9, 0), 15)[0];
    assert.ok(inWindow.at <= at(6, 9, 0) && at(6, 9, 0) < inWindow.slotAt);
    assert.deepEqual(preloadTimes([slot], at(6, 10, 0), 15)[0].slotAt, at(6, 9, 10) + DAY);
    // In local time (UTC+2): 09:10 local is 07:10 UTC.
    assert.equal(preloadTimes([slot], at(6, 5, 0), 10, 120)[0].slotAt, at(6, 7, 10));
  });
});
