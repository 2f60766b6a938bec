// The benchmark statistics: percentiles by linear interpolation (numpy's default, as vLLM's
// benchmark reports them), the sample standard deviation and CV, the prompt, and the regression rule.
import * as assert from 'node:assert/strict';
import { benchPrompt, isRegression } from '../../../../src/core/bench/runner';
import { percentile, summarize } from '../../../../src/core/bench/stats';

describe('benchmark statistics (unit)', () => {
  it('interpolates percentiles as numpy does', () => {
    // numpy.percentile([1, 2, 3, 4], [50, 90, 99]) = [2.5, 3.7, 3.97]
    const s = [1, 2, 3, 4];
    assert.equal(percentile(s, 50), 2.5);
    assert.ok(Math.abs(percentile(s, 90) - 3.7) < 1e-9);
    assert.ok(Math.abs(percentile(s, 99) - 3.97) < 1e-9);
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it('summarizes: mean, sample standard deviation, CV; non-finite values left out; none is undefined', () => {
    const s = summarize([10, 12, 14, NaN, Infinity])!;
    assert.deepEqual([s.n, s.mean, s.min, s.max, s.p50], [3, 12, 10, 14, 12]);
    assert.equal(s.stddev, 2);
    assert.ok(Math.abs(s.cvPct - (2 / 12) * 100) < 1e-9);
    assert.equal(summarize([5])!.cvPct, 0);
    assert.equal(summarize([]), undefined);
  });

  it('flags a regression only beyond twice the noise and a minimum drop', () => {
    const history = [100, 102, 98, 101, 99];
    assert.equal(isRegression(history, 97).regression, false, 'within the noise');
    const slow = isRegression(history, 80);
    assert.equal(slow.regression, true);
    assert.ok(Math.abs(slow.dropPct! - 20) < 1e-9);
    assert.equal(isRegression([100, 100], 96).regression, false, 'no noise, but under the 5 % minimum');
    assert.equal(isRegression([100], 10).regression, false, 'one earlier run is no history');
  });

  it('makes a prompt of the asked number of words', () => {
    const p = benchPrompt(512);
    assert.equal(p.split('\n')[0].split(' ').length, 512);
    assert.equal(benchPrompt(512), p, 'the same prompt each time');
  });
});
