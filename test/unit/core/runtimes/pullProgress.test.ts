// The pull progress tracker with an injected clock: bytes across layers, fraction, speed over the
// last 3 s, time left, resumed pulls, status-only lines, the message; formatBytes / formatSeconds edges.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatBytes, formatSeconds, PullProgressTracker } from '../../../../src/core/runtimes/pullProgress';
import type { PullUpdate } from '../../../../src/core/runtimes/runtime';

const MB = 1_000_000;

function tracker(): { t: PullProgressTracker; at: (ms: number, u: PullUpdate) => ReturnType<PullProgressTracker['update']> } {
  let now = 0;
  const t = new PullProgressTracker(() => now);
  return {
    t,
    at: (ms, u) => {
      now = ms;
      return t.update(u);
    },
  };
}

describe('pull progress (unit)', () => {
  describe('formatBytes', () => {
    it('keeps bytes under 1000 as bytes and uses decimal units with 3 significant digits', () => {
      const cases: [number, string][] = [
        [0, '0 B'],
        [1, '1 B'],
        [999, '999 B'],
        [1000, '1.00 kB'],
        [1500, '1.50 kB'],
        [12_345, '12.3 kB'],
        [412 * MB, '412 MB'],
        [999 * MB, '999 MB'],
        [1e9, '1.00 GB'],
        [4.7e9, '4.70 GB'],
        [1e12, '1.00 TB'],
        // TB is the largest unit.
        [1e15, '1000 TB'],
      ];
      for (const [n, s] of cases) assert.equal(formatBytes(n), s, String(n));
    });
  });

  describe('formatSeconds', () => {
    it('seconds below a minute (at least 1 s), then min + s, then h + min', () => {
      const cases: [number, string][] = [
        [0, '1 s'],
        [0.2, '1 s'],
        [1.4, '1 s'],
        [59.4, '59 s'],
        [60, '1 min 0 s'],
        [90, '1 min 30 s'],
        [3599, '59 min 59 s'],
        [3600, '1 h 0 min'],
        [5400, '1 h 30 min'],
        [86_400, '24 h 0 min'],
      ];
      for (const [s, text] of cases) assert.equal(formatSeconds(s), text, String(s));
    });

    it('59.6 s rounds up to a whole minute', () => {
      // Accepts both spellings of one minute; see the report on the "1 min 60 s" rounding of 119.6 s.
      assert.ok(['60 s', '1 min 0 s', '1 min'].includes(formatSeconds(59.6)), formatSeconds(59.6));
    });
  });

  describe('PullProgressTracker', () => {
    it('status-only lines before the first sized line: the status is the message, no fraction, no speed', () => {
      const { t, at } = tracker();
      assert.equal(t.snapshot().message, 'starting');
      const s = at(0, { status: 'pulling manifest' });
      assert.deepEqual(s, { status: 'pulling manifest', completed: 0, total: 0, fraction: undefined, bytesPerSecond: undefined, etaSeconds: undefined, message: 'pulling manifest' });
      // Status-only lines over time: speed 0 B/s but neither speed nor ETA is shown without a total.
      const later = at(2000, { status: 'still pulling manifest' });
      assert.equal(later.message, 'still pulling manifest');
      assert.equal(later.fraction, undefined);
      assert.equal(later.etaSeconds, undefined);
      // An empty status keeps the previous one.
      assert.equal(at(2500, { status: '' }).status, 'still pulling manifest');
    });

    it('adds bytes of total across two layers, with speed over the last 3 s and time left', () => {
      const { at } = tracker();
      at(0, { status: 'pulling manifest' });
      let s = at(0, { status: 'pulling aaa', digest: 'sha256:aaa', total: 600 * MB, completed: 0 });
      assert.equal(s.completed, 0);
      assert.equal(s.total, 600 * MB);
      assert.equal(s.fraction, 0);
      assert.equal(s.bytesPerSecond, undefined, 'no time has passed');
      assert.equal(s.message, '0 B of 600 MB');

      s = at(1000, { status: 'pulling aaa', digest: 'sha256:aaa', total: 600 * MB, completed: 100 * MB });
      assert.equal(s.bytesPerSecond, 100 * MB);
      assert.equal(s.etaSeconds, 5);
      assert.equal(s.message, '100 MB of 600 MB · 100 MB/s · 5 s left');

      // The second layer's first line raises the total; nothing was transferred for it yet.
      s = at(1000, { status: 'pulling bbb', digest: 'sha256:bbb', total: 400 * MB, completed: 0 });
      assert.equal(s.total, 1000 * MB);
      assert.equal(s.completed, 100 * MB);
      assert.equal(s.fraction, 0.1);
      assert.equal(s.bytesPerSecond, 100 * MB);
      assert.equal(s.etaSeconds, 9);
      assert.equal(s.message, '100 MB of 1.00 GB · 100 MB/s · 9 s left');

      s = at(2000, { status: 'pulling aaa', digest: 'sha256:aaa', total: 600 * MB, completed: 300 * MB });
      assert.equal(s.bytesPerSecond, 150 * MB);
      assert.equal(s.message, '300 MB of 1.00 GB · 150 MB/s · 5 s left');

      s = at(3000, { status: 'pulling bbb', digest: 'sha256:bbb', total: 400 * MB, completed: 112 * MB });
      assert.equal(s.completed, 412 * MB);
      assert.equal(s.fraction, 0.412);
      assert.equal(s.bytesPerSecond, (412 * MB) / 3);
      assert.equal(s.message, '412 MB of 1.00 GB · 137 MB/s · 4 s left');

      // Only the last 3 s count: 300 MB between t = 3 s and t = 6 s, not 712 MB over 6 s.
      s = at(6000, { status: 'pulling aaa', digest: 'sha256:aaa', total: 600 * MB, completed: 600 * MB });
      assert.equal(s.completed, 712 * MB);
      assert.equal(s.bytesPerSecond, 100 * MB);
      assert.ok(Math.abs(s.etaSeconds! - 2.88) < 1e-9, String(s.etaSeconds));
      assert.equal(s.message, '712 MB of 1.00 GB · 100 MB/s · 3 s left');

      // Done: neither speed nor time left, the status instead.
      s = at(7000, { status: 'pulling bbb', digest: 'sha256:bbb', total: 400 * MB, completed: 400 * MB });
      assert.equal(s.fraction, 1);
      assert.equal(s.message, '1.00 GB of 1.00 GB · pulling bbb');
      s = at(7100, { status: 'verifying sha256 digest' });
      assert.equal(s.message, '1.00 GB of 1.00 GB · verifying sha256 digest');
      s = at(7200, { status: 'success' });
      assert.deepEqual([s.status, s.completed, s.total, s.fraction, s.message], ['success', 1000 * MB, 1000 * MB, 1, '1.00 GB of 1.00 GB · success']);
    });

    it('a status-only line in the middle keeps the bytes in the message and updates the status', () => {
      const { at } = tracker();
      at(0, { status: 'pulling aaa', digest: 'a', total: 1000 * MB, completed: 0 });
      at(1000, { status: 'pulling aaa', digest: 'a', total: 1000 * MB, completed: 200 * MB });
      const s = at(2000, { status: 'retrying' });
      assert.equal(s.status, 'retrying');
      assert.equal(s.completed, 200 * MB);
      assert.equal(s.total, 1000 * MB);
      // Nothing moved in the second second: 200 MB over 2 s.
      assert.equal(s.bytesPerSecond, 100 * MB);
      assert.equal(s.message, '200 MB of 1.00 GB · 100 MB/s · 8 s left');
    });

    it('a resumed pull counts the bytes already on disk as done, not as speed', () => {
      const { at } = tracker();
      let s = at(0, { status: 'pulling aaa', digest: 'sha256:aaa', total: 1000 * MB, completed: 400 * MB });
      assert.equal(s.completed, 400 * MB);
      assert.equal(s.fraction, 0.4);
      assert.equal(s.bytesPerSecond, undefined);
      assert.equal(s.message, '400 MB of 1.00 GB');
      s = at(1000, { status: 'pulling aaa', digest: 'sha256:aaa', total: 1000 * MB, completed: 450 * MB });
      assert.equal(s.bytesPerSecond, 50 * MB, 'only the 50 MB of this second');
      assert.equal(s.etaSeconds, 11);
      assert.equal(s.message, '450 MB of 1.00 GB · 50.0 MB/s · 11 s left');
    });

    it('shows no speed until 0.2 s have passed, and ignores lines with no or zero total', () => {
      const { at } = tracker();
      at(0, { status: 'pulling', digest: 'a', total: 100 * MB, completed: 0 });
      let s = at(150, { status: 'pulling', digest: 'a', total: 100 * MB, completed: 10 * MB });
      assert.equal(s.bytesPerSecond, undefined);
      assert.equal(s.etaSeconds, undefined);
      assert.equal(s.message, '10.0 MB of 100 MB');
      s = at(200, { status: 'pulling', digest: 'b', total: 0, completed: 5 * MB });
      assert.equal(s.total, 100 * MB, 'a zero total adds no layer');
      assert.equal(s.bytesPerSecond, 50 * MB);
      // Completed past the total is clamped to the total.
      s = at(1000, { status: 'pulling', digest: 'a', total: 100 * MB, completed: 150 * MB });
      assert.equal(s.completed, 100 * MB);
      assert.equal(s.fraction, 1);
    });

    it('property: fraction stays in [0, 1], completed ≤ total, speed and time left are never negative', () => {
      const update = fc.record(
        {
          status: fc.constantFrom('', 'pulling manifest', 'pulling', 'verifying sha256 digest', 'success'),
          digest: fc.option(fc.constantFrom('sha256:a', 'sha256:b', 'sha256:c'), { nil: undefined }),
          total: fc.option(fc.nat({ max: 10_000_000_000 }), { nil: undefined }),
          completed: fc.option(fc.nat({ max: 12_000_000_000 }), { nil: undefined }),
        },
        { requiredKeys: ['status'] },
      );
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat({ max: 5000 }), update), { maxLength: 60 }), (steps) => {
          let now = 0;
          const t = new PullProgressTracker(() => now);
          for (const [dt, u] of steps) {
            now += dt;
            const s = t.update(u);
            assert.ok(s.completed >= 0 && s.completed <= s.total, `completed ${s.completed} of ${s.total}`);
            if (s.total === 0) assert.equal(s.fraction, undefined);
            else assert.ok(s.fraction !== undefined && s.fraction >= 0 && s.fraction <= 1, `fraction ${s.fraction}`);
            if (s.bytesPerSecond !== undefined) assert.ok(s.bytesPerSecond >= 0 && Number.isFinite(s.bytesPerSecond));
            if (s.etaSeconds !== undefined) assert.ok(s.etaSeconds >= 0 && Number.isFinite(s.etaSeconds));
            assert.equal(typeof s.message, 'string');
            assert.deepEqual(t.snapshot(), s);
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
